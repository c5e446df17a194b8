/**
 * Vaults with ports of their own: the command lists every vault with its URLs at start and serves a listener per
 * vault port (from `--vault name=port` and from a seed document's `settings.port`); `VaultListeners` opens a listener
 * for a vault created later with a port, closes it when the vault goes, and reports a port it cannot take.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Https from "node:https"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type * as Cli from "../src/cli/Cli.js"
import * as Emulator from "../src/Emulator.js"
import * as HttpsServer from "../src/server/HttpsServer.js"
import * as Tls from "../src/server/Tls.js"
import * as VaultListeners from "../src/server/VaultListeners.js"

const packageDir = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const repoRoot = Path.resolve(packageDir, "../..")
const bin = Path.join(packageDir, "bin", "key-vault-emulator.js")
const tempDir = (): string => Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-vaults-cli-"))

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = Net.createServer()
    probe.once("error", () => resolve(false))
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)))
  })

/** An authenticated HTTPS request trusting `ca`; the status and the parsed JSON body. */
const call = (url: string, ca: string, method = "GET", body?: unknown) =>
  new Promise<{ status: number; json: Record<string, unknown> | undefined }>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = Https.request(new URL(url), {
      method,
      agent: false,
      ca,
      headers: {
        authorization: "Bearer emulator",
        ...(payload === undefined ? {} : { "content-type": "application/json" })
      }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8")
        resolve({ status: res.statusCode ?? 0, json: text === "" ? undefined : JSON.parse(text) })
      })
    })
    req.on("error", reject)
    req.end(payload)
  })

beforeAll(async () => {
  // The bin runs compiled JS: bring dist up to date (incremental).
  ChildProcess.execFileSync("npx", ["tsc", "-b", "tsconfig.build.json"], { cwd: repoRoot, stdio: "inherit" })
}, 120_000)

describe("key-vault-emulator command with many vaults", () => {
  it("lists every vault with its URLs at start and serves each vault port", async () => {
    const stateDir = tempDir()
    const alphaPort = await freePort()
    const betaPort = await freePort()
    const seedFile = Path.join(stateDir, "vaults.json")
    Fs.writeFileSync(seedFile, JSON.stringify({
      vaults: [
        { name: "beta", settings: { port: betaPort }, secrets: [{ name: "greeting", value: "from-beta" }] },
        { name: "gamma" }
      ]
    }))
    const child = ChildProcess.spawn(
      process.execPath,
      [bin, "--port", "0", "--state-dir", stateDir, "--vault", `alpha=${alphaPort}`, "--seed-file", seedFile],
      { cwd: repoRoot, env: process.env, stdio: ["ignore", "pipe", "pipe"] }
    )
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve))
    try {
      // The JSON line comes once every listener is up; the guidance ends with "Stop with Ctrl+C.".
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (stdout.includes("\n") && stderr.includes("Stop with Ctrl+C.\n")) resolve()
        }
        child.stdout.on("data", check)
        child.stderr.on("data", check)
        void exited.then(() => reject(new Error(`exited before starting; stderr: ${stderr}`)))
      })
      const info = JSON.parse(stdout.slice(0, stdout.indexOf("\n"))) as Cli.StartupInfo
      const port = info.port
      const lines = stderr.split("\n")
      const first = lines.findIndex((line) => line.startsWith("Vaults ("))
      const end = lines.findIndex((line, i) => i > first && !line.startsWith("  "))
      expect(lines.slice(first, end).map((line) => line.trim().replace(/\s+/g, " "))).toEqual([
        "Vaults (4):",
        `default (default) https://localhost:${port}`,
        `alpha https://localhost:${alphaPort} (also https://alpha.vault.localhost:${port} where *.localhost resolves to loopback)`,
        `beta https://localhost:${betaPort} (also https://beta.vault.localhost:${port} where *.localhost resolves to loopback)`,
        `gamma https://gamma.vault.localhost:${port}`
      ])
      const ca = Fs.readFileSync(info.caCertPath!, "utf8")
      const seeded = await call(`https://localhost:${betaPort}/secrets/greeting/?api-version=2025-07-01`, ca)
      expect([seeded.status, seeded.json?.["value"]]).toEqual([200, "from-beta"])
      expect(seeded.json?.["id"]).toMatch(new RegExp(`^https://localhost:${betaPort}/secrets/greeting/`))
      await call(`https://localhost:${alphaPort}/secrets/greeting?api-version=2025-07-01`, ca, "PUT", { value: "from-alpha" })
      const alpha = await call(`https://localhost:${alphaPort}/secrets/greeting/?api-version=2025-07-01`, ca)
      const main = await call(`https://localhost:${port}/secrets/greeting/?api-version=2025-07-01`, ca)
      expect([alpha.json?.["value"], main.status]).toEqual(["from-alpha", 404])
    } finally {
      child.kill("SIGTERM")
    }
    expect(await exited).toBe(0)
    expect(await canBind(alphaPort)).toBe(true)
    expect(await canBind(betaPort)).toBe(true)
  })
})

describe("VaultListeners", () => {
  const stateDir = tempDir()

  it.live("opens a listener for a vault created later with a port, and closes it when the vault is removed", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const tls = yield* Tls.ensureTlsMaterial({ stateDir })
      const credentials = { cert: tls.certPem, key: tls.keyPem }
      yield* HttpsServer.serve({ handler: emulator.handler, tls: credentials })
      const listeners = yield* VaultListeners.make({ vaults: emulator.vaults, handler: emulator.handler, tls: credentials })
      expect(yield* listeners.listeners).toEqual([])
      const events = yield* listeners.events
      const port = yield* Effect.promise(freePort)

      const opened = yield* Effect.fork(Stream.runCollect(Stream.take(events, 1)))
      yield* emulator.vaults.create("late", { port })
      expect(Chunk.toReadonlyArray(yield* Fiber.join(opened))).toEqual([
        { _tag: "Opened", listener: { vault: "late", port, url: `https://localhost:${port}` } }
      ])
      const url = emulator.vaults.urlFor("late", "https://localhost:1")
      expect(url).toBe(`https://localhost:${port}`)
      const written = yield* Effect.promise(() =>
        call(`${url}/secrets/s?api-version=2025-07-01`, tls.caCertPem, "PUT", { value: "late-value" })
      )
      expect(written.status).toBe(200)
      const late = yield* emulator.vaults.get("late")
      expect((yield* late.engine.secrets.list).map((entry) => entry.name)).toEqual(["s"])
      // No second vault can take the port.
      const clash = yield* Effect.flip(emulator.vaults.create("again", { port }))
      expect(clash._tag === "InvalidVaultSettings" && clash.field).toBe("port")

      const closed = yield* Effect.fork(Stream.runCollect(Stream.take(events, 1)))
      yield* emulator.vaults.remove("late")
      expect(Chunk.toReadonlyArray(yield* Fiber.join(closed))).toEqual([{ _tag: "Closed", vault: "late", port }])
      expect(yield* listeners.listeners).toEqual([])
      expect(yield* Effect.promise(() => canBind(port))).toBe(true)
    }).pipe(Effect.scoped))

  it.live("reports a port it cannot take; the vault stays, reachable by its host name", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const tls = yield* Tls.ensureTlsMaterial({ stateDir })
      const listeners = yield* VaultListeners.make({
        vaults: emulator.vaults,
        handler: emulator.handler,
        tls: { cert: tls.certPem, key: tls.keyPem }
      })
      const events = yield* listeners.events
      const occupied = yield* Effect.acquireRelease(
        Effect.promise(() =>
          new Promise<Net.Server>((resolve) => {
            const server = Net.createServer()
            server.listen(0, "127.0.0.1", () => resolve(server))
          })
        ),
        (server) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
      )
      const port = (occupied.address() as Net.AddressInfo).port
      const failed = yield* Effect.fork(Stream.runCollect(Stream.take(events, 1)))
      yield* emulator.vaults.create("busy", { port })
      const [event] = Chunk.toReadonlyArray(yield* Fiber.join(failed))
      expect(event?._tag === "Failed" && [event.vault, event.port, event.error.message]).toEqual([
        "busy",
        port,
        expect.stringContaining("EADDRINUSE")
      ])
      expect((yield* emulator.vaults.get("busy")).name).toBe("busy")
      expect(yield* listeners.listeners).toEqual([])
    }).pipe(Effect.scoped))

  it.live("a vault's port is kept with its settings across restarts", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const first = yield* Emulator.make({ stateDir: dir })
      yield* first.vaults.create("kept", { port: 40_123 })
      yield* first.shutdown
      const second = yield* Emulator.make({ stateDir: dir })
      expect([...(yield* second.vaults.ports)]).toEqual([["kept", 40_123]])
      yield* second.shutdown
    }))
})
