/**
 * The dashboard in a real browser: headless Chromium (Debian's `chromium`, or `CHROMIUM_PATH`) driven by
 * playwright-core, against the emulator's HTTPS server, with the official SDK making the requests the page shows.
 * Runs when Chromium is found; otherwise reported as skipped with the reason, and a failure when `CI=true`.
 * The server is the emulator's handler behind a switch that can end every open journal stream, as a server (or a
 * proxy in front of it) that closes the connection mid-session.
 */
import type { TokenCredential } from "@azure/core-auth"
import { RestError } from "@azure/core-rest-pipeline"
import { SecretClient } from "@azure/keyvault-secrets"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Browser, Page } from "playwright-core"
import { chromium } from "playwright-core"
import * as Emulator from "../src/Emulator.js"
import type { EmulatorHandler } from "../src/http/Protocol.js"
import * as HttpsServer from "../src/server/HttpsServer.js"
import * as Tls from "../src/server/Tls.js"

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium"
const found = Fs.existsSync(CHROMIUM)
const required = process.env["CI"] === "true"
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

// Streamed responses end when `cutStreams` is called (each stream waits on the switch current when it started).
let streamCut = Effect.runSync(Deferred.make<void>())
const cutStreams = (): void => {
  const cut = streamCut
  streamCut = Effect.runSync(Deferred.make<void>())
  Effect.runSync(Deferred.succeed(cut, undefined))
}
const cuttable = (handler: EmulatorHandler): EmulatorHandler => (request) =>
  Effect.map(handler(request), (response) => {
    if (response.stream === undefined) return response
    const cut = streamCut
    return { ...response, stream: Stream.interruptWhen(response.stream, Deferred.await(cut)) }
  })

const TOKEN = "dashboard-test-token"
const VALUE = "s3cr3t-dashboard-value"

if (!found && required) {
  describe("dashboard in headless Chromium", () => {
    it(`needs Chromium when CI=true (none at ${CHROMIUM}; .ci/run installs Debian's chromium)`, () => {
      expect.fail(`no Chromium at ${CHROMIUM}`)
    })
  })
}

const title = found
  ? "dashboard in headless Chromium"
  : `dashboard in headless Chromium (skipped: no Chromium at ${CHROMIUM}; install Debian's chromium or set CHROMIUM_PATH)`

describe.skipIf(!found)(title, () => {
  const scope = Effect.runSync(Scope.make())
  let browser: Browser
  let page: Page
  let origin: string
  let client: SecretClient
  let emulator: Emulator.Emulator
  const requested: Array<string> = []

  beforeAll(async () => {
    const stateDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-dashboard-"))
    const started = await Effect.runPromise(Effect.gen(function*() {
      const made = yield* Emulator.make({ token: TOKEN })
      const tls = yield* Tls.ensureTlsMaterial({ stateDir })
      const server = yield* Scope.extend(
        HttpsServer.serve({ handler: cuttable(made.handler), tls: { cert: tls.certPem, key: tls.keyPem } }),
        scope
      )
      return { url: server.url, ca: tls.caCertPem, emulator: made }
    }))
    emulator = started.emulator
    origin = started.url
    const credential: TokenCredential = {
      getToken: async () => ({ token: TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 })
    }
    // No retries: a fault's status reaches the test at once instead of after the SDK's back-off.
    client = new SecretClient(origin, credential, {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: started.ca },
      retryOptions: { maxRetries: 0 }
    })
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS })
    // The emulator's CA is not in Chromium's store: accept its certificate for this context only.
    const context = await browser.newContext({ ignoreHTTPSErrors: true })
    page = await context.newPage()
    page.on("request", (request) => {
      requested.push(request.url())
    })
  })

  afterAll(async () => {
    await browser?.close()
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })

  it("loads, shows an SDK-made secret without its value, reveals it on request, streams the journal, toggles a fault", async () => {
    await client.setSecret("db-password", VALUE, { contentType: "text/plain" })

    // The token comes once in the fragment (never sent to the server) and leaves the address bar at once.
    await page.goto(`${origin}/admin/dashboard#token=${TOKEN}`)
    expect(new URL(page.url()).hash).toBe("")

    const secretRow = page.locator("#secrets-table tbody tr[data-secret='db-password']")
    await secretRow.waitFor()
    await expect(secretRow.locator("td").nth(0).textContent()).resolves.toBe("db-password")
    await expect(secretRow.locator("td").nth(1).textContent()).resolves.toBe("1")
    await expect(secretRow.locator("td").nth(7).textContent()).resolves.toBe("text/plain")
    // Nothing secret is rendered (nor held in the page) before the reveal.
    expect(await page.content()).not.toContain(VALUE)

    await secretRow.getByRole("button", { name: "Reveal" }).click()
    await expect(secretRow.locator(".secret-value").textContent()).resolves.toBe(VALUE)
    await secretRow.getByRole("button", { name: "Hide" }).click()
    await secretRow.getByRole("button", { name: "Reveal" }).waitFor()
    expect(await page.locator("body").innerText()).not.toContain(VALUE)

    // A request made now appears in the live journal with its operation, status and request id.
    await page.locator("#journal-status", { hasText: "live" }).waitFor()
    let requestId: string | undefined
    await client.getSecret("db-password", {
      onResponse: (response) => {
        requestId = response.request.headers.get("x-ms-client-request-id")
      }
    })
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/)
    const entry = page.locator("#journal-table tbody tr", { hasText: requestId! })
    await entry.waitFor({ timeout: 10_000 })
    const cells = await entry.locator("td").allTextContents()
    expect(cells.slice(2, 7)).toEqual(["default", "GET", "getSecret", "db-password", "200"])
    expect(Number(cells[7])).toBeGreaterThanOrEqual(0)
    expect(cells[8]).toBe("")

    // Switch a fault on: the next SDK call meets it, and the journal shows it applied.
    await page.locator("#preset-503").check()
    await page.locator("#faults-table tbody tr[data-fault]").waitFor()
    const failed = await client.getSecret("db-password").then(() => undefined, (error: unknown) => error)
    expect(failed).toBeInstanceOf(RestError)
    expect((failed as RestError).statusCode).toBe(503)
    const faulted = page.locator("#journal-table tbody tr.fault", { hasText: "getSecret" })
    await faulted.waitFor({ timeout: 10_000 })
    expect((await faulted.locator("td").allTextContents())[8]).toBe("Status (fault-1)")

    // And off again: the next call is served.
    await page.locator("#preset-503").uncheck()
    await page.locator("#faults-table tbody tr[data-fault]").waitFor({ state: "detached" })
    expect((await client.getSecret("db-password")).value).toBe(VALUE)

    // Every entry above came over one open event stream: the page never had to ask again.
    expect(requested.filter((url) => new URL(url).pathname === "/admin/journal/stream")).toHaveLength(1)

    // The page loaded nothing from anywhere but the emulator.
    expect(requested.length).toBeGreaterThan(0)
    expect(requested.filter((url) => !url.startsWith(origin))).toEqual([])
  }, 60_000)

  it("asks for the token when it has none that the emulator accepts, and shows nothing before", async () => {
    const fresh = await browser.newContext({ ignoreHTTPSErrors: true })
    const other = await fresh.newPage()
    await other.goto(`${origin}/admin/dashboard`)
    await other.locator("#token-panel").waitFor()
    expect(await other.locator("#main").isHidden()).toBe(true)
    expect(await other.content()).not.toContain("db-password")
    await other.locator("#token-input").fill(TOKEN)
    await other.locator("#token-save").click()
    await other.locator("#secrets-table tbody tr[data-secret='db-password']").waitFor()
    await fresh.close()
  }, 30_000)

  it("reconnects with its last cursor when the server ends the journal stream: no entry missed, none twice", async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true })
    const live = await context.newPage()
    const streams: Array<{ readonly url: URL; readonly lastEventId: string | undefined }> = []
    live.on("request", (request) => {
      const url = new URL(request.url())
      if (url.pathname === "/admin/journal/stream") streams.push({ url, lastEventId: request.headers()["last-event-id"] })
    })
    const requestIdOf = async (): Promise<string> => {
      let id: string | undefined
      await client.getSecret("db-password", {
        onResponse: (response) => {
          id = response.request.headers.get("x-ms-client-request-id")
        }
      })
      return id!
    }
    const rows = live.locator("#journal-table tbody tr")
    const shownOnce = async (id: string): Promise<void> => {
      await rows.filter({ hasText: id }).first().waitFor({ timeout: 10_000 })
      expect(await rows.filter({ hasText: id }).count()).toBe(1)
    }

    await live.goto(`${origin}/admin/dashboard#token=${TOKEN}`)
    await live.locator("#journal-status", { hasText: "live" }).waitFor()
    const before = await requestIdOf()
    await shownOnce(before)

    // The server ends the stream; a request made while the page is away is read when it comes back.
    cutStreams()
    await live.locator("#journal-status", { hasText: "reconnecting" }).waitFor({ timeout: 10_000 })
    const during = await requestIdOf()
    const reconnected = live.waitForResponse((response) => new URL(response.url()).pathname === "/admin/journal/stream")
    expect((await reconnected).status()).toBe(200)
    await live.locator("#journal-status", { hasText: "live" }).waitFor()
    const after = await requestIdOf()
    await Promise.all([shownOnce(before), shownOnce(during), shownOnce(after)])

    // The second stream resumed from the first one's last event id instead of asking for the backlog again.
    expect(streams).toHaveLength(2)
    expect(streams[0]!.url.searchParams.get("backlog")).toBe("100")
    expect(streams[0]!.lastEventId).toBeUndefined()
    expect(streams[1]!.url.searchParams.has("backlog")).toBe(false)
    expect(streams[1]!.lastEventId).toMatch(/\S/)

    // Every entry of the journal is on the page exactly once (sequence numbers, first column).
    const journaled = await Effect.runPromise(emulator.journal.entries)
    const sequences = await live.locator("#journal-table tbody tr td:first-child").allTextContents()
    expect(new Set(sequences).size).toBe(sequences.length)
    expect(sequences.length).toBe(journaled.length)
    await context.close()
  }, 60_000)
})
