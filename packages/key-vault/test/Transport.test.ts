import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Chunk from "effect/Chunk"
import * as KeyVault from "../src/KeyVault.js"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import type { TokenRequest } from "../src/auth/TokenProvider.js"
import { Secrets, type SecretsService } from "../src/secrets/Secrets.js"
import * as VaultState from "../src/transport/VaultState.js"

interface Seen {
  readonly method: string
  readonly url: string
  readonly authorization: string | undefined
  readonly body: string | undefined
}

const noResilience = { retry: false, circuitBreaker: false, rateLimiter: false } as const

const challenge =
  "Bearer authorization=\"https://login.microsoftonline.com/tenant-1\", resource=\"https://vault.azure.net\""

const bodyOf = (request: HttpClientRequest.HttpClientRequest): string | undefined =>
  request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : undefined

/** A scripted vault: every request is recorded; `answer` decides the response. */
const scripted = (answer: (seen: Seen, index: number) => { status: number; headers?: Record<string, string>; body?: unknown }) => {
  const seen: Array<Seen> = []
  const tokenRequests: Array<TokenRequest> = []
  const client = HttpClient.make((request, url) =>
    Effect.sync(() => {
      const entry: Seen = {
        method: request.method,
        url: url.toString(),
        authorization: request.headers["authorization"],
        body: bodyOf(request)
      }
      seen.push(entry)
      const { body, headers = {}, status } = answer(entry, seen.length - 1)
      return HttpClientResponse.fromWeb(
        request,
        new Response(body === undefined ? null : JSON.stringify(body), {
          status,
          headers: { "content-type": "application/json", ...headers }
        })
      )
    })
  )
  const tokens = Layer.succeed(TokenProvider.TokenProvider, {
    getToken: (req) =>
      Effect.sync(() => {
        tokenRequests.push(req)
        return { token: Redacted.make(`token-${tokenRequests.length}`), expiresOnMillis: Date.now() + 3_600_000 }
      })
  })
  return { seen, tokenRequests, layer: (vaultUrl = "https://myvault.vault.azure.net", extra = {}) =>
    // The cache and the resilience policy are off here: these tests count what reaches the wire in one attempt.
    KeyVault.layer({ vaultUrl, cache: { enabled: false }, resilience: noResilience, ...extra }).pipe(Layer.provide(Layer.merge(Layer.succeed(HttpClient.HttpClient, client), tokens))) }
}

const bundle = (name: string) => ({
  value: "v",
  id: `https://myvault.vault.azure.net/secrets/${name}/0123456789abcdef0123456789abcdef`,
  attributes: { enabled: true, created: 1, updated: 1 }
})

/** A vault that asks for a token and then answers every authorised request with secret `a`. */
const challenged = () =>
  scripted((seen) =>
    seen.authorization === undefined
      ? { status: 401, headers: { "www-authenticate": challenge } }
      : { status: 200, body: bundle("a") }
  )

describe("Transport challenge flow", () => {
  it.effect("sends the first request without body or token, then repeats it with both for the challenge's scope", () => {
    const vault = scripted((seen) =>
      seen.authorization === undefined
        ? { status: 401, headers: { "www-authenticate": challenge }, body: { error: { code: "Unauthorized" } } }
        : { status: 200, body: bundle("db") }
    )
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* secrets.set("db", "hunter2", { contentType: "text/plain" })
      expect(vault.seen).toHaveLength(2)
      expect(vault.seen[0]).toMatchObject({ method: "PUT", authorization: undefined, body: undefined })
      expect(vault.seen[0]!.url).toBe("https://myvault.vault.azure.net/secrets/db?api-version=2025-07-01")
      expect(vault.seen[1]!.authorization).toBe("Bearer token-1")
      expect(JSON.parse(vault.seen[1]!.body!)).toEqual({ value: "hunter2", contentType: "text/plain" })
      expect(vault.tokenRequests[0]).toMatchObject({ scopes: ["https://vault.azure.net/.default"], tenantId: "tenant-1" })
      // The challenge is remembered: the next request goes out authorised at once.
      yield* secrets.get("db")
      expect(vault.seen).toHaveLength(3)
      expect(vault.seen[2]!.authorization).toBe("Bearer token-2")
      expect(vault.tokenRequests[1]).toMatchObject({ scopes: ["https://vault.azure.net/.default"], tenantId: "tenant-1" })
    }).pipe(Effect.provide(vault.layer()))
  })

  it.effect("refuses a challenge whose resource does not match the vault, without sending the body", () => {
    const vault = scripted(() => ({
      status: 401,
      headers: { "www-authenticate": "Bearer authorization=\"https://login.microsoftonline.com/t\", resource=\"https://evil.example\"" }
    }))
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* Secrets).set("db", "hunter2"))
      expect(error._tag).toBe("AuthenticationError")
      expect(vault.seen).toHaveLength(1)
      expect(vault.seen[0]!.body).toBeUndefined()
      expect(vault.tokenRequests).toHaveLength(0)
    }).pipe(Effect.provide(vault.layer()))
  })

  it.effect("allows a localhost emulator only with verification explicitly disabled", () => {
    const vault = scripted((seen) =>
      seen.authorization === undefined
        ? { status: 401, headers: { "www-authenticate": "Bearer authorization=\"https://login.microsoftonline.com/t\", resource=\"https://localhost:8443\"" } }
        : { status: 200, body: bundle("db") }
    )
    return Effect.gen(function*() {
      const secret = yield* (yield* Secrets).get("db")
      expect(secret.name).toBe("db")
    }).pipe(Effect.provide(vault.layer("https://localhost:8443", { disableChallengeResourceVerification: true })))
  })

  it.effect("refreshes the token once on a 401 and fails typed on a second", () => {
    let authorised = 0
    const vault = scripted((seen) => {
      if (seen.authorization === undefined) return { status: 401, headers: { "www-authenticate": challenge } }
      authorised++
      return authorised === 1 ? { status: 200, body: bundle("a") } : { status: 401, headers: { "www-authenticate": challenge } }
    })
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* secrets.get("a")
      const error = yield* Effect.flip(secrets.get("a"))
      expect(error._tag).toBe("AuthenticationError")
      expect(vault.tokenRequests.map((r) => r.forceRefresh)).toEqual([false, false, true])
    }).pipe(Effect.provide(vault.layer()))
  })

  it.effect("answers a bare 401 mid-session (an expired token) with one forced refresh and a retry", () => {
    let authorised = 0
    const vault = scripted((seen) => {
      if (seen.authorization === undefined) return { status: 401, headers: { "www-authenticate": challenge } }
      authorised++
      return authorised === 2 ? { status: 401 } : { status: 200, body: bundle("a") }
    })
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* secrets.get("a")
      yield* secrets.get("a")
      expect(vault.tokenRequests.map((r) => r.forceRefresh)).toEqual([false, false, true])
      expect(vault.tokenRequests[2]).toMatchObject({ scopes: ["https://vault.azure.net/.default"], tenantId: "tenant-1" })
    }).pipe(Effect.provide(vault.layer()))
  })

  it.effect("answers a continuous-access-evaluation challenge with its claims once, without remembering them", () => {
    const claims = "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1726000000\"}}}"
    const cae = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="${
      Buffer.from(claims).toString("base64")
    }"`
    let authorised = 0
    const vault = scripted((seen) => {
      if (seen.authorization === undefined) return { status: 401, headers: { "www-authenticate": challenge } }
      authorised++
      return authorised === 2 ? { status: 401, headers: { "www-authenticate": cae } } : { status: 200, body: bundle("a") }
    })
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* secrets.get("a")
      yield* secrets.get("a")
      yield* secrets.get("a")
      expect(vault.tokenRequests.map((r) => r.claims)).toEqual([undefined, undefined, claims, undefined])
      expect(vault.tokenRequests[2]).toMatchObject({ forceRefresh: true, tenantId: "tenant-1" })
    }).pipe(Effect.provide(vault.layer()))
  })

  it.effect("discovers the challenge once for concurrent first calls", () => {
    const vault = challenged()
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* Effect.all(Array.from({ length: 20 }, () => secrets.get("a")), { concurrency: "unbounded" })
      expect(vault.seen.filter((s) => s.authorization === undefined)).toHaveLength(1)
      expect(vault.seen).toHaveLength(21)
    }).pipe(Effect.provide(vault.layer()))
  })

  it.effect("shares the learned challenge with every client of the same vault in one Layer graph", () => {
    const vault = challenged()
    // Two clients of one vault in one application graph: the second is exposed under a tag of its own.
    class OtherSecrets extends Context.Tag("test/OtherSecrets")<OtherSecrets, SecretsService>() {}
    const graph = Layer.merge(vault.layer(), Layer.effect(OtherSecrets, Secrets).pipe(Layer.provide(vault.layer())))
    return Effect.gen(function*() {
      const first = yield* Secrets
      const second = yield* OtherSecrets
      expect(first).not.toBe(second)
      yield* first.get("a")
      yield* second.get("a")
      // The official SDKs pay one 401 per client instance; here the second client goes out authorised at once.
      expect(vault.seen.filter((s) => s.authorization === undefined)).toHaveLength(1)
      expect(vault.seen).toHaveLength(3)
    }).pipe(Effect.provide(graph))
  })

  it.effect("shares the challenge between clients built separately under one registry the application provides", () => {
    const vault = challenged()
    return Effect.gen(function*() {
      const first = yield* Effect.provide(Secrets, vault.layer())
      const second = yield* Effect.provide(Secrets, vault.layer())
      yield* first.get("a")
      yield* second.get("a")
      expect(vault.seen.filter((s) => s.authorization === undefined)).toHaveLength(1)
    }).pipe(Effect.provide(VaultState.layer))
  })

  it.effect("never shares per-vault state between two separately built applications", () => {
    const vault = challenged()
    return Effect.gen(function*() {
      // Same HttpClient, same vault, same options: still two applications, so each learns the challenge itself.
      const first = yield* Effect.provide(Secrets, vault.layer())
      const second = yield* Effect.provide(Secrets, vault.layer())
      yield* first.get("a")
      yield* second.get("a")
      expect(vault.seen.filter((s) => s.authorization === undefined)).toHaveLength(2)
    })
  })

  it.effect("drops the per-vault state when the registry's scope closes", () => {
    const vault = challenged()
    return Effect.gen(function*() {
      const scope = yield* Scope.make()
      const registry = yield* Layer.buildWithScope(VaultState.layer, scope).pipe(
        Effect.map(Context.get(VaultState.VaultRegistry))
      )
      const secrets = yield* Effect.provide(Secrets, vault.layer()).pipe(
        Effect.provideService(VaultState.VaultRegistry, registry)
      )
      yield* secrets.get("a")
      expect(yield* registry.size).toBe(1)
      yield* Scope.close(scope, Exit.void)
      expect(yield* registry.size).toBe(0)
      // A client built after the close starts from nothing: it meets the challenge again.
      const later = yield* Effect.provide(Secrets, vault.layer()).pipe(
        Effect.provideService(VaultState.VaultRegistry, registry)
      )
      yield* later.get("a")
      expect(vault.seen.filter((s) => s.authorization === undefined)).toHaveLength(2)
    })
  })

  it.effect("never sends a body without a token because the probe met a 5xx", () => {
    let probes = 0
    const vault = scripted((seen) => {
      if (seen.authorization !== undefined) return { status: 200, body: bundle("a") }
      probes++
      return probes === 1 ? { status: 503 } : { status: 401, headers: { "www-authenticate": challenge } }
    })
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      expect((yield* Effect.flip(secrets.set("a", "TOP-SECRET")))._tag).toBe("ServiceError")
      yield* secrets.set("a", "TOP-SECRET")
      expect(vault.seen.filter((s) => s.authorization === undefined && s.body !== undefined)).toHaveLength(0)
    }).pipe(Effect.provide(vault.layer()))
  })

  it.effect("sends bodies once to an endpoint that never asks for a token", () => {
    const vault = scripted(() => ({ status: 200, body: bundle("a") }))
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* secrets.set("a", "v")
      yield* secrets.set("a", "v")
      // The first set probes without a body and is sent again with it; after that, one request per call.
      expect(vault.seen.map((s) => s.body === undefined)).toEqual([true, false, false])
      expect(vault.tokenRequests).toHaveLength(0)
    }).pipe(Effect.provide(vault.layer()))
  })

  it.effect("stops a list whose nextLink repeats instead of paging forever", () => {
    const vault = scripted((seen) =>
      seen.authorization === undefined
        ? { status: 401, headers: { "www-authenticate": challenge } }
        : { status: 200, body: { value: [{ id: "https://myvault.vault.azure.net/secrets/a" }], nextLink: "https://myvault.vault.azure.net/secrets?api-version=2025-07-01&$skiptoken=same" } }
    )
    return Effect.gen(function*() {
      const error = yield* (yield* Secrets).listProperties().pipe(Stream.runDrain, Effect.flip)
      expect(error._tag).toBe("DecodeError")
      expect(vault.seen.length).toBeLessThan(5)
    }).pipe(Effect.provide(vault.layer()))
  })

  it.effect("fails an attempt that exceeds the request timeout with a TransportError", () =>
    Effect.gen(function*() {
      const silent = HttpClient.make(() => Effect.never)
      const layer = KeyVault.layer({ vaultUrl: "https://myvault.vault.azure.net", requestTimeout: "10 seconds", resilience: noResilience }).pipe(
        Layer.provide(Layer.merge(Layer.succeed(HttpClient.HttpClient, silent), TokenProvider.layerStatic()))
      )
      const fiber = yield* Effect.fork(Effect.flip(Effect.flatMap(Secrets, (s) => s.get("x")).pipe(Effect.provide(layer))))
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error._tag === "TransportError" && error.reason).toBe("Timeout")
    }))

  it.effect("interrupts a request that exceeds the timeout before reporting it, so its connection is aborted", () =>
    Effect.gen(function*() {
      let aborted = false
      const silent = HttpClient.make(() => Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => void (aborted = true)))))
      const layer = KeyVault.layer({ vaultUrl: "https://myvault.vault.azure.net", requestTimeout: "10 seconds", resilience: noResilience }).pipe(
        Layer.provide(Layer.merge(Layer.succeed(HttpClient.HttpClient, silent), TokenProvider.layerStatic()))
      )
      const fiber = yield* Effect.fork(Effect.flip(Effect.flatMap(Secrets, (s) => s.get("x")).pipe(Effect.provide(layer))))
      yield* TestClock.adjust("9 seconds")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error._tag === "TransportError" && error.reason).toBe("Timeout")
      expect(aborted).toBe(true)
    }))

  it.effect("interrupting the caller while the vault has not answered aborts the exchange", () =>
    Effect.gen(function*() {
      let aborted = false
      const silent = HttpClient.make(() => Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => void (aborted = true)))))
      const layer = KeyVault.layer({ vaultUrl: "https://myvault.vault.azure.net", requestTimeout: "10 seconds", resilience: noResilience }).pipe(
        Layer.provide(Layer.merge(Layer.succeed(HttpClient.HttpClient, silent), TokenProvider.layerStatic()))
      )
      const fiber = yield* Effect.fork(Effect.flatMap(Secrets, (s) => s.get("x")).pipe(Effect.provide(layer)))
      yield* TestClock.adjust("1 second")
      expect(fiber.unsafePoll()).toBeNull()
      yield* Fiber.interrupt(fiber)
      expect(aborted).toBe(true)
      // The timer went with it: moving past the timeout reports nothing more.
      yield* TestClock.adjust("20 seconds")
    }))

  it.scoped("a vault call in a finalizer (uninterruptible) runs to its answer when the caller is interrupted", () =>
    Effect.gen(function*() {
      const body = JSON.stringify({ value: "cleaned-up", id: "https://myvault.vault.azure.net/secrets/x/0123456789abcdef0123456789abcdef" })
      // A vault that says when a request arrives and answers when the test lets it.
      const arrived = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const held = HttpClient.make((request) =>
        Effect.zipRight(
          Effect.zipRight(Deferred.succeed(arrived, undefined), Deferred.await(release)),
          Effect.succeed(HttpClientResponse.fromWeb(request, new Response(body, { status: 200 })))
        )
      )
      const layer = KeyVault.layer({ vaultUrl: "https://myvault.vault.azure.net", requestTimeout: "10 seconds", resilience: noResilience }).pipe(
        Layer.provide(Layer.merge(Layer.succeed(HttpClient.HttpClient, held), TokenProvider.layerStatic()))
      )
      const secrets = Context.get(yield* Layer.build(layer), Secrets)
      let answered: string | undefined
      const cleanup = Effect.flatMap(
        Effect.exit(secrets.get("x")),
        (exit) => Effect.sync(() => void (answered = Exit.isSuccess(exit) ? Redacted.value(exit.value.value) : exit.cause._tag))
      )
      const started = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(Effect.ensuring(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never), cleanup))
      yield* Deferred.await(started)
      const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* Deferred.await(arrived)
      expect(answered).toBeUndefined()
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(interrupting)
      expect(answered).toBe("cleaned-up")
    }))

  it.effect("never follows a nextLink off the vault's origin", () => {
    const vault = scripted((seen) =>
      seen.authorization === undefined
        ? { status: 401, headers: { "www-authenticate": challenge } }
        : { status: 200, body: { value: [{ id: "https://myvault.vault.azure.net/secrets/a" }], nextLink: "https://evil.example/secrets?$skiptoken=x" } }
    )
    return Effect.gen(function*() {
      const exit = yield* (yield* Secrets).listProperties().pipe(Stream.runCollect, Effect.either)
      expect(exit._tag).toBe("Left")
      expect(vault.seen.every((s) => s.url.startsWith("https://myvault.vault.azure.net/"))).toBe(true)
    }).pipe(Effect.provide(vault.layer()))
  })

  it.effect("follows nextLink pages lazily and keeps their query", () => {
    const vault = scripted((seen) => {
      if (seen.authorization === undefined) return { status: 401, headers: { "www-authenticate": challenge } }
      const page = new URL(seen.url).searchParams.get("$skiptoken")
      return page === null
        ? { status: 200, body: { value: [{ id: "https://myvault.vault.azure.net/secrets/a" }], nextLink: "https://myvault.vault.azure.net/secrets?api-version=2025-07-01&maxresults=1&$skiptoken=p2" } }
        : { status: 200, body: { value: [{ id: "https://myvault.vault.azure.net/secrets/b" }], nextLink: null } }
    })
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      const first = yield* secrets.listProperties({ maxPageSize: 1 }).pipe(Stream.take(1), Stream.runCollect)
      expect(Chunk.toReadonlyArray(first).map((p) => p.name)).toEqual(["a"])
      const before = vault.seen.length
      const all = yield* secrets.listProperties({ maxPageSize: 1 }).pipe(Stream.runCollect)
      expect(Chunk.toReadonlyArray(all).map((p) => p.name)).toEqual(["a", "b"])
      expect(vault.seen.length - before).toBe(2)
      expect(vault.seen.at(-2)!.url).toContain("maxresults=1")
    }).pipe(Effect.provide(vault.layer()))
  })

  it.effect("maps a network failure to TransportError", () =>
    Effect.gen(function*() {
      const failing = HttpClient.make((request) =>
        Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", description: "ECONNRESET" }))
      )
      const error = yield* Effect.flip(Effect.flatMap(Secrets, (s) => s.get("x"))).pipe(
        Effect.provide(KeyVault.layer({ vaultUrl: "https://myvault.vault.azure.net", resilience: noResilience }).pipe(
          Layer.provide(Layer.merge(Layer.succeed(HttpClient.HttpClient, failing), Layer.succeed(TokenProvider.TokenProvider, { getToken: () => Effect.die("unused") })))
        ))
      )
      expect(error._tag).toBe("TransportError")
      expect(error.message).toContain("ECONNRESET")
    }))
})
