/**
 * The Event Grid webhook's Microsoft Entra bearer-token check, against tokens signed here with node:crypto and keys
 * served through the `keys` option (or a fake HttpClient for the default provider): no network, TestClock for time.
 */
import { createHmac, generateKeyPairSync, type KeyObject, sign } from "node:crypto"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import * as EventGridWebhook from "../src/rotation/EventGridWebhook.js"
import * as RotationEvents from "../src/rotation/RotationEvents.js"
import { nextEvents } from "./rotation-support.js"
import { type Answer, BASE, call, nearExpiry, published, SECRET } from "./rotation-webhook-support.js"

const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
const AUDIENCE = "api://eventgrid-webhook"
const V1_ISSUER = `https://sts.windows.net/${TENANT}/`
const V2_ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`
const EVENT_GRID_APP = "4962773b-9cdb-44cf-a8bf-237846a00ab7"
const NOW = Date.UTC(2030, 0, 1, 12)
const MINUTE = 60_000

const keyPair = () => generateKeyPairSync("rsa", { modulusLength: 2048 })
const current = keyPair()
const next = keyPair()
const attacker = keyPair()

const jwk = (key: KeyObject, kid: string): Record<string, unknown> => ({
  ...key.export({ format: "jwk" }),
  kid,
  use: "sig",
  x5t: kid
})

const b64 = (value: unknown): string =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value), "utf8").toString("base64url")

/** A compact JWS signed with RS256 by `privateKey`. */
const signed = (header: Record<string, unknown>, claims: Record<string, unknown>, privateKey: KeyObject): string => {
  const input = `${b64(header)}.${b64(claims)}`
  return `${input}.${sign("RSA-SHA256", Buffer.from(input), privateKey).toString("base64url")}`
}

/** The claims of an app-only v2 token Event Grid would carry, at `now` (Unix milliseconds). */
const claimsAt = (now: number, overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  aud: AUDIENCE,
  iss: V2_ISSUER,
  iat: Math.floor(now / 1000),
  nbf: Math.floor(now / 1000),
  exp: Math.floor(now / 1000) + 3600,
  azp: EVENT_GRID_APP,
  roles: ["AzureEventGridSecureWebhookSubscriber"],
  tid: TENANT,
  ver: "2.0",
  ...overrides
})

const token = (overrides: Record<string, unknown> = {}, kid = "current", key = current.privateKey, now = NOW) =>
  signed({ typ: "JWT", alg: "RS256", kid }, claimsAt(now, overrides), key)

/** A token signed now, by the TestClock. */
const tokenNow = (overrides: Record<string, unknown> = {}, kid = "current", key = current.privateKey) =>
  Effect.map(Clock.currentTimeMillis, (now) => token(overrides, kid, key, now))

const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` })

const delivery = [EventGridWebhook.toEventGridSchema(nearExpiry("db"))]

/** A JWKS the test can change, and how often the webhook fetched it. */
const keyEndpoint = (initial: ReadonlyArray<Record<string, unknown>>) =>
  Effect.gen(function*() {
    const keys = yield* Ref.make(initial)
    const fetches = yield* Ref.make(0)
    const provider = Effect.zipRight(Ref.update(fetches, (n) => n + 1), Effect.map(Ref.get(keys), (k) => ({ keys: k })))
    return { keys, fetches, provider }
  })

const setup = (options: Omit<EventGridWebhook.EntraOptions, "audience" | "tenantId" | "keys"> = {}) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(NOW)
    const endpoint = yield* keyEndpoint([jwk(current.publicKey, "current")])
    const app = yield* EventGridWebhook.make({
      entra: { audience: AUDIENCE, tenantId: TENANT, keys: endpoint.provider, ...options }
    })
    return { app, ...endpoint }
  })

const expectRefused = (answer: Answer, jwt?: string) => {
  expect(answer.status).toBe(401)
  expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer\b/)
  if (jwt !== undefined) {
    for (const part of jwt.split(".").filter((p) => p.length > 8)) expect(answer.text).not.toContain(part)
  }
}

describe("EventGridWebhook with Entra tokens: what passes", () => {
  it.scoped("a valid token lets a delivery through and it is published", () =>
    Effect.gen(function*() {
      const { app, fetches } = yield* setup()
      const events = yield* nextEvents(1)
      const answer = yield* call(app, { url: BASE, headers: bearer(token()), body: delivery })
      expect(answer.status).toBe(200)
      expect(answer.body).toEqual({ received: 1, published: 1 })
      expect((yield* Fiber.join(events)).map((e) => e._tag === "KeyVaultEvent" && e.data.ObjectName)).toEqual(["db"])
      // Known key now: the next request does not fetch the keys again.
      yield* call(app, { url: BASE, headers: bearer(token({ jti: "2" })), body: delivery })
      expect(yield* Ref.get(fetches)).toBe(1)
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("accepts v1 tokens (sts.windows.net issuer, appid) and aud as an array", () =>
    Effect.gen(function*() {
      const { app } = yield* setup({ clientIds: [EVENT_GRID_APP] })
      const v1 = token({ iss: V1_ISSUER, aud: ["other", AUDIENCE], azp: undefined, appid: EVENT_GRID_APP, ver: "1.0" })
      expect((yield* call(app, { url: BASE, headers: bearer(v1), body: delivery })).status).toBe(200)
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("requires the token on both handshakes too", () =>
    Effect.gen(function*() {
      const { app } = yield* setup()
      const options = { method: "OPTIONS", url: BASE, headers: { "WebHook-Request-Origin": "eventgrid.azure.net" } }
      expectRefused(yield* call(app, options))
      const ok = yield* call(app, { ...options, headers: { ...options.headers, ...bearer(token()) } })
      expect(ok.status).toBe(200)
      expect(ok.headers.get("WebHook-Allowed-Origin")).toBe("eventgrid.azure.net")
      const validation = [{
        id: "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
        topic: "/subscriptions/xxx/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/myvault",
        subject: "",
        data: { validationCode: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" },
        eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
        eventTime: "2018-01-25T22:12:19.4556811Z",
        metadataVersion: "1",
        dataVersion: "1"
      }]
      const refused = yield* call(app, { url: BASE, body: validation })
      expectRefused(refused)
      expect(refused.text).not.toContain("512d38b6")
      const answered = yield* call(app, { url: BASE, headers: bearer(token()), body: validation })
      expect(answered.body).toEqual({ validationResponse: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" })
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("accepts configured issuers, and requires a role or client id when asked", () =>
    Effect.gen(function*() {
      const sovereign = "https://login.microsoftonline.us/tenant-x/v2.0"
      const { app } = yield* setup({
        issuers: [sovereign],
        roles: ["AzureEventGridSecureWebhookSubscriber"],
        clientIds: [EVENT_GRID_APP]
      })
      expect((yield* call(app, { url: BASE, headers: bearer(token({ iss: sovereign })), body: delivery })).status)
        .toBe(200)
      const noRole = token({ roles: ["Something.Else"] })
      expectRefused(yield* call(app, { url: BASE, headers: bearer(noRole), body: delivery }), noRole)
      const noRoles = token({ roles: undefined })
      expectRefused(yield* call(app, { url: BASE, headers: bearer(noRoles), body: delivery }), noRoles)
      const otherApp = token({ azp: "00000000-0000-0000-0000-000000000001" })
      expectRefused(yield* call(app, { url: BASE, headers: bearer(otherApp), body: delivery }), otherApp)
      expect(yield* published).toBe(1)
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("with a shared secret too, a request needs both", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const endpoint = yield* keyEndpoint([jwk(current.publicKey, "current")])
      const app = yield* EventGridWebhook.make({
        secret: SECRET,
        entra: { audience: AUDIENCE, tenantId: TENANT, keys: endpoint.provider }
      })
      expectRefused(yield* call(app, { url: BASE, headers: bearer(token()), body: delivery }))
      expectRefused(yield* call(app, { url: `${BASE}?code=${SECRET}`, body: delivery }))
      expect(yield* published).toBe(0)
      const both = yield* call(app, { url: `${BASE}?code=${SECRET}`, headers: bearer(token()), body: delivery })
      expect(both.status).toBe(200)
      expect(yield* published).toBe(1)
    }).pipe(Effect.provide(RotationEvents.layer())))
})

describe("EventGridWebhook with Entra tokens: what is refused", () => {
  it.scoped("refuses every bad token with 401 and WWW-Authenticate: Bearer, publishes nothing, quotes nothing", () =>
    Effect.gen(function*() {
      const { app } = yield* setup()
      const header = { typ: "JWT", alg: "RS256", kid: "current" }
      const claims = claimsAt(NOW)
      const good = token()
      const [goodHeader, goodPayload] = good.split(".") as [string, string, string]
      const publicPem = current.publicKey.export({ format: "pem", type: "spki" }).toString()
      const hmac = (secret: string | Buffer) => {
        const input = `${b64({ typ: "JWT", alg: "HS256", kid: "current" })}.${b64(claims)}`
        return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`
      }
      const cases: ReadonlyArray<readonly [string, string | undefined]> = [
        ["missing header", undefined],
        ["empty header", ""],
        ["another scheme", `Basic ${b64("user:password")}`],
        ["wrong audience", `Bearer ${token({ aud: "api://someone-else" })}`],
        ["no audience", `Bearer ${token({ aud: undefined })}`],
        ["wrong issuer", `Bearer ${token({ iss: "https://login.microsoftonline.com/another-tenant/v2.0" })}`],
        ["issuer of a look-alike", `Bearer ${token({ iss: `${V2_ISSUER}/` })}`],
        ["no expiry", `Bearer ${token({ exp: undefined })}`],
        ["expiry not a number", `Bearer ${token({ exp: String(NOW / 1000 + 3600) })}`],
        ["not yet valid", `Bearer ${token({ nbf: NOW / 1000 + 10 * 60 })}`],
        ["bad signature: another key under a known kid", `Bearer ${token({}, "current", attacker.privateKey)}`],
        ["bad signature: payload changed", `Bearer ${goodHeader}.${b64({ ...claims, roles: ["Admin"] })}.${good.split(".")[2]}`],
        ["bad signature: garbage", `Bearer ${goodHeader}.${goodPayload}.${b64("x".repeat(256))}`],
        ["alg none", `Bearer ${b64({ alg: "none", kid: "current" })}.${b64(claims)}.`],
        ["alg none with a signature", `Bearer ${b64({ alg: "none", kid: "current" })}.${b64(claims)}.${good.split(".")[2]}`],
        ["HS256 keyed with the public key", `Bearer ${hmac(publicPem)}`],
        ["HS256 keyed with the modulus", `Bearer ${hmac(String(jwk(current.publicKey, "current").n))}`],
        ["RS512", `Bearer ${signed({ ...header, alg: "RS512" }, claims, current.privateKey)}`],
        ["alg in lower case", `Bearer ${signed({ ...header, alg: "rs256" }, claims, current.privateKey)}`],
        ["no kid", `Bearer ${signed({ alg: "RS256" }, claims, current.privateKey)}`],
        ["critical header", `Bearer ${signed({ ...header, crit: ["exp"], exp: 1 }, claims, current.privateKey)}`],
        ["two segments", `Bearer ${goodHeader}.${goodPayload}`],
        ["four segments", `Bearer ${good}.${goodPayload}`],
        ["not base64url", `Bearer ${goodHeader}.${goodPayload}.abc$def`],
        ["standard base64 padding in a segment", `Bearer ${goodHeader}=.${goodPayload}.${good.split(".")[2]}`],
        ["header not JSON", `Bearer ${b64("{not json")}.${goodPayload}.${good.split(".")[2]}`],
        ["payload an array", `Bearer ${signed(header, [] as unknown as Record<string, unknown>, current.privateKey)}`],
        ["a JWE (five segments)", `Bearer ${good}.${goodHeader}.${goodPayload}`],
        ["huge", `Bearer ${"a".repeat(20_000)}.${goodPayload}.${goodPayload}`]
      ]
      for (const [label, authorization] of cases) {
        const answer = yield* call(app, {
          url: BASE,
          headers: authorization === undefined ? {} : { authorization },
          body: delivery
        })
        expect([label, answer.status]).toEqual([label, 401])
        expectRefused(answer, authorization?.replace(/^\S+ /, ""))
      }
      expect(yield* published).toBe(0)
      // Nothing above spoiled the webhook for a good token.
      expect((yield* call(app, { url: BASE, headers: bearer(good), body: delivery })).status).toBe(200)
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("says invalid_token when a token came, and no error code when none did (RFC 6750)", () =>
    Effect.gen(function*() {
      const { app } = yield* setup()
      const none = yield* call(app, { url: BASE, body: delivery })
      expect(none.headers.get("www-authenticate")).toBe("Bearer")
      const bad = yield* call(app, { url: BASE, headers: bearer(token({ aud: "x" })), body: delivery })
      expect(bad.headers.get("www-authenticate")).toBe("Bearer error=\"invalid_token\"")
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("expiry and nbf follow the Effect Clock, with 5 minutes of skew by default", () =>
    Effect.gen(function*() {
      const { app } = yield* setup()
      const expiresIn10 = token({ exp: NOW / 1000 + 10 * 60 })
      const send = (jwt: string) => Effect.map(call(app, { url: BASE, headers: bearer(jwt), body: delivery }), (a) => a.status)
      expect(yield* send(expiresIn10)).toBe(200)
      yield* TestClock.adjust(14 * MINUTE)
      expect(yield* send(expiresIn10)).toBe(200) // 4 minutes past exp: inside the skew
      yield* TestClock.adjust(MINUTE)
      expect(yield* send(expiresIn10)).toBe(401) // exactly exp + skew
      const later = (yield* TestClock.currentTimeMillis) + 4 * MINUTE
      expect(yield* send(token({ nbf: later / 1000 }))).toBe(200) // nbf 4 minutes ahead: inside the skew
      expect(yield* send(token({ nbf: later / 1000 + 2 * 60 }))).toBe(401)
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("the skew is configurable", () =>
    Effect.gen(function*() {
      const { app } = yield* setup({ clockSkew: "0 seconds" })
      const jwt = token({ exp: NOW / 1000 + 60 })
      expect((yield* call(app, { url: BASE, headers: bearer(jwt), body: delivery })).status).toBe(200)
      yield* TestClock.adjust(MINUTE)
      expectRefused(yield* call(app, { url: BASE, headers: bearer(jwt), body: delivery }), jwt)
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("the token never appears in logs; the refusal reason does", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.map(Logger.logfmtLogger, (line) => {
        lines.push(line)
      })
      const { app } = yield* setup()
      const tokens = [
        token({ aud: "api://someone-else" }),
        token({}, "current", attacker.privateKey),
        token({}, "unknown-kid", attacker.privateKey),
        token({ exp: NOW / 1000 - 3600 })
      ]
      for (const jwt of tokens) {
        const answer = yield* call(app, { url: BASE, headers: bearer(jwt), body: delivery }).pipe(
          Effect.provide(Logger.add(capture))
        )
        expectRefused(answer, jwt)
      }
      const logged = lines.join("\n")
      expect(logged).toContain("the token is for another audience")
      expect(logged).toContain("the token signature does not verify")
      expect(logged).toContain("the token is signed with an unknown key")
      expect(logged).toContain("the token has expired")
      for (const jwt of tokens) for (const part of jwt.split(".")) expect(logged).not.toContain(part)
    }).pipe(Effect.provide(RotationEvents.layer())))
})

describe("EventGridWebhook with Entra tokens: signing keys", () => {
  it.scoped("an unknown kid refreshes the keys once, then is refused; refreshes come at most once a minute", () =>
    Effect.gen(function*() {
      const { app, fetches } = yield* setup()
      const send = (jwt: string) => call(app, { url: BASE, headers: bearer(jwt), body: delivery })
      expect((yield* send(token())).status).toBe(200)
      expect(yield* Ref.get(fetches)).toBe(1)
      const stranger = token({}, "stranger", attacker.privateKey)
      // The keys were fetched just now: an unknown kid is refused without fetching them again.
      expectRefused(yield* send(stranger), stranger)
      expect(yield* Ref.get(fetches)).toBe(1)
      yield* TestClock.adjust(MINUTE)
      expectRefused(yield* send(stranger), stranger)
      expect(yield* Ref.get(fetches)).toBe(2)
      // Unknown kids in the next minute do not fetch again, whatever they name.
      for (const kid of ["a", "b", "c"]) expectRefused(yield* send(token({}, kid, attacker.privateKey)))
      expect(yield* Ref.get(fetches)).toBe(2)
      yield* TestClock.adjust(MINUTE)
      expectRefused(yield* send(stranger), stranger)
      expect(yield* Ref.get(fetches)).toBe(3)
      expect(yield* published).toBe(1)
      // A known kid still needs no fetch.
      expect((yield* send(token({ jti: "known" }))).status).toBe(200)
      expect(yield* Ref.get(fetches)).toBe(3)
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("key rollover: a new kid in the JWKS is picked up after one refresh", () =>
    Effect.gen(function*() {
      const { app, fetches, keys } = yield* setup()
      const send = (jwt: Effect.Effect<string>) =>
        Effect.flatMap(jwt, (t) => Effect.map(call(app, { url: BASE, headers: bearer(t), body: delivery }), (a) => a.status))
      expect(yield* send(tokenNow())).toBe(200)
      // Entra publishes the next key ahead of using it.
      yield* Ref.update(keys, (k) => [...k, jwk(next.publicKey, "next")])
      yield* TestClock.adjust(10 * MINUTE)
      expect(yield* send(tokenNow({}, "next", next.privateKey))).toBe(200)
      expect(yield* Ref.get(fetches)).toBe(2)
      expect(yield* send(tokenNow({ jti: "again" }, "next", next.privateKey))).toBe(200)
      expect(yield* send(tokenNow({ jti: "old" }))).toBe(200)
      expect(yield* Ref.get(fetches)).toBe(2)
      // The old key is withdrawn; once the cached set has lived its hour, tokens signed by it are refused.
      yield* Ref.set(keys, [jwk(next.publicKey, "next")])
      yield* TestClock.adjust(60 * MINUTE)
      expect(yield* send(tokenNow({ jti: "late" }))).toBe(401)
      expect(yield* Ref.get(fetches)).toBe(3)
      expect(yield* send(tokenNow({ jti: "new" }, "next", next.privateKey))).toBe(200)
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("concurrent requests naming a new kid share one fetch", () =>
    Effect.gen(function*() {
      const { app, fetches, keys } = yield* setup()
      yield* Ref.update(keys, (k) => [...k, jwk(next.publicKey, "next")])
      const answers = yield* Effect.forEach(
        Array.from({ length: 8 }, (_, i) => token({ jti: String(i) }, "next", next.privateKey)),
        (jwt) => call(app, { url: BASE, headers: bearer(jwt), body: delivery }),
        { concurrency: "unbounded" }
      )
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200))
      expect(yield* Ref.get(fetches)).toBe(1)
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("skips JWKS entries that are not RS256 signature keys", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const weak = generateKeyPairSync("rsa", { modulusLength: 1024 })
      const { provider } = yield* keyEndpoint([
        { ...jwk(current.publicKey, "enc"), use: "enc" },
        { ...jwk(current.publicKey, "ps"), alg: "PS256" },
        { ...jwk(current.publicKey, "ops"), key_ops: ["encrypt"] },
        jwk(weak.publicKey, "weak"),
        { kty: "oct", kid: "oct", k: b64("shared") },
        { kid: "no-kty" },
        jwk(current.publicKey, "good")
      ])
      const app = yield* EventGridWebhook.make({ entra: { audience: AUDIENCE, tenantId: TENANT, keys: provider } })
      const send = (kid: string, key = current.privateKey) =>
        Effect.map(call(app, { url: BASE, headers: bearer(token({ jti: kid }, kid, key)), body: delivery }), (a) => a.status)
      expect(yield* send("good")).toBe(200)
      for (const kid of ["enc", "ps", "ops", "oct"]) expect([kid, yield* send(kid)]).toEqual([kid, 401])
      expect(yield* send("weak", weak.privateKey)).toBe(401)
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("by default fetches the tenant's keys through the HttpClient; 503 while they cannot be fetched", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const requested: Array<string> = []
      const up = yield* Ref.make(false)
      const client = HttpClient.make((request) =>
        Effect.gen(function*() {
          requested.push(request.url)
          const ok = yield* Ref.get(up)
          return HttpClientResponse.fromWeb(
            request,
            ok
              ? new Response(JSON.stringify({ keys: [jwk(current.publicKey, "current")] }), {
                headers: { "content-type": "application/json" }
              })
              : new Response("unavailable", { status: 503 })
          )
        })
      )
      const app = yield* EventGridWebhook.make({ entra: { audience: AUDIENCE, tenantId: TENANT } }).pipe(
        Effect.provideService(HttpClient.HttpClient, client)
      )
      const send = () => Effect.flatMap(tokenNow(), (jwt) => call(app, { url: BASE, headers: bearer(jwt), body: delivery }))
      const down = yield* send()
      expect(down.status).toBe(503)
      expect(down.headers.get("retry-after")).toBe("60")
      expect(yield* published).toBe(0)
      yield* Ref.set(up, true)
      // The failed fetch is not retried within the minute.
      expect((yield* send()).status).toBe(503)
      expect(requested).toHaveLength(1)
      yield* TestClock.adjust(MINUTE)
      expect((yield* send()).status).toBe(200)
      expect(requested).toEqual([
        `https://login.microsoftonline.com/${TENANT}/discovery/v2.0/keys`,
        `https://login.microsoftonline.com/${TENANT}/discovery/v2.0/keys`
      ])
      // Once fetched, a failing endpoint does not stop known keys from working (the cached set is used).
      yield* Ref.set(up, false)
      yield* TestClock.adjust(61 * MINUTE)
      expect((yield* send()).status).toBe(200)
      expect(requested).toHaveLength(3)
    }).pipe(Effect.provide(RotationEvents.layer())))

  it.scoped("refuses a configuration it cannot check", () =>
    Effect.gen(function*() {
      const keys = Effect.succeed({ keys: [] })
      const noIssuer = yield* Effect.exit(EventGridWebhook.make({ entra: { audience: AUDIENCE, keys } }))
      const badTenant = yield* Effect.exit(EventGridWebhook.make({ entra: { audience: AUDIENCE, tenantId: "a/../b", keys } }))
      const noAudience = yield* Effect.exit(EventGridWebhook.make({ entra: { audience: [], tenantId: TENANT, keys } }))
      for (const exit of [noIssuer, badTenant, noAudience]) expect(Exit.isFailure(exit)).toBe(true)
      const withIssuers = yield* Effect.exit(
        EventGridWebhook.make({ entra: { audience: AUDIENCE, issuers: [V2_ISSUER], keys } })
      )
      expect(Exit.isSuccess(withIssuers)).toBe(true)
    }).pipe(Effect.provide(RotationEvents.layer())))
})
