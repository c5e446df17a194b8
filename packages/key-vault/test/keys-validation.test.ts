/**
 * Keys: bad input fails with a typed ValidationError before any request, and messages never quote private key
 * material; conversion of Node JWKs for import.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Jwk from "../src/keys/Jwk.js"
import { Keys } from "../src/keys/Keys.js"
import * as Validation from "../src/validation/Validation.js"
import { keysClient, stubVault } from "./crypto-support.js"

const VAULT = "https://myvault.vault.azure.net"

const client = () => {
  const stub = stubVault(VAULT, [])
  return { seen: stub.seen, layer: keysClient(stub.layer, { vaultUrl: VAULT }) }
}

describe("Keys: validation before any request", () => {
  it.effect("refuses bad names, types, sizes, curves, operations, dates, policies and counts", () => {
    const { seen, layer } = client()
    return Effect.gen(function*() {
      const keys = yield* Keys
      const rsa = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
      const attempts: ReadonlyArray<readonly [Effect.Effect<unknown, { readonly _tag: string; readonly field?: string }>, string]> = [
        [keys.create("bad_name", "RSA"), "name"],
        [keys.create("k", "oct" as "RSA"), "keyType"],
        [keys.create("k", "RSA", { keySize: 1024 }), "keySize"],
        [keys.create("k", "RSA", { publicExponent: 65536 }), "publicExponent"],
        [keys.create("k", "RSA", { curve: "P-256" }), "curve"],
        [keys.create("k", "EC", { keySize: 2048 }), "keySize"],
        [keys.createEcKey("k", { curve: "P-192" as "P-256" }), "curve"],
        [keys.createRsaKey("k", { keyOperations: ["encrypt", "teleport" as "encrypt"] }), "keyOperations"],
        [keys.createRsaKey("k", { keyOperations: ["sign", "sign"] }), "keyOperations"],
        [keys.createRsaKey("k", { notBefore: new Date("2031-01-01"), expiresOn: new Date("2030-01-01") }), "expiresOn"],
        [keys.createRsaKey("k", { tags: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, "v"])) }), "tags"],
        [keys.importKey("k", { kty: "RSA", n: new Uint8Array(256), e: Uint8Array.from([1, 0, 1]) }), "key"],
        [keys.importKey("k", { kty: "oct", d: new Uint8Array(32) }), "key"],
        [keys.importKey("k", { ...Jwk.fromNodeJwk(rsa.privateKey.export({ format: "jwk" })), n: undefined }), "key"],
        [keys.get("k", { version: "latest" }), "version"],
        [keys.updateProperties("k", { keyOperations: ["bogus" as "sign"] }), "keyOperations"],
        [keys.restore(new Uint8Array(0)), "backup"],
        [keys.updateRotationPolicy("k", { expiresIn: "90 days" }), "expiresIn"],
        [keys.updateRotationPolicy("k", { lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P" }] }), "lifetimeActions[0].timeAfterCreate"],
        [keys.updateRotationPolicy("k", { lifetimeActions: [{ action: "Rotate" }] }), "lifetimeActions"],
        [keys.updateRotationPolicy("k", {
          lifetimeActions: [{ action: "Notify", timeAfterCreate: "P30D", timeBeforeExpiry: "P7D" }]
        }), "lifetimeActions"],
        [keys.updateRotationPolicy("k", { lifetimeActions: [{ action: "Delete" as "Rotate", timeAfterCreate: "P30D" }] }), "lifetimeActions"],
        [keys.getRandomBytes(0), "count"],
        [keys.getRandomBytes(129), "count"],
        [keys.getRandomBytes(1.5), "count"],
        [Stream.runDrain(keys.listProperties({ maxPageSize: 26 })), "maxPageSize"],
        [Stream.runDrain(keys.listVersions("no spaces")), "name"]
      ]
      for (const [attempt, field] of attempts) {
        const error = yield* Effect.flip(attempt)
        expect(error._tag).toBe("ValidationError")
        expect(error.field).toBe(field)
      }
      expect(seen).toHaveLength(0)
    }).pipe(Effect.provide(layer))
  })

  it.effect("never quotes private key material in an import error", () => {
    const { layer } = client()
    return Effect.gen(function*() {
      const keys = yield* Keys
      const ec = Crypto.generateKeyPairSync("ec", { namedCurve: "P-256" })
      const jwk = Jwk.fromNodeJwk(ec.privateKey.export({ format: "jwk" }))
      const d = Redacted.value(jwk.d as Redacted.Redacted<Uint8Array>)
      const error = yield* Effect.flip(keys.importKey("k", { ...jwk, x: undefined }))
      const printed = `${JSON.stringify(error)} ${String(error)} ${error.message}`
      expect(printed).not.toContain(Buffer.from(d).toString("base64url"))
      expect(printed).not.toContain(Buffer.from(d).toString("hex"))
      expect(String(jwk.d)).toBe("<redacted>")
    }).pipe(Effect.provide(layer))
  })
})

describe("ISO 8601 durations for rotation policies", () => {
  it("accepts the forms Key Vault uses and refuses the rest", () => {
    for (const ok of ["P90D", "P1Y", "P3M", "P2W", "P1Y10D", "PT48H", "P1DT12H", "PT30M", "PT1S"]) {
      expect(Validation.ISO_8601_DURATION.test(ok)).toBe(true)
    }
    for (const bad of ["", "P", "PT", "P1YT", "90D", "P-1D", "P1.5D", "p90d", "P90D ", "P1H"]) {
      expect(Validation.ISO_8601_DURATION.test(bad)).toBe(false)
    }
  })
})

describe("Jwk", () => {
  it.effect("converts Node's JWKs, pads EC coordinates and strips leading zeros from RSA integers", () =>
    Effect.gen(function*() {
      const ec = Crypto.generateKeyPairSync("ec", { namedCurve: "secp256k1" })
      const jwk = Jwk.fromNodeJwk(ec.privateKey.export({ format: "jwk" }), ["sign", "verify"])
      expect(jwk.crv).toBe("P-256K")
      expect(jwk.keyOps).toEqual(["sign", "verify"])
      const shortX = jwk.x!.subarray(1)
      const wire = yield* Jwk.toWire("op", { ...jwk, x: Uint8Array.from([0, ...shortX]).subarray(1) })
      expect(wire.x!.length).toBe(32)
      expect(wire.x!.subarray(1)).toEqual(shortX)
      expect(Redacted.isRedacted(wire.d)).toBe(true)

      const rsa = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
      const rsaJwk = Jwk.fromNodeJwk(rsa.privateKey.export({ format: "jwk" }))
      const padded = Uint8Array.from([0, ...rsaJwk.n!])
      const rsaWire = yield* Jwk.toWire("op", { ...rsaJwk, n: padded })
      expect(rsaWire.n!.length).toBe(256)
      for (const member of ["d", "p", "q", "dp", "dq", "qi"] as const) expect(Redacted.isRedacted(rsaWire[member])).toBe(true)
    }))
})
