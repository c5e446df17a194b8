/**
 * Rotation against the in-process emulator, in TestClock time: handlers for secrets, keys and certificates, expiry
 * policies, retries and typed failures, one rotation per object, stale events, other vaults, cache invalidation on
 * NewVersionCreated, and the whole setup in one Layer.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { Certificates } from "../src/certificates/Certificates.js"
import { Keys } from "../src/keys/Keys.js"
import * as Rotation from "../src/rotation/Rotation.js"
import {
  isRotationOutcome,
  type KeyVaultEvent,
  makeKeyVaultEvent,
  type RotationEvent,
  type RotationSucceeded
} from "../src/rotation/RotationEvent.js"
import { RotationEvents } from "../src/rotation/RotationEvents.js"
import * as RotationHandler from "../src/rotation/RotationHandler.js"
import * as RotationMetrics from "../src/rotation/RotationMetrics.js"
import type { SecretProperties } from "../src/secrets/Secret.js"
import { Secrets } from "../src/secrets/Secrets.js"
import { awaitOnTestClock, DAY, nextEvents, seconds, VAULT, vault } from "./rotation-support.js"

class DbUnavailable extends Data.TaggedError("DbUnavailable")<{ readonly message: string }> {}

const later = (millis: number) => Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms + millis))
const now = later(0)

const eventFor = (
  kind: "NearExpiry" | "Expired" | "NewVersionCreated",
  objectType: "secret" | "key" | "certificate",
  properties: {
    readonly vaultUrl: string
    readonly name: string
    readonly version: string | undefined
    readonly notBefore: Date | undefined
    readonly expiresOn: Date | undefined
  }
) =>
  Effect.map(now, (time) => makeKeyVaultEvent(kind, { ...properties, objectType, version: properties.version! }, time))

/** Builds the rotation layer in the test's scope (after the test subscribed) and answers the service. */
const startRotation = <R>(handlers: ReadonlyArray<RotationHandler.RotationHandler<R>>, options?: Rotation.RotationOptions<R>) =>
  Effect.map(Layer.build(Rotation.layer(handlers, options)), Context.get(Rotation.Rotation))

const publish = (event: RotationEvent) => Effect.flatMap(RotationEvents, (events) => events.publish(event))

const valueOf = (name: string) =>
  Effect.flatMap(Secrets, (secrets) => Effect.map(secrets.get(name), (secret) => Redacted.value(secret.value)))

const coalesced = Effect.map(
  Metric.value(Metric.tagged(RotationMetrics.rotations, "outcome", "coalesced")),
  (state) => state.count
)

describe("Rotation of secrets", () => {
  it.scoped("stores the produced value with its new expiry, keeps tags and content type, reports and runs the hook", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const v1 = yield* secrets.set("db-password", "old-password", {
        contentType: "text/plain",
        tags: { team: "payments" },
        expiresOn: yield* later(10 * DAY)
      })
      const hooked: Array<RotationHandler.RotationResult> = []
      const seen: Array<SecretProperties> = []
      const all = yield* nextEvents(4)
      yield* startRotation([
        RotationHandler.secret({
          name: "DB-Password",
          produce: ({ current }) => Effect.sync(() => (seen.push(current), Redacted.make("new-password"))),
          expiry: "90 days",
          afterRotation: (result) => Effect.sync(() => hooked.push(result))
        })
      ])
      yield* TestClock.adjust("1 second")
      const trigger = yield* eventFor("NearExpiry", "secret", v1.properties)
      yield* publish(trigger)
      const events = yield* Fiber.join(all)
      expect(events.map((e) => e._tag === "KeyVaultEvent" ? e.type : e._tag)).toEqual([
        "Microsoft.KeyVault.SecretNearExpiry",
        "RotationStarted",
        "Microsoft.KeyVault.SecretNewVersionCreated",
        "RotationSucceeded"
      ])
      const succeeded = events[3] as RotationSucceeded
      const latest = yield* secrets.get("db-password")
      expect(Redacted.value(latest.value)).toBe("new-password")
      expect(latest.properties.version).toBe(succeeded.newVersion)
      expect(succeeded).toMatchObject({
        vaultName: "myvault",
        objectType: "Secret",
        objectName: "db-password",
        version: v1.properties.version,
        trigger: trigger.id,
        attempts: 1,
        expiresOn: seconds(yield* later(90 * DAY))
      })
      expect(latest.properties).toMatchObject({ contentType: "text/plain", tags: { team: "payments" } })
      expect(latest.properties.expiresOn).toEqual(yield* later(90 * DAY))
      expect((events[2] as KeyVaultEvent).data.Version).toBe(succeeded.newVersion)
      expect(seen.map((p) => p.version)).toEqual([v1.properties.version])
      expect(hooked).toEqual([{
        objectType: "secret",
        name: "db-password",
        previousVersion: v1.properties.version,
        newVersion: succeeded.newVersion,
        expiresOn: yield* later(90 * DAY),
        trigger
      }])
      // No event carries a value.
      const json = JSON.stringify(events)
      expect(json).not.toContain("new-password")
      expect(json).not.toContain("old-password")
    }).pipe(Effect.provide(vault())))

  it.scoped("by default gives the new version the lifetime the current one had", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const v1 = yield* secrets.set("token", "t1", { expiresOn: yield* later(60 * DAY) })
      const outcome = yield* nextEvents(1, isRotationOutcome)
      yield* startRotation([RotationHandler.secret({ name: "token", produce: () => Effect.succeed("t2") })])
      yield* TestClock.adjust(35 * DAY)
      yield* publish(yield* eventFor("NearExpiry", "secret", v1.properties))
      expect((yield* Fiber.join(outcome))[0]!._tag).toBe("RotationSucceeded")
      expect((yield* secrets.get("token")).properties.expiresOn).toEqual(yield* later(60 * DAY))
    }).pipe(Effect.provide(vault())))

  it.scoped("retries a failing handler on the schedule and succeeds", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const v1 = yield* secrets.set("db", "p1", { expiresOn: yield* later(DAY) })
      let calls = 0
      const outcome = yield* nextEvents(1, isRotationOutcome)
      yield* startRotation([
        RotationHandler.secret({
          match: (name) => name.startsWith("db"),
          produce: () =>
            Effect.suspend(() =>
              ++calls < 3 ? Effect.fail(new DbUnavailable({ message: "connection refused" })) : Effect.succeed("p2")
            )
        })
      ], { retry: Schedule.spaced("10 seconds") })
      yield* publish(yield* eventFor("NearExpiry", "secret", v1.properties))
      yield* TestClock.adjust("0 millis")
      expect(calls).toBe(1)
      yield* TestClock.adjust("10 seconds")
      expect(calls).toBe(2)
      yield* TestClock.adjust("10 seconds")
      const [succeeded] = yield* Fiber.join(outcome)
      expect(succeeded).toMatchObject({ _tag: "RotationSucceeded", attempts: 3 })
      expect(yield* valueOf("db")).toBe("p2")
    }).pipe(Effect.provide(vault())))

  it.scoped("gives up after the schedule with a typed failed event, keeps the version, and handles later events", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const emulator = yield* Emulator.EmulatorService
      const db = yield* secrets.set("db", "db-value-one", { expiresOn: yield* later(DAY) })
      const api = yield* secrets.set("api", "api-value-one", { expiresOn: yield* later(DAY) })
      const ok = yield* secrets.set("ok", "o1", { expiresOn: yield* later(DAY) })
      // The vault refuses the writes for "api" (the transport does not retry them: resilience is off here).
      yield* emulator.faults.add({ operation: "setSecret", name: "api", fault: { _tag: "Status", status: 503 } })
      const outcomes = yield* nextEvents(3, isRotationOutcome)
      yield* startRotation([
        RotationHandler.secret({
          name: "db",
          produce: () => Effect.fail(new DbUnavailable({ message: "connection refused" })),
          retry: Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(2)))
        }),
        RotationHandler.secret({ name: "api", produce: () => Effect.succeed("api-value-two") }),
        RotationHandler.secret({ name: "ok", produce: () => Effect.succeed("o2") })
      ], { retry: Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(1))) })
      for (const secret of [db, api, ok]) yield* publish(yield* eventFor("NearExpiry", "secret", secret.properties))
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("1 second")
      const byName = new Map((yield* Fiber.join(outcomes)).map((o) => [(o as { objectName: string }).objectName, o]))
      expect(byName.get("db")).toMatchObject({
        _tag: "RotationFailed",
        cause: { tag: "DbUnavailable", message: "connection refused" },
        attempts: 3
      })
      expect(byName.get("api")).toMatchObject({ _tag: "RotationFailed", cause: { tag: "ServiceError" }, attempts: 2 })
      expect(byName.get("ok")).toMatchObject({ _tag: "RotationSucceeded" })
      expect(yield* valueOf("db")).toBe("db-value-one")
      expect(yield* valueOf("api")).toBe("api-value-one")
      expect(JSON.stringify([...byName.values()])).not.toMatch(/value-one|value-two/)
    }).pipe(Effect.provide(vault({ resilience: { retry: false, circuitBreaker: false } }))))

  it.scoped("runs one rotation per secret at a time: concurrent events are coalesced", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const v1 = yield* secrets.set("shared", "s1", { expiresOn: yield* later(DAY) })
      const gate = yield* Deferred.make<void>()
      const inside = yield* Deferred.make<void>()
      let produced = 0
      const outcome = yield* nextEvents(1, isRotationOutcome)
      const rotation = yield* startRotation([
        RotationHandler.secret({
          name: "shared",
          produce: () =>
            Effect.sync(() => produced++).pipe(
              Effect.zipRight(Deferred.succeed(inside, undefined)),
              Effect.zipRight(Deferred.await(gate)),
              Effect.as("s2")
            )
        })
      ])
      const before = yield* coalesced
      yield* publish(yield* eventFor("NearExpiry", "secret", v1.properties))
      yield* Deferred.await(inside)
      // Event Grid's Expired for the same version arrives while the rotation runs ...
      yield* publish(yield* eventFor("Expired", "secret", v1.properties))
      for (let i = 0; i < 100 && (yield* coalesced) === before; i++) yield* Effect.yieldNow()
      // ... and so does a direct call.
      expect(yield* rotation.handle(yield* eventFor("Expired", "secret", v1.properties))).toEqual({
        _tag: "Ignored",
        reason: "Coalesced"
      })
      expect((yield* coalesced) - before).toBe(2)
      yield* Deferred.succeed(gate, undefined)
      expect((yield* Fiber.join(outcome))[0]!._tag).toBe("RotationSucceeded")
      expect(produced).toBe(1)
      // The original version and the one rotation made.
      expect(Chunk.size(yield* Stream.runCollect(secrets.listVersions("shared")))).toBe(2)
    }).pipe(Effect.provide(vault())))

  it.scoped("runs at most `concurrency` rotations at once", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const first = yield* secrets.set("first", "1", { expiresOn: yield* later(DAY) })
      const second = yield* secrets.set("second", "2", { expiresOn: yield* later(DAY) })
      const gate = yield* Deferred.make<void>()
      const entered: Array<string> = []
      const outcomes = yield* nextEvents(2, isRotationOutcome)
      yield* startRotation([
        RotationHandler.secret({
          match: () => true,
          produce: ({ name }) => Effect.sync(() => entered.push(name)).pipe(Effect.zipRight(Deferred.await(gate)), Effect.as("new"))
        })
      ], { concurrency: 1 })
      yield* publish(yield* eventFor("NearExpiry", "secret", first.properties))
      yield* publish(yield* eventFor("NearExpiry", "secret", second.properties))
      for (let i = 0; i < 50; i++) yield* Effect.yieldNow()
      expect(entered).toEqual(["first"])
      yield* Deferred.succeed(gate, undefined)
      expect((yield* Fiber.join(outcomes)).map((o) => o._tag)).toEqual(["RotationSucceeded", "RotationSucceeded"])
      expect(entered).toEqual(["first", "second"])
    }).pipe(Effect.provide(vault())))

  it.scoped("skips a stale event (someone else rotated) and an unknown version, without producing", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const v1 = yield* secrets.set("shared", "s1", { expiresOn: yield* later(DAY) })
      yield* TestClock.adjust("1 second")
      const v2 = yield* secrets.set("shared", "rotated-elsewhere", { expiresOn: yield* later(90 * DAY) })
      let produced = 0
      const outcomes = yield* nextEvents(1, isRotationOutcome)
      const rotation = yield* startRotation([
        RotationHandler.secret({ name: "shared", produce: () => Effect.sync(() => (produced++, "mine")) })
      ])
      yield* publish(yield* eventFor("NearExpiry", "secret", v1.properties))
      const [stale] = yield* Fiber.join(outcomes)
      const unknown = yield* rotation.handle(yield* eventFor("Expired", "secret", { ...v1.properties, version: "0".repeat(32) }))
      expect(stale).toMatchObject({
        _tag: "RotationSkipped",
        reason: "NewerVersion",
        version: v1.properties.version,
        latestVersion: v2.properties.version
      })
      expect(unknown).toMatchObject({ _tag: "RotationSkipped", reason: "UnknownVersion" })
      expect(produced).toBe(0)
      expect(yield* valueOf("shared")).toBe("rotated-elsewhere")
    }).pipe(Effect.provide(vault())))

  it.scoped("ignores other vaults' events, events that are not expiry events, and objects without a handler", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const v1 = yield* secrets.set("db", "p1", { expiresOn: yield* later(DAY) })
      const rotation = yield* startRotation([RotationHandler.secret({ name: "db", produce: () => Effect.succeed("p2") })])
      const other = yield* eventFor("NearExpiry", "secret", { ...v1.properties, vaultUrl: "https://othervault.vault.azure.net" })
      expect(yield* rotation.handle(other)).toEqual({ _tag: "Ignored", reason: "OtherVault" })
      const created = yield* eventFor("NewVersionCreated", "secret", v1.properties)
      expect(yield* rotation.handle(created)).toEqual({ _tag: "Ignored", reason: "NotExpiry" })
      const unhandled = yield* eventFor("NearExpiry", "secret", { ...v1.properties, name: "other" })
      expect(yield* rotation.handle(unhandled)).toEqual({ _tag: "Ignored", reason: "NoHandler" })
      const key = yield* eventFor("NearExpiry", "key", v1.properties)
      expect(yield* rotation.handle(key)).toEqual({ _tag: "Ignored", reason: "NoHandler" })
      expect(yield* valueOf("db")).toBe("p1")
    }).pipe(Effect.provide(vault())))
})

describe("Rotation of keys and certificates", () => {
  it.scoped("rotates a key with Keys.rotate", () =>
    Effect.gen(function*() {
      const keys = yield* Keys
      const v1 = yield* keys.createRsaKey("wrapping", { expiresOn: yield* later(10 * DAY) })
      const events = yield* nextEvents(2, (e) => e._tag === "RotationSucceeded" || (e._tag === "KeyVaultEvent" && e.type.endsWith("NewVersionCreated")))
      yield* startRotation([RotationHandler.key({ name: "wrapping" })])
      yield* TestClock.adjust("1 second")
      yield* publish(yield* eventFor("NearExpiry", "key", v1.properties))
      const [created, succeeded] = yield* Fiber.join(events)
      const latest = yield* keys.get("wrapping")
      expect(latest.properties.version).not.toBe(v1.properties.version)
      expect(succeeded).toMatchObject({ _tag: "RotationSucceeded", objectType: "Key", newVersion: latest.properties.version })
      expect(created).toMatchObject({ type: "Microsoft.KeyVault.KeyNewVersionCreated", data: { Version: latest.properties.version } })
      expect(latest.keyType).toBe("RSA")
    }).pipe(Effect.provide(vault())))

  it.scoped("renews a certificate from its policy", () =>
    Effect.gen(function*() {
      const certificates = yield* Certificates
      const v1 = yield* awaitOnTestClock(yield* Effect.fork(certificates.create("web", {
        issuerName: "Self",
        subject: "CN=web.example.com",
        keyType: "EC",
        keyCurveName: "P-256",
        validityInMonths: 1
      })))
      const outcome = yield* nextEvents(1, isRotationOutcome)
      yield* startRotation([RotationHandler.certificate({ name: "web" })])
      yield* TestClock.adjust(5 * DAY)
      yield* publish(yield* eventFor("NearExpiry", "certificate", v1.properties))
      const [succeeded] = yield* awaitOnTestClock(outcome)
      const latest = yield* certificates.refresh("web")
      expect(succeeded).toMatchObject({ _tag: "RotationSucceeded", objectType: "Certificate", newVersion: latest.properties.version })
      expect(latest.properties.version).not.toBe(v1.properties.version)
      expect(latest.properties.expiresOn!.getTime()).toBeGreaterThan(v1.properties.expiresOn!.getTime())
      expect(latest.policy?.subject).toBe("CN=web.example.com")
    }).pipe(Effect.provide(vault())))
})

describe("Cache invalidation", () => {
  it.scoped("a NewVersionCreated event from any source invalidates the cached name, without waiting for the TTL", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const emulator = yield* Emulator.EmulatorService
      yield* secrets.set("conn", "v1")
      expect(yield* valueOf("conn")).toBe("v1")
      yield* Layer.build(Rotation.layerCacheInvalidation)
      // Someone rotates it behind this client's back: the cache still serves v1.
      const v2 = yield* emulator.engine.secrets.set("conn", { value: Redacted.make("v2") })
      expect(yield* valueOf("conn")).toBe("v1")
      const properties = {
        vaultUrl: VAULT,
        name: "conn",
        version: v2.secret.version,
        notBefore: undefined,
        expiresOn: undefined
      }
      // Another vault's event does not touch this vault's entries.
      yield* publish(yield* eventFor("NewVersionCreated", "secret", { ...properties, vaultUrl: "https://other.vault.azure.net" }))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      expect(yield* valueOf("conn")).toBe("v1")
      // Event Grid's delivery for this vault does.
      yield* publish(yield* eventFor("NewVersionCreated", "secret", properties))
      let value = yield* valueOf("conn")
      for (let i = 0; i < 20 && value === "v1"; i++) {
        yield* Effect.yieldNow()
        value = yield* valueOf("conn")
      }
      expect(value).toBe("v2")
    }).pipe(Effect.provide(vault({ cache: { ttl: "1 hour" } }))))
})

describe("Rotation.layerWithMonitor", () => {
  it.scoped("one Layer: the monitor finds the secret near expiry, rotation replaces it, a cached reader sees it", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* secrets.set("db-password", "before", { expiresOn: yield* later(10 * DAY) })
      expect(yield* valueOf("db-password")).toBe("before")
      const setup = Rotation.layerWithMonitor([
        RotationHandler.secret({ name: "db-password", produce: () => Effect.succeed("after"), expiry: "30 days" })
      ], { monitor: { schedule: Schedule.spaced("1 hour") } })
      const context = yield* Layer.build(setup)
      const events = Context.get(context, RotationEvents)
      let value = yield* valueOf("db-password")
      for (let i = 0; i < 200 && value === "before"; i++) {
        yield* TestClock.adjust("0 millis")
        value = yield* valueOf("db-password")
      }
      expect(value).toBe("after")
      // NearExpiry, RotationStarted, SecretNewVersionCreated, RotationSucceeded.
      for (let i = 0; i < 20 && (yield* events.stats).published < 4; i++) yield* Effect.yieldNow()
      expect((yield* events.stats).published).toBe(4)
    }).pipe(Effect.provide(vault({ cache: { ttl: "1 hour" } }))))
})
