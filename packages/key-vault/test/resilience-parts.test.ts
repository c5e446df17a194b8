/**
 * The resilience parts on their own, on TestClock: the retry policy as a composed Schedule (and its replacement),
 * the breaker counting requests rather than attempts, the limiter's key classes, and classification of errors made
 * by another installed copy of the package.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as KeyVault from "../src/KeyVault.js"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { type KeyVaultError, ServiceError, ThrottledError, TransportError } from "../src/errors/KeyVaultError.js"
import * as CircuitBreaker from "../src/resilience/CircuitBreaker.js"
import * as RateLimiter from "../src/resilience/RateLimiter.js"
import * as ResilienceConfig from "../src/resilience/ResilienceConfig.js"
import * as RetryPolicy from "../src/resilience/RetryPolicy.js"
import { Secrets } from "../src/secrets/Secrets.js"

// What another installed copy of the package would build: its own classes, the same tags, the same type id.
const ForeignTypeId: unique symbol = Symbol.for("@effect-azure/key-vault/KeyVaultError")
class ForeignThrottledError extends Data.TaggedError("ThrottledError")<{
  readonly status: number
  readonly code: string
  readonly innerCode: string | undefined
  readonly message: string
  readonly requestId: string | undefined
  readonly retryAfter: Option.Option<Duration.Duration>
}> {
  get [ForeignTypeId](): typeof ForeignTypeId {
    return ForeignTypeId
  }
}
class ForeignServiceError extends Data.TaggedError("ServiceError")<{
  readonly status: number
  readonly code: string
  readonly innerCode: string | undefined
  readonly message: string
  readonly requestId: string | undefined
  readonly transient: boolean
}> {
  get [ForeignTypeId](): typeof ForeignTypeId {
    return ForeignTypeId
  }
}

// At run time a foreign error is fed to the policy as it would be in an application with two copies; its type is
// another copy's `KeyVaultError`, which TypeScript (rightly) does not equate with ours.
const asForeign = (error: ForeignThrottledError | ForeignServiceError): KeyVaultError => error as unknown as KeyVaultError

const fields = { code: "x", innerCode: undefined, message: "m", requestId: undefined }
const unavailable = () => new ServiceError({ ...fields, status: 503, transient: true })
const throttled = (retryAfter: Option.Option<Duration.Duration>) => new ThrottledError({ ...fields, status: 429, retryAfter })
const settings = Either.getOrThrow(ResilienceConfig.resolve()).retry!

/** An operation failing with `errorAt(i)` on attempt i (undefined: succeeds), recording each attempt's time. */
const scriptedAttempts = (errorAt: (attempt: number) => KeyVaultError | undefined) => {
  const times: Array<number> = []
  const attempt: Effect.Effect<string, KeyVaultError> = Effect.flatMap(Clock.currentTimeMillis, (now) => {
    times.push(now)
    const error = errorAt(times.length - 1)
    return error === undefined ? Effect.succeed("ok") : Effect.fail(error)
  })
  return { times, attempt }
}

const gaps = (times: ReadonlyArray<number>) => times.slice(1).map((t, i) => t - times[i]!)

/** Runs `effect` while the TestClock moves in small steps, so every wake-up lands at its own time. */
const drive = <A, E, R>(effect: Effect.Effect<A, E, R>, step: Duration.DurationInput = "100 millis", limit = 2000) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < limit; i++) {
      if (Option.isSome(yield* Fiber.poll(fiber))) break
      yield* TestClock.adjust(step)
    }
    return yield* Fiber.join(fiber)
  })

describe("RetryPolicy.policy (a Schedule composed from parts)", () => {
  it.effect("backs off 1, 2, 4, 8, 16 s (±20%) from a 5xx of an idempotent request, then gives up", () => {
    const { attempt, times } = scriptedAttempts(() => unavailable())
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.flip(Effect.retry(attempt, RetryPolicy.policy(settings, true))))
      yield* TestClock.adjust("60 seconds")
      expect((yield* Fiber.join(fiber))._tag).toBe("ServiceError")
      expect(times).toHaveLength(6)
      gaps(times).forEach((gap, i) => {
        expect(gap).toBeGreaterThanOrEqual(1000 * 2 ** i * 0.8)
        expect(gap).toBeLessThanOrEqual(1000 * 2 ** i * 1.2)
      })
    })
  })

  it.effect("never repeats a non-idempotent request after a 5xx, nor any request after a TLS or DNS failure", () =>
    Effect.gen(function*() {
      for (
        const [error, idempotent] of [
          [unavailable(), false],
          [new TransportError({ reason: "Tls", message: "m" }), true],
          [new TransportError({ reason: "Dns", message: "m" }), true]
        ] as const
      ) {
        const { attempt, times } = scriptedAttempts(() => error)
        yield* Effect.flip(Effect.retry(attempt, RetryPolicy.policy(settings, idempotent)))
        expect(times).toHaveLength(1)
      }
    }))

  it.effect("waits exactly the Retry-After a 429 asks for, even for a non-idempotent request, and fails at once above the cap", () =>
    Effect.gen(function*() {
      const asked = scriptedAttempts((i) => i === 0 ? throttled(Option.some(Duration.millis(2345))) : undefined)
      const fiber = yield* Effect.fork(Effect.retry(asked.attempt, RetryPolicy.policy(settings, false)))
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      expect(gaps(asked.times)).toEqual([2345])
      const tooLong = scriptedAttempts(() => throttled(Option.some(Duration.seconds(61))))
      const error = yield* Effect.flip(Effect.retry(tooLong.attempt, RetryPolicy.policy(settings, true)))
      expect(error._tag).toBe("ThrottledError")
      expect(tooLong.times).toHaveLength(1)
    }))

  it.effect("classifies errors made by another installed copy of the package like its own", () =>
    Effect.gen(function*() {
      const foreign = scriptedAttempts((i) =>
        i === 0
          ? asForeign(new ForeignThrottledError({ ...fields, status: 429, retryAfter: Option.some(Duration.seconds(3)) }))
          : i === 1
          ? asForeign(new ForeignServiceError({ ...fields, status: 503, transient: true }))
          : undefined
      )
      const fiber = yield* Effect.fork(Effect.retry(foreign.attempt, RetryPolicy.policy(settings, true)))
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      expect(foreign.times).toHaveLength(3)
      expect(gaps(foreign.times)[0]).toBe(3000)
      // The second retry backs off 2 s ± 20%: the count runs across error kinds.
      expect(gaps(foreign.times)[1]).toBeGreaterThanOrEqual(1600)
      expect(gaps(foreign.times)[1]).toBeLessThanOrEqual(2400)
    }))

  it.effect("can be replaced per client: a user's schedule built on the default policy", () => {
    const log: Array<number> = []
    const client = HttpClient.make((request) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => {
        log.push(at)
        return Effect.succeed(HttpClientResponse.fromWeb(
          request,
          new Response(JSON.stringify({ error: { code: "ServiceUnavailable", message: "down" } }), {
            status: 503,
            headers: { "content-type": "application/json" }
          })
        ))
      })
    )
    const layer = KeyVault.layer({
      vaultUrl: "https://myvault.vault.azure.net",
      cache: { enabled: false },
      resilience: {
        circuitBreaker: false,
        rateLimiter: false,
        retry: { schedule: ({ policy }) => Schedule.intersect(policy, Schedule.recurs(1)) }
      }
    }).pipe(Layer.provide(Layer.merge(Layer.succeed(HttpClient.HttpClient, client), TokenProvider.layerStatic())))
    return Effect.gen(function*() {
      const error = yield* drive(Effect.flip(Effect.flatMap(Secrets, (s) => s.get("a"))))
      expect(error._tag).toBe("ServiceError")
      expect(log).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  })

  it("agrees with delayFor, the same decision as a pure function", () => {
    const throttle = throttled(Option.some(Duration.seconds(2)))
    expect(RetryPolicy.delayFor(settings, false, throttle, 0, 0.5)).toEqual(Option.some(2000))
    expect(RetryPolicy.delayFor(settings, true, throttled(Option.none()), 4, 0.5)).toEqual(Option.some(16_000))
    expect(Option.isNone(RetryPolicy.delayFor(settings, true, throttled(Option.some(Duration.seconds(61))), 0, 0.5))).toBe(true)
  })
})

describe("CircuitBreaker.request (counts requests, not attempts)", () => {
  const options = { failureThreshold: 5, resetTimeoutMillis: 30_000 }
  const retried = (attempt: Effect.Effect<string, KeyVaultError>, retries: number) => (admit: CircuitBreaker.Admit) =>
    Effect.retry(admit(attempt), Schedule.recurs(retries))

  it.effect("one request failing through all its retries is one failure, not five", () =>
    Effect.gen(function*() {
      const breaker = CircuitBreaker.make("v.vault.azure.net", options)
      const { attempt, times } = scriptedAttempts(() => unavailable())
      yield* Effect.flip(breaker.request(retried(attempt, 4)))
      expect(times).toHaveLength(5)
      expect(yield* breaker.state).toEqual({ _tag: "Closed", failures: 1 })
      for (let i = 0; i < 4; i++) yield* Effect.flip(breaker.request(retried(attempt, 4)))
      expect((yield* breaker.state)._tag).toBe("Open")
      expect((yield* Effect.flip(breaker.request(retried(attempt, 4))))._tag).toBe("CircuitOpenError")
    }))

  it.effect("a request that succeeds on a retry counts as a success and resets the count", () =>
    Effect.gen(function*() {
      const breaker = CircuitBreaker.make("v.vault.azure.net", options)
      const failing = scriptedAttempts(() => unavailable())
      for (let i = 0; i < 4; i++) yield* Effect.flip(breaker.request(retried(failing.attempt, 0)))
      expect(yield* breaker.state).toEqual({ _tag: "Closed", failures: 4 })
      const flaky = scriptedAttempts((i) => i < 2 ? unavailable() : undefined)
      expect(yield* breaker.request(retried(flaky.attempt, 4))).toBe("ok")
      expect(yield* breaker.state).toEqual({ _tag: "Closed", failures: 0 })
    }))

  it.effect("stops a retrying request at its next attempt once other requests opened the circuit", () =>
    Effect.gen(function*() {
      const breaker = CircuitBreaker.make("v.vault.azure.net", { failureThreshold: 2, resetTimeoutMillis: 30_000 })
      const slow = scriptedAttempts(() => unavailable())
      const retrying = yield* Effect.fork(
        Effect.flip(breaker.request((admit) => Effect.retry(admit(slow.attempt), RetryPolicy.policy(settings, true))))
      )
      yield* TestClock.adjust(0)
      const failing = scriptedAttempts(() => unavailable())
      for (let i = 0; i < 2; i++) yield* Effect.flip(breaker.request(retried(failing.attempt, 0)))
      expect((yield* breaker.state)._tag).toBe("Open")
      yield* TestClock.adjust("2 seconds")
      expect((yield* Fiber.join(retrying))._tag).toBe("CircuitOpenError")
      expect(slow.times).toHaveLength(1)
    }))

  it.effect("the probe's retries belong to the probe: they run while others are refused, and its success closes", () =>
    Effect.gen(function*() {
      const breaker = CircuitBreaker.make("v.vault.azure.net", { failureThreshold: 1, resetTimeoutMillis: 30_000 })
      yield* Effect.flip(breaker.request(retried(scriptedAttempts(() => unavailable()).attempt, 0)))
      yield* TestClock.adjust("30 seconds")
      const probe = scriptedAttempts((i) => i === 0 ? unavailable() : undefined)
      const probing = yield* Effect.fork(breaker.request((admit) => Effect.retry(admit(probe.attempt), Schedule.spaced("1 second"))))
      yield* TestClock.adjust(0)
      expect((yield* breaker.state)._tag).toBe("HalfOpen")
      expect((yield* Effect.flip(breaker.request(retried(Effect.succeed("x"), 0))))._tag).toBe("CircuitOpenError")
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(probing)).toBe("ok")
      expect(probe.times).toHaveLength(2)
      expect(yield* breaker.state).toEqual({ _tag: "Closed", failures: 0 })
    }))

  it.effect("an interrupted probe leaves the circuit ready for the next probe, never stuck half-open", () =>
    Effect.gen(function*() {
      const breaker = CircuitBreaker.make("v.vault.azure.net", { failureThreshold: 1, resetTimeoutMillis: 30_000 })
      yield* Effect.flip(breaker.request(retried(scriptedAttempts(() => unavailable()).attempt, 0)))
      yield* TestClock.adjust("30 seconds")
      const probing = yield* Effect.fork(breaker.request((admit) => admit(Effect.never)))
      yield* TestClock.adjust(0)
      expect((yield* breaker.state)._tag).toBe("HalfOpen")
      yield* Fiber.interrupt(probing)
      expect((yield* breaker.state)._tag).toBe("Open")
      expect(yield* breaker.request(retried(Effect.succeed("ok"), 0))).toBe("ok")
      expect(yield* breaker.state).toEqual({ _tag: "Closed", failures: 0 })
    }))

  it.effect("counts failures made by another installed copy of the package", () =>
    Effect.gen(function*() {
      const breaker = CircuitBreaker.make("v.vault.azure.net", { failureThreshold: 2, resetTimeoutMillis: 30_000 })
      const foreign = () => new ForeignServiceError({ ...fields, status: 503, transient: true })
      for (let i = 0; i < 2; i++) yield* Effect.flip(breaker.guard(Effect.fail(foreign())))
      expect((yield* breaker.state)._tag).toBe("Open")
      expect(CircuitBreaker.countsAsFailure(new ForeignThrottledError({ ...fields, status: 429, retryAfter: Option.none() })))
        .toBe(false)
    }))
})

describe("RateLimiter key classes", () => {
  /** Fires `count` acquisitions of `rateClass` at once and records when each was granted. */
  const burst = (limiter: RateLimiter.RateLimiter, rateClass: RateLimiter.RateClass, count: number, log: Array<number>) =>
    Effect.fork(Effect.all(
      Array.from({ length: count }, () =>
        Effect.zipRight(limiter.acquire(rateClass), Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => log.push(t))))),
      { concurrency: "unbounded" }
    ))

  it("maps the wire's kty, key_size and crv to Azure's key classes, with the service's defaults", () => {
    expect(RateLimiter.keyClassOf({ kty: "RSA" })).toEqual(Option.some("RSA-2048"))
    expect(RateLimiter.keyClassOf({ kty: "RSA-HSM", keySize: 4096 })).toEqual(Option.some("RSA-HSM-4096"))
    expect(RateLimiter.keyClassOf({ kty: "EC" })).toEqual(Option.some("EC-P-256"))
    expect(RateLimiter.keyClassOf({ kty: "EC-HSM", curve: "P-256K" })).toEqual(Option.some("EC-HSM-P-256K"))
    expect(RateLimiter.keyClassOf({ kty: "oct-HSM" })).toEqual(Option.none())
    expect(RateLimiter.keyClassOf({ kty: "RSA", keySize: 1024 })).toEqual(Option.none())
  })

  it("resolves each class's budget as the configured share of Azure's figure, with overrides", () => {
    const limits = Either.getOrThrow(ResilienceConfig.resolve()).rateLimiter!
    expect(limits.keys["RSA-2048"]).toEqual({ create: 16, other: 3200 })
    expect(limits.keys["RSA-HSM-4096"]).toEqual({ create: 4, other: 100 })
    expect(limits.keys["RSA-3072"]).toEqual({ create: 16, other: 800 })
    const custom = Either.getOrThrow(ResilienceConfig.resolve({ rateLimiter: { share: 0.5, keyLimits: { "EC-P-384": { create: 40 } } } }))
      .rateLimiter!
    expect(custom.keys["EC-P-384"]).toEqual({ create: 20, other: 2000 })
    expect(Either.isLeft(ResilienceConfig.resolve({ rateLimiter: { keyLimits: { "RSA-1024": { create: 1 } } as never } })))
      .toBe(true)
  })

  it.effect("holds back HSM key creates at their class's budget while secret traffic flows", () =>
    Effect.gen(function*() {
      const limits = Either.getOrThrow(ResilienceConfig.resolve()).rateLimiter!
      const limiter = yield* RateLimiter.make("v.vault.azure.net", limits)
      const creates: Array<number> = []
      const reads: Array<number> = []
      const createKey = RateLimiter.keyCreate({ kty: "RSA-HSM", keySize: 4096 })
      const fiber = yield* burst(limiter, createKey, 10, creates)
      yield* TestClock.adjust(0)
      expect(creates).toHaveLength(4)
      yield* Fiber.join(yield* burst(limiter, "operation", 50, reads))
      expect(reads).toEqual(Array.from({ length: 50 }, () => 0))
      // Operations on other keys are not queued behind the waiting creates either.
      yield* limiter.acquire(RateLimiter.keyOperation({ kty: "EC" }))
      yield* TestClock.adjust("10 seconds")
      expect(creates).toHaveLength(8)
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      expect(creates).toEqual([0, 0, 0, 0, 10_000, 10_000, 10_000, 10_000, 20_000, 20_000])
    }))

  it.effect("holds back secret writes at their budget while key operations flow, and vice versa", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make("v.vault.azure.net", {
        operationsPer10s: 1000,
        writesPer10s: 2,
        keys: { ...Either.getOrThrow(ResilienceConfig.resolve()).rateLimiter!.keys, "RSA-2048": { create: 1, other: 3 } }
      })
      const writes: Array<number> = []
      const keyOps: Array<number> = []
      const waitingWrites = yield* burst(limiter, "write", 4, writes)
      const waitingKeyOps = yield* burst(limiter, RateLimiter.keyOperation({ kty: "RSA", keySize: 2048 }), 5, keyOps)
      yield* TestClock.adjust(0)
      expect(writes).toEqual([0, 0])
      expect(keyOps).toEqual([0, 0, 0])
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(waitingWrites)
      yield* Fiber.join(waitingKeyOps)
      expect(writes).toEqual([0, 0, 10_000, 10_000])
      expect(keyOps).toEqual([0, 0, 0, 10_000, 10_000])
    }))

  it.effect("counts every request, whatever its class, against the vault-wide budget", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make("v.vault.azure.net", { operationsPer10s: 5, writesPer10s: 100 })
      const granted: Array<number> = []
      const fibers = [
        yield* burst(limiter, "operation", 4, granted),
        yield* burst(limiter, "write", 4, granted),
        yield* burst(limiter, RateLimiter.keyOperation({ kty: "EC", curve: "P-384" }), 4, granted),
        yield* burst(limiter, RateLimiter.keyCreate({ kty: "RSA" }), 3, granted)
      ]
      yield* TestClock.adjust("30 seconds")
      for (const fiber of fibers) yield* Fiber.join(fiber)
      expect(granted).toHaveLength(15)
      for (const start of granted) expect(granted.filter((t) => t >= start && t < start + 10_000).length).toBeLessThanOrEqual(5)
    }))
})
