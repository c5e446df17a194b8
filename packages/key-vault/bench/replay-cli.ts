/**
 * Replays an access log (or a synthetic Zipf workload) through the real client and cache against the in-process
 * emulator, in simulated time, and prints a readable report followed by the report as ONE JSON line (the last line).
 *
 *   npm run replay -- <log file> [cache options]
 *   npm run replay -- --zipf [--secrets 1000] [--s 0.99] [--rps 100] [--duration 3600] [--write-fraction 0]
 *                            [--seed 42] [cache options]
 *
 * Cache options: --ttl <s> (300), --max-entries <n> (10000), --refresh-ahead <0..1|off> (0.8),
 * --negative-ttl <s|off> (30), --stale-if-error <s|off> (300), --jitter <0..0.5> (0.1), --encrypt, --no-cache.
 * Replay options: --warmup <s> (the TTL), --clock <virtual|TestClock> (virtual), --no-rate-limiter,
 * --value-bytes <n> (100), --random-seed <n> (42, the cache's TTL jitter).
 * Fleet options (`AccessLogReplay.replayFleet`): --instances <n> replays through n instances, each its own client and
 * memory cache, every one cold at the start, once without and once with the shared tier (`FleetCache` on Redis at
 * REDIS_URL, default redis://127.0.0.1:6379, a fresh key and prefix, deleted afterwards); --rolling-restart <s>
 * restarts them one after another over s seconds from --rolling-restart-at <s> (half way); --routing
 * <random|round-robin> (random, seeded by --random-seed); --no-shared runs the fleet without the tier only (no Redis
 * needed). In fleet mode the rate limiter is off unless the cache options say otherwise: the figures are the demand.
 *
 * Exit codes: 0 done, 1 the log could not be read or parsed (the message names the line), 2 bad arguments.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { SharedTier } from "../src/cache/SharedTier.js"
import type { ValidationError } from "../src/errors/KeyVaultError.js"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import type * as CacheConfig from "../src/cache/CacheConfig.js"
import * as AccessLogReplay from "../src/replay/AccessLogReplay.js"
import * as Args from "./Args.js"
import { UsageError } from "./Args.js"
import * as Fleet from "./fleet.js"

interface Parsed {
  readonly source: { readonly _tag: "file"; readonly path: string } | {
    readonly _tag: "zipf"
    readonly options: AccessLogReplay.ZipfOptions
  }
  readonly replay: AccessLogReplay.ReplayOptions
  readonly fleet: {
    readonly instances: number
    readonly rollingRestart: { readonly spread: Duration.DurationInput; readonly at?: Duration.DurationInput } | undefined
    readonly routing: "random" | "round-robin"
    readonly shared: boolean
  } | undefined
}

const USAGE = `usage: npm run replay -- <log file | --zipf [--secrets 1000] [--s 0.99] [--rps 100] [--duration 3600] \
[--write-fraction 0] [--seed 42]> [--ttl 300] [--max-entries N] [--refresh-ahead 0.8|off] [--negative-ttl 30|off] \
[--stale-if-error 300|off] [--jitter 0.1] [--encrypt] [--no-cache] [--warmup S] [--clock virtual|TestClock] \
[--no-rate-limiter] [--value-bytes 100] [--random-seed 42] [--instances N [--rolling-restart S] \
[--rolling-restart-at S] [--routing random|round-robin] [--no-shared]]`

const VALUE_FLAGS = [
  "secrets", "s", "rps", "duration", "write-fraction", "seed", "ttl", "max-entries", "refresh-ahead",
  "negative-ttl", "stale-if-error", "jitter", "warmup", "clock", "value-bytes", "random-seed", "instances",
  "rolling-restart", "rolling-restart-at", "routing"
] as const
const OPTIONS = {
  ...Object.fromEntries(VALUE_FLAGS.map((flag) => [flag, { type: "string" }])) as Record<
    typeof VALUE_FLAGS[number],
    { readonly type: "string" }
  >,
  zipf: { type: "boolean" },
  encrypt: { type: "boolean" },
  "no-cache": { type: "boolean" },
  "no-rate-limiter": { type: "boolean" },
  "no-shared": { type: "boolean" },
  help: { type: "boolean", short: "h" }
} as const
const ZIPF_ONLY = ["secrets", "s", "rps", "duration", "write-fraction", "seed"] as const

/** Parses argv; throws `UsageError` for anything it does not understand. */
const parseCommandLine = (argv: ReadonlyArray<string>): Parsed | "help" => {
  const { positionals, values: parsedValues } = Args.parse(argv, OPTIONS, { allowPositionals: true })
  if (parsedValues.help === true) return "help"
  const values = new Map<string, string>()
  for (const flag of VALUE_FLAGS) {
    const value = parsedValues[flag]
    if (value === undefined) continue
    if (value === "") throw new UsageError(`--${flag} needs a value`)
    values.set(`--${flag}`, value)
  }
  const switches = new Set<string>(
    (["zipf", "encrypt", "no-cache", "no-rate-limiter", "no-shared"] as const).filter((flag) => parsedValues[flag] === true)
      .map((flag) => `--${flag}`)
  )
  const positional = positionals
  const number = (flag: string, check: (n: number) => boolean, what: string): number | undefined => {
    const raw = values.get(flag)
    if (raw === undefined) return undefined
    const n = Number(raw)
    if (raw.trim() === "" || !Number.isFinite(n) || !check(n)) throw new UsageError(`${flag} must be ${what}, got ${raw}`)
    return n
  }
  const seconds = (flag: string): number | undefined => number(flag, (n) => n > 0, "a positive number of seconds")
  const secondsOrOff = (flag: string): number | false | undefined =>
    values.get(flag) === "off" ? false : seconds(flag)
  const integer = (flag: string, min: number): number | undefined =>
    number(flag, (n) => Number.isInteger(n) && n >= min, `an integer >= ${min}`)

  const zipf = switches.has("--zipf")
  if (zipf && positional.length > 0) throw new UsageError("give a log file or --zipf, not both")
  if (!zipf && positional.length !== 1) throw new UsageError("give one log file, or --zipf")
  if (!zipf) {
    const stray = ZIPF_ONLY.map((flag) => `--${flag}`).find((flag) => values.has(flag))
    if (stray !== undefined) throw new UsageError(`${stray} only applies with --zipf`)
  }
  const clock = values.get("--clock")
  if (clock !== undefined && clock !== "virtual" && clock !== "TestClock") {
    throw new UsageError(`--clock must be virtual or TestClock, got ${clock}`)
  }
  const refreshAhead = values.get("--refresh-ahead") === "off"
    ? false
    : number("--refresh-ahead", (n) => n > 0 && n < 1, "a fraction strictly between 0 and 1, or off")
  const ttl = seconds("--ttl")
  const negativeTtl = secondsOrOff("--negative-ttl")
  const staleIfError = secondsOrOff("--stale-if-error")
  const jitter = number("--jitter", (n) => n >= 0 && n <= 0.5, "between 0 and 0.5")
  const maxEntries = integer("--max-entries", 1)
  const cache: CacheConfig.CacheOptions = {
    ...(switches.has("--no-cache") ? { enabled: false } : {}),
    ...(ttl === undefined ? {} : { ttl: `${ttl} seconds` }),
    ...(maxEntries === undefined ? {} : { maxEntries }),
    ...(refreshAhead === undefined ? {} : { refreshAhead }),
    ...(negativeTtl === undefined ? {} : { negativeTtl: negativeTtl === false ? false : `${negativeTtl} seconds` }),
    ...(staleIfError === undefined ? {} : { staleIfError: staleIfError === false ? false : `${staleIfError} seconds` }),
    ...(jitter === undefined ? {} : { jitter }),
    ...(switches.has("--encrypt") ? { encryptAtRest: true } : {})
  }
  const warmup = number("--warmup", (n) => n >= 0, "a number of seconds >= 0")
  const valueBytes = integer("--value-bytes", 0)
  const randomSeed = integer("--random-seed", 0)
  if (valueBytes !== undefined && valueBytes > 25 * 1024) throw new UsageError("--value-bytes must be at most 25600")
  const replay: AccessLogReplay.ReplayOptions = {
    cache,
    ...(warmup === undefined ? {} : { warmup: `${warmup} seconds` }),
    ...(clock === undefined ? {} : { clock }),
    ...(valueBytes === undefined ? {} : { valueBytes }),
    ...(randomSeed === undefined ? {} : { seed: randomSeed }),
    ...(switches.has("--no-rate-limiter") ? { resilience: { rateLimiter: false } } : {})
  }
  const instances = integer("--instances", 1)
  const rollingRestart = seconds("--rolling-restart")
  const rollingRestartAt = number("--rolling-restart-at", (n) => n >= 0, "a number of seconds >= 0")
  const routing = values.get("--routing")
  if (routing !== undefined && routing !== "random" && routing !== "round-robin") {
    throw new UsageError(`--routing must be random or round-robin, got ${routing}`)
  }
  if (instances === undefined) {
    const stray = ["--rolling-restart", "--rolling-restart-at", "--routing"].find((flag) => values.has(flag)) ??
      (switches.has("--no-shared") ? "--no-shared" : undefined)
    if (stray !== undefined) throw new UsageError(`${stray} only applies with --instances`)
  } else {
    if (instances > 10_000) throw new UsageError("--instances must be at most 10000")
    if (clock === "TestClock") throw new UsageError("--clock TestClock does not apply with --instances")
    if (rollingRestartAt !== undefined && rollingRestart === undefined) {
      throw new UsageError("--rolling-restart-at needs --rolling-restart")
    }
  }
  const fleet: Parsed["fleet"] = instances === undefined ? undefined : {
    instances,
    rollingRestart: rollingRestart === undefined ? undefined : {
      spread: `${rollingRestart} seconds`,
      ...(rollingRestartAt === undefined ? {} : { at: `${rollingRestartAt} seconds` })
    },
    routing: routing ?? "random",
    shared: !switches.has("--no-shared")
  }
  if (!zipf) return { source: { _tag: "file", path: positional[0]! }, replay, fleet }
  const writeFraction = number("--write-fraction", (n) => n >= 0 && n <= 1, "between 0 and 1")
  const options: AccessLogReplay.ZipfOptions = {
    secrets: integer("--secrets", 1),
    exponent: number("--s", (n) => n >= 0, "a number >= 0"),
    requestsPerSecond: number("--rps", (n) => n > 0, "a positive number"),
    durationSeconds: seconds("--duration"),
    writeFraction,
    seed: integer("--seed", 0)
  }
  return { source: { _tag: "zipf", options }, replay, fleet }
}

const describeSource = (parsed: Parsed): string => {
  if (parsed.source._tag === "file") return `log ${parsed.source.path}`
  const o = parsed.source.options
  return `zipf: ${o.secrets ?? 1000} secrets, s=${o.exponent ?? 0.99}, ${o.requestsPerSecond ?? 100} ops/s for ` +
    `${o.durationSeconds ?? 3600} s, write fraction ${o.writeFraction ?? 0}, seed ${o.seed ?? 42}`
}

const fleetProgram = (
  parsed: Parsed,
  fleet: NonNullable<Parsed["fleet"]>,
  events: ReadonlyArray<AccessLogReplay.AccessEvent>,
  started: number
) =>
  Effect.scoped(Effect.gen(function*() {
    let sharedTier: Layer.Layer<SharedTier, ValidationError> | undefined
    if (fleet.shared) {
      if (!(yield* Effect.promise(() => Fleet.redisAnswers(Fleet.REDIS_URL)))) {
        return yield* Effect.fail(new NoRedis({ url: Fleet.REDIS_URL }))
      }
      sharedTier = yield* Fleet.runTier(Fleet.REDIS_URL)
    }
    const report = yield* AccessLogReplay.replayFleet(events, {
      instances: fleet.instances,
      routing: fleet.routing,
      rollingRestart: fleet.rollingRestart,
      sharedTier,
      ...(parsed.replay.cache === undefined ? {} : { cache: parsed.replay.cache }),
      ...(parsed.replay.valueBytes === undefined ? {} : { valueBytes: parsed.replay.valueBytes }),
      ...(parsed.replay.seed === undefined ? {} : { seed: parsed.replay.seed }),
      resilience: { rateLimiter: false }
    })
    const wall = (performance.now() - started) / 1000
    yield* Effect.sync(() => {
      console.log(describeSource(parsed))
      console.log(`cache options: ${JSON.stringify(parsed.replay.cache)}`)
      console.log(AccessLogReplay.formatFleet(report))
      console.log(`  real time ${wall.toFixed(1)} s for ${(report.simulatedMillis / 1000).toFixed(0)} simulated s`)
      console.log(JSON.stringify(report))
    })
  }))

/** `--instances` with the shared tier, and no Redis answers. */
class NoRedis extends Data.TaggedError("NoRedis")<{ readonly url: string }> {}

const program = (parsed: Parsed) =>
  Effect.gen(function*() {
    const started = performance.now()
    const events = parsed.source._tag === "file"
      ? yield* AccessLogReplay.parseFile(parsed.source.path)
      : yield* AccessLogReplay.zipf(parsed.source.options)
    if (parsed.fleet !== undefined) return yield* fleetProgram(parsed, parsed.fleet, events, started)
    const report = yield* AccessLogReplay.replay(events, parsed.replay)
    const wall = (performance.now() - started) / 1000
    yield* Effect.sync(() => {
      console.log(describeSource(parsed))
      console.log(`cache options: ${JSON.stringify(parsed.replay.cache)}`)
      console.log(AccessLogReplay.format(report))
      console.log(`  real time ${wall.toFixed(1)} s for ${(report.simulatedMillis / 1000).toFixed(0)} simulated s`)
      console.log(JSON.stringify(report))
    })
  }).pipe(Effect.provide(Layer.mergeAll(Emulator.layerFresh(), TokenProvider.layerStatic(), NodeFileSystem.layer)))

const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  let parsed: Parsed
  try {
    const result = parseCommandLine(argv)
    if (result === "help") {
      console.log(USAGE)
      return 0
    }
    parsed = result
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    console.error(`replay: ${error.message}`)
    console.error(USAGE)
    return 2
  }
  const exit = await Effect.runPromiseExit(program(parsed))
  if (exit._tag === "Success") return 0
  const failure = Option.getOrUndefined(Cause.failureOption(exit.cause))
  if (failure !== undefined && typeof failure === "object" && "_tag" in failure) {
    switch (failure._tag) {
      case "NoRedis":
        console.error(`replay: no Redis answers at ${failure.url} (set REDIS_URL, or pass --no-shared)`)
        return 1
      case "WorkloadOptionsError":
        console.error(`replay: ${failure.message}`)
        console.error(USAGE)
        return 2
      case "LogParseError":
        console.error(`replay: ${failure.source ?? "log"}, line ${failure.line}: ${failure.message}`)
        return 1
      case "SystemError":
      case "BadArgument":
        console.error(`replay: cannot read the log: ${failure.message}`)
        return 1
    }
  }
  console.error(`replay failed: ${String(exit.cause)}`)
  return 1
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error: unknown) => {
  console.error(error)
  process.exit(1)
})
