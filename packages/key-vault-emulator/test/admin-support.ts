/**
 * What the admin API tests share: calling `/admin/...` on an emulator's handler, and reading server-sent events.
 */
import * as Effect from "effect/Effect"
import type { Emulator } from "../src/Emulator.js"

export interface AdminResult {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any
}

export interface AdminCallOptions {
  readonly body?: unknown
  readonly rawBody?: string
  /** `false`: no Authorization header; a string: that bearer token. Default `Bearer admin-test`. */
  readonly token?: string | false
  readonly origin?: string
  readonly headers?: Record<string, string>
}

/** An admin request through the emulator's handler (the same path every transport takes). */
export const admin = (
  emulator: Emulator,
  method: string,
  path: string,
  options: AdminCallOptions = {}
): Effect.Effect<AdminResult> => {
  const body = options.rawBody !== undefined
    ? new TextEncoder().encode(options.rawBody)
    : options.body !== undefined
    ? new TextEncoder().encode(JSON.stringify(options.body))
    : new Uint8Array(0)
  const token = options.token === undefined ? "admin-test" : options.token
  return Effect.map(
    emulator.handler({
      method,
      url: new URL(path, options.origin ?? "https://myvault.vault.azure.net"),
      headers: {
        ...(token === false ? {} : { authorization: `Bearer ${token}` }),
        ...(body.length > 0 ? { "content-type": "application/json" } : {}),
        ...options.headers
      },
      body
    }),
    (response) => {
      const text = new TextDecoder().decode(response.body)
      const isJson = (response.headers["content-type"] ?? "").startsWith("application/json")
      return { status: response.status, headers: response.headers, text, json: isJson && text !== "" ? JSON.parse(text) : undefined }
    }
  )
}

export interface ServerSentEvent {
  readonly id: string | undefined
  readonly event: string
  readonly data: string
}

/** Parses a `text/event-stream` body: the events with data, and the last id seen (with or without data). */
export const parseEventStream = (
  text: string
): { readonly events: ReadonlyArray<ServerSentEvent>; readonly lastId: string | undefined; readonly retry: number | undefined } => {
  const events: Array<ServerSentEvent> = []
  let lastId: string | undefined
  let retry: number | undefined
  for (const block of text.split(/\n\n/)) {
    let id: string | undefined
    let event = "message"
    const data: Array<string> = []
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue
      const at = line.indexOf(":")
      const field = at < 0 ? line : line.slice(0, at)
      const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "")
      if (field === "id") id = lastId = value
      else if (field === "event") event = value
      else if (field === "data") data.push(value)
      else if (field === "retry") retry = Number(value)
    }
    if (data.length > 0) events.push({ id, event, data: data.join("\n") })
  }
  return { events, lastId, retry }
}
