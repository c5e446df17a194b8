import { CURVE_BYTES } from "@effect-azure/key-vault/crypto/Algorithms"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as TestClock from "effect/TestClock"
import * as KeyMaterial from "../src/engine/crypto/KeyMaterial.js"
import * as Rsa from "../src/engine/crypto/Rsa.js"
import type { KeyEngine, KeyOperationError } from "../src/engine/KeyEngine.js"
import * as KeyRotationPolicy from "../src/engine/KeyRotationPolicy.js"
import * as VaultEngine from "../src/engine/VaultEngine.js"
import { CURVES, digestOf, ecPair, importJwk } from "./keys-support.js"
import { JsonWebKey } from "@effect-azure/key-vault/wire/KeyWire"
import * as Schema from "effect/Schema"
import * as Crypto from "node:crypto"

const keysOf: Effect.Effect<KeyEngine> = Effect.map(VaultEngine.make(), (engine) => engine.keys)

const failure = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<E> =>
  Effect.flatMap(Effect.exit(effect), (exit) =>
    Exit.isFailure(exit) && exit.cause._tag === "Fail"
      ? Effect.succeed(exit.cause.error)
      : Effect.dieMessage(`expected a failure, got ${Exit.isSuccess(exit) ? "success" : "a defect"}`))

const rsaBits = (material: KeyMaterial.KeyMaterial): number =>
  material._tag === "RSA" ? Rsa.modulusBits(material.publicKey) : 0

describe("KeyEngine create", () => {
  it.effect("creates RSA keys of every size with e = 65537, all six operations, HSM types reported as asked", () =>
    Effect.gen(function*() {
      const keys = yield* keysOf
      // Generated concurrently (on the thread pool), the slow part of this file.
      const created = yield* Effect.all(
        ([["RSA", undefined], ["RSA-HSM", 3072], ["RSA", 4096]] as const).map(([kty, size]) =>
          Effect.map(keys.create(`rsa-${size ?? "default"}`, { kty, keySize: size }), (key) => ({ key, kty, size }))
        ),
        { concurrency: "unbounded" }
      )
      for (const { key, kty, size } of created) {
        expect(key.key.kty).toBe(kty)
        expect(rsaBits(key.key.material)).toBe(size ?? 2048)
        expect(key.key.keyOps).toEqual(["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"])
        const jwk = KeyMaterial.publicJwk(key.key.material)
        expect(Buffer.from(jwk.e!).toString("base64url")).toBe("AQAB")
        // The top bit of a modulus is always set: exactly size/8 bytes, no leading zero byte.
        expect(jwk.n!.length).toBe((size ?? 2048) / 8)
        expect(jwk.n![0]! >= 0x80).toBe(true)
      }
      const three = yield* keys.create("e3", { kty: "RSA", publicExponent: 3 })
      expect(Buffer.from(KeyMaterial.publicJwk(three.key.material).e!).toString("base64url")).toBe("Aw")
    }))

  it.effect("creates EC keys on every curve, P-256 by default, with sign and verify", () =>
    Effect.gen(function*() {
      const keys = yield* keysOf
      const plain = yield* keys.create("ec", { kty: "EC" })
      expect(plain.key.material).toMatchObject({ _tag: "EC", curve: "P-256" })
      expect(plain.key.keyOps).toEqual(["sign", "verify"])
      for (const curve of CURVES) {
        const created = yield* keys.create(`ec-${curve}`, { kty: "EC-HSM", curve })
        expect(created.key.kty).toBe("EC-HSM")
        const jwk = KeyMaterial.publicJwk(created.key.material)
        expect(jwk.crv).toBe(curve)
        expect(jwk.x!.length).toBe(CURVE_BYTES[curve])
        expect(jwk.y!.length).toBe(CURVE_BYTES[curve])
      }
    }))

  it.effect("refuses unsupported types, sizes, exponents, curves, key_ops and exportable keys without a policy", () =>
    Effect.gen(function*() {
      const keys = yield* keysOf
      const cases = [
        { kty: "oct" },
        { kty: "oct-HSM" },
        { kty: "AES" },
        { kty: "RSA", keySize: 1024 },
        { kty: "RSA", keySize: 2047 },
        { kty: "RSA", publicExponent: 4 },
        { kty: "RSA", curve: "P-256" },
        { kty: "EC", curve: "secp256k1" },
        { kty: "EC", curve: "P-224" },
        { kty: "RSA", keyOps: ["encrypt", "fly"] },
        { kty: "RSA", exportable: true }
      ]
      for (const input of cases) {
        const error = yield* failure(keys.create("bad", input))
        expect(error._tag, JSON.stringify(input)).toBe("BadParameter")
      }
      expect(yield* keys.list).toEqual([])
    }))
})

describe("KeyEngine lifecycle", () => {
  it.effect("versions, latest resolution, case-insensitive names, whole-second Clock time", () =>
    Effect.gen(function*() {
      const keys = yield* keysOf
      yield* TestClock.setTime(1_700_000_000_900)
      const first = yield* keys.create("MyKey", { kty: "EC", tags: { a: "1" } })
      yield* TestClock.adjust(Duration.seconds(5))
      const second = yield* keys.create("mykey", { kty: "EC" })
      expect(second.name).toBe("MyKey")
      expect(first.key.created.getTime()).toBe(1_700_000_000_000)
      expect(second.key.created.getTime()).toBe(1_700_000_005_000)
      expect((yield* keys.get("MYKEY")).key.version).toBe(second.key.version)
      expect((yield* keys.get("mykey", "")).key.version).toBe(second.key.version)
      expect((yield* keys.get("mykey", first.key.version.toUpperCase())).key.tags).toEqual({ a: "1" })
      expect((yield* keys.listVersions("MyKey")).map((k) => k.key.version)).toEqual([
        first.key.version,
        second.key.version
      ])
      const missing = yield* failure(keys.get("mykey", "0".repeat(32)))
      expect(missing).toMatchObject({ _tag: "ObjectNotFound", code: "KeyNotFound" })
    }))

  it.effect("update changes metadata and key_ops, never the material; disabled keys stay readable", () =>
    Effect.gen(function*() {
      const keys = yield* keysOf
      const created = yield* keys.create("k", { kty: "EC" })
      yield* TestClock.adjust(Duration.seconds(10))
      const updated = yield* keys.update("k", undefined, { enabled: false, keyOps: ["verify"], tags: { t: "x" } })
      expect(updated.key).toMatchObject({ enabled: false, keyOps: ["verify"], tags: { t: "x" } })
      expect(updated.key.material).toBe(created.key.material)
      expect(updated.key.updated.getTime()).toBe(10_000)
      expect((yield* keys.get("k")).key.enabled).toBe(false)
      expect((yield* failure(keys.update("k", undefined, { keyOps: ["nope"] })))._tag).toBe("BadParameter")
    }))

  it.effect("soft delete, 409 on reuse, get deleted, recover, purge, lazy purge after the retention", () =>
    Effect.gen(function*() {
      const keys = yield* keysOf
      yield* keys.create("gone", { kty: "EC" })
      const deleted = yield* keys.delete("gone")
      expect(deleted.scheduledPurgeDate.getTime() - deleted.deletedDate.getTime()).toBe(90 * 86_400_000)
      expect(yield* failure(keys.create("GONE", { kty: "EC" }))).toMatchObject({
        _tag: "ObjectConflict",
        innerCode: "ObjectIsDeletedButRecoverable"
      })
      expect((yield* failure(keys.get("gone")))._tag).toBe("ObjectNotFound")
      expect((yield* keys.listDeleted).map((d) => d.name)).toEqual(["gone"])
      yield* keys.recover("gone")
      expect((yield* keys.get("gone")).name).toBe("gone")
      yield* keys.delete("gone")
      yield* keys.purge("gone")
      expect((yield* failure(keys.purge("gone")))._tag).toBe("ObjectNotFound")

      yield* keys.create("expiring", { kty: "EC" })
      yield* keys.delete("expiring")
      yield* TestClock.adjust(Duration.days(91))
      expect(yield* keys.listDeleted).toEqual([])
      yield* keys.create("expiring", { kty: "EC" })
    }))

  it.effect("rotate makes a new version with fresh material of the same type, size, ops and tags", () =>
    Effect.gen(function*() {
      const keys = yield* keysOf
      const ec = yield* keys.create("ec", { kty: "EC-HSM", curve: "P-384", keyOps: ["sign"], tags: { t: "1" } })
      const rotated = yield* keys.rotate("EC")
      expect(rotated.key).toMatchObject({ kty: "EC-HSM", keyOps: ["sign"], tags: { t: "1" }, expires: undefined })
      expect(rotated.key.material).toMatchObject({ _tag: "EC", curve: "P-384" })
      expect(rotated.key.version).not.toBe(ec.key.version)
      expect(KeyMaterial.publicJwk(rotated.key.material).x).not.toEqual(KeyMaterial.publicJwk(ec.key.material).x)
      expect((yield* keys.get("ec")).key.version).toBe(rotated.key.version)

      const rsa = yield* keys.create("rsa", { kty: "RSA", publicExponent: 3 })
      yield* keys.setRotationPolicy("rsa", { expiryTime: "P90D" })
      yield* TestClock.setTime(Date.UTC(2030, 0, 31))
      const next = yield* keys.rotate("rsa")
      expect(rsaBits(next.key.material)).toBe(2048)
      expect(KeyMaterial.publicJwk(next.key.material).e).toEqual(Uint8Array.of(3))
      expect(KeyMaterial.publicJwk(next.key.material).n).not.toEqual(KeyMaterial.publicJwk(rsa.key.material).n)
      // The policy's expiryTime dates the new version.
      expect(next.key.expires?.toISOString()).toBe("2030-05-01T00:00:00.000Z")
      expect((yield* failure(keys.rotate("missing")))._tag).toBe("ObjectNotFound")
    }))

  it.effect("rotation policy: the default, a stored policy, its validation", () =>
    Effect.gen(function*() {
      const keys = yield* keysOf
      yield* keys.create("Pol", { kty: "EC" })
      expect(yield* keys.getRotationPolicy("pol")).toEqual({ name: "Pol", policy: KeyRotationPolicy.DEFAULT_POLICY })
      yield* TestClock.adjust(Duration.seconds(7))
      const stored = yield* keys.setRotationPolicy("pol", {
        lifetimeActions: [
          { trigger: { timeAfterCreate: "P90D" }, action: { type: "rotate" } },
          { trigger: { timeBeforeExpiry: "P30D" }, action: { type: "Notify" } }
        ],
        expiryTime: "P2Y"
      })
      expect(stored.policy).toEqual({
        lifetimeActions: [
          { type: "Rotate", timeAfterCreate: "P90D", timeBeforeExpiry: undefined },
          { type: "Notify", timeAfterCreate: undefined, timeBeforeExpiry: "P30D" }
        ],
        expiryTime: "P2Y",
        created: new Date(7000),
        updated: new Date(7000)
      })
      expect((yield* keys.getRotationPolicy("POL")).policy).toEqual(stored.policy)

      const invalid = [
        { expiryTime: "P27D" },
        { expiryTime: "PT48H" },
        { expiryTime: "90 days" },
        { lifetimeActions: [{ trigger: { timeAfterCreate: "P90D" }, action: { type: "Delete" } }] },
        { lifetimeActions: [{ trigger: { timeAfterCreate: "P3D" }, action: { type: "Rotate" } }] },
        { lifetimeActions: [{ trigger: { timeAfterCreate: "ninety" }, action: { type: "Rotate" } }] },
        { lifetimeActions: [{ trigger: {}, action: { type: "Rotate" } }] },
        { lifetimeActions: [{ trigger: { timeAfterCreate: "P9D", timeBeforeExpiry: "P9D" }, action: { type: "Rotate" } }] },
        { lifetimeActions: [{ trigger: { timeAfterCreate: "P30D" }, action: { type: "Notify" } }] },
        { lifetimeActions: [{ trigger: { timeBeforeExpiry: "P30D" }, action: { type: "Rotate" } }] },
        { expiryTime: "P30D", lifetimeActions: [{ trigger: { timeAfterCreate: "P25D" }, action: { type: "Rotate" } }] },
        {
          lifetimeActions: [
            { trigger: { timeAfterCreate: "P30D" }, action: { type: "Rotate" } },
            { trigger: { timeAfterCreate: "P60D" }, action: { type: "Rotate" } }
          ]
        }
      ]
      for (const input of invalid) {
        expect((yield* failure(keys.setRotationPolicy("pol", input)))._tag, JSON.stringify(input)).toBe("BadParameter")
      }
      expect((yield* failure(keys.getRotationPolicy("nope")))._tag).toBe("ObjectNotFound")
      expect(KeyRotationPolicy.parseDuration("P1Y2M3W4DT5H6M7S")).toEqual({
        years: 1, months: 2, days: 25, hours: 5, minutes: 6, seconds: 7
      })
      for (const text of ["P", "PT", "P1H", "-P1D", "P1.5D"]) expect(KeyRotationPolicy.parseDuration(text)).toBeUndefined()
    }))

  it.effect("backup, purge, restore into a fresh engine: every version, the policy, and the same private key", () =>
    Effect.gen(function*() {
      const keys = yield* keysOf
      const v1 = yield* keys.create("bk", { kty: "RSA", tags: { a: "b" } })
      yield* keys.create("bk", { kty: "RSA", keyOps: ["encrypt", "decrypt"] })
      yield* keys.setRotationPolicy("bk", { expiryTime: "P60D" })
      const ciphertext = yield* keys.encrypt("bk", v1.key.version, "RSA-OAEP-256", Buffer.from("kept secret"))
      const blob = yield* keys.backup("bk")
      expect(new TextDecoder().decode(blob)).not.toContain("kept secret")
      expect(yield* failure(keys.restore(blob))).toMatchObject({ _tag: "ObjectConflict" })
      yield* keys.delete("bk")
      expect(yield* failure(keys.restore(blob))).toMatchObject({ innerCode: "ObjectIsDeletedButRecoverable" })
      yield* keys.purge("bk")

      const other = yield* keysOf
      const restored = yield* other.restore(blob)
      expect(restored.key.keyOps).toEqual(["encrypt", "decrypt"])
      expect((yield* other.listVersions("bk")).length).toBe(2)
      expect((yield* other.getRotationPolicy("bk")).policy.expiryTime).toBe("P60D")
      const plain = yield* other.decrypt("bk", v1.key.version, "RSA-OAEP-256", ciphertext.value)
      expect(Buffer.from(plain.value).toString()).toBe("kept secret")

      for (const bad of [new Uint8Array([1, 2, 3]), new TextEncoder().encode("{}")]) {
        expect((yield* failure(other.restore(bad)))._tag).toBe("BadParameter")
      }
    }))

  it.effect("random bytes: 1..128, else BadParameter", () =>
    Effect.gen(function*() {
      const keys = yield* keysOf
      for (const count of [1, 32, 128]) expect((yield* keys.randomBytes(count)).length).toBe(count)
      for (const count of [0, 129, -1, 1.5]) expect((yield* failure(keys.randomBytes(count)))._tag).toBe("BadParameter")
    }))
})

describe("KeyEngine operations", () => {
  it.effect("refuses disabled keys, operations outside key_ops, and (except decrypt/unwrap/verify) outside nbf..exp", () =>
    Effect.gen(function*() {
      const keys = yield* keysOf
      yield* TestClock.setTime(1_000_000)
      const key = yield* keys.create("k", { kty: "RSA", keyOps: ["encrypt", "decrypt", "verify"] })
      const digest = digestOf("sha256", "data")
      const encrypted = yield* keys.encrypt("k", undefined, "RSA-OAEP", Buffer.from("x"))

      expect(yield* failure(keys.sign("k", undefined, "RS256", digest))).toMatchObject({
        _tag: "OperationForbidden",
        innerCode: "KeyOperationForbidden",
        message: "Operation sign is not permitted on this key."
      })

      yield* keys.update("k", undefined, { notBefore: new Date(2_000_000) })
      expect(yield* failure(keys.encrypt("k", undefined, "RSA-OAEP", Buffer.from("x")))).toMatchObject({
        innerCode: "KeyNotYetValid"
      })
      // Data made while a key was valid stays usable: decrypt and verify ignore the window.
      yield* keys.decrypt("k", undefined, "RSA-OAEP", encrypted.value)
      yield* keys.update("k", undefined, { notBefore: new Date(0), expires: new Date(1_000_000) })
      expect(yield* failure(keys.encrypt("k", undefined, "RSA-OAEP", Buffer.from("x")))).toMatchObject({
        innerCode: "KeyExpired"
      })
      yield* keys.verify("k", undefined, "RS256", digest, new Uint8Array(256))

      yield* keys.update("k", key.key.version, { enabled: false, expires: new Date(9_000_000) })
      expect(yield* failure(keys.decrypt("k", undefined, "RSA-OAEP", encrypted.value))).toMatchObject({
        innerCode: "KeyDisabled",
        message: "Operation decrypt is not allowed on a disabled key."
      })
      expect((yield* failure(keys.sign("nope", undefined, "RS256", digest)))._tag).toBe("ObjectNotFound")
    }))

  it.effect("checks algorithm, key type, curve, digest length, plaintext length and ciphertext", () =>
    Effect.gen(function*() {
      const keys = yield* keysOf
      yield* keys.create("rsa", { kty: "RSA" })
      yield* keys.create("ec", { kty: "EC", curve: "P-384", keyOps: ["sign", "verify", "encrypt"] })
      const bad: ReadonlyArray<Effect.Effect<unknown, KeyOperationError>> = [
        keys.encrypt("rsa", undefined, "A256GCM", Buffer.from("x")),
        keys.encrypt("rsa", undefined, "RSA-OAEP-384", Buffer.from("x")),
        keys.encrypt("ec", undefined, "RSA-OAEP", Buffer.from("x")),
        keys.encrypt("rsa", undefined, "RSA1_5", new Uint8Array(246)),
        keys.encrypt("rsa", undefined, "RSA-OAEP", new Uint8Array(215)),
        keys.encrypt("rsa", undefined, "RSA-OAEP-256", new Uint8Array(191)),
        keys.decrypt("rsa", undefined, "RSA1_5", new Uint8Array(256)),
        keys.decrypt("rsa", undefined, "RSA-OAEP", new Uint8Array(256).fill(1)),
        keys.decrypt("rsa", undefined, "RSA-OAEP", new Uint8Array(10)),
        keys.sign("rsa", undefined, "ES256", digestOf("sha256", "d")),
        keys.sign("rsa", undefined, "RS256", digestOf("sha384", "d")),
        keys.sign("rsa", undefined, "HS256", digestOf("sha256", "d")),
        keys.sign("ec", undefined, "ES256", digestOf("sha256", "d")),
        keys.sign("ec", undefined, "ES384", digestOf("sha256", "d")),
        keys.verify("ec", undefined, "PS384", digestOf("sha384", "d"), new Uint8Array(96))
      ]
      for (const [i, effect] of bad.entries()) {
        expect((yield* failure(effect))._tag, `case ${i}`).toBe("BadParameter")
      }
      // The limits themselves are fine.
      yield* keys.encrypt("rsa", undefined, "RSA1_5", new Uint8Array(245))
      yield* keys.encrypt("rsa", undefined, "RSA-OAEP", new Uint8Array(214))
      yield* keys.encrypt("rsa", undefined, "RSA-OAEP-256", new Uint8Array(190))
      const signature = yield* keys.sign("ec", undefined, "ES384", digestOf("sha384", "d"))
      expect(signature.value.length).toBe(96)
      expect((yield* keys.verify("ec", undefined, "ES384", digestOf("sha384", "d"), signature.value)).value).toBe(true)
      expect((yield* keys.verify("ec", undefined, "ES384", digestOf("sha384", "e"), signature.value)).value).toBe(false)
      expect((yield* keys.verify("ec", undefined, "ES384", digestOf("sha384", "d"), new Uint8Array(5))).value).toBe(false)
    }))
})

describe("small imported RSA keys", () => {
  it.effect("a 1024-bit key signs RS512 and PS256 but refuses PS512 (no room for the salt) with BadParameter", () =>
    Effect.gen(function*() {
      const keys = yield* keysOf
      const { privateKey } = Crypto.generateKeyPairSync("rsa", { modulusLength: 1024 })
      const material = KeyMaterial.fromJwk(Schema.decodeUnknownSync(JsonWebKey)(importJwk(privateKey)))
      if (Either.isLeft(material)) throw new Error(material.left)
      yield* keys.import("small", { material: material.right })
      for (const alg of ["RS512", "PS256"] as const) {
        const digest = digestOf(alg.endsWith("512") ? "sha512" : "sha256", "d")
        const signature = yield* keys.sign("small", undefined, alg, digest)
        expect((yield* keys.verify("small", undefined, alg, digest, signature.value)).value).toBe(true)
      }
      expect((yield* failure(keys.sign("small", undefined, "PS512", digestOf("sha512", "d"))))._tag).toBe("BadParameter")
      const { privateKey: tiny } = Crypto.generateKeyPairSync("rsa", { modulusLength: 512 })
      expect(Either.isLeft(KeyMaterial.fromJwk(Schema.decodeUnknownSync(JsonWebKey)(importJwk(tiny))))).toBe(true)
    }))
})

describe("KeyMaterial.fromJwk", () => {
  const decodeJwk = Schema.decodeUnknownSync(JsonWebKey)

  it("accepts valid private JWKs and refuses public-only, inconsistent or unsupported ones without quoting them", () => {
    const ec = ecPair("P-256K")
    const jwk = importJwk(ec.privateKey)
    const material = KeyMaterial.fromJwk(decodeJwk(jwk))
    expect(Either.isRight(material) && material.right._tag === "EC" && material.right.curve).toBe("P-256K")

    const other = importJwk(ecPair("P-256K").privateKey)
    const cases: ReadonlyArray<Record<string, unknown>> = [
      { ...jwk, d: undefined },
      { ...jwk, x: other["x"] },
      { ...jwk, crv: "secp256k1" },
      { ...jwk, crv: undefined },
      { ...jwk, kty: undefined },
      { kty: "oct", k: "AAAA" },
      { kty: "RSA", n: "AQAB", e: "AQAB" },
      { ...jwk, d: Buffer.alloc(32).toString("base64url") },
      { ...jwk, key_hsm: "AAAA" }
    ]
    for (const input of cases) {
      const result = KeyMaterial.fromJwk(decodeJwk(input))
      expect(Either.isLeft(result), JSON.stringify(Object.keys(input))).toBe(true)
      if (Either.isLeft(result)) {
        for (const value of [jwk["d"], jwk["x"]]) expect(result.left).not.toContain(value)
      }
    }
  })
})
