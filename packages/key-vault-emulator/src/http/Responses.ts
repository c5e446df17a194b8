/**
 * Building `EmulatorResponse`s the way Key Vault answers: JSON with `application/json; charset=utf-8`, a request id,
 * a service version header, and the error envelope `{"error":{"code","message","innererror":{"code"}}}`.
 * The mapping from engine errors to status codes lives here and nowhere else.
 *
 * @since 0.1.0
 */
import { ErrorBody } from "@effect-azure/key-vault/wire/ErrorBody"
import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"
import type { EmulatorResponse } from "./Protocol.js"
import type { VaultError } from "../engine/VaultError.js"

/**
 * The value of `x-ms-keyvault-service-version` on every response (an emulator marker, not a real build number).
 *
 * @since 0.1.0
 * @category constants
 */
export const SERVICE_VERSION = "1.9.0.0-emulator"

const baseHeaders = (): Record<string, string> => ({
  "cache-control": "no-cache",
  "x-ms-request-id": randomUUID(),
  "x-ms-keyvault-service-version": SERVICE_VERSION
})

/**
 * A JSON response. `body` must already be in wire form (encoded with the shared schemas).
 *
 * @since 0.1.0
 * @category constructors
 */
export const json = (
  status: number,
  body: unknown,
  headers?: Readonly<Record<string, string>>
): EmulatorResponse => {
  // One object literal (no spreads) on the common path: this runs for every answer the emulator gives.
  const base: Record<string, string> = {
    "cache-control": "no-cache",
    "x-ms-request-id": randomUUID(),
    "x-ms-keyvault-service-version": SERVICE_VERSION,
    "content-type": "application/json; charset=utf-8"
  }
  return {
    status,
    headers: headers === undefined ? base : { ...base, ...headers },
    // Buffer.from writes into Node's pooled memory: cheaper than a TextEncoder for small JSON bodies.
    body: Buffer.from(JSON.stringify(body), "utf8")
  }
}

/**
 * An empty response (purge answers 204).
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty = (status: number): EmulatorResponse => ({
  status,
  headers: baseHeaders(),
  body: new Uint8Array(0)
})

/**
 * A Key Vault error response; `innerCode` becomes `innererror.code` and is omitted when absent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const error = (
  status: number,
  code: string,
  message: string,
  innerCode?: string | undefined,
  headers: Readonly<Record<string, string>> = {}
): EmulatorResponse =>
  json(
    status,
    Schema.encodeSync(ErrorBody)({
      error: innerCode === undefined ? { code, message } : { code, message, innererror: { code: innerCode } }
    }),
    headers
  )

/**
 * 400 `BadParameter`, the service's answer to any invalid input.
 *
 * @since 0.1.0
 * @category constructors
 */
export const badParameter = (message: string): EmulatorResponse => error(400, "BadParameter", message)

/**
 * The response for an engine failure.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromVaultError = (failure: VaultError): EmulatorResponse => {
  switch (failure._tag) {
    case "ObjectNotFound":
      return error(404, failure.code, failure.message)
    case "OperationForbidden":
      return error(403, "Forbidden", failure.message, failure.innerCode)
    case "ObjectConflict":
      return error(409, "Conflict", failure.message, failure.innerCode)
    case "BadParameter":
      return badParameter(failure.message)
  }
}

/**
 * 500 for a defect in the emulator itself. The message is fixed: a defect's own message could contain request data.
 *
 * @since 0.1.0
 * @category constructors
 */
export const internalError = (): EmulatorResponse =>
  error(500, "InternalServerError", "The emulator failed to process the request; this is a bug in the emulator.")
