/**
 * An `HttpClientResponse` over a body already in memory, or over a stream of chunks read whole when a reader asks for
 * the text: what `UndiciHttpClient` hands over once undici has delivered the answer, and what the emulator's
 * in-process `HttpClient` hands over for the emulator's answer. It behaves as `HttpClientResponse.fromWeb(request,
 * new Response(...))` does (status, headers, cookies, text, JSON, URL parameters, array buffer, stream and their
 * errors) without a Web `Response`, a `Headers` object and a promise per body read.
 *
 * @since 0.1.0
 */
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Bytes from "../crypto/Bytes.js"

/**
 * Response headers: names lower-case, a repeated header as an array.
 *
 * @since 0.1.0
 * @category models
 */
export type RawHeaders = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/**
 * What a buffered response is made of.
 *
 * @since 0.1.0
 * @category models
 */
export interface BufferedResponseInput {
  readonly request: HttpClientRequest.HttpClientRequest
  readonly status: number
  readonly headers: RawHeaders
  /** The body; for the statuses a Fetch `Response` has no body for (204, 304, ...) it is ignored. */
  readonly body: Uint8Array
  /** A body that arrives in chunks (a server-sent-events stream): read whole for `text`, handed as is to `stream`. */
  readonly stream?: Stream.Stream<Uint8Array> | undefined
}

const nullBodyStatuses: ReadonlySet<number> = new Set([101, 103, 204, 205, 304])

const decoder = new TextDecoder()

class BufferedResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [IncomingMessage.TypeId]: IncomingMessage.TypeId = IncomingMessage.TypeId
  readonly request: HttpClientRequest.HttpClientRequest
  readonly status: number
  private readonly rawHeaders: RawHeaders
  /** `null` for the statuses a Fetch `Response` has no body for. */
  private readonly body: Uint8Array | null
  private readonly chunks: Stream.Stream<Uint8Array> | undefined
  private cachedHeaders: Headers.Headers | undefined = undefined
  private cachedCookies: Cookies.Cookies | undefined = undefined

  constructor(input: BufferedResponseInput) {
    super()
    this.request = input.request
    this.status = input.status
    this.rawHeaders = input.headers
    this.body = nullBodyStatuses.has(input.status) ? null : input.body
    this.chunks = input.stream
  }

  get headers(): Headers.Headers {
    return this.cachedHeaders ??= Headers.fromInput(this.rawHeaders as Headers.Input)
  }

  get cookies(): Cookies.Cookies {
    if (this.cachedCookies !== undefined) return this.cachedCookies
    const header = this.rawHeaders["set-cookie"]
    return this.cachedCookies = header === undefined
      ? Cookies.empty
      : Cookies.fromSetCookie(typeof header === "string" ? [header] : header)
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  // The whole body: a streamed one is read to its end first (as `Response.text()` waits for the end).
  private get bytes(): Effect.Effect<Uint8Array | null> {
    const chunks = this.chunks
    if (chunks === undefined || this.body === null) return Effect.succeed(this.body)
    return Effect.map(Stream.runCollect(chunks), (collected) => Bytes.concat(...Chunk.toReadonlyArray(collected)))
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    // Non-fatal UTF-8 with the BOM dropped, as `Response.text()` decodes.
    return Effect.map(this.bytes, (body) => body === null ? "" : decoder.decode(body))
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
    return Effect.flatMap(this.bytes, (bytes) =>
      Effect.tryPromise({
        try: () => new Response(bytes, { status: this.status, headers: this.headers as Record<string, string> }).formData(),
        catch: (cause) => this.decodeError(cause)
      }))
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
      : this.chunks !== undefined
      // Chunks as they are produced; interrupting the reader ends the producer's stream too.
      ? this.chunks
      : this.body.byteLength === 0
      ? Stream.empty
      : Stream.succeed(this.body)
  }

  override toJSON(): unknown {
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

/**
 * A response over `input`'s body.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: BufferedResponseInput): HttpClientResponse.HttpClientResponse => new BufferedResponse(input)
