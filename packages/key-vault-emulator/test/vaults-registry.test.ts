import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Emulator from "../src/Emulator.js"
import type { EmulatorRequest } from "../src/http/Protocol.js"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const request = (method: string, url: string, body?: unknown): EmulatorRequest => ({
  method,
  url: new URL(url),
  headers: { authorization: "Bearer t", "content-type": "application/json" },
  body: body === undefined ? new Uint8Array(0) : encoder.encode(JSON.stringify(body))
})

const send = (emulator: Emulator.Emulator, method: string, url: string, body?: unknown) =>
  Effect.map(emulator.handler(request(method, url, body)), (response) => ({
    status: response.status,
    json: response.body.byteLength === 0 ? undefined : JSON.parse(decoder.decode(response.body)) as Record<string, unknown>
  }))

describe("VaultRegistry", () => {
  it.effect("routes by host label and bound port; other hosts reach the default vault", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const alpha = yield* emulator.vaults.create("alpha")
      yield* emulator.vaults.create("beta", { recoverableDays: 7 })
      yield* emulator.vaults.bindPort("beta", 9444)
      yield* send(emulator, "PUT", "https://alpha.vault.azure.net/secrets/s?api-version=7.5", { value: "a" })
      yield* send(emulator, "PUT", "https://localhost:9444/secrets/s?api-version=7.5", { value: "b" })
      yield* send(emulator, "PUT", "https://myvault.vault.azure.net/secrets/s?api-version=7.5", { value: "d" })
      const a = yield* send(emulator, "GET", "https://ALPHA.vault.azure.net/secrets/s/?api-version=7.5")
      const b = yield* send(emulator, "GET", "https://beta.localhost:8443/secrets/s/?api-version=7.5")
      const d = yield* send(emulator, "GET", "https://localhost:8443/secrets/s/?api-version=7.5")
      expect([a.json?.["value"], b.json?.["value"], d.json?.["value"]]).toEqual(["a", "b", "d"])
      expect((b.json?.["attributes"] as Record<string, unknown>)["recoverableDays"]).toBe(7)
      // Each vault journals its own requests.
      const alphaEntries = yield* alpha.journal.entries
      expect(alphaEntries.map((entry) => entry.operation)).toEqual(["setSecret", "getSecret"])
      expect(emulator.vaults.urlFor("alpha", "https://emulator.vault.azure.net")).toBe("https://alpha.vault.azure.net")
      expect(emulator.vaults.urlFor("beta", "https://localhost:8443")).toBe("https://localhost:9444")
      expect(emulator.vaults.urlFor("default", "https://localhost:8443")).toBe("https://localhost:8443")
    }))

  it.effect("create, remove and reset fail with typed errors and empty a vault", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const bad = yield* Effect.flip(emulator.vaults.create("-x"))
      expect(bad._tag).toBe("InvalidVaultSettings")
      const badDays = yield* Effect.flip(emulator.vaults.create("gamma", { recoverableDays: 0 }))
      expect(badDays.message).toContain("recoverableDays")
      const vault = yield* emulator.vaults.create("gamma")
      expect((yield* Effect.flip(emulator.vaults.create("Gamma")))._tag).toBe("VaultAlreadyExists")
      yield* vault.engine.secrets.set("s", { value: Redacted.make("v") })
      yield* emulator.vaults.reset("gamma")
      expect(Exit.isFailure(yield* Effect.exit(vault.engine.secrets.get("s")))).toBe(true)
      yield* emulator.vaults.remove("gamma")
      expect((yield* Effect.flip(emulator.vaults.get("gamma")))._tag).toBe("VaultNotFound")
      expect((yield* Effect.flip(emulator.vaults.remove("default")))._tag).toBe("VaultNotFound")
    }))

  it.effect("purge protection refuses purges with 403", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* emulator.vaults.create("locked", { purgeProtection: true })
      const base = "https://locked.vault.azure.net"
      yield* send(emulator, "PUT", `${base}/secrets/s?api-version=7.5`, { value: "x" })
      yield* send(emulator, "DELETE", `${base}/secrets/s?api-version=7.5`)
      const purge = yield* send(emulator, "DELETE", `${base}/deletedsecrets/s?api-version=7.5`)
      expect(purge.status).toBe(403)
    }))
})
