/**
 * Throttling switched on at runtime, through the admin API, in vaults created without throttle settings (the
 * default vault and a named one): the official `SecretClient` (in-process transport) meets the service's 429
 * `Throttled` on its next call, and is served again once the switch is off.
 */
import type { TokenCredential } from "@azure/core-auth"
import { SecretClient } from "@azure/keyvault-secrets"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Emulator from "../src/Emulator.js"
import { makeAzureHttpClient } from "../src/testing/AzureSdkTransport.js"
import { admin } from "./admin-support.js"
import { restError } from "./sdk-support.js"

const credential: TokenCredential = {
  getToken: async () => ({ token: "emulator", expiresOnTimestamp: Date.now() + 3_600_000 })
}

const clientFor = (emulator: Emulator.Emulator, vaultUrl: string) =>
  new SecretClient(vaultUrl, credential, {
    httpClient: makeAzureHttpClient(emulator),
    // No retries: the 429 reaches the test at once instead of after the SDK's back-off.
    retryOptions: { maxRetries: 0 }
  })

describe("throttling switched on at runtime, met by the SDK", () => {
  for (const vault of ["default", "billing"]) {
    it(`vault '${vault}' made without throttle settings: PUT .../throttle turns it on, the SDK gets 429`, async () => {
      const emulator = await Effect.runPromise(Emulator.make())
      if (vault !== "default") await Effect.runPromise(emulator.admin.vaults.create({ name: vault }))
      const url = vault === "default" ? "https://myvault.vault.azure.net" : `https://${vault}.vault.azure.net`
      const client = clientFor(emulator, url)
      await client.setSecret("api-key", "v1")
      const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

      const before = await run(admin(emulator, "GET", `/admin/vaults/${vault}/throttle`))
      expect(before.json.enabled).toBe(false)
      const on = await run(admin(emulator, "PUT", `/admin/vaults/${vault}/throttle`, {
        body: { enabled: true, limits: { secretOther: 1 }, retryAfter: true }
      }))
      expect(on.status).toBe(200)
      expect(on.json).toMatchObject({ enabled: true, limits: { secretOther: 1 }, retryAfter: true })

      expect((await client.getSecret("api-key")).value).toBe("v1")
      const throttled = await restError(client.getSecret("api-key"))
      expect(throttled.statusCode).toBe(429)
      expect(throttled.code).toBe("Throttled")
      expect(throttled.response?.headers.get("retry-after")).toBe("10")
      const journaled = await run(emulator.admin.journal.query({ vault, status: 429 }))
      expect(journaled.value.map((entry) => entry.fault?.kind)).toEqual(["Throttled"])

      const off = await run(admin(emulator, "PATCH", `/admin/vaults/${vault}/throttle`, { body: { enabled: false } }))
      expect(off.json.enabled).toBe(false)
      expect((await client.getSecret("api-key")).value).toBe("v1")
    }, 30_000)
  }
})
