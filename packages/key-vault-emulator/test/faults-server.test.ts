import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Https from "node:https"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Emulator from "../src/Emulator.js"
import * as HttpsServer from "../src/server/HttpsServer.js"
import * as Tls from "../src/server/Tls.js"

/** What a client saw: a complete answer, an answer whose body failed, or no answer at all. */
type Seen =
  | { readonly _tag: "Answer"; readonly status: number; readonly body: string }
  | { readonly _tag: "BodyError"; readonly status: number; readonly received: number; readonly code: string | undefined }
  | { readonly _tag: "RequestError"; readonly code: string | undefined; readonly message: string }

const send = (
  url: string,
  ca: string,
  options: { readonly method?: string; readonly body?: string; readonly timeoutMillis?: number } = {}
): Effect.Effect<Seen> =>
  Effect.async<Seen>((resume) => {
    const req = Https.request(url, {
      method: options.method ?? "GET",
      ca,
      agent: false,
      headers: { authorization: "Bearer t", ...(options.body === undefined ? {} : { "content-type": "application/json" }) }
    }, (res) => {
      let received = 0
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => {
        received += chunk.byteLength
        chunks.push(chunk)
      })
      res.on("error", (error: NodeJS.ErrnoException) =>
        resume(Effect.succeed({ _tag: "BodyError", status: res.statusCode ?? 0, received, code: error.code })))
      res.on("end", () =>
        resume(Effect.succeed({ _tag: "Answer", status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() })))
    })
    if (options.timeoutMillis !== undefined) {
      req.setTimeout(options.timeoutMillis, () => req.destroy(Object.assign(new Error("client timeout"), { code: "ETIMEDOUT" })))
    }
    req.on("error", (error: NodeJS.ErrnoException) =>
      resume(Effect.succeed({ _tag: "RequestError", code: error.code, message: error.message })))
    req.end(options.body)
  })

const material = Effect.suspend(() =>
  Tls.ensureTlsMaterial({ stateDir: Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-emulator-faults-")) })
)

const start = (scope: Scope.Scope) =>
  Effect.gen(function*() {
    const tls = yield* material
    const emulator = yield* Emulator.make()
    // Paths the emulator has answered (a stall is answered with "never answer"): tests wait on this, not on a timer.
    const answered = yield* Queue.unbounded<string>()
    const handler = (request: Parameters<typeof emulator.handler>[0]) =>
      Effect.tap(emulator.handler(request), () => Queue.offer(answered, request.url.pathname))
    const server = yield* HttpsServer.serve({ handler, tls: { cert: tls.certPem, key: tls.keyPem } })
      .pipe(Scope.extend(scope))
    const url = (path: string) => `${server.url}${path}?api-version=2025-07-01`
    return { answered, emulator, url, ca: tls.caCertPem }
  })

// Closed by the test where it matters, and in any case when the test's scope ends (even after a failed assertion).
const closing = Effect.acquireRelease(Scope.make(), (scope) => Scope.close(scope, Exit.void))

describe("transport faults over the HTTPS server", () => {
  it.scopedLive("Reset: the client sees a socket error; Truncate: a body error; the server keeps serving", () =>
    Effect.gen(function*() {
      const scope = yield* closing
      const { ca, emulator, url } = yield* start(scope)
      const value = "x".repeat(2_000)
      const put = yield* send(url("/secrets/big"), ca, { method: "PUT", body: JSON.stringify({ value }) })
      expect(put).toMatchObject({ _tag: "Answer", status: 200 })

      yield* emulator.faults.add({ times: 1, fault: { _tag: "Reset" } })
      const reset = yield* send(url("/secrets/big"), ca)
      expect(reset).toMatchObject({ _tag: "RequestError", code: "ECONNRESET" })

      yield* emulator.faults.add({ times: 1, fault: { _tag: "Truncate", bytes: 100 } })
      const truncated = yield* send(url("/secrets/big"), ca)
      expect(truncated).toMatchObject({ _tag: "BodyError", status: 200, received: 100, code: "ECONNRESET" })

      const after = yield* send(url("/secrets/big"), ca)
      expect(after._tag === "Answer" && JSON.parse(after.body).value).toBe(value)
      yield* Scope.close(scope, Exit.void)
    }))

  it.scopedLive("Stall: the client times out, the server keeps serving, and closing the server frees stalled sockets", () =>
    Effect.gen(function*() {
      const scope = yield* closing
      const { answered, ca, emulator, url } = yield* start(scope)
      yield* emulator.faults.add({ operation: "getSecret", name: "stuck", fault: { _tag: "Stall" } })

      // The stall never ends by itself, so the client's idle timeout is the only way out, however long it is.
      const timedOut = yield* send(url("/secrets/stuck"), ca, { timeoutMillis: 200 })
      expect(timedOut).toMatchObject({ _tag: "RequestError", code: "ETIMEDOUT" })
      expect(yield* send(url("/secrets/other"), ca)).toMatchObject({ _tag: "Answer", status: 404 })
      yield* Queue.takeAll(answered)

      // A client without a timeout waits until the server goes away; close it once the request is stalled there.
      const waiting = yield* Effect.fork(send(url("/secrets/stuck"), ca))
      expect(yield* Queue.take(answered)).toBe("/secrets/stuck")
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      const seen = yield* waiting.await
      expect(Date.now() - started).toBeLessThan(2_000)
      expect(Exit.isSuccess(seen) && seen.value._tag).toBe("RequestError")

      const stalls = yield* emulator.journal.query({ name: "stuck" })
      expect(stalls.map((e) => [e.status, e.fault?.kind])).toEqual([[null, "Stall"], [null, "Stall"]])
    }))

  it.scopedLive("Latency over the server uses the live clock", () =>
    Effect.gen(function*() {
      const scope = yield* closing
      const { ca, emulator, url } = yield* start(scope)
      yield* emulator.faults.add({ times: 1, fault: { _tag: "Latency", millis: 150 } })
      const started = Date.now()
      expect(yield* send(url("/secrets/x"), ca)).toMatchObject({ _tag: "Answer", status: 404 })
      expect(Date.now() - started).toBeGreaterThanOrEqual(140)
      yield* Scope.close(scope, Exit.void)
    }))
})
