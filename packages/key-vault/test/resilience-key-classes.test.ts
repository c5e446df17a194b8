/**
 * The client's limiter keeps key traffic within the key class's own budget (Azure's limits for key creates and HSM
 * key operations are far below the vault's 4,000 operations per 10 s) without holding secret traffic back. On
 * TestClock, against the in-process emulator.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as KeyVault from "../src/KeyVault.js"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { Cryptography } from "../src/crypto/Cryptography.js"
import { Keys } from "../src/keys/Keys.js"
import { Secrets } from "../src/secrets/Secrets.js"

const client = (keyLimits: Record<string, { create?: number; other?: number }>) =>
  KeyVault.layer({
    vaultUrl: "https://myvault.vault.azure.net",
    cache: { enabled: false },
    resilience: { retry: false, circuitBreaker: false, rateLimiter: { share: 1, keyLimits } }
  }).pipe(Layer.provideMerge(Layer.merge(Emulator.layerFresh(), TokenProvider.layerStatic())))

describe("rate limiter: key classes", () => {
  it.effect("holds HSM key creates at their class budget while secret traffic goes through", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.EmulatorService
      const keys = yield* Keys
      const secrets = yield* Secrets
      yield* secrets.set("warm-up", "v") // the challenge is learned; every later call is one request
      const creates = yield* Effect.fork(
        Effect.all(Array.from({ length: 4 }, (_, i) => keys.create(`hsm-${i}`, "EC-HSM")), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust(0)
      const createsNow = yield* emulator.journal.query({ operation: "createKey" })
      expect(createsNow).toHaveLength(2)
      // Secret reads and writes are not queued behind the key creates.
      for (let i = 0; i < 5; i++) yield* secrets.set(`s-${i}`, "v")
      expect(yield* emulator.journal.query({ operation: "setSecret", status: 200 })).toHaveLength(6)
      // A software key of the same curve has a budget of its own.
      yield* keys.create("soft", "EC")
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(creates)
      expect(yield* emulator.journal.query({ operation: "createKey" })).toHaveLength(5)
    }).pipe(Effect.provide(client({ "EC-HSM-P-256": { create: 2 } }))))

  it.effect("counts cryptography against the key's class: an HSM key's operations wait, a software key's do not", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.EmulatorService
      const keys = yield* Keys
      const crypto = yield* Cryptography
      yield* keys.create("hsm", "EC-HSM")
      yield* keys.create("soft", "EC")
      const digest = new Uint8Array(32).fill(7)
      const signs = yield* Effect.fork(
        Effect.all(Array.from({ length: 3 }, () => crypto.sign({ name: "hsm" }, "ES256", digest)), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust(0)
      // The key fetch for validation and the first sign fit the HSM class's 2 operations; the others wait.
      const signedNow = (yield* emulator.journal.query({ operation: "sign" })).length
      expect(signedNow).toBeLessThan(3)
      yield* crypto.sign({ name: "soft" }, "ES256", digest)
      expect((yield* emulator.journal.query({ operation: "sign" })).length).toBe(signedNow + 1)
      yield* TestClock.adjust("20 seconds")
      yield* Fiber.join(signs)
      expect((yield* emulator.journal.query({ operation: "sign" })).length).toBe(4)
    }).pipe(Effect.provide(client({ "EC-HSM-P-256": { other: 2 } }))))
})
