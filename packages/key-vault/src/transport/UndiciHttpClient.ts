/**
 * A lean `HttpClient` on undici for the vault's requests: each request is one undici `dispatch` whose response is
 * collected in memory and handed over whole, with one suspension of the calling fiber per request.
 *
 * Why not `@effect/platform-node`'s undici client: per request it makes an `AbortController`, registers the response
 * in a `FinalizationRegistry`, reads the body through `Effect.cached` and `Effect.runSync` and builds the URL twice;
 * through it an uncached `get` stayed below the official SDK's throughput over loopback HTTPS, through this client it
 * goes above (`npm run bench -- pipeline` measures both; see the README's "Request path performance").
 *
 * What it does not do, because the Key Vault transport does it (or a vault never needs it): no span of its own (the
 * transport records every attempt as an event on the operation's span and sends the `traceparent` itself), no
 * timeout of its own (the transport's `requestTimeout` interrupts the exchange, which aborts the request), no
 * streaming of request or response bodies (vault bodies are JSON documents; a `Stream` or `FormData` body fails with
 * a `RequestError`), no cookies jar. Interrupting a request aborts it.
 *
 * `undici` is an optional peer dependency, loaded when this module is.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Undici from "undici"
import * as BufferedResponse from "./BufferedResponse.js"

/**
 * The undici dispatcher the client sends through (an `Agent`, a `Pool`, a `ProxyAgent`, a `MockAgent` in tests).
 *
 * @since 0.1.0
 * @category tags
 */
export class Dispatcher extends Context.Tag("@effect-azure/key-vault/transport/UndiciHttpClient/Dispatcher")<
  Dispatcher,
  Undici.Dispatcher
>() {}

const bodyOf = (request: HttpClientRequest.HttpClientRequest): string | Uint8Array | null | undefined => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return null
    case "Uint8Array":
      return body.body
    case "Raw":
      return typeof body.body === "string" || body.body instanceof Uint8Array ? body.body : undefined
    case "FormData":
    case "Stream":
      return undefined
  }
}

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array =>
  chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)

/**
 * The client on a dispatcher.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (dispatcher: Undici.Dispatcher): HttpClient.HttpClient =>
  HttpClient.makeWith<never, never, HttpClientError.HttpClientError, never>(
    (effect) =>
      Effect.flatMap(effect, (request) => {
        const url = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
        if (url._tag === "Left") {
          return Effect.fail(new HttpClientError.RequestError({ request, reason: "InvalidUrl", cause: url.left }))
        }
        const body = bodyOf(request)
        if (body === undefined) {
          return Effect.fail(
            new HttpClientError.RequestError({
              request,
              reason: "Encode",
              description: `this client sends string and byte bodies only, not ${request.body._tag}`
            })
          )
        }
        const { origin, pathname, search } = url.right
        return Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
          let controller: Undici.Dispatcher.DispatchController | undefined
          let settled = false
          // Interrupted while still queued (no connection free yet, or connecting): aborted as soon as undici starts
          // it, so a request given up on is never sent.
          let interrupted = false
          let status = 0
          let headers: BufferedResponse.RawHeaders = {}
          let started = false
          const chunks: Array<Uint8Array> = []
          const settle = (outcome: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>) => {
            if (settled) return
            settled = true
            resume(outcome)
          }
          try {
            dispatcher.dispatch({
              origin,
              path: pathname + search,
              method: request.method as Undici.Dispatcher.HttpMethod,
              headers: request.headers as Record<string, string>,
              body
            }, {
              onRequestStart: (c) => {
                controller = c
                if (interrupted) c.abort(new Error("the request was interrupted"))
              },
              onResponseStart: (_c, statusCode, responseHeaders) => {
                started = true
                status = statusCode
                headers = responseHeaders as BufferedResponse.RawHeaders
              },
              onResponseData: (_c, chunk) => {
                chunks.push(chunk)
              },
              onResponseEnd: () => {
                settle(Effect.succeed(BufferedResponse.make({ request, status, headers, body: concat(chunks) })))
              },
              onResponseError: (_c, cause) => {
                // Once the status and headers arrived, a failure is the body's: the response it interrupted is named.
                settle(Effect.fail(
                  started
                    ? new HttpClientError.ResponseError({
                      request,
                      response: BufferedResponse.make({ request, status, headers, body: concat(chunks) }),
                      reason: "Decode",
                      cause
                    })
                    : new HttpClientError.RequestError({ request, reason: "Transport", cause })
                ))
              }
            })
          } catch (cause) {
            settle(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause })))
          }
          // Interrupted: the request is aborted (its connection closed); nothing it reports afterwards is delivered.
          return Effect.sync(() => {
            settled = true
            interrupted = true
            controller?.abort(new Error("the request was interrupted"))
          })
        })
      }),
    Effect.succeed<HttpClientRequest.HttpClientRequest>
  )

/**
 * The client on the `Dispatcher` in the context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutDispatcher: Layer.Layer<HttpClient.HttpClient, never, Dispatcher> = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(Dispatcher, make)
)

/**
 * The client on an undici `Agent` of its own (keep-alive connections per origin), destroyed with the Layer's scope.
 * `options` are the `Agent`'s (connection limits, TLS `connect` options such as a CA, keep-alive timeouts).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Undici.Agent.Options): Layer.Layer<HttpClient.HttpClient> =>
  Layer.provide(
    layerWithoutDispatcher,
    Layer.scoped(
      Dispatcher,
      Effect.acquireRelease(
        Effect.sync(() => new Undici.Agent(options)),
        (agent) => Effect.promise(() => agent.destroy())
      )
    )
  )
