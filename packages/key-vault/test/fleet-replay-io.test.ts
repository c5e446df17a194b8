/**
 * The fleet replay against a shared tier whose round trips take real time (event-loop turns here, network round trips
 * with Redis): the replay's counts must not depend on how those round trips interleave with the in-process vault.
 *
 * The tier below is an in-process stand-in for `FleetCache` with the same lease protocol (a lookup, then a lease
 * granted to whoever asks while none is held, the holder's fill releasing it, the others waiting for the fill) and a
 * latency per instance: the first instance's round trips take one turn, the others' many. That is the loaded machine
 * of `fleet-replay-redis.test.ts`, made repeatable: the lease holder's vault read, in-process, is done and its lease
 * released before the others' lease requests arrive.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { SharedTier, type SharedTierBinding, type SharedTierStats } from "../src/cache/SharedTier.js"
import * as AccessLogReplay from "../src/replay/AccessLogReplay.js"

const vault = () => Layer.merge(Emulator.layerFresh({ journalCapacity: 0 }), TokenProvider.layerStatic())

/** Event-loop turns a slow instance's round trip takes; the first instance's takes one. */
const SLOW_TURNS = 50

/** One store shared by every instance of a run (the Redis of the fleet); each instance built gets its own latency. */
const slowStore = () => {
  const entries = new Map<string, unknown>()
  const leases = new Set<string>()
  const fills = new Map<string, Array<Deferred.Deferred<void>>>()
  let built = 0

  const layer = Layer.sync(SharedTier, () => {
    const turns = built++ === 0 ? 1 : SLOW_TURNS
    const counts = { hits: 0, misses: 0, coalesced: 0, fallbacks: 0, inFlight: 0 }
    // A round trip: the store acts when the request is sent (as Redis does on arrival), the answer comes `turns`
    // event-loop turns later.
    const roundTrip = <A>(act: () => A): Effect.Effect<A> =>
      Effect.suspend(() => {
        const answer = act()
        counts.inFlight++
        return Effect.async<A>((resume) => {
          let left = turns
          const tick = (): void => {
            if (--left > 0) setImmediate(tick)
            else resume(Effect.succeed(answer))
          }
          setImmediate(tick)
        }).pipe(Effect.ensuring(Effect.sync(() => counts.inFlight--)))
      })
    const binding: SharedTierBinding = {
      read: (read, load) => {
        const key = `${read.objectType}/${read.name}/${read.version ?? "latest"}`
        return Effect.gen(function*() {
          const found = yield* roundTrip(() => entries.get(key))
          if (found !== undefined) {
            counts.hits++
            return { value: found as never, expiresAt: undefined }
          }
          counts.misses++
          const filled = Deferred.unsafeMake<void>(FiberId.none)
          fills.set(key, [...(fills.get(key) ?? []), filled])
          const won = yield* roundTrip(() => (leases.has(key) ? false : (leases.add(key), true)))
          if (won) {
            const value = yield* load
            yield* roundTrip(() => {
              entries.set(key, value)
              leases.delete(key)
              for (const waiter of fills.get(key) ?? []) Deferred.unsafeDone(waiter, Exit.void)
              fills.delete(key)
            })
            return { value, expiresAt: undefined }
          }
          yield* Deferred.await(filled)
          counts.coalesced++
          return { value: (yield* roundTrip(() => entries.get(key))) as never, expiresAt: undefined }
        })
      },
      invalidate: () => Effect.void
    }
    return {
      bind: () => Effect.succeed(binding),
      stats: Effect.sync((): SharedTierStats => ({ ...counts }))
    }
  })
  return layer
}

describe("fleet replay: the shared tier's round trips take real time", () => {
  it.effect("a cold start of 20 instances costs the vault one read however slow the other instances' round trips", () =>
    Effect.gen(function*() {
      const burst = Array.from({ length: 20 }, () => ({ atMillis: 0, op: "read" as const, name: "db-password" }))
      const report = yield* Effect.provide(
        AccessLogReplay.replayFleet(burst, { instances: 20, routing: "round-robin", sharedTier: slowStore() }),
        vault()
      )
      expect(report.withoutShared.vaultReadRequests).toBe(20)
      expect(report.withShared).toMatchObject({ vaultReadRequests: 1, readErrors: {}, unfinished: 0 })
      expect(report.withShared!.shared).toEqual({ hits: 0, misses: 20, coalesced: 19, fallbacks: 0 })
    }))

  it.effect("a read by another instance after the fill is a shared hit, not a vault read", () =>
    Effect.gen(function*() {
      // Instance 0 loads at 0 s; instance 1 reads at 5 s and finds instance 0's answer in the store.
      const events = [
        { atMillis: 0, op: "read" as const, name: "api-key" },
        { atMillis: 5_000, op: "read" as const, name: "api-key" }
      ]
      const report = yield* Effect.provide(
        AccessLogReplay.replayFleet(events, { instances: 2, routing: "round-robin", sharedTier: slowStore() }),
        vault()
      )
      expect(report.withShared).toMatchObject({ vaultReadRequests: 1, readErrors: {}, unfinished: 0 })
      expect(report.withShared!.shared).toEqual({ hits: 1, misses: 1, coalesced: 0, fallbacks: 0 })
    }))
})
