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
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Schedule from "effect/Schedule"
import * as Challenge from "../auth/Challenge.js"
import type * as CircuitBreaker from "../resilience/CircuitBreaker.js"
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
import * as VaultState from "./VaultState.js"

/**
 * The HTTP methods the data plane uses.
 *
 * @since 0.1.0
 * @category models
 */
export type Method = "GET" | "PUT" | "POST" | "PATCH" | "DELETE"

/**
 * One request, described independently of HTTP plumbing.
 *
 * @since 0.1.0
 * @category models
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
 * @category models
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
 * @category errors
 */
export type SendError = RequestError | NotFoundError | ConflictError

/**
 * The errors a request raises, given what its operation expects: 404 is a `NotFoundError` only where the operation
 * expects it, likewise 409 and `ConflictError`; elsewhere they are `ServiceError`s.
 *
 * @since 0.1.0
 * @category errors
 */
export type ErrorsOf<E extends Expected> =
  | RequestError
  | (E["notFound"] extends true ? NotFoundError : never)
  | (E["conflict"] extends true ? ConflictError : never)

/**
 * The transport service.
 *
 * @since 0.1.0
 * @category tags
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
 * Builds the transport from its requirements. The per-vault state (challenge, breaker, limiter) comes from the
 * `VaultRegistry` in context, so every client of one Layer graph shares it; without a registry the transport keeps
 * state of its own.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<
  Context.Tag.Service<KeyVaultTransport>,
  never,
  KeyVaultConfig | TokenProvider | HttpClient.HttpClient
> = Effect.gen(function*() {
  const config = yield* KeyVaultConfig
  const tokens = yield* TokenProvider
  const client = yield* HttpClient.HttpClient
  const registry = yield* Effect.serviceOption(VaultState.VaultRegistry)
  const shared = registry._tag === "Some" ? yield* registry.value.forVault(config) : yield* VaultState.makeState(config)
  const authState = shared.auth
  const discovery = shared.discovery

  // Computed once per client rather than per request: the api-version parameter, the accept header and the request
  // templates per method (each HttpClientRequest combinator copies the request, so fewer steps, fewer copies).
  const apiVersion: readonly [string, string] = ["api-version", config.apiVersion]
  const templates = new Map<Method, HttpClientRequest.HttpClientRequest>()
  const templateOf = (method: Method): HttpClientRequest.HttpClientRequest => {
    let template = templates.get(method)
    if (template === undefined) {
      template = HttpClientRequest.make(method)("").pipe(HttpClientRequest.acceptJson)
      templates.set(method, template)
    }
    return template
  }

  // A request with its URL and body text worked out once, however many attempts it takes.
  interface Outgoing {
    readonly request: TransportRequest
    readonly url: string
    readonly urlParams: ReadonlyArray<readonly [string, string]>
    readonly bodyText: string | undefined
  }

  const buildRequest = (
    out: Outgoing,
    withBody: boolean,
    token: Option.Option<Redacted.Redacted<string>>
  ): HttpClientRequest.HttpClientRequest => {
    let req = HttpClientRequest.setUrlParams(HttpClientRequest.setUrl(templateOf(out.request.method), out.url), out.urlParams)
    if (Option.isSome(token)) req = HttpClientRequest.bearerToken(req, Redacted.value(token.value))
    if (withBody && out.bodyText !== undefined) req = HttpClientRequest.bodyText(req, out.bodyText, "application/json")
    return req
  }

  const timeout = Duration.millis(config.requestTimeoutMillis)
  const onTimeout = () =>
    new TransportError({ reason: "Timeout", message: `the vault did not answer within ${Duration.format(timeout)}` })
  const execute = (req: HttpClientRequest.HttpClientRequest): Effect.Effect<TransportResponse, TransportError> =>
    client.execute(req).pipe(
      Effect.flatMap((response) =>
        Effect.map(response.text, (text): TransportResponse => ({ status: response.status, headers: response.headers, text }))
      ),
      Effect.mapError(toTransportError),
      (exchange) => withTimeout(exchange, timeout, onTimeout)
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

  // A 401 is answered once: a continuous-access-evaluation challenge gets a token carrying its claims (not
  // remembered: they are for this request), a new Bearer challenge (the tenant moved) is verified and learned, and a
  // bare 401 (an expired or revoked token) gets a forced refresh for the same challenge.
  const reauthorise = (out: Outgoing, challenge: Challenge.Challenge, first: TransportResponse) =>
    Effect.gen(function*() {
      const header = first.headers["www-authenticate"]
      const claims = Challenge.claimsOf(header)
      const next = Option.isSome(claims)
        ? { ...challenge, claims: claims.value }
        : Option.isSome(Challenge.parse(header))
        ? yield* learn(header)
        : challenge
      const second = yield* execute(buildRequest(out, true, yield* tokenFor(next, true)))
      if (second.status === 401) {
        return yield* Effect.fail(
          new AuthenticationError({ message: "the vault refused a freshly acquired token", status: 401 })
        )
      }
      return second
    })

  // An authorised attempt: the hot path, written without a generator.
  const authorised = (out: Outgoing, challenge: Challenge.Challenge) =>
    Effect.flatMap(tokenFor(challenge, false), (token) =>
      Effect.flatMap(execute(buildRequest(out, true, token)), (first) =>
        first.status === 401 ? reauthorise(out, challenge, first) : Effect.succeed(first)))

  // Without a token: an endpoint that never asked for one. Should it start asking, the challenge is learned then.
  const unauthenticated = (out: Outgoing) =>
    Effect.flatMap(execute(buildRequest(out, true, Option.none())), (response) =>
      response.status === 401
        ? Effect.flatMap(learn(response.headers["www-authenticate"]), (challenge) => authorised(out, challenge))
        : Effect.succeed(response))

  // First contact: the request goes out without a body and without a token, as the official SDKs do, so the
  // challenge arrives before the body is ever sent to an unverified endpoint.
  const discover = (out: Outgoing) =>
    Effect.gen(function*() {
      const state = yield* Ref.get(authState)
      if (state._tag === "Known") return yield* authorised(out, state.challenge)
      if (state._tag === "NotRequired") return yield* unauthenticated(out)
      const probe = yield* execute(buildRequest(out, false, Option.none()))
      if (probe.status === 401) {
        return yield* authorised(out, yield* learn(probe.headers["www-authenticate"]))
      }
      // Only an answer that shows the vault serves requests without a token proves it needs none. A 5xx or 429 to
      // the probe proves nothing: it is returned as this attempt's answer (and retried), the state stays unknown,
      // and the body is not sent to an endpoint whose challenge was never seen.
      if (probe.status === 429 || probe.status === 408 || probe.status >= 500) return probe
      yield* Ref.set(authState, { _tag: "NotRequired" })
      return out.bodyText === undefined ? probe : yield* unauthenticated(out)
    })

  const mapStatus = (out: Outgoing) => (response: TransportResponse): Effect.Effect<TransportResponse, SendError> =>
    response.status >= 200 && response.status < 300
      ? Effect.succeed(response)
      : Effect.flatMap(
        Clock.currentTimeMillis,
        (now) => Effect.fail(fromResponse({ ...response, bodyText: response.text }, out.request.expected ?? {}, now))
      )

  // One attempt: authentication, the HTTP exchange, and the status mapped to the taxonomy.
  const attempt = (out: Outgoing): Effect.Effect<TransportResponse, SendError> =>
    Effect.flatMap(Ref.get(authState), (state) =>
      Effect.flatMap(
        state._tag === "Known"
          ? authorised(out, state.challenge)
          : state._tag === "NotRequired"
          ? unauthenticated(out)
          : discovery.withPermits(1)(discover(out)),
        mapStatus(out)
      ))

  // The resilience layers around one attempt: the retry schedule outside, each try passing the circuit breaker and
  // then the rate limiter, so a refused call neither waits for a slot nor counts against the vault's limits.
  const { breaker, limiter } = shared
  const retry = config.resilience.retry
  // Both schedules are built once per client, not per request.
  const retryIdempotent = retry === undefined
    ? undefined
    : RetryPolicy.schedule(retry, true) as Schedule.Schedule<unknown, SendError>
  const retryOnce = retry === undefined
    ? undefined
    : RetryPolicy.schedule(retry, false) as Schedule.Schedule<unknown, SendError>
  const resilient = (out: Outgoing): Effect.Effect<TransportResponse, SendError> => {
    const request = out.request
    const limited = limiter === undefined
      ? attempt(out)
      : Effect.zipRight(limiter.acquire(request.rateClass ?? "operation"), attempt(out))
    const idempotent = request.idempotent ?? (request.method === "GET" || request.method === "PATCH")
    const schedule = idempotent ? retryIdempotent : retryOnce
    // The breaker admits each attempt but records the request's final outcome once: one request's retries cannot
    // open the circuit by themselves.
    const retried = (admit: CircuitBreaker.Admit): Effect.Effect<TransportResponse, SendError> => {
      const once: Effect.Effect<TransportResponse, SendError> = admit(limited)
      if (schedule === undefined) return once
      // The schedule (and its driver) only comes in once an attempt has failed: it sees that first failure replayed,
      // then drives the further attempts. Most requests succeed at once and never pay for it.
      return Effect.catchAll(once, (first) => {
        let replayed = false
        return Effect.retry(
          Effect.suspend(() => {
            if (replayed) return once
            replayed = true
            return Effect.fail(first)
          }),
          schedule
        )
      })
    }
    return breaker === undefined ? retried((attempt) => attempt) : breaker.request(retried)
  }

  const noParams: ReadonlyArray<readonly [string, string]> = [apiVersion]
  const paramsOf = (query: TransportRequest["query"]): ReadonlyArray<readonly [string, string]> => {
    if (query === undefined) return noParams
    const params: Array<readonly [string, string]> = [apiVersion]
    for (const key in query) params.push([key, query[key]!])
    return params
  }

  const sendAny = (request: TransportRequest, absoluteUrl?: string): Effect.Effect<TransportResponse, SendError> => {
    const bodyText = request.body === undefined ? undefined : JSON.stringify(request.body)
    if (absoluteUrl === undefined) {
      // The path's segments are already encoded and the origin was checked when the client was configured: a string
      // join, with no URL parsed and printed again here (the HttpClient parses it once).
      return resilient({ request, url: config.vaultUrl + request.path, urlParams: paramsOf(request.query), bodyText })
    }
    // Never follow a link off the vault's origin: the token would go with it.
    let parsed: URL
    try {
      parsed = new URL(absoluteUrl)
    } catch {
      return Effect.fail(new DecodeError({ operation: request.operation, message: "nextLink is not a URL" }))
    }
    if (parsed.origin !== config.vaultUrl) {
      return Effect.fail(
        new DecodeError({ operation: request.operation, message: `nextLink leaves the vault origin ${config.vaultUrl}` })
      )
    }
    const urlParams: Array<readonly [string, string]> = []
    for (const [key, value] of parsed.searchParams) urlParams.push([key, value])
    if (!parsed.searchParams.has("api-version")) urlParams.push(apiVersion)
    parsed.search = ""
    parsed.hash = ""
    return resilient({ request, url: parsed.toString(), urlParams, bodyText })
  }

  // `fromResponse` only produces NotFound / Conflict when `expected` asks for them, which is what ErrorsOf states.
  const send = sendAny as Context.Tag.Service<KeyVaultTransport>["send"]
  return { config, send }
})

// `Effect.timeoutFail` races two forked fibers, then joins the winner's fiber refs and waits for the loser's
// interruption: about half of an uncached in-process get (1,200 -> 2,700 ops/s without it). Here the exchange runs in
// one forked fiber and the race is settled by observers: only a timed-out exchange is waited for while it is
// interrupted (its abort must happen before the caller moves on). With the live clock the timer is a plain
// `setTimeout` rather than a second fiber sleeping on the clock; with any other clock (`TestClock`) it is a fiber
// sleeping on that clock, so tests drive it.
const withTimeout = <A, E, E2>(
  self: Effect.Effect<A, E>,
  duration: Duration.Duration,
  onTimeout: () => E2
): Effect.Effect<A, E | E2> =>
  Effect.clockWith((clock) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.fork(restore(self)), (exchange) =>
        restore(Effect.async<A, E | E2>((resume) => {
          let settled = false
          const expire = (): void => {
            if (settled) return
            settled = true
            exchange.removeObserver(onExchange)
            resume(Effect.zipRight(Fiber.interrupt(exchange), Effect.fail(onTimeout())))
          }
          const disarm = clock.constructor === LiveClock
            ? liveTimer(Duration.toMillis(duration), expire)
            : clockTimer(clock, duration, expire)
          const onExchange = (exit: Exit.Exit<A, E>): void => {
            if (settled) return
            settled = true
            disarm()
            resume(exit)
          }
          exchange.addObserver(onExchange)
          return Effect.suspend(() => {
            settled = true
            exchange.removeObserver(onExchange)
            disarm()
            return Fiber.interrupt(exchange)
          })
        }))
      )
    )
  )

const LiveClock = Clock.make().constructor

// The request timer; each returns how to stop it.
const liveTimer = (millis: number, expire: () => void): () => void => {
  const handle = setTimeout(expire, millis)
  return () => clearTimeout(handle)
}
const clockTimer = (clock: Clock.Clock, duration: Duration.Duration, expire: () => void): () => void => {
  const timer = Effect.runFork(clock.sleep(duration))
  timer.addObserver((exit) => {
    if (exit._tag === "Success") expire()
  })
  return () => timer.unsafeInterruptAsFork(FiberId.none)
}

/**
 * The transport layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<KeyVaultTransport, never, KeyVaultConfig | TokenProvider | HttpClient.HttpClient> =
  Layer.effect(KeyVaultTransport, make)

/**
 * The per-vault state registry (challenge, breaker, limiter): see `VaultState`.
 *
 * @since 0.1.0
 * @category tags
 */
export { VaultRegistry } from "./VaultState.js"

/**
 * Decodes a response body with a wire schema. Failures name the paths that did not match, never the values, because
 * a secret-bearing response must not leak through an error message.
 *
 * @since 0.1.0
 * @category utils
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
 * @category utils
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
