/**
 * The one request pipeline every service uses: vault URL + api-version, challenge authentication with a
 * `TokenProvider`, the `HttpClient`, status mapping (through `KeyVaultError.fromResponse`), and Schema decoding.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Schedule from "effect/Schedule"
import * as Challenge from "../auth/Challenge.js"
import * as CircuitBreaker from "../resilience/CircuitBreaker.js"
import * as RateLimiter from "../resilience/RateLimiter.js"
import type { RateClass } from "../resilience/RateLimiter.js"
import * as RetryPolicy from "../resilience/RetryPolicy.js"
import { TokenProvider } from "../auth/TokenProvider.js"
import { KeyVaultConfig, type ResolvedKeyVaultConfig } from "../config/KeyVaultConfig.js"
import {
  AuthenticationError,
  type ConflictError,
  DecodeError,
  type Expected,
  fromResponse,
  type NotFoundError,
  type RequestError,
  TransportError
} from "../errors/KeyVaultError.js"
import { exceedsJsonDepth, MAX_JSON_DEPTH } from "../wire/Common.js"

/**
 * The HTTP methods the data plane uses.
 *
 * @since 0.1.0
 */
export type Method = "GET" | "PUT" | "POST" | "PATCH" | "DELETE"

/**
 * One request, described independently of HTTP plumbing.
 *
 * @since 0.1.0
 */
export interface TransportRequest<E extends Expected = Expected> {
  /** The public operation, e.g. `Secrets.get`: named in decode errors. */
  readonly operation: string
  readonly method: Method
  /** Path under the vault, each segment already URI-encoded: `/secrets/name/version`. */
  readonly path: string
  readonly query?: Readonly<Record<string, string>> | undefined
  /** The JSON body, already encoded with a wire schema. */
  readonly body?: unknown
  /** Which error statuses this operation treats as answers (404, 409). */
  readonly expected?: E | undefined
  /**
   * Whether repeating the request after an ambiguous failure (5xx, timeout, network error: it may have been applied)
   * is safe. Default: true for GET and PATCH, false otherwise. A 429 is retried regardless: it was not processed.
   */
  readonly idempotent?: boolean | undefined
  /** Which rate limits the request counts against. Default `operation`; secret writes say `write`. */
  readonly rateClass?: RateClass | undefined
}

/**
 * A successful (2xx) response.
 *
 * @since 0.1.0
 */
export interface TransportResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly text: string
}

/**
 * Errors of a request whose operation expects 404 and / or 409.
 *
 * @since 0.1.0
 */
export type SendError = RequestError | NotFoundError | ConflictError

/**
 * The errors a request raises, given what its operation expects: 404 is a `NotFoundError` only where the operation
 * expects it, likewise 409 and `ConflictError`; elsewhere they are `ServiceError`s.
 *
 * @since 0.1.0
 */
export type ErrorsOf<E extends Expected> =
  | RequestError
  | (E["notFound"] extends true ? NotFoundError : never)
  | (E["conflict"] extends true ? ConflictError : never)

interface SharedVaultState {
  readonly authState: Ref.Ref<AuthState>
  readonly discovery: Effect.Semaphore
  readonly breaker: CircuitBreaker.CircuitBreaker | undefined
  readonly limiter: RateLimiter.RateLimiter | undefined
}

// Per HttpClient, per vault origin. Keyed weakly by the client, so separate clients (and separate tests) never see
// each other's state, while every client layer of one application shares it.
const registry = new WeakMap<HttpClient.HttpClient, Map<string, SharedVaultState>>()

const sharedState = (
  client: HttpClient.HttpClient,
  config: ResolvedKeyVaultConfig
): Effect.Effect<SharedVaultState> =>
  Effect.suspend(() => {
    let vaults = registry.get(client)
    if (vaults === undefined) {
      vaults = new Map()
      registry.set(client, vaults)
    }
    // Clients share state only when they would make the same decisions: a client that skips resource verification
    // must not hand an unverified challenge to one that verifies, nor a breaker tuned otherwise.
    const id = `${config.vaultUrl}|${config.disableChallengeResourceVerification}|${JSON.stringify(config.resilience)}`
    const existing = vaults.get(id)
    if (existing !== undefined) return Effect.succeed(existing)
    const { circuitBreaker, rateLimiter } = config.resilience
    return Effect.gen(function*() {
      const state: SharedVaultState = {
        authState: yield* Ref.make<AuthState>({ _tag: "Unknown" }),
        discovery: yield* Effect.makeSemaphore(1),
        breaker: circuitBreaker === undefined ? undefined : CircuitBreaker.make(config.vaultHost, circuitBreaker),
        limiter: rateLimiter === undefined ? undefined : yield* RateLimiter.make(config.vaultHost, rateLimiter)
      }
      // Another fiber may have raced us here; the first one registered wins.
      const winner = vaults.get(id) ?? state
      vaults.set(id, winner)
      return winner
    })
  })

type AuthState =
  | { readonly _tag: "Unknown" }
  | { readonly _tag: "NotRequired" }
  | { readonly _tag: "Known"; readonly challenge: Challenge.Challenge }

/**
 * The transport service.
 *
 * @since 0.1.0
 */
export class KeyVaultTransport extends Context.Tag("@effect-azure/key-vault/KeyVaultTransport")<
  KeyVaultTransport,
  {
    readonly config: ResolvedKeyVaultConfig
    /** Sends a request to a path of the vault (or to an absolute URL on the vault's origin, for `nextLink`). */
    readonly send: <const E extends Expected = Expected>(
      request: TransportRequest<E>,
      absoluteUrl?: string
    ) => Effect.Effect<TransportResponse, ErrorsOf<E>>
  }
>() {}


const causeMessage = (cause: unknown): string => {
  if (!(cause instanceof Error)) return ""
  const code = (cause as Error & { readonly code?: unknown }).code
  const inner = cause.cause instanceof Error ? ` (${cause.cause.message})` : ""
  return `: ${typeof code === "string" ? `${code} ` : ""}${cause.message}${inner}`
}

const codeOf = (cause: unknown): string => {
  for (let current = cause; current instanceof Error; current = current.cause) {
    const code = (current as Error & { readonly code?: unknown }).code
    if (typeof code === "string") return code
  }
  return ""
}

// Certificate problems and unknown hosts do not heal by themselves: they must not be retried like a reset.
const networkReason = (cause: unknown): "Network" | "Tls" | "Dns" => {
  const code = codeOf(cause)
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|UNABLE_TO_GET_ISSUER/.test(code)) return "Tls"
  return code === "ENOTFOUND" ? "Dns" : "Network"
}

const toTransportError = (error: HttpClientError.HttpClientError): TransportError =>
  error._tag === "RequestError"
    ? new TransportError({
      reason: networkReason(error.cause),
      message: `request to the vault failed${error.description === undefined ? "" : `: ${error.description}`}${
        causeMessage(error.cause)
      }`,
      cause: error.cause
    })
    : new TransportError({
      reason: "Body",
      message: `reading the vault's response failed: ${error.reason}${causeMessage(error.cause)}`,
      cause: error.cause
    })

/**
 * Builds the transport from its requirements.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<
  Context.Tag.Service<KeyVaultTransport>,
  never,
  KeyVaultConfig | TokenProvider | HttpClient.HttpClient
> = Effect.gen(function*() {
  const config = yield* KeyVaultConfig
  const tokens = yield* TokenProvider
  const client = yield* HttpClient.HttpClient
  // What is known about this vault (its challenge, its breaker, its limiter) is shared by every service and every
  // client built on the same HttpClient: a second client for the vault pays no second challenge.
  const shared = yield* sharedState(client, config)
  const authState = shared.authState
  const discovery = shared.discovery

  const buildRequest = (
    request: TransportRequest,
    url: string,
    withBody: boolean,
    token: Option.Option<Redacted.Redacted<string>>
  ): HttpClientRequest.HttpClientRequest => {
    let req = HttpClientRequest.make(request.method)(url).pipe(HttpClientRequest.acceptJson)
    if (Option.isSome(token)) req = HttpClientRequest.bearerToken(req, Redacted.value(token.value))
    if (withBody && request.body !== undefined) {
      req = HttpClientRequest.bodyText(req, JSON.stringify(request.body), "application/json")
    }
    return req
  }

  const timeout = Duration.millis(config.requestTimeoutMillis)
  const execute = (req: HttpClientRequest.HttpClientRequest): Effect.Effect<TransportResponse, TransportError> =>
    client.execute(req).pipe(
      Effect.flatMap((response) =>
        Effect.map(response.text, (text): TransportResponse => ({ status: response.status, headers: response.headers, text }))
      ),
      Effect.scoped,
      Effect.mapError(toTransportError),
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () =>
          new TransportError({
            reason: "Timeout",
            message: `the vault did not answer within ${Duration.format(timeout)}`
          })
      })
    )

  const verified = (header: string | undefined): Effect.Effect<Challenge.Challenge, AuthenticationError> =>
    Option.match(Challenge.parse(header), {
      onNone: () =>
        Effect.fail(
          new AuthenticationError({ message: "the vault answered 401 without a usable Bearer challenge", status: 401 })
        ),
      onSome: (challenge) =>
        config.disableChallengeResourceVerification
          ? Effect.succeed(challenge)
          : Either.match(Challenge.verifyResource(config.vaultUrl, challenge), {
            onLeft: (message) => Effect.fail(new AuthenticationError({ message, status: 401 })),
            onRight: () => Effect.succeed(challenge)
          })
    })

  const learn = (header: string | undefined) =>
    Effect.tap(verified(header), (challenge) => Ref.set(authState, { _tag: "Known", challenge }))

  const tokenFor = (challenge: Challenge.Challenge, forceRefresh: boolean) =>
    Effect.map(
      tokens.getToken({
        scopes: [challenge.scope],
        tenantId: challenge.tenantId,
        claims: challenge.claims,
        forceRefresh
      }),
      (t) => Option.some(t.token)
    )

  // An authorised attempt. A 401 is answered once: a continuous-access-evaluation challenge gets a token carrying its
  // claims (not remembered: they are for this request), a new Bearer challenge (the tenant moved) is verified and
  // learned, and a bare 401 (an expired or revoked token) gets a forced refresh for the same challenge.
  const authorised = (request: TransportRequest, url: string, challenge: Challenge.Challenge) =>
    Effect.gen(function*() {
      const first = yield* execute(buildRequest(request, url, true, yield* tokenFor(challenge, false)))
      if (first.status !== 401) return first
      const header = first.headers["www-authenticate"]
      const claims = Challenge.claimsOf(header)
      const next = Option.isSome(claims)
        ? { ...challenge, claims: claims.value }
        : Option.isSome(Challenge.parse(header))
        ? yield* learn(header)
        : challenge
      const second = yield* execute(buildRequest(request, url, true, yield* tokenFor(next, true)))
      if (second.status === 401) {
        return yield* Effect.fail(
          new AuthenticationError({ message: "the vault refused a freshly acquired token", status: 401 })
        )
      }
      return second
    })

  // Without a token: an endpoint that never asked for one. Should it start asking, the challenge is learned then.
  const unauthenticated = (request: TransportRequest, url: string) =>
    Effect.flatMap(execute(buildRequest(request, url, true, Option.none())), (response) =>
      response.status === 401
        ? Effect.flatMap(learn(response.headers["www-authenticate"]), (challenge) => authorised(request, url, challenge))
        : Effect.succeed(response))

  // First contact: the request goes out without a body and without a token, as the official SDKs do, so the
  // challenge arrives before the body is ever sent to an unverified endpoint.
  const discover = (request: TransportRequest, url: string) =>
    Effect.gen(function*() {
      const state = yield* Ref.get(authState)
      if (state._tag === "Known") return yield* authorised(request, url, state.challenge)
      if (state._tag === "NotRequired") return yield* unauthenticated(request, url)
      const probe = yield* execute(buildRequest(request, url, false, Option.none()))
      if (probe.status === 401) {
        return yield* authorised(request, url, yield* learn(probe.headers["www-authenticate"]))
      }
      // Only an answer that shows the vault serves requests without a token proves it needs none. A 5xx or 429 to
      // the probe proves nothing: it is returned as this attempt's answer (and retried), the state stays unknown,
      // and the body is not sent to an endpoint whose challenge was never seen.
      if (probe.status === 429 || probe.status === 408 || probe.status >= 500) return probe
      yield* Ref.set(authState, { _tag: "NotRequired" })
      return request.body === undefined ? probe : yield* unauthenticated(request, url)
    })

  // One attempt: authentication, the HTTP exchange, and the status mapped to the taxonomy.
  const attempt = (request: TransportRequest, url: string): Effect.Effect<TransportResponse, SendError> =>
    Effect.gen(function*() {
      const state = yield* Ref.get(authState)
      const response = state._tag === "Known"
        ? yield* authorised(request, url, state.challenge)
        : state._tag === "NotRequired"
        ? yield* unauthenticated(request, url)
        : yield* discovery.withPermits(1)(discover(request, url))
      if (response.status >= 200 && response.status < 300) return response
      const now = yield* Clock.currentTimeMillis
      return yield* Effect.fail(fromResponse({ ...response, bodyText: response.text }, request.expected ?? {}, now))
    })

  // The resilience layers around one attempt: the retry schedule outside, each try passing the circuit breaker and
  // then the rate limiter, so a refused call neither waits for a slot nor counts against the vault's limits.
  const { breaker, limiter } = shared
  const retry = config.resilience.retry
  const resilient = (request: TransportRequest, url: string): Effect.Effect<TransportResponse, SendError> => {
    const limited = limiter === undefined
      ? attempt(request, url)
      : Effect.zipRight(limiter.acquire(request.rateClass ?? "operation"), attempt(request, url))
    const guarded = breaker === undefined ? limited : breaker.guard(limited)
    if (retry === undefined) return guarded
    const idempotent = request.idempotent ?? (request.method === "GET" || request.method === "PATCH")
    return Effect.retry(guarded, RetryPolicy.schedule(retry, idempotent) as Schedule.Schedule<unknown, SendError>)
  }

  const sendAny = (request: TransportRequest, absoluteUrl?: string): Effect.Effect<TransportResponse, SendError> =>
    Effect.gen(function*() {
      let url: string
      if (absoluteUrl !== undefined) {
        // Never follow a link off the vault's origin: the token would go with it.
        const parsed = yield* Effect.try({
          try: () => new URL(absoluteUrl),
          catch: () => new DecodeError({ operation: request.operation, message: "nextLink is not a URL" })
        })
        if (parsed.origin !== config.vaultUrl) {
          return yield* Effect.fail(
            new DecodeError({ operation: request.operation, message: `nextLink leaves the vault origin ${config.vaultUrl}` })
          )
        }
        if (!parsed.searchParams.has("api-version")) parsed.searchParams.set("api-version", config.apiVersion)
        url = parsed.toString()
      } else {
        const target = new URL(config.vaultUrl + request.path)
        target.searchParams.set("api-version", config.apiVersion)
        for (const [key, value] of Object.entries(request.query ?? {})) target.searchParams.set(key, value)
        url = target.toString()
      }
      return yield* resilient(request, url)
    })

  // `fromResponse` only produces NotFound / Conflict when `expected` asks for them, which is what ErrorsOf states.
  const send = sendAny as Context.Tag.Service<KeyVaultTransport>["send"]
  return { config, send }
})

/**
 * The transport layer.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<KeyVaultTransport, never, KeyVaultConfig | TokenProvider | HttpClient.HttpClient> =
  Layer.effect(KeyVaultTransport, make)

/**
 * Decodes a response body with a wire schema. Failures name the paths that did not match, never the values, because
 * a secret-bearing response must not leak through an error message.
 *
 * @since 0.1.0
 */
export const decode = <A, I>(
  operation: string,
  schema: Schema.Schema<A, I>
): (response: TransportResponse) => Effect.Effect<A, DecodeError> => {
  const decodeUnknown = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "ignore" })
  return (response) => {
    let json: unknown
    try {
      json = JSON.parse(response.text)
    } catch {
      return Effect.fail(new DecodeError({ operation, message: "the vault's response is not JSON" }))
    }
    // Before the schema sees it: decoding a recursive schema and formatting a parse error both recurse once per
    // level, and a few kilobytes of `[` would overflow the stack into an untyped defect.
    if (exceedsJsonDepth(json)) {
      return Effect.fail(
        new DecodeError({ operation, message: `the vault's response nests deeper than ${MAX_JSON_DEPTH} levels` })
      )
    }
    return Either.match(decodeUnknown(json), {
      onRight: Effect.succeed,
      onLeft: (error) => {
        const paths = ParseResult.ArrayFormatter.formatErrorSync(error)
          .map((issue) => `${issue._tag} at ${issue.path.length === 0 ? "<root>" : issue.path.join(".")}`)
        return Effect.fail(
          new DecodeError({ operation, message: `the vault's response does not match the schema: ${paths.join("; ")}` })
        )
      }
    })
  }
}

/**
 * A `Stream` over every item of a paged list, following `nextLink` until it is null. Pages are fetched lazily, one at
 * a time, as the consumer pulls.
 *
 * @since 0.1.0
 */
export const paginate = <A, I, const E extends Expected = Expected>(
  transport: Context.Tag.Service<KeyVaultTransport>,
  request: TransportRequest<E>,
  schema: Schema.Schema<{ readonly value: ReadonlyArray<A>; readonly nextLink?: string | null | undefined }, I>
): Stream.Stream<A, ErrorsOf<E> | DecodeError> => {
  const decodePage = decode(request.operation, schema)
  return Stream.suspend(() => {
    // A link seen twice would page forever: a misbehaving endpoint must not turn a list into an endless loop.
    const seen = new Set<string>()
    return Stream.paginateChunkEffect(Option.none<string>(), (next) =>
      transport.send(request, Option.getOrUndefined(next)).pipe(
        Effect.flatMap(decodePage),
        Effect.flatMap((page) => {
          const link = page.nextLink ?? undefined
          if (link === undefined || link === "") return Effect.succeed([Chunk.unsafeFromArray(page.value), Option.none()] as const)
          if (seen.has(link)) {
            return Effect.fail(new DecodeError({ operation: request.operation, message: "nextLink repeats a page already read" }))
          }
          seen.add(link)
          return Effect.succeed([Chunk.unsafeFromArray(page.value), Option.some(Option.some(link))] as const)
        })
      ))
  })
}
