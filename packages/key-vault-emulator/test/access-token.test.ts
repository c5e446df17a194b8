/**
 * The opt-in access token, in process: the emulator, and our own client through the in-process HttpClient layer.
 * (The official SDK with a token: faults-sdk.test.ts in process, cli.test.ts over the CLI's HTTPS server.)
 */
import { KeyVault, TokenProvider } from "@effect-azure/key-vault"
import { Secrets } from "@effect-azure/key-vault/secrets/Secrets"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Util from "node:util"
import * as Emulator from "../src/Emulator.js"
import * as App from "../src/http/App.js"
import * as HttpClientLayer from "../src/testing/HttpClientLayer.js"
import { call } from "./support.js"

const TOKEN = "s3cret-emulator-token-4f1c"
const VAULT = "https://myvault.vault.azure.net"

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make((options) => {
    lines.push(Logger.logfmtLogger.log(options))
  })
  return {
    lines,
    layer: Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.minimumLogLevel(LogLevel.All))
  }
}

describe("the access token (in process)", () => {
  it.effect("any other token gets the service's 401, with the same envelope and challenge as a missing one", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make({ token: TOKEN, tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47" })
      const missing = yield* call(emulator, "GET", "/secrets", { auth: false })
      expect(missing.status).toBe(401)
      expect(missing.json.error.message).toBe("AKV10000: Request is missing a Bearer or PoP token.")

      for (const wrong of ["test-token", TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase(), `${TOKEN} ${TOKEN}`]) {
        const refused = yield* call(emulator, "GET", "/secrets", bearer(wrong))
        expect(refused.status).toBe(401)
        expect(refused.json).toEqual({ error: { code: "Unauthorized", message: "The bearer token is not valid for this vault." } })
        expect(refused.headers["content-type"]).toBe("application/json; charset=utf-8")
        expect(refused.headers["www-authenticate"]).toBe(missing.headers["www-authenticate"])
        expect(refused.headers["www-authenticate"]).toBe(
          `Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net"`
        )
      }
      // Before any other check: a wrong token with a bad api-version and no route is still a 401.
      expect((yield* call(emulator, "PUT", "/nothing/here", { ...bearer("x"), apiVersion: "bogus" })).status).toBe(401)

      const put = yield* call(emulator, "PUT", "/secrets/db", { ...bearer(TOKEN), body: { value: "v" } })
      expect(put.status).toBe(200)
      expect((yield* call(emulator, "GET", "/secrets/db", { headers: { authorization: `bearer   ${TOKEN}` } })).json.value)
        .toBe("v")
      expect((yield* call(emulator, "GET", "/secrets/db", bearer("wrong"))).status).toBe(401)
    }))

  it.effect("without a token option any bearer token still works", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      expect((yield* call(emulator, "PUT", "/secrets/db", { ...bearer("anything"), body: { value: "v" } })).status)
        .toBe(200)
      expect((yield* call(emulator, "GET", "/secrets/db", bearer("something-else"))).status).toBe(200)
    }))

  it.effect("a refused token is journaled, but never faulted, throttled or counted against a rule", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make({ token: Redacted.make(TOKEN), throttle: { limits: { secretOther: 1 } } })
      yield* emulator.faults.add({ operation: "getSecret", times: 1, fault: { _tag: "Status", status: 503 } })
      for (let i = 0; i < 3; i++) expect((yield* call(emulator, "GET", "/secrets/db", bearer("wrong"))).status).toBe(401)

      // The rule's one firing and the throttle's one request are still there for the real caller.
      expect((yield* call(emulator, "GET", "/secrets/db", bearer(TOKEN))).status).toBe(503)
      expect((yield* call(emulator, "GET", "/secrets/db", bearer(TOKEN))).status).toBe(404)
      expect((yield* call(emulator, "GET", "/secrets/db", bearer(TOKEN))).status).toBe(429)

      const entries = yield* emulator.journal.entries
      expect(entries.map((e) => [e.status, e.tokenPresent, e.reachedEngine, e.fault?.kind ?? null])).toEqual([
        [401, true, false, null],
        [401, true, false, null],
        [401, true, false, null],
        [503, true, false, "Status"],
        [404, true, true, null],
        [429, true, false, "Throttled"]
      ])
      expect(entries[0]).toMatchObject({ operation: "getSecret", name: "db", method: "GET", path: "/secrets/db" })
    }))

  it.effect("the token never shows in the journal, logs, responses or the emulator value", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const emulator = yield* Emulator.make({ token: TOKEN })
      yield* Effect.gen(function*() {
        const replies = [
          yield* call(emulator, "PUT", "/secrets/db", { ...bearer(TOKEN), body: { value: "v" } }),
          yield* call(emulator, "GET", "/secrets/db", bearer(`${TOKEN}-wrong`)),
          yield* call(emulator, "GET", "/secrets/db", { auth: false }),
          yield* call(emulator, "POST", "/secrets/db", bearer(TOKEN))
        ]
        for (const reply of replies) {
          expect(reply.text).not.toContain(TOKEN)
          expect(JSON.stringify(reply.headers)).not.toContain(TOKEN)
        }
        // The app's defect path logs too (a dying engine call).
        const dying = App.make({
          engine: { ...emulator.engine, secrets: { ...emulator.engine.secrets, get: () => Effect.die(new Error(TOKEN)) } },
          tenantId: Emulator.DEFAULT_TENANT_ID,
          token: Redacted.make(TOKEN)
        })
        const died = yield* dying({
          method: "GET",
          url: new URL(`${VAULT}/secrets/db?api-version=2025-07-01`),
          headers: { authorization: `Bearer ${TOKEN}` },
          body: new Uint8Array(0)
        })
        expect(died.status).toBe(500)
      }).pipe(Effect.provide(logs.layer))

      expect(logs.lines.length).toBeGreaterThan(0)
      expect(logs.lines.join("\n")).not.toContain(TOKEN)
      expect(JSON.stringify(yield* emulator.journal.entries)).not.toContain(TOKEN)
      expect(Util.inspect(emulator, { depth: 10, showHidden: true })).not.toContain(TOKEN)
    }))

  it.effect("an unusable token is a defect whose message does not quote it", () =>
    Effect.gen(function*() {
      for (const token of ["", "two words", "tab\there", "x".repeat(4097), "ünïcode"]) {
        const exit = yield* Effect.exit(Emulator.make({ token }))
        expect(Exit.isFailure(exit)).toBe(true)
        const pretty = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
        expect(pretty).toContain("access token must be 1 to 4,096 visible ASCII characters")
        if (token !== "") expect(pretty).not.toContain(token)
      }
    }))
})

describe("our client against an emulator with a token (HttpClient layer)", () => {
  const client = (token: string) =>
    KeyVault.layer({ vaultUrl: VAULT, cache: { enabled: false } }).pipe(
      Layer.provideMerge(Layer.merge(HttpClientLayer.layerFresh({ token: TOKEN }), TokenProvider.layerStatic(token)))
    )

  it.effect("works with the right token", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* secrets.set("db-password", "value")
      expect(Redacted.value((yield* secrets.get("db-password")).value)).toBe("value")
      const emulator = yield* Emulator.EmulatorService
      const statuses = (yield* emulator.journal.entries).map((e) => e.status)
      // The challenge first, then only answered requests.
      expect(statuses).toEqual([401, 200, 200])
    }).pipe(Effect.provide(client(TOKEN))))

  it.effect("fails with AuthenticationError with a wrong one, after one refresh, and nothing is written", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const error = yield* Effect.flip(secrets.set("db-password", "value"))
      expect(error._tag).toBe("AuthenticationError")
      expect(error.message).not.toContain("wrong-token")
      const emulator = yield* Emulator.EmulatorService
      expect(yield* emulator.engine.secrets.list).toEqual([])
      const entries = yield* emulator.journal.entries
      expect(entries.every((e) => e.status === 401 && !e.reachedEngine)).toBe(true)
      expect(entries.filter((e) => e.tokenPresent).length).toBeGreaterThanOrEqual(1)
    }).pipe(Effect.provide(client("wrong-token"))))
})
