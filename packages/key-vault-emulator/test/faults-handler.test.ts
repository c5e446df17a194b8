import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as Emulator from "../src/Emulator.js"
import * as Prng from "@effect-azure/key-vault/replay/Prng"
import * as Faults from "../src/faults/Faults.js"
import type { FaultRule } from "../src/faults/FaultRule.js"
import { call } from "./support.js"

const THROTTLED_BODY =
  "{\"error\":{\"code\":\"Throttled\",\"message\":\"Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached\"}}"

const setSecret = (emulator: Emulator.Emulator, name: string, value = "v") =>
  call(emulator, "PUT", `/secrets/${name}`, { body: { value } })

// Which of `count` getSecret calls on `name` were faulted (true) by the emulator's rules.
const faultPattern = (emulator: Emulator.Emulator, name: string, count: number) =>
  Effect.forEach(Array.from({ length: count }), () =>
    Effect.map(call(emulator, "GET", `/secrets/${name}`), (r) => r.status !== 200))

describe("fault rules through the handler", () => {
  it.effect("Status: a Key Vault error body and every Retry-After form", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2030, 0, 2, 3, 4, 5, 600))
      const emulator = yield* Emulator.make()
      yield* emulator.faults.add({
        operation: "getSecret",
        fault: {
          _tag: "Status",
          status: 503,
          retryAfter: [{ _tag: "RetryAfterMs", millis: 1500 }, { _tag: "XMsRetryAfterMs", millis: 2500 }]
        }
      })
      const unavailable = yield* call(emulator, "GET", "/secrets/a")
      expect(unavailable.status).toBe(503)
      expect(unavailable.json).toEqual({
        error: { code: "ServiceUnavailable", message: "The service is temporarily unavailable." }
      })
      expect(unavailable.headers["content-type"]).toBe("application/json; charset=utf-8")
      expect(unavailable.headers["retry-after-ms"]).toBe("1500")
      expect(unavailable.headers["x-ms-retry-after-ms"]).toBe("2500")
      expect(unavailable.headers["retry-after"]).toBeUndefined()

      yield* emulator.faults.clear
      yield* emulator.faults.add({ fault: { _tag: "Status", status: 429, retryAfter: { _tag: "Seconds", seconds: 7 } } })
      const throttled = yield* call(emulator, "GET", "/secrets/a")
      expect(throttled.status).toBe(429)
      expect(throttled.text).toBe(THROTTLED_BODY)
      expect(throttled.headers["retry-after"]).toBe("7")

      yield* emulator.faults.clear
      yield* emulator.faults.add({
        fault: { _tag: "Status", status: 500, code: "Custom", message: "m", retryAfter: { _tag: "HttpDate", seconds: 30 } }
      })
      const custom = yield* call(emulator, "GET", "/secrets/a")
      expect(custom.json).toEqual({ error: { code: "Custom", message: "m" } })
      // Clock 03:04:05.600 rounds up to :06, plus 30 s.
      expect(custom.headers["retry-after"]).toBe("Wed, 02 Jan 2030 03:04:36 GMT")

      for (const [status, code] of [[408, "RequestTimeout"], [502, "BadGateway"], [504, "GatewayTimeout"]] as const) {
        yield* emulator.faults.clear
        yield* emulator.faults.add({ fault: { _tag: "Status", status } })
        const reply = yield* call(emulator, "GET", "/secrets/a")
        expect([reply.status, reply.json.error.code]).toEqual([status, code])
      }
    }))

  it.effect("phase before: the engine never sees the write; phase after: it is applied and the client told 500", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* emulator.faults.add({ operation: "setSecret", times: 1, fault: { _tag: "Status", status: 500 } })
      expect((yield* setSecret(emulator, "before")).status).toBe(500)
      expect((yield* call(emulator, "GET", "/secrets/before")).status).toBe(404)

      yield* emulator.faults.add({
        operation: "setSecret",
        times: 1,
        phase: "after",
        fault: { _tag: "Status", status: 500 }
      })
      expect((yield* setSecret(emulator, "after", "applied")).status).toBe(500)
      const read = yield* call(emulator, "GET", "/secrets/after")
      expect([read.status, read.json.value]).toEqual([200, "applied"])

      const journal = yield* emulator.journal.query({ operation: "setSecret" })
      expect(journal.map((e) => [e.name, e.status, e.reachedEngine, e.fault?.phase])).toEqual([
        ["before", 500, false, "before"],
        ["after", 500, true, "after"]
      ])
    }))

  it.effect("Latency waits on the Clock (TestClock here), before or after the engine", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* emulator.faults.add({ operation: "setSecret", fault: { _tag: "Latency", millis: 2_000 } })
      const fiber = yield* Effect.fork(setSecret(emulator, "slow"))
      yield* TestClock.adjust(Duration.millis(1_999))
      expect(fiber.unsafePoll()).toBeNull()
      // Before the engine: nothing is written while the request waits.
      expect((yield* emulator.engine.secrets.list).length).toBe(0)
      yield* TestClock.adjust(Duration.millis(1))
      expect((yield* Fiber.join(fiber)).status).toBe(200)

      yield* emulator.faults.clear
      yield* emulator.faults.add({ operation: "setSecret", phase: "after", fault: { _tag: "Latency", millis: 500 } })
      const after = yield* Effect.fork(setSecret(emulator, "slow-after"))
      yield* TestClock.adjust(Duration.millis(1))
      // After the engine: written already, the answer still on its way.
      expect(after.unsafePoll()).toBeNull()
      expect((yield* emulator.engine.secrets.list).length).toBe(2)
      yield* TestClock.adjust(Duration.millis(499))
      expect((yield* Fiber.join(after)).status).toBe(200)

      const entries = yield* emulator.journal.query({ operation: "setSecret" })
      expect(entries.map((e) => [e.durationMillis, e.fault?.kind, e.fault?.phase])).toEqual([
        [2_000, "Latency", "before"],
        [500, "Latency", "after"]
      ])
    }))

  it.effect("Reset, Stall and Truncate become transport faults for the adapters; MalformedJson is a 200 that is not JSON", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* setSecret(emulator, "s", "a-value-long-enough-to-cut")
      const reset = yield* emulator.faults.add({ name: "s", times: 1, fault: { _tag: "Reset" } })
      const first = yield* emulator.handler(requestFor("GET", "/secrets/s"))
      expect(first.fault).toEqual({ _tag: "Reset" })
      // An adapter that ignores `fault` still reports a failure.
      expect(first.status).toBe(503)

      yield* emulator.faults.add({ name: "s", times: 1, fault: { _tag: "Stall" } })
      expect((yield* emulator.handler(requestFor("GET", "/secrets/s"))).fault).toEqual({ _tag: "Stall" })

      yield* emulator.faults.add({ name: "s", times: 1, fault: { _tag: "Truncate", bytes: 10 } })
      const cut = yield* emulator.handler(requestFor("GET", "/secrets/s"))
      expect(cut.status).toBe(200)
      expect(cut.fault).toEqual({ _tag: "Truncate", bytes: 10 })
      expect(JSON.parse(new TextDecoder().decode(cut.body)).value).toBe("a-value-long-enough-to-cut")

      yield* emulator.faults.add({ name: "s", times: 1, fault: { _tag: "Truncate" } })
      const half = yield* emulator.handler(requestFor("GET", "/secrets/s"))
      expect(half.fault).toEqual({ _tag: "Truncate", bytes: Math.floor(half.body.byteLength / 2) })

      yield* emulator.faults.add({ name: "s", times: 1, fault: { _tag: "MalformedJson" } })
      const malformed = yield* call(emulator, "GET", "/secrets/s").pipe(Effect.exit)
      // `call` parses JSON: it must fail on the malformed body.
      expect(Exit.isFailure(malformed)).toBe(true)
      const raw = yield* emulator.handler(requestFor("GET", "/secrets/s"))
      expect(raw.status).toBe(200)

      const kinds = (yield* emulator.journal.query({ name: "s", faulted: true })).map((e) => [e.fault?.kind, e.status])
      expect(kinds).toEqual([
        ["Reset", null],
        ["Stall", null],
        ["Truncate", 200],
        ["Truncate", 200],
        ["MalformedJson", 200]
      ])
      expect(yield* emulator.faults.remove(reset)).toBe(true)
      expect(yield* emulator.faults.remove(reset)).toBe(false)
    }))

  it.effect("times: exactly the next N matching requests; the challenge is never faulted", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* setSecret(emulator, "n")
      yield* emulator.faults.add({ operation: "getSecret", times: 2, fault: { _tag: "Status", status: 503 } })
      const challenge = yield* call(emulator, "GET", "/secrets/n", { auth: false })
      expect(challenge.status).toBe(401)
      // A non-matching operation does not use up the rule.
      expect((yield* call(emulator, "GET", "/secrets")).status).toBe(200)
      expect(yield* faultPattern(emulator, "n", 4)).toEqual([true, true, false, false])
      const [registered] = yield* emulator.faults.rules
      expect(registered).toMatchObject({ id: "fault-1", fired: 2, remaining: 0 })
    }))

  it.effect("probability: the same seed gives the same sequence, another seed another one", () =>
    Effect.gen(function*() {
      const rule: FaultRule = { operation: "getSecret", probability: 0.5, fault: { _tag: "Status", status: 500 } }
      const run = (seed: number) =>
        Effect.gen(function*() {
          const emulator = yield* Emulator.make({ seed, faults: [rule] })
          yield* setSecret(emulator, "p")
          return yield* faultPattern(emulator, "p", 40)
        })
      const a = yield* run(42)
      const b = yield* run(42)
      const c = yield* run(7)
      expect(a).toEqual(b)
      expect(a).not.toEqual(c)
      const hits = a.filter(Boolean).length
      expect(hits).toBeGreaterThan(8)
      expect(hits).toBeLessThan(32)

      // probability plus times: at most `times` firings.
      const capped = yield* Emulator.make({ faults: [{ ...rule, probability: 0.9, times: 3 }] })
      yield* setSecret(capped, "p")
      expect((yield* faultPattern(capped, "p", 30)).filter(Boolean).length).toBe(3)
    }))

  it("fault dice come from the project's one seeded generator (the replay's), so a seed means the same everywhere", () => {
    const draws = (next: () => number) => Array.from({ length: 8 }, next)
    expect(draws(Faults.prng(42))).toEqual(draws(Prng.mulberry32(42)))
    // The replay's user-facing seeding is the same generator from a mixed start.
    expect(draws(Prng.make(42))).toEqual(draws(Prng.mulberry32(42 ^ 0x9e3779b9)))
    for (const x of draws(Faults.prng(7))) expect(x >= 0 && x < 1).toBe(true)
  })

  it.effect("matching by operation list, glob, RegExp and /regexp/ strings; nameless requests never match a pattern", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      for (const name of ["db-primary", "db-replica", "cache", "DB-upper"]) yield* setSecret(emulator, name)
      const status = (method: string, path: string) => Effect.map(call(emulator, method, path), (r) => r.status)
      const fault = { _tag: "Status", status: 503 } as const

      const glob = yield* emulator.faults.add({ operation: ["getSecret", "updateSecret"], name: "db-*", fault })
      expect(yield* status("GET", "/secrets/db-primary")).toBe(503)
      expect(yield* status("GET", "/secrets/DB-upper")).toBe(503)
      expect(yield* status("PATCH", "/secrets/db-replica")).toBe(503)
      expect(yield* status("GET", "/secrets/cache")).toBe(200)
      expect(yield* status("DELETE", "/secrets/db-replica/")).not.toBe(503)
      expect(yield* status("GET", "/secrets")).toBe(200)
      yield* emulator.faults.remove(glob)

      yield* emulator.faults.add({ name: /^db-p/, fault })
      expect(yield* status("GET", "/secrets/db-primary")).toBe(503)
      expect(yield* status("GET", "/secrets/DB-upper")).toBe(200)
      yield* emulator.faults.clear

      yield* emulator.faults.add({ name: "/^c.c/i", fault })
      expect(yield* status("GET", "/secrets/cache/")).toBe(503)
      expect(yield* status("GET", "/secrets/db-primary")).toBe(200)
      yield* emulator.faults.clear

      yield* emulator.faults.add({ name: "cach?", fault })
      expect(yield* status("GET", "/secrets/cache")).toBe(503)
    }))

  it.effect("refuses invalid rules with a message naming the problem", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const invalid = [
        { fault: { _tag: "Status", status: 200 } },
        { operation: "getSecrets", fault: { _tag: "Reset" } },
        { probability: 1.5, fault: { _tag: "Reset" } },
        { times: 0, fault: { _tag: "Reset" } },
        { name: "/(/", fault: { _tag: "Reset" } },
        { fault: { _tag: "Latency", millis: -1 } },
        { fault: { _tag: "Explode" } }
      ] as unknown as ReadonlyArray<FaultRule>
      for (const rule of invalid) {
        const error = yield* Effect.flip(emulator.faults.add(rule))
        expect(error._tag).toBe("InvalidFaultRule")
        expect(error.message).toMatch(/^invalid fault rule: /)
      }
      const unknownOperation = yield* Effect.flip(emulator.faults.add(invalid[1]!))
      expect(unknownOperation.message).toContain("unknown operation \"getSecrets\"")
      expect(yield* emulator.faults.rules).toEqual([])
    }))
})

const requestFor = (method: string, path: string) => {
  const url = new URL(path, "https://myvault.vault.azure.net")
  url.searchParams.set("api-version", "2025-07-01")
  return { method, url, headers: { authorization: "Bearer t" }, body: new Uint8Array(0) }
}
