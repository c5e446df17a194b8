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
 * - With `entra`, every request must carry `Authorization: Bearer <token>`: a Microsoft Entra access token (RS256,
 *   signed by a key of the tenant's JWKS) for the `audience`, from the tenant's v1 or v2 issuer (or one of `issuers`),
 *   inside its `exp` and `nbf` by the Effect `Clock` (with `clockSkew`), and, when asked, carrying one of `roles` or
 *   issued to one of `clientIds`. Anything else gets 401 with `WWW-Authenticate: Bearer` before the body is read; if
 *   the signing keys cannot be fetched at all, 503 with `Retry-After` (Event Grid retries it, and does not retry 401).
 * - `secret` and `entra` may be used alone or together; together, a request needs both.
 *
 * Bodies over `maxBodyBytes` (default 1 MiB, Event Grid's largest batch) get 413. Answers never quote the delivery.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { constantTimeEqual } from "../crypto/Bytes.js"
import * as Identifier from "../wire/Identifier.js"
import { isTenantId, makeVerifier, tenantIssuers, type Verifier } from "./internal/EntraToken.js"
import { decodeDelivery, type Entry } from "./internal/EventGridWire.js"
import type { KeyVaultEvent } from "./RotationEvent.js"
import { RotationEvents } from "./RotationEvents.js"

/**
 * Webhook settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventGridWebhookOptions<R = never> {
  /** Require a Microsoft Entra bearer token on every request (together with `secret`, when both are given). */
  readonly entra?: EntraOptions<R> | undefined
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
 * A JSON Web Key Set, as an Entra keys endpoint serves it (`{"keys": [...]}`). Entries other than RSA signature keys
 * are skipped.
 *
 * @since 0.1.0
 * @category models
 */
export interface Jwks {
  readonly keys: ReadonlyArray<Readonly<Record<string, unknown>>>
}

/**
 * Microsoft Entra bearer-token settings: the token Event Grid gets for the app registration the subscription names
 * ("Microsoft Entra application" delivery).
 *
 * Audience and issuer alone admit any application of the tenant that may get a token for the audience; to admit
 * Event Grid only, give the app registration an app role, assign it to Event Grid's service principal and name it in
 * `roles` (and/or name the caller in `clientIds`).
 *
 * @since 0.1.0
 * @category models
 */
export interface EntraOptions<R = never> {
  /**
   * The token's `aud` must be (or contain) this: the app registration's Application ID URI or client id (v1 tokens
   * carry the URI, v2 tokens the client id); or any of a list.
   */
  readonly audience: string | ReadonlyArray<string>
  /**
   * The tenant: its v1 (`https://sts.windows.net/{tenantId}/`) and v2
   * (`https://login.microsoftonline.com/{tenantId}/v2.0`) issuers are accepted, and, without `keys`, its signing keys
   * are fetched from `https://login.microsoftonline.com/{tenantId}/discovery/v2.0/keys`.
   */
  readonly tenantId?: string | undefined
  /** More accepted issuers (exact `iss` values), e.g. for a sovereign cloud. */
  readonly issuers?: ReadonlyArray<string> | undefined
  /**
   * Fetches the signing keys. The webhook caches the answer for `keysTimeToLive` and calls it again, at most once per
   * `minRefreshInterval`, when a token names a key it does not hold. Default: `signingKeys(tenantId)` through the
   * `HttpClient` in the context of `make`.
   */
  readonly keys?: Effect.Effect<Jwks, unknown, R> | undefined
  /** When given, the token's `roles` must contain one of these (app roles assigned to the caller). */
  readonly roles?: ReadonlyArray<string> | undefined
  /** When given, the calling application (`azp` in v2 tokens, `appid` in v1) must be one of these client ids. */
  readonly clientIds?: ReadonlyArray<string> | undefined
  /** Clock skew allowed on `exp` and `nbf`. Default 5 minutes. */
  readonly clockSkew?: Duration.DurationInput | undefined
  /** How long fetched signing keys are used before they are fetched again. Default 1 hour. */
  readonly keysTimeToLive?: Duration.DurationInput | undefined
  /** Least time between two fetches of the signing keys (unknown key ids fetch at most this often). Default 1 minute. */
  readonly minRefreshInterval?: Duration.DurationInput | undefined
}

/**
 * Entra's public cloud authority, where `signingKeys` fetches from by default.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ENTRA_AUTHORITY = "https://login.microsoftonline.com"

/**
 * A tenant's Entra token signing keys (`{authority}/{tenantId}/discovery/v2.0/keys`), fetched through the
 * `HttpClient`: the default `keys` of `EntraOptions`. Each run fetches; the webhook caches.
 *
 * @since 0.1.0
 * @category constructors
 */
export const signingKeys = (
  tenantId: string,
  authority: string = ENTRA_AUTHORITY
): Effect.Effect<Jwks, HttpClientError.HttpClientError, HttpClient.HttpClient> =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    HttpClient.filterStatusOk(client).get(
      `${authority.replace(/\/+$/, "")}/${encodeURIComponent(tenantId)}/discovery/v2.0/keys`,
      { acceptJson: true }
    ).pipe(
      // The shape is checked key by key where the keys are used; a body that is not a JWKS counts as a failed fetch.
      Effect.flatMap((response) => response.json),
      Effect.map((json) => json as Jwks)
    ))

const DEFAULT_CLOCK_SKEW = Duration.minutes(5)
const DEFAULT_KEYS_TTL = Duration.hours(1)
const DEFAULT_MIN_REFRESH = Duration.minutes(1)
const KEYS_FETCH_TIMEOUT_MILLIS = 10_000

const makeEntraVerifier = <R>(
  entra: EntraOptions<R>,
  keys: Effect.Effect<Jwks, unknown>
): Effect.Effect<Verifier> => {
  const audiences = typeof entra.audience === "string" ? [entra.audience] : [...entra.audience]
  if (audiences.length === 0 || audiences.some((a) => a.trim() === "")) {
    return Effect.dieMessage("EventGridWebhook: entra.audience must be a non-empty string")
  }
  if (entra.tenantId !== undefined && !isTenantId(entra.tenantId)) {
    return Effect.dieMessage("EventGridWebhook: entra.tenantId must be a tenant GUID or domain name")
  }
  const issuers = [...(entra.tenantId === undefined ? [] : tenantIssuers(entra.tenantId)), ...(entra.issuers ?? [])]
  if (issuers.length === 0) return Effect.dieMessage("EventGridWebhook: entra needs a tenantId or issuers")
  return makeVerifier({
    audiences,
    issuers,
    roles: entra.roles,
    clientIds: entra.clientIds,
    clockSkewMillis: Duration.toMillis(entra.clockSkew ?? DEFAULT_CLOCK_SKEW),
    keys,
    keysTimeToLiveMillis: Duration.toMillis(entra.keysTimeToLive ?? DEFAULT_KEYS_TTL),
    minRefreshIntervalMillis: Duration.toMillis(entra.minRefreshInterval ?? DEFAULT_MIN_REFRESH),
    fetchTimeoutMillis: KEYS_FETCH_TIMEOUT_MILLIS
  })
}

// The verifier, with the keys provider bound to the context `make` ran in (so the app itself needs nothing more).
const entraVerifier = (
  entra: EntraOptions<unknown> | undefined
): Effect.Effect<Verifier | undefined, never, unknown> => {
  if (entra === undefined) return Effect.succeed(undefined)
  if (entra.keys !== undefined) {
    const keys = entra.keys
    return Effect.flatMap(
      Effect.context<unknown>(),
      (context: Context.Context<unknown>) => makeEntraVerifier(entra, Effect.provide(keys, context))
    )
  }
  if (entra.tenantId === undefined) {
    return Effect.dieMessage("EventGridWebhook: entra needs a tenantId (for the default keys) or keys")
  }
  const tenantId = entra.tenantId
  return Effect.flatMap(
    HttpClient.HttpClient,
    (client) => makeEntraVerifier(entra, Effect.provideService(signingKeys(tenantId), HttpClient.HttpClient, client))
  )
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
 * it alone. With `entra` and no `entra.keys`, the signing keys are fetched through the `HttpClient` of this context
 * (when the options' type cannot tell whether `entra.keys` is given, the `HttpClient` is required).
 *
 * @since 0.1.0
 * @category constructors
 */
export function make(
  options: EventGridWebhookOptions & {
    readonly entra: EntraOptions & { readonly tenantId: string; readonly keys?: undefined }
  }
): Effect.Effect<HttpApp.Default, never, RotationEvents | HttpClient.HttpClient>
export function make<R = never>(
  options?: EventGridWebhookOptions<R> & {
    readonly entra?: (EntraOptions<R> & { readonly keys: Effect.Effect<Jwks, unknown, R> }) | undefined
  }
): Effect.Effect<HttpApp.Default, never, RotationEvents | R>
export function make<R = never>(
  options?: EventGridWebhookOptions<R>
): Effect.Effect<HttpApp.Default, never, RotationEvents | R | HttpClient.HttpClient>
export function make(options: EventGridWebhookOptions<unknown> = {}): Effect.Effect<HttpApp.Default, never, unknown> {
  return Effect.gen(function*() {
    const events = yield* RotationEvents
    const verifier = yield* entraVerifier(options.entra)
    const secretDigest = options.secret === undefined
      ? undefined
      : digest(Redacted.isRedacted(options.secret) ? Redacted.value(options.secret) : options.secret)
    const queryName = options.secretQueryParameter ?? "code"
    const headerName = (options.secretHeader ?? "x-webhook-secret").toLowerCase()
    const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
    const allowedOrigins = options.allowedOrigins?.map((o) => o.toLowerCase())

    const secretPresent = (request: HttpServerRequest.HttpServerRequest): boolean => {
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

    // RFC 6750 3.1: no error code when no credentials came, `invalid_token` when one came and was refused.
    const bearerChallenge = (missing: boolean): Record<string, string> | undefined =>
      verifier === undefined ? undefined : { "www-authenticate": missing ? "Bearer" : "Bearer error=\"invalid_token\"" }

    // `undefined` when the request may go on, else the answer refusing it. Nothing from the request is quoted or
    // logged.
    const authorize = (
      request: HttpServerRequest.HttpServerRequest
    ): Effect.Effect<HttpServerResponse.HttpServerResponse | undefined> => {
      if (!secretPresent(request)) {
        return Effect.succeed(
          error(401, "Unauthorized", "the webhook secret is missing or wrong", bearerChallenge(true))
        )
      }
      if (verifier === undefined) return Effect.succeed(undefined)
      return verifier.check(request.headers["authorization"]).pipe(
        Effect.as(undefined),
        Effect.catchTags({
          TokenRefused: (refused) =>
            Effect.as(
              Effect.logWarning("EventGridWebhook: bearer token refused").pipe(
                Effect.annotateLogs({ reason: refused.reason })
              ),
              error(401, "Unauthorized", "a valid bearer token is required", bearerChallenge(refused.missing))
            ),
          SigningKeysUnavailable: () =>
            Effect.succeed(error(503, "ServiceUnavailable", "the token signing keys are not available; retry later", {
              "retry-after": "60"
            }))
        })
      )
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

    const route = (request: HttpServerRequest.HttpServerRequest) => {
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
    }

    const app: HttpApp.Default = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      Effect.flatMap(authorize(request), (refusal) => refusal === undefined ? route(request) : Effect.succeed(refusal)))
    return app
  })
}

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
