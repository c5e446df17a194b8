/**
 * One policy object for retries, the circuit breaker and the rate limiter, with defaults that follow Azure's guidance.
 * Each part can be switched off with `false`.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import type { KeyVaultError } from "../errors/KeyVaultError.js"
import { type KeyClass, keyClasses, type KeyClassLimits, serviceKeyLimits } from "./RateLimiter.js"
import type { RetryContext } from "./RetryPolicy.js"

/**
 * Retry settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryOptions {
  /** Retries after the first attempt. Default 5 (1, 2, 4, 8, 16 s without a Retry-After). */
  readonly maxRetries?: number | undefined
  /** First backoff delay; doubles per retry. Default 1 s. */
  readonly baseDelay?: Duration.DurationInput | undefined
  /** Longest backoff delay. Default 30 s. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /**
   * Longest Retry-After the client honours. A 429 asking for more fails at once with its `ThrottledError` (the
   * caller decides) rather than waiting longer than this. Default 60 s.
   */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /** Backoff delays are multiplied by a random factor in [1 - jitter, 1 + jitter]. Default 0.2. */
  readonly jitter?: number | undefined
  /**
   * Replaces the retry schedule. Called with `idempotent` true and false (the transport may build each once per
   * client), it returns a schedule fed each request's errors; it is given the default `policy` built from the
   * settings above, so it can extend it (`Schedule.intersect(policy, Schedule.upTo("20 seconds"))`) or ignore it.
   * Default: `RetryPolicy.policy`.
   */
  readonly schedule?: ((context: RetryContext) => Schedule.Schedule<unknown, KeyVaultError>) | undefined
}

/**
 * Circuit breaker settings (one breaker per vault host).
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitBreakerOptions {
  /** Consecutive transient failures (not 429s) that open the breaker. Default 5. */
  readonly failureThreshold?: number | undefined
  /** How long the breaker stays open before one probe may go through. Default 30 s. */
  readonly resetTimeout?: Duration.DurationInput | undefined
}

/**
 * Rate limiter settings (one limiter per vault host): requests are held back so that no 10-second window carries
 * more than `share` of the vault's limits.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimiterOptions {
  /** Fraction of the service limits to use, 0 < share <= 1. Default 0.8. */
  readonly share?: number | undefined
  /** The service's limit on all operations per 10 s per vault. Default 4,000. */
  readonly operationsPer10s?: number | undefined
  /** The service's limit on secret writes per 10 s per vault. Default 300. */
  readonly writesPer10s?: number | undefined
  /**
   * The service's limits per key class (key type and size or curve) per 10 s per vault, replacing entries of
   * `RateLimiter.serviceKeyLimits` (Azure's published figures). `share` applies to these too.
   */
  readonly keyLimits?: Partial<Record<KeyClass, Partial<KeyClassLimits>>> | undefined
}

/**
 * The whole policy.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResilienceOptions {
  readonly retry?: RetryOptions | false | undefined
  readonly circuitBreaker?: CircuitBreakerOptions | false | undefined
  readonly rateLimiter?: RateLimiterOptions | false | undefined
}

/**
 * The resolved policy, in milliseconds; `undefined` parts are off.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolvedResilience {
  readonly retry:
    | {
      readonly maxRetries: number
      readonly baseDelayMillis: number
      readonly maxDelayMillis: number
      readonly maxRetryAfterMillis: number
      readonly jitter: number
      readonly schedule?: ((context: RetryContext) => Schedule.Schedule<unknown, KeyVaultError>) | undefined
    }
    | undefined
  readonly circuitBreaker: { readonly failureThreshold: number; readonly resetTimeoutMillis: number } | undefined
  readonly rateLimiter:
    | {
      readonly operationsPer10s: number
      readonly writesPer10s: number
      /** The client's budget per key class: the service's figure times `share`. */
      readonly keys: Readonly<Record<KeyClass, KeyClassLimits>>
    }
    | undefined
}

const millis = (field: string, input: Duration.DurationInput): Either.Either<number, string> =>
  Option.match(Duration.decodeUnknown(input), {
    onNone: () => Either.left(`${field} is not a duration`),
    onSome: (d) =>
      Duration.isFinite(d) && Duration.toMillis(d) >= 0
        ? Either.right(Duration.toMillis(d))
        : Either.left(`${field} must be a finite duration`)
  })

const integer = (field: string, input: number, min: number): Either.Either<number, string> =>
  Number.isInteger(input) && input >= min ? Either.right(input) : Either.left(`${field} must be an integer >= ${min}`)

// The client's budget: its share of the service's figure, never less than one request per window.
const scaled = (share: number, limit: number): number => Math.max(1, Math.floor(share * limit))

const resolveKeyLimits = (
  share: number,
  overrides: Partial<Record<KeyClass, Partial<KeyClassLimits>>>
): Either.Either<Record<KeyClass, KeyClassLimits>, string> =>
  Either.gen(function*() {
    const out = {} as Record<KeyClass, KeyClassLimits>
    for (const name of Object.keys(overrides)) {
      if (!(keyClasses as ReadonlyArray<string>).includes(name)) {
        return yield* Either.left(`rateLimiter.keyLimits has an unknown key class ${JSON.stringify(name)}`)
      }
    }
    for (const keyClass of keyClasses) {
      const service = serviceKeyLimits[keyClass]
      const override = overrides[keyClass]
      out[keyClass] = {
        create: scaled(share, yield* integer(`rateLimiter.keyLimits.${keyClass}.create`, override?.create ?? service.create, 1)),
        other: scaled(share, yield* integer(`rateLimiter.keyLimits.${keyClass}.other`, override?.other ?? service.other, 1))
      }
    }
    return out
  })

/**
 * Checks and normalises the policy.
 *
 * @since 0.1.0
 * @category config
 */
export const resolve = (options: ResilienceOptions = {}): Either.Either<ResolvedResilience, string> =>
  Either.gen(function*() {
    const retry = options.retry === false ? undefined : options.retry ?? {}
    const breaker = options.circuitBreaker === false ? undefined : options.circuitBreaker ?? {}
    const limiter = options.rateLimiter === false ? undefined : options.rateLimiter ?? {}
    const jitter = retry?.jitter ?? 0.2
    if (!(jitter >= 0 && jitter < 1)) return yield* Either.left("retry.jitter must lie in [0, 1)")
    const share = limiter?.share ?? 0.8
    if (!(share > 0 && share <= 1)) return yield* Either.left("rateLimiter.share must lie in (0, 1]")
    return {
      retry: retry === undefined ? undefined : {
        maxRetries: yield* integer("retry.maxRetries", retry.maxRetries ?? 5, 0),
        baseDelayMillis: yield* millis("retry.baseDelay", retry.baseDelay ?? "1 second"),
        maxDelayMillis: yield* millis("retry.maxDelay", retry.maxDelay ?? "30 seconds"),
        maxRetryAfterMillis: yield* millis("retry.maxRetryAfter", retry.maxRetryAfter ?? "60 seconds"),
        jitter,
        ...(retry.schedule === undefined ? {} : { schedule: retry.schedule })
      },
      circuitBreaker: breaker === undefined ? undefined : {
        failureThreshold: yield* integer("circuitBreaker.failureThreshold", breaker.failureThreshold ?? 5, 1),
        resetTimeoutMillis: yield* millis("circuitBreaker.resetTimeout", breaker.resetTimeout ?? "30 seconds")
      },
      rateLimiter: limiter === undefined ? undefined : {
        operationsPer10s: scaled(share, yield* integer("rateLimiter.operationsPer10s", limiter.operationsPer10s ?? 4000, 1)),
        writesPer10s: scaled(share, yield* integer("rateLimiter.writesPer10s", limiter.writesPer10s ?? 300, 1)),
        keys: yield* resolveKeyLimits(share, limiter.keyLimits ?? {})
      }
    }
  })
