/**
 * The in-memory key material cache: one load per key and version, case-insensitive names, invalidation of every
 * version of a name, no resurrection by a load that raced with an invalidation, bounded size.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Crypto from "node:crypto"
import * as KeyMaterialCache from "../src/keys/KeyMaterialCache.js"
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
