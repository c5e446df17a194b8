/**
 * An in-process `HttpClient` for `@effect/platform` that answers every request with the emulator's handler: no
 * socket, no TLS, no DNS, and the real `https://<name>.vault.azure.net` URLs. The handler runs in the calling fiber,
 * so a `TestClock` there drives the vault's time.
 *
 * @since 0.1.0
 */
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
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
const nullBodyStatuses: ReadonlySet<number> = new Set([101, 103, 204, 205, 304])

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

const decoder = new TextDecoder()

/**
 * The response as `@effect/platform` sees it, read straight from the emulator's bytes. It behaves as
 * `HttpClientResponse.fromWeb(request, new Response(...))` did (same status, headers, text, JSON, stream and errors)
 * without a Web `Response`, a `Headers` object and a promise per body read: those cost more than the emulator's own
 * handling of a small GET.
 */
class InProcessResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [IncomingMessage.TypeId]: IncomingMessage.TypeId = IncomingMessage.TypeId
  private cachedHeaders: Headers.Headers | undefined = undefined
  private cachedCookies: Cookies.Cookies | undefined = undefined

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    private readonly response: EmulatorResponse,
    /** `null` for the statuses a Fetch `Response` has no body for (204, 304, ...). */
    private readonly body: Uint8Array | null
  ) {
    super()
  }

  get status(): number {
    return this.response.status
  }

  get headers(): Headers.Headers {
    return this.cachedHeaders ??= Headers.fromInput(this.response.headers)
  }

  get cookies(): Cookies.Cookies {
    const setCookie = this.response.headers["set-cookie"]
    return this.cachedCookies ??= Cookies.fromSetCookie(setCookie === undefined ? [] : [setCookie])
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    // Non-fatal UTF-8 with the BOM dropped, as `Response.text()` decodes.
    return Effect.map(this.bytes, (body) => body === null ? "" : decoder.decode(body))
  }

  // The whole body: a streamed one is read to its end first (as `Response.text()` does; it waits for the end).
  private get bytes(): Effect.Effect<Uint8Array | null> {
    const stream = this.response.stream
    if (stream === undefined || this.body === null) return Effect.succeed(this.body)
    return Effect.map(Stream.runCollect(stream), (chunks) => {
      const parts = Chunk.toReadonlyArray(chunks)
      const all = new Uint8Array(parts.reduce((total, part) => total + part.byteLength, 0))
      let at = 0
      for (const part of parts) {
        all.set(part, at)
        at += part.byteLength
      }
      return all
    })
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => text === "" ? null : JSON.parse(text) as unknown,
        catch: (cause) => this.decodeError(cause)
      }))
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => UrlParams.fromInput(new URLSearchParams(text)),
        catch: (cause) => this.decodeError(cause)
      }))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.map(this.bytes, (bytes) => {
      const body = bytes ?? new Uint8Array(0)
      const copy = new ArrayBuffer(body.byteLength)
      new Uint8Array(copy).set(body)
      return copy
    })
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    // The emulator answers JSON only; a Fetch `Response` fails the same way on a JSON body.
    return Effect.fail(this.decodeError(new TypeError("the emulator's responses are not form data")))
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return this.body === null
      ? Stream.fail(
        new HttpClientError.ResponseError({
          request: this.request,
          response: this,
          reason: "EmptyBody",
          description: "can not create stream from empty body"
        })
      )
      : this.response.stream !== undefined
      // Chunks as the emulator produces them; interrupting the reader ends the emulator's stream too.
      ? this.response.stream
      : this.body.byteLength === 0
      ? Stream.empty
      : Stream.succeed(this.body)
  }

  toJSON(): unknown {
    return IncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }

  private decodeError(cause: unknown): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }
}

const toClientResponse = (
  request: HttpClientRequest.HttpClientRequest,
  response: EmulatorResponse
): HttpClientResponse.HttpClientResponse =>
  new InProcessResponse(request, response, nullBodyStatuses.has(response.status) ? null : response.body)

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
