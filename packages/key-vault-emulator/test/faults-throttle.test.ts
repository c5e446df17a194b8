import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Emulator from "../src/Emulator.js"
import * as Throttle from "../src/faults/Throttle.js"
import { call } from "./support.js"

const THROTTLED_BODY =
  "{\"error\":{\"code\":\"Throttled\",\"message\":\"Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached\"}}"

const repeat = <A>(count: number, effect: Effect.Effect<A>): Effect.Effect<ReadonlyArray<A>> =>
  Effect.forEach(Array.from({ length: count }), () => effect)

describe("throttling mode", () => {
  it.effect("4,000 reads per 10 s window pass, the next is 429 with the service's body, the window rolls over", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make({ throttle: true })
      yield* call(emulator, "PUT", "/secrets/hot", { body: { value: "v" } })
      yield* TestClock.adjust(Duration.seconds(3))
      // The write opened a window of its own bucket; reads open theirs at 3 s.
      const reads = yield* repeat(4_000, Effect.map(call(emulator, "GET", "/secrets/hot"), (r) => r.status))
      expect(reads.every((status) => status === 200)).toBe(true)

      const throttled = yield* call(emulator, "GET", "/secrets/hot")
      expect(throttled.status).toBe(429)
      expect(throttled.text).toBe(THROTTLED_BODY)
      expect(throttled.headers["content-type"]).toBe("application/json; charset=utf-8")
      expect(throttled.headers["retry-after"]).toBeUndefined()
      // Lists and other reads share the bucket; the challenge is not throttled.
      expect((yield* call(emulator, "GET", "/secrets")).status).toBe(429)
      expect((yield* call(emulator, "GET", "/secrets/hot", { auth: false })).status).toBe(401)

      yield* TestClock.adjust(Duration.millis(9_999))
      expect((yield* call(emulator, "GET", "/secrets/hot")).status).toBe(429)
      yield* TestClock.adjust(Duration.millis(1))
      expect((yield* call(emulator, "GET", "/secrets/hot")).status).toBe(200)

      const journal = yield* emulator.journal.query({ status: 429 })
      expect(journal.length).toBe(3)
      expect(journal[0]).toMatchObject({ fault: { kind: "Throttled", ruleId: null, phase: null }, reachedEngine: false })
    }))

  it.effect("secret creates have their own 300 limit; throttled requests do not count", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make({ throttle: true })
      const set = (i: number) => Effect.map(call(emulator, "PUT", `/secrets/s${i}`, { body: { value: "v" } }), (r) => r.status)
      const statuses = yield* Effect.forEach(Array.from({ length: 300 }, (_, i) => i), set)
      expect(statuses.every((status) => status === 200)).toBe(true)
      expect(yield* set(300)).toBe(429)
      // The 301st write was refused, not applied.
      expect((yield* call(emulator, "GET", "/secrets/s300")).status).toBe(404)
      // Reads are another bucket.
      expect((yield* call(emulator, "GET", "/secrets/s1")).status).toBe(200)
      // A burst of refused writes does not extend the window.
      yield* repeat(50, set(999))
      yield* TestClock.adjust(Duration.seconds(10))
      expect(yield* set(300)).toBe(200)
    }))

  it.effect("with Retry-After: whole seconds until the window resets, at least 1", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make({ throttle: { retryAfter: true, limits: { secretOther: 2 } } })
      yield* repeat(2, call(emulator, "GET", "/secrets/x"))
      const first = yield* call(emulator, "GET", "/secrets/x")
      expect([first.status, first.headers["retry-after"]]).toEqual([429, "10"])
      yield* TestClock.adjust(Duration.millis(7_500))
      expect((yield* call(emulator, "GET", "/secrets/x")).headers["retry-after"]).toBe("3")
      yield* TestClock.adjust(Duration.millis(2_400))
      const last = yield* call(emulator, "GET", "/secrets/x")
      expect([last.headers["retry-after"], last.text]).toEqual(["1", THROTTLED_BODY])
    }))

  it.effect("keys: 20 creates (software RSA-2048 / EC) and 4,000 other operations per window, apart from secrets", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make({ throttle: { limits: { keyOther: 3 } } })
      // An invalid create body still counts: the service throttles before it validates.
      const create = Effect.map(call(emulator, "POST", "/keys/k/create", { body: {} }), (r) => r.status)
      const creates = yield* repeat(21, create)
      expect(creates.slice(0, 20).every((status) => status !== 429)).toBe(true)
      expect(creates[20]).toBe(429)
      expect((yield* call(emulator, "POST", "/keys/k/rotate")).status).toBe(429)

      const other = (path: string) => Effect.map(call(emulator, "POST", path, { body: {} }), (r) => r.status)
      yield* other("/keys/k/v/sign")
      yield* other("/rng")
      yield* other("/keys/k/v/verify")
      expect(yield* other("/keys/k/v/encrypt")).toBe(429)
      expect((yield* call(emulator, "GET", "/secrets/any")).status).toBe(404)
    }))

  it("buckets and defaults follow the published limits", () => {
    expect(Throttle.DEFAULT_LIMITS).toEqual({ secretCreate: 300, secretOther: 4_000, keyCreate: 20, keyOther: 4_000 })
    expect(Throttle.DEFAULT_WINDOW_MILLIS).toBe(10_000)
    const bucket = (operation: Parameters<typeof Throttle.bucketOf>[0]["operation"], family: "secret" | "key") =>
      Throttle.bucketOf({ operation, family, name: undefined })
    expect([
      bucket("setSecret", "secret"),
      bucket("deleteSecret", "secret"),
      bucket("unknown", "secret"),
      bucket("createKey", "key"),
      bucket("rotateKey", "key"),
      bucket("importKey", "key")
    ]).toEqual(["secretCreate", "secretOther", "secretOther", "keyCreate", "keyCreate", "keyOther"])
  })

  it.effect("off by default; injected faults answer before throttling counts the request", () =>
    Effect.gen(function*() {
      const free = yield* Emulator.make()
      expect(free.throttle.enabled).toBe(false)
      const statuses = yield* repeat(10, Effect.map(call(free, "GET", "/secrets/x"), (r) => r.status))
      expect(new Set(statuses)).toEqual(new Set([404]))

      const emulator = yield* Emulator.make({
        throttle: { limits: { secretOther: 1 } },
        faults: [{ times: 2, fault: { _tag: "Status", status: 503 } }]
      })
      const sequence = yield* repeat(4, Effect.map(call(emulator, "GET", "/secrets/x"), (r) => r.status))
      expect(sequence).toEqual([503, 503, 404, 429])
    }))
})
