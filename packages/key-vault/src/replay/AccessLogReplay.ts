/**
 * Replays an access log through the real client and its cache, against a vault served in-process (the emulator), in
 * simulated time, and reports what the cache saved and how close the vault came to Azure's throttling limits.
 *
 * A log is a list of `AccessEvent`s: parsed from a file (`parse`, `parseFile`) or drawn from a synthetic Zipf workload
 * (`zipf`). `replay` builds `KeyVault.layer` with the cache options given, pre-creates every secret the log names
 * (those writes are not counted), then plays the events in time order:
 *
 * - Time is simulated. By default a virtual `Clock` moves straight to each event's millisecond; `clock: "TestClock"`
 *   uses Effect's `TestClock` instead. Both give the same report (a test checks it), but each `TestClock` move waits
 *   for every fiber to suspend by polling with real `setTimeout(0)` timers, about 4 ms, which would stretch an hour
 *   at 100 requests/s to half an hour: keep `TestClock` for short logs.
 * - Events of the same millisecond run concurrently; a step ends when everything it started has settled, including
 *   the loads and refresh-ahead fibers the cache forks in the background, so refresh-ahead happens at the simulated
 *   time it would in production. Fibers asleep on the clock (the client's rate limiter, retry backoff) wake when the
 *   clock reaches their deadline, in order.
 * - Every request that reaches the vault is recorded with its simulated time (`HttpClient.tapRequest`).
 * - The cache's TTL jitter draws from a `Random` seeded by `seed`: the same log and options give the same report.
 *
 * The vault answers in zero simulated time, so the report measures the cache's policy (what it asks the vault for,
 * and when), not latency.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as PlatformError from "@effect/platform/Error"
import type * as ConfigError from "effect/ConfigError"
import type { ValidationError } from "../errors/KeyVaultError.js"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { TokenProvider } from "../auth/TokenProvider.js"
import type * as CacheConfig from "../cache/CacheConfig.js"
import type { SharedTier } from "../cache/SharedTier.js"
import type { CacheStats } from "../cache/VaultCache.js"
import type { ResilienceOptions } from "../resilience/ResilienceConfig.js"
import * as Fleet from "./internal/Fleet.js"
import * as LogParser from "./internal/LogParser.js"
import * as Runner from "./internal/Runner.js"
import * as Zipf from "./internal/Zipf.js"

/**
 * One access: at `atMillis` after the start of the log, a `read` (a `Secrets.get`, of `version` when given) or a
 * `write` (a `Secrets.set` of a new value) of secret `name`.
 *
 * `version` is a label, not necessarily a real version id: the replay creates one real version per distinct label of
 * a name before it starts and reads that one. On a write it is ignored.
 *
 * @since 0.1.0
 * @category models
 */
export interface AccessEvent {
  readonly atMillis: number
  readonly op: "read" | "write"
  readonly name: string
  readonly version?: string | undefined
}

/**
 * A log line that could not be read. `line` is 1-based; the message names the field, never echoes a long value.
 *
 * @since 0.1.0
 * @category errors
 */
export class LogParseError extends Data.TaggedError("LogParseError")<{
  readonly line: number
  readonly message: string
  /** The file, when parsed from one. */
  readonly source?: string | undefined
}> {}

/**
 * Options of `zipf` that cannot describe a workload (for example a negative rate).
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkloadOptionsError extends Data.TaggedError("WorkloadOptionsError")<{
  readonly message: string
}> {}

/**
 * Pre-creating a secret before the replay failed, so the replay did not start.
 *
 * @since 0.1.0
 * @category errors
 */
export class ReplaySetupError extends Data.TaggedError("ReplaySetupError")<{
  readonly name: string
  readonly message: string
}> {}

/**
 * Parses a log: JSON lines `{"t":<ms or ISO-8601>,"op":"read"|"write","name":"x","version":"v"}` and / or CSV lines
 * `t,op,name[,version]` (a `t,op,name,version` header line is allowed; blank lines and `#` comments are skipped).
 * Times are all relative milliseconds or all ISO-8601 instants, which are made relative to the earliest. Names must
 * be valid Key Vault names. The first bad line fails the parse with its line number.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (text: string, options?: { readonly source?: string | undefined }): Effect.Effect<
  ReadonlyArray<AccessEvent>,
  LogParseError
> =>
  Effect.suspend(() =>
    Either.match(LogParser.parse(text), {
      onLeft: (error) =>
        Effect.fail(new LogParseError({ line: error.line, message: error.message, source: options?.source })),
      onRight: (events) => Effect.succeed(events)
    })
  )

/**
 * Reads and parses a log file (see `parse`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseFile = (
  path: string
): Effect.Effect<ReadonlyArray<AccessEvent>, LogParseError | PlatformError.PlatformError, FileSystem.FileSystem> =>
  Effect.flatMap(
    FileSystem.FileSystem,
    (fs) => Effect.flatMap(fs.readFileString(path), (text) => parse(text, { source: path }))
  )

/**
 * The synthetic workload's knobs.
 *
 * @since 0.1.0
 * @category models
 */
export interface ZipfOptions {
  /** How many distinct secrets. Default 1,000. */
  readonly secrets?: number | undefined
  /** The Zipf exponent s: the secret of popularity rank k is read with probability ∝ k^-s. Default 0.99. */
  readonly exponent?: number | undefined
  /** Operations (reads and writes together) per simulated second. Default 100. */
  readonly requestsPerSecond?: number | undefined
  /** Length of the workload in simulated seconds. Default 3,600. */
  readonly durationSeconds?: number | undefined
  /** The share of operations that are writes (0..1), picking their secret by the same popularity. Default 0. */
  readonly writeFraction?: number | undefined
  /** Seed of the generator: the same options and seed give the same events. Default 42. */
  readonly seed?: number | undefined
  /** `poisson` (exponential gaps, default) or `uniform` (evenly spaced). Times are whole milliseconds. */
  readonly arrivals?: "poisson" | "uniform" | undefined
}

/**
 * The name the synthetic vault gives its `index`-th secret, e.g. `payments-api-db-password-000`.
 *
 * @since 0.1.0
 * @category utils
 */
export const secretName: (index: number) => string = Zipf.secretName

/**
 * Draws a synthetic workload: `secrets` names with Zipf(`exponent`) popularity (ranks mapped to names through a
 * seeded permutation), arrivals at `requestsPerSecond` for `durationSeconds`, a `writeFraction` of them writes.
 * Deterministic for a given seed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const zipf = (options: ZipfOptions = {}): Effect.Effect<ReadonlyArray<AccessEvent>, WorkloadOptionsError> =>
  Effect.suspend(() => {
    const resolved: Zipf.ResolvedZipf = {
      secrets: options.secrets ?? 1_000,
      exponent: options.exponent ?? 0.99,
      requestsPerSecond: options.requestsPerSecond ?? 100,
      durationSeconds: options.durationSeconds ?? 3_600,
      writeFraction: options.writeFraction ?? 0,
      seed: options.seed ?? 42,
      arrivals: options.arrivals ?? "poisson"
    }
    const problem = !(Number.isInteger(resolved.secrets) && resolved.secrets >= 1 && resolved.secrets <= 1_000_000)
      ? "secrets must be an integer between 1 and 1,000,000"
      : !(Number.isFinite(resolved.exponent) && resolved.exponent >= 0)
      ? "exponent must be a finite number >= 0"
      : !(Number.isFinite(resolved.requestsPerSecond) && resolved.requestsPerSecond > 0)
      ? "requestsPerSecond must be a positive number"
      : !(Number.isFinite(resolved.durationSeconds) && resolved.durationSeconds > 0)
      ? "durationSeconds must be a positive number"
      : !(resolved.writeFraction >= 0 && resolved.writeFraction <= 1)
      ? "writeFraction must lie between 0 and 1"
      : !Number.isInteger(resolved.seed)
      ? "seed must be an integer"
      : resolved.requestsPerSecond * resolved.durationSeconds > 50_000_000
      ? "the workload would exceed 50 million events"
      : undefined
    return problem === undefined
      ? Effect.succeed(Zipf.generate(resolved))
      : Effect.fail(new WorkloadOptionsError({ message: problem }))
  })

/**
 * Azure Key Vault's service limits the report compares with, per vault and region, over a 10-second window:
 * 4,000 operations (secret reads, and every other transaction) and 300 secret writes.
 *
 * @since 0.1.0
 * @category constants
 */
export const VaultLimits: {
  readonly windowMillis: number
  readonly operations: number
  readonly secretWrites: number
} = { windowMillis: 10_000, operations: 4_000, secretWrites: 300 }

/**
 * The most timestamps (sorted ascending, milliseconds) falling in any window `[t, t + windowMillis)`, and the first
 * such window's start.
 *
 * @since 0.1.0
 * @category utils
 */
export const peakInWindow = (
  timestamps: ReadonlyArray<number>,
  windowMillis: number = VaultLimits.windowMillis
): { readonly count: number; readonly startMillis: number } => {
  let best = 0
  let startMillis = 0
  let lo = 0
  for (let hi = 0; hi < timestamps.length; hi++) {
    while (timestamps[hi]! - timestamps[lo]! >= windowMillis) lo++
    if (hi - lo + 1 > best) {
      best = hi - lo + 1
      startMillis = timestamps[lo]!
    }
  }
  return { count: best, startMillis }
}

/**
 * What a replay measured. Counts cover the replay only (not the pre-creation of secrets).
 *
 * - `unfinished`: operations still waiting (asleep on the clock) 15 simulated minutes after the last event; 0 normally.
 * - `hitRatio`: the share of reads that did not start a vault request of their own:
 *   `(totalReads - cache.misses) / totalReads`. With no vault failures that is
 *   `(hits + staleServed + coalesced + negativeHits) / (hits + staleServed + coalesced + negativeHits + misses)`.
 *   A coalesced read waited for another read's request and counts as answered here; 0 when the cache is off.
 * - `vaultLoadSavedPct`: `100 × (1 - vaultReadRequests / totalReads)`: the share of reads the vault did not have to
 *   serve, with refresh-ahead requests counted against the cache.
 * - `userVisibleMissesAfterWarmup`: reads at or after `warmupMillis` (default: the cache TTL) that waited for the
 *   vault: `misses + coalesced` over that period (every read when the cache is off).
 * - `refreshes`: refresh-ahead loads completed (ok, failed or dropped).
 * - `peakRequestsPer10s`: the most vault requests in any sliding 10-second window, compared with
 *   `limits.operations`; `peakWriteRequestsPer10s` with `limits.secretWrites`. `throttled` is true when either peak
 *   exceeds its limit; `headroom` is limit − peak (negative when over) and the same as a percentage of the limit.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ReplayReport = Schema.Struct({
  clock: Schema.Literal("virtual", "TestClock"),
  events: Schema.Number,
  simulatedMillis: Schema.Number,
  totalReads: Schema.Number,
  totalWrites: Schema.Number,
  unfinished: Schema.Number,
  readErrors: Schema.Record({ key: Schema.String, value: Schema.Number }),
  writeErrors: Schema.Record({ key: Schema.String, value: Schema.Number }),
  vaultRequests: Schema.Number,
  vaultReadRequests: Schema.Number,
  vaultWriteRequests: Schema.Number,
  hitRatio: Schema.Number,
  vaultLoadSavedPct: Schema.Number,
  staleServed: Schema.Number,
  refreshes: Schema.Number,
  warmupMillis: Schema.Number,
  readsAfterWarmup: Schema.Number,
  userVisibleMissesAfterWarmup: Schema.Number,
  cache: Schema.Struct({
    enabled: Schema.Boolean,
    hits: Schema.Number,
    misses: Schema.Number,
    coalesced: Schema.Number,
    staleServed: Schema.Number,
    negativeHits: Schema.Number,
    refreshesOk: Schema.Number,
    refreshesFailed: Schema.Number,
    refreshesDropped: Schema.Number,
    evictions: Schema.Number,
    size: Schema.Number
  }),
  peakRequestsPer10s: Schema.Number,
  peakWindowStartMillis: Schema.Number,
  peakReadRequestsPer10s: Schema.Number,
  peakWriteRequestsPer10s: Schema.Number,
  limits: Schema.Struct({ windowMillis: Schema.Number, operations: Schema.Number, secretWrites: Schema.Number }),
  throttled: Schema.Boolean,
  headroom: Schema.Struct({
    operations: Schema.Number,
    operationsPct: Schema.Number,
    secretWrites: Schema.Number,
    secretWritesPct: Schema.Number
  })
})

/**
 * The report as a plain object.
 *
 * @since 0.1.0
 * @category models
 */
export type ReplayReport = typeof ReplayReport.Type

/**
 * Replay settings. All optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReplayOptions {
  /** The vault URL the client is built for. Default `https://replay.vault.azure.net`. */
  readonly vaultUrl?: string | undefined
  /** The cache under test (`CacheConfig.CacheOptions`). Default: the client's defaults. */
  readonly cache?: CacheConfig.CacheOptions | undefined
  /** Reads before this much simulated time are warm-up, left out of `userVisibleMissesAfterWarmup`. Default: the TTL. */
  readonly warmup?: Duration.DurationInput | undefined
  /** `virtual` (default, fast) or `TestClock` (Effect's test clock; about 4 ms of real time per distinct millisecond). */
  readonly clock?: "virtual" | "TestClock" | undefined
  /** Seed of the `Random` the cache draws its TTL jitter from, for reproducible reports. Default 42. */
  readonly seed?: number | undefined
  /** Size of every secret value written, in bytes. Default 100. */
  readonly valueBytes?: number | undefined
  /** The simulated wall-clock time the replay starts at, epoch milliseconds. Default 2025-01-01T00:00:00Z. */
  readonly startMillis?: number | undefined
  /**
   * The replayed client's retries, circuit breaker and rate limiter (`KeyVault.layer`'s `resilience`). Default: the
   * client's defaults, rate limiter included: a request it holds back waits in simulated time, and a read that waits
   * there for its load counts as waiting for the vault.
   */
  readonly resilience?: ResilienceOptions | undefined
}

const round = (value: number, digits: number): number => {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

// Turns what the runner saw into a report: deltas of the cache's counters over the replay, peaks over the recorded
// request times.
const summarize = (clock: "virtual" | "TestClock", result: Runner.RunResult): ReplayReport => {
  const d = (field: Exclude<keyof CacheStats, "size" | "negativeSize">, from: CacheStats = result.baseline): number =>
    result.final[field] - from[field]
  const misses = result.cacheEnabled ? d("misses") : result.reads
  const waitedAfterWarmup = result.cacheEnabled
    ? d("misses", result.atWarmup) + d("coalesced", result.atWarmup)
    : result.readsAfterWarmup
  const all = [...result.readRequestTimes, ...result.writeRequestTimes].sort((a, b) => a - b)
  const peak = peakInWindow(all)
  const peakReads = peakInWindow(result.readRequestTimes)
  const peakWrites = peakInWindow(result.writeRequestTimes)
  const refreshes = d("refreshesOk") + d("refreshesFailed") + d("refreshesDropped")
  return {
    clock,
    events: result.events,
    simulatedMillis: result.lastEventMillis,
    totalReads: result.reads,
    totalWrites: result.writes,
    unfinished: result.unfinished,
    readErrors: result.readErrors,
    writeErrors: result.writeErrors,
    vaultRequests: all.length,
    vaultReadRequests: result.readRequestTimes.length,
    vaultWriteRequests: result.writeRequestTimes.length,
    hitRatio: result.reads === 0 ? 0 : round((result.reads - misses) / result.reads, 6),
    vaultLoadSavedPct: result.reads === 0 ? 0 : round(100 * (1 - result.readRequestTimes.length / result.reads), 4),
    staleServed: d("staleServed"),
    refreshes,
    warmupMillis: result.warmupMillis,
    readsAfterWarmup: result.readsAfterWarmup,
    userVisibleMissesAfterWarmup: waitedAfterWarmup,
    cache: {
      enabled: result.cacheEnabled,
      hits: d("hits"),
      misses: d("misses"),
      coalesced: d("coalesced"),
      staleServed: d("staleServed"),
      negativeHits: d("negativeHits"),
      refreshesOk: d("refreshesOk"),
      refreshesFailed: d("refreshesFailed"),
      refreshesDropped: d("refreshesDropped"),
      evictions: d("evictions"),
      size: result.final.size
    },
    peakRequestsPer10s: peak.count,
    peakWindowStartMillis: peak.startMillis,
    peakReadRequestsPer10s: peakReads.count,
    peakWriteRequestsPer10s: peakWrites.count,
    limits: { ...VaultLimits },
    throttled: peak.count > VaultLimits.operations || peakWrites.count > VaultLimits.secretWrites,
    headroom: {
      operations: VaultLimits.operations - peak.count,
      operationsPct: round(100 * (1 - peak.count / VaultLimits.operations), 2),
      secretWrites: VaultLimits.secretWrites - peakWrites.count,
      secretWritesPct: round(100 * (1 - peakWrites.count / VaultLimits.secretWrites), 2)
    }
  }
}

const DEFAULT_START = Date.UTC(2025, 0, 1)

/**
 * Replays `events` through `KeyVault.layer` with `options.cache`, against the vault behind the `HttpClient` in
 * context: meant for the emulator (`@effect-azure/key-vault-emulator/testing/HttpClientLayer` `layerFresh()`),
 * since it writes every secret it reads first. Fails only when the client cannot be built or a secret cannot be
 * pre-created; errors of replayed operations are counted in the report.
 *
 * @since 0.1.0
 * @category utils
 */
export const replay = (
  events: ReadonlyArray<AccessEvent>,
  options: ReplayOptions = {}
): Effect.Effect<
  ReplayReport,
  ConfigError.ConfigError | ValidationError | ReplaySetupError,
  HttpClient.HttpClient | TokenProvider
> => {
  const clock = options.clock ?? "virtual"
  const warmup = options.warmup === undefined ? undefined : Duration.toMillis(Duration.decode(options.warmup))
  return Runner.run(events, {
    vaultUrl: options.vaultUrl ?? "https://replay.vault.azure.net",
    cache: options.cache ?? {},
    clock,
    seed: options.seed ?? 42,
    valueBytes: options.valueBytes ?? 100,
    startMillis: options.startMillis ?? DEFAULT_START,
    warmupMillis: warmup,
    resilience: options.resilience
  }).pipe(
    Effect.catchIf(
      (error): error is Runner.SetupFailure => "_tag" in error && error._tag === "SetupFailure",
      (failure) => Effect.fail(new ReplaySetupError({ name: failure.name, message: failure.reason }))
    ),
    Effect.map((result) => summarize(clock, result))
  )
}

/**
 * A human-readable rendering of a report (several lines, no trailing newline).
 *
 * @since 0.1.0
 * @category utils
 */
export const format = (report: ReplayReport): string => {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`
  const n = (x: number) => x.toLocaleString("en-US")
  const errors = (e: Readonly<Record<string, number>>) =>
    Object.keys(e).length === 0 ? "none" : Object.entries(e).map(([k, v]) => `${k} ${n(v)}`).join(", ")
  return [
    `replayed ${n(report.events)} events over ${(report.simulatedMillis / 1000).toFixed(1)} simulated s ` +
    `(clock: ${report.clock})`,
    `  reads ${n(report.totalReads)}   writes ${n(report.totalWrites)}   ` +
    `read errors: ${errors(report.readErrors)}   write errors: ${errors(report.writeErrors)}` +
    (report.unfinished > 0 ? `   unfinished: ${n(report.unfinished)}` : ""),
    `  vault requests ${n(report.vaultRequests)} (reads ${n(report.vaultReadRequests)}, writes ${n(report.vaultWriteRequests)})`,
    `  hit ratio ${pct(report.hitRatio)}   vault load saved ${report.vaultLoadSavedPct.toFixed(2)}%`,
    `  cache: hits ${n(report.cache.hits)}, misses ${n(report.cache.misses)}, coalesced ${n(report.cache.coalesced)}, ` +
    `stale served ${n(report.staleServed)}, negative hits ${n(report.cache.negativeHits)}, refreshes ${n(report.refreshes)}, ` +
    `evictions ${n(report.cache.evictions)}`,
    `  after warm-up (${(report.warmupMillis / 1000).toFixed(0)} s): ${n(report.readsAfterWarmup)} reads, ` +
    `${n(report.userVisibleMissesAfterWarmup)} waited for the vault`,
    `  peak ${n(report.peakRequestsPer10s)} requests / 10 s (from ${(report.peakWindowStartMillis / 1000).toFixed(1)} s; ` +
    `limit ${n(report.limits.operations)}, headroom ${report.headroom.operationsPct.toFixed(1)}%)   ` +
    `peak writes ${n(report.peakWriteRequestsPer10s)} / 10 s (limit ${n(report.limits.secretWrites)})`,
    `  throttled: ${report.throttled ? "YES" : "no"}`
  ].join("\n")
}


/**
 * One fleet configuration's figures (see `FleetReplayReport`).
 *
 * - `vaultRequests`: authenticated requests the instances sent the vault (reads, refreshes and writes); the
 *   unauthenticated challenge probe a new instance makes first is not counted.
 * - `peakRequestsPer10s`: the most of them in any sliding 10-second window; `coldStartPeakRequestsPer10s` the same
 *   over the first minute of the log only (every instance starts cold). `throttled`: a peak over `VaultLimits`.
 * - `memory`: the memory caches' counts summed over every instance that lived (restarted ones included).
 * - `shared`: the shared tier's counts summed likewise (`null` without the tier): memory misses it answered (`hits`),
 *   could not answer (`misses`), answered after waiting on another instance's load (`coalesced`), and operations
 *   that fell back to memory and the vault (`fallbacks`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const FleetRun = Schema.Struct({
  vaultRequests: Schema.Number,
  vaultReadRequests: Schema.Number,
  vaultWriteRequests: Schema.Number,
  readErrors: Schema.Record({ key: Schema.String, value: Schema.Number }),
  writeErrors: Schema.Record({ key: Schema.String, value: Schema.Number }),
  unfinished: Schema.Number,
  peakRequestsPer10s: Schema.Number,
  peakWindowStartMillis: Schema.Number,
  coldStartPeakRequestsPer10s: Schema.Number,
  peakWriteRequestsPer10s: Schema.Number,
  throttled: Schema.Boolean,
  headroomPct: Schema.Number,
  memory: Schema.Struct({
    hits: Schema.Number,
    misses: Schema.Number,
    coalesced: Schema.Number,
    staleServed: Schema.Number,
    negativeHits: Schema.Number,
    refreshes: Schema.Number,
    evictions: Schema.Number
  }),
  shared: Schema.NullOr(Schema.Struct({
    hits: Schema.Number,
    misses: Schema.Number,
    coalesced: Schema.Number,
    fallbacks: Schema.Number
  }))
})

/**
 * One fleet configuration's figures as a plain object.
 *
 * @since 0.1.0
 * @category models
 */
export type FleetRun = typeof FleetRun.Type

/**
 * What a fleet replay measured: the same events through `instances` instances, once with memory caches only
 * (`withoutShared`) and once with the shared tier under each (`withShared`, `null` when no tier was given), and
 * `reductionFactor` = vault requests without / with (`null` without a tier).
 *
 * @since 0.1.0
 * @category schemas
 */
export const FleetReplayReport = Schema.Struct({
  instances: Schema.Number,
  routing: Schema.Literal("random", "round-robin"),
  events: Schema.Number,
  simulatedMillis: Schema.Number,
  totalReads: Schema.Number,
  totalWrites: Schema.Number,
  rollingRestart: Schema.NullOr(Schema.Struct({ startMillis: Schema.Number, spreadMillis: Schema.Number })),
  restarts: Schema.Number,
  withoutShared: FleetRun,
  withShared: Schema.NullOr(FleetRun),
  reductionFactor: Schema.NullOr(Schema.Number),
  limits: Schema.Struct({ windowMillis: Schema.Number, operations: Schema.Number, secretWrites: Schema.Number })
})

/**
 * The fleet report as a plain object.
 *
 * @since 0.1.0
 * @category models
 */
export type FleetReplayReport = typeof FleetReplayReport.Type

/**
 * Fleet replay settings: the single-instance replay's (`vaultUrl`, `cache`, `seed`, `valueBytes`, `startMillis`,
 * `resilience`) and the fleet's.
 *
 * @since 0.1.0
 * @category models
 */
export interface FleetReplayOptions<E = never> {
  /** How many instances. */
  readonly instances: number
  /**
   * Restart every instance once, one after another, evenly over `spread`, from `at` (default: half way through the
   * log). A restarted instance starts with an empty memory cache and new connections.
   */
  readonly rollingRestart?: {
    readonly spread: Duration.DurationInput
    readonly at?: Duration.DurationInput | undefined
  } | undefined
  /** How events are spread over instances: `random` (uniform, seeded by `seed`; default) or `round-robin`. */
  readonly routing?: "random" | "round-robin" | undefined
  /**
   * The shared tier under every instance's memory cache, e.g. `FleetCache.layer({ key, prefix, url })` with a prefix
   * of the run's own. Built once per instance (each gets its own connections). Without it only `withoutShared` runs.
   */
  readonly sharedTier?: Layer.Layer<SharedTier, E> | undefined
  /**
   * With a tier, how much simulated time operations may overlap before the clock waits for all of them (the shared
   * store answers in real time, not simulated time). Default 1 second.
   */
  readonly settle?: Duration.DurationInput | undefined
  readonly vaultUrl?: string | undefined
  readonly cache?: CacheConfig.CacheOptions | undefined
  readonly seed?: number | undefined
  readonly valueBytes?: number | undefined
  readonly startMillis?: number | undefined
  /** Each instance's resilience policy. Default: rate limiter off, so the figures are the demand the fleet makes. */
  readonly resilience?: ResilienceOptions | undefined
}

const fleetRun = (result: Fleet.FleetResult): FleetRun => {
  const all = [...result.readRequestTimes, ...result.writeRequestTimes].sort((a, b) => a - b)
  const peak = peakInWindow(all)
  const cold = peakInWindow(all.filter((t) => t < 60_000))
  const writes = peakInWindow(result.writeRequestTimes)
  const m = result.memory
  return {
    vaultRequests: all.length,
    vaultReadRequests: result.readRequestTimes.length,
    vaultWriteRequests: result.writeRequestTimes.length,
    readErrors: result.readErrors,
    writeErrors: result.writeErrors,
    unfinished: result.unfinished,
    peakRequestsPer10s: peak.count,
    peakWindowStartMillis: peak.startMillis,
    coldStartPeakRequestsPer10s: cold.count,
    peakWriteRequestsPer10s: writes.count,
    throttled: peak.count > VaultLimits.operations || writes.count > VaultLimits.secretWrites,
    headroomPct: round(100 * (1 - peak.count / VaultLimits.operations), 2),
    memory: {
      hits: m.hits,
      misses: m.misses,
      coalesced: m.coalesced,
      staleServed: m.staleServed,
      negativeHits: m.negativeHits,
      refreshes: m.refreshesOk + m.refreshesFailed + m.refreshesDropped,
      evictions: m.evictions
    },
    shared: result.shared === undefined ? null : { ...result.shared }
  }
}

/**
 * Replays `events` through a fleet of `instances` client instances over the one vault behind the `HttpClient` in
 * context (meant for the emulator, as `replay`), in simulated time: first with memory caches only, then, when
 * `sharedTier` is given, with the tier under every instance. Every instance starts cold at the log's start.
 *
 * Without a tier each millisecond settles before the next, so the report is deterministic for a seed. With one, the
 * shared store answers in real time: operations overlap for up to `settle` of simulated time, and shared-tier counts
 * may vary a little from run to run.
 *
 * @since 0.1.0
 * @category utils
 */
export const replayFleet = <E = never>(
  events: ReadonlyArray<AccessEvent>,
  options: FleetReplayOptions<E>
): Effect.Effect<
  FleetReplayReport,
  ConfigError.ConfigError | ValidationError | ReplaySetupError | WorkloadOptionsError | E,
  HttpClient.HttpClient | TokenProvider
> =>
  Effect.suspend((): Effect.Effect<
    FleetReplayReport,
    ConfigError.ConfigError | ValidationError | ReplaySetupError | WorkloadOptionsError | E,
    HttpClient.HttpClient | TokenProvider
  > => {
    const instances = options.instances
    if (!(Number.isInteger(instances) && instances >= 1 && instances <= 10_000)) {
      return Effect.fail(new WorkloadOptionsError({ message: "instances must be an integer between 1 and 10,000" }))
    }
    const last = events.reduce((max, e) => Math.max(max, e.atMillis), 0)
    const restart = options.rollingRestart === undefined ? undefined : {
      atMillis: options.rollingRestart.at === undefined
        ? Math.floor(last / 2)
        : Duration.toMillis(Duration.decode(options.rollingRestart.at)),
      spreadMillis: Duration.toMillis(Duration.decode(options.rollingRestart.spread))
    }
    if (restart !== undefined && !(restart.atMillis >= 0 && restart.spreadMillis >= 0 && Number.isFinite(restart.spreadMillis))) {
      return Effect.fail(new WorkloadOptionsError({ message: "rollingRestart needs a finite spread and start >= 0" }))
    }
    const settleMillis = options.settle === undefined ? 1_000 : Duration.toMillis(Duration.decode(options.settle))
    const routing = options.routing ?? "random"
    const base = {
      vaultUrl: options.vaultUrl ?? "https://replay.vault.azure.net",
      cache: options.cache ?? {},
      resilience: options.resilience ?? { rateLimiter: false },
      seed: options.seed ?? 42,
      valueBytes: options.valueBytes ?? 100,
      startMillis: options.startMillis ?? DEFAULT_START,
      instances,
      routing,
      restart,
      settleMillis
    }
    const runOne = (tier: Layer.Layer<SharedTier, E> | undefined) =>
      Fleet.run(events, { ...base, tier }).pipe(
        Effect.catchIf(
          (error): error is Runner.SetupFailure =>
            typeof error === "object" && error !== null && "_tag" in error && error._tag === "SetupFailure",
          (failure) => Effect.fail(new ReplaySetupError({ name: failure.name, message: failure.reason }))
        )
      )
    return Effect.gen(function*() {
      const without = yield* runOne(undefined)
      const withTier = options.sharedTier === undefined ? undefined : yield* runOne(options.sharedTier)
      const withoutShared = fleetRun(without)
      const withShared = withTier === undefined ? null : fleetRun(withTier)
      return {
        instances,
        routing,
        events: without.events,
        simulatedMillis: without.lastEventMillis,
        totalReads: without.reads,
        totalWrites: without.writes,
        rollingRestart: restart === undefined ? null : { startMillis: restart.atMillis, spreadMillis: restart.spreadMillis },
        restarts: without.restarts,
        withoutShared,
        withShared,
        reductionFactor: withShared === null
          ? null
          : round(withoutShared.vaultRequests / Math.max(1, withShared.vaultRequests), 2),
        limits: { ...VaultLimits }
      } satisfies FleetReplayReport
    })
  })

/**
 * A human-readable rendering of a fleet report (several lines, no trailing newline).
 *
 * @since 0.1.0
 * @category utils
 */
export const formatFleet = (report: FleetReplayReport): string => {
  const n = (x: number) => x.toLocaleString("en-US")
  const errors = (run: FleetRun) => {
    const all = [...Object.entries(run.readErrors), ...Object.entries(run.writeErrors)]
    return all.length === 0 ? "none" : all.map(([k, v]) => `${k} ${n(v)}`).join(", ")
  }
  const line = (label: string, run: FleetRun) =>
    [
      `  ${label}: vault requests ${n(run.vaultRequests)} (reads ${n(run.vaultReadRequests)}, writes ${n(run.vaultWriteRequests)}), ` +
      `peak ${n(run.peakRequestsPer10s)} / 10 s (from ${(run.peakWindowStartMillis / 1000).toFixed(1)} s), ` +
      `cold-start peak ${n(run.coldStartPeakRequestsPer10s)} / 10 s, throttled: ${run.throttled ? "YES" : "no"}`,
      `    memory: hits ${n(run.memory.hits)}, misses ${n(run.memory.misses)}, coalesced ${n(run.memory.coalesced)}, ` +
      `refreshes ${n(run.memory.refreshes)}` +
      (run.shared === null
        ? ""
        : `   shared tier: hits ${n(run.shared.hits)}, misses ${n(run.shared.misses)}, coalesced ${n(run.shared.coalesced)}, ` +
          `fallbacks ${n(run.shared.fallbacks)}`) +
      `   errors: ${errors(run)}` + (run.unfinished > 0 ? `   unfinished: ${n(run.unfinished)}` : "")
    ].join("\n")
  return [
    `fleet of ${n(report.instances)} instances (${report.routing}), ${n(report.events)} events over ` +
    `${(report.simulatedMillis / 1000).toFixed(1)} simulated s, every instance cold at the start` +
    (report.rollingRestart === null
      ? ""
      : `, rolling restart from ${(report.rollingRestart.startMillis / 1000).toFixed(0)} s over ` +
        `${(report.rollingRestart.spreadMillis / 1000).toFixed(0)} s (${n(report.restarts)} restarts)`),
    line("without shared tier", report.withoutShared),
    ...(report.withShared === null ? [] : [line("with shared tier", report.withShared)]),
    ...(report.reductionFactor === null ? [] : [`  the shared tier cuts vault requests ${report.reductionFactor}x`]),
    `  limits: ${n(report.limits.operations)} operations, ${n(report.limits.secretWrites)} secret writes per ` +
    `${report.limits.windowMillis / 1000} s per vault`
  ].join("\n")
}
