/**
 * The responses injected faults produce. Error bodies use the Key Vault envelope and the codes a gateway or the
 * service would send, so clients exercise the same parsing as in production; none of them carries request data.
 *
 * @since 0.1.0
 */
import type { EmulatorResponse, TransportFault } from "../http/Protocol.js"
import * as Responses from "../http/Responses.js"
import type { FaultAction, RetryAfter } from "./FaultRule.js"
import { THROTTLED_MESSAGE } from "./Throttle.js"

const defaults: Readonly<Record<number, readonly [code: string, message: string]>> = {
  400: ["BadParameter", "The request is invalid."],
  401: ["Unauthorized", "The request is not authorized."],
  403: ["Forbidden", "The operation is not allowed."],
  404: ["NotFound", "The requested resource was not found."],
  408: ["RequestTimeout", "The request timed out."],
  409: ["Conflict", "The request conflicts with the current state of the vault."],
  429: ["Throttled", THROTTLED_MESSAGE],
  500: ["InternalServerError", "The service encountered an internal error."],
  502: ["BadGateway", "The gateway received an invalid response from the service."],
  503: ["ServiceUnavailable", "The service is temporarily unavailable."],
  504: ["GatewayTimeout", "The gateway timed out waiting for the service."]
}

/**
 * Headers for retry hints; `HttpDate` is relative to `nowMillis` (the emulator's clock).
 *
 * @since 0.1.0
 * @category utils
 */
export const retryAfterHeaders = (
  hints: RetryAfter | ReadonlyArray<RetryAfter> | undefined,
  nowMillis: number
): Record<string, string> => {
  const headers: Record<string, string> = {}
  const list: ReadonlyArray<RetryAfter> = hints === undefined ? [] : Array.isArray(hints) ? hints : [hints as RetryAfter]
  for (const hint of list) {
    switch (hint._tag) {
      case "Seconds":
        headers["retry-after"] = String(hint.seconds)
        break
      case "HttpDate":
        // IMF-fixdate, whole seconds, as RFC 9110 requires; rounded up so the client never retries early.
        headers["retry-after"] = new Date(Math.ceil(nowMillis / 1000) * 1000 + hint.seconds * 1000).toUTCString()
        break
      case "RetryAfterMs":
        headers["retry-after-ms"] = String(hint.millis)
        break
      case "XMsRetryAfterMs":
        headers["x-ms-retry-after-ms"] = String(hint.millis)
        break
    }
  }
  return headers
}

/**
 * The response of a `Status` fault.
 *
 * @since 0.1.0
 * @category constructors
 */
export const statusResponse = (
  action: Extract<FaultAction, { readonly _tag: "Status" }>,
  nowMillis: number
): EmulatorResponse => {
  const [code, message] = defaults[action.status] ?? ["InjectedFault", `The emulator injected a ${action.status}.`]
  return Responses.error(
    action.status,
    action.code ?? code,
    action.message ?? message,
    undefined,
    retryAfterHeaders(action.retryAfter, nowMillis)
  )
}

const encoder = new TextEncoder()

/**
 * A 200 whose body claims to be JSON and is not (an unterminated object).
 *
 * @since 0.1.0
 * @category constructors
 */
export const malformedJson = (): EmulatorResponse =>
  ({
    ...Responses.json(200, {}),
    body: encoder.encode("{\"emulatorFault\":\"MalformedJson\",\"value\":")
  })

/**
 * A response the adapters turn into a transport failure (`Reset`, `Stall`). Status and body are what an adapter that
 * does not know about `fault` would send: a 503, so the client still sees a failure.
 *
 * @since 0.1.0
 * @category constructors
 */
export const transportFault = (fault: TransportFault): EmulatorResponse => ({
  ...Responses.error(503, "ServiceUnavailable", "The emulator injected a transport fault this adapter cannot produce."),
  fault
})

/**
 * The real response with its body cut to `bytes` (default half), always fewer bytes than the whole body so the
 * client never sees a complete one.
 *
 * @since 0.1.0
 * @category combinators
 */
export const truncate = (response: EmulatorResponse, bytes: number | undefined): EmulatorResponse => {
  const length = response.body.byteLength
  const keep = Math.min(bytes ?? Math.floor(length / 2), Math.max(0, length - 1))
  return { ...response, fault: { _tag: "Truncate", bytes: keep } }
}
