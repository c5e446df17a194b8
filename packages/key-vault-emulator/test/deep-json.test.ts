/**
 * Request bodies nested thousands of levels deep used to overflow the stack while the schema error was formatted,
 * and the emulator answered 500. They are invalid input: a 400 `BadParameter` in Key Vault's envelope, naming no
 * value. Bodies nested as deep as real ones keep working.
 */
import { MAX_JSON_DEPTH } from "@effect-azure/key-vault/wire/Common"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Emulator from "../src/Emulator.js"
import { call, type CallResult } from "./support.js"

const LEVELS = 10_000
const SECRET = "S3cr3t-VALUE-that-must-never-leak"

const deepArray = (levels: number): string => "[".repeat(levels) + "]".repeat(levels)
const deepObject = (levels: number): string => "{\"a\":".repeat(levels) + "1" + "}".repeat(levels)

const expectDeepRefused = (result: CallResult, label: string) => {
  expect(result.status, label).toBe(400)
  expect(result.json.error.code, label).toBe("BadParameter")
  expect(result.json.error.message, label).toBe(`The request body nests deeper than ${MAX_JSON_DEPTH} levels.`)
  expect(result.text, label).not.toContain(SECRET)
}

describe("deeply nested request bodies", () => {
  it.effect("set-secret answers 400 BadParameter, and nothing is stored", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const bodies = [
        deepObject(LEVELS),
        `{"value":${deepArray(LEVELS)}}`,
        `{"value":"${SECRET}","tags":${deepObject(LEVELS)}}`,
        `{"value":"${SECRET}","attributes":{"enabled":${deepArray(LEVELS)}}}`,
        `{"value":"${SECRET}","contentType":"text/plain","extra":${deepArray(LEVELS)}}`
      ]
      for (const [i, rawBody] of bodies.entries()) {
        expectDeepRefused(yield* call(emulator, "PUT", "/secrets/deep", { rawBody }), `body ${i}`)
      }
      expect((yield* call(emulator, "GET", "/secrets/deep/")).status).toBe(404)
    }))

  it.effect("create-key and import-key answer 400 BadParameter", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      for (
        const rawBody of [
          deepObject(LEVELS),
          `{"kty":${deepArray(LEVELS)}}`,
          `{"kty":"EC","key_ops":${deepArray(LEVELS)}}`,
          `{"kty":"EC","tags":${deepObject(LEVELS)}}`
        ]
      ) {
        expectDeepRefused(yield* call(emulator, "POST", "/keys/deep/create", { rawBody }), rawBody.slice(0, 24))
      }
      expectDeepRefused(
        yield* call(emulator, "PUT", "/keys/deep", { rawBody: `{"key":{"kty":"EC","crv":${deepArray(LEVELS)}}}` }),
        "import"
      )
      expect((yield* call(emulator, "GET", "/keys/deep/")).status).toBe(404)
    }))

  it.effect("crypto operations, update and restore answer 400 BadParameter", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      expect((yield* call(emulator, "POST", "/keys/k/create", { body: { kty: "RSA" } })).status).toBe(200)
      expect((yield* call(emulator, "PUT", "/secrets/s", { body: { value: SECRET } })).status).toBe(200)
      const cases: ReadonlyArray<readonly [string, string, string]> = [
        ["POST", "/keys/k//encrypt", `{"alg":"RSA-OAEP","value":${deepObject(LEVELS)}}`],
        ["POST", "/keys/k//decrypt", `{"alg":${deepArray(LEVELS)},"value":"AA"}`],
        ["POST", "/keys/k//sign", `{"alg":"RS256","value":"AA","x":${deepArray(LEVELS)}}`],
        ["POST", "/keys/k//verify", `{"alg":"RS256","digest":${deepObject(LEVELS)},"value":"AA"}`],
        ["POST", "/keys/k//wrapkey", `{"alg":"RSA-OAEP","value":${deepArray(LEVELS)}}`],
        ["PATCH", "/keys/k/", `{"tags":${deepObject(LEVELS)}}`],
        ["PATCH", "/secrets/s/", `{"tags":${deepObject(LEVELS)}}`],
        ["POST", "/secrets/restore", `{"value":${deepArray(LEVELS)}}`],
        ["POST", "/keys/restore", `{"value":${deepObject(LEVELS)}}`],
        ["POST", "/rng", `{"count":${deepArray(LEVELS)}}`]
      ]
      for (const [method, path, rawBody] of cases) {
        expectDeepRefused(yield* call(emulator, method, path, { rawBody }), `${method} ${path}`)
      }
      // Nothing changed.
      const secret = yield* call(emulator, "GET", "/secrets/s/")
      expect(secret.json.value).toBe(SECRET)
      expect(secret.json.tags).toBeUndefined()
    }))

  it.effect("a restore blob whose payload nests 10,000 levels deep is a malformed blob", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const blobOf = (kind: string, payload: string) =>
        Buffer.concat([
          Buffer.from(")EffectAzureKeyVaultEmulatorBackupV1."),
          Buffer.from(`{"format":1,"kind":"${kind}","payload":${payload}}`)
        ]).toString("base64url")
      const secretPayload = `{"name":"deep","versions":[{"version":"${"0".repeat(32)}","value":"${SECRET}",` +
        `"enabled":true,"created":1,"updated":1,"tags":${deepObject(LEVELS)}}]}`
      for (
        const [path, blob] of [
          ["/secrets/restore", blobOf("secret", secretPayload)],
          ["/keys/restore", blobOf("key", deepArray(LEVELS))]
        ] as const
      ) {
        const restored = yield* call(emulator, "POST", path, { body: { value: blob } })
        expect(restored.status, path).toBe(400)
        expect(restored.json.error.code, path).toBe("BadParameter")
        expect(restored.text, path).not.toContain(SECRET)
      }
      expect((yield* call(emulator, "GET", "/secrets/deep/")).status).toBe(404)
    }))
})

describe("reasonably nested request bodies keep working", () => {
  it.effect("tags, attributes, an imported JWK and a body at the depth limit", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const set = yield* call(emulator, "PUT", "/secrets/ok", {
        body: { value: SECRET, tags: { env: "prod", team: "a" }, attributes: { enabled: true } }
      })
      expect(set.status).toBe(200)
      expect(set.json.tags).toEqual({ env: "prod", team: "a" })
      const imported = yield* call(emulator, "PUT", "/keys/imported", {
        body: {
          key: {
            kty: "EC",
            crv: "P-256",
            key_ops: ["sign", "verify"],
            x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
            d: "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
          },
          tags: { a: "b" }
        }
      })
      expect(imported.status).toBe(200)
      expect(imported.json.key.crv).toBe("P-256")
      // An unknown member nested exactly to the limit is ignored like any unknown member; one level more is refused.
      const atLimit = `{"value":"v","extra":${deepArray(MAX_JSON_DEPTH - 1)}}`
      expect((yield* call(emulator, "PUT", "/secrets/limit", { rawBody: atLimit })).status).toBe(200)
      const overLimit = `{"value":"v","extra":${deepArray(MAX_JSON_DEPTH)}}`
      expectDeepRefused(yield* call(emulator, "PUT", "/secrets/limit", { rawBody: overLimit }), "over the limit")
    }))
})
