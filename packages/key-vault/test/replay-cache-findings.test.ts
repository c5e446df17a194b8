/**
 * What the replay work found in the cache (now fixed), kept as tests of the behaviour users rely on.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import * as KeyVault from "../src/KeyVault.js"
import { Secrets } from "../src/secrets/Secrets.js"
import { VaultCache } from "../src/cache/VaultCache.js"

const client = KeyVault.layer({ vaultUrl: "https://findings.vault.azure.net" }).pipe(
  Layer.provide(Layer.merge(Emulator.layerFresh(), TokenProvider.layerStatic()))
)

describe("VaultCache findings", () => {
  // The cache lookup must happen when the Effect runs, not when `secrets.get(name)` is called: an Effect built once
  // and run again (a variable, `Effect.repeat`, `Effect.retry`, a Schedule-driven poller) must see writes and expiry.
  it.effect("a get Effect built once answers the current value each time it runs", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* secrets.set("db-password", "old")
      yield* secrets.get("db-password")
      const readPassword = secrets.get("db-password")
      yield* secrets.set("db-password", "new")
      expect(Redacted.value((yield* secrets.get("db-password")).value)).toBe("new")
      expect(Redacted.value((yield* readPassword).value)).toBe("new")
    }).pipe(Effect.provide(client)))

  it.effect("a get Effect built once goes back to the vault after the TTL", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const cache = yield* VaultCache
      yield* secrets.set("api-key", "v1")
      yield* secrets.get("api-key")
      const readKey = secrets.get("api-key")
      yield* TestClock.adjust("2 hours")
      const before = yield* cache.stats
      yield* readKey
      const after = yield* cache.stats
      // Two hours past a 5-minute TTL, the read must be a miss (or at least count as a cache read at all).
      expect(after.misses - before.misses).toBe(1)
    }).pipe(Effect.provide(client)))
})
