/**
 * Runtime state beyond the vaults' objects that a restart from the state directory keeps: throttles changed at
 * runtime (admin API over HTTP and in process), and Event Grid's expiry events for the versions the vaults held
 * (scheduled again, published once across restarts). Each restart reopens the state directory with the earlier
 * emulator never shut down, as after a crash. Time is `TestClock` and the emulator's clock.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Emulator from "../src/Emulator.js"
import { admin } from "./admin-support.js"
import { call } from "./support.js"

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-emu-runtime-state-"))

/** Opens the state directory as a restart after a crash would: the earlier emulator's process (and so its lock) is gone. */
const openAfterCrash = (stateDir: string) =>
  Effect.suspend(() => {
    Fs.rmSync(Path.join(stateDir, "vaults", "lock"), { force: true })
    return Emulator.open({ stateDir })
  })
const START = Date.parse("2030-01-01T00:00:00Z")
const DAY = 24 * 60 * 60 * 1000
const B = "https://team-b.vault.azure.net"

const expiryEvents = (emulator: Emulator.Emulator) =>
  Effect.map(
    emulator.eventGrid.recent,
    (events) =>
      events
        .filter((event) => !event.type.endsWith("NewVersionCreated"))
        .map((event) => `${event.type.replace("Microsoft.KeyVault.", "")} ${event.data.VaultName}/${event.data.ObjectName}`)
  )

describe("persistence of runtime settings and scheduled events", () => {
  it.effect("a throttle changed at runtime is the vault's throttle after a restart, and still refuses", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const first = yield* Emulator.open({ stateDir })
      expect((yield* admin(first, "POST", "/admin/vaults", { body: { name: "team-b", settings: { throttle: false } } })).status)
        .toBe(201)
      // Over HTTP for a named vault, in process for the default one.
      const changed = yield* admin(first, "PUT", "/admin/vaults/team-b/throttle", {
        body: { enabled: true, limits: { secretCreate: 1 }, retryAfter: true }
      })
      expect(changed.status).toBe(200)
      const defaultChanged = yield* first.admin.throttle.update({ enabled: true, windowMillis: 60_000 })

      const second = yield* openAfterCrash(stateDir)
      const restored = yield* second.admin.throttle.status("team-b")
      expect(restored).toEqual(changed.json)
      expect(restored).toMatchObject({ enabled: true, retryAfter: true, limits: { secretCreate: 1 } })
      expect(yield* second.admin.throttle.status()).toEqual(defaultChanged)
      // It throttles, not just reports: the second secret write in the window gets the service's 429.
      expect((yield* call(second, "PUT", "/secrets/a", { origin: B, body: { value: "1" } })).status).toBe(200)
      const refused = yield* call(second, "PUT", "/secrets/b", { origin: B, body: { value: "2" } })
      expect(refused.status).toBe(429)
      expect(refused.headers["retry-after"]).toBeDefined()

      // Switched off again: the third start finds it off. A vault deleted and created anew starts from its own settings.
      yield* second.admin.throttle.update({ enabled: false }, "team-b")
      yield* second.admin.vaults.create({ name: "gone", settings: { throttle: false } })
      yield* second.admin.throttle.update({ enabled: true }, "gone")
      yield* second.admin.vaults.delete("gone")
      yield* second.admin.vaults.create({ name: "gone", settings: { throttle: false } })
      const third = yield* openAfterCrash(stateDir)
      expect((yield* third.admin.throttle.status("team-b")).enabled).toBe(false)
      expect((yield* third.admin.throttle.status("gone")).enabled).toBe(false)
      expect((yield* third.admin.throttle.status()).windowMillis).toBe(60_000)

      yield* Effect.forEach([third, second, first], (emulator) => emulator.shutdown)
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }), 30_000)

  it.effect("versions held at a restart get their NearExpiry and Expired events as the clock passes them, once", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const stateDir = tempDir()
      const first = yield* Emulator.open({ stateDir })
      yield* first.admin.vaults.create({ name: "team-b" })
      const exp = Math.floor((START + 40 * DAY) / 1000)
      expect((yield* call(first, "PUT", "/secrets/db", { body: { value: "v", attributes: { exp } } })).status).toBe(200)
      expect((yield* call(first, "POST", "/keys/k/create", {
        origin: B,
        body: { kty: "EC", crv: "P-256", attributes: { exp } }
      })).status).toBe(200)
      expect(yield* expiryEvents(first)).toEqual([])

      const second = yield* openAfterCrash(stateDir)
      // One second before the window: nothing; at exp - 30 days: both, published by the clock's move.
      yield* second.clock.advance(Duration.millis(10 * DAY - 1000))
      expect(yield* expiryEvents(second)).toEqual([])
      yield* second.clock.advance(Duration.seconds(1))
      // (The default vault has served no request since the restart: its events name `DEFAULT_VAULT_URL`.)
      expect(yield* expiryEvents(second)).toEqual(["SecretNearExpiry emulator/db", "KeyNearExpiry team-b/k"])
      const nearExpiry = (yield* second.eventGrid.recent)[0]!
      expect(nearExpiry.time).toEqual(new Date(START + 10 * DAY))
      expect(nearExpiry.data.EXP).toBe(exp)
      // Requests and later moves do not publish them again.
      yield* call(second, "GET", "/secrets/db/")
      yield* second.clock.advance(Duration.days(1))
      expect((yield* expiryEvents(second)).length).toBe(2)

      // A restart after they were published does not publish them again; Expired still comes, once.
      const third = yield* openAfterCrash(stateDir)
      yield* call(third, "GET", "/secrets/db/")
      yield* third.eventGrid.checkDue
      expect(yield* expiryEvents(third)).toEqual([])
      yield* third.clock.advance(Duration.days(29))
      expect(yield* expiryEvents(third)).toEqual(["SecretExpired myvault/db", "KeyExpired team-b/k"])
      yield* third.clock.advance(Duration.days(365))
      expect((yield* expiryEvents(third)).length).toBe(2)

      yield* Effect.forEach([third, second, first], (emulator) => emulator.shutdown)
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }), 30_000)
})
