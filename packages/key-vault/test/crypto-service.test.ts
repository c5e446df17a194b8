/**
 * The Cryptography service over a stub vault that only serves keys: validation happens before any request, the key is
 * fetched once, local mode sends nothing for verify / encrypt / wrapKey, remote-only mode sends them, and spans say
 * where the work happened without carrying data.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Crypto from "node:crypto"
import { Cryptography } from "../src/crypto/Cryptography.js"
import { Keys } from "../src/keys/Keys.js"
import { digestFor, keysClient, nodeDecrypt, nodeSign, stubVault } from "./crypto-support.js"
import { type RecordedSpan, recordingTracer } from "./tracing-support.js"

const VAULT = "https://myvault.vault.azure.net"
const V1 = "0123456789abcdef0123456789abcdef"
const rsa = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
const p256 = Crypto.generateKeyPairSync("ec", { namedCurve: "P-256" })
const data = new TextEncoder().encode("payload")

const vault = (options: { readonly localCryptography?: "auto" | "remote-only" } = {}) => {
  const stub = stubVault(VAULT, [
    { name: "rsa-key", version: V1, key: rsa.publicKey },
    { name: "ec-key", version: V1, key: p256.publicKey },
    { name: "verify-only", version: V1, key: rsa.publicKey, keyOps: ["verify"] },
    { name: "disabled", version: V1, key: rsa.publicKey, enabled: false },
    { name: "expiring", version: V1, key: rsa.publicKey, expiresOn: new Date("2030-01-01T00:00:00Z") },
    { name: "future", version: V1, key: rsa.publicKey, notBefore: new Date("2030-01-01T00:00:00Z") }
  ])
  return { seen: stub.seen, layer: keysClient(stub.layer, { vaultUrl: VAULT, ...options }) }
}

const posts = (seen: ReadonlyArray<{ readonly method: string }>) => seen.filter((r) => r.method === "POST").length

describe("Cryptography: validation before any request", () => {
  it.effect("refuses unknown algorithms, wrong digests, bad references and empty input without a single request", () => {
    const { seen, layer } = vault()
    return Effect.gen(function*() {
      const crypto = yield* Cryptography
      const digest = digestFor("RS256", data)
      const attempts: ReadonlyArray<readonly [Effect.Effect<unknown, { readonly _tag: string; readonly field?: string }>, string]> = [
        [crypto.encrypt({ name: "rsa-key" }, "RSA-OAEP-512" as "RSA-OAEP", data), "algorithm"],
        [crypto.sign({ name: "rsa-key" }, "HS256" as "RS256", digest), "algorithm"],
        [crypto.sign({ name: "rsa-key" }, "RS256", digest.subarray(1)), "digest"],
        [crypto.verify({ name: "rsa-key" }, "RS384", digest, new Uint8Array(256)), "digest"],
        [crypto.verify({ name: "rsa-key" }, "RS256", digest, new Uint8Array(0)), "signature"],
        [crypto.encrypt({ name: "rsa-key" }, "RSA-OAEP", new Uint8Array(0)), "plaintext"],
        [crypto.encrypt({ name: "bad_name" }, "RSA-OAEP", data), "name"],
        [crypto.encrypt({ name: "rsa-key", version: "v1" }, "RSA-OAEP", data), "version"],
        [crypto.encrypt("https://othervault.vault.azure.net/keys/rsa-key/" + V1, "RSA-OAEP", data), "keyId"],
        [crypto.encrypt(`${VAULT}/secrets/rsa-key/${V1}`, "RSA-OAEP", data), "keyId"],
        [crypto.encrypt("not a url", "RSA-OAEP", data), "keyId"]
      ]
      for (const [attempt, field] of attempts) {
        const error = yield* Effect.flip(attempt)
        expect(error._tag).toBe("ValidationError")
        expect(error.field).toBe(field)
      }
      expect(seen).toHaveLength(0)
    }).pipe(Effect.provide(layer))
  })

  it.effect("refuses what the key cannot do, once the key is known, without a further request", () => {
    const { seen, layer } = vault()
    return Effect.gen(function*() {
      const crypto = yield* Cryptography
      // One GET per key fetches its public part and attributes.
      for (const name of ["rsa-key", "ec-key", "verify-only", "disabled", "future"]) {
        yield* Effect.either(crypto.verify({ name }, "RS256", digestFor("RS256", data), new Uint8Array(256)))
      }
      const gets = seen.length
      expect(seen.every((r) => r.method === "GET")).toBe(true)
      const attempts: ReadonlyArray<readonly [Effect.Effect<unknown, { readonly _tag: string; readonly field?: string }>, string]> = [
        [crypto.sign({ name: "ec-key" }, "RS256", digestFor("RS256", data)), "algorithm"],
        [crypto.encrypt({ name: "ec-key" }, "RSA-OAEP", data), "algorithm"],
        [crypto.sign({ name: "ec-key" }, "ES384", digestFor("ES384", data)), "algorithm"],
        [crypto.verify({ name: "rsa-key" }, "ES256", digestFor("ES256", data), new Uint8Array(64)), "algorithm"],
        [crypto.sign({ name: "verify-only" }, "RS256", digestFor("RS256", data)), "keyOperations"],
        [crypto.encrypt({ name: "verify-only" }, "RSA-OAEP", data), "keyOperations"],
        [crypto.wrapKey({ name: "verify-only" }, "RSA-OAEP", data), "keyOperations"],
        [crypto.decrypt({ name: "disabled" }, "RSA-OAEP", new Uint8Array(256)), "enabled"],
        [crypto.encrypt({ name: "future" }, "RSA-OAEP", data), "notBefore"],
        [crypto.encrypt({ name: "rsa-key" }, "RSA-OAEP-256", new Uint8Array(191)), "plaintext"],
        [crypto.wrapKey({ name: "rsa-key" }, "RSA1_5", new Uint8Array(246)), "keyToWrap"]
      ]
      for (const [attempt, field] of attempts) {
        const error = yield* Effect.flip(attempt)
        expect(error._tag).toBe("ValidationError")
        expect(error.field).toBe(field)
      }
      expect(seen.length).toBe(gets)
    }).pipe(Effect.provide(layer))
  })

  it.effect("refuses an expired key by the Clock, with no request", () => {
    const { seen, layer } = vault()
    return Effect.gen(function*() {
      const crypto = yield* Cryptography
      yield* TestClock.setTime(Date.parse("2029-12-31T23:59:00Z"))
      const before = yield* crypto.encrypt({ name: "expiring" }, "RSA-OAEP", data)
      expect(nodeDecrypt(rsa.privateKey, "RSA-OAEP", before.result)).toEqual(data)
      const requests = seen.length
      yield* TestClock.adjust("1 minute")
      const error = yield* Effect.flip(crypto.encrypt({ name: "expiring" }, "RSA-OAEP", data))
      expect(error._tag === "ValidationError" && error.field).toBe("expiresOn")
      const signing = yield* Effect.flip(crypto.sign({ name: "expiring" }, "PS256", digestFor("PS256", data)))
      expect(signing._tag === "ValidationError" && signing.field).toBe("expiresOn")
      expect(seen.length).toBe(requests)
    }).pipe(Effect.provide(layer))
  })

  it.effect("reports a missing key as NotFoundError", () => {
    const { layer } = vault()
    return Effect.gen(function*() {
      const crypto = yield* Cryptography
      const error = yield* Effect.flip(crypto.encrypt({ name: "nope" }, "RSA-OAEP", data))
      expect(error._tag).toBe("NotFoundError")
    }).pipe(Effect.provide(layer))
  })
})

describe("Cryptography: where the work happens", () => {
  it.effect("auto: one GET, then encrypt, wrapKey, verify and verifyData run locally with the key's id", () => {
    const { seen, layer } = vault()
    return Effect.gen(function*() {
      const crypto = yield* Cryptography
      const kid = `${VAULT}/keys/rsa-key/${V1}`
      const encrypted = yield* crypto.encrypt({ name: "rsa-key" }, "RSA-OAEP-256", data)
      expect(encrypted).toMatchObject({ keyId: kid, algorithm: "RSA-OAEP-256" })
      expect(nodeDecrypt(rsa.privateKey, "RSA-OAEP-256", encrypted.result)).toEqual(data)
      const wrapped = yield* crypto.wrapKey(kid, "RSA1_5", new Uint8Array(32).fill(7))
      expect(nodeDecrypt(rsa.privateKey, "RSA1_5", wrapped.result)).toEqual(new Uint8Array(32).fill(7))
      const signature = nodeSign(rsa.privateKey, "PS384", data)
      expect(yield* crypto.verifyData({ name: "rsa-key" }, "PS384", data, signature)).toEqual({ isValid: true, keyId: kid, algorithm: "PS384" })
      expect((yield* crypto.verify({ name: "rsa-key" }, "PS384", digestFor("PS384", data), signature)).isValid).toBe(true)
      expect((yield* crypto.verifyData({ name: "rsa-key" }, "PS384", new Uint8Array([1]), signature)).isValid).toBe(false)
      const ecSignature = nodeSign(p256.privateKey, "ES256", data)
      expect((yield* crypto.verifyData({ name: "ec-key" }, "ES256", data, ecSignature)).isValid).toBe(true)
      // The versioned id and the version-less name are separate cache entries: one GET each, nothing else.
      expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual([
        "GET /keys/rsa-key/",
        `GET /keys/rsa-key/${V1}`,
        "GET /keys/ec-key/"
      ])
    }).pipe(Effect.provide(layer))
  })

  it.effect("auto: decrypt, unwrapKey, sign and signData go to the vault, version-less or versioned", () => {
    const { seen, layer } = vault()
    return Effect.gen(function*() {
      const crypto = yield* Cryptography
      const signed = yield* crypto.signData({ name: "rsa-key" }, "RS256", data)
      expect(signed.keyId).toBe(`${VAULT}/keys/rsa-key/${V1}`)
      expect(signed.result).toEqual(Uint8Array.from([0, 1, 2]))
      yield* crypto.sign({ name: "ec-key", version: V1 }, "ES256", digestFor("ES256", data))
      yield* crypto.decrypt({ name: "rsa-key" }, "RSA-OAEP", new Uint8Array(256))
      yield* crypto.unwrapKey(`${VAULT}/keys/rsa-key`, "RSA-OAEP-256", new Uint8Array(256))
      const remote = seen.filter((r) => r.method === "POST")
      expect(remote.map((r) => r.path)).toEqual([
        "/keys/rsa-key//sign",
        `/keys/ec-key/${V1}/sign`,
        "/keys/rsa-key//decrypt",
        "/keys/rsa-key//unwrapkey"
      ])
      // signData sends the digest, never the data.
      expect(JSON.parse(remote[0]!.body)).toEqual({
        alg: "RS256",
        value: Buffer.from(digestFor("RS256", data)).toString("base64url")
      })
    }).pipe(Effect.provide(layer))
  })

  it.effect("remote-only: encrypt, wrapKey and verify go to the vault too", () => {
    const { seen, layer } = vault({ localCryptography: "remote-only" })
    return Effect.gen(function*() {
      const crypto = yield* Cryptography
      yield* crypto.encrypt({ name: "rsa-key" }, "RSA-OAEP", data)
      yield* crypto.wrapKey({ name: "rsa-key" }, "RSA-OAEP", data)
      const verified = yield* crypto.verify({ name: "ec-key" }, "ES256", digestFor("ES256", data), new Uint8Array(64))
      expect(verified.isValid).toBe(true)
      expect(posts(seen)).toBe(3)
      expect(seen.filter((r) => r.method === "POST").map((r) => r.path)).toEqual([
        "/keys/rsa-key//encrypt",
        "/keys/rsa-key//wrapkey",
        "/keys/ec-key//verify"
      ])
    }).pipe(Effect.provide(layer))
  })

  it.effect("Keys mutations invalidate the cached key, so the next operation fetches it again", () => {
    const { seen, layer } = vault()
    return Effect.gen(function*() {
      const crypto = yield* Cryptography
      const keys = yield* Keys
      yield* crypto.encrypt({ name: "rsa-key" }, "RSA-OAEP", data)
      yield* crypto.encrypt({ name: "rsa-key" }, "RSA-OAEP", data)
      expect(seen.filter((r) => r.method === "GET")).toHaveLength(1)
      // The stub refuses PATCH with a 400; the key is forgotten anyway, since the outcome is not known.
      yield* Effect.either(keys.updateProperties("RSA-KEY", { enabled: false }))
      yield* crypto.encrypt({ name: "rsa-key" }, "RSA-OAEP", data)
      expect(seen.filter((r) => r.method === "GET")).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  })
})

type Recorded = RecordedSpan

describe("Cryptography: telemetry", () => {
  it.effect("spans name the key, operation, algorithm and location, never the data", () => {
    const { layer } = vault()
    const spans: Array<Recorded> = []
    const plaintext = new TextEncoder().encode("SPAN-PLAINTEXT")
    return Effect.gen(function*() {
      const crypto = yield* Cryptography
      yield* crypto.encrypt({ name: "rsa-key" }, "RSA-OAEP", plaintext)
      yield* crypto.decrypt({ name: "rsa-key" }, "RSA-OAEP", new Uint8Array(256))
      yield* Effect.either(crypto.encrypt({ name: "rsa-key" }, "BOGUS" as "RSA-OAEP", plaintext))
      const ours = spans.filter((s) => s.name.startsWith("Cryptography."))
      expect(ours.map((s) => s.name)).toEqual(["Cryptography.encrypt", "Cryptography.decrypt", "Cryptography.encrypt"])
      expect(Object.fromEntries(ours[0]!.attributes)).toMatchObject({
        "keyvault.vault_host": "myvault.vault.azure.net",
        "keyvault.object_type": "key",
        "keyvault.operation": "encrypt",
        "keyvault.name": "rsa-key",
        "keyvault.algorithm": "RSA-OAEP",
        "keyvault.crypto_location": "local"
      })
      expect(ours[1]!.attributes.get("keyvault.crypto_location")).toBe("remote")
      // A refused algorithm is neither traced nor given a location.
      expect(ours[2]!.attributes.has("keyvault.crypto_location")).toBe(false)
      expect(ours[2]!.attributes.has("keyvault.algorithm")).toBe(false)
      expect(ours[2]!.attributes.get("keyvault.name")).toBe("rsa-key")
      const everything = JSON.stringify(spans.map((s) => [...s.attributes]))
      expect(everything).not.toContain("SPAN-PLAINTEXT")
      expect(everything).not.toContain(Buffer.from(plaintext).toString("base64url"))
    }).pipe(Effect.provide(layer), Effect.withTracer(recordingTracer(spans)))
  })
})
