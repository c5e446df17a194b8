/**
 * Wire tests for keys and cryptography: the assembled client (KeyVault.layer) against the emulator's engine through
 * the in-process HttpClient Layer. No socket; TestClock drives the emulator's time.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import type { SignatureAlgorithm } from "../src/crypto/Algorithms.js"
import { Cryptography } from "../src/crypto/Cryptography.js"
import * as Jwk from "../src/keys/Jwk.js"
import { Keys } from "../src/keys/Keys.js"
import * as KeyVault from "../src/KeyVault.js"
import { digestFor, nodeDecrypt, nodeSign } from "./crypto-support.js"

const VAULT = "https://myvault.vault.azure.net"

interface Counter {
  requests: number
  posts: Array<string>
}

/** The client over a fresh in-process emulator, counting the requests that reach it. */
const makeVault = (localCryptography: "auto" | "remote-only" = "auto") => {
  const counter: Counter = { requests: 0, posts: [] }
  const counted = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.tapRequest(client, (request) =>
        Effect.sync(() => {
          counter.requests++
          if (request.method === "POST") counter.posts.push(new URL(request.url).pathname)
        })))
  ).pipe(Layer.provide(Emulator.layerFresh()))
  const layer = KeyVault.layer({ vaultUrl: VAULT, localCryptography }).pipe(
    Layer.provide(Layer.merge(counted, TokenProvider.layerStatic()))
  )
  return { counter, layer }
}

const collect = <A, E>(stream: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

const data = new TextEncoder().encode("signed over the wire")
const RSA_SIGNATURES: ReadonlyArray<SignatureAlgorithm> = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
const EC_SIGNATURES: ReadonlyArray<readonly [SignatureAlgorithm, "P-256" | "P-384" | "P-521" | "P-256K"]> = [
  ["ES256", "P-256"],
  ["ES384", "P-384"],
  ["ES512", "P-521"],
  ["ES256K", "P-256K"]
]

describe("Keys over the in-process emulator", () => {
  it.effect("creates RSA and EC keys of every size and curve, reads them by version, updates and lists them", () => {
    const { layer } = makeVault()
    return Effect.gen(function*() {
      const keys = yield* Keys
      for (const keySize of [2048, 3072]) {
        const key = yield* keys.createRsaKey(`rsa-${keySize}`, { keySize, publicExponent: 65537, tags: { size: String(keySize) } })
        expect(key.keyType).toBe("RSA")
        expect(key.key.n!.length).toBe(keySize / 8)
        expect(key.key.e).toEqual(Uint8Array.from([1, 0, 1]))
        expect(key.properties).toMatchObject({ name: `rsa-${keySize}`, enabled: true, tags: { size: String(keySize) } })
        expect(key.id).toBe(`${VAULT}/keys/rsa-${keySize}/${key.properties.version}`)
      }
      for (const [, curve] of EC_SIGNATURES) {
        const key = yield* keys.createEcKey(`ec-${curve}`, { curve, keyOperations: ["sign", "verify"] })
        expect(key).toMatchObject({ keyType: "EC", keyOperations: ["sign", "verify"] })
        expect(key.key.crv).toBe(curve)
        expect(key.key.x!.length).toBe({ "P-256": 32, "P-384": 48, "P-521": 66, "P-256K": 32 }[curve])
      }
      const v1 = yield* keys.create("versioned", "RSA", {
        notBefore: new Date("2030-01-01T00:00:00Z"),
        expiresOn: new Date("2031-01-01T00:00:00Z")
      })
      expect(v1.properties.notBefore).toEqual(new Date("2030-01-01T00:00:00Z"))
      const v2 = yield* keys.create("versioned", "RSA")
      expect((yield* keys.get("versioned")).properties.version).toBe(v2.properties.version)
      expect((yield* keys.get("versioned", { version: v1.properties.version! })).id).toBe(v1.id)

      const updated = yield* keys.updateProperties("versioned", {
        version: v1.properties.version,
        enabled: false,
        keyOperations: ["verify"],
        tags: { state: "retired" }
      })
      expect(updated).toMatchObject({ keyOperations: ["verify"], properties: { enabled: false, tags: { state: "retired" } } })

      const versions = yield* collect(keys.listVersions("versioned", { maxPageSize: 1 }))
      expect(versions.map((p) => p.version).sort()).toEqual([v1.properties.version, v2.properties.version].sort())
      const listed = yield* collect(keys.listProperties({ maxPageSize: 2 }))
      expect(listed.map((p) => p.name).sort()).toEqual(
        ["ec-P-256", "ec-P-256K", "ec-P-384", "ec-P-521", "rsa-2048", "rsa-3072", "versioned"]
      )
      expect(listed.every((p) => p.version === undefined)).toBe(true)
    }).pipe(Effect.provide(layer))
  })

  it.effect("imports RSA and EC keys with their private parts and answers with the public part only", () => {
    const { layer } = makeVault()
    return Effect.gen(function*() {
      const keys = yield* Keys
      const crypto = yield* Cryptography
      const rsa = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
      const imported = yield* keys.importKey("imported-rsa", Jwk.fromNodeJwk(rsa.privateKey.export({ format: "jwk" })), {
        tags: { origin: "node" }
      })
      const publicJwk = rsa.publicKey.export({ format: "jwk" })
      expect(Buffer.from(imported.key.n!).toString("base64url")).toBe(publicJwk.n)
      expect(JSON.stringify(imported)).not.toContain(rsa.privateKey.export({ format: "jwk" }).d!)
      // The vault now signs with the imported private key: node verifies.
      const signed = yield* crypto.signData({ name: "imported-rsa" }, "RS256", data)
      expect(Crypto.verify("sha256", data, rsa.publicKey, signed.result)).toBe(true)

      const ec = Crypto.generateKeyPairSync("ec", { namedCurve: "P-384" })
      const importedEc = yield* keys.importKey("imported-ec", Jwk.fromNodeJwk(ec.privateKey.export({ format: "jwk" }), ["sign", "verify"]), {
        hsm: false
      })
      expect(importedEc).toMatchObject({ keyType: "EC", keyOperations: ["sign", "verify"] })
      const ecSigned = yield* crypto.signData({ name: "imported-ec" }, "ES384", data)
      expect(Crypto.verify("sha384", data, { key: ec.publicKey, dsaEncoding: "ieee-p1363" }, ecSigned.result)).toBe(true)
    }).pipe(Effect.provide(layer))
  })

  it.effect("deletes, lists deleted, refuses to reuse the name, recovers, purges", () => {
    const { layer } = makeVault()
    return Effect.gen(function*() {
      const keys = yield* Keys
      yield* keys.createEcKey("doomed")
      const deleted = yield* keys.delete("doomed")
      expect(deleted.recoveryId).toBe(`${VAULT}/deletedkeys/doomed`)
      expect(deleted.key?.crv).toBe("P-256")
      expect(deleted.scheduledPurgeDate!.getTime()).toBeGreaterThan(deleted.deletedOn!.getTime())
      expect((yield* Effect.flip(keys.get("doomed")))._tag).toBe("NotFoundError")
      expect((yield* keys.getDeleted("doomed")).name).toBe("doomed")
      expect((yield* collect(keys.listDeleted())).map((d) => d.name)).toEqual(["doomed"])
      const conflict = yield* Effect.flip(keys.createEcKey("doomed"))
      expect(conflict._tag === "ConflictError" && conflict.isDeletedButRecoverable).toBe(true)
      expect((yield* keys.recover("doomed")).name).toBe("doomed")
      yield* keys.get("doomed")
      yield* keys.delete("doomed")
      yield* keys.purge("doomed")
      expect((yield* Effect.flip(keys.getDeleted("doomed")))._tag).toBe("NotFoundError")
      expect((yield* Effect.flip(keys.purge("doomed")))._tag).toBe("NotFoundError")
    }).pipe(Effect.provide(layer))
  })

  it.effect("backs up a key with all versions and restores it with the same key material", () => {
    const { layer } = makeVault()
    return Effect.gen(function*() {
      const keys = yield* Keys
      const first = yield* keys.createRsaKey("kept")
      yield* keys.rotate("kept")
      const blob = yield* keys.backup("kept")
      expect(blob.length).toBeGreaterThan(0)
      expect((yield* Effect.flip(keys.restore(blob)))._tag).toBe("ConflictError")
      yield* keys.delete("kept")
      yield* keys.purge("kept")
      const restored = yield* keys.restore(blob)
      expect(restored.name).toBe("kept")
      expect((yield* keys.get("kept", { version: first.properties.version! })).key.n).toEqual(first.key.n)
      expect(yield* collect(keys.listVersions("kept"))).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("rotates a key and manages its rotation policy", () => {
    const { layer } = makeVault()
    return Effect.gen(function*() {
      const keys = yield* Keys
      const first = yield* keys.createRsaKey("rotating", { keySize: 3072, keyOperations: ["sign", "verify"] })
      const rotated = yield* keys.rotate("rotating")
      expect(rotated.properties.version).not.toBe(first.properties.version)
      expect(rotated.key.n!.length).toBe(384)
      expect(rotated.keyOperations).toEqual(["sign", "verify"])
      expect(rotated.key.n).not.toEqual(first.key.n)

      const policy = yield* keys.updateRotationPolicy("rotating", {
        expiresIn: "P90D",
        lifetimeActions: [
          { action: "Rotate", timeAfterCreate: "P30D" },
          { action: "Notify", timeBeforeExpiry: "P7D" }
        ]
      })
      expect(policy.expiresIn).toBe("P90D")
      expect(policy.lifetimeActions).toEqual([
        { action: "Rotate", timeAfterCreate: "P30D" },
        { action: "Notify", timeBeforeExpiry: "P7D" }
      ])
      expect((yield* keys.getRotationPolicy("rotating")).lifetimeActions).toEqual(policy.lifetimeActions)
      expect((yield* Effect.flip(keys.rotate("missing")))._tag).toBe("NotFoundError")
    }).pipe(Effect.provide(layer))
  })

  it.effect("returns random bytes from the vault", () => {
    const { layer } = makeVault()
    return Effect.gen(function*() {
      const keys = yield* Keys
      const a = yield* keys.getRandomBytes(128)
      const b = yield* keys.getRandomBytes(1)
      expect(a.length).toBe(128)
      expect(b.length).toBe(1)
      expect(a).not.toEqual(yield* keys.getRandomBytes(128))
    }).pipe(Effect.provide(layer))
  })
})

describe("Cryptography over the in-process emulator", () => {
  it.effect("the vault decrypts and unwraps what the client encrypted and wrapped locally, for every algorithm", () => {
    const { counter, layer } = makeVault()
    return Effect.gen(function*() {
      const keys = yield* Keys
      const crypto = yield* Cryptography
      yield* keys.createRsaKey("enc", { keySize: 2048 })
      for (const alg of ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"] as const) {
        const plaintext = Crypto.randomBytes(32)
        const encrypted = yield* crypto.encrypt({ name: "enc" }, alg, plaintext)
        const decrypted = yield* crypto.decrypt(encrypted.keyId, alg, encrypted.result)
        expect(Buffer.from(decrypted.result).equals(plaintext)).toBe(true)
        expect(decrypted.keyId).toBe(encrypted.keyId)
        const wrapped = yield* crypto.wrapKey({ name: "enc" }, alg, plaintext)
        const unwrapped = yield* crypto.unwrapKey({ name: "enc" }, alg, wrapped.result)
        expect(Buffer.from(unwrapped.result).equals(plaintext)).toBe(true)
      }
      // Encrypt and wrap never left the client: the only POSTs are create, decrypt and unwrap.
      expect(counter.posts.filter((p) => /\/(encrypt|wrapkey)$/.test(p))).toEqual([])
      expect(counter.posts.filter((p) => /\/(decrypt|unwrapkey)$/.test(p))).toHaveLength(6)
    }).pipe(Effect.provide(layer))
  })

  it.effect("the client verifies locally what the vault signed, for every RS, PS and ES algorithm", () => {
    const { counter, layer } = makeVault()
    return Effect.gen(function*() {
      const keys = yield* Keys
      const crypto = yield* Cryptography
      yield* keys.createRsaKey("signer-rsa")
      for (const [alg, curve] of EC_SIGNATURES) yield* keys.createEcKey(`signer-${alg}`, { curve })
      const cases: ReadonlyArray<readonly [SignatureAlgorithm, string]> = [
        ...RSA_SIGNATURES.map((alg) => [alg, "signer-rsa"] as const),
        ...EC_SIGNATURES.map(([alg]) => [alg, `signer-${alg}`] as const)
      ]
      for (const [alg, name] of cases) {
        const digest = digestFor(alg, data)
        const signed = yield* crypto.sign({ name }, alg, digest)
        const before = counter.requests
        const verified = yield* crypto.verify({ name }, alg, digest, signed.result)
        expect(verified).toEqual({ isValid: true, keyId: signed.keyId, algorithm: alg })
        expect((yield* crypto.verifyData(signed.keyId, alg, data, signed.result)).isValid).toBe(true)
        const tampered = Uint8Array.from(signed.result)
        tampered[0] = tampered[0]! ^ 0x80
        expect((yield* crypto.verify({ name }, alg, digest, tampered)).isValid).toBe(false)
        // The first verify by versioned id fetched that version once; nothing else went out.
        expect(counter.requests - before).toBeLessThanOrEqual(1)
      }
      expect(counter.posts.filter((p) => p.endsWith("/verify"))).toEqual([])
    }).pipe(Effect.provide(layer))
  })

  it.effect("remote-only mode sends verify, encrypt and wrapKey to the vault, and the vault agrees with node", () => {
    const { counter, layer } = makeVault("remote-only")
    return Effect.gen(function*() {
      const keys = yield* Keys
      const crypto = yield* Cryptography
      yield* keys.createRsaKey("remote", { keySize: 2048 })
      const encrypted = yield* crypto.encrypt({ name: "remote" }, "RSA-OAEP-256", data)
      const decrypted = yield* crypto.decrypt({ name: "remote" }, "RSA-OAEP-256", encrypted.result)
      expect(Buffer.from(decrypted.result).equals(Buffer.from(data))).toBe(true)
      yield* crypto.wrapKey({ name: "remote" }, "RSA-OAEP", new Uint8Array(32))
      const signed = yield* crypto.signData({ name: "remote" }, "PS256", data)
      expect((yield* crypto.verifyData({ name: "remote" }, "PS256", data, signed.result)).isValid).toBe(true)
      expect((yield* crypto.verifyData({ name: "remote" }, "PS256", new Uint8Array([1]), signed.result)).isValid).toBe(false)
      expect(counter.posts.filter((p) => /\/(encrypt|wrapkey|verify)$/.test(p))).toEqual([
        "/keys/remote//encrypt",
        "/keys/remote//wrapkey",
        "/keys/remote//verify",
        "/keys/remote//verify"
      ])
    }).pipe(Effect.provide(layer))
  })

  it.effect("auto mode sends nothing at all for verify and encrypt once the key is known", () => {
    const { counter, layer } = makeVault("auto")
    return Effect.gen(function*() {
      const keys = yield* Keys
      const crypto = yield* Cryptography
      yield* keys.createEcKey("quiet", { curve: "P-256" })
      yield* keys.createRsaKey("quiet-rsa")
      const signature = (yield* crypto.signData({ name: "quiet" }, "ES256", data)).result
      yield* crypto.encrypt({ name: "quiet-rsa" }, "RSA-OAEP", data)
      const before = counter.requests
      for (let i = 0; i < 20; i++) {
        expect((yield* crypto.verifyData({ name: "quiet" }, "ES256", data, signature)).isValid).toBe(true)
        yield* crypto.encrypt({ name: "quiet-rsa" }, "RSA-OAEP", data)
        yield* crypto.wrapKey({ name: "quiet-rsa" }, "RSA-OAEP-256", data)
      }
      expect(counter.requests).toBe(before)
    }).pipe(Effect.provide(layer))
  })

  it.effect("follows a rotation made through Keys: the next encryption uses the new version", () => {
    const { layer } = makeVault()
    return Effect.gen(function*() {
      const keys = yield* Keys
      const crypto = yield* Cryptography
      const first = yield* keys.createRsaKey("follow")
      expect((yield* crypto.encrypt({ name: "follow" }, "RSA-OAEP", data)).keyId).toBe(first.id)
      const second = yield* keys.rotate("follow")
      const after = yield* crypto.encrypt({ name: "follow" }, "RSA-OAEP", data)
      expect(after.keyId).toBe(second.id)
      expect(Buffer.from((yield* crypto.decrypt({ name: "follow" }, "RSA-OAEP", after.result)).result).equals(Buffer.from(data))).toBe(true)
      // Narrowing key_ops through Keys takes effect immediately.
      yield* keys.updateProperties("follow", { keyOperations: ["decrypt"] })
      const refused = yield* Effect.flip(crypto.encrypt({ name: "follow" }, "RSA-OAEP", data))
      expect(refused._tag === "ValidationError" && refused.field).toBe("keyOperations")
    }).pipe(Effect.provide(layer))
  })

  it.effect("the vault's PSS signatures verify with node, and node's with the client", () => {
    const { layer } = makeVault()
    return Effect.gen(function*() {
      const keys = yield* Keys
      const crypto = yield* Cryptography
      const rsa = yield* keys.createRsaKey("node-check")
      const publicKey = Crypto.createPublicKey({
        key: { kty: "RSA", n: Buffer.from(rsa.key.n!).toString("base64url"), e: Buffer.from(rsa.key.e!).toString("base64url") },
        format: "jwk"
      })
      const pss = yield* crypto.signData({ name: "node-check" }, "PS512", data)
      expect(Crypto.verify("sha512", data, { key: publicKey, padding: Crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 }, pss.result)).toBe(true)
      // And the other way: an imported node key's signatures and ciphertexts round-trip through the client.
      const local = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
      yield* keys.importKey("node-signer", Jwk.fromNodeJwk(local.privateKey.export({ format: "jwk" })))
      const signature = nodeSign(local.privateKey, "RS384", data)
      expect((yield* crypto.verifyData({ name: "node-signer" }, "RS384", data, signature)).isValid).toBe(true)
      const encrypted = yield* crypto.encrypt({ name: "node-signer" }, "RSA1_5", data)
      expect(nodeDecrypt(local.privateKey, "RSA1_5", encrypted.result)).toEqual(data)
    }).pipe(Effect.provide(layer))
  })
})
