import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Emulator from "../src/Emulator.js"
import * as Journal from "../src/journal/Journal.js"
import { classify } from "../src/journal/Operation.js"
import * as HttpClientLayer from "../src/testing/HttpClientLayer.js"
import { call } from "./support.js"

describe("operation classifier", () => {
  it("names secret, key, crypto and rng requests as the REST reference does", () => {
    const table: ReadonlyArray<readonly [string, string, string, string | undefined]> = [
      ["PUT", "/secrets/a", "setSecret", "a"],
      ["GET", "/secrets/a/", "getSecret", "a"],
      ["GET", "/secrets/a/0123456789abcdef0123456789abcdef", "getSecret", "a"],
      ["PATCH", "/secrets/a/v1", "updateSecret", "a"],
      ["DELETE", "/secrets/a", "deleteSecret", "a"],
      ["GET", "/secrets", "listSecrets", undefined],
      ["GET", "/SECRETS/a/Versions", "listSecretVersions", "a"],
      ["POST", "/secrets/a/backup", "backupSecret", "a"],
      ["POST", "/secrets/restore", "restoreSecret", undefined],
      ["GET", "/deletedsecrets", "listDeletedSecrets", undefined],
      ["GET", "/deletedsecrets/a", "getDeletedSecret", "a"],
      ["DELETE", "/deletedsecrets/a", "purgeDeletedSecret", "a"],
      ["POST", "/deletedsecrets/a/recover", "recoverDeletedSecret", "a"],
      ["POST", "/keys/k/create", "createKey", "k"],
      ["PUT", "/keys/k", "importKey", "k"],
      ["GET", "/keys/k/", "getKey", "k"],
      ["PATCH", "/keys/k/v", "updateKey", "k"],
      ["DELETE", "/keys/k", "deleteKey", "k"],
      ["GET", "/keys", "listKeys", undefined],
      ["GET", "/keys/k/versions", "listKeyVersions", "k"],
      ["POST", "/keys/k/backup", "backupKey", "k"],
      ["POST", "/keys/restore", "restoreKey", undefined],
      ["POST", "/keys/k/rotate", "rotateKey", "k"],
      ["GET", "/keys/k/rotationpolicy", "getKeyRotationPolicy", "k"],
      ["PUT", "/keys/k/rotationpolicy", "updateKeyRotationPolicy", "k"],
      ["POST", "/keys/k/v/encrypt", "encrypt", "k"],
      ["POST", "/keys/k//decrypt", "decrypt", "k"],
      ["POST", "/keys/k/v/sign", "sign", "k"],
      ["POST", "/keys/k/v/verify", "verify", "k"],
      ["POST", "/keys/k/v/wrapkey", "wrapKey", "k"],
      ["POST", "/keys/k/v/unwrapKey", "unwrapKey", "k"],
      ["POST", "/keys/k/v/release", "releaseKey", "k"],
      ["GET", "/deletedkeys", "listDeletedKeys", undefined],
      ["GET", "/deletedkeys/k", "getDeletedKey", "k"],
      ["DELETE", "/deletedkeys/k", "purgeDeletedKey", "k"],
      ["POST", "/deletedkeys/k/recover", "recoverDeletedKey", "k"],
      ["POST", "/rng", "getRandomBytes", undefined],
      ["GET", "/nowhere", "unknown", undefined],
      ["POST", "/secrets/a", "unknown", undefined],
      ["PUT", "/secrets/bad_name", "unknown", undefined]
    ]
    expect(table.map(([method, path]) => {
      const c = classify(method, path)
      return [method, path, c.operation, c.name]
    })).toEqual(table)
    expect(classify("POST", "/keys/k/v/sign").family).toBe("key")
    expect(classify("POST", "/rng").family).toBe("key")
    expect(classify("GET", "/secrets/a").family).toBe("secret")
  })
})

describe("request journal", () => {
  it.effect("records time, method, path, operation, name, status, token, fault and duration; never bodies", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_700_000_000_000)
      const emulator = yield* Emulator.make()
      yield* call(emulator, "PUT", "/secrets/db-password", { auth: false, body: { value: "hunter2" } })
      yield* call(emulator, "PUT", "/secrets/db-password", { body: { value: "hunter2" } })
      yield* TestClock.adjust(Duration.seconds(1))
      yield* emulator.faults.add({ operation: "getSecret", times: 1, fault: { _tag: "Status", status: 503 } })
      yield* call(emulator, "GET", "/secrets/db-password/")
      yield* call(emulator, "GET", "/secrets/missing")

      const entries = yield* emulator.journal.entries
      expect(entries).toEqual([
        {
          sequence: 1,
          timeMillis: 1_700_000_000_000,
          method: "PUT",
          path: "/secrets/db-password",
          operation: "setSecret",
          name: "db-password",
          status: 401,
          tokenPresent: false,
          reachedEngine: false,
          fault: null,
          durationMillis: 0
        },
        {
          sequence: 2,
          timeMillis: 1_700_000_000_000,
          method: "PUT",
          path: "/secrets/db-password",
          operation: "setSecret",
          name: "db-password",
          status: 200,
          tokenPresent: true,
          reachedEngine: true,
          fault: null,
          durationMillis: 0
        },
        {
          sequence: 3,
          timeMillis: 1_700_000_001_000,
          method: "GET",
          path: "/secrets/db-password/",
          operation: "getSecret",
          name: "db-password",
          status: 503,
          tokenPresent: true,
          reachedEngine: false,
          fault: { kind: "Status", ruleId: "fault-1", phase: "before" },
          durationMillis: 0
        },
        {
          sequence: 4,
          timeMillis: 1_700_000_001_000,
          method: "GET",
          path: "/secrets/missing",
          operation: "getSecret",
          name: "missing",
          status: 404,
          tokenPresent: true,
          reachedEngine: true,
          fault: null,
          durationMillis: 0
        }
      ])
      expect(JSON.stringify(entries)).not.toContain("hunter2")
      expect(JSON.stringify(entries)).not.toContain("api-version")
    }))

  it.effect("filters by operation, name, status, method, fault and token", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* call(emulator, "PUT", "/secrets/Alpha", { body: { value: "1" } })
      yield* call(emulator, "PUT", "/secrets/beta", { body: { value: "2" } })
      yield* call(emulator, "GET", "/secrets/alpha", { auth: false })
      yield* call(emulator, "GET", "/secrets/alpha")
      yield* call(emulator, "GET", "/secrets/gamma")
      yield* call(emulator, "GET", "/secrets")
      const names = (filter: Journal.JournalFilter) =>
        Effect.map(emulator.journal.query(filter), (entries) => entries.map((e) => `${e.operation}:${e.name}:${e.status}`))

      expect(yield* names({ operation: "setSecret" })).toEqual(["setSecret:Alpha:200", "setSecret:beta:200"])
      expect(yield* names({ name: "ALPHA" })).toEqual(["setSecret:Alpha:200", "getSecret:alpha:401", "getSecret:alpha:200"])
      expect(yield* names({ name: /^g/ })).toEqual(["getSecret:gamma:404"])
      expect(yield* names({ status: [401, 404] })).toEqual(["getSecret:alpha:401", "getSecret:gamma:404"])
      expect(yield* names({ operation: ["getSecret", "listSecrets"], status: 200 })).toEqual([
        "getSecret:alpha:200",
        "listSecrets:null:200"
      ])
      expect(yield* names({ method: "put", name: "beta" })).toEqual(["setSecret:beta:200"])
      expect(yield* names({ tokenPresent: false })).toEqual(["getSecret:alpha:401"])
      expect(yield* names({ faulted: true })).toEqual([])
      expect((yield* names({ faulted: false })).length).toBe(6)
    }))

  it.effect("is a ring buffer: keeps the newest entries up to its capacity, counts the dropped ones, clears", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make({ journalCapacity: 3 })
      expect(emulator.journal.capacity).toBe(3)
      for (let i = 0; i < 5; i++) yield* call(emulator, "GET", `/secrets/s${i}`)
      expect((yield* emulator.journal.entries).map((e) => [e.sequence, e.name])).toEqual([[3, "s2"], [4, "s3"], [5, "s4"]])
      expect(yield* emulator.journal.dropped).toBe(2)
      yield* emulator.journal.clear
      expect(yield* emulator.journal.entries).toEqual([])
      yield* call(emulator, "GET", "/secrets/after")
      expect((yield* emulator.journal.entries).map((e) => [e.sequence, e.name])).toEqual([[6, "after"]])

      const fresh = yield* Emulator.make()
      expect(fresh.journal.capacity).toBe(Journal.DEFAULT_CAPACITY)
      const none = yield* Journal.make(0)
      yield* none.record({
        timeMillis: 0,
        method: "GET",
        path: "/",
        operation: "unknown",
        name: null,
        status: 404,
        tokenPresent: true,
        reachedEngine: true,
        fault: null,
        durationMillis: 0
      })
      expect([yield* none.entries, yield* none.dropped]).toEqual([[], 1])
    }))

  it.effect("journals a request interrupted during injected latency, with no status", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* emulator.faults.add({ fault: { _tag: "Latency", millis: 60_000 } })
      const timedOut = yield* call(emulator, "GET", "/secrets/slow").pipe(
        Effect.timeout(Duration.seconds(5)),
        Effect.fork
      )
      yield* TestClock.adjust(Duration.seconds(5))
      yield* timedOut.await
      const [entry] = yield* emulator.journal.entries
      expect(entry).toMatchObject({ status: null, durationMillis: 5_000, fault: { kind: "Latency" }, reachedEngine: false })
    }))

  it.effect("is reachable through EmulatorService behind the in-process layer", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      yield* client.execute(HttpClientRequest.get("https://myvault.vault.azure.net/secrets/x?api-version=2025-07-01"))
      yield* client.execute(
        HttpClientRequest.get("https://myvault.vault.azure.net/secrets/x?api-version=2025-07-01").pipe(
          HttpClientRequest.bearerToken("t")
        )
      )
      const emulator = yield* Emulator.EmulatorService
      const entries = yield* emulator.journal.entries
      expect(entries.map((e) => [e.operation, e.tokenPresent, e.status])).toEqual([
        ["getSecret", false, 401],
        ["getSecret", true, 404]
      ])
    }).pipe(Effect.provide(HttpClientLayer.layerFresh())))
})
