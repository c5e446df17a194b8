/**
 * `UndiciHttpClient`: the client's whole operation set over real HTTPS to the emulator (loopback, its local CA as the
 * only trust anchor), bodies in and out, large answers in many chunks, network and TLS failures as typed errors,
 * and interruption aborting the request.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/Emulator"
import * as HttpsServer from "@effect-azure/key-vault-emulator/server/HttpsServer"
import * as Tls from "@effect-azure/key-vault-emulator/server/Tls"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as KeyVault from "../src/KeyVault.js"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { Secrets } from "../src/secrets/Secrets.js"
import * as UndiciHttpClient from "../src/transport/UndiciHttpClient.js"

const stateDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-undici-"))

const served = Effect.gen(function*() {
  const emulator = yield* Emulator.make()
  const tls = yield* Tls.ensureTlsMaterial({ stateDir })
  const server = yield* HttpsServer.serve({ handler: emulator.handler, tls: { cert: tls.certPem, key: tls.keyPem } })
  return { emulator, server, ca: tls.caCertPem }
})

const client = (vaultUrl: string, http: Layer.Layer<HttpClient.HttpClient>) =>
  KeyVault.layer({ vaultUrl, disableChallengeResourceVerification: true, cache: { enabled: false } }).pipe(
    Layer.provide(Layer.merge(http, TokenProvider.layerStatic()))
  )

describe("UndiciHttpClient", () => {
  it.live("carries every secret operation over TLS: bodies both ways, pages, a 404, a 409", () =>
    Effect.gen(function*() {
      const { ca, server } = yield* served
      yield* Effect.gen(function*() {
        const secrets = yield* Secrets
        const first = yield* secrets.set("lean", "über-value", { tags: { via: "undici" } })
        yield* secrets.set("lean", "second")
        expect(Redacted.value((yield* secrets.get("lean", { version: first.properties.version! })).value)).toBe("über-value")
        for (const n of ["l1", "l2"]) yield* secrets.set(n, n)
        const names = Chunk.toReadonlyArray(yield* Stream.runCollect(secrets.listProperties({ maxPageSize: 1 })))
          .map((p) => p.name)
        expect(names.sort()).toEqual(["l1", "l2", "lean"])
        expect((yield* Effect.flip(secrets.get("missing")))._tag).toBe("NotFoundError")
        const blob = yield* secrets.backup("lean")
        expect((yield* Effect.flip(secrets.restore(blob)))._tag).toBe("ConflictError")
      }).pipe(Effect.provide(client(server.url, UndiciHttpClient.layer({ connect: { ca } }))))
    }).pipe(Effect.scoped))

  it.live("reads an answer of many chunks whole: a 20 KB secret value round trip", () =>
    Effect.gen(function*() {
      const { ca, server } = yield* served
      const value = "ä".repeat(10_000)
      yield* Effect.gen(function*() {
        const secrets = yield* Secrets
        yield* secrets.set("large", value)
        expect(Redacted.value((yield* secrets.get("large")).value)).toBe(value)
      }).pipe(Effect.provide(client(server.url, UndiciHttpClient.layer({ connect: { ca } }))))
    }).pipe(Effect.scoped))

  it.live("a server not trusted is a TransportError with reason Tls; a closed port one with reason Network", () =>
    Effect.gen(function*() {
      const { server } = yield* served
      const untrusted = yield* Effect.flip(
        Effect.flatMap(Secrets, (s) => s.get("x")).pipe(Effect.provide(client(server.url, UndiciHttpClient.layer())))
      )
      expect(untrusted._tag === "TransportError" && untrusted.reason).toBe("Tls")
      const closed = yield* Effect.flip(
        Effect.flatMap(Secrets, (s) => s.get("x")).pipe(
          Effect.provide(
            KeyVault.layer({
              vaultUrl: "https://localhost:1",
              disableChallengeResourceVerification: true,
              resilience: { retry: false }
            }).pipe(Layer.provide(Layer.merge(UndiciHttpClient.layer(), TokenProvider.layerStatic())))
          )
        )
      )
      expect(closed._tag === "TransportError" && closed.reason).toBe("Network")
    }).pipe(Effect.scoped))

  it.live("interrupting a request aborts it: the server sees its connection closed", () =>
    Effect.gen(function*() {
      // A server that never answers, and says when a connection closes.
      let closed: () => void = () => {}
      const connectionClosed = new Promise<void>((resolve) => {
        closed = resolve
      })
      const server = yield* Effect.acquireRelease(
        Effect.async<Http.Server>((resume) => {
          const s = Http.createServer((request) => {
            request.socket.once("close", () => closed())
          })
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) => Effect.sync(() => s.close())
      )
      const port = (server.address() as Net.AddressInfo).port
      const http = yield* HttpClient.HttpClient
      const requested = new Promise<void>((resolve) => server.once("request", () => resolve()))
      const fiber = yield* Effect.fork(http.execute(HttpClientRequest.get(`http://127.0.0.1:${port}/hang`)))
      yield* Effect.promise(() => requested)
      yield* Fiber.interrupt(fiber)
      yield* Effect.promise(() => connectionClosed)
    }).pipe(Effect.provide(UndiciHttpClient.layer()), Effect.scoped))

  it.live("a request interrupted while it waits for a connection is never sent", () =>
    Effect.gen(function*() {
      // One connection: a first request holds it (the server does not answer it until told), a second waits behind.
      const seen: Array<string> = []
      let answerFirst: () => void = () => {}
      const firstArrived = new Promise<void>((resolve) => {
        answerFirst = resolve
      })
      let respond: (() => void) | undefined
      const server = yield* Effect.acquireRelease(
        Effect.async<Http.Server>((resume) => {
          const s = Http.createServer((request, response) => {
            seen.push(`${request.method} ${request.url}`)
            if (request.url === "/hold") {
              respond = () => response.end("held")
              answerFirst()
            } else response.end("ok")
          })
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) => Effect.sync(() => s.close())
      )
      const origin = `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}`
      const http = yield* HttpClient.HttpClient
      const first = yield* Effect.fork(Effect.flatMap(http.execute(HttpClientRequest.get(`${origin}/hold`)), (r) => r.text))
      yield* Effect.promise(() => firstArrived)
      const second = yield* Effect.fork(http.execute(HttpClientRequest.del(`${origin}/delete-me`)))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(second)
      respond!()
      expect(yield* Fiber.join(first)).toBe("held")
      // A third request on the same connection proves the queue moved on without the interrupted one.
      yield* Effect.flatMap(http.execute(HttpClientRequest.get(`${origin}/after`)), (r) => r.text)
      expect(seen).toEqual(["GET /hold", "GET /after"])
    }).pipe(Effect.provide(UndiciHttpClient.layer({ connections: 1 })), Effect.scoped))

  it.effect("refuses a body it cannot send with a RequestError, before any request", () =>
    Effect.gen(function*() {
      const http = yield* HttpClient.HttpClient
      const error = yield* Effect.flip(
        http.execute(HttpClientRequest.post("http://127.0.0.1:1/x").pipe(HttpClientRequest.bodyStream(Stream.make(new Uint8Array([1])))))
      )
      expect(error._tag).toBe("RequestError")
      expect(error.message).toContain("Stream")
    }).pipe(Effect.provide(UndiciHttpClient.layer())))
})
