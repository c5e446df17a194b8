/**
 * The rotation event stream on its own: the event model, delivery to every subscriber, deduplication by id and by
 * fact with a bounded memory, and the slow-consumer policy (sliding buffer, drops counted).
 */
import { describe, expect, it } from "@effect/vitest"
import * as EmulatorHttp from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { Keys } from "../src/keys/Keys.js"
import * as KeyVault from "../src/KeyVault.js"
import * as RotationEvent from "../src/rotation/RotationEvent.js"
import * as RotationEvents from "../src/rotation/RotationEvents.js"
import * as RotationMetrics from "../src/rotation/RotationMetrics.js"
import { Secrets } from "../src/secrets/Secrets.js"
import { awaitOnTestClock, nextEvents, VAULT } from "./rotation-support.js"

const VERSION_1 = "0123456789abcdef0123456789abcdef"
const VERSION_2 = "fedcba9876543210fedcba9876543210"

const nearExpiry = (version = VERSION_1, expiresOn = new Date(Date.UTC(2030, 0, 1))) =>
  RotationEvent.makeKeyVaultEvent("NearExpiry", {
    objectType: "secret",
    vaultUrl: VAULT,
    name: "db-password",
    version,
    notBefore: undefined,
    expiresOn
  }, new Date(Date.UTC(2029, 11, 2)))

const started = (id: string) =>
  new RotationEvent.RotationStarted({
    id,
    time: new Date(0),
    vaultName: "myvault",
    objectType: "Secret",
    objectName: "db-password",
    version: VERSION_1,
    trigger: "trigger-id"
  })

/** Pulls one chunk from a stream's subscription (what a consumer reads at this moment). */
const puller = (stream: Stream.Stream<RotationEvent.RotationEvent>) =>
  Effect.map(Stream.toPull(stream), (pull) =>
    Effect.map(
      Effect.orDie(pull),
      (chunk) => Chunk.toReadonlyArray(chunk)
    ))

describe("RotationEvent", () => {
  it("uses Event Grid's names and data, in Unix seconds", () => {
    const event = nearExpiry()
    expect(event.type).toBe("Microsoft.KeyVault.SecretNearExpiry")
    expect(event.subject).toBe("db-password")
    expect(event.data).toEqual({
      Id: `${VAULT}/secrets/db-password/${VERSION_1}`,
      VaultName: "myvault",
      ObjectType: "Secret",
      ObjectName: "db-password",
      Version: VERSION_1,
      NBF: null,
      EXP: Date.UTC(2030, 0, 1) / 1000
    })
    expect(event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    // The same fact always gets the same id, whenever it is observed.
    expect(nearExpiry().id).toBe(event.id)
    expect(nearExpiry(VERSION_2).id).not.toBe(event.id)
  })

  it("names the nine event types and parses them back", () => {
    for (const objectType of ["Secret", "Key", "Certificate"] as const) {
      for (const kind of ["NewVersionCreated", "NearExpiry", "Expired"] as const) {
        const type = RotationEvent.eventType(objectType, kind)
        expect(Schema.is(RotationEvent.KeyVaultEventType)(type)).toBe(true)
        expect(RotationEvent.parseEventType(type)).toEqual(Option.some({ objectType, kind }))
      }
    }
    expect(RotationEvent.parseEventType("Microsoft.KeyVault.VaultAccessPolicyChanged")).toEqual(Option.none())
  })

  it("round-trips every event through its Schema (JSON-ready)", () => {
    const events: ReadonlyArray<RotationEvent.RotationEvent> = [
      nearExpiry(),
      started("s"),
      new RotationEvent.RotationFailed({
        ...started("f"),
        cause: { tag: "ThrottledError", message: "too many requests" },
        attempts: 5
      })
    ]
    for (const event of events) {
      const json = JSON.parse(JSON.stringify(Schema.encodeSync(RotationEvent.RotationEvent)(event)))
      expect(Schema.decodeUnknownSync(RotationEvent.RotationEvent)(json)).toEqual(event)
    }
  })
})

describe("RotationEvents", () => {
  it.scoped("delivers each event to every subscriber, from the moment it subscribed", () =>
    Effect.gen(function*() {
      const events = yield* RotationEvents.make()
      yield* events.publish(started("before"))
      const first = yield* puller(yield* events.subscribe)
      const second = yield* puller(yield* events.subscribe)
      yield* events.publish(started("after"))
      expect((yield* first).map((e) => e.id)).toEqual(["after"])
      expect((yield* second).map((e) => e.id)).toEqual(["after"])
    }))

  it.scoped("drops a redelivered id and a fact seen before, but not a new version or a new expiry", () =>
    Effect.gen(function*() {
      const events = yield* RotationEvents.make()
      const read = yield* puller(yield* events.subscribe)
      const event = nearExpiry()
      expect(yield* events.publish(event)).toBe(true)
      // Event Grid redelivers with the same id ...
      expect(yield* events.publish(event)).toBe(false)
      // ... and the monitor may report the fact Event Grid reported, under another id.
      expect(yield* events.publish(new RotationEvent.KeyVaultEvent({ ...event, id: "event-grid-guid" }))).toBe(false)
      expect(yield* events.publish(nearExpiry(VERSION_2))).toBe(true)
      expect(yield* events.publish(nearExpiry(VERSION_1, new Date(Date.UTC(2031, 0, 1))))).toBe(true)
      expect(yield* events.publish(started("s1"))).toBe(true)
      expect(yield* events.publish(started("s1"))).toBe(false)
      expect(yield* events.publishAll([started("s2"), started("s2"), started("s3")])).toBe(2)
      expect((yield* read).length).toBe(6)
      expect(yield* events.stats).toEqual({ published: 6, duplicates: 4, dropped: 0 })
    }))

  it.scoped("remembers a bounded number of ids, least recently seen forgotten first", () =>
    Effect.gen(function*() {
      const events = yield* RotationEvents.make({ rememberIds: 2 })
      yield* events.publishAll([started("a"), started("b")])
      expect(yield* events.publish(started("a"))).toBe(false) // touches a: b is now the oldest
      yield* events.publish(started("c")) // evicts b
      expect(yield* events.publish(started("a"))).toBe(false)
      expect(yield* events.publish(started("b"))).toBe(true)
    }))

  it.scoped("a slow subscriber loses its oldest events (counted); a subscriber that keeps up loses none", () =>
    Effect.gen(function*() {
      const dropped = Metric.value(RotationMetrics.eventsDropped)
      const before = (yield* dropped).count
      const events = yield* RotationEvents.make({ bufferSize: 3 })
      const fast = yield* puller(yield* events.subscribe)
      const slow = yield* puller(yield* events.subscribe)
      const seenByFast: Array<string> = []
      for (let i = 1; i <= 10; i++) {
        yield* events.publish(started(`e${i}`))
        seenByFast.push(...(yield* fast).map((e) => e.id))
      }
      expect(seenByFast).toEqual(["e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9", "e10"])
      expect((yield* slow).map((e) => e.id)).toEqual(["e8", "e9", "e10"])
      expect((yield* events.stats).dropped).toBe(7)
      expect((yield* dropped).count - before).toBe(7)
      // Caught up, the slow subscriber receives new events again.
      yield* events.publish(started("e11"))
      expect((yield* slow).map((e) => e.id)).toEqual(["e11"])
    }))

  it.effect("ends its subscribers' streams when its scope closes", () =>
    Effect.gen(function*() {
      const collected = yield* Effect.scoped(Effect.gen(function*() {
        const events = yield* RotationEvents.make()
        return yield* Effect.fork(Stream.runCollect(events.stream))
      }))
      // The stream ends with the PubSub's shutdown instead of waiting forever.
      const exit = yield* collected.await
      expect(exit._tag).toBe("Success")
    }))
})

describe("RotationEvents built on a client", () => {
  // The stream on top of the client (not beside it): it hears what the client writes.
  const onClient = KeyVault.layer({ vaultUrl: VAULT, cache: { enabled: false } }).pipe(
    Layer.provideMerge(Layer.merge(EmulatorHttp.layerFresh(), TokenProvider.layerStatic())),
    (client) => Layer.provideMerge(RotationEvents.layer(), client)
  )

  it.scoped("publishes NewVersionCreated for a secret set and a key created through the client, once each", () =>
    Effect.gen(function*() {
      const received = yield* nextEvents(2)
      const secret = yield* (yield* Secrets).set("written", "value", { expiresOn: new Date(Date.UTC(2030, 0, 1)) })
      const key = yield* (yield* Keys).create("made", "EC", { curve: "P-256" })
      const [first, second] = yield* awaitOnTestClock(received)
      expect(first).toMatchObject({
        type: "Microsoft.KeyVault.SecretNewVersionCreated",
        data: { ObjectName: "written", Version: secret.properties.version, EXP: Date.UTC(2030, 0, 1) / 1000 }
      })
      expect(second).toMatchObject({
        type: "Microsoft.KeyVault.KeyNewVersionCreated",
        data: { ObjectName: "made", Version: key.properties.version }
      })
      // A failed write announces nothing.
      yield* Effect.flip((yield* Secrets).set("not a name", "value"))
      expect((yield* (yield* RotationEvents.RotationEvents).stats).published).toBe(2)
    }).pipe(Effect.provide(onClient)))
})
