/**
 * A rate limiter for one vault host that keeps every sliding 10-second window under its limits: a request may go
 * once the grant `limit` places back in each of its windows is at least 10 s old. Every request counts against the
 * vault-wide window; secret writes and key traffic also against their own class's window, so a saturated class
 * (300 secret writes, 5 HSM key creates) holds back only its own class while the rest flows within the vault-wide
 * budget. Waiters queue in order per window; the time a request waits is measured; an interrupted waiter gives its
 * place back. Time from `Clock`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Instruments from "../telemetry/internal/Instruments.js"
import * as GrantLog from "./internal/grantLog.js"

const WINDOW_MILLIS = 10_000

/**
 * A key class as Azure's service limits distinguish them: key type (software or HSM), and RSA size or EC curve.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyClass =
  | "RSA-2048"
  | "RSA-3072"
  | "RSA-4096"
  | "EC-P-256"
  | "EC-P-384"
  | "EC-P-521"
  | "EC-P-256K"
  | "RSA-HSM-2048"
  | "RSA-HSM-3072"
  | "RSA-HSM-4096"
  | "EC-HSM-P-256"
  | "EC-HSM-P-384"
  | "EC-HSM-P-521"
  | "EC-HSM-P-256K"

/**
 * Every key class.
 *
 * @since 0.1.0
 * @category models
 */
export const keyClasses: ReadonlyArray<KeyClass> = [
  "RSA-2048",
  "RSA-3072",
  "RSA-4096",
  "EC-P-256",
  "EC-P-384",
  "EC-P-521",
  "EC-P-256K",
  "RSA-HSM-2048",
  "RSA-HSM-3072",
  "RSA-HSM-4096",
  "EC-HSM-P-256",
  "EC-HSM-P-384",
  "EC-HSM-P-521",
  "EC-HSM-P-256K"
]

/**
 * Transactions per 10 s per vault for one key class: key creation, and every other operation on such keys.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyClassLimits {
  readonly create: number
  readonly other: number
}

/**
 * Azure Key Vault's published service limits per vault per 10 s, by key class (Microsoft Learn, "Azure Key Vault
 * service limits", section "Key transactions (maximum transactions allowed in 10 seconds, per vault per region)").
 * Software keys: 20 creates for every size and curve; other transactions RSA 2,048-bit and EC 4,000, RSA 3,072-bit
 * 1,000, RSA 4,096-bit 500.
 * HSM keys: RSA 2,048 5 / 1,000; RSA 3,072 5 / 250; RSA 4,096 5 / 125; EC P-256, P-384, P-521, P-256K 5 / 1,000.
 * Beside these: all transactions 4,000 (`operationsPer10s`); secrets, managed storage account keys and vault
 * transactions 4,000 (the same figure, so the vault-wide window serves them); secret writes 300 (`writesPer10s`).
 * The figures were transcribed without access to the live page; `RateLimiterOptions.keyLimits` overrides any entry.
 *
 * @since 0.1.0
 * @category models
 */
export const serviceKeyLimits: Readonly<Record<KeyClass, KeyClassLimits>> = {
  "RSA-2048": { create: 20, other: 4000 },
  "RSA-3072": { create: 20, other: 1000 },
  "RSA-4096": { create: 20, other: 500 },
  "EC-P-256": { create: 20, other: 4000 },
  "EC-P-384": { create: 20, other: 4000 },
  "EC-P-521": { create: 20, other: 4000 },
  "EC-P-256K": { create: 20, other: 4000 },
  "RSA-HSM-2048": { create: 5, other: 1000 },
  "RSA-HSM-3072": { create: 5, other: 250 },
  "RSA-HSM-4096": { create: 5, other: 125 },
  "EC-HSM-P-256": { create: 5, other: 1000 },
  "EC-HSM-P-384": { create: 5, other: 1000 },
  "EC-HSM-P-521": { create: 5, other: 1000 },
  "EC-HSM-P-256K": { create: 5, other: 1000 }
}

/**
 * The key a request is about, as the wire names it: `kty` (`RSA`, `RSA-HSM`, `EC`, `EC-HSM`), `key_size` for RSA
 * (default 2,048, the service's default) and `crv` for EC (default `P-256`, likewise).
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyDescriptor {
  readonly kty: string
  readonly keySize?: number | undefined
  readonly curve?: string | undefined
}

/**
 * Key traffic: `KeyCreate` for creating a key (and rotating one, which creates a version), `KeyOperation` for every
 * other operation on a key of that class (get, update, import, cryptography, ...).
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyRateClass extends KeyDescriptor {
  readonly _tag: "KeyCreate" | "KeyOperation"
}

/**
 * Which limits a request counts against: every request counts against the vault-wide operations window; `write`
 * (secret writes) also against the secret-write window; a key class also against that class's create or other
 * window. A key type the limiter does not know (`oct-HSM`, an unknown size) counts vault-wide only.
 *
 * @since 0.1.0
 * @category models
 */
export type RateClass = "operation" | "write" | KeyRateClass

/**
 * The rate class of creating (or rotating) a key.
 *
 * @since 0.1.0
 * @category constructors
 */
export const keyCreate = (key: KeyDescriptor): KeyRateClass => ({ _tag: "KeyCreate", ...key })

/**
 * The rate class of any other operation on a key (cryptography, get, update, import, ...).
 *
 * @since 0.1.0
 * @category constructors
 */
export const keyOperation = (key: KeyDescriptor): KeyRateClass => ({ _tag: "KeyOperation", ...key })

/**
 * The key class of a key, when Azure's limits name it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const keyClassOf = (key: KeyDescriptor): Option.Option<KeyClass> => {
  const kty = key.kty.toUpperCase()
  if (kty === "RSA" || kty === "RSA-HSM") {
    const size = key.keySize ?? 2048
    if (size !== 2048 && size !== 3072 && size !== 4096) return Option.none()
    return Option.some(`${kty === "RSA" ? "RSA" : "RSA-HSM"}-${size}` as KeyClass)
  }
  if (kty === "EC" || kty === "EC-HSM") {
    const curve = (key.curve ?? "P-256").toUpperCase()
    if (curve !== "P-256" && curve !== "P-384" && curve !== "P-521" && curve !== "P-256K") return Option.none()
    return Option.some(`${kty === "EC" ? "EC" : "EC-HSM"}-${curve}` as KeyClass)
  }
  return Option.none()
}

/**
 * Time requests waited in the limiter, in milliseconds (histogram `keyvault.rate_limiter.wait.duration`, unit `ms`;
 * label `vault_host`). Requests that did not wait are recorded as 0.
 *
 * @since 0.1.0
 * @category metrics
 */
export const waitMetric: Metric.Metric.Histogram<number> = Instruments.histogram(
  "keyvault.rate_limiter.wait.duration",
  MetricBoundaries.exponential({ start: 1, factor: 4, count: 8 }),
  "Time requests waited in the client's rate limiter, in milliseconds (ms)",
  "ms"
)

/**
 * A limiter.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimiter {
  /** Waits until the request fits its windows, then records it in each. */
  readonly acquire: (rateClass: RateClass) => Effect.Effect<void>
}

/**
 * The limiter's budgets per 10 s (already the client's share of the service's figures). Without `keys`, key classes
 * get 80% of `serviceKeyLimits`, the default share.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  readonly operationsPer10s: number
  readonly writesPer10s: number
  readonly keys?: Readonly<Record<KeyClass, KeyClassLimits>> | undefined
}

// One sliding window: the times of its recent grants and a turn that makes its waiters queue in order. The grants
// are an immutable `GrantLog` in a `Ref`. Measured with `npx tsx` on Node 20 (500,000 grants into a full window of
// 3,200, third round): recording in the GrantLog 0.06 µs, as a `Ref.get` + `Ref.update` in Effect 1.8-3.5 µs per
// grant, against 0.9-1.3 µs for a mutable ring touched in `Effect.sync` (an immutable array copied per grant took
// 30 µs). At most 400 grants a second per vault (4,000 per 10 s), each on a request that takes milliseconds on the
// wire, the Ref costs about 0.1% of one core: not worth a plain mutable field.
interface Window {
  readonly limit: number
  readonly turn: Effect.Semaphore
  readonly grants: Ref.Ref<GrantLog.GrantLog>
}

const makeWindow = (limit: number): Effect.Effect<Window> =>
  Effect.map(
    Effect.zip(Effect.makeSemaphore(1), Ref.make(GrantLog.empty)),
    ([turn, grants]) => ({ limit, turn, grants })
  )

const waitFor = (window: Window): Effect.Effect<void> =>
  // Nested rather than `Effect.zip` (which runs `Effect.all`): every admitted request passes here.
  Effect.flatMap(Ref.get(window.grants), (grants) => Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const ready = GrantLog.readyAt(grants, window.limit, WINDOW_MILLIS, now)
    return ready > now ? Effect.sleep(ready - now) : Effect.void
  }))

const record = (window: Window, at: number): Effect.Effect<void> =>
  Ref.update(window.grants, (grants) => GrantLog.record(grants, window.limit, WINDOW_MILLIS, at))

// The default share (0.8) of Azure's figures, for callers that pass no key budgets.
const defaultKeyBudgets: Readonly<Record<KeyClass, KeyClassLimits>> = Object.fromEntries(
  keyClasses.map((keyClass) => [keyClass, {
    create: Math.max(1, Math.floor(0.8 * serviceKeyLimits[keyClass].create)),
    other: Math.max(1, Math.floor(0.8 * serviceKeyLimits[keyClass].other))
  }])
) as Record<KeyClass, KeyClassLimits>

/**
 * A limiter with the given budgets per 10 s.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (vaultHost: string, limits: Limits): Effect.Effect<RateLimiter> =>
  Effect.gen(function*() {
    const all = yield* makeWindow(limits.operationsPer10s)
    const writes = yield* makeWindow(limits.writesPer10s)
    const keyLimits = limits.keys ?? defaultKeyBudgets
    const creates = new Map<KeyClass, Window>()
    const others = new Map<KeyClass, Window>()
    // Built up front (28 small windows): the maps are never written after this, so they are plain constants.
    for (const keyClass of keyClasses) {
      creates.set(keyClass, yield* makeWindow(keyLimits[keyClass].create))
      others.set(keyClass, yield* makeWindow(keyLimits[keyClass].other))
    }
    const wait = Metric.tagged(waitMetric, "vault_host", vaultHost)

    const classWindow = (rateClass: RateClass): Window | undefined => {
      if (rateClass === "operation") return undefined
      if (rateClass === "write") return writes
      return Option.match(keyClassOf(rateClass), {
        onNone: () => undefined,
        onSome: (keyClass) => (rateClass._tag === "KeyCreate" ? creates : others).get(keyClass)
      })
    }

    // The vault-wide turn is taken last and held only while the vault-wide window fills: a request waiting for its
    // class's window holds that class's turn alone, so it never holds up requests of other classes. Interruption
    // while waiting releases the turns without recording a grant.
    const grant = (own: Window | undefined): Effect.Effect<void> =>
      all.turn.withPermits(1)(
        Effect.zipRight(
          waitFor(all),
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            own === undefined ? record(all, now) : Effect.zipRight(record(all, now), record(own, now)))
        )
      )

    const acquire = (rateClass: RateClass): Effect.Effect<void> => {
      const own = classWindow(rateClass)
      const admitted = own === undefined ? grant(undefined) : own.turn.withPermits(1)(Effect.zipRight(waitFor(own), grant(own)))
      return Effect.flatMap(Clock.currentTimeMillis, (start) =>
        Effect.zipRight(admitted, Effect.flatMap(Clock.currentTimeMillis, (end) => Metric.update(wait, end - start))))
    }
    return { acquire }
  })
