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
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import type * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Schedule from "effect/Schedule"
import type * as Tracer from "effect/Tracer"
import * as Challenge from "../auth/Challenge.js"
import * as QuietTracer from "../internal/QuietTracer.js"
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
  parseRetryAfter,
  type RequestError,
  TransportError
} from "../errors/KeyVaultError.js"
import * as KeyVaultMetrics from "../telemetry/KeyVaultMetrics.js"
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
  /**
   * The span the request's exchanges are recorded on (request ids, status, an event per exchange) and whose context
   * `traceparent` carries. Default: the fiber's current span, when an application tracer is installed.
   */
  readonly span?: Tracer.Span | undefined
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
      cause: error.cause,
      // The vault answered: its request id identifies the exchange in a support case.
      ...withRequestId(requestIdOf(error.response.headers))
    })

const withRequestId = (requestId: string | undefined): { readonly requestId?: string } =>
  requestId === undefined ? {} : { requestId }

/** The vault's id for a response (`x-ms-request-id`). */
const requestIdOf = (headers: Readonly<Record<string, string | undefined>>): string | undefined =>
  headers["x-ms-request-id"]

/**
 * The span attribute keys and event name the transport writes (OpenTelemetry's conventions for Azure SDK and HTTP
 * clients, and ours).
 *
 * @since 0.1.0
 * @category telemetry
 */
export const SpanKeys = {
  namespace: "az.namespace",
  clientRequestId: "az.client_request_id",
  serviceRequestId: "az.service_request_id",
  method: "http.request.method",
  status: "http.response.status_code",
  errorType: "error.type",
  /** The span event recorded for every HTTP exchange of an operation. */
  attemptEvent: "keyvault.attempt",
  /** On an attempt event: the exchange's number within the operation's request, from 1. */
  attempt: "keyvault.attempt",
  /** On an attempt event: the time waited before this exchange for a retry, in milliseconds. */
  retryDelay: "keyvault.retry_delay_ms",
  /** On an attempt event: the delay a 429 asked for (`Retry-After` and friends), in milliseconds. */
  retryAfter: "keyvault.retry_after_ms",
  /** On an attempt event: `true` for the exchange sent without a token to learn the vault's challenge. */
  challenge: "keyvault.challenge"
} as const

/** The W3C `traceparent` of a span. */
const traceparentOf = (span: Tracer.Span): string =>
  `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`

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

  // A request with its URL and body text worked out once, however many attempts it takes, and what its telemetry
  // learns along the way (plain fields: one request runs on one fiber at a time).
  interface Outgoing {
    readonly request: TransportRequest
    readonly url: string
    readonly urlParams: ReadonlyArray<readonly [string, string]>
    readonly bodyText: string | undefined
    /** The operation's span, when tracing is on (an application tracer is installed). */
    readonly span: Tracer.Span | undefined
    readonly clock: Clock.Clock
    /** `vault_host` and `operation`, made once per operation. */
    readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
    /** HTTP exchanges so far. */
    exchanges: number
    /** When the last attempt failed (clock millis), while its retry is pending. */
    failedAt: number
    /** The error the pending retry follows. */
    failure: SendError | undefined
    /** The wait before the current attempt (ms), for its first exchange's event; -1 when it did not follow a wait. */
    waited: number
    /** The last exchange's ids and status. */
    clientRequestId: string | undefined
    serviceRequestId: string | undefined
    status: number | undefined
  }

  const buildRequest = (
    out: Outgoing,
    withBody: boolean,
    token: Option.Option<Redacted.Redacted<string>>,
    clientRequestId: string
  ): HttpClientRequest.HttpClientRequest => {
    let req = HttpClientRequest.setUrlParams(HttpClientRequest.setUrl(templateOf(out.request.method), out.url), out.urlParams)
    // Header by header: `setHeader` is a fraction of a microsecond, `setHeaders` with a record several microseconds.
    // The platform HttpClient replaces `traceparent` with its own `http.client` span's when it makes one (the usual
    // case with tracing on); ours is there for a client that propagates nothing itself.
    if (Option.isSome(token)) req = HttpClientRequest.bearerToken(req, Redacted.value(token.value))
    req = HttpClientRequest.setHeader(req, "x-ms-client-request-id", clientRequestId)
    if (out.span !== undefined) req = HttpClientRequest.setHeader(req, "traceparent", traceparentOf(out.span))
    if (withBody && out.bodyText !== undefined) req = HttpClientRequest.bodyText(req, out.bodyText, "application/json")
    return req
  }

  // What one exchange tells the telemetry: the ids and status for the operation's span and its errors, an event per
  // exchange when traced, the attempt and throttling counters. Synchronous: it runs inside `map` / `mapError`.
  const observe = (
    out: Outgoing,
    clientRequestId: string,
    challenge: boolean,
    response: TransportResponse | undefined,
    error: TransportError | undefined
  ): void => {
    const serviceRequestId = response === undefined ? error?.requestId : requestIdOf(response.headers)
    const status = response?.status
    out.clientRequestId = clientRequestId
    out.serviceRequestId = serviceRequestId
    out.status = status
    if (status === 429) KeyVaultMetrics.throttled.unsafeUpdate(1, out.labels)
    const span = out.span
    // Not sampled: not recorded (the `traceparent` still goes, flagged so).
    if (span === undefined || !span.sampled) return
    const attributes: Record<string, unknown> = {
      [SpanKeys.attempt]: out.exchanges,
      [SpanKeys.clientRequestId]: clientRequestId
    }
    if (status !== undefined) attributes[SpanKeys.status] = status
    if (serviceRequestId !== undefined) attributes[SpanKeys.serviceRequestId] = serviceRequestId
    if (error !== undefined) attributes[SpanKeys.errorType] = error._tag
    if (challenge) attributes[SpanKeys.challenge] = true
    if (out.waited >= 0) {
      attributes[SpanKeys.retryDelay] = out.waited
      out.waited = -1
    }
    if (status === 429 && response !== undefined) {
      const asked = parseRetryAfter(response.headers, out.clock.unsafeCurrentTimeMillis())
      if (Option.isSome(asked)) attributes[SpanKeys.retryAfter] = Duration.toMillis(asked.value)
    }
    span.event(SpanKeys.attemptEvent, out.clock.unsafeCurrentTimeNanos(), attributes)
    span.attribute(SpanKeys.clientRequestId, clientRequestId)
    if (serviceRequestId !== undefined) span.attribute(SpanKeys.serviceRequestId, serviceRequestId)
    if (status !== undefined) span.attribute(SpanKeys.status, status)
  }

  const timeout = Duration.millis(config.requestTimeoutMillis)
  const onTimeout = () =>
    new TransportError({ reason: "Timeout", message: `the vault did not answer within ${Duration.format(timeout)}` })
  // One HTTP exchange, with a fresh `x-ms-client-request-id`.
  const execute = (
    out: Outgoing,
    withBody: boolean,
    token: Option.Option<Redacted.Redacted<string>>
  ): Effect.Effect<TransportResponse, TransportError> => {
    const clientRequestId = crypto.randomUUID()
    out.exchanges += 1
    KeyVaultMetrics.httpAttempts.unsafeUpdate(1, out.labels)
    const challenge = Option.isNone(token) && !withBody
    return client.execute(buildRequest(out, withBody, token, clientRequestId)).pipe(
      Effect.mapError(toTransportError),
      Effect.flatMap((response) =>
        Effect.mapBoth(response.text, {
          onFailure: toTransportError,
          onSuccess: (text): TransportResponse => ({ status: response.status, headers: response.headers, text })
        })
      ),
      (exchange) => withTimeout(exchange, timeout, onTimeout, out.span),
      Effect.mapBoth({
        onFailure: (error) => {
          observe(out, clientRequestId, challenge, undefined, error)
          return error
        },
        onSuccess: (response) => {
          observe(out, clientRequestId, challenge, response, undefined)
          return response
        }
      })
    )
  }

  const verified = (response: TransportResponse): Effect.Effect<Challenge.Challenge, AuthenticationError> => {
    const requestId = withRequestId(requestIdOf(response.headers))
    return Option.match(Challenge.parse(response.headers["www-authenticate"]), {
      onNone: () =>
        Effect.fail(
          new AuthenticationError({
            message: "the vault answered 401 without a usable Bearer challenge",
            status: 401,
            ...requestId
          })
        ),
      onSome: (challenge) =>
        config.disableChallengeResourceVerification
          ? Effect.succeed(challenge)
          : Either.match(Challenge.verifyResource(config.vaultUrl, challenge), {
            onLeft: (message) => Effect.fail(new AuthenticationError({ message, status: 401, ...requestId })),
            onRight: () => Effect.succeed(challenge)
          })
    })
  }

  const learn = (response: TransportResponse) =>
    Effect.tap(verified(response), (challenge) => Ref.set(authState, { _tag: "Known", challenge }))

  // With the application's tracer (see `QuietTracer.loudly`): a credential's own HTTP call and its background
  // refresh fiber are not part of the operation's quiet steps.
  const tokenFor = (challenge: Challenge.Challenge, forceRefresh: boolean) =>
    Effect.map(
      QuietTracer.loudly(tokens.getToken({
        scopes: [challenge.scope],
        tenantId: challenge.tenantId,
        claims: challenge.claims,
        forceRefresh
      })),
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
        ? yield* learn(first)
        : challenge
      const second = yield* execute(out, true, yield* tokenFor(next, true))
      if (second.status === 401) {
        return yield* Effect.fail(
          new AuthenticationError({
            message: "the vault refused a freshly acquired token",
            status: 401,
            ...withRequestId(requestIdOf(second.headers))
          })
        )
      }
      return second
    })

  // An authorised attempt: the hot path, written without a generator.
  const authorised = (out: Outgoing, challenge: Challenge.Challenge) =>
    Effect.flatMap(tokenFor(challenge, false), (token) =>
      Effect.flatMap(execute(out, true, token), (first) =>
        first.status === 401 ? reauthorise(out, challenge, first) : Effect.succeed(first)))

  // Without a token: an endpoint that never asked for one. Should it start asking, the challenge is learned then.
  const unauthenticated = (out: Outgoing) =>
    Effect.flatMap(execute(out, true, Option.none()), (response) =>
      response.status === 401
        ? Effect.flatMap(learn(response), (challenge) => authorised(out, challenge))
        : Effect.succeed(response))

  // First contact: the request goes out without a body and without a token, as the official SDKs do, so the
  // challenge arrives before the body is ever sent to an unverified endpoint.
  const discover = (out: Outgoing) =>
    Effect.gen(function*() {
      const state = yield* Ref.get(authState)
      if (state._tag === "Known") return yield* authorised(out, state.challenge)
      if (state._tag === "NotRequired") return yield* unauthenticated(out)
      const probe = yield* execute(out, false, Option.none())
      if (probe.status === 401) {
        return yield* authorised(out, yield* learn(probe))
      }
      // Only an answer that shows the vault serves requests without a token proves it needs none. A 5xx or 429 to
      // the probe proves nothing: it is returned as this attempt's answer (and retried), the state stays unknown,
      // and the body is not sent to an endpoint whose challenge was never seen.
      if (probe.status === 429 || probe.status === 408 || probe.status >= 500) return probe
      yield* Ref.set(authState, { _tag: "NotRequired" })
      return out.bodyText === undefined ? probe : yield* unauthenticated(out)
    })

  const mapStatus = (out: Outgoing) => (response: TransportResponse): Effect.Effect<TransportResponse, SendError> => {
    if (response.status >= 200 && response.status < 300) return Effect.succeed(response)
    const error = fromResponse(
      { ...response, bodyText: response.text },
      out.request.expected ?? {},
      out.clock.unsafeCurrentTimeMillis()
    )
    return error._tag === "ThrottledError"
      ? Effect.zipRight(
        logged(out, Effect.logWarning("the vault throttled a request"), {
          [SpanKeys.retryAfter]: Option.match(error.retryAfter, { onNone: () => "none", onSome: Duration.toMillis })
        }),
        Effect.fail(error)
      )
      : Effect.fail(error)
  }

  // A log line of a request, under the operation's span (trace and span ids for the log record), whether or not the
  // operation made it current.
  const logged = (out: Outgoing, log: Effect.Effect<void>, extra?: Record<string, unknown>): Effect.Effect<void> => {
    const annotated = Effect.annotateLogs(log, logAnnotations(out, extra))
    return out.span === undefined ? annotated : Effect.withParentSpan(annotated, out.span)
  }

  // What every log line of a request carries: never a name, a value or a token.
  const logAnnotations = (out: Outgoing, extra?: Record<string, unknown>): Record<string, unknown> => ({
    "keyvault.operation": out.request.operation,
    "keyvault.vault_host": config.vaultHost,
    [SpanKeys.clientRequestId]: out.clientRequestId ?? "none",
    [SpanKeys.serviceRequestId]: out.serviceRequestId ?? "none",
    [SpanKeys.status]: out.status ?? "none",
    "keyvault.attempts": out.exchanges,
    ...extra
  })

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
        // Made only once an attempt has failed. A failed attempt notes when it failed, so the retry that follows
        // knows how long it waited.
        const failed = (error: SendError): SendError => {
          out.failedAt = out.clock.unsafeCurrentTimeMillis()
          out.failure = error
          return error
        }
        // A retry: counted, logged, and its wait (measured, so it is what was honoured) given to its first exchange.
        const again = Effect.suspend(() => {
          const waited = out.clock.unsafeCurrentTimeMillis() - out.failedAt
          const after = out.failure?._tag ?? "unknown"
          out.waited = waited
          KeyVaultMetrics.httpRetries.unsafeUpdate(1, retryLabels(out.labels, after))
          if (after === "ThrottledError") KeyVaultMetrics.retryAfter.unsafeUpdate(waited, hostLabels)
          return Effect.zipRight(
            logged(out, Effect.logWarning("retrying a vault request"), {
              [SpanKeys.retryDelay]: waited,
              [SpanKeys.errorType]: after
            }),
            Effect.mapError(once, failed)
          )
        })
        failed(first)
        let replayed = false
        return Effect.retry(
          Effect.suspend(() => {
            if (replayed) return again
            replayed = true
            return Effect.fail(first)
          }),
          schedule
        )
      })
    }
    return breaker === undefined ? retried((attempt) => attempt) : breaker.request(retried, out.span)
  }

  const noParams: ReadonlyArray<readonly [string, string]> = [apiVersion]
  const paramsOf = (query: TransportRequest["query"]): ReadonlyArray<readonly [string, string]> => {
    if (query === undefined) return noParams
    const params: Array<readonly [string, string]> = [apiVersion]
    for (const key in query) params.push([key, query[key]!])
    return params
  }

  // Label arrays made once per operation (Effect caches a metric's hook per label array).
  const hostLabels = KeyVaultMetrics.labels({ vault_host: config.vaultHost })
  const operationLabels = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
  const labelsOf = (operation: string): ReadonlyArray<MetricLabel.MetricLabel> => {
    let labels = operationLabels.get(operation)
    if (labels === undefined) {
      labels = KeyVaultMetrics.labels({ operation, vault_host: config.vaultHost })
      operationLabels.set(operation, labels)
    }
    return labels
  }
  const retryLabelSets = new WeakMap<ReadonlyArray<MetricLabel.MetricLabel>, Map<string, ReadonlyArray<MetricLabel.MetricLabel>>>()
  const retryLabels = (base: ReadonlyArray<MetricLabel.MetricLabel>, errorType: string) => {
    let byType = retryLabelSets.get(base)
    if (byType === undefined) retryLabelSets.set(base, byType = new Map())
    let labels = byType.get(errorType)
    if (labels === undefined) {
      labels = [...base, ...KeyVaultMetrics.labels({ error_type: errorType })]
      byType.set(errorType, labels)
    }
    return labels
  }

  const sendAny = (request: TransportRequest, absoluteUrl?: string): Effect.Effect<TransportResponse, SendError> =>
    Effect.withFiberRuntime((fiber) => {
      // The operation's span, as the request names it, else the current one, only with an application tracer: with
      // Effect's built-in one, nothing below pays for spans.
      const span = request.span ?? currentSpanOf(fiber)
      if (span !== undefined && span.sampled) span.attribute(SpanKeys.method, request.method)
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      const sent = sendOutgoing(request, absoluteUrl, span, clock)
      // The per-request debug line, built only when debug logging is on.
      return LogLevel.greaterThan(fiber.getFiberRef(FiberRef.currentMinimumLogLevel), LogLevel.Debug)
        ? sent.effect
        : Effect.onExit(sent.effect, (exit) =>
          sent.out === undefined ? Effect.void : logged(
            sent.out,
            exit._tag === "Success"
              ? Effect.logDebug("vault request completed")
              : Effect.logDebug("vault request failed"),
            exit._tag === "Failure" && exit.cause._tag === "Fail" ? { [SpanKeys.errorType]: exit.cause.error._tag } : {}
          ))
    })

  const outgoing = (
    request: TransportRequest,
    url: string,
    urlParams: ReadonlyArray<readonly [string, string]>,
    bodyText: string | undefined,
    span: Tracer.Span | undefined,
    clock: Clock.Clock
  ): Outgoing => ({
    request,
    url,
    urlParams,
    bodyText,
    span,
    clock,
    labels: labelsOf(request.operation),
    exchanges: 0,
    failedAt: 0,
    failure: undefined,
    waited: -1,
    clientRequestId: undefined,
    serviceRequestId: undefined,
    status: undefined
  })

  const sendOutgoing = (
    request: TransportRequest,
    absoluteUrl: string | undefined,
    span: Tracer.Span | undefined,
    clock: Clock.Clock
  ): { readonly effect: Effect.Effect<TransportResponse, SendError>; readonly out?: Outgoing } => {
    const bodyText = request.body === undefined ? undefined : JSON.stringify(request.body)
    if (absoluteUrl === undefined) {
      // The path's segments are already encoded and the origin was checked when the client was configured: a string
      // join, with no URL parsed and printed again here (the HttpClient parses it once).
      const out = outgoing(request, config.vaultUrl + request.path, paramsOf(request.query), bodyText, span, clock)
      return { effect: resilient(out), out }
    }
    // Never follow a link off the vault's origin: the token would go with it.
    let parsed: URL
    try {
      parsed = new URL(absoluteUrl)
    } catch {
      return { effect: Effect.fail(new DecodeError({ operation: request.operation, message: "nextLink is not a URL" })) }
    }
    if (parsed.origin !== config.vaultUrl) {
      return {
        effect: Effect.fail(
          new DecodeError({ operation: request.operation, message: `nextLink leaves the vault origin ${config.vaultUrl}` })
        )
      }
    }
    const urlParams: Array<readonly [string, string]> = []
    for (const [key, value] of parsed.searchParams) urlParams.push([key, value])
    if (!parsed.searchParams.has("api-version")) urlParams.push(apiVersion)
    parsed.search = ""
    parsed.hash = ""
    const out = outgoing(request, parsed.toString(), urlParams, bodyText, span, clock)
    return { effect: resilient(out), out }
  }

  // `fromResponse` only produces NotFound / Conflict when `expected` asks for them, which is what ErrorsOf states.
  const send = sendAny as Context.Tag.Service<KeyVaultTransport>["send"]
  return { config, send }
})

// The fiber's current span, only with an application tracer that is on.
const currentSpanOf = (fiber: {
  readonly currentTracer: Tracer.Tracer
  readonly currentSpan: Tracer.AnySpan | undefined
  getFiberRef<A>(fiberRef: FiberRef.FiberRef<A>): A
}): Tracer.Span | undefined => {
  if (fiber.currentTracer === QuietTracer.nativeTracer || !fiber.getFiberRef(FiberRef.currentTracerEnabled)) {
    return undefined
  }
  const current = fiber.currentSpan
  return current?._tag === "Span" ? current : undefined
}

// `Effect.timeoutFail` races two forked fibers, then joins the winner's fiber refs and waits for the loser's
// interruption: about half of an uncached in-process get (1,200 -> 2,700 ops/s without it). Here the exchange runs in
// one fiber of its own, started at once on the caller's context and fiber refs (as `Runtime.runFork` starts a fiber:
// synchronously, until its first asynchronous step), so an exchange that completes without waiting (an in-process
// vault, a canned answer) returns its exit with no timer, no scheduler hop and no suspension of the caller: that was
// about a quarter of an uncached in-process get. Only an exchange still running is raced against the timer, by
// observers: only a timed-out exchange is waited for while it is interrupted (its abort must happen before the caller
// moves on). With the live clock the timer is a plain `setTimeout` rather than a second fiber sleeping on the clock;
// with any other clock (`TestClock`) it is a fiber sleeping on that clock, so tests drive it.
const withTimeout = <A, E, E2>(
  self: Effect.Effect<A, E>,
  duration: Duration.Duration,
  onTimeout: () => E2,
  span: Tracer.Span | undefined
): Effect.Effect<A, E | E2> => {
  const exchange = Effect.interruptible(self)
  // Uninterruptible from the start of the exchange to the moment the caller waits on it, so an exchange is never
  // left running unobserved; the wait is as interruptible as the caller was (`restore`): a caller that cannot be
  // interrupted (a finalizer, an `uninterruptible` region) waits for its answer.
  return Effect.uninterruptibleMask((restore) => Effect.withFiberRuntime<A, E | E2>((caller, status) => {
    // Inside an operation traced through an application tracer, the exchange gets that tracer back and no second
    // span of the HttpClient's (see `QuietTracer.exchangeFiberRefs`).
    const fiber = Runtime.runFork(
      Runtime.make({
        context: QuietTracer.exchangeContext(caller.currentContext, caller.currentTracer, span),
        runtimeFlags: status.runtimeFlags,
        fiberRefs: QuietTracer.exchangeFiberRefs(caller.getFiberRefs(), caller.currentDefaultServices, caller.id())
      }),
      exchange
    )
    const done = fiber.unsafePoll()
    if (done !== null) return done
    const clock = Context.get(caller.currentDefaultServices, Clock.Clock)
    return restore(Effect.async<A, E | E2>((resume) => {
      let settled = false
      const expire = (): void => {
        if (settled) return
        settled = true
        fiber.removeObserver(onExchange)
        resume(Effect.zipRight(Fiber.interrupt(fiber), Effect.fail(onTimeout())))
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
      fiber.addObserver(onExchange)
      return Effect.suspend(() => {
        settled = true
        fiber.removeObserver(onExchange)
        disarm()
        return Fiber.interrupt(fiber)
      })
    }))
  }))
}

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
    // Only on failure: the request id of the answer that did not decode.
    const failure = (message: string) =>
      Effect.fail(new DecodeError({ operation, message, ...withRequestId(requestIdOf(response.headers)) }))
    try {
      json = JSON.parse(response.text)
    } catch {
      return failure("the vault's response is not JSON")
    }
    // Before the schema sees it: decoding a recursive schema and formatting a parse error both recurse once per
    // level, and a few kilobytes of `[` would overflow the stack into an untyped defect.
    if (exceedsJsonDepth(json)) {
      return failure(`the vault's response nests deeper than ${MAX_JSON_DEPTH} levels`)
    }
    return Either.match(decodeUnknown(json), {
      onRight: Effect.succeed,
      onLeft: (error) => {
        const paths = ParseResult.ArrayFormatter.formatErrorSync(error)
          .map((issue) => `${issue._tag} at ${issue.path.length === 0 ? "<root>" : issue.path.join(".")}`)
        return failure(`the vault's response does not match the schema: ${paths.join("; ")}`)
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
