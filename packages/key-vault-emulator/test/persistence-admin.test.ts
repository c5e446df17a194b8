/**
 * Admin writes made in process (no request served) reach the state directory at once: a restart right after them,
 * with the first emulator never shut down (as after a crash), finds them.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Emulator from "../src/Emulator.js"

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-emu-admin-state-"))

/** Opens the state directory as a restart after a crash would: the earlier emulator's process (and so its lock) is gone. */
const openAfterCrash = (stateDir: string) =>
  Effect.suspend(() => {
    Fs.rmSync(Path.join(stateDir, "vaults", "lock"), { force: true })
    return Emulator.open({ stateDir })
  })

describe("persistence of in-process admin writes", () => {
  it.effect("a seed, vault create, reset and delete and a clock move survive a restart with no request between", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const first = yield* Emulator.open({ stateDir })
      yield* first.admin.seed({
        vaults: [
          { name: "default", secrets: [{ name: "api-key", value: "seeded-value" }] },
          { name: "billing", settings: { recoverableDays: 7 }, secrets: [{ name: "db", value: "billing-db" }] }
        ]
      })
      yield* first.admin.vaults.create({ name: "scratch" })
      yield* first.admin.vaults.create({ name: "gone" })
      yield* first.admin.vaults.delete("gone")
      yield* first.admin.seed({ vaults: [{ name: "scratch", secrets: [{ name: "temp", value: "t" }] }] })
      yield* first.admin.vaults.reset("scratch")
      yield* first.admin.clock.advance("2 hours")

      // No request, no shutdown, no turn of the event loop: the second emulator reads the files as they are now.
      const second = yield* openAfterCrash(stateDir)
      const names = (yield* second.admin.vaults.list).map((vault) => vault.name)
      expect(names).toEqual(["default", "billing", "scratch"])
      const billing = yield* second.admin.vaults.get("billing")
      expect(billing.settings.recoverableDays).toBe(7)
      expect(billing.objects.secrets).toBe(1)
      expect((yield* second.admin.vaults.get("scratch")).objects.secrets).toBe(0)
      const revealed = yield* second.admin.vaults.revealSecret("api-key")
      expect(Redacted.value(revealed.value)).toBe("seeded-value")
      const db = yield* second.admin.vaults.revealSecret("db", { vault: "billing" })
      expect(Redacted.value(db.value)).toBe("billing-db")
      expect((yield* second.admin.clock.get).offsetMillis).toBeGreaterThanOrEqual(2 * 3_600_000)

      yield* second.shutdown
      yield* first.shutdown
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }), 30_000)

  it.effect("a seed that fails half-way keeps the entries before the bad one across a restart", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const first = yield* Emulator.open({ stateDir })
      const failed = yield* Effect.flip(first.admin.seed({
        vaults: [{ name: "default", secrets: [{ name: "good", value: "kept" }, { name: "not_a_name", value: "v" }] }]
      }))
      expect(failed.message).toContain("secrets[1]")
      expect(failed.message).not.toContain("kept")
      const second = yield* openAfterCrash(stateDir)
      expect(Redacted.value((yield* second.admin.vaults.revealSecret("good")).value)).toBe("kept")
      yield* second.shutdown
      yield* first.shutdown
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }), 30_000)
})
