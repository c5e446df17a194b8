/**
 * A restore blob is untrusted input: one that passes the envelope but carries impossible data must be refused with
 * a 400 and leave the vault exactly as it was.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Emulator from "../src/Emulator.js"
import type { EmulatorRequest } from "../src/http/Protocol.js"

const VAULT = "https://myvault.vault.azure.net"

const request = (method: string, path: string, body?: unknown): EmulatorRequest => ({
  method,
  url: new URL(`${VAULT}${path}${path.includes("?") ? "&" : "?"}api-version=2025-07-01`),
  headers: { authorization: "Bearer t", "content-type": "application/json" },
  body: body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body))
})

const blobOf = (payload: unknown): string =>
  Buffer.concat([
    Buffer.from(")EffectAzureKeyVaultEmulatorBackupV1."),
    Buffer.from(JSON.stringify({ format: 1, kind: "secret", payload }))
  ]).toString("base64url")

describe("restore of a crafted blob", () => {
  it.effect("refuses out-of-range timestamps with 400 and leaves every list working", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const poisoned = blobOf({
        name: "poison",
        versions: [{ version: "0".repeat(32), value: "v", enabled: true, created: 1e15, updated: 1e15 }]
      })
      const restored = yield* emulator.handler(request("POST", "/secrets/restore", { value: poisoned }))
      expect(restored.status).toBe(400)
      expect(JSON.parse(new TextDecoder().decode(restored.body)).error.code).toBe("BadParameter")
      for (const path of ["/secrets", "/deletedsecrets", "/secrets/poison/"]) {
        const response = yield* emulator.handler(request("GET", path))
        expect(response.status).not.toBe(500)
      }
      expect((yield* emulator.handler(request("GET", "/secrets/poison/"))).status).toBe(404)
    }))
})
