/**
 * The cache's rules, each driven by TestClock: no test sleeps.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as TestClock from "effect/TestClock"
import type * as AtRestCipher from "../src/cache/AtRestCipher.js"
import type { CacheOptions } from "../src/cache/CacheConfig.js"
import * as CacheMetrics from "../src/cache/CacheMetrics.js"
import { type EntryCodec, VaultCache } from "../src/cache/VaultCache.js"
import * as VaultCacheModule from "../src/cache/VaultCache.js"
import { ForbiddenError, NotFoundError, ServiceError } from "../src/errors/KeyVaultError.js"

/** The secrets namespace of the cache under test. */
const secretsCache = Effect.map(VaultCache, (cache) => cache.namespace("v.vault.azure.net", "secret"))

const fields = { code: "X", innerCode: undefined, message: "m", requestId: undefined }
const notFound = () => new NotFoundError({ ...fields, status: 404, code: "SecretNotFound" })
const unavailable = () => new ServiceError({ ...fields, status: 503, transient: true })
const forbidden = () => new ForbiddenError({ ...fields, status: 403, innerCode: "SecretDisabled" })

/** A fake vault: values by name, a call log, and switchable failures. */
const makeVault = () => {
  const values = new Map<string, string>()
  const failures = new Map<string, () => NotFoundError | ServiceError | ForbiddenError>()
  const calls: Array<string> = []
  const load = (name: string) =>
    Effect.suspend(() => {
      name = name.toLowerCase()
      calls.push(name)
      const failure = failures.get(name)
      if (failure !== undefined) return Effect.fail(failure())
      const value = values.get(name)
      return value === undefined ? Effect.fail(notFound()) : Effect.succeed(value)
    })
  return { values, failures, calls, load }
}

const withCache = (options: CacheOptions = {}) => Effect.provide(VaultCacheModule.layer({ jitter: 0, ...options }))

describe("VaultCache", () => {
  it.effect("serves a fresh entry without loading, and reloads after the TTL", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      vault.values.set("a", "1")
      expect(yield* cache.get("a", undefined, vault.load)).toBe("1")
      vault.values.set("a", "2")
      yield* TestClock.adjust("4 minutes")
      expect(yield* cache.get("a", undefined, vault.load)).toBe("1")
      yield* TestClock.adjust("61 seconds")
      expect(yield* cache.get("a", undefined, vault.load)).toBe("2")
      expect(vault.calls).toEqual(["a", "a"])
      expect(yield* Effect.flatMap(VaultCache, (c) => c.stats)).toMatchObject({ hits: 1, misses: 2 })
    }).pipe(withCache({ refreshAhead: false })))

  it.effect("keeps specific versions longer than latest", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      vault.values.set("a", "1")
      yield* cache.get("a", "v1", vault.load)
      yield* cache.get("a", undefined, vault.load)
      yield* TestClock.adjust("30 minutes")
      yield* cache.get("a", "v1", vault.load)
      yield* cache.get("a", undefined, vault.load)
      expect(vault.calls).toHaveLength(3)
    }).pipe(withCache({ refreshAhead: false, ttl: "5 minutes", versionTtl: "1 hour" })))

  it.effect("shortens TTLs by at most the jitter fraction", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      for (let i = 0; i < 50; i++) vault.values.set(`n${i}`, "v")
      for (let i = 0; i < 50; i++) yield* cache.get(`n${i}`, undefined, vault.load)
      yield* TestClock.adjust("79 seconds") // below 100 s × (1 - 0.2): nothing may have expired
      for (let i = 0; i < 50; i++) yield* cache.get(`n${i}`, undefined, vault.load)
      expect(vault.calls).toHaveLength(50)
      yield* TestClock.adjust("21 seconds") // at 100 s everything has expired
      for (let i = 0; i < 50; i++) yield* cache.get(`n${i}`, undefined, vault.load)
      expect(vault.calls).toHaveLength(100)
    }).pipe(Effect.provide(VaultCacheModule.layer({ ttl: "100 seconds", jitter: 0.2, refreshAhead: false }))))

  it.effect("evicts the least recently used entry beyond the bound, and counts it", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      for (const n of ["a", "b", "c", "d"]) vault.values.set(n, n)
      yield* cache.get("a", undefined, vault.load)
      yield* cache.get("b", undefined, vault.load)
      yield* cache.get("c", undefined, vault.load)
      yield* cache.get("a", undefined, vault.load) // a is now the most recent; b the least
      yield* cache.get("d", undefined, vault.load) // evicts b
      vault.calls.length = 0
      yield* cache.get("a", undefined, vault.load)
      yield* cache.get("c", undefined, vault.load)
      yield* cache.get("d", undefined, vault.load)
      expect(vault.calls).toEqual([])
      yield* cache.get("b", undefined, vault.load)
      expect(vault.calls).toEqual(["b"])
      expect(yield* Effect.flatMap(VaultCache, (c) => c.stats)).toMatchObject({ evictions: 2, size: 3 })
    }).pipe(withCache({ maxEntries: 3 })))

  it.effect("coalesces concurrent misses: 1,000 reads of 10 names make 10 loads", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      const gate = yield* Deferred.make<void>()
      for (let i = 0; i < 10; i++) vault.values.set(`s${i}`, `v${i}`)
      const slowLoad = (name: string) => Effect.zipRight(Deferred.await(gate), vault.load(name))
      const readers = yield* Effect.forkAll(
        Array.from({ length: 1000 }, (_, i) => cache.get(`s${i % 10}`, undefined, slowLoad)),
        { discard: false }
      )
      yield* Effect.yieldNow()
      yield* Deferred.succeed(gate, undefined)
      const results = yield* Fiber.join(readers)
      expect(results.every((v, i) => v === `v${i % 10}`)).toBe(true)
      expect(vault.calls).toHaveLength(10)
      expect(yield* Effect.flatMap(VaultCache, (c) => c.stats)).toMatchObject({ misses: 10, coalesced: 990 })
    }).pipe(withCache()))

  it.effect("delivers a failed load to every waiter of that key only, and the next read tries again", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      const gate = yield* Deferred.make<void>()
      vault.values.set("ok", "fine")
      vault.failures.set("bad", unavailable)
      const gated = (name: string) => Effect.zipRight(Deferred.await(gate), vault.load(name))
      const bad = yield* Effect.forkAll(Array.from({ length: 5 }, () => Effect.either(cache.get("bad", undefined, gated))))
      const good = yield* Effect.fork(cache.get("ok", undefined, gated))
      yield* Effect.yieldNow()
      yield* Deferred.succeed(gate, undefined)
      const outcomes = yield* Fiber.join(bad)
      expect(outcomes.every((o) => o._tag === "Left" && o.left._tag === "ServiceError")).toBe(true)
      expect(yield* Fiber.join(good)).toBe("fine")
      expect(vault.calls.filter((c) => c === "bad")).toHaveLength(1)
      vault.failures.delete("bad")
      vault.values.set("bad", "recovered")
      expect(yield* cache.get("bad", undefined, vault.load)).toBe("recovered")
    }).pipe(withCache()))

  it.effect("refreshes ahead: after 80% of the TTL a read returns at once and starts one background refresh", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      vault.values.set("a", "old")
      yield* cache.get("a", undefined, vault.load)
      vault.values.set("a", "new")
      yield* TestClock.adjust("79 seconds")
      expect(yield* cache.get("a", undefined, vault.load)).toBe("old")
      expect(vault.calls).toHaveLength(1)
      yield* TestClock.adjust("2 seconds")
      // Several reads past 80%: each answers from the cache; only one refresh goes out.
      for (let i = 0; i < 5; i++) expect(yield* cache.get("a", undefined, vault.load)).toBe("old")
      yield* Effect.yieldNow()
      expect(vault.calls).toHaveLength(2)
      expect(yield* cache.get("a", undefined, vault.load)).toBe("new")
      expect(yield* Effect.flatMap(VaultCache, (c) => c.stats)).toMatchObject({ refreshesOk: 1, misses: 1 })
      // The refreshed entry has a full TTL again.
      yield* TestClock.adjust("79 seconds")
      expect(yield* cache.get("a", undefined, vault.load)).toBe("new")
      expect(vault.calls).toHaveLength(2)
    }).pipe(withCache({ ttl: "100 seconds" })))

  it.effect("drops a refresh result when the entry was invalidated or written while it was in flight", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      const gate = yield* Deferred.make<void>()
      vault.values.set("a", "v1")
      yield* cache.get("a", undefined, vault.load)
      yield* TestClock.adjust("81 seconds")
      vault.values.set("a", "stale-from-refresh")
      const gated = () => Effect.zipRight(Deferred.await(gate), vault.load("a"))
      expect(yield* cache.get("a", undefined, gated)).toBe("v1") // starts the refresh, which now waits at the gate
      yield* cache.invalidate("a") // e.g. a set through this client
      vault.values.set("a", "v2")
      expect(yield* cache.get("a", undefined, vault.load)).toBe("v2")
      yield* Deferred.succeed(gate, undefined)
      yield* Effect.yieldNow()
      yield* Effect.yieldNow()
      expect(yield* cache.get("a", undefined, vault.load)).toBe("v2")
      expect(yield* Effect.flatMap(VaultCache, (c) => c.stats)).toMatchObject({ refreshesDropped: 1 })
    }).pipe(withCache({ ttl: "100 seconds" })))

  it.effect("serves the last good value for the grace period when reloading fails transiently", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      vault.values.set("a", "good")
      yield* cache.get("a", undefined, vault.load)
      yield* TestClock.adjust("101 seconds")
      vault.failures.set("a", unavailable)
      expect(yield* cache.get("a", undefined, vault.load)).toBe("good")
      expect(yield* Effect.flatMap(VaultCache, (c) => c.stats)).toMatchObject({ staleServed: 1 })
      // While serving stale, reads do not hammer the vault: the next attempt waits ttl/10.
      expect(yield* cache.get("a", undefined, vault.load)).toBe("good")
      expect(vault.calls).toHaveLength(2)
      yield* TestClock.adjust("11 seconds")
      expect(yield* cache.get("a", undefined, vault.load)).toBe("good")
      expect(vault.calls).toHaveLength(3)
      // Past the grace period the failure shows.
      yield* TestClock.adjust("60 seconds")
      expect((yield* Effect.flip(cache.get("a", undefined, vault.load)))._tag).toBe("ServiceError")
    }).pipe(withCache({ ttl: "100 seconds", staleIfError: "1 minute", refreshAhead: false })))

  it.effect("never masks a 403, 404 or disabled secret with a stale value", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      for (const [name, failure] of [["disabled", forbidden], ["gone", notFound]] as const) {
        vault.values.set(name, "good")
        yield* cache.get(name, undefined, vault.load)
        vault.failures.set(name, failure)
      }
      yield* TestClock.adjust("101 seconds")
      expect((yield* Effect.flip(cache.get("disabled", undefined, vault.load)))._tag).toBe("ForbiddenError")
      expect((yield* Effect.flip(cache.get("gone", undefined, vault.load)))._tag).toBe("NotFoundError")
      expect(yield* Effect.flatMap(VaultCache, (c) => c.stats)).toMatchObject({ staleServed: 0 })
    }).pipe(withCache({ ttl: "100 seconds", refreshAhead: false })))

  it.effect("drops an entry at once when a background refresh learns it was revoked", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      vault.values.set("a", "good")
      yield* cache.get("a", undefined, vault.load)
      yield* TestClock.adjust("81 seconds")
      vault.failures.set("a", forbidden)
      expect(yield* cache.get("a", undefined, vault.load)).toBe("good") // served; refresh runs behind it
      yield* Effect.yieldNow()
      expect((yield* Effect.flip(cache.get("a", undefined, vault.load)))._tag).toBe("ForbiddenError")
    }).pipe(withCache({ ttl: "100 seconds" })))

  it.effect("remembers not-found for its own TTL, in its own bounded store, and forgets it on invalidate", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      vault.values.set("good", "v")
      yield* cache.get("good", undefined, vault.load)
      // A flood of unknown names: bounded at 3 negatives, and the good entry survives.
      for (let i = 0; i < 10; i++) yield* Effect.either(cache.get(`unknown${i}`, undefined, vault.load))
      expect(yield* Effect.flatMap(VaultCache, (c) => c.stats)).toMatchObject({ negativeSize: 3, size: 1 })
      vault.calls.length = 0
      yield* cache.get("good", undefined, vault.load)
      expect((yield* Effect.flip(cache.get("unknown9", undefined, vault.load)))._tag).toBe("NotFoundError")
      expect(vault.calls).toEqual([])
      // Creating the name through the client invalidates it: the next read loads.
      vault.values.set("unknown9", "created")
      yield* cache.invalidate("UNKNOWN9")
      expect(yield* cache.get("unknown9", undefined, vault.load)).toBe("created")
      // And a remembered not-found expires by itself.
      vault.values.set("unknown8", "late")
      yield* TestClock.adjust("31 seconds")
      expect(yield* cache.get("unknown8", undefined, vault.load)).toBe("late")
    }).pipe(withCache({ maxNegativeEntries: 3, negativeTtl: "30 seconds" })))

  it.effect("keeps a load other readers wait for running when one reader is interrupted", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      const gate = yield* Deferred.make<void>()
      vault.values.set("a", "v")
      const gated = () => Effect.zipRight(Deferred.await(gate), vault.load("a"))
      const first = yield* Effect.fork(cache.get("a", undefined, gated))
      const second = yield* Effect.fork(cache.get("a", undefined, gated))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(first)
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(second)).toBe("v")
      expect(vault.calls).toHaveLength(1)
    }).pipe(withCache()))

  it.effect("treats names case-insensitively, as the vault does", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      vault.values.set("db-password", "v")
      yield* cache.get("Db-Password", undefined, vault.load)
      yield* cache.get("db-password", undefined, vault.load)
      expect(vault.calls).toHaveLength(1)
    }).pipe(withCache()))

  it.effect("does not let a read after an invalidation join a load that started before it", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      const gate = yield* Deferred.make<void>()
      vault.values.set("a", "v1")
      const gated = () => Effect.zipRight(Deferred.await(gate), Effect.succeed("v1-from-old-load"))
      const old = yield* Effect.fork(cache.get("a", undefined, gated))
      yield* Effect.yieldNow()
      vault.values.set("a", "v2")
      yield* cache.invalidate("a") // e.g. a set through this client
      expect(yield* cache.get("a", undefined, vault.load)).toBe("v2")
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(old)).toBe("v1-from-old-load")
      expect(yield* cache.get("a", undefined, vault.load)).toBe("v2")
    }).pipe(withCache()))

  it.effect("with refresh-ahead off, never refreshes on a hit however long the process runs", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      vault.values.set("a", "v")
      yield* TestClock.adjust("20 days")
      yield* cache.get("a", undefined, vault.load)
      for (let i = 0; i < 5; i++) yield* cache.get("a", undefined, vault.load)
      yield* Effect.yieldNow()
      expect(vault.calls).toHaveLength(1)
    }).pipe(withCache({ refreshAhead: false, ttl: "1 hour" })))

  it.effect("passes every read through when switched off", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      vault.values.set("a", "v")
      yield* cache.get("a", undefined, vault.load)
      yield* cache.get("a", undefined, vault.load)
      expect(vault.calls).toHaveLength(2)
    }).pipe(withCache({ enabled: false })))

  it.effect("counts hits and misses in Effect metrics", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      vault.values.set("metered", "v")
      const hits = Metric.tagged(CacheMetrics.hits, "object_type", "secret")
      const before = (yield* Metric.value(hits)).count
      yield* cache.get("metered", undefined, vault.load)
      yield* cache.get("metered", undefined, vault.load)
      yield* cache.get("metered", undefined, vault.load)
      expect((yield* Metric.value(hits)).count - before).toBe(2)
    }).pipe(withCache()))
})

describe("VaultCache encryption at rest", () => {
  /** A codec like the secrets service's: the value sealed, and a handle on what was stored. */
  const sealing = () => {
    const stored: Array<AtRestCipher.Sealed> = []
    const codec: EntryCodec<string> = {
      encode: (value, cipher) => {
        const sealed = cipher!.seal(value)
        stored.push(sealed)
        return sealed
      },
      decode: (s, cipher) => cipher!.open(s as AtRestCipher.Sealed)
    }
    return { stored, codec }
  }

  it.effect("stores ciphertext only, and round-trips the value", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      vault.values.set("a", "PLAINTEXT-SECRET")
      const { codec, stored } = sealing()
      expect(yield* cache.get("a", undefined, vault.load, codec)).toBe("PLAINTEXT-SECRET")
      expect(yield* cache.get("a", undefined, vault.load, codec)).toBe("PLAINTEXT-SECRET")
      expect(vault.calls).toHaveLength(1)
      expect(Buffer.from(stored[0]!.ciphertext).toString("utf8")).not.toContain("PLAINTEXT")
      expect(stored[0]!.iv).toHaveLength(12)
    }).pipe(withCache({ encryptAtRest: true })))

  it.effect("drops a tampered entry and reloads it instead of serving it", () =>
    Effect.gen(function*() {
      const cache = yield* secretsCache
      const vault = makeVault()
      vault.values.set("a", "secret-value")
      const { codec, stored } = sealing()
      yield* cache.get("a", undefined, vault.load, codec)
      stored[0]!.ciphertext[0]! ^= 0x01
      expect(yield* cache.get("a", undefined, vault.load, codec)).toBe("secret-value")
      expect(vault.calls).toHaveLength(2)
      expect(yield* Effect.flatMap(VaultCache, (c) => c.stats)).toMatchObject({ tamperedDropped: 1 })
    }).pipe(withCache({ encryptAtRest: { key: new Uint8Array(32).fill(7) } })))
})
