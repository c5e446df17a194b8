/**
 * Throttling mode: the per-vault limits of the real service, counted with the Effect `Clock`.
 *
 * The service publishes limits "per vault per region per 10 seconds" and says that requests answered 429 do not count
 * towards them. It does not document the window type; field reports describe a counter that resets 10 s after the
 * first transaction of a window, so this is a **fixed window per bucket that opens with the first counted request**
 * (not a sliding log). Buckets, with the published defaults (software RSA-2048 / EC keys):
 *
 * | bucket | operations | default |
 * |---|---|---|
 * | `secretCreate` | `setSecret` (the service's "Secret CREATE") | 300 |
 * | `secretOther` | every other secret, vault and unknown request | 4,000 |
 * | `keyCreate` | `createKey`, `rotateKey` (a rotation creates a key) | 20 |
 * | `keyOther` | every other key operation, crypto and `rng` included | 4,000 |
 *
 * The service weights key operations by key type and size (an RSA-4096 GET costs 8); every request costs 1 here.
 *
 * A throttle can be switched off and on and retuned at runtime (`update`, the admin API's throttle switch).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { Classified } from "../journal/Operation.js"
import type { EmulatorResponse } from "../http/Protocol.js"
import * as Responses from "../http/Responses.js"

/**
 * Operations allowed per window, per bucket.
 *
 * @since 0.1.0
 * @category models
 */
export interface ThrottleLimits {
  readonly secretCreate: number
  readonly secretOther: number
  readonly keyCreate: number
  readonly keyOther: number
}

/**
 * A throttling bucket.
 *
 * @since 0.1.0
 * @category models
 */
export type ThrottleBucket = keyof ThrottleLimits

/**
 * The service's published limits for a standard vault with software keys.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_LIMITS: ThrottleLimits = {
  secretCreate: 300,
  secretOther: 4_000,
  keyCreate: 20,
  keyOther: 4_000
}

/**
 * The service's window.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_WINDOW_MILLIS = 10_000

/**
 * The message of the service's 429, verbatim.
 *
 * @since 0.1.0
 * @category constants
 */
export const THROTTLED_MESSAGE =
  "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached"

/**
 * Throttling settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface ThrottleOptions {
  /** Overrides for some or all buckets (whole numbers >= 0). */
  readonly limits?: Partial<ThrottleLimits> | undefined
  /** Window length; default 10,000 ms. */
  readonly windowMillis?: number | undefined
  /**
   * Send `Retry-After` (whole seconds until the window resets, at least 1) with the 429. Default false: the real 429
   * often has none, and clients must back off on their own.
   */
  readonly retryAfter?: boolean | undefined
}

/**
 * A throttle's current settings, as the admin API reports them.
 *
 * @since 0.1.0
 * @category models
 */
export interface ThrottleSettings {
  readonly enabled: boolean
  readonly limits: ThrottleLimits
  readonly windowMillis: number
  readonly retryAfter: boolean
}

/**
 * A change of settings at runtime: only the fields given change (`limits` per bucket).
 *
 * @since 0.1.0
 * @category models
 */
export interface ThrottleUpdate {
  readonly enabled?: boolean | undefined
  readonly limits?: Partial<ThrottleLimits> | undefined
  readonly windowMillis?: number | undefined
  readonly retryAfter?: boolean | undefined
}

/**
 * Settings that do not validate (a negative or fractional limit, a window under 1 ms). The message names the field.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidThrottleSettings extends Data.TaggedError("InvalidThrottleSettings")<{ readonly message: string }> {}

/**
 * The throttle of one vault. It can be switched off and on and retuned while the emulator runs; the fields below
 * always show the current settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Throttle {
  readonly limits: ThrottleLimits
  readonly windowMillis: number
  readonly retryAfter: boolean
  /** Whether it counts and refuses requests now; a disabled throttle lets everything through. */
  readonly enabled: boolean
  /** Counts the request, or answers 429 without counting it (as the service does). */
  readonly check: (request: Classified) => Effect.Effect<Option.Option<EmulatorResponse>>
  /** Forgets every window. */
  readonly reset: Effect.Effect<void>
  /** The current settings. */
  readonly settings: Effect.Effect<ThrottleSettings>
  /** Changes the settings (all or nothing) and forgets every window; answers the new settings. */
  readonly update: (change: ThrottleUpdate) => Effect.Effect<ThrottleSettings, InvalidThrottleSettings>
}

/**
 * Which bucket an operation counts against.
 *
 * @since 0.1.0
 * @category utils
 */
export const bucketOf = (request: Classified): ThrottleBucket => {
  if (request.family === "key") {
    return request.operation === "createKey" || request.operation === "rotateKey" ? "keyCreate" : "keyOther"
  }
  return request.operation === "setSecret" ? "secretCreate" : "secretOther"
}

/**
 * The service's 429 body, with `Retry-After` when `retryAfterSeconds` is given.
 *
 * @since 0.1.0
 * @category constructors
 */
export const throttledResponse = (retryAfterSeconds?: number): EmulatorResponse =>
  Responses.error(
    429,
    "Throttled",
    THROTTLED_MESSAGE,
    undefined,
    retryAfterSeconds === undefined ? {} : { "retry-after": String(retryAfterSeconds) }
  )

interface Window {
  start: number
  count: number
}

/**
 * A throttle, enabled unless `enabled: false`. Limits and window must be whole numbers (limits >= 0, window >= 1);
 * anything else is a programming error and dies.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: ThrottleOptions & {
    readonly enabled?: boolean | undefined
    /** Told of every change of the settings (`update`), once it is in force. */
    readonly onChange?: ((settings: ThrottleSettings) => void) | undefined
  } = {}
): Effect.Effect<Throttle> =>
  Effect.suspend(() => {
    const initial = settingsOf(
      { enabled: true, limits: DEFAULT_LIMITS, windowMillis: DEFAULT_WINDOW_MILLIS, retryAfter: false },
      options
    )
    if (Either.isLeft(initial)) return Effect.dieMessage(initial.left.message)
    let current = initial.right
    const windows = new Map<ThrottleBucket, Window>()

    const checkAt = (request: Classified, now: number): Option.Option<EmulatorResponse> => {
      if (!current.enabled) return Option.none()
      const { limits, windowMillis } = current
      const bucket = bucketOf(request)
      let window = windows.get(bucket)
      if (window === undefined || now >= window.start + windowMillis) {
        window = { start: now, count: 0 }
        windows.set(bucket, window)
      }
      if (window.count >= limits[bucket]) {
        const seconds = Math.max(1, Math.ceil((window.start + windowMillis - now) / 1000))
        return Option.some(throttledResponse(current.retryAfter ? seconds : undefined))
      }
      window.count += 1
      return Option.none()
    }

    const throttle: Throttle = {
      get limits() {
        return current.limits
      },
      get windowMillis() {
        return current.windowMillis
      },
      get retryAfter() {
        return current.retryAfter
      },
      get enabled() {
        return current.enabled
      },
      // The window check and the increment are one synchronous step: concurrent requests cannot both take the last slot.
      // While it is off, a request costs no clock read and no window bookkeeping (most vaults never switch it on).
      check: (request) =>
        current.enabled
          ? Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => checkAt(request, now)))
          : Effect.succeedNone,
      reset: Effect.sync(() => windows.clear()),
      settings: Effect.sync(() => current),
      update: (change) =>
        Effect.suspend(() =>
          Either.match(settingsOf(current, change), {
            onLeft: (error) => Effect.fail(error),
            onRight: (next) =>
              Effect.sync(() => {
                current = next
                windows.clear()
                options.onChange?.(next)
                return next
              })
          })
        )
    }
    return Effect.succeed(throttle)
  })

const settingsOf = (
  base: ThrottleSettings,
  change: ThrottleUpdate
): Either.Either<ThrottleSettings, InvalidThrottleSettings> => {
  const limits: ThrottleLimits = { ...base.limits, ...definedOnly(change.limits ?? {}) }
  const windowMillis = change.windowMillis ?? base.windowMillis
  for (const [bucket, limit] of Object.entries(limits)) {
    if (!(bucket in DEFAULT_LIMITS)) {
      return Either.left(new InvalidThrottleSettings({ message: `unknown throttle bucket ${JSON.stringify(bucket)}` }))
    }
    if (!Number.isSafeInteger(limit) || limit < 0) {
      return Either.left(
        new InvalidThrottleSettings({ message: `throttle limit ${bucket} must be a whole number >= 0, got ${limit}` })
      )
    }
  }
  if (!Number.isSafeInteger(windowMillis) || windowMillis < 1) {
    return Either.left(
      new InvalidThrottleSettings({
        message: `throttle window must be a whole number of milliseconds >= 1, got ${windowMillis}`
      })
    )
  }
  return Either.right({
    enabled: change.enabled ?? base.enabled,
    limits,
    windowMillis,
    retryAfter: change.retryAfter ?? base.retryAfter
  })
}

const definedOnly = (limits: Partial<ThrottleLimits>): Partial<ThrottleLimits> => {
  const out: { -readonly [K in ThrottleBucket]?: number } = {}
  for (const [bucket, limit] of Object.entries(limits) as Array<[ThrottleBucket, number | undefined]>) {
    if (limit !== undefined) out[bucket] = limit
  }
  return out
}
