/**
 * What telemetry costs: an uncached secret `get` (the whole request pipeline against the in-process emulator, no
 * socket) and a cache hit, each with telemetry off (Effect's native tracer, no SDK), with the OpenTelemetry SDK wired
 * through `telemetry/OpenTelemetry` to exporters that drop everything (batching span and log processors, a periodic
 * metric reader: what production pays before the network), and with in-memory export (simple processors into the
 * SDK's in-memory exporters, cleared after every round).
 *
 * The contenders of each measurement run in alternating rounds; every figure is the median of its rounds. Logging
 * stays at Effect's default level (Info), as an application's would.
 *
 *   npm run bench -- telemetry [--rounds 7] [--round-ms 500] [--hits 100000]
 *
 * The last line printed is one JSON object with every figure; `uncachedOverheadPercent` is the throughput the
 * no-op-exporter SDK costs an uncached `get` (the budget is 10 %).
 */
import * as Emulator from "@effect-azure/key-vault-emulator/Emulator"
import * as EmulatorHttp from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
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
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type SpanExporter
} from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as TokenProvider from "@effect-azure/key-vault/auth/TokenProvider"
import type * as CacheConfig from "@effect-azure/key-vault/cache/CacheConfig"
import * as KeyVault from "@effect-azure/key-vault/KeyVault"
import { Secrets } from "@effect-azure/key-vault/secrets/Secrets"
import * as OpenTelemetry from "@effect-azure/key-vault/telemetry/OpenTelemetry"
import * as Args from "./Args.js"
import { UsageError } from "./Args.js"
import * as Stats from "./Stats.js"

interface Settings {
  readonly rounds: number
  readonly roundMillis: number
  readonly hits: number
}

/** What `npm run bench -- telemetry --help` prints. */
export const usage = `usage: npm run bench -- telemetry [--rounds 7] [--round-ms 500] [--hits 100000] [--from dist|source]
  --rounds N        measured rounds per contender, alternating (medians are reported)
  --from WHAT       dist (default): the built packages (npm run build); source: the TypeScript sources (tsx)
  --round-ms MS     length of each uncached round
  --hits N          cache hits timed per round (batches of ${1_000})
Uncached secret get and cache hit against the in-process emulator with telemetry off, with the OpenTelemetry SDK
wired to no-op exporters, and with in-memory export; the last line is one JSON object.`

const BATCH = 1_000

// Which build of the packages this process runs (the bench runner's `--from`): the sources under the
// `@effect-azure/source` condition, else `dist/`.
const FROM = process.execArgv.some((arg) => arg.startsWith("--conditions")) ? "source" : "dist"

const parse = (argv: ReadonlyArray<string>): Settings => {
  const { values } = Args.parse(argv, {
    rounds: { type: "string" },
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
    rounds: positive("rounds", values.rounds, 7),
    roundMillis: positive("round-ms", values["round-ms"], 500),
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

type Mode = "off" | "noop" | "memory"

interface Telemetry {
  readonly layer: Layer.Layer<never>
  /** Drops what the in-memory exporters hold, so a run does not grow its heap round after round. */
  readonly clear: () => void
  /** Spans exported so far (in-memory export only), to check the SDK is really wired. */
  readonly exported: () => number | undefined
}

const telemetry = (mode: Mode): Telemetry => {
  switch (mode) {
    case "off":
      return { layer: Layer.empty, clear: () => {}, exported: () => undefined }
    case "noop":
      return {
        layer: OpenTelemetry.layerExporters({
          serviceName: "bench-telemetry",
          spanExporter: noopSpanExporter,
          metricExporter: noopMetricExporter,
          metricExportIntervalMillis: 1_000,
          logExporter: noopLogExporter
        }),
        clear: () => {},
        exported: () => undefined
      }
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

/** A `get` of our client (rate limiter off: it would measure its own budget) in a runtime of its own. */
const client = async (emulator: Emulator.Emulator, mode: Mode, cache: CacheConfig.CacheOptions) => {
  const wired = telemetry(mode)
  const runtime = ManagedRuntime.make(
    KeyVault.layer({ vaultUrl: VAULT, cache, resilience: { rateLimiter: false } }).pipe(
      Layer.provide(Layer.merge(EmulatorHttp.layer(emulator), TokenProvider.layerStatic())),
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

/** Cache hit: the median nanoseconds per hit over batches of `BATCH` in one round. */
const hitRound = (c: Client, hits: number) => (): Promise<number> =>
  c.runtime.runPromise(Effect.gen(function*() {
    const samples: Array<number> = []
    for (let b = 0; b < hits; b += BATCH) {
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < BATCH; i++) yield* c.get
      samples.push(Number(process.hrtime.bigint() - t0) / BATCH)
    }
    return Stats.median(samples)
  })).finally(c.clear)

const overheadPercent = (off: number, on: number): number => Stats.round((100 * (off - on)) / off, 1)

/** Runs the suite with `argv` (the arguments after `telemetry`). */
export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const settings = parse(argv)
  log(`telemetry bench: node ${process.version}; ${settings.rounds} rounds per contender, uncached rounds of ` +
    `${settings.roundMillis} ms, ${settings.hits.toLocaleString("en-US")} hits per round; in-process emulator; ` +
    `packages from ${FROM === "dist" ? "dist/ (npm run build)" : "the TypeScript sources (tsx)"}`)
  const emulator = await Effect.runPromise(Emulator.make({ journalCapacity: 0 }))
  await Effect.runPromise(emulator.engine.secrets.set(SECRET_NAME, { value: Redacted.make(SECRET_VALUE) }))

  const modes: ReadonlyArray<Mode> = ["off", "noop", "memory"]
  const uncached = Object.fromEntries(
    await Promise.all(modes.map(async (mode) => [mode, await client(emulator, mode, { enabled: false })] as const))
  ) as Record<Mode, Client>
  const cached = Object.fromEntries(
    await Promise.all(modes.map(async (mode) => [mode, await client(emulator, mode, { ttl: "1 hour" })] as const))
  ) as Record<Mode, Client>

  log("uncached get (ops/s, concurrency 1):")
  const get = await Stats.alternate({
    off: uncachedRound(uncached.off, settings.roundMillis),
    noop: uncachedRound(uncached.noop, settings.roundMillis),
    memory: uncachedRound(uncached.memory, settings.roundMillis)
  }, { rounds: settings.rounds, log, unit: "ops/s" })
  log("cache hit (ns per hit, median of batches):")
  const hit = await Stats.alternate({
    off: hitRound(cached.off, settings.hits),
    noop: hitRound(cached.noop, settings.hits),
    memory: hitRound(cached.memory, settings.hits)
  }, { rounds: settings.rounds, log, unit: "ns" })
  await Promise.all([...Object.values(uncached), ...Object.values(cached)].map((c) => c.runtime.dispose()))
  await Effect.runPromise(emulator.shutdown)

  const result = {
    suite: "telemetry",
    node: process.version,
    from: FROM,
    rounds: settings.rounds,
    roundMillis: settings.roundMillis,
    hitsPerRound: settings.hits,
    hitOffNs: Stats.round(hit.off.median, 1),
    hitOnNs: Stats.round(hit.noop.median, 1),
    hitMemoryNs: Stats.round(hit.memory.median, 1),
    uncachedOffOpsPerSec: Stats.round(get.off.median),
    uncachedOnOpsPerSec: Stats.round(get.noop.median),
    uncachedMemoryOpsPerSec: Stats.round(get.memory.median),
    uncachedOverheadPercent: overheadPercent(get.off.median, get.noop.median),
    uncachedMemoryOverheadPercent: overheadPercent(get.off.median, get.memory.median),
    withinBudget: overheadPercent(get.off.median, get.noop.median) <= 10
  }
  log(`telemetry on (no-op export) costs ${result.uncachedOverheadPercent}% of uncached throughput ` +
    `(in-memory export ${result.uncachedMemoryOverheadPercent}%); a hit ${result.hitOffNs} ns off, ` +
    `${result.hitOnNs} ns on, ${result.hitMemoryNs} ns with in-memory export`)
  console.log(JSON.stringify(result))
}
