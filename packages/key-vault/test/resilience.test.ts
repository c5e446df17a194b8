/**
 * Retries, circuit breaker and rate limiter, all on TestClock: every wait is simulated.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as KeyVault from "../src/KeyVault.js"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import * as RetryPolicy from "../src/resilience/RetryPolicy.js"
import type { ResilienceOptions } from "../src/resilience/ResilienceConfig.js"
import * as ResilienceConfig from "../src/resilience/ResilienceConfig.js"
import { Secrets } from "../src/secrets/Secrets.js"
import { ServiceError, ThrottledError, TransportError } from "../src/errors/KeyVaultError.js"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"

interface Answer {
  readonly status: number
  readonly headers?: Record<string, string>
  readonly body?: unknown
}

const bundle = (host: string, name: string) => ({
  value: "v",
  id: `https://${host}/secrets/${name}/0123456789abcdef0123456789abcdef`,
  attributes: { enabled: true, created: 1, updated: 1 }
})

/** A scripted vault (no challenge: it never asks for a token) recording each request's method, path and time. */
const scripted = (answer: (request: { method: string; url: URL; index: number }) => Answer) => {
  const log: Array<{ method: string; path: string; host: string; at: number }> = []
  const client = HttpClient.make((request, url) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) => {
      log.push({ method: request.method, path: url.pathname, host: url.host, at })
      const { body, headers = {}, status } = answer({ method: request.method, url, index: log.length - 1 })
      return Effect.succeed(HttpClientResponse.fromWeb(
        request,
        new Response(body === undefined ? null : JSON.stringify(body), {
          status,
          headers: { "content-type": "application/json", ...headers }
        })
      ))
    })
  )
  const http = Layer.succeed(HttpClient.HttpClient, client)
  const layer = (resilience: ResilienceOptions, vaultUrl = "https://myvault.vault.azure.net") =>
    KeyVault.layer({ vaultUrl, cache: { enabled: false }, resilience }).pipe(
      Layer.provide(Layer.merge(http, TokenProvider.layerStatic()))
    )
  return { log, layer, http }
}

const ok = (url: URL): Answer => ({ status: 200, body: bundle(url.host, "a") })
const throttled = (headers: Record<string, string> = {}): Answer => ({
  status: 429,
  headers,
  body: { error: { code: "Throttled", message: "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached" } }
})
const unavailable: Answer = { status: 503, body: { error: { code: "ServiceUnavailable", message: "down" } } }

/** Runs `effect` while advancing the TestClock in small steps, up to `limit`. */
const drive = <A, E, R>(effect: Effect.Effect<A, E, R>, step: Duration.DurationInput = "100 millis", limit = 5000) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < limit; i++) {
      const done = yield* Fiber.poll(fiber)
      if (Option.isSome(done)) break
      yield* TestClock.adjust(step)
    }
    return yield* Fiber.join(fiber)
  })

const retryOnly: ResilienceOptions = { circuitBreaker: false, rateLimiter: false }

describe("retry", () => {
  for (
    const [form, headers, waitMillis] of [
      ["Retry-After seconds", { "retry-after": "3" }, 3000],
      ["retry-after-ms", { "retry-after-ms": "1500" }, 1500],
      ["x-ms-retry-after-ms", { "x-ms-retry-after-ms": "2500" }, 2500]
    ] as const
  ) {
    it.effect(`waits exactly what a 429 asks for (${form}) before the next attempt`, () => {
      const vault = scripted(({ index, url }) => index === 0 ? throttled(headers) : ok(url))
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.flatMap(Secrets, (s) => s.get("a")))
        yield* TestClock.adjust(waitMillis - 1)
        expect(vault.log).toHaveLength(1)
        yield* TestClock.adjust(1)
        yield* Fiber.join(fiber)
        expect(vault.log).toHaveLength(2)
        expect(vault.log[1]!.at - vault.log[0]!.at).toBe(waitMillis)
      }).pipe(Effect.provide(vault.layer(retryOnly)))
    })
  }

  it.effect("honours Retry-After given as an HTTP date", () => {
    const vault = scripted(({ index, url }) =>
      index === 0 ? throttled({ "retry-after": new Date(Date.UTC(2030, 0, 1, 0, 0, 7)).toUTCString() }) : ok(url)
    )
    return Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2030, 0, 1, 0, 0, 0))
      yield* drive(Effect.flatMap(Secrets, (s) => s.get("a")))
      expect(vault.log[1]!.at - vault.log[0]!.at).toBeGreaterThanOrEqual(7000)
      expect(vault.log[1]!.at - vault.log[0]!.at).toBeLessThan(7100)
    }).pipe(Effect.provide(vault.layer(retryOnly)))
  })

  it.effect("refuses to wait longer than the cap: the ThrottledError reaches the caller at once", () => {
    const vault = scripted(() => throttled({ "retry-after": "120" }))
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.flatMap(Secrets, (s) => s.get("a")))
      expect(error._tag).toBe("ThrottledError")
      expect(vault.log).toHaveLength(1)
    }).pipe(Effect.provide(vault.layer({ ...retryOnly, retry: { maxRetryAfter: "60 seconds" } })))
  })

  it.effect("without Retry-After backs off 1, 2, 4, 8, 16 s (±20%) and then gives up", () => {
    const vault = scripted(() => throttled())
    return Effect.gen(function*() {
      const error = yield* drive(Effect.flip(Effect.flatMap(Secrets, (s) => s.get("a"))))
      expect(error._tag).toBe("ThrottledError")
      expect(vault.log).toHaveLength(6)
      const gaps = vault.log.slice(1).map((r, i) => r.at - vault.log[i]!.at)
      gaps.forEach((gap, i) => {
        expect(gap).toBeGreaterThanOrEqual(1000 * 2 ** i * 0.8)
        expect(gap).toBeLessThanOrEqual(1000 * 2 ** i * 1.2 + 100)
      })
    }).pipe(Effect.provide(vault.layer(retryOnly)))
  })

  it("keeps every backoff inside its jitter bounds", () => {
    const settings = Either.getOrThrow(ResilienceConfig.resolve()).retry!
    const error = new ServiceError({ status: 503, code: "x", innerCode: undefined, message: "m", requestId: undefined, transient: true })
    for (let retry = 0; retry < 5; retry++) {
      for (const r of [0, 0.25, 0.5, 0.999]) {
        const delay = Option.getOrThrow(RetryPolicy.delayFor(settings, true, error, retry, r))
        const base = Math.min(30_000, 1000 * 2 ** retry)
        expect(delay).toBeGreaterThanOrEqual(base * 0.8)
        expect(delay).toBeLessThanOrEqual(base * 1.2)
      }
    }
    expect(Option.isNone(RetryPolicy.delayFor(settings, true, error, 5, 0.5))).toBe(true)
    // Ambiguous failures of non-idempotent requests are not retried; a 429 always is.
    expect(Option.isNone(RetryPolicy.delayFor(settings, false, error, 0, 0.5))).toBe(true)
    const throttle = new ThrottledError({ status: 429, code: "Throttled", innerCode: undefined, message: "m", requestId: undefined, retryAfter: Option.some(Duration.seconds(2)) })
    expect(RetryPolicy.delayFor(settings, false, throttle, 0, 0.5)).toEqual(Option.some(2000))
    const tls = new TransportError({ reason: "Tls", message: "m" })
    expect(Option.isNone(RetryPolicy.delayFor(settings, true, tls, 0, 0.5))).toBe(true)
  })

  it.effect("retries a 5xx on a read but not on a delete, which may already have happened", () => {
    let gets = 0
    const vault = scripted(({ method, url }) => {
      if (method === "DELETE") return unavailable
      gets++
      return gets === 1 ? unavailable : ok(url)
    })
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* drive(secrets.get("a"))
      expect(vault.log.map((r) => r.method)).toEqual(["GET", "GET"])
      const deleted = yield* drive(Effect.flip(secrets.delete("a")))
      expect(deleted._tag).toBe("ServiceError")
      expect(vault.log.map((r) => r.method)).toEqual(["GET", "GET", "DELETE"])
    }).pipe(Effect.provide(vault.layer(retryOnly)))
  })
})

describe("circuit breaker", () => {
  const breakerOnly: ResilienceOptions = { retry: false, rateLimiter: false }

  it.effect("opens after 5 consecutive transient failures, refuses at once, lets one probe through after 30 s, and closes on success", () => {
    let healthy = false
    const vault = scripted(({ url }) => healthy ? ok(url) : unavailable)
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      for (let i = 0; i < 5; i++) expect((yield* Effect.flip(secrets.get("a")))._tag).toBe("ServiceError")
      const refused = yield* Effect.flip(secrets.get("a"))
      expect(refused._tag).toBe("CircuitOpenError")
      expect(vault.log).toHaveLength(5)
      yield* TestClock.adjust("29 seconds")
      expect((yield* Effect.flip(secrets.get("a")))._tag).toBe("CircuitOpenError")
      yield* TestClock.adjust("1 second")
      healthy = true
      yield* secrets.get("a")
      expect(vault.log).toHaveLength(6)
      yield* secrets.get("a")
      expect(vault.log).toHaveLength(7)
    }).pipe(Effect.provide(vault.layer(breakerOnly)))
  })

  it.effect("refuses other callers while the probe is in flight, and re-opens when the probe fails", () => {
    const vault = scripted(() => unavailable)
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      for (let i = 0; i < 5; i++) yield* Effect.flip(secrets.get("a"))
      yield* TestClock.adjust("30 seconds")
      const outcomes = yield* Effect.all(Array.from({ length: 5 }, () => Effect.flip(secrets.get("a"))), { concurrency: "unbounded" })
      expect(outcomes.filter((e) => e._tag === "ServiceError")).toHaveLength(1)
      expect(outcomes.filter((e) => e._tag === "CircuitOpenError")).toHaveLength(4)
      expect(vault.log).toHaveLength(6)
      expect((yield* Effect.flip(secrets.get("a")))._tag).toBe("CircuitOpenError")
    }).pipe(Effect.provide(vault.layer(breakerOnly)))
  })

  it.effect("never counts 404, 403 or 429 answers", () => {
    const answers: Array<Answer> = [
      { status: 404, body: { error: { code: "SecretNotFound", message: "no" } } },
      { status: 403, body: { error: { code: "Forbidden", message: "no", innererror: { code: "SecretDisabled" } } } },
      throttled()
    ]
    const vault = scripted(({ index }) => answers[index % 3]!)
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      for (let i = 0; i < 12; i++) expect((yield* Effect.flip(secrets.get("a")))._tag).not.toBe("CircuitOpenError")
      expect(vault.log).toHaveLength(12)
    }).pipe(Effect.provide(vault.layer(breakerOnly)))
  })

  it.effect("keeps vaults apart: one vault's open circuit does not refuse calls to another", () => {
    const vault = scripted(({ url }) => url.host.startsWith("bad") ? unavailable : ok(url))
    return Effect.gen(function*() {
      const bad = yield* Effect.provide(Secrets, vault.layer(breakerOnly, "https://bad.vault.azure.net"))
      const good = yield* Effect.provide(Secrets, vault.layer(breakerOnly, "https://good.vault.azure.net"))
      for (let i = 0; i < 5; i++) yield* Effect.flip(bad.get("a"))
      expect((yield* Effect.flip(bad.get("a")))._tag).toBe("CircuitOpenError")
      yield* good.get("a")
    })
  })
})

describe("rate limiter", () => {
  it.effect("never lets more than its share of the limit into any 10-second window during a burst", () => {
    const vault = scripted(({ url }) => ok(url))
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* drive(
        Effect.all(Array.from({ length: 45 }, () => secrets.get("a")), { concurrency: "unbounded" }),
        "250 millis"
      )
      const times = vault.log.map((r) => r.at)
      expect(times).toHaveLength(45)
      for (const start of times) expect(times.filter((t) => t >= start && t < start + 10_000).length).toBeLessThanOrEqual(10)
      // 45 requests at 10 per window take at least four more windows.
      expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(40_000)
    }).pipe(Effect.provide(vault.layer({ retry: false, circuitBreaker: false, rateLimiter: { share: 0.5, operationsPer10s: 20 } })))
  })

  it.effect("applies the write limit to secret writes only", () => {
    const vault = scripted(({ url }) => ok(url))
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* secrets.get("a") // first contact done: every later call is one request
      const writes = yield* Effect.fork(Effect.all(Array.from({ length: 4 }, () => secrets.set("a", "v")), { concurrency: "unbounded" }))
      yield* TestClock.adjust(0)
      expect(vault.log.filter((r) => r.method === "PUT")).toHaveLength(2)
      yield* secrets.get("a")
      expect(vault.log.filter((r) => r.method === "GET")).toHaveLength(2)
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(writes)
      expect(vault.log.filter((r) => r.method === "PUT")).toHaveLength(4)
    }).pipe(Effect.provide(vault.layer({ retry: false, circuitBreaker: false, rateLimiter: { share: 1, writesPer10s: 2 } })))
  })

  it.effect("gives an interrupted waiter's place to the next caller", () => {
    const vault = scripted(({ url }) => ok(url))
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* secrets.get("a")
      const waiting = yield* Effect.fork(secrets.get("a"))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(waiting)
      const next = yield* Effect.fork(secrets.get("a"))
      yield* TestClock.adjust("9 seconds")
      yield* Fiber.join(next)
      expect(vault.log).toHaveLength(2)
    }).pipe(Effect.provide(vault.layer({ retry: false, circuitBreaker: false, rateLimiter: { share: 1, operationsPer10s: 1 } })))
  })
})
