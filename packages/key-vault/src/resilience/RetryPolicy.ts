/**
 * When and how long to wait before trying a request again, as a `Schedule` over the request's errors.
 *
 * - 429: wait what the service asked for (`Retry-After` seconds or date, `retry-after-ms`, `x-ms-retry-after-ms`),
 *   never earlier; a request asking for longer than `maxRetryAfter` is not retried (its `ThrottledError` reaches the
 *   caller, who may decide). Without a header (the real service often sends none): 1, 2, 4, 8, 16 s with jitter.
 *   A 429 means the request was not processed, so every operation may retry it.
 * - 5xx except 501/505, 408, timeouts and network errors: exponential backoff with jitter, capped at `maxDelay`,
 *   only for requests that are safe to repeat (`idempotent`): the first attempt may have been applied.
 * - Nothing else is retried: 401 is handled by the challenge flow, and 400/403/404/409 will not change.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { ServiceError, ThrottledError, TransportError } from "../errors/KeyVaultError.js"
import type { ResolvedResilience } from "./ResilienceConfig.js"

/**
 * The retry part of the policy.
 *
 * @since 0.1.0
 */
export type RetrySettings = NonNullable<ResolvedResilience["retry"]>

/**
 * The delay before retry number `retry` (0 for the first retry) after `error`, given a uniform random `r` in [0, 1);
 * `None` when the error must not be retried.
 *
 * @since 0.1.0
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
  if (error instanceof ThrottledError) {
    return Option.match(error.retryAfter, {
      onNone: () => Option.some(backoff(settings.maxRetryAfterMillis)),
      onSome: (asked) => {
        const millis = Duration.toMillis(asked)
        return millis <= settings.maxRetryAfterMillis ? Option.some(millis) : Option.none()
      }
    })
  }
  const transient = (error instanceof TransportError && error.reason !== "Tls" && error.reason !== "Dns") ||
    (error instanceof ServiceError && error.transient)
  return transient && idempotent ? Option.some(backoff(settings.maxDelayMillis)) : Option.none()
}

/**
 * The policy as a `Schedule` fed with the request's errors.
 *
 * @since 0.1.0
 */
export const schedule = (settings: RetrySettings, idempotent: boolean): Schedule.Schedule<unknown, unknown> => {
  // Each decision draws one random number and keeps the delay it chose, so the check and the wait agree.
  let chosen: Option.Option<number> = Option.none()
  return Schedule.identity<unknown>().pipe(
    Schedule.intersect(Schedule.count),
    Schedule.checkEffect((_, [error, retry]) =>
      Effect.map(Effect.randomWith((random) => random.next), (r) => {
        chosen = delayFor(settings, idempotent, error, retry, r)
        return Option.isSome(chosen)
      })
    ),
    Schedule.addDelay(() => Duration.millis(Option.getOrElse(chosen, () => 0)))
  )
}
