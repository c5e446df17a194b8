import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Emulator from "../src/Emulator.js"
import { admin } from "./admin-support.js"
import { call } from "./support.js"

const B = "https://team-b.vault.azure.net"

const withVaultB = Effect.gen(function*() {
  const emulator = yield* Emulator.make()
  const created = yield* admin(emulator, "POST", "/admin/vaults", { body: { name: "team-b" } })
  expect(created.status).toBe(201)
  return emulator
})

describe("admin API: access check", () => {
  it.effect("answers the vault's 401 challenge without a token, and the invalid-token 401 for a wrong one", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make({ token: "right-token" })
      for (const [method, path] of [["GET", "/admin/vaults"], ["POST", "/admin/seed"], ["GET", "/admin/journal/stream"]]) {
        const missing = yield* admin(emulator, method!, path!, { token: false })
        expect(missing.status).toBe(401)
        expect(missing.headers["www-authenticate"]).toContain("Bearer authorization=")
        const wrong = yield* admin(emulator, method!, path!, { token: "wrong-token" })
        expect(wrong.status).toBe(401)
        expect(wrong.json.error.code).toBe("Unauthorized")
        expect(wrong.text).not.toContain("right-token")
      }
      const ok = yield* admin(emulator, "GET", "/admin/vaults", { token: "right-token" })
      expect(ok.status).toBe(200)
      // Admin requests are never journaled, refused or not.
      expect(yield* emulator.journal.entries).toEqual([])
    }))

  it.effect("serves the dashboard's files without a token: no data in them, a strict CSP", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make({ token: "right-token" })
      yield* emulator.engine.secrets.set("db-password", { value: Redacted.make("never-in-the-page") })
      for (const [path, type] of [
        ["/admin/dashboard", "text/html"],
        ["/admin/dashboard/app.js", "text/javascript"],
        ["/admin/dashboard/app.css", "text/css"]
      ]) {
        const page = yield* admin(emulator, "GET", path!, { token: false })
        expect(page.status).toBe(200)
        expect(page.headers["content-type"]).toContain(type)
        expect(page.headers["content-security-policy"]).toContain("default-src 'none'")
        expect(page.headers["content-security-policy"]).toContain("frame-ancestors 'none'")
        expect(page.text).not.toContain("db-password")
        expect(page.text).not.toMatch(/https?:\/\/(?!login)[a-z]/i) // nothing loaded from elsewhere
      }
      // Anything else under /admin/dashboard is an admin path like the others: token first.
      expect((yield* admin(emulator, "GET", "/admin/dashboard/other", { token: false })).status).toBe(401)
      expect((yield* admin(emulator, "POST", "/admin/dashboard", { token: false })).status).toBe(401)
    }))
})

describe("admin API: vaults", () => {
  it.effect("creates, lists, reads, resets and deletes vaults; each answer names its URL", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const created = yield* admin(emulator, "POST", "/admin/vaults", {
        body: { name: "Team-B", settings: { recoverableDays: 7, purgeProtection: true } }
      })
      expect(created.status).toBe(201)
      expect(created.json).toMatchObject({
        name: "team-b",
        isDefault: false,
        url: "https://team-b.vault.azure.net",
        settings: { recoverableDays: 7, purgeProtection: true, enforceValidityPeriod: true },
        throttle: { enabled: false },
        faults: 0,
        objects: { secrets: 0, keys: 0, certificates: 0 }
      })
      const list = yield* admin(emulator, "GET", "/admin/vaults")
      expect(list.json.value.map((v: { name: string }) => v.name)).toEqual(["default", "team-b"])
      expect(list.json.value[0]).toMatchObject({ isDefault: true, url: "https://myvault.vault.azure.net" })

      expect((yield* call(emulator, "PUT", "/secrets/a", { body: { value: "v" }, origin: B })).status).toBe(200)
      expect((yield* admin(emulator, "GET", "/admin/vaults/team-b")).json.objects.secrets).toBe(1)
      // The default vault is untouched.
      expect((yield* admin(emulator, "GET", "/admin/vaults/default")).json.objects.secrets).toBe(0)

      const reset = yield* admin(emulator, "POST", "/admin/vaults/team-b/reset")
      expect(reset.status).toBe(200)
      expect(reset.json.objects.secrets).toBe(0)
      expect(reset.json.journal.entries).toBe(0)

      // A port setting given over the API is kept: the vault's own listener (see `VaultListeners`) serves it.
      const ported = yield* admin(emulator, "POST", "/admin/vaults", { body: { name: "team-p", settings: { port: 18443 } } })
      expect(ported.status).toBe(201)
      expect(ported.json.settings.port).toBe(18443)
      expect((yield* emulator.vaults.get("team-p")).settings.port).toBe(18443)
      expect(ported.json.urls).toContain("https://team-p.vault.azure.net")
      expect((yield* admin(emulator, "POST", "/admin/vaults", { body: { name: "team-q", settings: { port: 70000 } } })).status)
        .toBe(400)

      expect((yield* admin(emulator, "DELETE", "/admin/vaults/team-b")).status).toBe(204)
      const gone = yield* admin(emulator, "GET", "/admin/vaults/team-b")
      expect(gone.status).toBe(404)
      expect(gone.json).toEqual({ error: { code: "VaultNotFound", message: "No vault named 'team-b'." } })
      expect((yield* admin(emulator, "DELETE", "/admin/vaults/team-b")).status).toBe(404)
    }))

  it.effect("refuses a duplicate, a bad name, an unknown setting and deleting the default vault", () =>
    Effect.gen(function*() {
      const emulator = yield* withVaultB
      const duplicate = yield* admin(emulator, "POST", "/admin/vaults", { body: { name: "team-b" } })
      expect(duplicate.status).toBe(409)
      expect(duplicate.json.error.code).toBe("VaultAlreadyExists")
      const badName = yield* admin(emulator, "POST", "/admin/vaults", { body: { name: "-x" } })
      expect(badName.status).toBe(400)
      expect(badName.json.error.message).toContain("name")
      const unknown = yield* admin(emulator, "POST", "/admin/vaults", {
        body: { name: "other", settings: { recoverableDayz: 7 } }
      })
      expect(unknown.status).toBe(400)
      expect(unknown.json.error.message).toContain("recoverableDayz")
      const range = yield* admin(emulator, "POST", "/admin/vaults", { body: { name: "other", settings: { recoverableDays: 0 } } })
      expect(range.status).toBe(400)
      expect(range.json.error.message).toContain("settings.recoverableDays")
      const deleteDefault = yield* admin(emulator, "DELETE", "/admin/vaults/default")
      expect(deleteDefault.status).toBe(409)
      expect((yield* admin(emulator, "PUT", "/admin/vaults")).status).toBe(405)
      expect((yield* admin(emulator, "GET", "/admin/nothing-here")).status).toBe(404)
    }))

  it.effect("lists objects with versions and attributes but no value; reveals a value only when asked", () =>
    Effect.gen(function*() {
      const emulator = yield* withVaultB
      yield* call(emulator, "PUT", "/secrets/db-password", { body: { value: "first-value" }, origin: B })
      yield* TestClock.adjust("1 second")
      const second = yield* call(emulator, "PUT", "/secrets/db-password", {
        body: { value: "second-value", contentType: "text/plain", tags: { env: "test" } },
        origin: B
      })
      yield* call(emulator, "POST", "/keys/signing/create", { body: { kty: "EC", crv: "P-256" }, origin: B })
      yield* call(emulator, "PUT", "/secrets/old", { body: { value: "x" }, origin: B })
      yield* call(emulator, "DELETE", "/secrets/old", { origin: B })

      const objects = yield* admin(emulator, "GET", "/admin/vaults/team-b/objects")
      expect(objects.status).toBe(200)
      expect(objects.text).not.toContain("first-value")
      expect(objects.text).not.toContain("second-value")
      const secret = objects.json.secrets.find((s: { name: string }) => s.name === "db-password")
      expect(secret.versions).toHaveLength(2)
      expect(secret.latest).toBe(second.json.id.split("/").at(-1))
      expect(secret.versions[1]).toMatchObject({
        version: second.json.id.split("/").at(-1),
        enabled: true,
        contentType: "text/plain",
        tags: { env: "test" },
        managed: false
      })
      expect(objects.json.keys[0]).toMatchObject({ name: "signing", versions: [{ kty: "EC", enabled: true }] })
      expect(objects.json.deleted.secrets.map((d: { name: string }) => d.name)).toEqual(["old"])

      const revealed = yield* admin(emulator, "POST", "/admin/vaults/team-b/secrets/db-password/reveal")
      expect(revealed.status).toBe(200)
      expect(revealed.headers["cache-control"]).toBe("no-store")
      expect(revealed.json).toMatchObject({ vault: "team-b", name: "db-password", value: "second-value" })
      const first = yield* admin(emulator, "POST", "/admin/vaults/team-b/secrets/db-password/reveal", {
        body: { version: secret.versions[0].version }
      })
      expect(first.json.value).toBe("first-value")
      const missing = yield* admin(emulator, "POST", "/admin/vaults/team-b/secrets/nope/reveal")
      expect(missing.status).toBe(404)
      expect(missing.json.error.code).toBe("SecretNotFound")
      expect((yield* admin(emulator, "GET", "/admin/vaults/team-b/secrets/db-password/reveal")).status).toBe(405)
    }))
})

describe("admin API: faults and throttling", () => {
  it.effect("adds, lists, removes and clears fault rules per vault; the vault's next request meets the rule", () =>
    Effect.gen(function*() {
      const emulator = yield* withVaultB
      const added = yield* admin(emulator, "POST", "/admin/vaults/team-b/faults", {
        body: { operation: "getSecret", name: "/^db-/i", times: 1, fault: { _tag: "Status", status: 503 } }
      })
      expect(added.status).toBe(201)
      expect(added.json).toMatchObject({ id: "fault-1", fired: 0, remaining: 1, rule: { name: "/^db-/i" } })
      yield* call(emulator, "PUT", "/secrets/db-x", { body: { value: "v" }, origin: B })
      // Only team-b's rule: the default vault serves normally.
      yield* call(emulator, "PUT", "/secrets/db-x", { body: { value: "v" } })
      expect((yield* call(emulator, "GET", "/secrets/db-x")).status).toBe(200)
      expect((yield* call(emulator, "GET", "/secrets/db-x", { origin: B })).status).toBe(503)
      expect((yield* call(emulator, "GET", "/secrets/db-x", { origin: B })).status).toBe(200)
      const listed = yield* admin(emulator, "GET", "/admin/vaults/team-b/faults")
      expect(listed.json.value).toMatchObject([{ id: "fault-1", fired: 1, remaining: 0 }])
      expect((yield* admin(emulator, "GET", "/admin/vaults/default/faults")).json.value).toEqual([])

      expect((yield* admin(emulator, "DELETE", "/admin/vaults/team-b/faults/fault-1")).status).toBe(204)
      const again = yield* admin(emulator, "DELETE", "/admin/vaults/team-b/faults/fault-1")
      expect(again.status).toBe(404)
      expect(again.json.error.code).toBe("FaultNotFound")

      yield* admin(emulator, "POST", "/admin/vaults/team-b/faults", { body: { fault: { _tag: "Reset" } } })
      expect((yield* admin(emulator, "DELETE", "/admin/vaults/team-b/faults")).status).toBe(204)
      expect((yield* admin(emulator, "GET", "/admin/vaults/team-b/faults")).json.value).toEqual([])

      const bad = yield* admin(emulator, "POST", "/admin/vaults/team-b/faults", {
        body: { operation: "getSecrett", fault: { _tag: "Status", status: 503 } }
      })
      expect(bad.status).toBe(400)
      expect(bad.json.error.message).toContain("getSecrett")
      const status = yield* admin(emulator, "POST", "/admin/vaults/team-b/faults", {
        body: { fault: { _tag: "Status", status: 200 } }
      })
      expect(status.status).toBe(400)
      expect(status.json.error.message).toContain("fault")
      expect((yield* admin(emulator, "GET", "/admin/vaults/nope/faults")).status).toBe(404)
    }))

  it.effect("reports throttling, switches it off and on and retunes it at runtime", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* admin(emulator, "POST", "/admin/vaults", {
        body: { name: "team-b", settings: { throttle: { limits: { secretOther: 1 } } } }
      })
      const status = yield* admin(emulator, "GET", "/admin/vaults/team-b/throttle")
      expect(status.json).toEqual({
        enabled: true,
        limits: { secretCreate: 300, secretOther: 1, keyCreate: 20, keyOther: 4000 },
        windowMillis: 10_000,
        retryAfter: false
      })
      expect((yield* call(emulator, "GET", "/secrets", { origin: B })).status).toBe(200)
      expect((yield* call(emulator, "GET", "/secrets", { origin: B })).status).toBe(429)

      const off = yield* admin(emulator, "PUT", "/admin/vaults/team-b/throttle", { body: { enabled: false } })
      expect(off.json.enabled).toBe(false)
      expect((yield* call(emulator, "GET", "/secrets", { origin: B })).status).toBe(200)
      expect((yield* call(emulator, "GET", "/secrets", { origin: B })).status).toBe(200)

      const on = yield* admin(emulator, "PATCH", "/admin/vaults/team-b/throttle", {
        body: { enabled: true, limits: { secretOther: 2 }, retryAfter: true }
      })
      expect(on.json).toMatchObject({ enabled: true, limits: { secretOther: 2 }, retryAfter: true })
      yield* call(emulator, "GET", "/secrets", { origin: B })
      yield* call(emulator, "GET", "/secrets", { origin: B })
      const throttled = yield* call(emulator, "GET", "/secrets", { origin: B })
      expect(throttled.status).toBe(429)
      expect(throttled.headers["retry-after"]).toBe("10")

      const bad = yield* admin(emulator, "PUT", "/admin/vaults/team-b/throttle", { body: { limits: { secretOther: -1 } } })
      expect(bad.status).toBe(400)
      expect(bad.json.error.message).toContain("limits.secretOther")
      const unknownBucket = yield* admin(emulator, "PUT", "/admin/vaults/team-b/throttle", { body: { limits: { reads: 1 } } })
      expect(unknownBucket.status).toBe(400)

      // A vault made without throttle settings reports it off, and switching it on at runtime works the same way.
      const plain = yield* admin(emulator, "GET", "/admin/vaults/default/throttle")
      expect(plain.json.enabled).toBe(false)
      const switched = yield* admin(emulator, "PUT", "/admin/vaults/default/throttle", {
        body: { enabled: true, limits: { secretOther: 1 } }
      })
      expect(switched.status).toBe(200)
      expect(switched.json).toMatchObject({ enabled: true, limits: { secretOther: 1 } })
      expect((yield* call(emulator, "GET", "/secrets")).status).toBe(200)
      const limited = yield* call(emulator, "GET", "/secrets")
      expect(limited.status).toBe(429)
      expect(limited.json.error.code).toBe("Throttled")
    }))
})

describe("admin API: clock", () => {
  it.effect("reads, advances, sets and resets the emulator's time", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const start = yield* admin(emulator, "GET", "/admin/clock")
      expect(start.json).toEqual({ now: new Date(0).toISOString(), offsetMillis: 0 })
      const advanced = yield* admin(emulator, "POST", "/admin/clock", { body: { advanceSeconds: 3600 } })
      expect(advanced.json).toEqual({ now: new Date(3_600_000).toISOString(), offsetMillis: 3_600_000 })
      const set = yield* admin(emulator, "POST", "/admin/clock", { body: { set: "2030-01-01T00:00:00Z" } })
      expect(set.json.now).toBe("2030-01-01T00:00:00.000Z")
      const reset = yield* admin(emulator, "POST", "/admin/clock", { body: { reset: true } })
      expect(reset.json.offsetMillis).toBe(0)
      for (const body of [{ advanceSeconds: -1 }, { set: "yesterday" }, { reset: false }, { advanceSeconds: 1, x: 1 }]) {
        const bad = yield* admin(emulator, "POST", "/admin/clock", { body })
        expect(bad.status).toBe(400)
        expect(bad.json.error.code).toBe("BadParameter")
      }
      expect((yield* emulator.admin.clock.advance("2 hours")).offsetMillis).toBe(7_200_000)
    }))
})

describe("admin API: journal", () => {
  it.effect("queries every vault's journal with filters, oldest first, and clears it", () =>
    Effect.gen(function*() {
      const emulator = yield* withVaultB
      yield* call(emulator, "PUT", "/secrets/a", { body: { value: "v" } })
      yield* TestClock.adjust("1 second")
      yield* call(emulator, "GET", "/secrets/a", { origin: B, headers: { "x-ms-client-request-id": "req-1" } })
      yield* TestClock.adjust("1 second")
      yield* emulator.faults.add({ operation: "getSecret", times: 1, fault: { _tag: "Status", status: 500 } })
      yield* call(emulator, "GET", "/secrets/a")
      yield* call(emulator, "GET", "/secrets/a", { auth: false })

      const all = yield* admin(emulator, "GET", "/admin/journal")
      expect(all.json.value.map((e: { vault: string; operation: string; status: number }) => [e.vault, e.operation, e.status]))
        .toEqual([["default", "setSecret", 200], ["team-b", "getSecret", 404], ["default", "getSecret", 500], [
          "default",
          "getSecret",
          401
        ]])
      expect(all.json.value[1]).toMatchObject({ clientRequestId: "req-1", time: "1970-01-01T00:00:01.000Z" })
      expect(all.json.dropped).toEqual({ default: 0, "team-b": 0 })

      const q = (query: string) =>
        Effect.map(admin(emulator, "GET", `/admin/journal?${query}`), (r) => r.json.value.map((e: { sequence: number; vault: string }) => `${e.vault}#${e.sequence}`))
      expect(yield* q("vault=team-b")).toEqual(["team-b#1"])
      expect(yield* q("operation=getSecret&status=500,401")).toEqual(["default#2", "default#3"])
      expect(yield* q("faulted=true")).toEqual(["default#2"])
      expect(yield* q("name=A&method=put")).toEqual(["default#1"])
      expect(yield* q("since=1000&until=1970-01-01T00:00:02Z")).toEqual(["team-b#1"])
      expect(yield* q("clientRequestId=req-1")).toEqual(["team-b#1"])
      expect(yield* q("limit=2")).toEqual(["default#2", "default#3"])
      expect(yield* q("name=/^a$/")).toHaveLength(4)

      for (const query of ["operation=getSecrett", "status=abc", "limit=0", "since=yesterday", "faulted=maybe", "vault=nope"]) {
        const bad = yield* admin(emulator, "GET", `/admin/journal?${query}`)
        expect(bad.status, query).toBeGreaterThanOrEqual(400)
        expect(bad.json.error.code, query).toMatch(/BadParameter|VaultNotFound/)
      }

      expect((yield* admin(emulator, "DELETE", "/admin/journal?vault=team-b")).status).toBe(204)
      expect(yield* q("")).toEqual(["default#1", "default#2", "default#3"])
      yield* admin(emulator, "DELETE", "/admin/journal")
      expect(yield* q("")).toEqual([])
    }))

  it.effect("in process, `admin.journal.poll` reads after a cursor and waits (on the Clock) for the next entry", () =>
    Effect.gen(function*() {
      const emulator = yield* withVaultB
      yield* call(emulator, "PUT", "/secrets/a", { body: { value: "v" } })
      yield* call(emulator, "PUT", "/secrets/b", { body: { value: "v" }, origin: B })

      const first = yield* emulator.admin.journal.poll({}, { backlog: 10 })
      expect(first.entries.map((e) => e.vault)).toEqual(["default", "team-b"])
      expect(first.entries[0]).toMatchObject({ operation: "setSecret", status: 200, fault: null })
      expect(first.cursor).toBe("default:1,team-b:1")

      // Nothing new yet: the poll waits for the next matching entry.
      const waiting = yield* Effect.fork(
        emulator.admin.journal.poll({ operation: "getSecret" }, { cursor: first.cursor, waitMillis: 30_000 })
      )
      yield* call(emulator, "PUT", "/secrets/c", { body: { value: "v" } }) // does not match the filter
      yield* call(emulator, "GET", "/secrets/c", { origin: B })
      const woken = yield* Fiber.join(waiting)
      expect(woken.entries.map((e) => [e.vault, e.operation, e.status])).toEqual([["team-b", "getSecret", 404]])

      // Without anything new, the poll ends after its wait with the cursor only.
      const idle = yield* Effect.fork(
        emulator.admin.journal.poll({ operation: "getSecret" }, { cursor: woken.cursor, waitMillis: 5_000 })
      )
      yield* TestClock.adjust("5 seconds")
      const idleBatch = yield* Fiber.join(idle)
      expect(idleBatch.entries).toEqual([])
      expect(idleBatch.cursor).toBe("default:2,team-b:2")

      // A vault created since the cursor is read from its start.
      yield* admin(emulator, "POST", "/admin/vaults", { body: { name: "team-c" } })
      yield* call(emulator, "GET", "/secrets", { origin: "https://team-c.vault.azure.net" })
      const later = yield* emulator.admin.journal.poll({ operation: "listSecrets" }, { cursor: idleBatch.cursor })
      expect(later.entries.map((e) => e.vault)).toEqual(["team-c"])
      expect(yield* Effect.flip(emulator.admin.journal.poll({}, { waitMillis: 61_000 }))).toMatchObject({
        reason: "BadRequest"
      })
    }))

  it.scoped("in process, `admin.journal.subscribe` gives a Stream of every vault's entries as they are recorded", () =>
    Effect.gen(function*() {
      const emulator = yield* withVaultB
      const entries$ = yield* emulator.admin.journal.subscribe({ operation: "getSecret", limit: 2 })
      const collected = yield* Effect.fork(Stream.runCollect(entries$))
      yield* call(emulator, "PUT", "/secrets/a", { body: { value: "v" } })
      yield* call(emulator, "GET", "/secrets/a")
      yield* call(emulator, "GET", "/secrets/a", { origin: B })
      const entries = Chunk.toReadonlyArray(yield* Fiber.join(collected))
      expect(entries.map((e) => [e.vault, e.operation, e.status])).toEqual([
        ["default", "getSecret", 200],
        ["team-b", "getSecret", 404]
      ])
    }))
})

describe("admin API: seed and export", () => {
  it.effect("seeds vaults and objects from a document and exports them, values only when asked", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const seeded = yield* admin(emulator, "POST", "/admin/seed", {
        body: { vaults: [{ name: "fixtures", secrets: [{ name: "api-key", value: "seeded-value" }] }] }
      })
      expect(seeded.status).toBe(200)
      expect(seeded.json).toMatchObject({ vaultsCreated: ["fixtures"], secrets: 1 })
      const got = yield* call(emulator, "GET", "/secrets/api-key", { origin: "https://fixtures.vault.azure.net" })
      expect(got.json.value).toBe("seeded-value")

      const plain = yield* admin(emulator, "GET", "/admin/export?vault=fixtures")
      expect(plain.status).toBe(200)
      expect(plain.headers["cache-control"]).toBe("no-store")
      expect(plain.json.vaults).toHaveLength(1)
      expect(plain.json.vaults[0].secrets[0].name).toBe("api-key")
      expect(plain.text).not.toContain("seeded-value")
      const full = yield* admin(emulator, "GET", "/admin/export?includeValues=true")
      expect(full.json.vaults.map((v: { name: string }) => v.name)).toEqual(["default", "fixtures"])
      expect(full.text).toContain("seeded-value")

      // The export seeds a fresh emulator to the same state.
      const copy = yield* Emulator.make()
      expect((yield* admin(copy, "POST", "/admin/seed", { rawBody: full.text })).status).toBe(200)
      const copied = yield* call(copy, "GET", "/secrets/api-key", { origin: "https://fixtures.vault.azure.net" })
      expect(copied.json.value).toBe("seeded-value")

      expect((yield* admin(emulator, "GET", "/admin/export?vault=nope")).status).toBe(404)
      expect((yield* admin(emulator, "GET", "/admin/export?includeValues=yes")).status).toBe(400)
    }))

  it.effect("refuses a bad seed document with a message naming the entry and field, never the value", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const bad = yield* admin(emulator, "POST", "/admin/seed", {
        body: { vaults: [{ name: "fixtures", secrets: [{ name: "ok", value: "hidden-1" }, { name: "x", value: 42 }] }] }
      })
      expect(bad.status).toBe(400)
      expect(bad.json.error.code).toBe("InvalidSeed")
      expect(bad.json.error.message).toContain("secrets[1]")
      expect(bad.json.error.message).toContain("value")
      expect(bad.text).not.toContain("hidden-1")
      for (const rawBody of ["", "{", "[]", "null", "{\"vaults\": 1}"]) {
        const refused = yield* admin(emulator, "POST", "/admin/seed", { rawBody })
        expect(refused.status, rawBody).toBe(400)
      }
    }))
})

describe("admin API: bad input never crashes", () => {
  it.effect("answers 4xx with the error envelope for garbage on every writing route", () =>
    Effect.gen(function*() {
      const emulator = yield* withVaultB
      const routes: ReadonlyArray<readonly [string, string]> = [
        ["POST", "/admin/vaults"],
        ["POST", "/admin/vaults/team-b/reset"],
        ["POST", "/admin/vaults/team-b/secrets/a/reveal"],
        ["POST", "/admin/vaults/team-b/faults"],
        ["PUT", "/admin/vaults/team-b/throttle"],
        ["POST", "/admin/clock"],
        ["POST", "/admin/seed"],
        ["POST", "/admin/eventgrid/subscriptions"]
      ]
      const bodies = ["{", "[]", "1", "\"x\"", "{\"a\":".repeat(100), "{\"name\": null}", "\u00ff\u00fe"]
      for (const [method, path] of routes) {
        for (const rawBody of bodies) {
          const answer = yield* admin(emulator, method, path, { rawBody })
          expect(answer.status, `${method} ${path} ${rawBody.slice(0, 10)}`).toBeLessThan(500)
          if (answer.status >= 400) expect(answer.json.error.code).toEqual(expect.any(String))
        }
      }
      expect((yield* admin(emulator, "GET", "/admin/vaults/%E0%A4%A")).status).toBe(404)
    }))
})

describe("admin API in process", () => {
  it.effect("`emulator.admin` calls the same operations as the HTTP routes, with typed errors", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const vault = yield* emulator.admin.vaults.create({ name: "team-b" })
      expect(vault.name).toBe("team-b")
      const rule = yield* emulator.admin.faults.add({ operation: "getSecret", fault: { _tag: "Status", status: 503 } }, "team-b")
      expect((yield* admin(emulator, "GET", "/admin/vaults/team-b/faults")).json.value[0].id).toBe(rule.id)
      const error = yield* Effect.flip(emulator.admin.faults.remove("fault-99", "team-b"))
      expect(error).toMatchObject({ _tag: "AdminError", reason: "NotFound", code: "FaultNotFound", status: 404 })
      const missing = yield* Effect.flip(emulator.admin.vaults.get("nope"))
      expect(missing.status).toBe(404)
      yield* emulator.engine.secrets.set("s", { value: Redacted.make("in-process-value") })
      const revealed = yield* emulator.admin.vaults.revealSecret("s")
      expect(Redacted.value(revealed.value)).toBe("in-process-value")
      expect(String(revealed.value)).not.toContain("in-process-value")
      const report = yield* emulator.admin.seed({ vaults: [{ name: "team-b", secrets: [{ name: "t", value: "v" }] }] })
      expect(report.secrets).toBe(1)
      const document = yield* emulator.admin.export({ vaults: ["team-b"] })
      expect(document.vaults[0]!.secrets?.map((s) => s.name)).toEqual(["t"])
    }))
})
