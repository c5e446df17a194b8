/**
 * The request pipeline, uncached: our client (`KeyVault.layer`, cache off, rate limiter off) and the official
 * `SecretClient` side by side, reading one secret (`get`) from ONE emulator.
 *
 * - Over loopback HTTPS at concurrency 1 and 32: ours on `UndiciHttpClient` (the client the README recommends) and,
 *   for reference, on `@effect/platform-node`'s undici client (`NodeHttpClient.layerUndici`); the SDK on its default
 *   Node transport.
 * - In process (no socket): ours through the emulator's `HttpClientLayer`, the SDK through its `AzureSdkTransport`.
 * - The emulator's HTTPS server answering GET secret vs a bare `node:https` server sending the same bytes, both
 *   driven by the same loopback load generator (node:https keep-alive, concurrency 32).
 *
 * This process hosts the HTTPS emulator and the bare server and runs the clients in a child process, so the two do
 * not share one event loop; the child trusts the emulator's CA through `NODE_EXTRA_CA_CERTS`, as a user's app would.
 * Contenders of one group run in alternating rounds; every figure is the median of its rounds.
 *
 *   npm run bench -- pipeline [--rounds 5] [--round-ms 500]
 *
 * The last line printed is one JSON object with every figure.
 */
import { SecretClient } from "@azure/keyvault-secrets"
import * as TokenProvider from "@effect-azure/key-vault/auth/TokenProvider"
import * as UndiciHttpClient from "@effect-azure/key-vault/transport/UndiciHttpClient"
import * as KeyVault from "@effect-azure/key-vault/KeyVault"
import { Secrets } from "@effect-azure/key-vault/secrets/Secrets"
import * as Emulator from "@effect-azure/key-vault-emulator/Emulator"
import { makeAzureHttpClient } from "@effect-azure/key-vault-emulator/testing/AzureSdkTransport"
import * as EmulatorHttp from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import * as HttpsServer from "@effect-azure/key-vault-emulator/server/HttpsServer"
import * as Tls from "@effect-azure/key-vault-emulator/server/Tls"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Https from "node:https"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Args from "./Args.js"
import { UsageError } from "./Args.js"
import * as Stats from "./Stats.js"

interface Settings {
  readonly rounds: number
  readonly roundMillis: number
}

/** What `npm run bench -- pipeline --help` prints. */
export const usage = `usage: npm run bench -- pipeline [--rounds 5] [--round-ms 500] [--from dist|source]
  --rounds N        measured rounds per contender, alternating (medians are reported)
  --round-ms MS     length of each round
  --from WHAT       dist (default): our client and the emulator as built by \`npm run build\`, the JavaScript an
                    application runs, as the SDK runs its own; source: the TypeScript sources through tsx
Uncached secret get: our client vs the official SecretClient over loopback HTTPS (concurrency 1 and 32) and in
process, and the emulator's HTTPS server vs a bare node:https server; the last line is one JSON object.`

const parse = (argv: ReadonlyArray<string>): Settings => {
  const { values } = Args.parse(argv, { rounds: { type: "string" }, "round-ms": { type: "string" } })
  const positive = (flag: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback
    const n = Number(raw)
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${flag} must be a positive integer, got ${raw}`)
    return n
  }
  return { rounds: positive("rounds", values.rounds, 5), roundMillis: positive("round-ms", values["round-ms"], 500) }
}

const SECRET_NAME = "bench-pipeline"
const SECRET_VALUE = "v".repeat(64)
const IN_PROCESS_VAULT = "https://bench.vault.azure.net"

// --- the server side (this process) ---------------------------------------------------------------------------

interface Targets {
  readonly emulatorUrl: string
  readonly bareUrl: string
}

/** The bare server: no routing, no JSON, no Effect, the emulator's exact status, headers and body for the secret. */
const bareServer = (
  tls: { readonly cert: string; readonly key: string },
  answer: { readonly headers: Readonly<Record<string, string>>; readonly body: Uint8Array }
): Promise<Https.Server> =>
  new Promise((resolve) => {
    const headers = { ...answer.headers, "content-length": String(answer.body.byteLength) }
    const server = Https.createServer({ ...tls, keepAlive: true, noDelay: true }, (req, res) => {
      req.resume()
      res.writeHead(200, headers)
      res.end(answer.body)
    })
    server.keepAliveTimeout = 30_000
    server.listen(0, "127.0.0.1", () => resolve(server))
  })

const serveAndRunClients = (settings: Settings) =>
  Effect.gen(function*() {
    const stateDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-bench-pipeline-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(stateDir, { recursive: true, force: true })))
    const emulator = yield* Emulator.make()
    yield* emulator.engine.secrets.set(SECRET_NAME, { value: Redacted.make(SECRET_VALUE) })
    const tls = yield* Tls.ensureTlsMaterial({ stateDir })
    const credentials = { cert: tls.certPem, key: tls.keyPem }
    const server = yield* HttpsServer.serve({ handler: emulator.handler, tls: credentials })
    // The bytes the emulator sends for the secret, for the bare server to repeat.
    const sample = yield* emulator.handler({
      method: "GET",
      url: new URL(`${server.url}/secrets/${SECRET_NAME}/?api-version=2025-07-01`),
      headers: { authorization: "Bearer bench" },
      body: new Uint8Array(0)
    })
    const bare = yield* Effect.acquireRelease(
      Effect.promise(() => bareServer(credentials, sample)),
      (bare) => Effect.async<void>((resume) => {
        bare.close(() => resume(Effect.void))
        bare.closeAllConnections()
      })
    )
    const address = bare.address()
    const port = address !== null && typeof address === "object" ? address.port : 0
    const targets: Targets = { emulatorUrl: server.url, bareUrl: `https://localhost:${port}` }
    // The clients run in a child: the same script, with the CA trusted as a user would trust it.
    // It resolves the packages as this process does (the runner's `--from`).
    const child = ChildProcess.spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), CHILD_FLAG, JSON.stringify({ settings, targets })],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.caCertPath }, stdio: ["ignore", "inherit", "inherit"] }
    )
    const code = yield* Effect.async<number | null>((resume) => {
      child.once("exit", (exitCode) => resume(Effect.succeed(exitCode)))
    }).pipe(Effect.onInterrupt(() => Effect.sync(() => child.kill())))
    if (code !== 0) return yield* Effect.die(new Error(`the client process exited with ${code}`))
  })

// --- the client side (the child process) ------------------------------------------------------------------------

const credential = {
  getToken: async () => ({ token: "bench", expiresOnTimestamp: Date.now() + 3_600_000 })
}

const log = (line: string): void => console.log(line)

/** A Promise-returning `get` of our client on `http`, in a runtime of its own. */
const ours = async (vaultUrl: string, http: Layer.Layer<HttpClient.HttpClient>) => {
  const runtime = ManagedRuntime.make(
    KeyVault.layer({
      vaultUrl,
      disableChallengeResourceVerification: true,
      cache: { enabled: false },
      resilience: { rateLimiter: false }
    }).pipe(Layer.provide(Layer.merge(http, TokenProvider.layerStatic())))
  )
  const secrets = await runtime.runPromise(Secrets)
  const get = secrets.get(SECRET_NAME)
  // One Effect per round, so ours is not charged a `runPromise` per operation.
  const measure = (concurrency: number, millis: number): Promise<number> =>
    runtime.runPromise(Effect.gen(function*() {
      const start = performance.now()
      const deadline = start + millis
      let count = 0
      yield* Effect.forEach(
        Array.from({ length: concurrency }),
        () =>
          Effect.whileLoop({
            while: () => performance.now() < deadline,
            body: () => get,
            step: () => void count++
          }),
        { concurrency: "unbounded", discard: true }
      )
      return (count * 1000) / (performance.now() - start)
    }))
  const check = await runtime.runPromise(get)
  if (Redacted.value(check.value) !== SECRET_VALUE) throw new Error("our client read the wrong value")
  return { measure, dispose: () => runtime.dispose() }
}

const sdk = async (client: SecretClient) => {
  const check = await client.getSecret(SECRET_NAME)
  if (check.value !== SECRET_VALUE) throw new Error("the SDK read the wrong value")
  return (concurrency: number, millis: number): Promise<number> =>
    Stats.opsPerSecond(() => client.getSecret(SECRET_NAME), { millis, concurrency })
}

/**
 * The loopback load generator: GET secret with a bearer token over node:https keep-alive. One agent per target for
 * the whole run, so rounds measure requests, not TLS handshakes.
 */
const loadGenerator = (origin: string, concurrency: number) => {
  const agent = new Https.Agent({ keepAlive: true, maxSockets: concurrency })
  const url = new URL(`${origin}/secrets/${SECRET_NAME}/?api-version=2025-07-01`)
  const headers = { authorization: "Bearer bench", accept: "application/json" }
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const request = Https.get(url, { agent, headers }, (response) => {
        if (response.statusCode !== 200) reject(new Error(`status ${response.statusCode} from ${origin}`))
        response.on("data", () => {})
        response.on("end", resolve)
        response.on("error", reject)
      })
      request.on("error", reject)
    })
  return {
    measure: (millis: number): Promise<number> => Stats.opsPerSecond(one, { millis, concurrency }),
    close: (): void => agent.destroy()
  }
}

const runClients = async ({ settings, targets }: { settings: Settings; targets: Targets }): Promise<void> => {
  const millis = settings.roundMillis
  const options = { rounds: settings.rounds, log }
  log(
    `pipeline bench: node ${process.version}, ${settings.rounds} alternating rounds of ${millis} ms; ` +
      `HTTPS emulator at ${targets.emulatorUrl} (another process), secret of ${SECRET_VALUE.length} characters`
  )

  const undici = await ours(targets.emulatorUrl, UndiciHttpClient.layer())
  const platformUndici = await ours(targets.emulatorUrl, NodeHttpClient.layerUndici)
  const sdkHttps = await sdk(new SecretClient(targets.emulatorUrl, credential, { disableChallengeResourceVerification: true }))

  const inProcessEmulator = await Effect.runPromise(Emulator.make())
  await Effect.runPromise(inProcessEmulator.engine.secrets.set(SECRET_NAME, { value: Redacted.make(SECRET_VALUE) }))
  const oursInProcess = await ours(IN_PROCESS_VAULT, EmulatorHttp.layer(inProcessEmulator))
  const sdkInProcess = await sdk(
    new SecretClient(IN_PROCESS_VAULT, credential, { httpClient: makeAzureHttpClient(inProcessEmulator) })
  )

  const https = {} as Record<string, Stats.Measured>
  for (const concurrency of [1, 32]) {
    log(`HTTPS get, concurrency ${concurrency}:`)
    const group = await Stats.alternate({
      [`oursUndici${concurrency}`]: () => undici.measure(concurrency, millis),
      [`oursPlatformUndici${concurrency}`]: () => platformUndici.measure(concurrency, millis),
      [`sdk${concurrency}`]: () => sdkHttps(concurrency, millis)
    }, options)
    Object.assign(https, group)
  }
  const inProcess = {} as Record<string, Stats.Measured>
  for (const concurrency of [1, 32]) {
    log(`in-process get, concurrency ${concurrency}:`)
    const group = await Stats.alternate({
      [`ours${concurrency}`]: () => oursInProcess.measure(concurrency, millis),
      [`sdk${concurrency}`]: () => sdkInProcess(concurrency, millis)
    }, options)
    Object.assign(inProcess, group)
  }
  log(`servers, GET secret from the loopback load generator at concurrency 32:`)
  const toEmulator = loadGenerator(targets.emulatorUrl, 32)
  const toBare = loadGenerator(targets.bareUrl, 32)
  const servers = await Stats.alternate({
    emulator: () => toEmulator.measure(millis),
    bare: () => toBare.measure(millis)
  }, { ...options, unit: "req/s" })
  toEmulator.close()
  toBare.close()

  await Promise.all([undici.dispose(), platformUndici.dispose(), oursInProcess.dispose()])

  const figure = (measured: Stats.Measured | undefined): number => Stats.round(measured?.median ?? 0)
  const ratio = (a: number, b: number): number => Stats.round(a / Math.max(1, b), 2)
  const summary = {
    suite: "pipeline",
    node: process.version,
    rounds: settings.rounds,
    roundMillis: millis,
    from: process.execArgv.some((arg) => arg.startsWith("--conditions")) ? "source" : "dist",
    secretBytes: SECRET_VALUE.length,
    oursHttpsC1OpsPerSec: figure(https["oursUndici1"]),
    oursPlatformUndiciHttpsC1OpsPerSec: figure(https["oursPlatformUndici1"]),
    sdkHttpsC1OpsPerSec: figure(https["sdk1"]),
    oursHttpsC32OpsPerSec: figure(https["oursUndici32"]),
    oursPlatformUndiciHttpsC32OpsPerSec: figure(https["oursPlatformUndici32"]),
    sdkHttpsC32OpsPerSec: figure(https["sdk32"]),
    oursInProcessOpsPerSec: figure(inProcess["ours1"]),
    sdkInProcessOpsPerSec: figure(inProcess["sdk1"]),
    oursInProcessC32OpsPerSec: figure(inProcess["ours32"]),
    sdkInProcessC32OpsPerSec: figure(inProcess["sdk32"]),
    emulatorGetReqPerSec: figure(servers.emulator),
    bareHttpsReqPerSec: figure(servers.bare),
    emulatorToBare: ratio(servers.emulator.median, servers.bare.median)
  }
  const pairs: ReadonlyArray<readonly [string, number, number]> = [
    ["HTTPS c1 (UndiciHttpClient)", summary.oursHttpsC1OpsPerSec, summary.sdkHttpsC1OpsPerSec],
    ["HTTPS c1 (platform undici client)", summary.oursPlatformUndiciHttpsC1OpsPerSec, summary.sdkHttpsC1OpsPerSec],
    ["HTTPS c32 (UndiciHttpClient)", summary.oursHttpsC32OpsPerSec, summary.sdkHttpsC32OpsPerSec],
    ["HTTPS c32 (platform undici client)", summary.oursPlatformUndiciHttpsC32OpsPerSec, summary.sdkHttpsC32OpsPerSec],
    ["in-process c1", summary.oursInProcessOpsPerSec, summary.sdkInProcessOpsPerSec],
    ["in-process c32", summary.oursInProcessC32OpsPerSec, summary.sdkInProcessC32OpsPerSec]
  ]
  for (const [label, a, b] of pairs) {
    log(`ours/SDK ${label}: ${ratio(a, b)}x ${a >= b ? "(target met)" : "(below the SDK)"}`)
  }
  log(`emulator/bare server: ${summary.emulatorToBare}x ${summary.emulatorToBare >= 0.5 ? "(target >= 0.5 met)" : "(below the 0.5 target)"}`)
  log(JSON.stringify(summary))
}

const CHILD_FLAG = "--pipeline-clients"

/**
 * Entry point for `bench/run.ts`.
 *
 * @since 0.1.0
 */
export const main = (argv: ReadonlyArray<string>): Promise<void> =>
  Effect.runPromise(Effect.scoped(serveAndRunClients(parse(argv))))

if (process.argv[2] === CHILD_FLAG && process.argv[1] === fileURLToPath(import.meta.url)) {
  runClients(JSON.parse(process.argv[3]!) as { settings: Settings; targets: Targets }).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
}
