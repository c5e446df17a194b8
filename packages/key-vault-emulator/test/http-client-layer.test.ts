import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Emulator from "../src/Emulator.js"
import * as HttpClientLayer from "../src/testing/HttpClientLayer.js"

const VAULT = "https://myvault.vault.azure.net"

const authorized = (request: HttpClientRequest.HttpClientRequest) =>
  request.pipe(
    HttpClientRequest.bearerToken("token"),
    HttpClientRequest.setUrlParam("api-version", "2025-07-01")
  )

describe("HttpClientLayer", () => {
  it.effect("responses read like a Fetch Response: text, json, bytes, stream; 204 has no body to stream", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const client = HttpClientLayer.make(emulator)
      const put = yield* HttpClientRequest.put(`${VAULT}/secrets/reader`).pipe(
        authorized,
        HttpClientRequest.bodyUnsafeJson({ value: "\u00e9t\u00e9" }),
        client.execute
      )
      const text = yield* put.text
      expect(JSON.parse(text).value).toBe("\u00e9t\u00e9")
      expect(yield* put.json).toEqual(JSON.parse(text))
      expect(new TextDecoder().decode(yield* put.arrayBuffer)).toBe(text)
      const streamed = yield* Stream.runCollect(put.stream)
      expect(Buffer.concat([...streamed]).toString("utf8")).toBe(text)
      expect(put.headers["x-ms-keyvault-service-version"]).toBeDefined()
      expect(put.remoteAddress._tag).toBe("None")

      yield* client.execute(authorized(HttpClientRequest.del(`${VAULT}/secrets/reader`)))
      const purge = yield* client.execute(authorized(HttpClientRequest.del(`${VAULT}/deletedsecrets/reader`)))
      expect(purge.status).toBe(204)
      expect(yield* purge.text).toBe("")
      expect(yield* purge.json).toBe(null)
      const empty = yield* Effect.flip(Stream.runDrain(purge.stream))
      expect(empty).toMatchObject({ _tag: "ResponseError", reason: "EmptyBody" })

      // A truncated answer announces the full length and fails to decode, as a cut connection does.
      yield* emulator.faults.add({ operation: "getSecret", fault: { _tag: "Truncate", bytes: 5 } })
      yield* client.execute(authorized(HttpClientRequest.put(`${VAULT}/secrets/cut`)).pipe(
        HttpClientRequest.bodyUnsafeJson({ value: "v" })
      ))
      const cut = yield* client.execute(authorized(HttpClientRequest.get(`${VAULT}/secrets/cut`)))
      expect(Number(cut.headers["content-length"])).toBeGreaterThan(5)
      expect(yield* Effect.flip(cut.json)).toMatchObject({ _tag: "ResponseError", reason: "Decode" })
    }))

  it.effect("serves requests in process, with the caller's TestClock as the vault's time", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const put = yield* HttpClientRequest.put(`${VAULT}/secrets/layered`).pipe(
        authorized,
        HttpClientRequest.bodyUnsafeJson({ value: "päss", attributes: { exp: 60 } }),
        client.execute
      )
      expect(put.status).toBe(200)
      expect(put.headers["content-type"]).toBe("application/json; charset=utf-8")

      const get = yield* client.execute(authorized(HttpClientRequest.get(`${VAULT}/secrets/layered/`)))
      expect(((yield* get.json) as { value: string }).value).toBe("päss")

      yield* TestClock.adjust(Duration.seconds(60))
      const expired = yield* client.execute(authorized(HttpClientRequest.get(`${VAULT}/secrets/layered`)))
      expect(expired.status).toBe(403)

      // The emulator behind the layer is reachable for inspection.
      const emulator = yield* Emulator.EmulatorService
      const [listed] = yield* emulator.engine.secrets.list
      expect(listed && Redacted.value(listed.secret.value)).toBe("päss")
    }).pipe(Effect.provide(HttpClientLayer.layerFresh())))

  it.effect("passes the challenge, 204 without a body, and string bodies", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const challenge = yield* client.execute(HttpClientRequest.put(`${VAULT}/secrets/x`))
      expect(challenge.status).toBe(401)
      expect(challenge.headers["www-authenticate"]).toContain("resource=\"https://vault.azure.net\"")

      yield* client.execute(
        HttpClientRequest.put(`${VAULT}/secrets/x`).pipe(
          authorized,
          HttpClientRequest.bodyText("{\"value\":\"v\"}", "application/json")
        )
      )
      yield* client.execute(authorized(HttpClientRequest.del(`${VAULT}/secrets/x`)))
      const purge = yield* client.execute(authorized(HttpClientRequest.del(`${VAULT}/deletedsecrets/x`)))
      expect(purge.status).toBe(204)
      expect(yield* purge.text).toBe("")
    }).pipe(Effect.provide(HttpClientLayer.layerFresh())))

  it.effect("refuses stream bodies with a RequestError", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const error = yield* Effect.flip(
        Effect.flatMap(HttpClient.HttpClient, (client) =>
          client.execute(
            HttpClientRequest.put(`${VAULT}/secrets/x`).pipe(
              authorized,
              HttpClientRequest.bodyStream(Stream.make(new Uint8Array([1])))
            )
          )).pipe(Effect.provide(HttpClientLayer.layer(emulator)))
      )
      expect(error._tag).toBe("RequestError")
      expect(yield* emulator.engine.secrets.list).toEqual([])
    }))
})
