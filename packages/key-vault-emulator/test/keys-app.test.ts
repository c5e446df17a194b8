/**
 * The key REST API through the app handler: paths, verbs, status codes, exact JWKs, paging, error envelopes.
 */
import { CURVE_BYTES } from "@effect-azure/key-vault/crypto/Algorithms"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Emulator from "../src/Emulator.js"
import { call, listAll } from "./support.js"
import type { CallResult } from "./support.js"
import { b64u, CURVES, digestOf, ecPair, fromB64u, hasPrivateMembers, importJwk, rsaPair } from "./keys-support.js"

const KID = /^https:\/\/myvault\.vault\.azure\.net\/keys\/([0-9A-Za-z-]+)\/([0-9a-f]{32})$/

const expectError = (result: CallResult, status: number, code: string, inner?: string) => {
  expect(result.status, result.text).toBe(status)
  expect(result.json.error.code).toBe(code)
  if (inner !== undefined) expect(result.json.error.innererror?.code).toBe(inner)
}

const versionOf = (result: CallResult): string => KID.exec(result.json.key.kid)![2]!

describe("keys: challenge and routing", () => {
  it.effect("answers 401 before any body or path validation on every key route", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      for (const [method, path] of [
        ["POST", "/keys/k/create"],
        ["PUT", "/keys/k"],
        ["POST", "/keys/k//encrypt"],
        ["POST", "/keys/bad_name/sign"],
        ["POST", "/rng"],
        ["GET", "/keys/k/rotationpolicy"],
        ["GET", "/deletedkeys"]
      ] as const) {
        const result = yield* call(emulator, method, path, { auth: false, apiVersion: null })
        expect(result.status, path).toBe(401)
        expect(result.headers["www-authenticate"]).toContain("resource=\"https://vault.azure.net\"")
      }
    }))

  it.effect("405 with Allow for a wrong verb, 404 for unknown paths, 400 for bad names", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const wrongVerb = yield* call(emulator, "GET", "/keys/k/create")
      expect(wrongVerb.status).toBe(405)
      expect(wrongVerb.headers["allow"]).toBe("POST")
      expect((yield* call(emulator, "PATCH", "/keys/k/rotationpolicy")).headers["allow"]).toBe("GET, PUT")
      expect((yield* call(emulator, "GET", "/rng")).status).toBe(405)
      expectError(yield* call(emulator, "POST", `/keys/k/${"a".repeat(32)}/frobnicate`), 404, "NotFound")
      expectError(yield* call(emulator, "POST", "/keys/k/v/encrypt/more"), 404, "NotFound")
      expectError(yield* call(emulator, "POST", "/keys/bad_name/create", { body: { kty: "EC" } }), 400, "BadParameter")
    }))
})

describe("keys over HTTP", () => {
  it.effect("create answers an exact public JWK: kid, kty, key_ops, n/e without leading zeros, no private member", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const created = yield* call(emulator, "POST", "/keys/My-Rsa/create", {
        body: { kty: "RSA-HSM", key_size: 2048, tags: { env: "test" }, attributes: { exp: 4102444800 } }
      })
      expect(created.status).toBe(200)
      expect(created.headers["content-type"]).toBe("application/json; charset=utf-8")
      const key = created.json.key
      expect(KID.exec(key.kid)?.[1]).toBe("My-Rsa")
      expect(Object.keys(key)).toEqual(["kid", "kty", "key_ops", "n", "e"])
      expect(key.kty).toBe("RSA-HSM")
      expect(key.key_ops).toEqual(["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"])
      expect(key.e).toBe("AQAB")
      const n = fromB64u(key.n)
      expect(n.length).toBe(256)
      expect(n[0]! & 0x80).toBe(0x80)
      expect(key.n).not.toMatch(/=/)
      expect(created.json.attributes).toEqual({
        enabled: true,
        exp: 4102444800,
        created: 0,
        updated: 0,
        recoverableDays: 90,
        recoveryLevel: "Recoverable+Purgeable",
        exportable: false
      })
      expect(created.json.tags).toEqual({ env: "test" })
      expect(created.json).not.toHaveProperty("managed")
      expect(hasPrivateMembers(created.json)).toBe(false)

      const got = yield* call(emulator, "GET", "/keys/my-rsa/")
      expect(got.json).toEqual(created.json)
      expect(hasPrivateMembers(got.json)).toBe(false)
    }))

  it.effect("EC keys: crv names exact, x/y padded to the curve size (66 bytes on P-521), default P-256", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const plain = yield* call(emulator, "POST", "/keys/ec/create", { body: { kty: "EC" } })
      expect(plain.json.key.crv).toBe("P-256")
      expect(plain.json.key.key_ops).toEqual(["sign", "verify"])
      for (const crv of CURVES) {
        // Several keys per curve, so a coordinate with a leading zero byte shows up on P-521 (its top byte is 0 or 1).
        for (let i = 0; i < (crv === "P-521" ? 3 : 1); i++) {
          const created = yield* call(emulator, "POST", `/keys/ec-${i}/create`, { body: { kty: "EC-HSM", crv } })
          expect(created.status).toBe(200)
          const key = created.json.key
          expect(Object.keys(key)).toEqual(["kid", "kty", "key_ops", "crv", "x", "y"])
          expect(key).toMatchObject({ kty: "EC-HSM", crv })
          expect(fromB64u(key.x).length).toBe(CURVE_BYTES[crv])
          expect(fromB64u(key.y).length).toBe(CURVE_BYTES[crv])
          if (crv === "P-521") expect(fromB64u(key.x)[0]).toBeLessThanOrEqual(1)
          expect(hasPrivateMembers(created.json)).toBe(false)
        }
      }
      for (const body of [
        { kty: "EC", crv: "P-224" },
        { kty: "EC", crv: "secp256k1" },
        { kty: "RSA", crv: "P-256" },
        { kty: "RSA", key_size: 1024 },
        { kty: "oct", key_size: 256 },
        { kty: "oct-HSM" },
        { kty: 7 },
        {}
      ]) {
        expectError(yield* call(emulator, "POST", "/keys/x/create", { body }), 400, "BadParameter")
      }
      expectError(
        yield* call(emulator, "POST", "/keys/x/create", { body: { kty: "RSA", attributes: { exportable: true } } }),
        400,
        "BadParameter"
      )
      const exportable = yield* call(emulator, "POST", "/keys/x/create", {
        body: { kty: "RSA", attributes: { exportable: true }, release_policy: { data: b64u(Buffer.from("{}")) } }
      })
      expect(exportable.json.attributes.exportable).toBe(true)
      expect(exportable.json.release_policy).toEqual({
        contentType: "application/json; charset=utf-8",
        data: b64u(Buffer.from("{}"))
      })
    }))

  it.effect("versions, case-insensitive segments, update, rotate, lists with paging", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const first = yield* call(emulator, "POST", "/keys/Versioned/create", { body: { kty: "EC", tags: { a: "1" } } })
      yield* TestClock.adjust(Duration.seconds(2))
      const second = yield* call(emulator, "POST", "/KEYS/versioned/CREATE", { body: { kty: "EC", crv: "P-384" } })
      expect(second.json.key.kid).toMatch(/\/keys\/Versioned\//)
      const v1 = versionOf(first)

      expect((yield* call(emulator, "GET", `/keys/versioned/${v1}`)).json.key.crv).toBe("P-256")
      expect((yield* call(emulator, "GET", "/keys/VERSIONED")).json.key.crv).toBe("P-384")
      expectError(yield* call(emulator, "GET", `/keys/versioned/${"0".repeat(32)}`), 404, "KeyNotFound")
      const missing = yield* call(emulator, "GET", "/keys/nope")
      expectError(missing, 404, "KeyNotFound")
      expect(missing.json.error.message).toContain("A key with (name/id) nope was not found in this key vault")

      const patched = yield* call(emulator, "PATCH", `/keys/versioned/${v1}`, {
        body: { key_ops: ["verify"], tags: { b: "2" }, attributes: { enabled: false, nbf: 5 } }
      })
      expect(patched.status).toBe(200)
      expect(patched.json.key.key_ops).toEqual(["verify"])
      expect(patched.json.attributes).toMatchObject({ enabled: false, nbf: 5, created: 0, updated: 2 })
      expect(patched.json.tags).toEqual({ b: "2" })
      expectError(yield* call(emulator, "PATCH", "/keys/versioned", { body: { key_ops: ["fly"] } }), 400, "BadParameter")
      expectError(
        yield* call(emulator, "PATCH", "/keys/versioned", { body: { attributes: { exp: -5 } } }),
        400,
        "BadParameter"
      )

      yield* TestClock.adjust(Duration.seconds(1))
      const rotated = yield* call(emulator, "POST", "/keys/versioned/Rotate")
      expect(rotated.status).toBe(200)
      expect(rotated.json.key.crv).toBe("P-384")
      expect(rotated.json.key.x).not.toBe(second.json.key.x)

      const versions = yield* listAll(emulator, "/keys/versioned/versions?api-version=7.5&maxresults=2")
      expect(versions.pages.map((p) => p.json.value.length)).toEqual([2, 1])
      const kids = versions.pages.flatMap((p) => p.json.value.map((i: { kid: string }) => i.kid))
      expect(kids).toEqual([first.json.key.kid, second.json.key.kid, rotated.json.key.kid])
      expect(versions.pages[0]!.json.nextLink).toMatch(/^https:\/\/myvault\.vault\.azure\.net\/keys\/versioned\/versions\?/)
      expect(hasPrivateMembers(versions.pages.map((p) => p.json))).toBe(false)

      for (const name of ["b", "c", "a", "d"]) yield* call(emulator, "POST", `/keys/${name}/create`, { body: { kty: "EC" } })
      const list = yield* listAll(emulator, "/keys?api-version=7.5&maxresults=2")
      expect(list.pages.map((p) => p.json.value.length)).toEqual([2, 2, 1])
      const items = list.pages.flatMap((p) => p.json.value)
      expect(items.map((i: { kid: string }) => i.kid.split("/").pop())).toEqual(["a", "b", "c", "d", "Versioned"])
      expect(items[0]).toEqual({
        kid: "https://myvault.vault.azure.net/keys/a",
        attributes: {
          enabled: true,
          created: 3,
          updated: 3,
          recoverableDays: 90,
          recoveryLevel: "Recoverable+Purgeable",
          exportable: false
        }
      })
      expectError(yield* call(emulator, "GET", "/keys?maxresults=26"), 400, "BadParameter")
    }))

  it.effect("delete, get deleted, 409 on create and import, recover, purge 204, deleted list paging", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      for (const name of ["d1", "d2", "d3"]) yield* call(emulator, "POST", `/keys/${name}/create`, { body: { kty: "EC" } })
      const deleted = yield* call(emulator, "DELETE", "/keys/d1")
      expect(deleted.status).toBe(200)
      expect(deleted.json).toMatchObject({
        recoveryId: "https://myvault.vault.azure.net/deletedkeys/d1",
        deletedDate: 0,
        scheduledPurgeDate: 90 * 86400
      })
      expect(deleted.json.key.kid).toMatch(KID)
      expect(hasPrivateMembers(deleted.json)).toBe(false)

      const conflict = yield* call(emulator, "POST", "/keys/D1/create", { body: { kty: "EC" } })
      expectError(conflict, 409, "Conflict", "ObjectIsDeletedButRecoverable")
      const pair = ecPair("P-256")
      expectError(
        yield* call(emulator, "PUT", "/keys/d1", { body: { key: importJwk(pair.privateKey) } }),
        409,
        "Conflict",
        "ObjectIsDeletedButRecoverable"
      )
      expectError(yield* call(emulator, "GET", "/keys/d1"), 404, "KeyNotFound")
      expect((yield* call(emulator, "GET", "/deletedkeys/d1")).json.recoveryId).toBe(deleted.json.recoveryId)

      yield* call(emulator, "DELETE", "/keys/d2")
      yield* call(emulator, "DELETE", "/keys/d3")
      const pages = yield* listAll(emulator, "/deletedkeys?api-version=7.5&maxresults=2")
      expect(pages.pages.map((p) => p.json.value.length)).toEqual([2, 1])
      expect(pages.pages[0]!.json.value[0]).toMatchObject({
        kid: "https://myvault.vault.azure.net/keys/d1",
        recoveryId: "https://myvault.vault.azure.net/deletedkeys/d1"
      })

      const recovered = yield* call(emulator, "POST", "/deletedkeys/d1/recover")
      expect(recovered.status).toBe(200)
      expect(recovered.json.key.kid).toBe(deleted.json.key.kid)
      expect((yield* call(emulator, "GET", "/keys/d1")).status).toBe(200)

      const purged = yield* call(emulator, "DELETE", "/deletedkeys/d2")
      expect(purged.status).toBe(204)
      expect(purged.text).toBe("")
      expectError(yield* call(emulator, "DELETE", "/deletedkeys/d2"), 404, "KeyNotFound")
      expectError(yield* call(emulator, "GET", "/deletedkeys/d2"), 404, "KeyNotFound")
      expectError(yield* call(emulator, "DELETE", "/keys/d2"), 404, "KeyNotFound")
    }))

  it.effect("import: Hsm flag, key_ops from the JWK, public parts only in answers; bad JWKs are 400 without echo", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const rsa = yield* Effect.promise(() => rsaPair(2048))
      const jwk = importJwk(rsa.privateKey)
      const imported = yield* call(emulator, "PUT", "/keys/imported", {
        body: { key: { ...jwk, key_ops: ["decrypt", "sign"] }, Hsm: true, tags: { origin: "node" } }
      })
      expect(imported.status).toBe(200)
      expect(imported.json.key).toMatchObject({ kty: "RSA-HSM", key_ops: ["decrypt", "sign"], n: jwk["n"], e: "AQAB" })
      expect(hasPrivateMembers(imported.json)).toBe(false)
      expect(imported.text).not.toContain(jwk["d"] as string)

      const ec = importJwk(ecPair("P-521").privateKey)
      const ecImported = yield* call(emulator, "PUT", "/keys/ec-imported", { body: { key: ec } })
      expect(ecImported.json.key).toMatchObject({ kty: "EC", crv: "P-521", x: ec["x"], y: ec["y"], key_ops: ["sign", "verify"] })

      const other = importJwk(ecPair("P-521").privateKey)
      const bad: ReadonlyArray<unknown> = [
        { key: { kty: "RSA", n: jwk["n"], e: jwk["e"] } },
        { key: { ...jwk, d: undefined } },
        { key: { ...jwk, q: jwk["p"] } },
        { key: { ...jwk, d: other["d"] } },
        { key: { ...ec, d: other["d"] } },
        { key: { ...ec, crv: "P-384" } },
        { key: { kty: "oct", k: b64u(Buffer.alloc(32)) } },
        { key: { ...jwk, d: "not base64url!" } },
        { key: "string" },
        {}
      ]
      for (const body of bad) {
        const result = yield* call(emulator, "PUT", "/keys/bad", { body })
        expectError(result, 400, "BadParameter")
        for (const secret of [jwk["d"], jwk["p"], ec["d"], other["d"]] as Array<string>) {
          expect(result.text).not.toContain(secret)
        }
      }
      const publicOnly = yield* call(emulator, "PUT", "/keys/bad", { body: { key: { kty: "RSA", n: jwk["n"], e: jwk["e"] } } })
      expect(publicOnly.json.error.message).toContain("no private key material")
      expectError(yield* call(emulator, "GET", "/keys/bad"), 404, "KeyNotFound")
    }))

  it.effect("crypto routes: versioned, version-less (//op and /op), case-insensitive; kid in results", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const created = yield* call(emulator, "POST", "/keys/c/create", { body: { kty: "RSA" } })
      const kid = created.json.key.kid
      const version = versionOf(created)
      const plaintext = b64u(Buffer.from("wrap me"))
      for (const path of [`/keys/c/${version}/encrypt`, "/keys/c//ENCRYPT", "/keys/C/encrypt"]) {
        const encrypted = yield* call(emulator, "POST", path, { body: { alg: "RSA-OAEP", value: plaintext } })
        expect(encrypted.status, path).toBe(200)
        expect(encrypted.json.kid).toBe(kid)
        expect(fromB64u(encrypted.json.value).length).toBe(256)
        const decrypted = yield* call(emulator, "POST", "/keys/c//decrypt", {
          body: { alg: "RSA-OAEP", value: encrypted.json.value }
        })
        expect(decrypted.json).toEqual({ kid, value: plaintext })
      }
      for (const [wrap, unwrap] of [["wrapkey", "unwrapkey"], ["wrapKey", "unwrapKey"]]) {
        const wrapped = yield* call(emulator, "POST", `/keys/c/${version}/${wrap}`, {
          body: { alg: "RSA1_5", value: plaintext }
        })
        const unwrapped = yield* call(emulator, "POST", `/keys/c//${unwrap}`, {
          body: { alg: "RSA1_5", value: wrapped.json.value }
        })
        expect(unwrapped.json.value).toBe(plaintext)
      }
      const digest = b64u(digestOf("sha256", "data"))
      const signed = yield* call(emulator, "POST", "/keys/c//sign", { body: { alg: "PS256", value: digest } })
      expect(signed.json.kid).toBe(kid)
      const verified = yield* call(emulator, "POST", `/keys/c/${version}/Verify`, {
        body: { alg: "PS256", digest, value: signed.json.value }
      })
      expect(verified.json).toEqual({ value: true })
      const wrong = yield* call(emulator, "POST", "/keys/c//verify", {
        body: { alg: "PS256", digest: b64u(digestOf("sha256", "other")), value: signed.json.value }
      })
      expect(wrong.json).toEqual({ value: false })
      expectError(yield* call(emulator, "POST", `/keys/c/${"1".repeat(32)}/sign`, {
        body: { alg: "PS256", value: digest }
      }), 404, "KeyNotFound")
    }))

  it.effect("crypto errors: 403 key_ops / disabled / validity window, 400 algorithm, digest, plaintext, ciphertext", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* TestClock.setTime(10_000)
      yield* call(emulator, "POST", "/keys/r/create", { body: { kty: "RSA", key_ops: ["encrypt", "decrypt", "sign"] } })
      yield* call(emulator, "POST", "/keys/e/create", { body: { kty: "EC", crv: "P-256K" } })
      const d256 = b64u(digestOf("sha256", "x"))

      const notAllowed = yield* call(emulator, "POST", "/keys/r//verify", { body: { alg: "RS256", digest: d256, value: "AA" } })
      expectError(notAllowed, 403, "Forbidden", "KeyOperationForbidden")
      expect(notAllowed.json.error.message).toBe("Operation verify is not permitted on this key.")

      for (const [path, body] of [
        ["/keys/r//encrypt", { alg: "RSA-OAEP-512", value: "AA" }],
        ["/keys/r//encrypt", { alg: "ES256", value: "AA" }],
        ["/keys/r//encrypt", { alg: "RSA1_5", value: b64u(Buffer.alloc(246)) }],
        ["/keys/r//decrypt", { alg: "RSA1_5", value: b64u(Buffer.alloc(256, 3)) }],
        ["/keys/r//decrypt", { alg: "RSA-OAEP-256", value: b64u(Buffer.alloc(12)) }],
        ["/keys/r//sign", { alg: "RS256", value: b64u(digestOf("sha512", "x")) }],
        ["/keys/r//sign", { alg: "ES256K", value: d256 }],
        ["/keys/e//sign", { alg: "ES256", value: d256 }],
        ["/keys/e//sign", { alg: "RS256", value: d256 }],
        ["/keys/e//sign", { alg: "ES256K", value: b64u(Buffer.alloc(31)) }],
        ["/keys/e//sign", { alg: "ES256K" }],
        ["/keys/e//sign", { alg: "ES256K", value: "***" }],
        ["/keys/e//verify", { alg: "ES256K", value: "AA" }]
      ] as const) {
        const result = yield* call(emulator, "POST", path, { body })
        expectError(result, 400, "BadParameter")
      }
      expectError(yield* call(emulator, "POST", "/keys/e//sign"), 400, "BadParameter")

      yield* call(emulator, "PATCH", "/keys/r", { body: { attributes: { nbf: 20 } } })
      expectError(
        yield* call(emulator, "POST", "/keys/r//encrypt", { body: { alg: "RSA-OAEP", value: "AA" } }),
        403,
        "Forbidden",
        "KeyNotYetValid"
      )
      yield* call(emulator, "PATCH", "/keys/r", { body: { attributes: { nbf: 0, exp: 10 } } })
      expectError(
        yield* call(emulator, "POST", "/keys/r//sign", { body: { alg: "RS256", value: d256 } }),
        403,
        "Forbidden",
        "KeyExpired"
      )
      yield* call(emulator, "PATCH", "/keys/r", { body: { attributes: { enabled: false, exp: 100 } } })
      const disabled = yield* call(emulator, "POST", "/keys/r//encrypt", { body: { alg: "RSA-OAEP", value: "AA" } })
      expectError(disabled, 403, "Forbidden", "KeyDisabled")
      // A disabled key is still readable.
      expect((yield* call(emulator, "GET", "/keys/r")).json.attributes.enabled).toBe(false)
    }))

  it.effect("backup, purge, restore into a fresh emulator; the restored key decrypts what the old one encrypted", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* call(emulator, "POST", "/keys/bk/create", { body: { kty: "RSA", tags: { t: "1" } } })
      yield* call(emulator, "PUT", "/keys/bk/rotationpolicy", { body: { attributes: { expiryTime: "P1Y" } } })
      const encrypted = yield* call(emulator, "POST", "/keys/bk//encrypt", {
        body: { alg: "RSA-OAEP-256", value: b64u(Buffer.from("old data")) }
      })
      const backup = yield* call(emulator, "POST", "/keys/bk/backup")
      expect(backup.status).toBe(200)
      expect(backup.json.value).toMatch(/^[A-Za-z0-9_-]+$/)
      expectError(yield* call(emulator, "POST", "/keys/restore", { body: { value: backup.json.value } }), 409, "Conflict")
      yield* call(emulator, "DELETE", "/keys/bk")
      yield* call(emulator, "DELETE", "/deletedkeys/bk")

      const fresh = yield* Emulator.make()
      const restored = yield* call(fresh, "POST", "/keys/RESTORE", { body: { value: backup.json.value } })
      expect(restored.status).toBe(200)
      expect(restored.json.tags).toEqual({ t: "1" })
      expect(hasPrivateMembers(restored.json)).toBe(false)
      expect(restored.json.key.kid).toBe(encrypted.json.kid)
      const decrypted = yield* call(fresh, "POST", "/keys/bk//decrypt", {
        body: { alg: "RSA-OAEP-256", value: encrypted.json.value }
      })
      expect(fromB64u(decrypted.json.value).toString()).toBe("old data")
      expect((yield* call(fresh, "GET", "/keys/bk/rotationpolicy")).json.attributes.expiryTime).toBe("P1Y")

      const secretBlob = yield* call(emulator, "PUT", "/secrets/s", { body: { value: "v" } }).pipe(
        Effect.zipRight(call(emulator, "POST", "/secrets/s/backup"))
      )
      for (const value of ["AAAA", secretBlob.json.value]) {
        expectError(yield* call(fresh, "POST", "/keys/restore", { body: { value } }), 400, "BadParameter")
      }
      expectError(yield* call(fresh, "POST", "/keys/restore", { body: {} }), 400, "BadParameter")
      expectError(yield* call(fresh, "POST", "/keys/nope/backup"), 404, "KeyNotFound")
    }))

  it.effect("rotation policy over HTTP: default, round trip, 400s; rotate applies expiryTime", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      expectError(yield* call(emulator, "GET", "/keys/p/rotationpolicy"), 404, "KeyNotFound")
      yield* call(emulator, "POST", "/keys/P/create", { body: { kty: "EC" } })
      const byDefault = yield* call(emulator, "GET", "/keys/p/rotationpolicy")
      expect(byDefault.json).toEqual({
        lifetimeActions: [{ trigger: { timeBeforeExpiry: "P30D" }, action: { type: "Notify" } }],
        attributes: {}
      })
      yield* TestClock.adjust(Duration.seconds(100))
      const body = {
        lifetimeActions: [
          { trigger: { timeAfterCreate: "P90D" }, action: { type: "Rotate" } },
          { trigger: { timeBeforeExpiry: "P30D" }, action: { type: "notify" } }
        ],
        attributes: { expiryTime: "P2Y" }
      }
      const put = yield* call(emulator, "PUT", "/keys/p/RotationPolicy", { body })
      expect(put.status).toBe(200)
      const expected = {
        id: "https://myvault.vault.azure.net/keys/P/rotationpolicy",
        lifetimeActions: [
          { trigger: { timeAfterCreate: "P90D" }, action: { type: "Rotate" } },
          { trigger: { timeBeforeExpiry: "P30D" }, action: { type: "Notify" } }
        ],
        attributes: { expiryTime: "P2Y", created: 100, updated: 100 }
      }
      expect(put.json).toEqual(expected)
      expect((yield* call(emulator, "GET", "/keys/p/rotationpolicy")).json).toEqual(expected)
      for (const bad of [
        { attributes: { expiryTime: "P20D" } },
        { attributes: { expiryTime: "soon" } },
        { lifetimeActions: [{ trigger: { timeAfterCreate: "P90D" }, action: { type: "Archive" } }] },
        { lifetimeActions: [{ trigger: { timeAfterCreate: "3 months" }, action: { type: "Rotate" } }] },
        { lifetimeActions: "no" }
      ]) {
        expectError(yield* call(emulator, "PUT", "/keys/p/rotationpolicy", { body: bad }), 400, "BadParameter")
      }
      yield* TestClock.setTime(Date.UTC(2031, 0, 1))
      const rotated = yield* call(emulator, "POST", "/keys/p/rotate")
      expect(rotated.json.attributes.exp).toBe(Date.UTC(2033, 0, 1) / 1000)
    }))

  it.effect("POST /rng: 1..128 bytes, 400 for 0, 129 and bad bodies", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      for (const count of [1, 33, 128]) {
        const result = yield* call(emulator, "POST", "/rng", { body: { count } })
        expect(result.status).toBe(200)
        expect(fromB64u(result.json.value).length).toBe(count)
      }
      for (const body of [{ count: 0 }, { count: 129 }, { count: 2.5 }, { count: "8" }, {}]) {
        expectError(yield* call(emulator, "POST", "/rng", { body }), 400, "BadParameter")
      }
      expectError(yield* call(emulator, "POST", "/rng"), 400, "BadParameter")
    }))

  it.effect("release and attestation are refused with a Key Vault error (404 for a missing key)", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* call(emulator, "POST", "/keys/r/create", { body: { kty: "EC" } })
      expectError(yield* call(emulator, "POST", "/keys/r/release", { body: { target: "token" } }), 400, "BadParameter")
      expectError(yield* call(emulator, "GET", "/keys/r//attestation"), 400, "BadParameter")
      expectError(yield* call(emulator, "POST", "/keys/none/release", { body: { target: "t" } }), 404, "KeyNotFound")
    }))
})
