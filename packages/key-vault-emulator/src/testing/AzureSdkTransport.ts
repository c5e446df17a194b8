/**
 * An in-process transport for the official Azure SDK clients (`@azure/keyvault-secrets` and friends): pass it as the
 * client's `httpClient` option and the client talks to the emulator with its real `https://<name>.vault.azure.net`
 * URL, challenge-resource verification left on, and no TLS or DNS.
 *
 * `@azure/core-rest-pipeline` is an optional peer dependency, so it is imported for types only; the headers object
 * it expects is implemented here.
 *
 * @since 0.1.0
 */
import type {
  HttpClient,
  HttpHeaders,
  PipelineRequest,
  PipelineResponse,
  RawHttpHeaders
} from "@azure/core-rest-pipeline"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Readable } from "node:stream"
import type { Emulator } from "../Emulator.js"
import type { EmulatorRequest, EmulatorResponse } from "../http/Protocol.js"

/** A case-insensitive header collection that remembers the case each name was set with. */
const makeHeaders = (initial: Readonly<Record<string, string>>): HttpHeaders => {
  const entries = new Map<string, { readonly name: string; readonly value: string }>()
  const headers: HttpHeaders = {
    get: (name) => entries.get(name.toLowerCase())?.value,
    has: (name) => entries.has(name.toLowerCase()),
    set: (name, value) => {
      entries.set(name.toLowerCase(), { name, value: String(value) })
    },
    delete: (name) => {
      entries.delete(name.toLowerCase())
    },
    toJSON: (options) => {
      const json: RawHttpHeaders = {}
      for (const [key, entry] of entries) json[options?.preserveCase === true ? entry.name : key] = entry.value
      return json
    },
    [Symbol.iterator]: function*() {
      for (const [key, entry] of entries) yield [key, entry.value] as [string, string]
    }
  }
  for (const [name, value] of Object.entries(initial)) headers.set(name, value)
  return headers
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const abortError = (): Error => {
  const error = new Error("The operation was aborted.")
  error.name = "AbortError"
  return error
}

/** A function, not an inline check, because the signal can flip while the handler runs. */
const isAborted = (request: PipelineRequest): boolean => request.abortSignal?.aborted === true

const readBody = async (request: PipelineRequest): Promise<Uint8Array> => {
  if (request.multipartBody !== undefined || request.formData !== undefined) {
    throw new Error("The in-process emulator transport does not support multipart or form bodies.")
  }
  const body = request.body
  if (body === undefined || body === null) return new Uint8Array(0)
  if (typeof body === "string") return encoder.encode(body)
  if (body instanceof ArrayBuffer) return new Uint8Array(body)
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
  if (typeof Blob !== "undefined" && body instanceof Blob) return new Uint8Array(await body.arrayBuffer())
  throw new Error("The in-process emulator transport only sends string, byte and Blob bodies, not streams.")
}

/**
 * Shaped like the `RestError` the SDK's Node client raises for a reset socket: the retry policy retries only errors
 * named `RestError`, and the exponential strategy treats code `ECONNRESET` as a network failure. Built here because
 * `@azure/core-rest-pipeline` is not a runtime dependency; `isRestError` accepts it by name.
 */
const connectionReset = (): Error => {
  const error = new Error("read ECONNRESET") as Error & { code: string }
  error.name = "RestError"
  error.code = "ECONNRESET"
  return error
}

/** Runs the handler, interrupting it when the request's signal (an `AbortSignalLike`) aborts. */
const runAbortable = <A>(effect: Effect.Effect<A>, request: PipelineRequest): Promise<A> => {
  const signal = request.abortSignal
  if (signal === undefined) return Effect.runPromise(effect)
  const controller = new AbortController()
  const onAbort = (): void => controller.abort()
  signal.addEventListener("abort", onAbort)
  return Effect.runPromise(effect, { signal: controller.signal }).finally(() =>
    signal.removeEventListener("abort", onAbort)
  )
}

/** Never settles unless the request's signal aborts (no signal: it never settles, like a dead server). */
const stall = (request: PipelineRequest): Promise<never> =>
  new Promise<never>((_, reject) => {
    request.abortSignal?.addEventListener("abort", () => reject(abortError()), { once: true })
  })

/**
 * The response with only the first `bytes` of its body. A streamed response errors after them, as a socket closed
 * mid-body does; a buffered one is just short, and the SDK fails to parse it.
 */
const truncated = (request: PipelineRequest, response: EmulatorResponse, bytes: number): PipelineResponse => {
  const partial = response.body.subarray(0, bytes)
  const pipelineResponse: PipelineResponse = {
    request,
    status: response.status,
    headers: makeHeaders(response.headers)
  }
  if (request.streamResponseStatusCodes?.has(response.status) === true) {
    pipelineResponse.readableStreamBody = new Readable({
      read() {
        this.push(Buffer.from(partial))
        this.destroy(connectionReset())
      }
    })
  } else {
    pipelineResponse.bodyAsText = decoder.decode(partial)
  }
  return pipelineResponse
}

/**
 * An Azure SDK `HttpClient` served by `emulator`. Each request runs the handler with `Effect.runPromise`, so the
 * vault's time is the live clock; the request's `abortSignal` interrupts it. Injected transport faults: `Reset`
 * rejects with a `RestError`-named error of code `ECONNRESET`, `Stall` settles only on abort, `Truncate` answers with
 * part of the body.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeAzureHttpClient = (emulator: Emulator): HttpClient => ({
  sendRequest: async (request: PipelineRequest): Promise<PipelineResponse> => {
    if (isAborted(request)) throw abortError()
    const headers: Record<string, string> = {}
    for (const [name, value] of request.headers) headers[name.toLowerCase()] = value
    const emulatorRequest: EmulatorRequest = {
      method: request.method.toUpperCase(),
      url: new URL(request.url),
      headers,
      body: await readBody(request)
    }
    // The signal interrupts the handler too, so an abort ends injected latency at once.
    const response = await runAbortable(emulator.handler(emulatorRequest), request).catch((cause: unknown) => {
      throw isAborted(request) ? abortError() : cause
    })
    if (isAborted(request)) throw abortError()
    if (response.fault?._tag === "Reset") throw connectionReset()
    if (response.fault?._tag === "Stall") return stall(request)
    if (response.fault?._tag === "Truncate") return truncated(request, response, response.fault.bytes)
    const pipelineResponse: PipelineResponse = {
      request,
      status: response.status,
      headers: makeHeaders(response.headers)
    }
    const stream = response.stream
    if (stream !== undefined) return streamed(request, pipelineResponse, stream)
    if (request.streamResponseStatusCodes?.has(response.status) === true) {
      pipelineResponse.readableStreamBody = Readable.from([Buffer.from(response.body)])
    } else {
      pipelineResponse.bodyAsText = response.body.length === 0 ? null : decoder.decode(response.body)
    }
    return pipelineResponse
  }
})

/**
 * A streamed body (the admin API's live journal): as a Node stream when the request asked for one (destroying it, or
 * aborting the request, interrupts the emulator's stream), otherwise read to its end and answered as text.
 */
const streamed = async (
  request: PipelineRequest,
  pipelineResponse: PipelineResponse,
  stream: Stream.Stream<Uint8Array>
): Promise<PipelineResponse> => {
  if (request.streamResponseStatusCodes?.has(pipelineResponse.status) === true) {
    const readable = Readable.from(Stream.toAsyncIterable(stream), { objectMode: false })
    request.abortSignal?.addEventListener("abort", () => readable.destroy(abortError()), { once: true })
    pipelineResponse.readableStreamBody = readable
    return pipelineResponse
  }
  const chunks = await runAbortable(Stream.runCollect(stream), request).catch((cause: unknown) => {
    throw isAborted(request) ? abortError() : cause
  })
  const body = Buffer.concat(Chunk.toReadonlyArray(chunks))
  pipelineResponse.bodyAsText = body.length === 0 ? null : decoder.decode(body)
  return pipelineResponse
}
