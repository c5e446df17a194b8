/**
 * The at-rest encryption key never prints: not through the cache service, its config, nor any error.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Util from "node:util"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import * as AtRestCipher from "../src/cache/AtRestCipher.js"
import * as CacheConfig from "../src/cache/CacheConfig.js"
import { VaultCache } from "../src/cache/VaultCache.js"
import * as VaultCacheModule from "../src/cache/VaultCache.js"
import * as KeyVault from "../src/KeyVault.js"
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"

// A recognisable key: its hex and base64 forms must show up nowhere.
const key = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i)
const forms = (bytes: Uint8Array) => {
  const buffer = Buffer.from(bytes)
  return [
    buffer.toString("hex"),
    buffer.toString("hex").toUpperCase(),
    buffer.toString("base64"),
    buffer.toString("base64url"),
    // Node prints Uint8Arrays as decimal bytes; JSON.stringify as an object of decimal bytes.
    Array.from(bytes.subarray(0, 4)).join(", "),
    `"0":${bytes[0]},"1":${bytes[1]}`
  ]
}

const renderings = (value: unknown): Array<string> => [
  Util.inspect(value, { depth: Infinity, showHidden: true, getters: true }),
  Util.inspect(value),
  JSON.stringify(value) ?? "",
  String(value),
  Util.format("%o", value),
  Util.format("%j", value)
]

const expectNoKey = (value: unknown, bytes: Uint8Array = key) => {
  for (const text of renderings(value)) for (const form of forms(bytes)) expect(text).not.toContain(form)
}

describe("the cache's at-rest key is never printable", () => {
  it("the test's detector finds the key when it is printed raw (so the checks below can fail)", () => {
    expect(() => expectNoKey({ encryptionKey: key })).toThrow()
    expect(() => expectNoKey(Buffer.from(key).toString("base64"))).toThrow()
  })

  it("the resolved config holds the key redacted", () => {
    const config = Either.getOrThrow(CacheConfig.resolve({ encryptAtRest: { key } }))
    expect(Redacted.isRedacted(config.encryptionKey)).toBe(true)
    expectNoKey(config)
  })

  it("the key is copied: wiping the caller's array later does not change the cache's key", () => {
    const mine = Uint8Array.from(key)
    const config = Either.getOrThrow(CacheConfig.resolve({ encryptAtRest: { key: mine } }))
    mine.fill(0)
    const sealed = AtRestCipher.make(key).seal("v", "ctx")
    expect(AtRestCipher.make(config.encryptionKey as Redacted.Redacted<Uint8Array>).open(sealed, "ctx")).toBe("v")
  })

  it.scoped("the cache service, its config and its namespaces print no key bytes", () =>
    Effect.gen(function*() {
      const cache = yield* VaultCache
      expectNoKey(cache)
      expectNoKey(cache.config)
      expectNoKey(cache.namespace("v.vault.azure.net", "secret"))
      expectNoKey(AtRestCipher.make(Redacted.make(key)))
    }).pipe(Effect.provide(VaultCacheModule.layer({ encryptAtRest: { key } }))))

  it("a key given as Redacted works and stays redacted", () => {
    const config = Either.getOrThrow(CacheConfig.resolve({ encryptAtRest: { key: Redacted.make(key) } }))
    expectNoKey(config)
    const cipher = AtRestCipher.make(config.encryptionKey as Redacted.Redacted<Uint8Array>)
    expect(cipher.open(cipher.seal("plain", "k"), "k")).toBe("plain")
  })

  it.effect("errors about the cache options show no key bytes", () =>
    Effect.gen(function*() {
      const refused = CacheConfig.resolve({ encryptAtRest: { key }, ttl: -1 })
      expect(Either.isLeft(refused)).toBe(true)
      expectNoKey(refused)
      const wrongLength = Uint8Array.from(key.subarray(0, 31))
      expectNoKey(CacheConfig.resolve({ encryptAtRest: { key: wrongLength } }), wrongLength)
      // The defect of a client layer built with refused options, as a program would print it.
      const exit = yield* Effect.exit(Effect.scoped(Layer.build(
        KeyVault.layer({ vaultUrl: "https://v.vault.azure.net", cache: { encryptAtRest: { key }, ttl: -1 } }).pipe(
          Layer.provide(Layer.merge(Emulator.layerFresh(), TokenProvider.layerStatic()))
        )
      )))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        expectNoKey(exit.cause)
        for (const form of forms(key)) expect(Cause.pretty(exit.cause)).not.toContain(form)
      }
    }))
})
