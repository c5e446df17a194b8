/**
 * Event Grid on the emulator: the events it publishes (new versions, near expiry, expiry, once each) and their
 * delivery to webhooks (handshakes, both schemas, retries), against an in-process `HttpClient` that records every
 * call. No sockets, no sleeps: time is `TestClock` or the emulator's clock.
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as TokenProvider from "@effect-azure/key-vault/auth/TokenProvider"
import * as KeyVault from "@effect-azure/key-vault/KeyVault"
import * as EventGridWebhook from "@effect-azure/key-vault/rotation/EventGridWebhook"
import * as Rotation from "@effect-azure/key-vault/rotation/Rotation"
import type { KeyVaultEvent } from "@effect-azure/key-vault/rotation/RotationEvent"
import * as RotationEvents from "@effect-azure/key-vault/rotation/RotationEvents"
import * as RotationHandler from "@effect-azure/key-vault/rotation/RotationHandler"
import * as Secrets from "@effect-azure/key-vault/secrets/Secrets"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Emulator from "../src/Emulator.js"
import * as HttpClientLayer from "../src/testing/HttpClientLayer.js"
import { selfSigned } from "./certificates-support.js"
import { ecPair, importJwk } from "./keys-support.js"
import { call } from "./support.js"

const START = Date.parse("2030-01-01T00:00:00Z")
const DAY = 24 * 60 * 60 * 1000
const seconds = (millis: number): number => Math.floor(millis / 1000)
const TOPIC = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/key-vault-emulator/providers/" +
  "Microsoft.KeyVault/vaults/myvault"

const summary = (events: ReadonlyArray<KeyVaultEvent>) =>
  events.map((event) => `${event.type.replace("Microsoft.KeyVault.", "")} ${event.data.ObjectName}`)

const recent = (emulator: Emulator.Emulator) => Effect.map(emulator.eventGrid.recent, summary)

const versionOf = (id: string): string => id.split("/").pop()!

describe("Event Grid events", () => {
  it.effect("NewVersionCreated on set, key create / import / rotate, certificate create and import, with Event Grid's data", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const emulator = yield* Emulator.make()
      const exp = seconds(START + 60 * DAY)
      const set = yield* call(emulator, "PUT", "/secrets/Db-Password", { body: { value: "v", attributes: { exp } } })
      yield* call(emulator, "POST", "/keys/signing/create", { body: { kty: "EC", crv: "P-256" } })
      yield* call(emulator, "PUT", "/keys/imported", { body: { key: importJwk(ecPair("P-256").privateKey) } })
      yield* call(emulator, "POST", "/keys/signing/rotate")
      const created = yield* call(emulator, "POST", "/certificates/web/create", {
        body: { policy: { key_props: { kty: "EC", crv: "P-256" }, x509_props: { subject: "CN=web" }, issuer: { name: "Self" } } }
      })
      expect(created.status).toBe(202)
      // The certificate is issued at the start of the next operation: its event comes then, not at the create.
      expect(yield* recent(emulator)).not.toContain("CertificateNewVersionCreated web")
      yield* call(emulator, "GET", "/certificates/web/")
      const pem = yield* Effect.promise(() => selfSigned("EC", "CN=imported"))
      const imported = yield* call(emulator, "POST", "/certificates/imported-cert/import", {
        body: { value: `${pem.certPem}\n${pem.keyPem}`, policy: { secret_props: { contentType: "application/x-pem-file" } } }
      })
      expect(imported.status, imported.text).toBe(200)

      // The key and secret behind each certificate get no event of their own.
      expect(yield* recent(emulator)).toEqual([
        "SecretNewVersionCreated Db-Password",
        "KeyNewVersionCreated signing",
        "KeyNewVersionCreated imported",
        "KeyNewVersionCreated signing",
        "CertificateNewVersionCreated web",
        "CertificateNewVersionCreated imported-cert",
        // Its validity is real time (a year from today), long over at the emulator's 2030.
        "CertificateExpired imported-cert"
      ])
      const [secretEvent] = yield* emulator.eventGrid.recent
      expect(secretEvent!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(secretEvent!.topic).toBe(TOPIC)
      expect(secretEvent!.subject).toBe("Db-Password")
      expect(secretEvent!.time).toEqual(new Date(START))
      expect(secretEvent!.data).toEqual({
        Id: set.json.id,
        VaultName: "myvault",
        ObjectType: "Secret",
        ObjectName: "Db-Password",
        Version: versionOf(set.json.id),
        NBF: null,
        EXP: exp
      })
    }))

  it.effect("NearExpiry 30 days before exp and Expired at exp, as the emulator's clock passes them, once each", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const emulator = yield* Emulator.make()
      const expMillis = START + 40 * DAY
      yield* call(emulator, "PUT", "/secrets/db", { body: { value: "v", attributes: { exp: seconds(expMillis) } } })
      yield* call(emulator, "POST", "/keys/k/create", {
        body: { kty: "EC", crv: "P-256", attributes: { exp: seconds(expMillis) } }
      })
      const newVersions = ["SecretNewVersionCreated db", "KeyNewVersionCreated k"]

      // One second before the window opens: nothing.
      yield* emulator.clock.advance(Duration.millis(10 * DAY - 1000))
      expect(yield* recent(emulator)).toEqual(newVersions)
      // At exp - 30 days: published by the clock's move itself, no request needed.
      yield* emulator.clock.advance(Duration.seconds(1))
      expect(yield* recent(emulator)).toEqual([...newVersions, "SecretNearExpiry db", "KeyNearExpiry k"])
      const [, , nearExpiry] = yield* emulator.eventGrid.recent
      expect(nearExpiry!.time).toEqual(new Date(expMillis - 30 * DAY))

      // Requests and later moves do not publish it again.
      yield* call(emulator, "GET", "/secrets/db/")
      yield* emulator.clock.advance(Duration.days(29))
      expect((yield* emulator.eventGrid.recent).length).toBe(4)

      yield* emulator.clock.advance(Duration.days(1))
      expect((yield* recent(emulator)).slice(4)).toEqual(["SecretExpired db", "KeyExpired k"])
      yield* emulator.clock.advance(Duration.days(365))
      yield* call(emulator, "GET", "/secrets")
      expect((yield* emulator.eventGrid.recent).length).toBe(6)
    }))

  it.effect("in-process, TestClock drives it: due events are published by the next request or checkDue", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const emulator = yield* Emulator.make()
      yield* call(emulator, "PUT", "/secrets/db", { body: { value: "v", attributes: { exp: seconds(START + 40 * DAY) } } })
      yield* TestClock.adjust(Duration.days(10))
      expect(yield* recent(emulator)).toEqual(["SecretNewVersionCreated db"])
      yield* call(emulator, "GET", "/secrets")
      expect(yield* recent(emulator)).toEqual(["SecretNewVersionCreated db", "SecretNearExpiry db"])
      // Already inside the window when set: published right after the set.
      yield* call(emulator, "PUT", "/secrets/short", { body: { value: "v", attributes: { exp: seconds(START + 20 * DAY) } } })
      expect((yield* recent(emulator)).slice(2)).toEqual(["SecretNewVersionCreated short", "SecretNearExpiry short"])
      expect(yield* emulator.eventGrid.checkDue).toBe(0)
      yield* TestClock.adjust(Duration.days(30))
      expect(yield* emulator.eventGrid.checkDue).toBe(2)
      expect((yield* recent(emulator)).slice(4)).toEqual(["SecretExpired short", "SecretExpired db"])
    }))

  it.effect("a version past its exp when first seen due gets only Expired; new versions and moved expiries get their own", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const emulator = yield* Emulator.make()
      const first = yield* call(emulator, "PUT", "/secrets/db", {
        body: { value: "v1", attributes: { exp: seconds(START + 40 * DAY) } }
      })
      // One jump over both dates: NearExpiry would come after the fact, so only Expired is published.
      yield* emulator.clock.advance(Duration.days(41))
      expect(yield* recent(emulator)).toEqual(["SecretNewVersionCreated db", "SecretExpired db"])

      // A new version gets its own NewVersionCreated; the old one is not reported again.
      const second = yield* call(emulator, "PUT", "/secrets/db", {
        body: { value: "v2", attributes: { exp: seconds(START + 100 * DAY) } }
      })
      // Its expiry moved later before the window opened: NearExpiry for the new exp only, once.
      yield* call(emulator, "PATCH", `/secrets/db/${versionOf(second.json.id)}`, {
        body: { attributes: { exp: seconds(START + 150 * DAY) } }
      })
      yield* emulator.clock.advance(Duration.days(40))
      expect((yield* emulator.eventGrid.recent).length).toBe(3)
      yield* emulator.clock.advance(Duration.days(40))
      const events = yield* emulator.eventGrid.recent
      expect(summary(events).slice(2)).toEqual(["SecretNewVersionCreated db", "SecretNearExpiry db"])
      expect(events[3]!.data.EXP).toBe(seconds(START + 150 * DAY))
      expect(events[1]!.data.Version).toBe(versionOf(first.json.id))
      expect(events[3]!.data.Version).toBe(versionOf(second.json.id))
    }))

  it.effect("disabled versions and deleted objects get no expiry events; a recovered one gets what fell due", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const emulator = yield* Emulator.make()
      const exp = seconds(START + 40 * DAY)
      yield* call(emulator, "PUT", "/secrets/off", { body: { value: "v", attributes: { exp, enabled: false } } })
      yield* call(emulator, "PUT", "/secrets/gone", { body: { value: "v", attributes: { exp } } })
      yield* call(emulator, "PUT", "/secrets/back", { body: { value: "v", attributes: { exp } } })
      yield* call(emulator, "DELETE", "/secrets/gone")
      yield* call(emulator, "DELETE", "/secrets/back")
      yield* emulator.clock.advance(Duration.days(15))
      expect((yield* recent(emulator)).slice(3)).toEqual([])
      yield* call(emulator, "POST", "/deletedsecrets/back/recover")
      expect((yield* recent(emulator)).slice(3)).toEqual(["SecretNearExpiry back"])
    }))

  it.scoped("events is a Stream of the published events", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const stream = yield* emulator.eventGrid.subscribeEvents
      yield* call(emulator, "PUT", "/secrets/a", { body: { value: "v" } })
      yield* call(emulator, "PUT", "/secrets/b", { body: { value: "v" } })
      const events = yield* Stream.runCollect(Stream.take(stream, 2))
      expect(summary(Chunk.toReadonlyArray(events))).toEqual(["SecretNewVersionCreated a", "SecretNewVersionCreated b"])
    }))
})

// --- webhooks ----------------------------------------------------------------------------------------------------

interface Recorded {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any
}

const bodyText = (request: HttpClientRequest.HttpClientRequest): string =>
  request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""

/** An in-process webhook: answers with `respond`, records every call and hands it to the test through a queue. */
const webhook = (respond: (call: Recorded, index: number) => Response) =>
  Effect.gen(function*() {
    const calls = yield* Queue.unbounded<Recorded>()
    let index = 0
    const client = HttpClient.make((request, url) =>
      Effect.sync(() => {
        const text = bodyText(request)
        const recorded: Recorded = {
          method: request.method,
          url: url.toString(),
          headers: request.headers,
          body: text === "" ? undefined : JSON.parse(text)
        }
        calls.unsafeOffer(recorded)
        return HttpClientResponse.fromWeb(request, respond(recorded, index++))
      })
    )
    return { client, calls }
  })

/** Waits (by yielding, not by time) until the delivery fiber has journaled `count` calls of `operation`. */
const journaled = (emulator: Emulator.Emulator, operation: "deliverEvents", count: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1000; i++) {
      const entries = yield* emulator.journal.query({ operation })
      if (entries.length >= count) return entries
      yield* Effect.yieldNow()
    }
    return yield* Effect.dieMessage(`the journal never held ${count} ${operation} entries`)
  })

const validating = (call: Recorded): Response | undefined =>
  call.body?.[0]?.eventType === "Microsoft.EventGrid.SubscriptionValidationEvent"
    ? Response.json({ validationResponse: call.body[0].data.validationCode })
    : undefined

describe("Event Grid webhook delivery", () => {
  it.effect("Event Grid schema: the validation handshake, then batches with Event Grid's envelope", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const hook = yield* webhook((call) => validating(call) ?? new Response(null, { status: 200 }))
      const emulator = yield* Emulator.make({ webhookClient: hook.client })
      const subscription = yield* emulator.eventGrid.subscribe({ endpoint: "https://hooks.example/kv?code=s3cret" })
      expect(subscription).toMatchObject({ endpoint: "https://hooks.example/kv", schema: "EventGrid" })
      expect(JSON.stringify(yield* emulator.eventGrid.subscriptions)).not.toContain("s3cret")

      const handshake = yield* Queue.take(hook.calls)
      expect(handshake.method).toBe("POST")
      expect(handshake.url).toBe("https://hooks.example/kv?code=s3cret")
      expect(handshake.headers["aeg-event-type"]).toBe("SubscriptionValidation")

      const set = yield* call(emulator, "PUT", "/secrets/db", { body: { value: "v" } })
      const delivery = yield* Queue.take(hook.calls)
      expect(delivery.headers["aeg-event-type"]).toBe("Notification")
      expect(delivery.headers["content-type"]).toMatch(/^application\/json/)
      expect(delivery.body).toEqual([{
        id: expect.any(String),
        topic: TOPIC,
        subject: "db",
        eventType: "Microsoft.KeyVault.SecretNewVersionCreated",
        eventTime: "2030-01-01T00:00:00.000Z",
        data: {
          Id: set.json.id,
          VaultName: "myvault",
          ObjectType: "Secret",
          ObjectName: "db",
          Version: versionOf(set.json.id),
          NBF: null,
          EXP: null
        },
        dataVersion: "1",
        metadataVersion: "1"
      }])

      // The journal records the calls, by path only (the query holds the webhook's secret).
      yield* journaled(emulator, "deliverEvents", 1)
      const calls = yield* emulator.journal.query({ operation: ["validateEventSubscription", "deliverEvents"] })
      expect(calls.map((e) => [e.operation, e.path, e.status, e.delivery?.attempt, e.delivery?.events])).toEqual([
        ["validateEventSubscription", "/kv", 200, 1, 0],
        ["deliverEvents", "/kv", 200, 1, 1]
      ])
      expect(JSON.stringify(yield* emulator.journal.entries)).not.toContain("s3cret")
      yield* emulator.shutdown
    }))

  it.effect("CloudEvents schema: the OPTIONS handshake, then CloudEvents 1.0 batches", () =>
    Effect.gen(function*() {
      const hook = yield* webhook((call) =>
        call.method === "OPTIONS"
          ? new Response(null, { status: 200, headers: { "webhook-allowed-origin": call.headers["webhook-request-origin"]! } })
          : new Response(null, { status: 202 })
      )
      const emulator = yield* Emulator.make({ webhookClient: hook.client })
      yield* emulator.eventGrid.subscribe({ endpoint: "https://hooks.example/ce", schema: "CloudEvents" })
      const handshake = yield* Queue.take(hook.calls)
      expect(handshake.method).toBe("OPTIONS")
      expect(handshake.headers["webhook-request-origin"]).toBe("eventgrid.azure.net")

      yield* call(emulator, "POST", "/keys/k/create", { body: { kty: "EC", crv: "P-256" } })
      const delivery = yield* Queue.take(hook.calls)
      expect(delivery.headers["content-type"]).toMatch(/^application\/cloudevents-batch\+json/)
      expect(delivery.body).toEqual([expect.objectContaining({
        specversion: "1.0",
        type: "Microsoft.KeyVault.KeyNewVersionCreated",
        source: TOPIC,
        subject: "k",
        data: expect.objectContaining({ ObjectType: "Key", ObjectName: "k" })
      })])
      yield* emulator.shutdown
    }))

  it.effect("a failed handshake creates no subscription", () =>
    Effect.gen(function*() {
      const hook = yield* webhook((call) =>
        call.method === "OPTIONS" ? new Response(null, { status: 200 }) : new Response("nope", { status: 404 })
      )
      const emulator = yield* Emulator.make({ webhookClient: hook.client })
      const eventGrid = yield* Effect.flip(emulator.eventGrid.subscribe({ endpoint: "https://hooks.example/x?code=s3cret" }))
      expect(eventGrid._tag).toBe("SubscriptionError")
      expect(eventGrid.message).toContain("status 404")
      expect(eventGrid.message).not.toContain("s3cret")
      // CloudEvents: a 200 without WebHook-Allowed-Origin is no consent.
      const cloud = yield* Effect.flip(emulator.eventGrid.subscribe({ endpoint: "https://hooks.example/y", schema: "CloudEvents" }))
      expect(cloud.message).toContain("without the expected handshake answer")
      const bad = yield* Effect.flip(emulator.eventGrid.subscribe({ endpoint: "ftp://hooks.example/z" }))
      expect(bad.message).toContain("http: or https:")
      expect(yield* emulator.eventGrid.subscriptions).toEqual([])
    }))

  it.effect("retries a failed delivery with exponential backoff on the clock, then gives up after maxAttempts", () =>
    Effect.gen(function*() {
      const hook = yield* webhook((call, index) =>
        validating(call) ?? new Response(null, { status: index <= 2 ? 503 : 200 })
      )
      const emulator = yield* Emulator.make({ webhookClient: hook.client })
      yield* emulator.eventGrid.subscribe({ endpoint: "https://hooks.example/kv", maxAttempts: 3 })
      yield* Queue.take(hook.calls)
      yield* call(emulator, "PUT", "/secrets/a", { body: { value: "v" } })

      const first = yield* Queue.take(hook.calls)
      expect(first.headers["aeg-delivery-count"]).toBe("0")
      // The retry waits one second on the clock, the next two.
      yield* TestClock.adjust(Duration.millis(999))
      expect(yield* Queue.size(hook.calls)).toBe(0)
      yield* TestClock.adjust(Duration.millis(1))
      const second = yield* Queue.take(hook.calls)
      expect(second.headers["aeg-delivery-count"]).toBe("1")
      yield* TestClock.adjust(Duration.seconds(2))
      const third = yield* Queue.take(hook.calls)
      expect(third.body).toEqual(first.body)

      const attempts = yield* journaled(emulator, "deliverEvents", 3)
      expect(attempts.map((e) => [e.delivery?.attempt, e.status])).toEqual([[1, 503], [2, 503], [3, 200]])
      yield* emulator.shutdown
    }))

  it.effect("a batch that fails every attempt is dropped and later events are still delivered; no answer counts as a failure", () =>
    Effect.gen(function*() {
      let down = true
      const calls = yield* Queue.unbounded<string>()
      const client = HttpClient.make((request, url) =>
        Effect.suspend(() => {
          const text = bodyText(request)
          const body = JSON.parse(text)
          if (body[0].eventType === "Microsoft.EventGrid.SubscriptionValidationEvent") {
            return Effect.succeed(HttpClientResponse.fromWeb(request, Response.json({ validationResponse: body[0].data.validationCode })))
          }
          calls.unsafeOffer(body[0].subject)
          return down
            ? Effect.fail(new (class extends Error {
              readonly _tag = "RequestError"
            })() as never)
            : Effect.succeed(HttpClientResponse.fromWeb(request, new Response(null, { status: 200 })))
        }).pipe(Effect.tap(() => void url))
      )
      const emulator = yield* Emulator.make({ webhookClient: client })
      yield* emulator.eventGrid.subscribe({ endpoint: "https://hooks.example/kv", maxAttempts: 2 })
      yield* call(emulator, "PUT", "/secrets/lost", { body: { value: "v" } })
      expect(yield* Queue.take(calls)).toBe("lost")
      yield* TestClock.adjust(Duration.seconds(1))
      expect(yield* Queue.take(calls)).toBe("lost")
      down = false
      yield* call(emulator, "PUT", "/secrets/kept", { body: { value: "v" } })
      expect(yield* Queue.take(calls)).toBe("kept")
      const attempts = yield* journaled(emulator, "deliverEvents", 3)
      expect(attempts.map((e) => [e.delivery?.attempt, e.status, e.delivery?.error])).toEqual([
        [1, null, "RequestError"],
        [2, null, "RequestError"],
        [1, 200, null]
      ])
      yield* emulator.shutdown
    }))

  it.effect("the admin endpoint subscribes, lists and removes webhooks; near-expiry events reach them", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const hook = yield* webhook((call) => validating(call) ?? new Response(null, { status: 200 }))
      const emulator = yield* Emulator.make({ webhookClient: hook.client })
      const anonymous = yield* call(emulator, "POST", "/admin/eventgrid/subscriptions", {
        apiVersion: null,
        auth: false,
        body: { endpoint: "https://hooks.example/kv" }
      })
      expect(anonymous.status).toBe(401)
      const created = yield* call(emulator, "POST", "/admin/eventgrid/subscriptions", {
        apiVersion: null,
        body: { endpoint: "https://hooks.example/kv?code=s3cret", schema: "EventGrid" }
      })
      expect(created.status).toBe(201)
      expect(created.json).toMatchObject({ endpoint: "https://hooks.example/kv", schema: "EventGrid" })
      yield* Queue.take(hook.calls)
      const listed = yield* call(emulator, "GET", "/admin/eventgrid/subscriptions", { apiVersion: null })
      expect(listed.json.value.map((s: { id: string }) => s.id)).toEqual([created.json.id])

      yield* call(emulator, "PUT", "/secrets/db", { body: { value: "v", attributes: { exp: seconds(START + 40 * DAY) } } })
      expect((yield* Queue.take(hook.calls)).body[0].eventType).toBe("Microsoft.KeyVault.SecretNewVersionCreated")
      yield* call(emulator, "POST", "/admin/clock", { apiVersion: null, body: { advanceSeconds: 10 * 86400 } })
      const near = yield* Queue.take(hook.calls)
      expect(near.body[0]).toMatchObject({ eventType: "Microsoft.KeyVault.SecretNearExpiry", subject: "db" })
      const events = yield* call(emulator, "GET", "/admin/eventgrid/events", { apiVersion: null })
      expect(events.json.value.map((e: { eventType: string }) => e.eventType)).toEqual([
        "Microsoft.KeyVault.SecretNewVersionCreated",
        "Microsoft.KeyVault.SecretNearExpiry"
      ])

      const removed = yield* call(emulator, "DELETE", `/admin/eventgrid/subscriptions/${created.json.id}`, { apiVersion: null })
      expect(removed.status).toBe(204)
      expect((yield* call(emulator, "DELETE", `/admin/eventgrid/subscriptions/${created.json.id}`, { apiVersion: null })).status)
        .toBe(404)
      yield* call(emulator, "PUT", "/secrets/after", { body: { value: "v" } })
      expect(yield* Queue.size(hook.calls)).toBe(0)
      const refused = yield* call(emulator, "POST", "/admin/eventgrid/subscriptions", {
        apiVersion: null,
        body: { endpoint: "not a url" }
      })
      expect(refused.status).toBe(400)
    }))
})

// --- end to end: the emulator's Event Grid feeding the client's webhook and rotation ------------------------------

/** An `HttpClient` that serves every request with an `@effect/platform` app, in process (no socket). */
const appClient = (app: HttpApp.Default) =>
  HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const bytes = request.body._tag === "Uint8Array" ? request.body.body : undefined
      const web = new Request(url, { method: request.method, headers: request.headers, ...(bytes === undefined ? {} : { body: bytes }) })
      const response = yield* Effect.provideService(app, HttpServerRequest.HttpServerRequest, HttpServerRequest.fromWeb(web))
      return HttpClientResponse.fromWeb(request, HttpServerResponse.toWeb(response))
    }).pipe(Effect.orDie)
  )

describe("Event Grid end to end with the client's webhook and rotation", () => {
  it.scoped("near expiry reaches the webhook, the handler rotates, the stream sees it all, the cache serves the new value", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const events = yield* RotationEvents.make()
      const webhookApp = yield* EventGridWebhook.make({ secret: "hook-s3cret" }).pipe(
        Effect.provideService(RotationEvents.RotationEvents, events)
      )
      const emulator = yield* Emulator.make({ webhookClient: appClient(webhookApp) })
      yield* Effect.addFinalizer(() => emulator.shutdown)
      yield* emulator.eventGrid.subscribe({ endpoint: "https://app.example/eventgrid?code=hook-s3cret" })

      const client = KeyVault.layer({ vaultUrl: "https://myvault.vault.azure.net", cache: { ttl: "1 hour" } }).pipe(
        Layer.provide(Layer.merge(HttpClientLayer.layer(emulator), TokenProvider.layerStatic()))
      )
      const handlers = [RotationHandler.secret({ name: "db-password", produce: () => Effect.succeed("v2"), expiry: "90 days" })]
      const context = yield* Layer.build(
        Rotation.layer(handlers).pipe(
          Layer.provideMerge(client),
          Layer.provideMerge(Layer.succeed(RotationEvents.RotationEvents, events))
        )
      )
      const secrets = Context.get(context, Secrets.Secrets)

      // The consumer subscribes first, and reads until the rotation's outcome.
      const stream = yield* events.subscribe
      const seen = yield* Effect.forkScoped(Stream.runCollect(stream.pipe(
        Stream.takeUntil((event) => event._tag === "RotationSucceeded" || event._tag === "RotationFailed")
      )))

      const v1 = yield* secrets.set("db-password", "v1", { expiresOn: new Date(START + 40 * DAY) })
      expect(Redacted.value((yield* secrets.get("db-password")).value)).toBe("v1")

      // Ten days later the secret is 30 days from expiry: the emulator publishes NearExpiry to the webhook.
      yield* emulator.clock.advance(Duration.days(10))
      const timeline = Chunk.toReadonlyArray(yield* Fiber.join(seen)).map((event) =>
        event._tag === "KeyVaultEvent" ? `${event.type.replace("Microsoft.KeyVault.", "")} ${event.data.Version.slice(0, 6)}` : event._tag
      )
      // The cached reader gets the new value at once (NewVersionCreated invalidated it), well within its TTL.
      const v2 = yield* secrets.get("db-password")
      expect(Redacted.value(v2.value)).toBe("v2")
      const [v1Id, v2Id] = [v1.properties.version!.slice(0, 6), v2.properties.version!.slice(0, 6)]
      // The rotation's own NewVersionCreated and the emulator's delivery of the same fact are one event.
      expect(timeline).toEqual([
        `SecretNewVersionCreated ${v1Id}`,
        `SecretNearExpiry ${v1Id}`,
        "RotationStarted",
        `SecretNewVersionCreated ${v2Id}`,
        "RotationSucceeded"
      ])
      const deliveries = yield* emulator.journal.query({ operation: "deliverEvents" })
      expect(deliveries.every((entry) => entry.status === 200)).toBe(true)
    }))
})
