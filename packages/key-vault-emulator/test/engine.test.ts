import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as VaultEngine from "../src/engine/VaultEngine.js"

const value = (s: string) => Redacted.make(s)

describe("VaultEngine secrets", () => {
  it.effect("keeps versions in creation order, the last one is the latest, names are case-insensitive", () =>
    Effect.gen(function*() {
      const engine = yield* VaultEngine.make()
      const first = yield* engine.secrets.set("MySecret", { value: value("one") })
      yield* TestClock.adjust(Duration.seconds(5))
      const second = yield* engine.secrets.set("mysecret", { value: value("two") })

      expect(first.secret.version).toMatch(/^[0-9a-f]{32}$/)
      expect(second.secret.version).not.toBe(first.secret.version)
      // The case of the first creation is kept.
      expect(second.name).toBe("MySecret")

      const latest = yield* engine.secrets.get("MYSECRET")
      expect(Redacted.value(latest.secret.value)).toBe("two")
      const old = yield* engine.secrets.get("mysecret", first.secret.version.toUpperCase())
      expect(Redacted.value(old.secret.value)).toBe("one")

      const versions = yield* engine.secrets.listVersions("MySecret")
      expect(versions.map((v) => v.secret.version)).toEqual([first.secret.version, second.secret.version])
      expect(second.secret.created.getTime()).toBe(5000)
    }))

  it.effect("stores whole seconds from the Clock", () =>
    Effect.gen(function*() {
      const engine = yield* VaultEngine.make()
      yield* TestClock.setTime(1_700_000_000_750)
      const s = yield* engine.secrets.set("a", { value: value("x"), expires: new Date(1_800_000_000_999) })
      expect(s.secret.created.getTime()).toBe(1_700_000_000_000)
      expect(s.secret.expires?.getTime()).toBe(1_800_000_000_000)
    }))

  it.effect("update changes metadata, never the value, and bumps updated", () =>
    Effect.gen(function*() {
      const engine = yield* VaultEngine.make()
      const s = yield* engine.secrets.set("a", { value: value("v"), contentType: "text/plain", tags: { a: "1" } })
      yield* TestClock.adjust(Duration.seconds(10))
      const u = yield* engine.secrets.update("a", undefined, { tags: { b: "2" }, enabled: false })
      expect(u.secret.version).toBe(s.secret.version)
      expect(u.secret.contentType).toBe("text/plain")
      expect(u.secret.tags).toEqual({ b: "2" })
      expect(u.secret.updated.getTime()).toBe(10_000)
      expect(Redacted.value(u.secret.value)).toBe("v")
      // A disabled secret can still be updated (to enable it again).
      const back = yield* engine.secrets.update("a", s.secret.version, { enabled: true })
      expect(back.secret.enabled).toBe(true)
    }))

  it.effect("refuses disabled, not-yet-valid and expired versions", () =>
    Effect.gen(function*() {
      const engine = yield* VaultEngine.make()
      yield* TestClock.setTime(100_000)
      yield* engine.secrets.set("off", { value: value("v"), enabled: false })
      yield* engine.secrets.set("window", {
        value: value("v"),
        notBefore: new Date(200_000),
        expires: new Date(300_000)
      })
      const disabled = yield* Effect.flip(engine.secrets.get("off"))
      expect(disabled).toMatchObject({ _tag: "OperationForbidden", innerCode: "SecretDisabled" })
      expect(disabled.message).toBe("Operation get is not allowed on a disabled secret.")

      expect(yield* Effect.flip(engine.secrets.get("window"))).toMatchObject({ innerCode: "SecretNotYetValid" })
      yield* TestClock.setTime(200_000)
      yield* engine.secrets.get("window")
      yield* TestClock.setTime(300_000)
      expect(yield* Effect.flip(engine.secrets.get("window"))).toMatchObject({ innerCode: "SecretExpired" })
    }))

  it.effect("can be lenient about validity periods, like the service", () =>
    Effect.gen(function*() {
      const engine = yield* VaultEngine.make({ enforceValidityPeriod: false })
      yield* engine.secrets.set("old", { value: value("v"), expires: new Date(0) })
      const s = yield* engine.secrets.get("old")
      expect(Redacted.value(s.secret.value)).toBe("v")
    }))

  it.effect("soft delete, recover, purge, and the conflict on a deleted name", () =>
    Effect.gen(function*() {
      const engine = yield* VaultEngine.make({ recoverableDays: 7 })
      expect(engine.recoveryLevel).toBe("CustomizedRecoverable+Purgeable")
      yield* engine.secrets.set("s", { value: value("1") })
      yield* engine.secrets.set("s", { value: value("2") })
      const deleted = yield* engine.secrets.delete("S")
      expect(deleted.scheduledPurgeDate.getTime() - deleted.deletedDate.getTime()).toBe(7 * 86_400_000)

      expect(yield* Effect.flip(engine.secrets.get("s"))).toMatchObject({ _tag: "ObjectNotFound", code: "SecretNotFound" })
      const conflict = yield* Effect.flip(engine.secrets.set("s", { value: value("3") }))
      expect(conflict).toMatchObject({ _tag: "ObjectConflict", innerCode: "ObjectIsDeletedButRecoverable" })
      expect(conflict.message).toContain("is currently in a deleted but recoverable state")

      const recovered = yield* engine.secrets.recover("s")
      expect(Redacted.value(recovered.secret.value)).toBe("2")
      expect(yield* engine.secrets.listVersions("s")).toHaveLength(2)

      yield* engine.secrets.delete("s")
      yield* engine.secrets.purge("s")
      expect(yield* Effect.flip(engine.secrets.purge("s"))).toMatchObject({ code: "SecretNotFound" })
      yield* engine.secrets.set("s", { value: value("fresh") })
    }))

  it.effect("purges deleted secrets lazily once their scheduled purge date has passed", () =>
    Effect.gen(function*() {
      const engine = yield* VaultEngine.make({ recoverableDays: 1 })
      yield* engine.secrets.set("s", { value: value("v") })
      yield* engine.secrets.delete("s")
      yield* TestClock.adjust(Duration.hours(23))
      expect(yield* engine.secrets.listDeleted).toHaveLength(1)
      yield* TestClock.adjust(Duration.hours(1))
      expect(yield* engine.secrets.listDeleted).toHaveLength(0)
      yield* engine.secrets.set("s", { value: value("again") })
    }))

  it.effect("backup restores every version into another, empty engine", () =>
    Effect.gen(function*() {
      const source = yield* VaultEngine.make()
      yield* source.secrets.set("Db-Password", { value: value("α"), tags: { env: "test" } })
      yield* TestClock.adjust(Duration.seconds(1))
      yield* source.secrets.set("db-password", { value: value(""), contentType: "text/plain", enabled: false })
      const blob = yield* source.secrets.backup("DB-PASSWORD")

      const target = yield* VaultEngine.make()
      const restored = yield* target.secrets.restore(blob)
      expect(restored.name).toBe("Db-Password")
      const versions = yield* target.secrets.listVersions("db-password")
      expect(versions.map((v) => Redacted.value(v.secret.value))).toEqual(["α", ""])
      expect(versions[0]?.secret.tags).toEqual({ env: "test" })
      expect(versions[1]?.secret.enabled).toBe(false)

      expect(yield* Effect.flip(target.secrets.restore(blob))).toMatchObject({ _tag: "ObjectConflict" })
      const garbage = yield* Effect.flip(target.secrets.restore(new TextEncoder().encode("not a backup")))
      expect(garbage).toMatchObject({ _tag: "BadParameter" })
      // A truncated blob is malformed too.
      expect(yield* Effect.flip(target.secrets.restore(blob.subarray(0, blob.length - 3)))).toMatchObject({
        _tag: "BadParameter"
      })
    }))

  it.effect("lists one latest item per name in lower-case name order, disabled ones included", () =>
    Effect.gen(function*() {
      const engine = yield* VaultEngine.make()
      yield* engine.secrets.set("b", { value: value("1") })
      yield* engine.secrets.set("A", { value: value("2"), enabled: false })
      yield* engine.secrets.set("b", { value: value("3") })
      const list = yield* engine.secrets.list
      expect(list.map((s) => s.name)).toEqual(["A", "b"])
      expect(list.map((s) => Redacted.value(s.secret.value))).toEqual(["2", "3"])
      expect(yield* engine.secrets.listVersions("missing")).toEqual([])
    }))

  it.effect("rejects invalid recoverableDays as a defect", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(VaultEngine.make({ recoverableDays: 0 }))
      expect(exit._tag).toBe("Failure")
    }))
})
