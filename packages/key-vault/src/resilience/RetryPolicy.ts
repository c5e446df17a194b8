/**
 * When and how long to wait before trying a request again, as a `Schedule` over the request's errors, composed from
 * parts a user can reuse or replace (`RetryOptions.schedule`).
 *
 * - 429: wait what the service asked for (`Retry-After` seconds or date, `retry-after-ms`, `x-ms-retry-after-ms`),
 *   exactly, never earlier; a request asking for longer than `maxRetryAfter` is not retried (its `ThrottledError`
 *   reaches the caller, who may decide). Without a header (the real service often sends none): 1, 2, 4, 8, 16 s with
 *   jitter. A 429 means the request was not processed, so every operation may retry it.
 * - 5xx except 501/505, 408, timeouts and network errors: exponential backoff with jitter, capped at `maxDelay`,
 *   only for requests that are safe to repeat (`idempotent`): the first attempt may have been applied. TLS and DNS
 *   failures never: waiting does not heal them.
 * - Nothing else is retried: 401 is handled by the challenge flow, and 400/403/404/409 will not change.
 *
 * The parts are matched by tag and type id (`KeyVaultError.isThrottledError`, ...), never by `instanceof`, so errors
 * made by another installed copy of the package are classified alike.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import type * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import { isThrottledError, isUnavailable, type KeyVaultError } from "../errors/KeyVaultError.js"
import type { ResolvedResilience } from "./ResilienceConfig.js"

/**
 * The retry part of the policy.
 *
 * @since 0.1.0
 * @category models
 */
export type RetrySettings = NonNullable<ResolvedResilience["retry"]>

/**
 * What a replacement schedule (`RetryOptions.schedule`) is given for one request.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryContext {
  /** Whether the request may be repeated after an ambiguous failure (it may already have been applied). */
  readonly idempotent: boolean
  /** The resolved settings (defaults filled in). */
  readonly settings: RetrySettings
  /** The default policy for this request, to extend (`Schedule.intersect`, `Schedule.union`) rather than rebuild. */
  readonly policy: Schedule.Schedule<unknown, KeyVaultError>
}

/**
 * The delay a 429 asks for, when it names one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const retryAfterOf = (error: unknown): Option.Option<Duration.Duration> =>
  isThrottledError(error) ? error.retryAfter : Option.none()

/**
 * A 429 that names a delay no longer than `maxRetryAfterMillis`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const isThrottledWithin = (maxRetryAfterMillis: number): Predicate.Predicate<unknown> => (error) =>
  Option.match(retryAfterOf(error), {
    onNone: () => false,
    onSome: (asked) => Duration.toMillis(asked) <= maxRetryAfterMillis
  })

/**
 * A 429 without a usable Retry-After.
 *
 * @since 0.1.0
 * @category constructors
 */
export const isThrottledWithoutRetryAfter: Predicate.Predicate<unknown> = (error) =>
  isThrottledError(error) && Option.isNone(error.retryAfter)

/**
 * A failure of the vault that may pass (5xx except 501/505, 408, timeouts, network errors; not TLS or DNS), for a
 * request that is safe to repeat.
 *
 * @since 0.1.0
 * @category constructors
 */
export const isRetryableFailure = (idempotent: boolean): Predicate.Predicate<unknown> => (error) =>
  idempotent && isUnavailable(error)

/**
 * `base`, `2·base`, `4·base`, ... each capped at `cap` and then multiplied by a random factor in
 * [1 − jitter, 1 + jitter] (`Schedule.jitteredWith`). The cap applies before the jitter, as Azure's guidance states it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const exponentialBackoff = (options: {
  readonly base: Duration.DurationInput
  readonly cap: Duration.DurationInput
  readonly jitter: number
}): Schedule.Schedule<Duration.Duration> => {
  const cap = Duration.decode(options.cap)
  return Schedule.exponential(options.base, 2).pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, cap)),
    Schedule.jitteredWith({ min: 1 - options.jitter, max: 1 + options.jitter })
  )
}

/**
 * Recurs on a 429 that names a delay within `maxRetryAfterMillis`, waiting exactly that delay (no jitter: the
 * service said when it will take the request, and an earlier attempt would be throttled again).
 *
 * @since 0.1.0
 * @category constructors
 */
export const honourRetryAfter = (maxRetryAfterMillis: number): Schedule.Schedule<unknown, unknown> =>
  Schedule.identity<unknown>().pipe(
    Schedule.whileInput(isThrottledWithin(maxRetryAfterMillis)),
    Schedule.addDelay((error) => Option.getOrElse(retryAfterOf(error), () => Duration.zero))
  )

/**
 * The default policy for one request, composed from the parts above: Retry-After when the 429 names one, backoff
 * capped at `maxRetryAfter` for a 429 without one, backoff capped at `maxDelay` for an idempotent request's
 * transient failure; at most `maxRetries` retries. Any other error (or a 429 asking too much) ends it at once.
 *
 * The backoff counts every retry of the request, whatever error caused it: the n-th retry waits about base·2ⁿ.
 *
 * @since 0.1.0
 * @category constructors
 */
export const policy = (settings: RetrySettings, idempotent: boolean): Schedule.Schedule<unknown, KeyVaultError> => {
  const backoff = (capMillis: number) =>
    exponentialBackoff({ base: settings.baseDelayMillis, cap: capMillis, jitter: settings.jitter })
  // The predicates exclude one another, so at most one branch continues at each step and `union` takes its delay.
  return honourRetryAfter(settings.maxRetryAfterMillis).pipe(
    Schedule.union(backoff(settings.maxRetryAfterMillis).pipe(Schedule.whileInput(isThrottledWithoutRetryAfter))),
    Schedule.union(backoff(settings.maxDelayMillis).pipe(Schedule.whileInput(isRetryableFailure(idempotent)))),
    Schedule.intersect(Schedule.recurs(settings.maxRetries))
  )
}

/**
 * The schedule a request retries with: the user's (`RetryOptions.schedule`) when given, else `policy`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const schedule = (settings: RetrySettings, idempotent: boolean): Schedule.Schedule<unknown, unknown> => {
  const defaults = policy(settings, idempotent)
  // The schedule is only ever fed the request's own errors, all of them `KeyVaultError`s.
  return (settings.schedule === undefined ? defaults : settings.schedule({ idempotent, settings, policy: defaults })) as Schedule.Schedule<
    unknown,
    unknown
  >
}

/**
 * The delay before retry number `retry` (0 for the first retry) after `error`, given a uniform random `r` in [0, 1);
 * `None` when the error must not be retried. The same decision as `policy`, as a pure function (for tests and
 * tooling that reason about delays without running a schedule).
 *
 * @since 0.1.0
 * @category constructors
 */
export const delayFor = (
  settings: RetrySettings,
  idempotent: boolean,
  error: unknown,
  retry: number,
  r: number
): Option.Option<number> => {
  if (retry >= settings.maxRetries) return Option.none()
  const backoff = (cap: number) =>
    Math.min(cap, settings.baseDelayMillis * 2 ** retry) * (1 - settings.jitter + 2 * settings.jitter * r)
  if (isThrottledWithin(settings.maxRetryAfterMillis)(error)) {
    return Option.map(retryAfterOf(error), Duration.toMillis)
  }
  if (isThrottledWithoutRetryAfter(error)) return Option.some(backoff(settings.maxRetryAfterMillis))
  return isRetryableFailure(idempotent)(error) ? Option.some(backoff(settings.maxDelayMillis)) : Option.none()
}
