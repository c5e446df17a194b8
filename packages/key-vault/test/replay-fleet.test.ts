/**
 * The fleet replay (`AccessLogReplay.replayFleet`) with memory caches only: N instances over one in-process emulator,
 * in simulated time, with counts a user can work out by hand. The shared tier's runs need a real Redis:
 * `fleet-replay-redis.test.ts`.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import * as AccessLogReplay from "../src/replay/AccessLogReplay.js"

type Event = AccessLogReplay.AccessEvent

const vault = () => Layer.merge(Emulator.layerFresh({ journalCapacity: 0 }), TokenProvider.layerStatic())

const fleet = (events: ReadonlyArray<Event>, options: AccessLogReplay.FleetReplayOptions) =>
  Effect.provide(AccessLogReplay.replayFleet(events, options), vault())

const read = (atMillis: number, name: string): Event => ({ atMillis, op: "read", name })
const write = (atMillis: number, name: string): Event => ({ atMillis, op: "write", name })

describe("AccessLogReplay.replayFleet (memory caches only)", () => {
  it.effect("every instance starts cold: one vault read per instance that sees the name", () =>
    Effect.gen(function*() {
      // Round-robin over 3 instances: reads 0..5 go to instances 0,1,2,0,1,2.
      const events = Array.from({ length: 6 }, (_, i) => read(i * 1_000, "db-password"))
      const report = yield* fleet(events, { instances: 3, routing: "round-robin" })
      expect(Schema.is(AccessLogReplay.FleetReplayReport)(report)).toBe(true)
      expect(report).toMatchObject({ instances: 3, totalReads: 6, totalWrites: 0, withShared: null, reductionFactor: null })
      expect(report.withoutShared).toMatchObject({
        vaultRequests: 3,
        vaultReadRequests: 3,
        readErrors: {},
        unfinished: 0,
        shared: null
      })
      expect(report.withoutShared.memory).toMatchObject({ hits: 3, misses: 3, coalesced: 0 })
    }))

  it.effect("a cold burst costs one vault read per instance and name, not per read", () =>
    Effect.gen(function*() {
      // 1,000 reads at t = 0 of 10 names; read i goes to instance i % 4 and names name-(i % 10), so each instance sees
      // the 5 names of one parity: 4 × 5 = 20 loads, the other 980 reads wait for their instance's load.
      const burst = Array.from({ length: 1_000 }, (_, i) => read(0, `name-${i % 10}`))
      const report = yield* fleet(burst, { instances: 4, routing: "round-robin" })
      expect(report.withoutShared).toMatchObject({ vaultRequests: 20, peakRequestsPer10s: 20, coldStartPeakRequestsPer10s: 20 })
      expect(report.withoutShared.memory).toMatchObject({ misses: 20, coalesced: 980 })
    }))

  it.effect("a rolling restart empties each instance's memory once, at its own time", () =>
    Effect.gen(function*() {
      // One read per second for 100 s over 2 instances; restarts at 50 s (instance 0) and 55 s (instance 1).
      const events = Array.from({ length: 100 }, (_, i) => read(i * 1_000, "api-key"))
      const report = yield* fleet(events, {
        instances: 2,
        routing: "round-robin",
        rollingRestart: { at: "50 seconds", spread: "10 seconds" }
      })
      expect(report).toMatchObject({ restarts: 2, rollingRestart: { startMillis: 50_000, spreadMillis: 10_000 } })
      expect(report.withoutShared.vaultReadRequests).toBe(4)
      // Memory counts cover the instances replaced by the restart too.
      expect(report.withoutShared.memory.hits + report.withoutShared.memory.misses).toBe(100)
    }))

  it.effect("without the tier, a write invalidates only the instance that made it", () =>
    Effect.gen(function*() {
      // Instances 0,1,0,1,0: read, read, write (through 0), read (1: still its old entry), read (0: a miss).
      const events = [read(0, "conn"), read(1_000, "conn"), write(2_000, "conn"), read(3_000, "conn"), read(4_000, "conn")]
      const report = yield* fleet(events, { instances: 2, routing: "round-robin" })
      expect(report.withoutShared).toMatchObject({ vaultReadRequests: 3, vaultWriteRequests: 1, vaultRequests: 4 })
      expect(report.withoutShared.memory).toMatchObject({ hits: 1, misses: 3 })
    }))

  it.effect("random routing is seeded: the same log and seed give the same report; more instances, more vault reads", () =>
    Effect.gen(function*() {
      const events = yield* AccessLogReplay.zipf({ secrets: 40, requestsPerSecond: 4, durationSeconds: 600, seed: 3 })
      const five = yield* fleet(events, { instances: 5, cache: { ttl: "60 seconds" } })
      expect(yield* fleet(events, { instances: 5, cache: { ttl: "60 seconds" } })).toEqual(five)
      const one = yield* fleet(events, { instances: 1, cache: { ttl: "60 seconds" } })
      expect(five.withoutShared.vaultRequests).toBeGreaterThan(one.withoutShared.vaultRequests)
      // Each instance's reads are hits, misses or waits on its own load; refreshes add vault reads.
      const m = five.withoutShared.memory
      expect(m.hits + m.misses + m.coalesced + m.negativeHits).toBe(events.length)
      expect(five.withoutShared.vaultReadRequests).toBe(m.misses + m.refreshes)
      expect(five.withoutShared.throttled).toBe(false)
      expect(AccessLogReplay.formatFleet(five)).toContain("fleet of 5 instances")
    }))

  it.effect("rejects a fleet it cannot model", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(fleet([read(0, "x")], { instances: 0 }))
      expect(error).toMatchObject({ _tag: "WorkloadOptionsError" })
    }))
})
