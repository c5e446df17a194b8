/**
 * The fleet replay with the shared tier on a real Redis (`REDIS_URL`, default redis://127.0.0.1:6379): the same log
 * through N instances without and with `FleetCache` under each. Skipped, with the reason in the title, when no Redis
 * answers; required (failing) when CI=true.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import * as FleetCache from "../src/fleet/FleetCache.js"
import * as AccessLogReplay from "../src/replay/AccessLogReplay.js"
import { adminClient, CI, cleanUp, newKey, newPrefix, REDIS_URL, redisAnswers, skip, skipReason } from "./fleet-support.js"

const vault = () => Layer.merge(Emulator.layerFresh({ journalCapacity: 0 }), TokenProvider.layerStatic())

/** A tier of this test's own (fresh key and prefix, keys deleted afterwards). */
const tier = (label: string) =>
  Effect.gen(function*() {
    const prefix = newPrefix(label)
    yield* cleanUp(yield* adminClient(), prefix)
    // Simulated time outruns real time: a window of traffic reaches Redis as one burst from one busy process, so a
    // real-time command timeout would measure the test machine's load, not the tier. For the same reason the lease
    // wait (on the simulated clock) is long: the lease holder's "filled" message travels in real time, and a loaded
    // machine could otherwise see the simulated clock pass a short wait first and send a waiter to the vault.
    return FleetCache.layer({ key: newKey(), prefix, url: REDIS_URL, commandTimeout: "30 seconds", leaseWait: "1 hour" })
  })

describe.skipIf(skip)(`fleet replay with the shared tier (${skip ? `skipped: ${skipReason}` : REDIS_URL})`, () => {
  it("a Redis server answers (required when CI=true)", () => {
    if (CI) expect(redisAnswers, `CI=true needs Redis at ${REDIS_URL}`).toBe(true)
    expect(redisAnswers).toBe(true)
  })

  it.scoped("a cold start of 20 instances reading one name costs the vault one read with the tier, 20 without", () =>
    Effect.gen(function*() {
      const burst = Array.from({ length: 20 }, () => ({ atMillis: 0, op: "read" as const, name: "db-password" }))
      const report = yield* Effect.provide(
        AccessLogReplay.replayFleet(burst, { instances: 20, routing: "round-robin", sharedTier: yield* tier("cold") }),
        vault()
      )
      expect(report.withoutShared.vaultReadRequests).toBe(20)
      expect(report.withShared).toMatchObject({ readErrors: {}, unfinished: 0 })
      // Exactly one, the lease holder's: the other 19 wait for its answer. The replay lets no vault call go while a
      // shared-store call is in flight, so a late instance's Redis round trip (real time, on a loaded machine slower
      // than the in-process vault) cannot straddle the holder's fill and win a lease that was just released.
      expect(report.withShared!.vaultReadRequests).toBe(1)
      expect(report.withShared!.shared!.coalesced).toBe(19)
      expect(report.withShared!.shared!.fallbacks).toBe(0)
      expect(report.reductionFactor).toBeGreaterThanOrEqual(10)
    }))

  it.scoped("under a Zipf workload with a rolling restart the tier cuts vault reads, with no errors or fallbacks", () =>
    Effect.gen(function*() {
      const events = yield* AccessLogReplay.zipf({ secrets: 50, requestsPerSecond: 5, durationSeconds: 600, seed: 9 })
      const report = yield* Effect.provide(
        AccessLogReplay.replayFleet(events, {
          instances: 10,
          sharedTier: yield* tier("zipf"),
          rollingRestart: { spread: "60 seconds" },
          cache: { ttl: "120 seconds" }
        }),
        vault()
      )
      const without = report.withoutShared
      const withShared = report.withShared!
      expect(report.restarts).toBe(10)
      expect(withShared).toMatchObject({ readErrors: {}, unfinished: 0 })
      expect(withShared.shared!.fallbacks).toBe(0)
      expect(withShared.shared!.hits).toBeGreaterThan(0)
      // With the tier the fleet reads each name about once per TTL (50 names, 5 periods, refreshes included); without
      // it every instance does.
      expect(withShared.vaultReadRequests).toBeLessThanOrEqual(50 * 6)
      expect(without.vaultReadRequests).toBeGreaterThan(2 * withShared.vaultReadRequests)
      expect(report.reductionFactor).toBeGreaterThan(2)
    }))
})
