import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as AzureIdentity from "../src/auth/AzureIdentity.js"
import { TokenProvider } from "../src/auth/TokenProvider.js"
import * as KeyVaultMetrics from "../src/telemetry/KeyVaultMetrics.js"

const HOUR = 3_600_000
const scope = { scopes: ["https://vault.azure.net/.default"], tenantId: "tenant-1" }

/** A credential whose tokens live one hour from the TestClock's now; `failNext` makes the next calls throw. */
const makeCredential = () => {
  const calls: Array<{ at: number; options: GetTokenOptions | undefined }> = []
  const state = { failNext: 0, now: 0 }
  const credential: TokenCredential = {
    getToken: async (_scopes, options) => {
      calls.push({ at: state.now, options })
      if (state.failNext > 0) {
        state.failNext--
        throw new Error("AADSTS700024: token service unavailable")
      }
      const token: AccessToken = { token: `token-${calls.length}`, expiresOnTimestamp: state.now + HOUR }
      return token
    }
  }
  // The credential reads time through this, kept in step with the TestClock by `sync`.
  const sync = Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => void (state.now = now)))
  return { calls, state, credential, sync }
}

const tokenValue = (request = {}) =>
  Effect.flatMap(TokenProvider, (p) => Effect.map(p.getToken({ ...scope, ...request }), (t) => Redacted.value(t.token)))

/** Advance the TestClock minute by minute, keeping the fake credential's clock in step. */
const advance = (minutes: number, sync: Effect.Effect<void>) =>
  Effect.gen(function*() {
    for (let i = 0; i < minutes; i++) {
      yield* TestClock.adjust("1 minute")
      yield* sync
      yield* Effect.yieldNow()
    }
  })

describe("AzureIdentity token provider", () => {
  it.scoped("caches a token per scope and tenant, and shares one fetch between concurrent callers", () => {
    const { calls, credential } = makeCredential()
    return Effect.gen(function*() {
      const values = yield* Effect.all(Array.from({ length: 10 }, () => tokenValue()), { concurrency: "unbounded" })
      expect(new Set(values)).toEqual(new Set(["token-1"]))
      expect(yield* tokenValue()).toBe("token-1")
      expect(yield* tokenValue({ tenantId: "tenant-2" })).toBe("token-2")
      expect(calls).toHaveLength(2)
    }).pipe(Effect.provide(AzureIdentity.layer({ credential })))
  })

  it.scoped("refreshes in the background 5 minutes before expiry, so no caller waits", () => {
    const { calls, credential, sync } = makeCredential()
    return Effect.gen(function*() {
      expect(yield* tokenValue()).toBe("token-1")
      yield* advance(54, sync)
      expect(calls).toHaveLength(1)
      yield* advance(1, sync)
      expect(calls).toHaveLength(2)
      expect(yield* tokenValue()).toBe("token-2")
    }).pipe(Effect.provide(AzureIdentity.layer({ credential })))
  })

  it.scoped("keeps refreshing after a failed attempt, spaced out, while the current token stays in use", () => {
    const { calls, credential, state, sync } = makeCredential()
    return Effect.gen(function*() {
      yield* tokenValue()
      state.failNext = 2
      yield* advance(55, sync)
      expect(calls).toHaveLength(2) // the first refresh failed
      expect(yield* tokenValue()).toBe("token-1")
      yield* TestClock.adjust("30 seconds")
      yield* sync
      yield* Effect.yieldNow()
      expect(calls).toHaveLength(3) // the second one failed too
      yield* TestClock.adjust("30 seconds")
      yield* sync
      yield* Effect.yieldNow()
      expect(calls).toHaveLength(4)
      expect(yield* tokenValue()).toBe("token-4")
    }).pipe(Effect.provide(AzureIdentity.layer({ credential })))
  })

  it.scoped("spaces refreshes out when tokens live shorter than the refresh buffer, instead of spinning", () => {
    const calls: Array<number> = []
    const credential: TokenCredential = {
      getToken: async () => {
        calls.push(calls.length)
        return { token: `short-${calls.length}`, expiresOnTimestamp: 4 * 60_000 }
      }
    }
    return Effect.gen(function*() {
      yield* tokenValue()
      for (let i = 0; i < 4; i++) {
        yield* TestClock.adjust("30 seconds")
        yield* Effect.yieldNow()
      }
      // One fetch, then at most one per 30 s.
      expect(calls.length).toBeGreaterThanOrEqual(2)
      expect(calls.length).toBeLessThanOrEqual(5)
    }).pipe(Effect.provide(AzureIdentity.layer({ credential })))
  })

  it.scoped("fetches at once on forceRefresh and passes claims through uncached", () => {
    const { calls, credential } = makeCredential()
    return Effect.gen(function*() {
      yield* tokenValue()
      expect(yield* tokenValue({ forceRefresh: true })).toBe("token-2")
      expect(yield* tokenValue()).toBe("token-2")
      expect(yield* tokenValue({ claims: "{\"access_token\":{}}" })).toBe("token-3")
      expect(calls[2]!.options?.claims).toBe("{\"access_token\":{}}")
      expect(calls[2]!.options?.tenantId).toBe("tenant-1")
      expect(yield* tokenValue()).toBe("token-2")
    }).pipe(Effect.provide(AzureIdentity.layer({ credential })))
  })

  it.scoped("turns a credential failure into a typed AuthenticationError", () => {
    const { credential, state } = makeCredential()
    state.failNext = 1
    return Effect.gen(function*() {
      const error = yield* Effect.flip(tokenValue())
      expect(error._tag).toBe("AuthenticationError")
      expect(error.message).toContain("AADSTS700024")
      expect(yield* tokenValue()).toBe("token-2")
    }).pipe(Effect.provide(AzureIdentity.layer({ credential })))
  })

  it.scoped("never prints a token", () => {
    const { credential } = makeCredential()
    return Effect.gen(function*() {
      const token = yield* Effect.flatMap(TokenProvider, (p) => p.getToken(scope))
      expect(String(token.token)).toBe("<redacted>")
      expect(JSON.stringify(token)).not.toContain("token-1")
    }).pipe(Effect.provide(AzureIdentity.layer({ credential })))
  })
})

describe("AzureIdentity token metrics", () => {
  const acquisitions = (outcome: "success" | "failure") =>
    Effect.map(Metric.value(Metric.tagged(KeyVaultMetrics.tokenAcquisitions, "outcome", outcome)), (state) => state.count)

  it.scoped("counts each call to the credential by outcome, not the cached reads", () => {
    const { credential, state } = makeCredential()
    return Effect.gen(function*() {
      const before = { success: yield* acquisitions("success"), failure: yield* acquisitions("failure") }
      state.failNext = 1
      yield* Effect.flip(tokenValue())
      yield* tokenValue()
      yield* tokenValue()
      yield* tokenValue()
      expect((yield* acquisitions("success")) - before.success).toBe(1)
      expect((yield* acquisitions("failure")) - before.failure).toBe(1)
    }).pipe(Effect.provide(AzureIdentity.layer({ credential })))
  })
})
