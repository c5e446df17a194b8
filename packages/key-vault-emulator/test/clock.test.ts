import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as EmulatorClock from "../src/clock/EmulatorClock.js"
import * as Emulator from "../src/Emulator.js"
import { call } from "./support.js"

const START = Date.parse("2030-01-01T00:00:00Z")
const DAY = 24 * 60 * 60 * 1000
const seconds = (millis: number): number => Math.floor(millis / 1000)

describe("EmulatorClock", () => {
  it.effect("adds an offset to the caller's clock: advance, set, reset; TestClock moves still count", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const clock = yield* EmulatorClock.make()
      expect((yield* clock.now).getTime()).toBe(START)
      yield* clock.advance(Duration.days(2))
      expect((yield* clock.now).getTime()).toBe(START + 2 * DAY)
      yield* TestClock.adjust(Duration.hours(1))
      expect((yield* clock.now).getTime()).toBe(START + 2 * DAY + 3_600_000)
      const target = new Date("2031-06-15T12:00:00Z")
      expect(yield* clock.set(target)).toEqual(target)
      expect(yield* clock.offsetMillis).toBe(target.getTime() - (START + 3_600_000))
      yield* clock.reset
      expect((yield* clock.now).getTime()).toBe(START + 3_600_000)
    }))

  it.effect("provides its time as the Clock of an effect, never twice when nested", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const clock = yield* EmulatorClock.make({ startTime: new Date(START + DAY) })
      const nested = yield* clock.provide(clock.provide(Effect.clockWith((c) => c.currentTimeMillis)))
      expect(nested).toBe(START + DAY)
      expect(yield* clock.provide(clock.now)).toEqual(new Date(START + DAY))
    }))

  it.effect("refuses an endless advance and an invalid date", () =>
    Effect.gen(function*() {
      const clock = yield* EmulatorClock.make()
      const endless = yield* Effect.exit(clock.advance(Duration.infinity))
      expect(endless._tag).toBe("Failure")
      const invalid = yield* Effect.exit(clock.set(new Date(Number.NaN)))
      expect(invalid._tag).toBe("Failure")
      expect(yield* clock.offsetMillis).toBe(0)
    }))
})

describe("the emulator's clock", () => {
  it.effect("moves secret expiry and nbf with it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const emulator = yield* Emulator.make()
      const exp = seconds(START + 10 * DAY)
      const nbf = seconds(START + DAY)
      yield* call(emulator, "PUT", "/secrets/later", { body: { value: "v", attributes: { nbf } } })
      yield* call(emulator, "PUT", "/secrets/soon", { body: { value: "v", attributes: { exp } } })

      expect((yield* call(emulator, "GET", "/secrets/later/")).json.error.innererror.code).toBe("SecretNotYetValid")
      expect((yield* call(emulator, "GET", "/secrets/soon/")).status).toBe(200)

      yield* emulator.clock.advance(Duration.days(10))
      expect((yield* call(emulator, "GET", "/secrets/later/")).status).toBe(200)
      expect((yield* call(emulator, "GET", "/secrets/soon/")).json.error.innererror.code).toBe("SecretExpired")

      // New versions are stamped with the emulator's time, not the caller's.
      const created = yield* call(emulator, "PUT", "/secrets/now", { body: { value: "v" } })
      expect(created.json.attributes.created).toBe(seconds(START + 10 * DAY))
    }))

  it.effect("moves soft-delete retention with it: a deleted secret is purged once the clock passes its date", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const emulator = yield* Emulator.make({ recoverableDays: 7 })
      yield* call(emulator, "PUT", "/secrets/gone", { body: { value: "v" } })
      const deleted = yield* call(emulator, "DELETE", "/secrets/gone")
      expect(deleted.json.scheduledPurgeDate).toBe(seconds(START + 7 * DAY))
      yield* emulator.clock.advance(Duration.days(7))
      expect((yield* call(emulator, "GET", "/deletedsecrets/gone")).status).toBe(404)
      // And the name is free again.
      expect((yield* call(emulator, "PUT", "/secrets/gone", { body: { value: "v" } })).status).toBe(200)
    }))

  it.effect("starts at startTime", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const emulator = yield* Emulator.make({ startTime: new Date("2040-02-29T00:00:00Z") })
      const created = yield* call(emulator, "PUT", "/secrets/a", { body: { value: "v" } })
      expect(created.json.attributes.created).toBe(seconds(Date.parse("2040-02-29T00:00:00Z")))
      const journal = yield* emulator.journal.entries
      expect(journal[0]?.timeMillis).toBe(Date.parse("2040-02-29T00:00:00Z"))
    }))
})

describe("admin clock endpoint", () => {
  it.effect("GET reads and POST moves the emulator's time", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const emulator = yield* Emulator.make()
      const read = yield* call(emulator, "GET", "/admin/clock", { apiVersion: null })
      expect(read.status).toBe(200)
      expect(read.json).toEqual({ now: "2030-01-01T00:00:00.000Z", offsetMillis: 0 })

      const advanced = yield* call(emulator, "POST", "/admin/clock", { apiVersion: null, body: { advanceSeconds: 86400 } })
      expect(advanced.json).toEqual({ now: "2030-01-02T00:00:00.000Z", offsetMillis: DAY })

      const set = yield* call(emulator, "POST", "/admin/clock", { apiVersion: null, body: { set: "2035-05-05T05:05:05Z" } })
      expect(set.json.now).toBe("2035-05-05T05:05:05.000Z")
      const created = yield* call(emulator, "PUT", "/secrets/a", { body: { value: "v" } })
      expect(created.json.attributes.created).toBe(seconds(Date.parse("2035-05-05T05:05:05Z")))

      const reset = yield* call(emulator, "POST", "/admin/clock", { apiVersion: null, body: { reset: true } })
      expect(reset.json).toEqual({ now: "2030-01-01T00:00:00.000Z", offsetMillis: 0 })
    }))

  it.effect("refuses malformed changes with 400 and other verbs with 405", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      for (const body of [{ advanceSeconds: -1 }, { set: "yesterday" }, { set: "2030-13-45T00:00:00Z" }, {}]) {
        const answer = yield* call(emulator, "POST", "/admin/clock", { apiVersion: null, body })
        expect(answer.status).toBe(400)
        expect(answer.json.error.code).toBe("BadParameter")
      }
      expect((yield* call(emulator, "PUT", "/admin/clock", { apiVersion: null, body: {} })).status).toBe(405)
      expect((yield* call(emulator, "GET", "/admin/nothing", { apiVersion: null })).status).toBe(404)
      expect(yield* emulator.clock.offsetMillis).toBe(0)
    }))

  it.effect("is protected like the vault: 401 challenge without a token, 401 for a wrong one", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make({ token: "right-token" })
      const anonymous = yield* call(emulator, "POST", "/admin/clock", {
        apiVersion: null,
        auth: false,
        body: { advanceSeconds: 60 }
      })
      expect(anonymous.status).toBe(401)
      expect(anonymous.headers["www-authenticate"]).toMatch(/^Bearer authorization=/)
      const wrong = yield* call(emulator, "POST", "/admin/clock", { apiVersion: null, body: { advanceSeconds: 60 } })
      expect(wrong.status).toBe(401)
      expect(wrong.json.error.code).toBe("Unauthorized")
      expect(yield* emulator.clock.offsetMillis).toBe(0)
      const right = yield* call(emulator, "POST", "/admin/clock", {
        apiVersion: null,
        body: { advanceSeconds: 60 },
        headers: { authorization: "Bearer right-token" }
      })
      expect(right.status).toBe(200)
      expect(yield* emulator.clock.offsetMillis).toBe(60_000)
      // Admin calls are not vault operations: the journal holds none of them.
      expect(yield* emulator.journal.entries).toEqual([])
    }))
})
