/**
 * Against a real Azure Key Vault: opt-in with KEYVAULT_E2E_TESTS=true and AZURE_KEYVAULT_URL, signing in with
 * DefaultAzureCredential (or a bearer token in AZURE_KEYVAULT_TOKEN). Otherwise the suite is reported as skipped.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as KeyVault from "../src/KeyVault.js"
import * as AzureIdentity from "../src/auth/AzureIdentity.js"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { Secrets } from "../src/secrets/Secrets.js"

const enabled = process.env["KEYVAULT_E2E_TESTS"] === "true"

describe.skipIf(!enabled)("e2e against Azure Key Vault (KEYVAULT_E2E_TESTS=true)", () => {
  const layer = () =>
    KeyVault.layerConfig().pipe(
      Layer.provide(Layer.merge(
        NodeHttpClient.layerUndici,
        process.env["AZURE_KEYVAULT_TOKEN"] === undefined
          ? AzureIdentity.layer()
          : TokenProvider.layerStatic(process.env["AZURE_KEYVAULT_TOKEN"])
      ))
    )

  it.live("sets, reads, deletes and purges a secret", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const name = `effect-e2e-${Date.now().toString(36)}`
      const set = yield* secrets.set(name, "e2e-value", { contentType: "text/plain" })
      expect(set.properties.version).toMatch(/^[0-9a-f]{32}$/)
      expect(Redacted.value((yield* secrets.get(name)).value)).toBe("e2e-value")
      yield* secrets.delete(name)
      yield* secrets.getDeleted(name).pipe(
        Effect.retry({ schedule: Schedule.spaced("2 seconds").pipe(Schedule.intersect(Schedule.recurs(20))) })
      )
      yield* secrets.purge(name)
    }).pipe(Effect.provide(layer())), 120_000)
})
