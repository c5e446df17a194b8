/**
 * A vault bound to a port is chosen by the socket a request arrived on, never by its `Host` header: through a
 * port-rewriting proxy (`docker -p 19123:<vault port>`) the header names another port, and a client may name a
 * vault's port in the header of a request sent to the main port.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Http from "node:http"
import * as Emulator from "../src/Emulator.js"
import * as HttpsServer from "../src/server/HttpsServer.js"

const put = (port: number, host: string, name: string) =>
  Effect.promise(() =>
    new Promise<number>((resolve, reject) => {
      const request = Http.request({
        host: "127.0.0.1",
        port,
        method: "PUT",
        path: `/secrets/${name}?api-version=2025-07-01`,
        headers: { host, authorization: "Bearer x", "content-type": "application/json" }
      }, (response) => {
        response.resume()
        response.on("end", () => resolve(response.statusCode ?? 0))
      })
      request.on("error", reject)
      request.end(JSON.stringify({ value: "v" }))
    })
  )

describe("vaults bound to ports", () => {
  it.scoped("route by the port a request arrived on, whatever its Host header says", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* emulator.vaults.create("alpha")
      const main = yield* HttpsServer.serve({ handler: emulator.handler, host: "127.0.0.1", port: 0 })
      const alpha = yield* HttpsServer.serve({ handler: emulator.handler, host: "127.0.0.1", port: 0 })
      yield* emulator.vaults.bindPort("alpha", alpha.port)

      // Through a proxy that published alpha's port as 19123.
      expect(yield* put(alpha.port, "localhost:19123", "through-proxy")).toBe(200)
      // On the main port, with alpha's port in the header.
      expect(yield* put(main.port, `localhost:${alpha.port}`, "named-port")).toBe(200)

      const names = (vault: string) =>
        Effect.map(emulator.admin.vaults.objects(vault), (objects) => objects.secrets.map((s) => s.name).sort())
      expect(yield* names("alpha")).toEqual(["through-proxy"])
      expect(yield* names("default")).toEqual(["named-port"])
    }))
})
