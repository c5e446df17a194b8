import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Emulator from "../src/Emulator.js"
import * as App from "../src/http/App.js"
import { MAX_REQUEST_BODY_BYTES } from "../src/http/Protocol.js"
import type { VaultEngine } from "../src/engine/VaultEngine.js"
import { SecretBundle } from "@effect-azure/key-vault/wire/SecretWire"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as SecretViews from "../src/http/SecretViews.js"
import { call, listAll, makeRequest, ORIGIN } from "./support.js"

const SECRET = "S3cr3t-VALUE-that-must-never-leak"

const expectBadParameter = (result: { status: number; json: { error: { code: string } }; text: string }) => {
  expect(result.status).toBe(400)
  expect(result.json.error.code).toBe("BadParameter")
  expect(result.text).not.toContain(SECRET)
}

describe("challenge", () => {
  it.effect("answers 401 before any validation, with the exact challenge header and body", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      // The SDKs' first request: no token, no body, no content type.
      const put = yield* call(emulator, "PUT", "/secrets/my-secret", { auth: false })
      expect(put.status).toBe(401)
      expect(put.headers["www-authenticate"]).toBe(
        "Bearer authorization=\"https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000\", " +
          "resource=\"https://vault.azure.net\""
      )
      expect(put.json).toEqual({
        error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." }
      })
      // Before api-version, route and name validation too.
      for (const [method, path] of [["GET", "/nowhere"], ["PUT", "/secrets/bad_name"], ["POST", "/secrets"]]) {
        const r = yield* call(emulator, method!, path!, { auth: false, apiVersion: null })
        expect(r.status).toBe(401)
      }
      // A non-bearer scheme is not a token.
      const basic = yield* call(emulator, "GET", "/secrets", { auth: false, headers: { authorization: "Basic abc" } })
      expect(basic.status).toBe(401)
    }))

  it.effect("derives the resource from the host, or takes the configured one", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make({ tenantId: "11111111-2222-3333-4444-555555555555" })
      const resourceOf = (origin: string) =>
        Effect.map(
          call(emulator, "GET", "/secrets", { auth: false, origin }),
          (r) => /resource="([^"]*)"/.exec(r.headers["www-authenticate"] ?? "")?.[1]
        )
      expect(yield* resourceOf("https://kv.vault.azure.cn")).toBe("https://vault.azure.cn")
      expect(yield* resourceOf("https://kv.vault.usgovcloudapi.net")).toBe("https://vault.usgovcloudapi.net")
      expect(yield* resourceOf("https://myvault.localhost:8443")).toBe("https://localhost:8443")
      expect(yield* resourceOf("http://localhost:8080")).toBe("http://localhost:8080")
      expect(yield* resourceOf("https://127.0.0.1:8443")).toBe("https://127.0.0.1:8443")
      const r = yield* call(emulator, "GET", "/secrets", { auth: false })
      expect(r.headers["www-authenticate"]).toContain(
        "authorization=\"https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555\""
      )

      const fixed = yield* Emulator.make({ resource: "https://example.test" })
      const f = yield* call(fixed, "GET", "/secrets", { auth: false })
      expect(f.headers["www-authenticate"]).toContain("resource=\"https://example.test\"")
    }))
})

describe("api-version", () => {
  it.effect("accepts any well-formed version and rejects missing or malformed ones", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      for (const version of ["7.4", "7.6-preview.2", "2025-07-01", "2026-04-01", "2026-04-01-preview"]) {
        const r = yield* call(emulator, "GET", "/secrets", { apiVersion: version })
        expect(r.status, version).toBe(200)
      }
      for (const version of ["abc", "7", "2025-7-1", "7.4-beta", ""]) {
        const r = yield* call(emulator, "GET", "/secrets", { apiVersion: version })
        expectBadParameter(r)
      }
      const missing = yield* call(emulator, "GET", "/secrets", { apiVersion: null })
      expectBadParameter(missing)
      expect(missing.json.error.message).toContain("api-version")
    }))
})

describe("secrets over HTTP", () => {
  it.effect("set, get latest (also with an empty version segment), get a version, list versions", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const first = yield* call(emulator, "PUT", "/secrets/My-Secret", {
        body: { value: "one", contentType: "text/plain", tags: { env: "dev" }, attributes: { exp: 4102444800 } }
      })
      expect(first.status).toBe(200)
      expect(first.headers["content-type"]).toBe("application/json; charset=utf-8")
      expect(first.headers["x-ms-request-id"]).toMatch(/^[0-9a-f-]{36}$/)
      expect(first.headers["x-ms-keyvault-service-version"]).toBeDefined()
      expect(first.json).toMatchObject({
        value: "one",
        contentType: "text/plain",
        tags: { env: "dev" },
        attributes: {
          enabled: true,
          exp: 4102444800,
          created: 0,
          updated: 0,
          recoveryLevel: "Recoverable+Purgeable",
          recoverableDays: 90
        }
      })
      expect(first.json.id).toMatch(/^https:\/\/myvault\.vault\.azure\.net\/secrets\/My-Secret\/[0-9a-f]{32}$/)
      const firstVersion = first.json.id.split("/").pop()

      yield* TestClock.adjust(Duration.seconds(3))
      const second = yield* call(emulator, "PUT", "/secrets/my-secret", { body: { value: "" } })
      expect(second.json.value).toBe("")
      expect(second.json.attributes.created).toBe(3)

      for (const path of ["/secrets/MY-SECRET", "/secrets/my-secret/", "/secrets/my-secret?outContentType=application/x-pem-file"]) {
        const latest = yield* call(emulator, "GET", path)
        expect(latest.status, path).toBe(200)
        expect(latest.json.value).toBe("")
        expect(latest.json.id).toBe(second.json.id)
      }
      const old = yield* call(emulator, "GET", `/secrets/my-secret/${firstVersion}`)
      expect(old.json.value).toBe("one")

      const missingVersion = yield* call(emulator, "GET", `/secrets/my-secret/${"0".repeat(32)}`)
      expect(missingVersion.status).toBe(404)
      expect(missingVersion.json.error.code).toBe("SecretNotFound")
      const missing = yield* call(emulator, "GET", "/secrets/nope")
      expect(missing.status).toBe(404)
      expect(missing.json.error.message).toContain("A secret with (name/id) nope was not found in this key vault")

      const versions = yield* call(emulator, "GET", "/secrets/my-secret/versions")
      expect(versions.json.nextLink).toBeNull()
      expect(versions.json.value.map((v: { id: string }) => v.id)).toEqual([first.json.id, second.json.id])
      expect(versions.text).not.toContain("\"value\":\"one\"")

      const list = yield* call(emulator, "GET", "/secrets")
      expect(list.json.value).toEqual([
        {
          id: "https://myvault.vault.azure.net/secrets/My-Secret",
          attributes: {
            enabled: true,
            created: 3,
            updated: 3,
            recoveryLevel: "Recoverable+Purgeable",
            recoverableDays: 90
          }
        }
      ])
    }))

  it.effect("unicode values round-trip byte for byte", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const value = "päss 🔑 \u0000 \"quoted\" \\ 秘密"
      yield* call(emulator, "PUT", "/secrets/u", { body: { value } })
      const got = yield* call(emulator, "GET", "/secrets/u")
      expect(got.json.value).toBe(value)
    }))

  it.effect("update changes metadata only, by version or latest, and answers without the value", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const set = yield* call(emulator, "PUT", "/secrets/a", { body: { value: SECRET, tags: { a: "1" } } })
      const version = set.json.id.split("/").pop()
      yield* TestClock.adjust(Duration.seconds(60))
      const patched = yield* call(emulator, "PATCH", "/secrets/a/", {
        body: { contentType: "application/json", attributes: { enabled: false, nbf: 30 } }
      })
      expect(patched.status).toBe(200)
      expect(patched.json).not.toHaveProperty("value")
      expect(patched.json).toMatchObject({
        id: set.json.id,
        contentType: "application/json",
        tags: { a: "1" },
        attributes: { enabled: false, nbf: 30, created: 0, updated: 60 }
      })

      const disabled = yield* call(emulator, "GET", "/secrets/a")
      expect(disabled.status).toBe(403)
      expect(disabled.json).toEqual({
        error: {
          code: "Forbidden",
          message: "Operation get is not allowed on a disabled secret.",
          innererror: { code: "SecretDisabled" }
        }
      })
      expect(disabled.text).not.toContain(SECRET)

      // A disabled secret can be updated; tags are replaced as a whole.
      const enabled = yield* call(emulator, "PATCH", `/secrets/a/${version}`, {
        body: { attributes: { enabled: true }, tags: { b: "2" } }
      })
      expect(enabled.json.tags).toEqual({ b: "2" })
      const got = yield* call(emulator, "GET", "/secrets/a")
      expect(got.json.value).toBe(SECRET)

      const missing = yield* call(emulator, "PATCH", `/secrets/a/${"f".repeat(32)}`, { body: {} })
      expect(missing.status).toBe(404)
    }))

  it.effect("refuses an update whose validity window would close before it opens, and keeps the version as it was", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* call(emulator, "PUT", "/secrets/w", { body: { value: SECRET, attributes: { nbf: 100, exp: 200 } } })
      // Only exp given, earlier than the stored nbf: checked against the window after the change.
      expectBadParameter(yield* call(emulator, "PATCH", "/secrets/w/", { body: { attributes: { exp: 50 } } }))
      expectBadParameter(yield* call(emulator, "PATCH", "/secrets/w/", { body: { attributes: { nbf: 300 } } }))
      const patched = yield* call(emulator, "PATCH", "/secrets/w/", { body: { attributes: { nbf: 150 } } })
      expect(patched.json.attributes).toMatchObject({ nbf: 150, exp: 200 })
      // The same rule for keys.
      yield* call(emulator, "POST", "/keys/k/create", { body: { kty: "EC", attributes: { nbf: 100, exp: 200 } } })
      expectBadParameter(yield* call(emulator, "PATCH", "/keys/k/", { body: { attributes: { exp: 50 } } }))
      const key = yield* call(emulator, "GET", "/keys/k/")
      expect(key.json.attributes).toMatchObject({ nbf: 100, exp: 200 })
      // A backup of what the vault holds always restores.
      const backup = yield* call(emulator, "POST", "/secrets/w/backup")
      yield* call(emulator, "DELETE", "/secrets/w")
      yield* call(emulator, "DELETE", "/deletedsecrets/w")
      const restored = yield* call(emulator, "POST", "/secrets/restore", { body: { value: backup.json.value } })
      expect(restored.status).toBe(200)
    }))

  it.effect("enforces nbf and exp with the Clock", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* call(emulator, "PUT", "/secrets/w", { body: { value: SECRET, attributes: { nbf: 100, exp: 200 } } })
      const early = yield* call(emulator, "GET", "/secrets/w")
      expect(early.status).toBe(403)
      expect(early.json.error.innererror.code).toBe("SecretNotYetValid")
      yield* TestClock.adjust(Duration.seconds(100))
      expect((yield* call(emulator, "GET", "/secrets/w")).status).toBe(200)
      yield* TestClock.adjust(Duration.seconds(100))
      const late = yield* call(emulator, "GET", "/secrets/w")
      expect(late.status).toBe(403)
      expect(late.json.error.innererror.code).toBe("SecretExpired")
      expect(late.text).not.toContain(SECRET)
      // Listing still shows it: lists never check validity.
      expect((yield* call(emulator, "GET", "/secrets")).json.value).toHaveLength(1)
    }))

  it.effect("delete, get deleted, recover, get", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* call(emulator, "PUT", "/secrets/Doomed", { body: { value: "v1" } })
      yield* TestClock.adjust(Duration.seconds(1))
      const v2 = yield* call(emulator, "PUT", "/secrets/doomed", { body: { value: "v2", contentType: "ct" } })
      yield* TestClock.adjust(Duration.seconds(10))

      const deleted = yield* call(emulator, "DELETE", "/secrets/doomed")
      expect(deleted.status).toBe(200)
      expect(deleted.json).not.toHaveProperty("value")
      expect(deleted.json).toMatchObject({
        id: v2.json.id,
        contentType: "ct",
        recoveryId: "https://myvault.vault.azure.net/deletedsecrets/Doomed",
        deletedDate: 11,
        scheduledPurgeDate: 11 + 90 * 86400
      })
      expect((yield* call(emulator, "GET", "/secrets/doomed")).status).toBe(404)
      expect((yield* call(emulator, "DELETE", "/secrets/doomed")).status).toBe(404)

      const getDeleted = yield* call(emulator, "GET", "/deletedsecrets/DOOMED")
      expect(getDeleted.json).toEqual(deleted.json)
      const deletedList = yield* call(emulator, "GET", "/deletedsecrets")
      expect(deletedList.json.value).toEqual([
        {
          id: "https://myvault.vault.azure.net/secrets/Doomed",
          contentType: "ct",
          attributes: deleted.json.attributes,
          recoveryId: deleted.json.recoveryId,
          deletedDate: 11,
          scheduledPurgeDate: deleted.json.scheduledPurgeDate
        }
      ])

      const recovered = yield* call(emulator, "POST", "/deletedsecrets/doomed/recover")
      expect(recovered.status).toBe(200)
      expect(recovered.json.id).toBe(v2.json.id)
      expect(recovered.json).not.toHaveProperty("value")
      expect((yield* call(emulator, "GET", "/secrets/doomed")).json.value).toBe("v2")
      expect((yield* call(emulator, "GET", "/secrets/doomed/versions")).json.value).toHaveLength(2)
      expect((yield* call(emulator, "GET", "/deletedsecrets/doomed")).status).toBe(404)
      expect((yield* call(emulator, "POST", "/deletedsecrets/doomed/recover")).status).toBe(404)
    }))

  it.effect("setting a deleted name is 409 ObjectIsDeletedButRecoverable; purge is 204 then 404", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* call(emulator, "PUT", "/secrets/x", { body: { value: "v" } })
      yield* call(emulator, "DELETE", "/secrets/x")
      const conflict = yield* call(emulator, "PUT", "/secrets/X", { body: { value: SECRET } })
      expect(conflict.status).toBe(409)
      expect(conflict.json).toEqual({
        error: {
          code: "Conflict",
          message: "Secret X is currently in a deleted but recoverable state, and its name cannot be reused; " +
            "in this state, the secret can only be recovered or purged.",
          innererror: { code: "ObjectIsDeletedButRecoverable" }
        }
      })

      const purged = yield* call(emulator, "DELETE", "/deletedsecrets/x")
      expect(purged.status).toBe(204)
      expect(purged.text).toBe("")
      const again = yield* call(emulator, "DELETE", "/deletedsecrets/x")
      expect(again.status).toBe(404)
      expect(again.json.error.code).toBe("SecretNotFound")
      expect((yield* call(emulator, "PUT", "/secrets/x", { body: { value: "new" } })).status).toBe(200)
    }))

  it.effect("backup, purge, restore (into a fresh emulator too, under the restoring origin)", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* call(emulator, "PUT", "/secrets/Backed", { body: { value: SECRET, tags: { t: "1" } } })
      yield* TestClock.adjust(Duration.seconds(1))
      yield* call(emulator, "PUT", "/secrets/backed", { body: { value: "second" } })
      const backup = yield* call(emulator, "POST", "/secrets/backed/backup")
      expect(backup.status).toBe(200)
      expect(backup.json.value).toMatch(/^[A-Za-z0-9_-]+$/)

      // Restoring over an existing name conflicts, also when that name is in the bin.
      const exists = yield* call(emulator, "POST", "/secrets/restore", { body: { value: backup.json.value } })
      expect(exists.status).toBe(409)
      yield* call(emulator, "DELETE", "/secrets/backed")
      const deletedConflict = yield* call(emulator, "POST", "/secrets/restore", { body: { value: backup.json.value } })
      expect(deletedConflict.status).toBe(409)
      expect(deletedConflict.json.error.innererror.code).toBe("ObjectIsDeletedButRecoverable")

      yield* call(emulator, "DELETE", "/deletedsecrets/backed")
      const restored = yield* call(emulator, "POST", "/secrets/restore", { body: { value: backup.json.value } })
      expect(restored.status).toBe(200)
      expect(restored.json.id).toMatch(/\/secrets\/Backed\/[0-9a-f]{32}$/)
      expect(restored.json).not.toHaveProperty("value")
      expect((yield* call(emulator, "GET", "/secrets/backed")).json.value).toBe("second")

      const fresh = yield* Emulator.make()
      const other = "https://othervault.vault.azure.net"
      const intoFresh = yield* call(fresh, "POST", "/secrets/restore", {
        body: { value: backup.json.value },
        origin: other
      })
      expect(intoFresh.json.id.startsWith(`${other}/secrets/Backed/`)).toBe(true)
      const versions = yield* call(fresh, "GET", "/secrets/backed/versions", { origin: other })
      expect(versions.json.value).toHaveLength(2)
      const firstId: string = versions.json.value[0].id
      const first = yield* call(fresh, "GET", new URL(firstId).pathname, { origin: other })
      expect(first.json).toMatchObject({ value: SECRET, tags: { t: "1" } })
    }))

  it.effect("a malformed backup blob is 400", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      for (const value of ["bm90IGEgYmFja3Vw", "***", ""]) {
        const r = yield* call(emulator, "POST", "/secrets/restore", { body: { value } })
        expectBadParameter(r)
      }
      expectBadParameter(yield* call(emulator, "POST", "/secrets/restore", { body: { value: 42 } }))
      expect((yield* call(emulator, "POST", "/secrets/missing/backup")).status).toBe(404)
    }))
})

describe("secret bodies", () => {
  it.effect("the direct wire form of get and set is byte for byte the shared schema's encoding", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const context = { origin: ORIGIN, engine: emulator.engine }
      const plain = yield* emulator.engine.secrets.set("plain", { value: Redacted.make("") })
      const full = yield* emulator.engine.secrets.set("full", {
        value: Redacted.make("v\u00e9\"\n"),
        contentType: "text/plain",
        tags: { env: "test", empty: "" },
        enabled: false,
        notBefore: new Date(1_700_000_000_500),
        expires: new Date(1_900_000_000_999)
      })
      for (const secret of [plain, full]) {
        for (const withValue of [true, false]) {
          const direct = SecretViews.encodedBundle(context, secret, withValue)
          const viaSchema = Schema.encodeSync(SecretBundle)(SecretViews.bundle(context, secret, withValue))
          expect(JSON.stringify(direct)).toBe(JSON.stringify(viaSchema))
        }
      }
      // A date the schema refuses to encode: no direct form, so the schema decides (and the app answers 500).
      const far = { ...full, secret: { ...full.secret, expires: new Date(-1000) } }
      expect(SecretViews.encodedBundle(context, far, true)).toBeUndefined()
    }))
})

describe("paging", () => {
  it.effect("pages 5 secrets by 2 with absolute nextLinks on the request's origin", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const origin = "https://myvault.localhost:8443"
      for (const name of ["e", "B", "a", "d", "C"]) {
        yield* call(emulator, "PUT", `/secrets/${name}`, { body: { value: name }, origin })
      }
      const pages: Array<{ json: { value: Array<{ id: string }>; nextLink: string | null } }> = []
      let next: string | null = `${origin}/secrets?api-version=7.6-preview.2&maxresults=2`
      while (next !== null) {
        const url: URL = new URL(next)
        expect(url.origin).toBe(origin)
        expect(url.pathname).toBe("/secrets")
        if (pages.length > 0) {
          expect(url.searchParams.get("api-version")).toBe("7.6-preview.2")
          expect(url.searchParams.get("maxresults")).toBe("2")
          expect(url.searchParams.get("$skiptoken")).toBeTruthy()
        }
        const page = yield* call(emulator, "GET", `${url.pathname}${url.search}`, { origin, apiVersion: null })
        expect(page.status).toBe(200)
        pages.push(page)
        next = page.json.nextLink
      }
      expect(pages.map((p) => p.json.value.length)).toEqual([2, 2, 1])
      expect(pages.flatMap((p) => p.json.value.map((i) => i.id.split("/").pop()))).toEqual(["a", "B", "C", "d", "e"])
    }))

  it.effect("pages versions and deleted secrets too, and tolerates changes between pages", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      for (let i = 0; i < 5; i++) {
        yield* call(emulator, "PUT", "/secrets/v", { body: { value: String(i) } })
        yield* TestClock.adjust(Duration.seconds(1))
      }
      const versions = yield* listAll(emulator, "/secrets/v/versions?api-version=2025-07-01&maxresults=2")
      expect(versions.pages.map((p) => p.json.value.length)).toEqual([2, 2, 1])
      expect(versions.pages.at(-1)?.json.nextLink).toBeNull()

      for (const name of ["d1", "d2", "d3"]) {
        yield* call(emulator, "PUT", `/secrets/${name}`, { body: { value: "x" } })
        yield* call(emulator, "DELETE", `/secrets/${name}`)
      }
      const first = yield* call(emulator, "GET", "/deletedsecrets?maxresults=2")
      expect(first.json.value.map((d: { id: string }) => d.id.split("/").pop())).toEqual(["d1", "d2"])
      // Purging an item already served neither repeats nor skips the others.
      yield* call(emulator, "DELETE", "/deletedsecrets/d1")
      const second = yield* call(emulator, "GET", new URL(first.json.nextLink).pathname + new URL(first.json.nextLink).search, {
        apiVersion: null
      })
      expect(second.json.value.map((d: { id: string }) => d.id.split("/").pop())).toEqual(["d3"])
      expect(second.json.nextLink).toBeNull()
    }))

  it.effect("rejects maxresults outside 1..25 and foreign skip tokens", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      for (const max of ["0", "26", "abc", "1.5", "-1", ""]) {
        expectBadParameter(yield* call(emulator, "GET", `/secrets?maxresults=${max}`))
      }
      expect((yield* call(emulator, "GET", "/secrets?maxresults=25")).status).toBe(200)
      expect((yield* call(emulator, "GET", "/secrets?maxresults=1")).status).toBe(200)
      expectBadParameter(yield* call(emulator, "GET", "/secrets?$skiptoken=garbage"))
      expectBadParameter(yield* call(emulator, "GET", "/deletedsecrets?maxresults=0"))
      expectBadParameter(yield* call(emulator, "GET", "/secrets/x/versions?maxresults=99"))
    }))
})

describe("input validation", () => {
  it.effect("malformed or invalid bodies are 400 BadParameter without echoing the value", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const put = (body: unknown) => call(emulator, "PUT", "/secrets/valid-name", { body })
      const putRaw = (rawBody: string | Uint8Array) => call(emulator, "PUT", "/secrets/valid-name", { rawBody })

      const cases = [
        yield* putRaw(`{"value": "${SECRET}"`),
        yield* putRaw(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])),
        yield* putRaw(""),
        yield* putRaw(`["${SECRET}"]`),
        yield* put({ value: 123 }),
        yield* put({ value: SECRET, attributes: { enabled: "yes" } }),
        yield* put({ value: SECRET, attributes: { exp: "2030-01-01T00:00:00Z" } }),
        yield* put({ value: SECRET, attributes: { exp: 1e20 } }),
        yield* put({ value: SECRET, tags: { a: 1 } }),
        yield* put({ value: SECRET, contentType: null }),
        yield* put({ contentType: SECRET }),
        yield* put({ value: SECRET, contentType: "c".repeat(256) }),
        yield* put({ value: SECRET, tags: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, "v"])) }),
        yield* put({ value: SECRET, tags: { ["k".repeat(513)]: "v" } }),
        yield* put({ value: SECRET, tags: { k: "v".repeat(257) } }),
        yield* put({ value: `${SECRET}${"x".repeat(25 * 1024 - SECRET.length + 1)}` }),
        yield* putRaw(JSON.stringify({ value: SECRET, padding: "p".repeat(MAX_REQUEST_BODY_BYTES) }))
      ]
      for (const result of cases) expectBadParameter(result)

      const missing = yield* put({ contentType: "x" })
      expect(missing.json.error.message).toBe("The request body is missing the required property 'value'.")
      const wrong = yield* put({ value: SECRET, attributes: { enabled: "yes" } })
      expect(wrong.json.error.message).toBe("The request body has an invalid value at 'attributes.enabled'.")

      // The limits themselves are fine: 25 KB of UTF-8 (multi-byte characters count as bytes), 255, 15 tags.
      const maxValue = "é".repeat(25 * 1024 / 2)
      const ok = yield* put({
        value: maxValue,
        contentType: "c".repeat(255),
        tags: Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`t${i}`, "v".repeat(256)]))
      })
      expect(ok.status).toBe(200)
      expectBadParameter(yield* put({ value: `${maxValue}a` }))

      const patch = yield* call(emulator, "PATCH", "/secrets/valid-name/", { body: { contentType: "c".repeat(256) } })
      expectBadParameter(patch)
      expectBadParameter(yield* call(emulator, "PATCH", "/secrets/valid-name/", { rawBody: "{" }))
    }))

  it.effect("invalid names are 400; unknown routes 404; wrong verbs 405", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      for (const name of ["bad_name", "a".repeat(128), "with%20space", "dots.here"]) {
        expectBadParameter(yield* call(emulator, "PUT", `/secrets/${name}`, { body: { value: SECRET } }))
      }
      expectBadParameter(yield* call(emulator, "GET", "/secrets/bad_name/versions"))
      expectBadParameter(yield* call(emulator, "DELETE", "/deletedsecrets/bad_name"))
      expect((yield* call(emulator, "PUT", `/secrets/${"a".repeat(127)}`, { body: { value: "v" } })).status).toBe(200)

      for (const path of ["/", "/nothing", "/secrets/a/b/c", "/deletedsecrets/a/unknown", "/keys2"]) {
        const r = yield* call(emulator, "GET", path)
        expect(r.status, path).toBe(404)
        expect(r.json.error.code).toBe("NotFound")
      }
      const wrongVerb = yield* call(emulator, "POST", "/secrets/a")
      expect(wrongVerb.status).toBe(405)
      expect(wrongVerb.headers["allow"]).toContain("PUT")
      expect((yield* call(emulator, "DELETE", "/secrets")).status).toBe(405)
      expect((yield* call(emulator, "GET", "/deletedsecrets/a/recover")).status).toBe(405)
    }))

  it.effect("matches path segments case-insensitively and tolerates a trailing slash", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      expect((yield* call(emulator, "PUT", "/SECRETS/Name/", { body: { value: "v" } })).status).toBe(200)
      expect((yield* call(emulator, "GET", "/Secrets/NAME/Versions/")).json.value).toHaveLength(1)
      expect((yield* call(emulator, "GET", "/SECRETS/")).json.value).toHaveLength(1)
      expect((yield* call(emulator, "POST", "/Secrets/name/BACKUP")).status).toBe(200)
      expect((yield* call(emulator, "DELETE", "/secrets/name")).status).toBe(200)
      expect((yield* call(emulator, "GET", "/DeletedSecrets/")).json.value).toHaveLength(1)
      expect((yield* call(emulator, "POST", "/DELETEDSECRETS/name/Recover")).status).toBe(200)
    }))

  it.effect("a defect becomes a 500 Key Vault error and the handler does not fail", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const broken: VaultEngine = {
        ...emulator.engine,
        secrets: { ...emulator.engine.secrets, list: Effect.die(new Error(SECRET)) }
      }
      const handler = App.make({ engine: broken, tenantId: "t" })
      const response = yield* handler(makeRequest("GET", "/secrets"))
      const text = new TextDecoder().decode(response.body)
      expect(response.status).toBe(500)
      expect(JSON.parse(text).error.code).toBe("InternalServerError")
      expect(text).not.toContain(SECRET)
    }))
})

describe("origin", () => {
  it.effect("builds ids on the origin of each request", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const a = yield* call(emulator, "PUT", "/secrets/o", { body: { value: "v" }, origin: "https://a.vault.azure.net" })
      const b = yield* call(emulator, "GET", "/secrets/o", { origin: "http://localhost:1234" })
      expect(a.json.id.startsWith("https://a.vault.azure.net/secrets/o/")).toBe(true)
      expect(b.json.id.startsWith("http://localhost:1234/secrets/o/")).toBe(true)
      expect(ORIGIN).toBe("https://myvault.vault.azure.net")
    }))
})
