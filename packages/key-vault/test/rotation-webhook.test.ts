/**
 * The Event Grid webhook as an HttpApp, run against constructed requests (no socket): both handshakes, both schemas,
 * the shared secret, malformed and unknown deliveries (400, nothing published), redeliveries, size and method limits.
 */
import * as HttpApp from "@effect/platform/HttpApp"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as EventGridWebhook from "../src/rotation/EventGridWebhook.js"
import type { KeyVaultEvent } from "../src/rotation/RotationEvent.js"
import * as RotationEvents from "../src/rotation/RotationEvents.js"
import { nextEvents, VAULT } from "./rotation-support.js"
import { BASE, call, nearExpiry, published, SECRET } from "./rotation-webhook-support.js"

/** Event Grid's documented sample, field names, spacing and string timestamps included. */
const documentedSample = [{
  id: "00eccf70-95a7-4e7c-8299-2eb17ee9ad64",
  topic: "/subscriptions/0000/resourceGroups/sample-rg/providers/Microsoft.KeyVault/vaults/sample-kv",
  subject: "newsecret",
  eventType: "Microsoft.KeyVault.SecretNewVersionCreated",
  eventTime: "2019-07-25T01:08:33.1036736Z",
  data: {
    Id: "https://sample-kv.vault.azure.net/secrets/newsecret/ee059b2bb5bc48398a53b168c6cdcb10",
    VaultName: "sample-kv",
    ObjectType: "Secret",
    "ObjectName ": "newsecret",
    Version: " ee059b2bb5bc48398a53b168c6cdcb10",
    NBF: "1559081980",
    EXP: "1559082102"
  },
  dataVersion: "1",
  metadataVersion: "1"
}]

const webhook = (options: Omit<EventGridWebhook.EventGridWebhookOptions, "entra"> = { secret: Redacted.make(SECRET) }) =>
  EventGridWebhook.make(options)

describe("EventGridWebhook handshakes", () => {
  it.scoped("answers Event Grid's subscription validation with the code", () =>
    Effect.gen(function*() {
      const app = yield* webhook()
      const answer = yield* call(app, {
        headers: { "aeg-event-type": "SubscriptionValidation" },
        body: [{
          id: "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
          topic: "/subscriptions/xxx/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/myvault",
          subject: "",
          data: { validationCode: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6", validationUrl: "https://rp.example/validate" },
          eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
          eventTime: "2018-01-25T22:12:19.4556811Z",
          metadataVersion: "1",
          dataVersion: "1"
        }]
      })
      expect(answer.status).toBe(200)
      expect(answer.body).toEqual({ validationResponse: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" })
      expect(yield* published).toBe(0)
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("answers the CloudEvents OPTIONS handshake, for the allowed origins only", () =>
    Effect.gen(function*() {
      const app = yield* webhook({ secret: SECRET, allowedOrigins: ["eventgrid.azure.net"], allowedRate: 120 })
      const ok = yield* call(app, { method: "OPTIONS", headers: { "WebHook-Request-Origin": "eventgrid.azure.net" } })
      expect(ok.status).toBe(200)
      expect(ok.headers.get("WebHook-Allowed-Origin")).toBe("eventgrid.azure.net")
      expect(ok.headers.get("WebHook-Allowed-Rate")).toBe("120")
      const other = yield* call(app, { method: "OPTIONS", headers: { "WebHook-Request-Origin": "evil.example.com" } })
      expect(other.status).toBe(403)
      const none = yield* call(app, { method: "OPTIONS" })
      expect(none.status).toBe(400)
      const any = yield* webhook({})
      const open = yield* call(any, { method: "OPTIONS", url: BASE, headers: { "WebHook-Request-Origin": "eventgrid.azure.net" } })
      expect(open.headers.get("WebHook-Allowed-Rate")).toBe("*")
    }).pipe(Effect.provide(RotationEvents.layer())))
})

describe("EventGridWebhook deliveries", () => {
  it.scoped("decodes the Event Grid schema (the documented sample) into the same events and publishes them", () =>
    Effect.gen(function*() {
      const app = yield* webhook()
      const next = yield* nextEvents(1)
      const answer = yield* call(app, { body: documentedSample })
      expect(answer.status).toBe(200)
      expect(answer.body).toEqual({ received: 1, published: 1 })
      const [event] = (yield* Fiber.join(next)) as ReadonlyArray<KeyVaultEvent>
      expect(event).toMatchObject({
        _tag: "KeyVaultEvent",
        id: "00eccf70-95a7-4e7c-8299-2eb17ee9ad64",
        type: "Microsoft.KeyVault.SecretNewVersionCreated",
        subject: "newsecret",
        topic: documentedSample[0]!.topic,
        data: {
          Id: "https://sample-kv.vault.azure.net/secrets/newsecret/ee059b2bb5bc48398a53b168c6cdcb10",
          VaultName: "sample-kv",
          ObjectType: "Secret",
          ObjectName: "newsecret",
          Version: "ee059b2bb5bc48398a53b168c6cdcb10",
          NBF: 1559081980,
          EXP: 1559082102
        }
      })
      expect(event!.time.toISOString()).toBe("2019-07-25T01:08:33.103Z")
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("decodes CloudEvents: a batch and a single structured event", () =>
    Effect.gen(function*() {
      const app = yield* webhook()
      const next = yield* nextEvents(3)
      const events = [nearExpiry("a"), nearExpiry("b"), nearExpiry("c")]
      const batch = yield* call(app, {
        headers: { "content-type": "application/cloudevents-batch+json; charset=utf-8" },
        body: events.slice(0, 2).map(EventGridWebhook.toCloudEventSchema)
      })
      expect(batch.body).toEqual({ received: 2, published: 2 })
      const single = yield* call(app, {
        headers: { "content-type": "application/cloudevents+json" },
        body: EventGridWebhook.toCloudEventSchema(events[2]!)
      })
      expect(single.body).toEqual({ received: 1, published: 1 })
      // The same events as the client's own, whichever schema carried them.
      expect(yield* Fiber.join(next)).toEqual(events.map((e) => ({ ...e, topic: VAULT })).map((e) => expect.objectContaining(e)))
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("publishes a redelivered batch once, and a fact the monitor already reported not again", () =>
    Effect.gen(function*() {
      const app = yield* webhook()
      const events = yield* RotationEvents.RotationEvents
      const monitored = nearExpiry("db")
      yield* events.publish(monitored)
      const delivery = [EventGridWebhook.toEventGridSchema(nearExpiry("api")), {
        ...EventGridWebhook.toEventGridSchema(monitored),
        id: "4c7d1a0e-0000-4000-8000-000000000000"
      }]
      const first = yield* call(app, { body: delivery })
      expect(first.body).toEqual({ received: 2, published: 1 })
      const again = yield* call(app, { body: delivery })
      expect(again.status).toBe(200)
      expect(again.body).toEqual({ received: 2, published: 0 })
      expect(yield* published).toBe(2)
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("refuses a malformed batch with 400 and publishes none of it, without quoting it", () =>
    Effect.gen(function*() {
      const app = yield* webhook()
      const good = EventGridWebhook.toEventGridSchema(nearExpiry("good"))
      const cases: ReadonlyArray<readonly [string, unknown]> = [
        ["missing data field", [good, { ...good, id: "x1", data: { Id: "https://v/secrets/n/1", VaultName: "v" } }]],
        ["type and ObjectType disagree", [good, { ...good, id: "x2", data: { ...(good.data as object), ObjectType: "Key" } }]],
        ["not an event", [good, { hello: "leaked-value-123" }]],
        ["bad time", [good, { ...good, id: "x3", eventTime: "leaked-value-123" }]],
        ["not a number", [good, { ...good, id: "x4", data: { ...(good.data as object), EXP: "leaked-value-123" } }]],
        ["empty batch", []],
        ["a validation event among others", [good, {
          ...good,
          id: "x5",
          eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
          data: { validationCode: "c" }
        }]]
      ]
      for (const [label, body] of cases) {
        const answer = yield* call(app, { body })
        expect([label, answer.status]).toEqual([label, 400])
        expect(answer.text).not.toContain("leaked-value-123")
      }
      expect((yield* call(app, { body: "{not json" })).status).toBe(400)
      expect(yield* published).toBe(0)
      // The good event alone goes through: nothing was remembered from the refused batches.
      expect((yield* call(app, { body: [good] })).body).toEqual({ received: 1, published: 1 })
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("refuses unknown event types by default, or ignores them when told to", () =>
    Effect.gen(function*() {
      const policyChanged = {
        ...EventGridWebhook.toEventGridSchema(nearExpiry("x")),
        eventType: "Microsoft.KeyVault.VaultAccessPolicyChanged"
      }
      const strict = yield* webhook()
      expect((yield* call(strict, { body: [policyChanged] })).status).toBe(400)
      const lenient = yield* webhook({ secret: SECRET, unknownEvents: "ignore" })
      const answer = yield* call(lenient, { body: [policyChanged, EventGridWebhook.toEventGridSchema(nearExpiry("y"))] })
      expect(answer.status).toBe(200)
      expect(answer.body).toEqual({ received: 1, published: 1 })
    }).pipe(Effect.provide(RotationEvents.layer())))
})

describe("EventGridWebhook protection", () => {
  it.scoped("requires the shared secret, in the query or the header, on every request", () =>
    Effect.gen(function*() {
      const app = yield* webhook()
      const body = [EventGridWebhook.toEventGridSchema(nearExpiry("db"))]
      const refused = [
        yield* call(app, { url: BASE, body }),
        yield* call(app, { url: `${BASE}?code=wrong`, body }),
        yield* call(app, { url: `${BASE}?code=${SECRET}x`, body }),
        yield* call(app, { url: BASE, headers: { "x-webhook-secret": "wrong" }, body }),
        yield* call(app, { url: BASE, method: "OPTIONS", headers: { "WebHook-Request-Origin": "eventgrid.azure.net" } })
      ]
      expect(refused.map((a) => a.status)).toEqual([401, 401, 401, 401, 401])
      expect(refused.map((a) => a.text).join("")).not.toContain(SECRET)
      expect(yield* published).toBe(0)
      expect((yield* call(app, { url: BASE, headers: { "x-webhook-secret": SECRET }, body })).status).toBe(200)
      expect(yield* published).toBe(1)
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("limits the body size and the methods", () =>
    Effect.gen(function*() {
      const app = yield* webhook({ secret: SECRET, maxBodyBytes: 1024 })
      const big = [{ ...EventGridWebhook.toEventGridSchema(nearExpiry("db")), padding: "x".repeat(2000) }]
      expect((yield* call(app, { body: big })).status).toBe(413)
      const get = yield* call(app, { method: "GET" })
      expect(get.status).toBe(405)
      expect(get.headers.get("allow")).toBe("OPTIONS, POST")
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("mounts as a web handler", () =>
    Effect.gen(function*() {
      const app = yield* webhook()
      const handler = HttpApp.toWebHandler(app)
      const response = yield* Effect.promise(() =>
        handler(new Request(`${BASE}?code=${SECRET}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(documentedSample)
        }))
      )
      expect(response.status).toBe(200)
      expect(yield* Effect.promise(() => response.json())).toEqual({ received: 1, published: 1 })
    }).pipe(Effect.provide(RotationEvents.layer())))
})
