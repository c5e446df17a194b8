/**
 * The fleet, simulated: N client instances (each its own `KeyVault.layer`, memory cache and, with the shared tier,
 * its own `FleetCache` connections to a real Redis) over one in-process emulator, under the same Zipf workload (or a
 * recorded access log), in simulated time, once without and once with the shared tier. Vault calls are counted from
 * the emulator's journal; the peak is the most secret reads in any 10-second window, against Key Vault's 4,000.
 *
 *   npm run bench -- fleet [--instances 100] [--secrets 1000] [--rps 500] [--duration 3600] [--s 0.99] [--seed 42]
 *                          [--log FILE] [--rolling-restart SECONDS] [--hit-reads 5000]
 *
 * Every instance starts cold at time 0 (a deployment). `--rolling-restart S` also restarts the instances one after
 * another, evenly over S seconds from the middle of the run (a restart empties the instance's memory). Events go to
 * instances uniformly at random (seeded). The rate limiter is off, so the figures are the demand the vault would see.
 * `sharedHitMedianUs`: a read that misses memory and is answered by the Redis tier (the local server), timed alone.
 *
 * Needs Redis at REDIS_URL (default redis://127.0.0.1:6379). Prints as it goes; the last line is one JSON object.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/Emulator"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as EmulatorHttp from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import { Redis } from "ioredis"
import * as NodeCrypto from "node:crypto"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { VaultCache } from "../src/cache/VaultCache.js"
import * as FleetCache from "../src/fleet/FleetCache.js"
import * as KeyVault from "../src/KeyVault.js"
import * as AccessLogReplay from "../src/replay/AccessLogReplay.js"
import { ActivityTracker } from "../src/replay/internal/ActivityTracker.js"
import { VirtualClock } from "../src/replay/internal/VirtualClock.js"
import * as Prng from "../src/replay/Prng.js"
import { Secrets } from "../src/secrets/Secrets.js"
import * as Args from "./Args.js"
import * as Stats from "./Stats.js"

const VAULT = "https://fleet-bench.vault.azure.net"
const REDIS_URL = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379"
const LIMIT_PER_10S = 4_000
/** How much simulated time may pass before the run waits for every operation started to settle. */
const SETTLE_MILLIS = 1_000

/** What `npm run bench -- fleet --help` prints. */
export const usage = `usage: npm run bench -- fleet [--instances 100] [--secrets 1000] [--rps 500] [--duration 3600] [--s 0.99]
                            [--seed 42] [--log FILE] [--rolling-restart SECONDS] [--hit-reads 5000]
  --instances N         client instances in the fleet
  --secrets N, --rps R, --duration S, --s X, --seed N   the Zipf workload (fleet-wide requests per second)
  --log FILE            replay a recorded access log instead (AccessLogReplay.parseFile format)
  --rolling-restart S   also restart every instance, one after another over S seconds, from mid-run
  --hit-reads N         reads timed for sharedHitMedianUs
Needs Redis at REDIS_URL (default redis://127.0.0.1:6379). The last line is one JSON object.`

const OPTIONS = {
  instances: { type: "string" },
  secrets: { type: "string" },
  rps: { type: "string" },
  duration: { type: "string" },
  s: { type: "string" },
  seed: { type: "string" },
  log: { type: "string" },
  "rolling-restart": { type: "string" },
  "hit-reads": { type: "string" }
} as const

interface Settings {
  readonly instances: number
  readonly secrets: number
  readonly rps: number
  readonly duration: number
  readonly exponent: number
  readonly seed: number
  readonly log: string | undefined
  readonly rollingRestart: number | undefined
  readonly hitReads: number
}

const parse = (argv: ReadonlyArray<string>): Settings => {
  const { values } = Args.parse(argv, OPTIONS)
  const num = (flag: keyof typeof OPTIONS, fallback: number, integer = true): number => {
    const raw = values[flag]
    if (raw === undefined) return fallback
    const n = Number(raw)
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw new Args.UsageError(`--${flag} must be a positive ${integer ? "integer" : "number"}`)
    }
    return n
  }
  return {
    instances: num("instances", 100),
    secrets: num("secrets", 1_000),
    rps: num("rps", 500, false),
    duration: num("duration", 3_600, false),
    exponent: num("s", 0.99, false),
    seed: num("seed", 42),
    log: values.log,
    rollingRestart: values["rolling-restart"] === undefined ? undefined : num("rolling-restart", 1, false),
    hitReads: num("hit-reads", 5_000)
  }
}

/** The most entries of sorted `times` within any window of `width`. */
const peak = (times: ReadonlyArray<number>, width: number): number => {
  let best = 0
  let lo = 0
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= width) lo++
    best = Math.max(best, hi - lo + 1)
  }
  return best
}

interface RunResult {
  readonly vaultCalls: number
  readonly peakPer10s: number
  readonly coldPeakPer10s: number
  readonly errors: number
  readonly sharedHits: number
  readonly coalesced: number
  readonly fallbacks: number
  readonly seconds: number
}

const events = (
  settings: Settings
): Effect.Effect<ReadonlyArray<AccessLogReplay.AccessEvent>, unknown, FileSystem.FileSystem> =>
  settings.log !== undefined
    ? AccessLogReplay.parseFile(settings.log)
    : AccessLogReplay.zipf({
      secrets: settings.secrets,
      exponent: settings.exponent,
      requestsPerSecond: settings.rps,
      durationSeconds: settings.duration,
      seed: settings.seed
    })

/** One fleet run in simulated time: `shared` puts a FleetCache (its own prefix) under every instance. */
const simulate = (
  settings: Settings,
  log: ReadonlyArray<AccessLogReplay.AccessEvent>,
  shared: boolean
): Effect.Effect<RunResult> => {
  const virtual = new VirtualClock(0)
  const body = Effect.scoped(Effect.gen(function*() {
    const started = performance.now()
    const emulator = yield* Emulator.make({ journalCapacity: 0 })
    const http = EmulatorHttp.layer(emulator)
    const tokens = TokenProvider.layerStatic()
    // Every secret the log names, written before the clock starts (not counted).
    const names = [...new Set(log.map((e) => e.name))]
    const setup = Context.get(
      yield* Layer.build(
        KeyVault.layer({ vaultUrl: VAULT, cache: { enabled: false }, resilience: { rateLimiter: false } }).pipe(
          Layer.provide(Layer.merge(http, tokens))
        )
      ),
      Secrets
    )
    yield* Effect.forEach(names, (name) => setup.set(name, `${name}:`.padEnd(100, "x")), { concurrency: 8, discard: true })

    const prefix = `akv-bench-${NodeCrypto.randomBytes(4).toString("hex")}`
    const key = Redacted.make(NodeCrypto.randomBytes(32).toString("base64"))
    const reads: Array<number> = []
    let recording = false
    const unsubscribe = emulator.journal.unsafeSubscribe((entry) => {
      if (recording && entry.method === "GET" && entry.tokenPresent && entry.path.startsWith("/secrets/")) {
        reads.push(virtual.unsafeCurrentTimeMillis())
      }
    })
    yield* Effect.addFinalizer(() => Effect.sync(unsubscribe))

    const instances = yield* Effect.forEach(Array.from({ length: settings.instances }), () =>
      Effect.gen(function*() {
        const client = KeyVault.layer({ vaultUrl: VAULT, resilience: { rateLimiter: false } })
        if (shared) {
          const context = yield* Effect.orDie(Layer.build(
            client.pipe(Layer.provideMerge(Layer.mergeAll(http, tokens, FleetCache.layer({ key, prefix, url: REDIS_URL }))))
          ))
          // Learn the challenge before the clock starts, as a running instance would have.
          yield* Effect.ignore(Context.get(context, Secrets).get("bench-warm-up-absent"))
          return {
            secrets: Context.get(context, Secrets),
            cache: Context.get(context, VaultCache),
            fleet: Context.get(context, FleetCache.FleetCache) as FleetCache.FleetCacheService | undefined
          }
        }
        const context = yield* Layer.build(client.pipe(Layer.provideMerge(Layer.merge(http, tokens))))
        yield* Effect.ignore(Context.get(context, Secrets).get("bench-warm-up-absent"))
        return { secrets: Context.get(context, Secrets), cache: Context.get(context, VaultCache), fleet: undefined }
      }))
    const fleets = instances.flatMap((i) => (i.fleet === undefined ? [] : [i.fleet]))
    const inFlight = Effect.map(Effect.forEach(fleets, (f) => f.stats), (all) => all.reduce((n, s) => n + s.inFlight, 0))

    const tracker = new ActivityTracker()
    // Settled: every fiber started is done or asleep on the clock, and no Redis call is awaiting its answer.
    const settled: Effect.Effect<void> = Effect.gen(function*() {
      for (;;) {
        yield* tracker.settled
        if (tracker.live === 0 || (yield* inFlight) === 0) return
        yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
      }
    })
    const runtime = yield* Effect.supervised(Effect.runtime<never>(), tracker)
    const random = Prng.make(settings.seed + 1)
    const sorted = [...log].sort((a, b) => a.atMillis - b.atMillis)
    const lastMillis = sorted.length === 0 ? 0 : sorted[sorted.length - 1]!.atMillis
    // Restarts: instance i at mid-run + i * S / N (memory emptied).
    const restarts = settings.rollingRestart === undefined ? [] : instances.map((_, i) => ({
      at: Math.floor(lastMillis / 2 + (i * settings.rollingRestart! * 1_000) / instances.length),
      instance: i
    }))
    let errors = 0
    let pending = 0
    let r = 0
    let settledAt = 0
    recording = true
    for (let i = 0; i < sorted.length;) {
      const at = sorted[i]!.atMillis
      while (r < restarts.length && restarts[r]!.at <= at) {
        yield* instances[restarts[r]!.instance]!.cache.invalidateAll
        r++
      }
      // Sleepers due before this event (none without a rate limiter, but a waiter's bounded wait may be) run first.
      for (let d = virtual.nextDeadline(); d !== undefined && d <= at; d = virtual.nextDeadline()) {
        virtual.setTime(d)
        yield* settled
      }
      virtual.setTime(at)
      const group: Array<Effect.Effect<void>> = []
      for (; i < sorted.length && sorted[i]!.atMillis === at; i++) {
        const event = sorted[i]!
        const target = instances[Math.floor(random() * instances.length)]!
        pending++
        group.push(
          Effect.flatMap(Effect.exit(target.secrets.get(event.name)), (exit) =>
            Effect.sync(() => {
              pending--
              if (Exit.isFailure(exit)) errors++
            }))
        )
      }
      Runtime.runFork(runtime, group.length === 1 ? group[0]! : Effect.all(group, { concurrency: "unbounded", discard: true }))
      // Redis answers in real time, not simulated time: operations overlap within one simulated second (as they
      // would over a network), and the clock waits for everything at each second's end.
      if (at >= settledAt + SETTLE_MILLIS) {
        yield* settled
        settledAt = at
      }
    }
    for (let guard = 0; pending > 0 && guard < 10_000; guard++) {
      yield* settled
      const d = virtual.nextDeadline()
      if (d !== undefined) virtual.setTime(d)
      else yield* Effect.promise(() => new Promise((res) => setImmediate(res)))
    }
    recording = false
    const stats = yield* Effect.forEach(fleets, (f) => f.stats)
    // Clean up the run's keys.
    if (shared) {
      yield* Effect.promise(async () => {
        const admin = new Redis(REDIS_URL)
        let cursor = "0"
        do {
          const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000)
          cursor = next
          if (keys.length > 0) await admin.del(...keys)
        } while (cursor !== "0")
        admin.disconnect()
      })
    }
    return {
      vaultCalls: reads.length,
      peakPer10s: peak(reads, 10_000),
      coldPeakPer10s: peak(reads.filter((t) => t < 60_000), 10_000),
      errors,
      sharedHits: stats.reduce((n, s) => n + s.hits, 0),
      coalesced: stats.reduce((n, s) => n + s.coalesced, 0),
      fallbacks: stats.reduce((n, s) => n + s.fallbacks, 0),
      seconds: Stats.round((performance.now() - started) / 1000, 1)
    }
  }))
  return Effect.withClock(Effect.withRandom(body, Random.make(settings.seed)), virtual).pipe(Effect.orDie)
}

/** A memory miss answered by the Redis tier: one instance, memory emptied before each timed read. */
const sharedHit = (reads: number): Effect.Effect<number> =>
  Effect.scoped(Effect.gen(function*() {
    const emulator = yield* Emulator.make({ journalCapacity: 0 })
    const prefix = `akv-bench-hit-${NodeCrypto.randomBytes(4).toString("hex")}`
    const layer = KeyVault.layer({ vaultUrl: VAULT, resilience: { rateLimiter: false } }).pipe(
      Layer.provideMerge(Layer.mergeAll(
        EmulatorHttp.layer(emulator),
        TokenProvider.layerStatic(),
        FleetCache.layer({ key: Redacted.make(NodeCrypto.randomBytes(32).toString("base64")), prefix, url: REDIS_URL })
      ))
    )
    const context = yield* Effect.orDie(Layer.build(layer))
    const secrets = Context.get(context, Secrets)
    const cache = Context.get(context, VaultCache)
    const names = Array.from({ length: 100 }, (_, i) => `hit-${i}`)
    for (const name of names) yield* Effect.orDie(secrets.set(name, "v".repeat(100)))
    for (const name of names) yield* Effect.orDie(secrets.get(name))
    const times: Array<number> = []
    for (let i = 0; i < reads; i++) {
      yield* cache.invalidateAll
      const t = performance.now()
      yield* Effect.orDie(secrets.get(names[i % names.length]!))
      times.push((performance.now() - t) * 1000)
    }
    const stats = yield* Context.get(context, FleetCache.FleetCache).stats
    if (stats.hits < reads) throw new Error(`expected ${reads} Redis hits, got ${stats.hits}`)
    yield* Effect.promise(async () => {
      const admin = new Redis(REDIS_URL)
      const keys = await admin.keys(`${prefix}:*`)
      if (keys.length > 0) await admin.del(...keys)
      admin.disconnect()
    })
    return Stats.median(times)
  }))

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const settings = parse(argv)
  const redis = new Redis(REDIS_URL, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  redis.on("error", () => {})
  const up = await redis.connect().then(() => redis.ping(), () => undefined)
  redis.disconnect()
  if (up !== "PONG") throw new Error(`fleet bench: no Redis answers at ${REDIS_URL}`)

  const log = await Effect.runPromise(Effect.orDie(events(settings)).pipe(Effect.provide(NodeFileSystem.layer)))
  console.log(
    `fleet: ${settings.instances} instances, ${log.length} reads over ${
      settings.log ?? `${settings.duration} s of Zipf (s=${settings.exponent}) on ${settings.secrets} secrets at ${settings.rps}/s`
    }, cold start${settings.rollingRestart === undefined ? "" : `, rolling restart over ${settings.rollingRestart} s`}`
  )
  const without = await Effect.runPromise(simulate(settings, log, false))
  console.log(
    `without shared tier (${without.seconds} s real): vault calls ${without.vaultCalls}, peak ${without.peakPer10s}/10 s (cold start ${without.coldPeakPer10s}/10 s), errors ${without.errors}`
  )
  const withShared = await Effect.runPromise(simulate(settings, log, true))
  console.log(
    `with shared tier (${withShared.seconds} s real): vault calls ${withShared.vaultCalls}, peak ${withShared.peakPer10s}/10 s (cold start ${withShared.coldPeakPer10s}/10 s), Redis hits ${withShared.sharedHits}, coalesced ${withShared.coalesced}, fallbacks ${withShared.fallbacks}, errors ${withShared.errors}`
  )
  const hitMedianUs = Stats.round(await Effect.runPromise(sharedHit(settings.hitReads)), 1)
  console.log(`shared-tier hit (memory miss answered by Redis at ${REDIS_URL}): median ${hitMedianUs} us over ${settings.hitReads} reads`)
  const reductionFactor = Stats.round(without.vaultCalls / Math.max(1, withShared.vaultCalls), 1)
  const targets = {
    reductionFactor: reductionFactor >= 20,
    coldStartUnderLimit: withShared.coldPeakPer10s < LIMIT_PER_10S && withShared.peakPer10s < LIMIT_PER_10S,
    noErrors: without.errors === 0 && withShared.errors === 0
  }
  for (const [name, ok] of Object.entries(targets)) console.log(`  ${ok ? "PASS" : "FAIL"}  ${name}`)
  console.log(JSON.stringify({
    suite: "fleet",
    node: process.version,
    instances: settings.instances,
    secrets: settings.log === undefined ? settings.secrets : new Set(log.map((e) => e.name)).size,
    reads: log.length,
    workload: settings.log ?? `zipf s=${settings.exponent} ${settings.rps}/s for ${settings.duration} s, cold start`,
    rollingRestartSeconds: settings.rollingRestart ?? null,
    vaultCallsWithoutShared: without.vaultCalls,
    vaultCallsWithShared: withShared.vaultCalls,
    reductionFactor,
    peakOpsPer10sWithout: without.peakPer10s,
    peakOpsPer10sWith: withShared.peakPer10s,
    coldStartPeakOpsPer10sWithout: without.coldPeakPer10s,
    coldStartPeakOpsPer10sWith: withShared.coldPeakPer10s,
    vaultLimitPer10s: LIMIT_PER_10S,
    sharedHits: withShared.sharedHits,
    sharedCoalesced: withShared.coalesced,
    sharedFallbacks: withShared.fallbacks,
    sharedHitMedianUs: hitMedianUs,
    targets
  }))
}
