/**
 * Bodies nested thousands of levels deep. Effect Schema decodes recursive schemas and formats parse errors by
 * recursion, so such a body used to overflow the stack: an untyped defect that escaped `catchTag` and the cache's
 * stale-if-error. They must fail typed (`DecodeError` for a 2xx, the status's own error for a non-2xx), never quote
 * the body, and bodies nested as deep as real ones must keep decoding.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { Keys } from "../src/keys/Keys.js"
import * as KeyVault from "../src/KeyVault.js"
import { Secrets } from "../src/secrets/Secrets.js"
import { exceedsJsonDepth, MAX_JSON_DEPTH } from "../src/wire/Common.js"

const VAULT = "https://myvault.vault.azure.net"
const LEVELS = 10_000
const SECRET = "hunter2-must-never-leak"
const VERSION = "0123456789abcdef0123456789abcdef"

const deepArray = (levels: number): string => "[".repeat(levels) + "]".repeat(levels)
const deepObject = (levels: number): string => "{\"a\":".repeat(levels) + "1" + "}".repeat(levels)
const deepInnerErrors = (levels: number, code = "Deep"): string =>
  `{"error":{"code":"${code}","message":"m",` + "\"innererror\":{".repeat(levels) + "\"code\":\"x\"" +
  "}".repeat(levels) + "}}"

const secretBundle = (extra = "") =>
  `{"value":"${SECRET}","id":"${VAULT}/secrets/db/${VERSION}","attributes":{"enabled":true,"created":1,"updated":1}${extra}}`

interface Answer {
  readonly status: number
  readonly body: string
  readonly headers?: Record<string, string>
}

/** A vault that answers each request with the next scripted raw body (the last one repeats). */
const rawVault = (answers: ReadonlyArray<Answer>, cache: KeyVault.KeyVaultClientOptions["cache"] = { enabled: false }) => {
  let index = 0
  const client = HttpClient.make((request) =>
    Effect.sync(() => {
      const answer = answers[Math.min(index++, answers.length - 1)]!
      return HttpClientResponse.fromWeb(
        request,
        new Response(answer.body, {
          status: answer.status,
          headers: { "content-type": "application/json", ...answer.headers }
        })
      )
    })
  )
  return KeyVault.layer({
    vaultUrl: VAULT,
    cache,
    resilience: { retry: false, circuitBreaker: false, rateLimiter: false }
  }).pipe(Layer.provide(Layer.merge(Layer.succeed(HttpClient.HttpClient, client), TokenProvider.layerStatic())))
}

const ok = (body: string): Answer => ({ status: 200, body })

describe("deeply nested response bodies", () => {
  it.effect("a 2xx nested 10,000 levels deep is a DecodeError that catchTag handles", () =>
    Effect.gen(function*() {
      for (const body of [deepArray(LEVELS), deepObject(LEVELS), `{"value":${deepArray(LEVELS)}}`]) {
        const outcome = yield* Effect.provide(
          Effect.flatMap(Secrets, (secrets) => secrets.get("db")).pipe(
            Effect.as("decoded"),
            Effect.catchTag("DecodeError", (error) => Effect.succeed(`${error._tag}: ${error.message}`))
          ),
          rawVault([ok(body)])
        )
        expect(outcome).toMatch(/^DecodeError: /)
        expect(outcome).toContain(`deeper than ${MAX_JSON_DEPTH}`)
      }
    }))

  it.effect("a secret-bearing response with a deep member never quotes the value", () =>
    Effect.gen(function*() {
      const deepTags = secretBundle(`,"tags":${deepObject(LEVELS)}`)
      const error = yield* Effect.flip(
        Effect.provide(Effect.flatMap(Secrets, (secrets) => secrets.get("db")), rawVault([ok(deepTags)]))
      )
      expect(error._tag).toBe("DecodeError")
      expect(error.message).not.toContain(SECRET)
      expect(String(error)).not.toContain(SECRET)
      expect(JSON.stringify(error)).not.toContain(SECRET)
    }))

  it.effect("keys and paged lists go through the same guard", () =>
    Effect.gen(function*() {
      const key = yield* Effect.flip(
        Effect.provide(
          Effect.flatMap(Keys, (keys) => keys.get("k")),
          rawVault([ok(`{"key":{"kty":"RSA","n":${deepArray(LEVELS)}},"attributes":{}}`)])
        )
      )
      expect(key._tag).toBe("DecodeError")
      const list = yield* Effect.flip(
        Effect.provide(
          Effect.flatMap(Secrets, (secrets) => Stream.runCollect(secrets.listProperties())),
          rawVault([ok(`{"value":[${deepObject(LEVELS)}],"nextLink":null}`)])
        )
      )
      expect(list._tag).toBe("DecodeError")
    }))

  it.effect("an error envelope nested 10,000 levels deep still maps by status", () =>
    Effect.gen(function*() {
      const envelope = deepInnerErrors(LEVELS)
      const get = Effect.flatMap(Secrets, (secrets) => secrets.get("db"))
      const cases: ReadonlyArray<readonly [number, string]> = [
        [503, "ServiceError"],
        [500, "ServiceError"],
        [404, "NotFoundError"],
        [403, "ForbiddenError"],
        [400, "BadRequestError"],
        [429, "ThrottledError"]
      ]
      for (const [status, tag] of cases) {
        const error = yield* Effect.flip(Effect.provide(get, rawVault([{ status, body: envelope }])))
        expect(error._tag, String(status)).toBe(tag)
        if (error._tag === "ServiceError") expect(error.transient).toBe(status >= 500)
      }
      // An array body at the root of an error response, too.
      const unavailable = yield* Effect.flip(Effect.provide(get, rawVault([{ status: 503, body: deepArray(LEVELS) }])))
      expect(unavailable._tag).toBe("ServiceError")
      expect(unavailable._tag === "ServiceError" && unavailable.transient).toBe(true)
    }))

  it.effect("the cache serves the last good value when the vault answers a 503 with a deep envelope", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      expect(Redacted.value((yield* secrets.get("db")).value)).toBe(SECRET)
      yield* TestClock.adjust("101 seconds")
      expect(Redacted.value((yield* secrets.get("db")).value)).toBe(SECRET)
    }).pipe(
      Effect.provide(rawVault(
        [ok(secretBundle()), { status: 503, body: deepInnerErrors(LEVELS) }],
        { ttl: "100 seconds", jitter: 0, refreshAhead: false, staleIfError: "1 minute" }
      ))
    ))
})

describe("reasonably nested bodies keep decoding", () => {
  it.effect("tags, a JWK and a list page", () =>
    Effect.gen(function*() {
      const tagged = yield* Effect.provide(
        Effect.flatMap(Secrets, (secrets) => secrets.get("db")),
        rawVault([ok(secretBundle(",\"tags\":{\"env\":\"prod\",\"team\":\"a\"}"))])
      )
      expect(tagged.properties.tags).toEqual({ env: "prod", team: "a" })
      const key = yield* Effect.provide(
        Effect.flatMap(Keys, (keys) => keys.get("k")),
        rawVault([
          ok(
            `{"key":{"kid":"${VAULT}/keys/k/${VERSION}","kty":"EC","crv":"P-256","key_ops":["sign","verify"],` +
              "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}," +
              "\"attributes\":{\"enabled\":true,\"created\":1,\"updated\":1},\"tags\":{\"a\":\"b\"}}"
          )
        ])
      )
      expect(key.key.crv).toBe("P-256")
      const page = yield* Effect.provide(
        Effect.flatMap(Secrets, (secrets) => Stream.runCollect(secrets.listProperties())),
        rawVault([
          ok(
            `{"value":[{"id":"${VAULT}/secrets/db","attributes":{"enabled":true,"created":1,"updated":1},` +
              "\"tags\":{\"a\":\"b\"}}],\"nextLink\":null}"
          )
        ])
      )
      expect(Chunk.size(page)).toBe(1)
    }))

  it.effect("an innererror chain of 3 keeps its inner code", () =>
    Effect.gen(function*() {
      const body = JSON.stringify({
        error: {
          code: "Forbidden",
          message: "Operation get is not allowed on a disabled secret.",
          innererror: { code: "SecretDisabled", innererror: { code: "Deeper", innererror: { code: "Deepest" } } }
        }
      })
      const error = yield* Effect.flip(
        Effect.provide(Effect.flatMap(Secrets, (secrets) => secrets.get("db")), rawVault([{ status: 403, body }]))
      )
      expect(error._tag).toBe("ForbiddenError")
      expect(error._tag === "ForbiddenError" && error.isDisabled).toBe(true)
      expect(error._tag === "ForbiddenError" && error.message).toBe("Operation get is not allowed on a disabled secret.")
    }))

  it.effect("the limit itself: a body exactly MAX_JSON_DEPTH deep passes the guard, one level more does not", () =>
    Effect.sync(() => {
      expect(exceedsJsonDepth(JSON.parse(deepArray(MAX_JSON_DEPTH)))).toBe(false)
      expect(exceedsJsonDepth(JSON.parse(deepArray(MAX_JSON_DEPTH + 1)))).toBe(true)
      expect(exceedsJsonDepth(JSON.parse(deepObject(MAX_JSON_DEPTH)))).toBe(false)
      expect(exceedsJsonDepth(JSON.parse(deepObject(MAX_JSON_DEPTH + 1)))).toBe(true)
      expect(exceedsJsonDepth(JSON.parse(deepArray(LEVELS)))).toBe(true)
      for (const scalar of ["1", "\"s\"", "null", "true", "[]", "{}"]) {
        expect(exceedsJsonDepth(JSON.parse(scalar))).toBe(false)
      }
      // Width is not depth.
      const wide = { value: Array.from({ length: 5_000 }, (_, i) => ({ id: String(i), tags: { a: "b" } })) }
      expect(exceedsJsonDepth(wide)).toBe(false)
    }))
})
