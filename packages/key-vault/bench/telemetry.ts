/**
 * What telemetry costs: an uncached secret `get` (over loopback HTTPS against the emulator in another process, the
 * cheapest real vault call there is; and against the in-process emulator, no socket) and a cache hit, each with telemetry off
 * (Effect's native tracer, no SDK), with the OpenTelemetry SDK wired through `telemetry/OpenTelemetry` to exporters
 * that drop everything (batching span and log processors, a periodic metric reader: what production pays before the
 * network), and with in-memory export (simple processors into the SDK's in-memory exporters, cleared after every
 * round). For the cache-hit decision, one more hit contender wraps each hit in a client span of its own (SDK wired,
 * no-op export): what a span per hit would cost, against the metrics-only hit the client does.
 *
 * As in bench/pipeline.ts, this process serves the HTTPS emulator and the measurements run in a child process that
 * trusts the emulator's CA through `NODE_EXTRA_CA_CERTS` (our client on undici, as in the pipeline bench); the
 * in-process figures are measured in that child too, while the server process idles.
 *
 * The contenders of each measurement run in alternating rounds; every figure is the median of its rounds, and an
 * overhead is the median of the per-round overheads (each round of a contender against the round of telemetry off
 * next to it in time: this machine's speed drifts within a run). Logging stays at Effect's default level (Info), as an
 * application's would.
 *
 * The uncached `get` has two more contenders that split the overhead: `own`, the client's instrumentation alone (a
 * tracer whose spans record nothing and cost nothing to make, running each step with Effect's own hook as the
 * OpenTelemetry Layer's tracer does), and `unsampled`, the SDK wired with a sampler that records no trace (spans made,
 * ids drawn, nothing recorded). What `noop` costs beyond `unsampled` is the SDK recording the span. One more figure:
 * `spanNs`, one span of the OpenTelemetry SDK by itself (made through the same wiring, with an operation's
 * attributes and one attempt event, then ended), in a loop of nothing else.
 *
 *   npm run bench -- telemetry [--rounds 41] [--round-ms 100] [--hit-rounds 9] [--hits 100000]
 *
 * The last line printed is one JSON object with every figure: `uncachedOffOpsPerSec` / `uncachedOnOpsPerSec` and
 * `uncachedOverheadPercent` are the uncached `get` over loopback HTTPS (the budget: at most 10 %, `withinBudget`),
 * with `uncachedOwnOverheadPercent` and `uncachedUnsampledOverheadPercent`; `inProcess*` the same without a socket.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/Emulator"
import * as HttpsServer from "@effect-azure/key-vault-emulator/server/HttpsServer"
import * as Tls from "@effect-azure/key-vault-emulator/server/Tls"
import * as EmulatorHttp from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import type * as HttpClient from "@effect/platform/HttpClient"
import {
  InMemoryLogRecordExporter,
  type LogRecordExporter,
  SimpleLogRecordProcessor
} from "@opentelemetry/sdk-logs"
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  PeriodicExportingMetricReader,
  type PushMetricExporter
} from "@opentelemetry/sdk-metrics"
import {
  AlwaysOffSampler,
  InMemorySpanExporter,
  type Sampler,
  SimpleSpanProcessor,
  type SpanExporter
} from "@opentelemetry/sdk-trace-base"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Tracer from "effect/Tracer"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as TokenProvider from "@effect-azure/key-vault/auth/TokenProvider"
import type * as CacheConfig from "@effect-azure/key-vault/cache/CacheConfig"
import * as KeyVault from "@effect-azure/key-vault/KeyVault"
import { Secrets } from "@effect-azure/key-vault/secrets/Secrets"
import * as OpenTelemetry from "@effect-azure/key-vault/telemetry/OpenTelemetry"
import * as UndiciHttpClient from "@effect-azure/key-vault/transport/UndiciHttpClient"
import * as Args from "./Args.js"
import { UsageError } from "./Args.js"
import * as Stats from "./Stats.js"

interface Settings {
  readonly rounds: number
  readonly hitRounds: number
  readonly roundMillis: number
  readonly hits: number
}

/** What `npm run bench -- telemetry --help` prints. */
export const usage = `usage: npm run bench -- telemetry [--rounds 41] [--round-ms 100] [--hit-rounds 9] [--hits 100000] [--from dist|source]
  --rounds N        measured uncached rounds per contender, alternating (medians are reported); many short rounds
                    pair up better on a machine whose speed drifts
  --hit-rounds N    measured cache-hit and span rounds per contender
  --from WHAT       dist (default): the built packages (npm run build); source: the TypeScript sources (tsx)
  --round-ms MS     length of each uncached round
  --hits N          cache hits timed per round (batches of ${1_000})
Uncached secret get (over loopback HTTPS against the emulator in another process, and in process) and cache hit
against the in-process emulator, with telemetry off, with the OpenTelemetry SDK wired to no-op exporters, and with
in-memory export; the last line is one JSON object.`

const BATCH = 1_000

// Which build of the packages this process runs (the bench runner's `--from`): the sources under the
// `@effect-azure/source` condition, else `dist/`.
const FROM = process.execArgv.some((arg) => arg.startsWith("--conditions")) ? "source" : "dist"

const parse = (argv: ReadonlyArray<string>): Settings => {
  const { values } = Args.parse(argv, {
    rounds: { type: "string" },
    "hit-rounds": { type: "string" },
    "round-ms": { type: "string" },
    hits: { type: "string" }
  })
  const positive = (flag: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback
    const n = Number(raw)
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${flag} must be a positive integer, got ${raw}`)
    return n
  }
  return {
    rounds: positive("rounds", values.rounds, 41),
    hitRounds: positive("hit-rounds", values["hit-rounds"], 9),
    roundMillis: positive("round-ms", values["round-ms"], 100),
    hits: Math.max(BATCH, Math.floor(positive("hits", values.hits, 100_000) / BATCH) * BATCH)
  }
}

const VAULT = "https://telemetry.vault.azure.net"
const SECRET_NAME = "bench-telemetry"
const SECRET_VALUE = "v".repeat(64)

const log = (line: string): void => console.log(line)

// --- exporters that drop everything --------------------------------------------------------------------------------

const SUCCESS = { code: 0 } as const

const noopSpanExporter: SpanExporter = {
  export: (_spans, done) => done(SUCCESS),
  shutdown: () => Promise.resolve()
}

const noopMetricExporter: PushMetricExporter = {
  export: (_metrics, done) => done(SUCCESS),
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve()
}

const noopLogExporter: LogRecordExporter = {
  export: (_records, done) => done(SUCCESS),
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve()
}

type Mode = "off" | "own" | "unsampled" | "noop" | "memory"

interface Telemetry {
  readonly layer: Layer.Layer<never>
  /** Drops what the in-memory exporters hold, so a run does not grow its heap round after round. */
  readonly clear: () => void
  /** Spans exported so far (in-memory export only), to check the SDK is really wired. */
  readonly exported: () => number | undefined
}

// The SDK wired to exporters that drop everything, with the SDK's default sampler or `sampler`.
const noopExport = (sampler: Sampler | undefined) =>
  OpenTelemetry.layerExporters({
    serviceName: "bench-telemetry",
    spanExporter: noopSpanExporter,
    metricExporter: noopMetricExporter,
    metricExportIntervalMillis: 1_000,
    logExporter: noopLogExporter,
    sampler
  })

const telemetry = (mode: Mode): Telemetry => {
  switch (mode) {
    case "off":
      return { layer: Layer.empty, clear: () => {}, exported: () => undefined }
    case "own":
      // The client's own instrumentation alone: a tracer (running each step with Effect's own hook, as the
      // OpenTelemetry Layer's does) whose spans record nothing, are not sampled and cost nothing to make.
      return { layer: Layer.setTracer(inertTracer), clear: () => {}, exported: () => undefined }
    case "unsampled":
      return { layer: noopExport(new AlwaysOffSampler()), clear: () => {}, exported: () => undefined }
    case "noop":
      return { layer: noopExport(undefined), clear: () => {}, exported: () => undefined }
    case "memory": {
      const spans = new InMemorySpanExporter()
      const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
      const logs = new InMemoryLogRecordExporter()
      return {
        layer: OpenTelemetry.layer({
          serviceName: "bench-telemetry",
          spanProcessor: new SimpleSpanProcessor(spans),
          metricReader: new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 1_000 }),
          logRecordProcessor: new SimpleLogRecordProcessor({ exporter: logs })
        }),
        clear: () => {
          spans.reset()
          metrics.reset()
          logs.reset()
        },
        exported: () => spans.getFinishedSpans().length
      }
    }
  }
}

const nativeContext = Effect.runSync(Effect.tracer).context

const inertTracer = Tracer.make({
  span: (name, parent, context, links, startTime, kind) => ({
    _tag: "Span",
    name,
    spanId: "b7ad6b7169203331",
    traceId: "0af7651916cd43dd8448eb211c80319c",
    parent,
    context,
    status: { _tag: "Started", startTime },
    attributes: new Map(),
    links: [...links],
    sampled: false,
    kind,
    end: () => {},
    attribute: () => {},
    event: () => {},
    addLinks: () => {}
  }),
  context: nativeContext
})

/** Where a client sends its requests: the in-process emulator (no socket) or the HTTPS emulator of the parent. */
interface Target {
  readonly vaultUrl: string
  readonly http: Layer.Layer<HttpClient.HttpClient>
  /** `https://localhost:<port>` cannot pass the challenge's resource check (see the README's Authentication). */
  readonly loopback: boolean
}

/** A `get` of our client (rate limiter off: it would measure its own budget) in a runtime of its own. */
const client = async (target: Target, mode: Mode, cache: CacheConfig.CacheOptions) => {
  const wired = telemetry(mode)
  const runtime = ManagedRuntime.make(
    KeyVault.layer({
      vaultUrl: target.vaultUrl,
      cache,
      resilience: { rateLimiter: false },
      ...(target.loopback ? { disableChallengeResourceVerification: true } : {})
    }).pipe(
      Layer.provide(Layer.merge(target.http, TokenProvider.layerStatic())),
      Layer.merge(wired.layer)
    )
  )
  const secrets = await runtime.runPromise(Secrets)
  const get = secrets.get(SECRET_NAME)
  const check = await runtime.runPromise(get)
  if (Redacted.value(check.value) !== SECRET_VALUE) throw new Error(`telemetry ${mode}: read the wrong value`)
  if (wired.exported() === 0) throw new Error(`telemetry ${mode}: the read exported no span`)
  return { runtime, get, clear: wired.clear }
}

type Client = Awaited<ReturnType<typeof client>>

/** Uncached: completed `get`s per second over one round, one Effect per round (no `runPromise` per operation). */
const uncachedRound = (c: Client, millis: number) => (): Promise<number> =>
  c.runtime.runPromise(Effect.gen(function*() {
    const start = performance.now()
    const deadline = start + millis
    let count = 0
    while (performance.now() < deadline) {
      yield* c.get
      count++
    }
    return (count * 1000) / (performance.now() - start)
  })).finally(c.clear)

/**
 * Cache hit: the median nanoseconds per hit over batches of `BATCH` in one round. `span`: each hit wrapped in a client
 * span of its own, the least a span-per-hit design would cost (the alternative the client does not take: a hit is
 * only counted by the cache metrics).
 */
const hitRound = (c: Client, hits: number, span = false) => (): Promise<number> => {
  const one = span ? Effect.withSpan(c.get, "Secrets.get", {
      kind: "client",
      captureStackTrace: false,
      attributes: { "keyvault.cache": "hit" }
    }) : c.get
  return c.runtime.runPromise(Effect.gen(function*() {
    const samples: Array<number> = []
    for (let b = 0; b < hits; b += BATCH) {
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < BATCH; i++) yield* one
      samples.push(Number(process.hrtime.bigint() - t0) / BATCH)
    }
    return Stats.median(samples)
  })).finally(c.clear)
}

// The median of the per-round overheads: round i of `on` against round i of `off`, run next to each other.
const overheadPercent = (off: Stats.Measured, on: Stats.Measured): number =>
  Stats.round(Stats.median(off.rounds.map((o, i) => (100 * (o - on.rounds[i]!)) / o)), 1)

/**
 * One span as an operation makes it, by itself: through the runtime's tracer (the SDK wired to no-op exporters), an
 * operation's attributes, one attempt event, ended. Nanoseconds per span, median of batches.
 */
const spanRound = (c: Client, spans: number) => (): Promise<number> =>
  c.runtime.runPromise(Effect.gen(function*() {
    const tracer = yield* Effect.tracer
    const exit = Exit.void
    const samples: Array<number> = []
    for (let b = 0; b < spans; b += BATCH) {
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < BATCH; i++) {
        const now = process.hrtime.bigint()
        const span = tracer.span("Secrets.get", Option.none(), Context.empty(), [], now, "client", {})
        for (const [key, value] of SPAN_ATTRIBUTES) span.attribute(key, value)
        span.event("keyvault.attempt", now, { "keyvault.attempt": 1, "az.client_request_id": REQUEST_ID, "http.response.status_code": 200, "az.service_request_id": REQUEST_ID })
        span.attribute("az.client_request_id", REQUEST_ID)
        span.attribute("az.service_request_id", REQUEST_ID)
        span.attribute("http.response.status_code", 200)
        span.end(now, exit)
      }
      samples.push(Number(process.hrtime.bigint() - t0) / BATCH)
    }
    return Stats.median(samples)
  }))

const REQUEST_ID = "0b5c6f0e-3a47-4d0c-9a55-2f1d4c7e8b91"
const SPAN_ATTRIBUTES: ReadonlyArray<readonly [string, unknown]> = [
  ["az.namespace", "Microsoft.KeyVault"],
  ["server.address", "telemetry.vault.azure.net"],
  ["server.port", 443],
  ["keyvault.vault_host", "telemetry.vault.azure.net"],
  ["keyvault.object_type", "secret"],
  ["keyvault.operation", "get"],
  ["keyvault.cache", "miss"],
  ["keyvault.name", SECRET_NAME],
  ["http.request.method", "GET"]
]

// --- the server side (this process) -----------------------------------------------------------------------------

const CHILD_FLAG = "--telemetry-clients"

/** Serves the HTTPS emulator, then runs every measurement in a child process that trusts its CA. */
const serveAndMeasure = (settings: Settings) =>
  Effect.gen(function*() {
    const stateDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-bench-telemetry-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(stateDir, { recursive: true, force: true })))
    const emulator = yield* Effect.acquireRelease(Emulator.make({ journalCapacity: 0 }), (e) => e.shutdown)
    yield* emulator.engine.secrets.set(SECRET_NAME, { value: Redacted.make(SECRET_VALUE) })
    const tls = yield* Tls.ensureTlsMaterial({ stateDir })
    const server = yield* HttpsServer.serve({ handler: emulator.handler, tls: { cert: tls.certPem, key: tls.keyPem } })
    // The same script, resolving the packages as this process does (the runner's `--from`).
    const child = ChildProcess.spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), CHILD_FLAG, JSON.stringify({ settings, httpsUrl: server.url })],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.caCertPath }, stdio: ["ignore", "inherit", "inherit"] }
    )
    const code = yield* Effect.async<number | null>((resume) => {
      child.once("exit", (exitCode) => resume(Effect.succeed(exitCode)))
    }).pipe(Effect.onInterrupt(() => Effect.sync(() => child.kill())))
    if (code !== 0) return yield* Effect.die(new Error(`the measuring process exited with ${code}`))
  })

// --- the measurements (the child process) -----------------------------------------------------------------------

const measure = async ({ httpsUrl, settings }: { readonly settings: Settings; readonly httpsUrl: string }) => {
  log(`telemetry bench: node ${process.version}; ${settings.rounds} uncached rounds of ${settings.roundMillis} ms ` +
    `per contender, ${settings.hitRounds} rounds of ${settings.hits.toLocaleString("en-US")} hits; in-process emulator, and ` +
    `the HTTPS emulator at ${httpsUrl} (another process) over undici; ` +
    `packages from ${FROM === "dist" ? "dist/ (npm run build)" : "the TypeScript sources (tsx)"}`)
  const emulator = await Effect.runPromise(Emulator.make({ journalCapacity: 0 }))
  await Effect.runPromise(emulator.engine.secrets.set(SECRET_NAME, { value: Redacted.make(SECRET_VALUE) }))
  const inProcess: Target = { vaultUrl: VAULT, http: EmulatorHttp.layer(emulator), loopback: false }
  const https: Target = { vaultUrl: httpsUrl, http: UndiciHttpClient.layer(), loopback: true }

  const modes: ReadonlyArray<Mode> = ["off", "own", "unsampled", "noop", "memory"]
  const clients = (target: Target, cache: CacheConfig.CacheOptions): Promise<Record<Mode, Client>> =>
    Promise.all(modes.map(async (mode) => [mode, await client(target, mode, cache)] as const)).then(
      (entries) => Object.fromEntries(entries) as Record<Mode, Client>
    )
  const uncached = await clients(inProcess, { enabled: false })
  const cached = await clients(inProcess, { ttl: "1 hour" })
  const overHttps = await clients(https, { enabled: false })

  // Warm-up beyond the one round `alternate` gives each contender: over HTTPS the first seconds run well below the
  // rest (JIT, TLS session, connection pool), which would drag the early rounds' pairs.
  for (const c of [...Object.values(overHttps), ...Object.values(uncached)]) await uncachedRound(c, 1_000)()
  // Every mode's uncached rounds against one target, alternating.
  const uncachedGets = (byMode: Record<Mode, Client>) =>
    Stats.alternate(
      Object.fromEntries(modes.map((mode) => [mode, uncachedRound(byMode[mode], settings.roundMillis)])) as Record<
        Mode,
        () => Promise<number>
      >,
      { rounds: settings.rounds, log, unit: "ops/s" }
    )
  log("uncached get, loopback HTTPS (ops/s, concurrency 1):")
  const httpsGet = await uncachedGets(overHttps)
  log("uncached get, in process (ops/s, concurrency 1):")
  const get = await uncachedGets(uncached)
  log("cache hit (ns per hit, median of batches):")
  const hit = await Stats.alternate({
    off: hitRound(cached.off, settings.hits),
    noop: hitRound(cached.noop, settings.hits),
    memory: hitRound(cached.memory, settings.hits),
    noopSpanPerHit: hitRound(cached.noop, settings.hits, true)
  }, { rounds: settings.hitRounds, log, unit: "ns" })
  log("one SDK span by itself (ns per span, no-op export):")
  const span = await Stats.alternate({ span: spanRound(uncached.noop, settings.hits / 10) }, {
    rounds: settings.hitRounds,
    log,
    unit: "ns"
  })
  await Promise.all(
    [...Object.values(uncached), ...Object.values(cached), ...Object.values(overHttps)].map((c) => c.runtime.dispose())
  )
  await Effect.runPromise(emulator.shutdown)

  const overhead = overheadPercent(httpsGet.off, httpsGet.noop)
  const inProcessOverhead = overheadPercent(get.off, get.noop)
  const result = {
    suite: "telemetry",
    node: process.version,
    from: FROM,
    rounds: settings.rounds,
    hitRounds: settings.hitRounds,
    roundMillis: settings.roundMillis,
    hitsPerRound: settings.hits,
    hitOffNs: Stats.round(hit.off.median, 1),
    hitOnNs: Stats.round(hit.noop.median, 1),
    hitMemoryNs: Stats.round(hit.memory.median, 1),
    hitSpanPerHitNs: Stats.round(hit.noopSpanPerHit.median, 1),
    uncachedOffOpsPerSec: Stats.round(httpsGet.off.median),
    uncachedOnOpsPerSec: Stats.round(httpsGet.noop.median),
    uncachedMemoryOpsPerSec: Stats.round(httpsGet.memory.median),
    uncachedOverheadPercent: overhead,
    uncachedMemoryOverheadPercent: overheadPercent(httpsGet.off, httpsGet.memory),
    uncachedOwnOverheadPercent: overheadPercent(httpsGet.off, httpsGet.own),
    uncachedUnsampledOverheadPercent: overheadPercent(httpsGet.off, httpsGet.unsampled),
    inProcessOffOpsPerSec: Stats.round(get.off.median),
    inProcessOnOpsPerSec: Stats.round(get.noop.median),
    inProcessMemoryOpsPerSec: Stats.round(get.memory.median),
    inProcessOverheadPercent: inProcessOverhead,
    inProcessMemoryOverheadPercent: overheadPercent(get.off, get.memory),
    inProcessOwnOverheadPercent: overheadPercent(get.off, get.own),
    inProcessUnsampledOverheadPercent: overheadPercent(get.off, get.unsampled),
    inProcessAddedUs: Stats.round(1e6 / get.noop.median - 1e6 / get.off.median, 1),
    spanNs: Stats.round(span.span.median),
    spanShareOfInProcessGetPercent: Stats.round((100 * span.span.median * get.off.median) / 1e9, 1),
    withinBudget: overhead <= 10
  }
  log(`the client's own instrumentation costs ${result.uncachedOwnOverheadPercent}% of uncached throughput over ` +
    `loopback HTTPS and ${result.inProcessOwnOverheadPercent}% in process; the SDK wired with spans not sampled ` +
    `${result.uncachedUnsampledOverheadPercent}% and ${result.inProcessUnsampledOverheadPercent}%`)
  log(`telemetry on (no-op export) costs ${result.uncachedOverheadPercent}% of uncached throughput over loopback ` +
    `HTTPS (in-memory export ${result.uncachedMemoryOverheadPercent}%) and ${result.inProcessOverheadPercent}% in ` +
    `process (${result.inProcessAddedUs} us per get; in-memory export ${result.inProcessMemoryOverheadPercent}%), ` +
    `where one SDK span by itself costs ${result.spanNs} ns, ${result.spanShareOfInProcessGetPercent}% of an ` +
    `in-process get; a hit ${result.hitOffNs} ns off, ${result.hitOnNs} ns on, ${result.hitMemoryNs} ns with ` +
    `in-memory export, ${result.hitSpanPerHitNs} ns on if each hit had a span of its own`)
  console.log(JSON.stringify(result))
}

/** Runs the suite with `argv` (the arguments after `telemetry`). */
export const main = (argv: ReadonlyArray<string>): Promise<void> =>
  Effect.runPromise(Effect.scoped(serveAndMeasure(parse(argv))))

if (process.argv[2] === CHILD_FLAG && process.argv[1] === fileURLToPath(import.meta.url)) {
  measure(JSON.parse(process.argv[3]!) as { settings: Settings; httpsUrl: string }).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
}
