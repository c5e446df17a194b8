import { KeyVault, TokenProvider } from "@effect-azure/key-vault"
import { Secrets } from "@effect-azure/key-vault/secrets/Secrets"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as Emulator from "../src/Emulator.js"
import * as HttpClientLayer from "../src/testing/HttpClientLayer.js"

const VAULT = "https://myvault.vault.azure.net"

const authorized = (request: HttpClientRequest.HttpClientRequest) =>
  request.pipe(HttpClientRequest.bearerToken("token"), HttpClientRequest.setUrlParam("api-version", "2025-07-01"))

const get = (path: string) =>
  Effect.flatMap(HttpClient.HttpClient, (client) => client.execute(authorized(HttpClientRequest.get(`${VAULT}${path}`))))

const seed = Effect.flatMap(HttpClient.HttpClient, (client) =>
  client.execute(
    authorized(HttpClientRequest.put(`${VAULT}/secrets/s`)).pipe(
      HttpClientRequest.bodyUnsafeJson({ value: "some-value-to-cut-in-half" })
    )
  ))

const addFault = (rule: Parameters<Emulator.Emulator["faults"]["add"]>[0]) =>
  Effect.flatMap(Emulator.EmulatorService, (emulator) => emulator.faults.add(rule))

describe("faults through the in-process HttpClient layer", () => {
  it.effect("Status and MalformedJson arrive as responses; Latency runs on the caller's TestClock", () =>
    Effect.gen(function*() {
      yield* seed
      yield* addFault({ times: 1, fault: { _tag: "Status", status: 503, retryAfter: { _tag: "Seconds", seconds: 2 } } })
      const unavailable = yield* get("/secrets/s")
      expect([unavailable.status, unavailable.headers["retry-after"]]).toEqual([503, "2"])

      yield* addFault({ times: 1, fault: { _tag: "MalformedJson" } })
      const malformed = yield* get("/secrets/s")
      expect(malformed.status).toBe(200)
      const decoded = yield* Effect.either(malformed.json)
      expect(decoded._tag === "Left" && decoded.left.reason).toBe("Decode")

      yield* addFault({ times: 1, fault: { _tag: "Latency", millis: 30_000 } })
      const slow = yield* Effect.fork(get("/secrets/s"))
      yield* TestClock.adjust(Duration.seconds(29))
      expect(slow.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.seconds(1))
      expect((yield* Fiber.join(slow)).status).toBe(200)
    }).pipe(Effect.provide(HttpClientLayer.layerFresh())))

  it.effect("Reset fails with a Transport RequestError; Stall never completes until interrupted; Truncate cuts the body", () =>
    Effect.gen(function*() {
      yield* seed
      yield* addFault({ times: 1, fault: { _tag: "Reset" } })
      const reset = yield* Effect.flip(get("/secrets/s"))
      expect(reset._tag).toBe("RequestError")
      expect(reset._tag === "RequestError" && reset.reason).toBe("Transport")

      yield* addFault({ times: 1, fault: { _tag: "Stall" } })
      const stalled = yield* Effect.fork(Effect.timeout(get("/secrets/s"), Duration.seconds(10)))
      yield* TestClock.adjust(Duration.hours(1))
      const exit = yield* Fiber.await(stalled)
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("TimeoutException")

      yield* addFault({ times: 1, fault: { _tag: "Truncate" } })
      const cut = yield* get("/secrets/s")
      expect(cut.status).toBe(200)
      const text = yield* cut.text
      expect(Number(cut.headers["content-length"])).toBeGreaterThan(text.length)
      expect(text.length).toBeGreaterThan(0)
      yield* addFault({ times: 1, fault: { _tag: "Truncate", bytes: 5 } })
      const json = yield* Effect.either(Effect.flatMap(get("/secrets/s"), (r) => r.json))
      expect(json._tag === "Left" && json.left.reason).toBe("Decode")

      // Served normally afterwards.
      expect((yield* get("/secrets/s")).status).toBe(200)
    }).pipe(Effect.provide(HttpClientLayer.layerFresh())))
})

describe("the real client against injected faults", () => {
  const layer = KeyVault.layer({ vaultUrl: VAULT, cache: { enabled: false }, requestTimeout: "5 seconds" }).pipe(
    Layer.provideMerge(Layer.merge(HttpClientLayer.layerFresh(), TokenProvider.layerStatic()))
  )

  // Advances the TestClock one second at a time until `fiber` is done (retries back off on the Clock).
  const drive = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
    Effect.gen(function*() {
      for (let i = 0; i < 600 && fiber.unsafePoll() === null; i++) yield* TestClock.adjust(Duration.seconds(1))
      return yield* Fiber.await(fiber)
    })

  it.effect("retries through 503, a reset and a stall, and the journal shows every attempt", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const emulator = yield* Emulator.EmulatorService
      yield* secrets.set("db", "value")
      yield* emulator.journal.clear
      yield* emulator.faults.add({ operation: "getSecret", times: 1, fault: { _tag: "Status", status: 503 } })
      yield* emulator.faults.add({ operation: "getSecret", times: 1, fault: { _tag: "Reset" } })
      yield* emulator.faults.add({ operation: "getSecret", times: 1, fault: { _tag: "Stall" } })

      const exit = yield* drive(yield* Effect.fork(secrets.get("db")))
      expect(Exit.isSuccess(exit) && Redacted.value(exit.value.value)).toBe("value")

      const attempts = yield* emulator.journal.query({ operation: "getSecret", tokenPresent: true })
      expect(attempts.map((e) => [e.status, e.fault?.kind ?? null])).toEqual([
        [503, "Status"],
        [null, "Reset"],
        [null, "Stall"],
        [200, null]
      ])
    }).pipe(Effect.provide(layer)))
})
