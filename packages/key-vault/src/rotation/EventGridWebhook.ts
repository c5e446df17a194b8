/**
 * The Event Grid webhook: an `@effect/platform` `HttpApp` an application mounts on its own server (any path) to
 * receive Key Vault events from an Event Grid subscription and publish them to `RotationEvents`.
 *
 * - `OPTIONS` with `WebHook-Request-Origin` (the CloudEvents 1.0 abuse-protection handshake) is answered with
 *   `WebHook-Allowed-Origin` (and `WebHook-Allowed-Rate`), for any origin or the `allowedOrigins` given.
 * - `POST` of a `Microsoft.EventGrid.SubscriptionValidationEvent` (the Event Grid schema's handshake) is answered
 *   `200 {"validationResponse": <code>}`.
 * - `POST` of events, in the Event Grid schema (a JSON array) or the CloudEvents 1.0 schema (structured JSON: one
 *   event, or a batch array), decodes every event with Schema first; if one is malformed, or of a type other than the
 *   nine Key Vault event types (unless `unknownEvents: "ignore"`), the answer is 400 and nothing is published. Else
 *   all are published and the answer is 200. Event Grid redelivers on failures and delivers at least once:
 *   `RotationEvents` drops what it has seen (by event id, and by fact), so nothing is published twice.
 * - With a `secret`, every request must carry it in the `secretQueryParameter` (default `code`: put it in the
 *   subscription's endpoint URL, so the handshakes carry it too) or the `secretHeader` (default `x-webhook-secret`);
 *   it is compared in constant time (SHA-256 digests through `crypto.timingSafeEqual`), and a request without it gets
 *   401 before its body is read.
 *
 * Bodies over `maxBodyBytes` (default 1 MiB, Event Grid's largest batch) get 413. Answers never quote the delivery.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { constantTimeEqual } from "../crypto/Bytes.js"
import * as Identifier from "../wire/Identifier.js"
import { decodeDelivery, type Entry } from "./internal/EventGridWire.js"
import type { KeyVaultEvent } from "./RotationEvent.js"
import { RotationEvents } from "./RotationEvents.js"

/**
 * Webhook settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventGridWebhookOptions {
  /** A shared secret every request must carry; none by default (then protect the route some other way). */
  readonly secret?: string | Redacted.Redacted<string> | undefined
  /** The query parameter that may carry the secret. Default `code`. */
  readonly secretQueryParameter?: string | undefined
  /** The header that may carry the secret (Event Grid delivery properties can set one). Default `x-webhook-secret`. */
  readonly secretHeader?: string | undefined
  /** Origins the CloudEvents handshake allows (`eventgrid.azure.net`); default any. */
  readonly allowedOrigins?: ReadonlyArray<string> | undefined
  /** Requests per minute granted in `WebHook-Allowed-Rate`; default `*` (no limit). */
  readonly allowedRate?: number | undefined
  /** Largest body accepted, in bytes. Default 1 MiB. */
  readonly maxBodyBytes?: number | undefined
  /** What to do with events of other types: `reject` the delivery with 400 (the default) or `ignore` them. */
  readonly unknownEvents?: "reject" | "ignore" | undefined
}

/**
 * Default largest body: 1 MiB, Event Grid's largest batch.
 *
 * @since 0.1.0
 * @category constructors
 */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024

const error = (status: number, code: string, message: string, headers?: Record<string, string>) =>
  HttpServerResponse.unsafeJson({ error: { code, message } }, { status, ...(headers === undefined ? {} : { headers }) })

const digest = (text: string): Uint8Array => new Uint8Array(createHash("sha256").update(text, "utf8").digest())

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * The webhook app. Mount it on a route of the application's server (`HttpRouter.all("/eventgrid", app)`), or serve
 * it alone.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: EventGridWebhookOptions = {}): Effect.Effect<HttpApp.Default, never, RotationEvents> =>
  Effect.map(RotationEvents, (events) => {
    const secretDigest = options.secret === undefined
      ? undefined
      : digest(Redacted.isRedacted(options.secret) ? Redacted.value(options.secret) : options.secret)
    const queryName = options.secretQueryParameter ?? "code"
    const headerName = (options.secretHeader ?? "x-webhook-secret").toLowerCase()
    const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
    const allowedOrigins = options.allowedOrigins?.map((o) => o.toLowerCase())

    const authorized = (request: HttpServerRequest.HttpServerRequest): boolean => {
      if (secretDigest === undefined) return true
      let query: string | null = null
      try {
        query = new URL(request.url, "http://localhost").searchParams.get(queryName)
      } catch {
        query = null
      }
      const header = request.headers[headerName]
      // Both candidates are compared, so the time taken does not tell which one was present.
      const viaQuery = constantTimeEqual(digest(query ?? ""), secretDigest) && query !== null
      const viaHeader = constantTimeEqual(digest(header ?? ""), secretDigest) && header !== undefined
      return viaQuery || viaHeader
    }

    const handshake = (request: HttpServerRequest.HttpServerRequest) => {
      const origin = request.headers["webhook-request-origin"]
      if (origin === undefined || origin.trim() === "") {
        return error(400, "BadRequest", "the handshake carries no WebHook-Request-Origin")
      }
      if (allowedOrigins !== undefined && !allowedOrigins.includes(origin.trim().toLowerCase())) {
        return error(403, "Forbidden", "this origin may not deliver here")
      }
      return HttpServerResponse.empty({
        status: 200,
        headers: {
          "webhook-allowed-origin": origin.trim(),
          "webhook-allowed-rate": options.allowedRate === undefined ? "*" : String(options.allowedRate),
          allow: "OPTIONS, POST"
        }
      })
    }

    const respond = (entries: ReadonlyArray<Entry>) => {
      const validations = entries.filter((e) => e._tag === "Validation")
      if (validations.length > 0) {
        const first = validations[0]
        return entries.length === 1 && first !== undefined && first._tag === "Validation"
          ? Effect.succeed(HttpServerResponse.unsafeJson({ validationResponse: first.code }))
          : Effect.succeed(error(400, "BadRequest", "a validation event must come alone"))
      }
      const unknown = entries.findIndex((e) => e._tag === "Unknown")
      if (unknown >= 0 && options.unknownEvents !== "ignore") {
        return Effect.succeed(error(400, "BadRequest", `event ${unknown}: not a Key Vault event type`))
      }
      const keyVault: Array<KeyVaultEvent> = []
      for (const entry of entries) if (entry._tag === "KeyVault") keyVault.push(entry.event)
      return Effect.map(
        events.publishAll(keyVault),
        (published) => HttpServerResponse.unsafeJson({ received: keyVault.length, published })
      )
    }

    const deliver = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function*() {
        const declared = Number(request.headers["content-length"] ?? "0")
        if (Number.isFinite(declared) && declared > maxBodyBytes) {
          return error(413, "PayloadTooLarge", "the delivery is larger than this webhook accepts")
        }
        const body = yield* Effect.either(request.arrayBuffer)
        if (Either.isLeft(body)) return error(400, "BadRequest", "the body could not be read")
        if (body.right.byteLength > maxBodyBytes) {
          return error(413, "PayloadTooLarge", "the delivery is larger than this webhook accepts")
        }
        let json: unknown
        try {
          json = JSON.parse(utf8.decode(body.right))
        } catch {
          return error(400, "BadRequest", "the body is not UTF-8 JSON")
        }
        const now = new Date(yield* Clock.currentTimeMillis)
        const entries = decodeDelivery(json, now)
        if (Either.isLeft(entries)) return error(400, "BadRequest", entries.left)
        return yield* respond(entries.right)
      })

    return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      if (!authorized(request)) return Effect.succeed(error(401, "Unauthorized", "the webhook secret is missing or wrong"))
      switch (request.method) {
        case "OPTIONS":
          return Effect.succeed(handshake(request))
        case "POST":
          return deliver(request)
        default:
          return Effect.succeed(error(405, "MethodNotAllowed", "use POST (or OPTIONS for the handshake)", {
            allow: "OPTIONS, POST"
          }))
      }
    })
  })

const sourceOf = (event: KeyVaultEvent): string =>
  event.topic ?? Option.match(Identifier.parse(event.data.Id), {
    onNone: () => event.data.VaultName,
    onSome: (id) => id.vaultUrl
  })

/**
 * An event in the Event Grid schema, as Event Grid delivers it (`topic` is the event's, or its vault's URL).
 *
 * @since 0.1.0
 * @category utils
 */
export const toEventGridSchema = (event: KeyVaultEvent): Record<string, unknown> => ({
  id: event.id,
  topic: sourceOf(event),
  subject: event.subject,
  eventType: event.type,
  eventTime: event.time.toISOString(),
  data: { ...event.data },
  dataVersion: "1",
  metadataVersion: "1"
})

/**
 * An event in the CloudEvents 1.0 schema (structured JSON), as Event Grid delivers it.
 *
 * @since 0.1.0
 * @category utils
 */
export const toCloudEventSchema = (event: KeyVaultEvent): Record<string, unknown> => ({
  specversion: "1.0",
  id: event.id,
  source: sourceOf(event),
  subject: event.subject,
  type: event.type,
  time: event.time.toISOString(),
  datacontenttype: "application/json",
  data: { ...event.data }
})
