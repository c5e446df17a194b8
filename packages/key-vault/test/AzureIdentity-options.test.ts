/**
 * Invalid AzureIdentity options are a typed ValidationError naming the option, raised before any credential is
 * touched, instead of a defect thrown by `Duration.decode`.
 */
import type { TokenCredential } from "@azure/core-auth"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as AzureIdentity from "../src/auth/AzureIdentity.js"
import { TokenProvider } from "../src/auth/TokenProvider.js"

const makeCredential = () => {
  const state = { calls: 0 }
  const credential: TokenCredential = {
    getToken: async () => {
      state.calls++
      return { token: "t", expiresOnTimestamp: 3_600_000 }
    }
  }
  return { state, credential }
}

describe("AzureIdentity options", () => {
  it.scoped("an unreadable duration is a ValidationError naming the option, not a defect", () =>
    Effect.gen(function*() {
      const { credential, state } = makeCredential()
      const cases: Array<[AzureIdentity.AzureIdentityOptions, string]> = [
        [{ credential, refreshBeforeExpiry: "five minutes" as Duration.DurationInput }, "refreshBeforeExpiry"],
        [{ credential, refreshRetryInterval: "soon" as Duration.DurationInput }, "refreshRetryInterval"],
        [{ credential, refreshRetryInterval: 0 }, "refreshRetryInterval"],
        [{ credential, refreshRetryInterval: Duration.infinity }, "refreshRetryInterval"],
        [{ credential, refreshBeforeExpiry: Duration.infinity }, "refreshBeforeExpiry"]
      ]
      for (const [options, field] of cases) {
        const exit = yield* Effect.exit(AzureIdentity.make(options))
        expect(Exit.isFailure(exit) && exit.cause._tag).toBe("Fail")
        const error = yield* Effect.flip(AzureIdentity.make(options))
        expect(error._tag).toBe("ValidationError")
        expect(error._tag === "ValidationError" && error.field).toBe(field)
        expect(error.message).toContain(field)
      }
      expect(state.calls).toBe(0)
    }))

  it.effect("the layer fails the same way", () =>
    Effect.gen(function*() {
      const { credential } = makeCredential()
      const error = yield* Effect.flip(
        Effect.provide(TokenProvider, AzureIdentity.layer({ credential, refreshRetryInterval: "x" as Duration.DurationInput }))
      )
      expect(error._tag).toBe("ValidationError")
    }))

  it.scoped("valid options still give tokens", () =>
    Effect.gen(function*() {
      const { credential } = makeCredential()
      const provider = yield* AzureIdentity.make({ credential, refreshBeforeExpiry: 0, refreshRetryInterval: "1 second" })
      const token = yield* provider.getToken({ scopes: ["https://vault.azure.net/.default"] })
      expect(Redacted.value(token.token)).toBe("t")
    }))
})
