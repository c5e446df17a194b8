/**
 * An in-process `HttpClient` for `@effect/platform` that answers every request with the emulator's handler: no
 * socket, no TLS, no DNS, and the real `https://<name>.vault.azure.net` URLs. The handler runs in the calling fiber,
 * so a `TestClock` there drives the vault's time.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as BufferedResponse from "@effect-azure/key-vault/transport/BufferedResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type { Emulator, EmulatorOptions } from "../Emulator.js"
import { EmulatorService, make as makeEmulator } from "../Emulator.js"
import type { EmulatorRequest, EmulatorResponse } from "../http/Protocol.js"

export {
  /**
   * The emulator behind `layerFresh`.
   *
   * @since 0.1.0
   * @category tags
   */
  EmulatorService
} from "../Emulator.js"

const encoder = new TextEncoder()

/** Statuses for which the Fetch `Response` constructor refuses a body. */

const bodyBytes = (request: HttpClientRequest.HttpClientRequest): Either.Either<Uint8Array, string> => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return Either.right(new Uint8Array(0))
    case "Uint8Array":
      return Either.right(body.body)
    case "Raw": {
      const raw = body.body
      if (typeof raw === "string") return Either.right(encoder.encode(raw))
      if (raw instanceof Uint8Array) return Either.right(raw)
      if (raw instanceof ArrayBuffer) return Either.right(new Uint8Array(raw))
      return Either.left("the in-process emulator client only sends string and byte bodies")
    }
    case "FormData":
    case "Stream":
      return Either.left(`the in-process emulator client does not support ${body._tag} bodies`)
  }
}

/**
 * An `HttpClient` served by `emulator`. Injected transport faults: `Reset` fails with a `RequestError` of reason
 * `Transport`, `Stall` never completes (interruptible: use a timeout), `Truncate` answers with part of the body.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (emulator: Emulator): HttpClient.HttpClient =>
  HttpClient.makeWith<never, never, HttpClientError.HttpClientError, never>(
    (effect) => Effect.flatMap(effect, serve(emulator)),
    Effect.succeed<HttpClientRequest.HttpClientRequest>
  )

// One request, handed to the emulator's handler. Built on `HttpClient.makeWith` rather than `HttpClient.make`: there
// is no socket to abort (interrupting the caller interrupts the handler), so none of the `AbortController`, response
// registry and client span `make` adds to every request, which was about a quarter of an uncached in-process `get`.
const serve = (emulator: Emulator) =>
(request: HttpClientRequest.HttpClientRequest): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
    const parsed = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
    if (Either.isLeft(parsed)) {
      return Effect.fail(new HttpClientError.RequestError({ request, reason: "InvalidUrl", cause: parsed.left }))
    }
    const url = parsed.right
    const body = bodyBytes(request)
    if (Either.isLeft(body)) {
      return Effect.fail(
        new HttpClientError.RequestError({ request, reason: "Encode", description: body.left })
      )
    }
    const headers: Record<string, string> = {}
    // `Headers` keeps names lower-case already; a plain loop, as this runs once per request.
    for (const name in request.headers) headers[name.toLowerCase()] = request.headers[name]!
    const emulatorRequest: EmulatorRequest = {
      method: request.method.toUpperCase(),
      // A new URL for every request, so the emulator may keep this one.
      url,
      headers,
      body: body.right
    }
    return Effect.flatMap(emulator.handler(emulatorRequest), (response) => {
      switch (response.fault?._tag) {
        case "Reset":
          return Effect.fail(
            new HttpClientError.RequestError({
              request,
              reason: "Transport",
              description: "the emulator reset the connection (injected fault)"
            })
          )
        case "Stall":
          // Never answers; the caller's timeout (or interruption) ends the wait.
          return Effect.never
        case "Truncate": {
          // The headers announce the full length, as on the wire; only part of the body arrives.
          const partial = response.body.subarray(0, response.fault.bytes)
          const headers = { ...response.headers, "content-length": String(response.body.byteLength) }
          return Effect.succeed(toClientResponse(request, { ...response, headers, body: partial }))
        }
        case undefined:
          return Effect.succeed(toClientResponse(request, response))
      }
    })
  }

// The emulator's answer as `@effect/platform` sees it (see `BufferedResponse`): its bytes, or its stream of chunks.
const toClientResponse = (
  request: HttpClientRequest.HttpClientRequest,
  response: EmulatorResponse
): HttpClientResponse.HttpClientResponse =>
  BufferedResponse.make({
    request,
    status: response.status,
    headers: response.headers,
    body: response.body,
    stream: response.stream
  })

/**
 * A Layer providing an `HttpClient` served by `emulator`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (emulator: Emulator): Layer.Layer<HttpClient.HttpClient> =>
  Layer.succeed(HttpClient.HttpClient, make(emulator))

/**
 * A Layer with a new emulator of its own: the `HttpClient` served by it, and the emulator itself as
 * `EmulatorService` (to inspect or seed its engine).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFresh = (
  options?: EmulatorOptions
): Layer.Layer<HttpClient.HttpClient | EmulatorService> =>
  Layer.provideMerge(
    Layer.effect(HttpClient.HttpClient, Effect.map(EmulatorService, make)),
    // Webhook deliveries stop when the layer's scope closes.
    Layer.scoped(EmulatorService, Effect.tap(makeEmulator(options), (emulator) => Effect.addFinalizer(() => emulator.shutdown)))
  )
