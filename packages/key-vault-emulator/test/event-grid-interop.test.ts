/**
 * Event Grid over real sockets: the emulator started as the command does (`Cli.start`, HTTPS, `--event-grid-webhook`,
 * `--start-time`) delivers to a local HTTP server running the client's `EventGridWebhook`; the vault and the admin
 * clock are driven over HTTPS.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpServer from "@effect/platform/HttpServer"
import * as EventGridWebhook from "@effect-azure/key-vault/rotation/EventGridWebhook"
import type { RotationEvent } from "@effect-azure/key-vault/rotation/RotationEvent"
import * as RotationEvents from "@effect-azure/key-vault/rotation/RotationEvents"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Cli from "../src/cli/Cli.js"

const TOKEN = "interop-token"
const START = Date.parse("2030-01-01T00:00:00Z")
const DAY = 24 * 60 * 60 * 1000

const request = (
  ca: string,
  method: string,
  url: string,
  body?: unknown
): Effect.Effect<{ readonly status: number; readonly json: unknown }, Error> =>
  Effect.async((resume) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = Https.request(url, {
      method,
      ca,
      agent: false,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) })
      }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8")
        resume(Effect.succeed({ status: res.statusCode ?? 0, json: text === "" ? undefined : JSON.parse(text) }))
      })
    })
    req.on("error", (error) => resume(Effect.fail(error)))
    req.end(payload)
  })

describe("Event Grid over sockets", () => {
  it.live("the command's webhook receives NewVersionCreated, then NearExpiry once the admin clock is advanced", () =>
    Effect.gen(function*() {
      // The application side: the client's webhook on a local HTTP server, publishing to a RotationEvents stream.
      const events = yield* RotationEvents.make()
      const app = yield* EventGridWebhook.make({ secret: "hook-s3cret" }).pipe(
        Effect.provideService(RotationEvents.RotationEvents, events)
      )
      const server = yield* Layer.build(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" }))
      yield* HttpServer.serveEffect(app).pipe(Effect.provide(server))
      const address = Context.get(server, HttpServer.HttpServer).address
      if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("expected a TCP address")
      const stream = yield* events.subscribe
      const received = yield* Effect.forkScoped(Stream.runCollect(Stream.take(stream, 2)))

      // The vault side, as `key-vault-emulator --event-grid-webhook ... --start-time ...` starts it.
      const stateDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-emulator-eventgrid-"))
      const options = Either.getOrThrow(Cli.parseArgs([
        "--state-dir",
        stateDir,
        "--token",
        TOKEN,
        "--start-time",
        "2030-01-01T00:00:00Z",
        "--event-grid-webhook",
        `http://127.0.0.1:${address.port}/eventgrid?code=hook-s3cret`
      ]))
      const info = yield* Cli.start(options)
      const ca = Fs.readFileSync(info.caCertPath!, "utf8")

      const clock = yield* request(ca, "GET", `${info.vaultUrl}/admin/clock`)
      expect(Date.parse((clock.json as { now: string }).now)).toBeGreaterThanOrEqual(START)
      const exp = Math.floor((START + 40 * DAY) / 1000)
      const set = yield* request(ca, "PUT", `${info.vaultUrl}/secrets/db-password?api-version=2025-07-01`, {
        value: "v1",
        attributes: { exp }
      })
      expect(set.status).toBe(200)
      const advanced = yield* request(ca, "POST", `${info.vaultUrl}/admin/clock`, { advanceSeconds: 10 * 86400 })
      expect(advanced.status).toBe(200)

      const delivered = Chunk.toReadonlyArray(yield* Fiber.join(received).pipe(Effect.timeout("10 seconds")))
      const id = (set.json as { id: string }).id
      expect(delivered.map((event: RotationEvent) => event._tag === "KeyVaultEvent" ? [event.type, event.data.Id, event.data.EXP] : []))
        .toEqual([
          ["Microsoft.KeyVault.SecretNewVersionCreated", id, exp],
          ["Microsoft.KeyVault.SecretNearExpiry", id, exp]
        ])
      const subscriptions = yield* request(ca, "GET", `${info.vaultUrl}/admin/eventgrid/subscriptions`)
      expect(subscriptions.json).toEqual({
        value: [expect.objectContaining({ endpoint: `http://127.0.0.1:${address.port}/eventgrid`, schema: "EventGrid" })]
      })
    }).pipe(Effect.scoped))
})
