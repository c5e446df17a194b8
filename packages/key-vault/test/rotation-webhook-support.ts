/**
 * Shared by the webhook tests: running the app on one constructed request (no socket) and reading the answer, an
 * event to deliver, and the count of events published.
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { type KeyVaultEvent, makeKeyVaultEvent } from "../src/rotation/RotationEvent.js"
import * as RotationEvents from "../src/rotation/RotationEvents.js"
import { VAULT } from "./rotation-support.js"

export const SECRET = "s3cr3t-webhook-key"
export const BASE = "https://app.example.com/eventgrid"

/** A NearExpiry event of a secret, as the monitor would publish it. */
export const nearExpiry = (name: string, version = "0123456789abcdef0123456789abcdef"): KeyVaultEvent =>
  makeKeyVaultEvent("NearExpiry", {
    objectType: "secret",
    vaultUrl: VAULT,
    name,
    version,
    notBefore: undefined,
    expiresOn: new Date(Date.UTC(2030, 0, 1))
  }, new Date(Date.UTC(2029, 11, 2)))

export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly body: unknown
  readonly text: string
}

/** Runs the app on one request, as a server would, and reads the answer. The URL carries `SECRET` by default. */
export const call = (
  app: HttpApp.Default,
  init: { readonly method?: string; readonly url?: string; readonly headers?: Record<string, string>; readonly body?: unknown }
): Effect.Effect<Answer> =>
  Effect.gen(function*() {
    const request = new Request(init.url ?? `${BASE}?code=${SECRET}`, {
      method: init.method ?? "POST",
      headers: { "content-type": "application/json", ...init.headers },
      ...(init.body === undefined ? {} : { body: typeof init.body === "string" ? init.body : JSON.stringify(init.body) })
    })
    const response = yield* Effect.provideService(app, HttpServerRequest.HttpServerRequest, HttpServerRequest.fromWeb(request))
    const web = HttpServerResponse.toWeb(response)
    const text = yield* Effect.promise(() => web.text())
    return { status: web.status, headers: web.headers, text, body: text === "" ? undefined : JSON.parse(text) }
  })

/** How many events the stream has published so far. */
export const published: Effect.Effect<number, never, RotationEvents.RotationEvents> = Effect.flatMap(
  RotationEvents.RotationEvents,
  (events) => Effect.map(events.stats, (s) => s.published)
)
