/**
 * Event Grid events for every vault: each event names the vault it comes from (`VaultName`, `Id`, `topic`), expiry
 * events follow each vault's objects, and a webhook subscription (emulator-wide) receives every vault's events.
 * In process, time from `TestClock` and the emulator's clock; no sockets, no sleeps.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type { KeyVaultEvent } from "@effect-azure/key-vault/rotation/RotationEvent"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Emulator from "../src/Emulator.js"
import { call } from "./support.js"

const START = Date.parse("2030-01-01T00:00:00Z")
const DAY = 24 * 60 * 60 * 1000
const TOPIC_PREFIX = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/key-vault-emulator/providers/" +
  "Microsoft.KeyVault/vaults/"
const DEFAULT_ORIGIN = "https://myvault.vault.azure.net"
const BILLING = "https://billing.vault.azure.net"

const line = (event: KeyVaultEvent) =>
  `${event.data.VaultName} ${event.type.replace("Microsoft.KeyVault.", "")} ${event.data.ObjectName}`

describe("Event Grid events for every vault", () => {
  it.scoped("each event names its vault: VaultName, Id and topic, for requests and for in-process seeding", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const emulator = yield* Emulator.make()
      yield* emulator.admin.vaults.create({ name: "billing" })
      const events = yield* emulator.eventGrid.subscribeEvents
      const collected = yield* Effect.fork(Stream.runCollect(Stream.take(events, 4)))

      const inDefault = yield* call(emulator, "PUT", "/secrets/db", { body: { value: "a" }, origin: DEFAULT_ORIGIN })
      const inBilling = yield* call(emulator, "PUT", "/secrets/db", { body: { value: "b" }, origin: BILLING })
      // A vault that served no request yet: its URL is derived from the default vault's.
      yield* emulator.admin.seed({ vaults: [{ name: "partners", secrets: [{ name: "token", value: "t" }] }] })
      yield* call(emulator, "PUT", "/secrets/other", { body: { value: "b" }, origin: BILLING })

      const got = Chunk.toReadonlyArray(yield* Fiber.join(collected))
      expect(got.map(line)).toEqual([
        "myvault SecretNewVersionCreated db",
        "billing SecretNewVersionCreated db",
        "partners SecretNewVersionCreated token",
        "billing SecretNewVersionCreated other"
      ])
      const [fromDefault, fromBilling, fromPartners] = got
      expect(fromDefault!.data.Id).toBe(inDefault.json.id)
      expect(fromDefault!.topic).toBe(`${TOPIC_PREFIX}myvault`)
      expect(fromBilling!.data.Id).toBe(inBilling.json.id)
      expect(fromBilling!.data.Id.startsWith(`${BILLING}/secrets/db/`)).toBe(true)
      expect(fromBilling!.topic).toBe(`${TOPIC_PREFIX}billing`)
      expect(fromPartners!.data.Id.startsWith("https://partners.vault.azure.net/secrets/token/")).toBe(true)
      expect(fromPartners!.topic).toBe(`${TOPIC_PREFIX}partners`)
      // The same name in two vaults is two objects: one event each, never merged.
      expect(new Set(got.map((event) => event.data.Id)).size).toBe(4)
    }))

  it.scoped("expiry events follow each vault's objects; a reset or deleted vault's objects get none", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const emulator = yield* Emulator.make()
      yield* emulator.admin.vaults.create({ name: "billing" })
      yield* emulator.admin.vaults.create({ name: "scratch" })
      yield* emulator.admin.vaults.create({ name: "gone" })
      const exp = Math.floor((START + 40 * DAY) / 1000)
      for (const origin of [DEFAULT_ORIGIN, BILLING, "https://scratch.vault.azure.net", "https://gone.vault.azure.net"]) {
        const set = yield* call(emulator, "PUT", "/secrets/api-key", { body: { value: "v", attributes: { exp } }, origin })
        expect(set.status).toBe(200)
      }
      yield* emulator.admin.vaults.reset("scratch")
      yield* emulator.admin.vaults.delete("gone")

      const events = yield* emulator.eventGrid.subscribeEvents
      const collected = yield* Effect.fork(Stream.runCollect(Stream.take(events, 4)))
      yield* emulator.clock.advance("10 days") // 30 days before exp
      yield* emulator.clock.advance("31 days") // past exp
      const got = Chunk.toReadonlyArray(yield* Fiber.join(collected)).map(line)
      expect(got).toEqual([
        "myvault SecretNearExpiry api-key",
        "billing SecretNearExpiry api-key",
        "myvault SecretExpired api-key",
        "billing SecretExpired api-key"
      ])
      const recent = (yield* emulator.eventGrid.recent).map(line)
      expect(recent.filter((text) => text.startsWith("scratch") || text.startsWith("gone"))).toEqual([
        "scratch SecretNewVersionCreated api-key",
        "gone SecretNewVersionCreated api-key"
      ])
    }))

  it.effect("a webhook subscription is emulator-wide: it receives every vault's events, told apart by VaultName", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const posts = yield* Queue.unbounded<ReadonlyArray<{ readonly eventType: string; readonly data: { readonly VaultName: string } }>>()
      const client = HttpClient.make((request) =>
        Effect.sync(() => {
          const text = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : "[]"
          const body = JSON.parse(text)
          if (body[0]?.eventType === "Microsoft.EventGrid.SubscriptionValidationEvent") {
            return HttpClientResponse.fromWeb(request, Response.json({ validationResponse: body[0].data.validationCode }))
          }
          posts.unsafeOffer(body)
          return HttpClientResponse.fromWeb(request, new Response(null, { status: 200 }))
        })
      )
      const emulator = yield* Emulator.make({ webhookClient: client })
      yield* emulator.admin.vaults.create({ name: "billing" })
      yield* emulator.eventGrid.subscribe({ endpoint: "https://hooks.example/kv", maxEventsPerBatch: 1 })
      yield* call(emulator, "PUT", "/secrets/db", { body: { value: "a" }, origin: DEFAULT_ORIGIN })
      yield* call(emulator, "PUT", "/secrets/db", { body: { value: "b" }, origin: BILLING })
      const first = yield* Queue.take(posts)
      const second = yield* Queue.take(posts)
      expect([...first, ...second].map((event) => `${event.data.VaultName} ${event.eventType}`)).toEqual([
        "myvault Microsoft.KeyVault.SecretNewVersionCreated",
        "billing Microsoft.KeyVault.SecretNewVersionCreated"
      ])
      yield* emulator.shutdown
    }))

  it.effect("a vault reached by a port of its own is still named by itself", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* emulator.admin.vaults.create({ name: "billing", settings: { port: 8444 } })
      yield* call(emulator, "PUT", "/secrets/db", { body: { value: "b" }, origin: "https://localhost:8444" })
      const [event] = yield* emulator.eventGrid.recent
      expect(event!.data.VaultName).toBe("billing")
      expect(event!.data.Id.startsWith("https://localhost:8444/secrets/db/")).toBe(true)
      expect(event!.topic).toBe(`${TOPIC_PREFIX}billing`)
    }))
})
