/**
 * Helpers to drive the emulator's handler with `EmulatorRequest`s.
 */
import * as Effect from "effect/Effect"
import type { Emulator } from "../src/Emulator.js"
import type { EmulatorRequest } from "../src/http/Protocol.js"

export const ORIGIN = "https://myvault.vault.azure.net"

export interface CallOptions {
  readonly body?: unknown
  readonly rawBody?: Uint8Array | string
  readonly auth?: boolean
  readonly apiVersion?: string | null
  readonly origin?: string
  readonly headers?: Record<string, string>
}

export interface CallResult {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any
}

export const makeRequest = (method: string, path: string, options: CallOptions = {}): EmulatorRequest => {
  const url = new URL(path, options.origin ?? ORIGIN)
  const apiVersion = options.apiVersion === undefined ? "2025-07-01" : options.apiVersion
  if (apiVersion !== null && !url.searchParams.has("api-version")) url.searchParams.set("api-version", apiVersion)
  const body = options.rawBody !== undefined
    ? (typeof options.rawBody === "string" ? new TextEncoder().encode(options.rawBody) : options.rawBody)
    : options.body !== undefined
    ? new TextEncoder().encode(JSON.stringify(options.body))
    : new Uint8Array(0)
  return {
    method,
    url,
    headers: {
      ...(options.auth === false ? {} : { authorization: "Bearer test-token" }),
      ...(body.length > 0 ? { "content-type": "application/json" } : {}),
      ...options.headers
    },
    body
  }
}

export const call = (
  emulator: Emulator,
  method: string,
  path: string,
  options: CallOptions = {}
): Effect.Effect<CallResult> =>
  Effect.map(emulator.handler(makeRequest(method, path, options)), (response) => {
    const text = new TextDecoder().decode(response.body)
    return { status: response.status, headers: response.headers, text, json: text === "" ? undefined : JSON.parse(text) }
  })

/** The first page of a list and every following page, by `nextLink`. */
export const listAll = (
  emulator: Emulator,
  path: string
): Effect.Effect<{ readonly pages: ReadonlyArray<CallResult> }> =>
  Effect.gen(function*() {
    const pages: Array<CallResult> = []
    let next: string | null = path
    while (next !== null) {
      const page: CallResult = yield* call(emulator, "GET", next, { apiVersion: null })
      pages.push(page)
      next = page.status === 200 ? page.json.nextLink : null
      if (pages.length > 50) throw new Error("too many pages")
    }
    return { pages }
  })
