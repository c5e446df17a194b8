/**
 * The expiry monitor against the in-process emulator, in TestClock time (the emulator's clock is the same TestClock):
 * window edges, once per version, new versions, disabled objects, failing scans, the schedule, and what it reads.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { Certificates } from "../src/certificates/Certificates.js"
import { Keys } from "../src/keys/Keys.js"
import * as ExpiryMonitor from "../src/rotation/ExpiryMonitor.js"
import * as ExpirySource from "../src/rotation/ExpirySource.js"
import type { KeyVaultEvent } from "../src/rotation/RotationEvent.js"
import { RotationEvents } from "../src/rotation/RotationEvents.js"
import { Secrets } from "../src/secrets/Secrets.js"
import { awaitOnTestClock, DAY, nextEvents, seconds, VAULT, vault } from "./rotation-support.js"

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))
const later = (millis: number) => Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms + millis))

/** A monitor over the client's secrets and keys, scanned by hand. */
const monitor = (options: ExpiryMonitor.ExpiryMonitorOptions = {}) =>
  Effect.gen(function*() {
    const sources = [yield* ExpirySource.secrets, yield* ExpirySource.keys]
    return yield* ExpiryMonitor.make(sources, options)
  })

describe("ExpiryMonitor", () => {
  it.scoped("publishes NearExpiry exactly when the expiry enters the window, Expired exactly at expiry", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const scan = (yield* monitor()).scan
      const expiresOn = yield* later(30 * DAY + 1000)
      const secret = yield* secrets.set("edge", "v", { expiresOn })

      const collect = yield* nextEvents(2)
      expect((yield* scan).published).toBe(0) // 30 days and 1 second left: outside the window
      yield* TestClock.adjust("1 second")
      expect((yield* scan).published).toBe(1) // exactly 30 days left: inside (edges included)
      yield* TestClock.adjust(30 * DAY - 1000)
      expect((yield* scan).published).toBe(0) // one second left: near expiry was already reported
      yield* TestClock.adjust("1 second")
      expect((yield* scan).published).toBe(1) // exp == now: expired, as the vault decides
      expect((yield* scan).published).toBe(0)

      const [near, expired] = (yield* Fiber.join(collect)) as ReadonlyArray<KeyVaultEvent>
      expect(near!.type).toBe("Microsoft.KeyVault.SecretNearExpiry")
      expect(near!.data).toEqual({
        Id: `${VAULT}/secrets/edge/${secret.properties.version}`,
        VaultName: "myvault",
        ObjectType: "Secret",
        ObjectName: "edge",
        Version: secret.properties.version,
        NBF: null,
        EXP: seconds(expiresOn)
      })
      expect(expired!.type).toBe("Microsoft.KeyVault.SecretExpired")
      expect(expired!.data.Version).toBe(secret.properties.version)
      expect(expired!.time.getTime()).toBe(expiresOn.getTime())
    }).pipe(Effect.provide(vault())))

  it.scoped("reports each version once, and a new version for the new version only", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const scan = (yield* monitor()).scan
      const collect = yield* nextEvents(2)
      const v1 = yield* secrets.set("api-key", "one", { expiresOn: yield* later(10 * DAY) })
      expect((yield* scan).published).toBe(1)
      expect((yield* scan).published).toBe(0)
      yield* TestClock.adjust("1 hour")
      expect((yield* scan).published).toBe(0)

      yield* TestClock.adjust("1 second")
      const v2 = yield* secrets.set("api-key", "two", { expiresOn: yield* later(5 * DAY) })
      expect((yield* scan).published).toBe(1)
      expect((yield* scan).published).toBe(0)
      // A version that expires outside the window brings nothing.
      yield* TestClock.adjust("1 second")
      yield* secrets.set("api-key", "three", { expiresOn: yield* later(90 * DAY) })
      expect((yield* scan).published).toBe(0)

      const events = (yield* Fiber.join(collect)) as ReadonlyArray<KeyVaultEvent>
      expect(events.map((e) => [e.type, e.data.Version])).toEqual([
        ["Microsoft.KeyVault.SecretNearExpiry", v1.properties.version],
        ["Microsoft.KeyVault.SecretNearExpiry", v2.properties.version]
      ])
    }).pipe(Effect.provide(vault())))

  it.scoped("reports a version again when its expiry is extended and nears again", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const scan = (yield* monitor()).scan
      yield* secrets.set("cert-pass", "x", { expiresOn: yield* later(10 * DAY) })
      expect((yield* scan).published).toBe(1)
      yield* secrets.updateProperties("cert-pass", { expiresOn: yield* later(60 * DAY) })
      expect((yield* scan).published).toBe(0)
      yield* TestClock.adjust(40 * DAY)
      expect((yield* scan).published).toBe(1)
    }).pipe(Effect.provide(vault())))

  it.scoped("uses the window the application gives", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const scan = (yield* monitor({ window: "7 days" })).scan
      yield* secrets.set("short", "x", { expiresOn: yield* later(10 * DAY) })
      expect((yield* scan).published).toBe(0)
      yield* TestClock.adjust(3 * DAY)
      expect((yield* scan).published).toBe(1)
    }).pipe(Effect.provide(vault())))

  it.scoped("skips disabled objects and objects without an expiry, and reads no value", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const keys = yield* Keys
      const scan = (yield* monitor()).scan
      yield* secrets.set("disabled", "x", { enabled: false, expiresOn: yield* later(DAY) })
      yield* secrets.set("forever", "x")
      yield* keys.createEcKey("signing", { expiresOn: yield* later(2 * DAY) })
      const collect = yield* nextEvents(1)
      const summary = yield* scan
      expect(summary).toEqual({ objects: 3, published: 1, disabled: 1, failures: [] })
      const [event] = (yield* Fiber.join(collect)) as ReadonlyArray<KeyVaultEvent>
      expect(event!.type).toBe("Microsoft.KeyVault.KeyNearExpiry")
      expect(event!.data.ObjectName).toBe("signing")

      const emulator = yield* Emulator.EmulatorService
      const operations = (yield* emulator.journal.query({})).map((entry) => entry.operation)
      expect(operations).not.toContain("getSecret")
      // Lists, and one version lookup for the one object reported.
      expect(new Set(operations)).toEqual(new Set(["setSecret", "createKey", "listSecrets", "listKeys", "listKeyVersions"]))
      yield* scan
      const again = (yield* emulator.journal.query({})).map((entry) => entry.operation).slice(operations.length)
      // The version is remembered: a later scan costs the list pages only.
      expect(again).toEqual(["listSecrets", "listKeys"])
    }).pipe(Effect.provide(vault())))

  it.scoped("watches certificates, not the secret and key that back them", () =>
    Effect.gen(function*() {
      const certificates = yield* Certificates
      const certificate = yield* awaitOnTestClock(yield* Effect.fork(certificates.create("tls", {
        issuerName: "Self",
        subject: "CN=tls.example.com",
        keyType: "EC",
        keyCurveName: "P-256",
        validityInMonths: 1
      })))
      const scan = (yield* ExpiryMonitor.make(
        [yield* ExpirySource.secrets, yield* ExpirySource.keys, yield* ExpirySource.certificates]
      )).scan
      const expiresOn = certificate.properties.expiresOn!
      const collect = yield* nextEvents(1)
      yield* TestClock.adjust(expiresOn.getTime() - 30 * DAY - 1000 - (yield* now).getTime())
      expect(yield* scan).toEqual({ objects: 1, published: 0, disabled: 0, failures: [] })
      yield* TestClock.adjust("1 second")
      expect((yield* scan).published).toBe(1)
      const [event] = (yield* Fiber.join(collect)) as ReadonlyArray<KeyVaultEvent>
      expect(event!.type).toBe("Microsoft.KeyVault.CertificateNearExpiry")
      expect(event!.data).toMatchObject({
        Id: `${VAULT}/certificates/tls/${certificate.properties.version}`,
        ObjectType: "Certificate",
        Version: certificate.properties.version,
        EXP: seconds(expiresOn)
      })
    }).pipe(Effect.provide(vault())))

  it.scoped("survives failing scans: counts them, scans the other types, and reports at the next tick", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const keys = yield* Keys
      const emulator = yield* Emulator.EmulatorService
      yield* secrets.set("db", "x", { expiresOn: yield* later(DAY) })
      yield* keys.createRsaKey("wrap", { expiresOn: yield* later(DAY) })
      yield* emulator.faults.add({ operation: "listSecrets", times: 1, fault: { _tag: "Status", status: 503 } })
      yield* emulator.faults.add({ operation: "listKeys", times: 1, fault: { _tag: "Reset" } })
      yield* emulator.faults.add({
        operation: "listSecrets",
        times: 1,
        fault: { _tag: "Status", status: 429 }
      })

      const collect = yield* nextEvents(2)
      const events = yield* RotationEvents
      const scans: Array<ExpiryMonitor.ScanSummary> = []
      const instance = yield* monitor()
      const spy = { ...instance, scan: Effect.tap(instance.scan, (summary) => Effect.sync(() => scans.push(summary))) }
      yield* Effect.fork(ExpiryMonitor.run(spy, Schedule.spaced("1 hour")))
      yield* TestClock.adjust("0 millis")
      expect(scans[0]!.failures.map((f) => [f.objectType, f.tag])).toEqual([
        ["secret", "ServiceError"],
        ["key", "TransportError"]
      ])
      yield* TestClock.adjust("1 hour")
      expect(scans[1]!.failures.map((f) => [f.objectType, f.tag])).toEqual([["secret", "ThrottledError"]])
      expect(scans[1]!.published).toBe(1) // the key
      yield* TestClock.adjust("1 hour")
      expect(scans[2]).toMatchObject({ published: 1, failures: [] }) // the secret
      const names = ((yield* Fiber.join(collect)) as ReadonlyArray<KeyVaultEvent>).map((e) => e.data.ObjectName)
      expect(names).toEqual(["wrap", "db"])
      expect((yield* events.stats).published).toBe(2)
    }).pipe(Effect.provide(vault({ resilience: { retry: false, circuitBreaker: false } }))))

  it.scoped("layer: scans when it starts and then on the application's schedule, until its scope closes", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const emulator = yield* Emulator.EmulatorService
      yield* secrets.set("token", "x", { expiresOn: yield* later(30 * DAY + 30 * 60 * 1000) })
      const collect = yield* nextEvents(1)
      const lists = Effect.map(emulator.journal.query({ operation: "listSecrets" }), (entries) => entries.length)
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(ExpiryMonitor.layer({ schedule: Schedule.spaced("1 hour"), objectTypes: ["secret"] }))
        yield* TestClock.adjust("0 millis")
        expect(yield* lists).toBe(1) // the first scan, at start: 30 days and 30 minutes left
        yield* TestClock.adjust("1 hour")
        expect(yield* lists).toBe(2)
        const [event] = (yield* Fiber.join(collect)) as ReadonlyArray<KeyVaultEvent>
        expect(event!.type).toBe("Microsoft.KeyVault.SecretNearExpiry")
        expect(event!.time.getTime()).toBe((yield* now).getTime())
      }))
      yield* TestClock.adjust("5 hours")
      expect(yield* lists).toBe(2) // stopped with its scope
    }).pipe(Effect.provide(vault())))

  it.scoped("the default schedule is hourly with jitter, the default window 30 days", () =>
    Effect.gen(function*() {
      const delays = yield* Schedule.run(Schedule.delays(ExpiryMonitor.defaultSchedule), 0, Array.from({ length: 50 }, (_, i) => i))
      const minutes = Array.from(delays, (d) => Duration.toMillis(d) / 60_000)
      expect(minutes.every((m) => m >= 48 && m <= 72)).toBe(true)
      expect(new Set(minutes).size).toBeGreaterThan(1)
      expect(Duration.toMillis(ExpiryMonitor.DEFAULT_WINDOW)).toBe(30 * DAY)
    }))
})
