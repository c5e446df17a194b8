/**
 * Replays through the real client and cache against the in-process emulator: report invariants, invalidation by
 * writes, coalescing, refresh-ahead, the 10-second peak, the rate limiter, and agreement with Effect's TestClock.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import type { CacheOptions } from "../src/cache/CacheConfig.js"
import * as AccessLogReplay from "../src/replay/AccessLogReplay.js"

type Event = AccessLogReplay.AccessEvent

const vault = () => Layer.merge(Emulator.layerFresh({ journalCapacity: 0 }), TokenProvider.layerStatic())

const replay = (events: ReadonlyArray<Event>, options?: AccessLogReplay.ReplayOptions) =>
  Effect.provide(AccessLogReplay.replay(events, options), vault())

const read = (atMillis: number, name: string, version?: string): Event =>
  version === undefined ? { atMillis, op: "read", name } : { atMillis, op: "read", name, version }
const write = (atMillis: number, name: string): Event => ({ atMillis, op: "write", name })

describe("AccessLogReplay.replay", () => {
  it.effect("reports consistent counts on a small Zipf workload (50 secrets, 10 minutes)", () =>
    Effect.gen(function*() {
      const events = yield* AccessLogReplay.zipf({
        secrets: 50,
        requestsPerSecond: 5,
        durationSeconds: 600,
        writeFraction: 0.05,
        seed: 11
      })
      const report = yield* replay(events, { cache: { ttl: "60 seconds" } })
      expect(Schema.is(AccessLogReplay.ReplayReport)(report)).toBe(true)
      expect(report.totalReads + report.totalWrites).toBe(events.length)
      expect(report.totalWrites).toBe(events.filter((e) => e.op === "write").length)
      expect(report).toMatchObject({ unfinished: 0, readErrors: {}, writeErrors: {}, clock: "virtual" })
      // Every vault read is a miss's load or a refresh; every write is one PUT.
      expect(report.vaultReadRequests).toBe(report.cache.misses + report.refreshes)
      expect(report.vaultWriteRequests).toBe(report.totalWrites)
      expect(report.vaultRequests).toBe(report.vaultReadRequests + report.vaultWriteRequests)
      expect(report.refreshes).toBeGreaterThan(0)
      // Every read is a hit, a miss, or waited for another read's load.
      expect(report.cache.hits + report.cache.misses + report.cache.coalesced + report.cache.negativeHits)
        .toBe(report.totalReads)
      expect(report.hitRatio).toBeCloseTo((report.totalReads - report.cache.misses) / report.totalReads, 5)
      expect(report.vaultLoadSavedPct).toBeCloseTo(100 * (1 - report.vaultReadRequests / report.totalReads), 3)
      expect(report.warmupMillis).toBe(60_000)
      expect(report.readsAfterWarmup).toBe(events.filter((e) => e.op === "read" && e.atMillis >= 60_000).length)
      expect(report.userVisibleMissesAfterWarmup).toBeLessThanOrEqual(report.cache.misses + report.cache.coalesced)
      expect(report.peakRequestsPer10s).toBeLessThanOrEqual(report.vaultRequests)
      expect(report.throttled).toBe(false)
      expect(report.headroom.operations).toBe(4_000 - report.peakRequestsPer10s)

      // Same log, same seed: the same report.
      expect(yield* replay(events, { cache: { ttl: "60 seconds" } })).toEqual(report)
    }))

  it.effect("a write through the client invalidates: the next read is a miss", () =>
    Effect.gen(function*() {
      const report = yield* replay([read(0, "db"), read(1_000, "db"), write(2_000, "db"), read(3_000, "db"), read(4_000, "db")])
      expect(report.cache).toMatchObject({ hits: 2, misses: 2, coalesced: 0 })
      expect(report).toMatchObject({ vaultReadRequests: 2, vaultWriteRequests: 1, totalWrites: 1, hitRatio: 0.5 })
    }))

  it.effect("reads of distinct version labels are distinct vault versions, each cached", () =>
    Effect.gen(function*() {
      const report = yield* replay([read(0, "db", "v1"), read(1, "db", "v2"), read(2, "db"), read(3, "DB", "v1")])
      expect(report.readErrors).toEqual({})
      expect(report.cache).toMatchObject({ misses: 3, hits: 1, size: 3 })
    }))

  it.effect("1,000 concurrent cold reads of 10 names cost 10 vault requests", () =>
    Effect.gen(function*() {
      const burst = Array.from({ length: 1_000 }, (_, i) => read(0, `name-${i % 10}`))
      const report = yield* replay(burst)
      expect(report).toMatchObject({ vaultRequests: 10, totalReads: 1_000 })
      expect(report.cache).toMatchObject({ misses: 10, coalesced: 990 })
    }))

  it.effect("refresh-ahead runs in the background at simulated time, so users stop waiting", () =>
    Effect.gen(function*() {
      // One read per second of one secret for 10 minutes, TTL 60 s (no jitter): with refresh-ahead only the first
      // read waits; without it, every expiry costs a user a wait.
      const events = Array.from({ length: 600 }, (_, i) => read(i * 1_000, "hot"))
      const on = yield* replay(events, { cache: { ttl: "60 seconds", jitter: 0 } })
      const off = yield* replay(events, { cache: { ttl: "60 seconds", jitter: 0, refreshAhead: false } })
      expect(on.cache.misses).toBe(1)
      expect(on.userVisibleMissesAfterWarmup).toBe(0)
      // Refreshed at 80% of each TTL: 48 s apart.
      expect(on.refreshes).toBe(Math.floor(599 / 48))
      expect(off.refreshes).toBe(0)
      expect(off.cache.misses).toBe(10)
      expect(off.userVisibleMissesAfterWarmup).toBe(9)
    }))

  it.effect("computes the 10-second sliding peak on a hand-made log", () =>
    Effect.gen(function*() {
      // Cache off: each read is one request at its own time.
      const times = [0, 1_000, 9_999, 10_000, 10_001, 25_000, 26_000, 27_000, 28_000, 34_999, 35_000]
      const report = yield* replay(times.map((t, i) => read(t, `s${i}`)), { cache: { enabled: false } })
      expect(report.vaultRequests).toBe(times.length)
      // [25,000, 35,000) holds 5; [0, 10,000) holds 3; [1,000, 11,000) holds 4.
      expect(report).toMatchObject({ peakRequestsPer10s: 5, peakWindowStartMillis: 25_000, hitRatio: 0 })
      expect(report.userVisibleMissesAfterWarmup).toBe(report.readsAfterWarmup)
      expect(AccessLogReplay.peakInWindow(times)).toEqual({ count: 5, startMillis: 25_000 })
      expect(AccessLogReplay.peakInWindow([0, 10_000, 20_000])).toEqual({ count: 1, startMillis: 0 })
      expect(AccessLogReplay.peakInWindow([])).toEqual({ count: 0, startMillis: 0 })
    }))

  it.effect("with the rate limiter, a write burst waits in simulated time; without it, the vault would throttle", () =>
    Effect.gen(function*() {
      const burst = Array.from({ length: 320 }, (_, i) => write(0, `w${i % 20}`))
      const limited = yield* replay(burst)
      expect(limited).toMatchObject({ vaultWriteRequests: 320, peakWriteRequestsPer10s: 240, throttled: false, unfinished: 0 })
      const unlimited = yield* replay(burst, { resilience: { rateLimiter: false } })
      expect(unlimited).toMatchObject({ vaultWriteRequests: 320, peakWriteRequestsPer10s: 320, throttled: true })
      expect(unlimited.headroom.secretWrites).toBe(-20)
    }))

  it.effect("gives the same report under Effect's TestClock as under the virtual clock", () =>
    Effect.gen(function*() {
      const events = yield* AccessLogReplay.zipf({
        secrets: 20,
        requestsPerSecond: 0.2,
        durationSeconds: 600,
        writeFraction: 0.1,
        seed: 5
      })
      const cache: CacheOptions = { ttl: "60 seconds" }
      const virtual = yield* replay(events, { cache })
      const test = yield* replay(events, { cache, clock: "TestClock" })
      expect({ ...test, clock: "virtual" }).toEqual(virtual)
      expect(test.clock).toBe("TestClock")
      expect(virtual.refreshes).toBeGreaterThan(0)
    }))
})
