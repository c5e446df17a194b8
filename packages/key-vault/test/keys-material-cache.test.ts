/**
 * The in-memory key material cache: one load per key and version, case-insensitive names, invalidation of every
 * version of a name, no resurrection by a load that raced with an invalidation, bounded size (least recently used
 * first), a TTL on the Clock. And the client with its value cache switched off still fetches a key once for many local
 * verifies, and again after a change through `Keys`.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as Crypto from "node:crypto"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { Cryptography } from "../src/crypto/Cryptography.js"
import * as KeyMaterialCache from "../src/keys/KeyMaterialCache.js"
import { Keys } from "../src/keys/Keys.js"
import * as KeyVault from "../src/KeyVault.js"
import { keyVaultKeyOf } from "./crypto-support.js"

const VAULT = "https://myvault.vault.azure.net"
const publicKey = Crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey
const keyNamed = (name: string, version?: string) =>
  keyVaultKeyOf(publicKey, { vaultUrl: VAULT, name, ...(version === undefined ? {} : { version }) })

describe("KeyMaterialCache.makeMemory", () => {
  it.effect("loads once per name and version, ignoring the case of names", () =>
    Effect.gen(function*() {
      const cache = yield* KeyMaterialCache.makeMemory()
      let loads = 0
      const load = (name: string) => Effect.sync(() => (loads++, keyNamed(name)))
      const first = yield* cache.getOrLoad("Signer", undefined, load("Signer"))
      expect(yield* cache.getOrLoad("signer", undefined, load("signer"))).toBe(first)
      yield* cache.getOrLoad("signer", "0123456789abcdef0123456789abcdef", load("signer"))
      expect(loads).toBe(2)
    }))

  it.effect("invalidates every version of a name and nothing else", () =>
    Effect.gen(function*() {
      const cache = yield* KeyMaterialCache.makeMemory()
      let loads = 0
      const load = (name: string) => Effect.sync(() => (loads++, keyNamed(name)))
      yield* cache.getOrLoad("a", undefined, load("a"))
      yield* cache.getOrLoad("a", "0123456789abcdef0123456789abcdef", load("a"))
      yield* cache.getOrLoad("ab", undefined, load("ab"))
      yield* cache.invalidate("A")
      yield* cache.getOrLoad("a", undefined, load("a"))
      yield* cache.getOrLoad("a", "0123456789abcdef0123456789abcdef", load("a"))
      yield* cache.getOrLoad("ab", undefined, load("ab"))
      expect(loads).toBe(5)
    }))

  it.effect("does not keep a load that finished after an invalidation of its name", () =>
    Effect.gen(function*() {
      const cache = yield* KeyMaterialCache.makeMemory()
      const gate = yield* Deferred.make<void>()
      const stale = keyNamed("k")
      const slow = Effect.as(Deferred.await(gate), stale)
      const fiber = yield* Effect.fork(cache.getOrLoad("k", undefined, slow))
      yield* Effect.yieldNow()
      yield* cache.invalidate("k")
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(fiber)).toBe(stale)
      const fresh = keyNamed("k")
      expect(yield* cache.getOrLoad("k", undefined, Effect.succeed(fresh))).toBe(fresh)
    }))

  it.effect("keeps a key for its TTL on the Clock, then loads it again", () =>
    Effect.gen(function*() {
      const cache = yield* KeyMaterialCache.makeMemory({ ttl: "1 minute" })
      let loads = 0
      const load = Effect.sync(() => (loads++, keyNamed("k")))
      yield* cache.getOrLoad("k", undefined, load)
      yield* TestClock.adjust("59 seconds")
      yield* cache.getOrLoad("k", undefined, load)
      expect(loads).toBe(1)
      yield* TestClock.adjust("1 second")
      yield* cache.getOrLoad("k", undefined, load)
      expect(loads).toBe(2)
    }))

  it.effect("evicts the least recently used entry beyond maxEntries", () =>
    Effect.gen(function*() {
      const cache = yield* KeyMaterialCache.makeMemory({ maxEntries: 2 })
      let loads = 0
      const load = (name: string) => Effect.sync(() => (loads++, keyNamed(name)))
      yield* cache.getOrLoad("a", undefined, load("a"))
      yield* cache.getOrLoad("b", undefined, load("b"))
      // "a" was used last, so "b" makes room for "c".
      yield* cache.getOrLoad("a", undefined, load("a"))
      yield* cache.getOrLoad("c", undefined, load("c"))
      yield* cache.getOrLoad("a", undefined, load("a"))
      expect(loads).toBe(3)
      yield* cache.getOrLoad("b", undefined, load("b"))
      expect(loads).toBe(4)
    }))

  it.effect("evicts the oldest entry beyond maxEntries", () =>
    Effect.gen(function*() {
      const cache = yield* KeyMaterialCache.makeMemory({ maxEntries: 2 })
      let loads = 0
      const load = (name: string) => Effect.sync(() => (loads++, keyNamed(name)))
      for (const name of ["a", "b", "c"]) yield* cache.getOrLoad(name, undefined, load(name))
      yield* cache.getOrLoad("c", undefined, load("c"))
      yield* cache.getOrLoad("b", undefined, load("b"))
      expect(loads).toBe(3)
      yield* cache.getOrLoad("a", undefined, load("a"))
      expect(loads).toBe(4)
    }))
})

describe("KeyMaterialCache with the value cache switched off", () => {
  const VERIFIES = 20
  const client = (localCryptography: "auto" | "remote-only") =>
    KeyVault.layer({ vaultUrl: VAULT, cache: { enabled: false }, localCryptography }).pipe(
      Layer.provideMerge(Layer.merge(Emulator.layerFresh(), TokenProvider.layerStatic()))
    )

  const signed = Effect.gen(function*() {
    const keys = yield* Keys
    const crypto = yield* Cryptography
    yield* keys.createEcKey("signer", { curve: "P-256" })
    const data = new TextEncoder().encode("what was signed")
    const signature = (yield* crypto.signData({ name: "signer" }, "ES256", data)).result
    return { keys, crypto, data, signature }
  })

  const keyFetches = Effect.flatMap(
    Emulator.EmulatorService,
    (emulator) => Effect.map(emulator.journal.query({ operation: "getKey", name: "signer" }), (entries) => entries.length)
  )

  it.effect("local verifies fetch the key once, and again after a change through Keys", () =>
    Effect.gen(function*() {
      const { crypto, data, keys, signature } = yield* signed
      for (let i = 0; i < VERIFIES; i++) {
        expect((yield* crypto.verifyData({ name: "signer" }, "ES256", data, signature)).isValid).toBe(true)
      }
      expect(yield* keyFetches).toBe(1)
      yield* keys.updateProperties("signer", { tags: { changed: "yes" } })
      yield* crypto.verifyData({ name: "signer" }, "ES256", data, signature)
      expect(yield* keyFetches).toBe(2)
    }).pipe(Effect.provide(client("auto"))))

  it.effect("remote verifies cost one round trip each, not two", () =>
    Effect.gen(function*() {
      const { crypto, data, signature } = yield* signed
      for (let i = 0; i < 5; i++) {
        expect((yield* crypto.verifyData({ name: "signer" }, "ES256", data, signature)).isValid).toBe(true)
      }
      expect(yield* keyFetches).toBe(1)
      const emulator = yield* Emulator.EmulatorService
      expect((yield* emulator.journal.query({ operation: "verify", name: "signer" })).length).toBe(5)
    }).pipe(Effect.provide(client("remote-only"))))
})
