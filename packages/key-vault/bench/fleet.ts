/**
 * The fleet, simulated: `AccessLogReplay.replayFleet` (the access-log replay's `--instances` mode, one mechanism for
 * both commands) runs N client instances, each its own `KeyVault.layer` and memory cache and, with the shared tier,
 * its own `FleetCache` connections to a real Redis, over one in-process emulator, under the same Zipf workload (or a
 * recorded access log), in simulated time, once without and once with the shared tier. Vault calls are the
 * authenticated requests the instances send; the peak is the most of them in any 10-second window, against Key
 * Vault's 4,000 operations per 10 s. Then `sharedHitMedianUs`: a read that misses memory and is answered by the Redis
 * tier (the local server), timed alone.
 *
 *   npm run bench -- fleet [--instances 100] [--secrets 1000] [--rps 500] [--duration 3600] [--s 0.99] [--seed 42]
 *                          [--log FILE] [--rolling-restart SECONDS] [--hit-reads 5000]
 *
 * The default workload, "100 instances, 1,000 secrets, one hour, Zipf (s = 0.99), cold start", at 500 secret reads/s
 * for the fleet: 5 reads/s per instance. The argument: an instance of a web service handling ~50 requests/s in which
 * one request in ten resolves a secret through the client (a tenant's connection string, a downstream API key; the
 * rest reuse what they opened). 1 read/s per instance is a nearly idle service and gives per-instance memory caches
 * little to work with; far more reads per instance make the memory caches alone do better. The reduction factor
 * grows with reads per instance (about one vault read per name and TTL for the whole fleet with the tier, about one
 * per name, TTL and instance without), so pass `--rps` to model your own fleet.
 *
 * Real time: the run without the tier costs ~0.2 ms per vault call (most of it the client's own request pipeline,
 * ~0.13 ms with a stub vault; the in-process emulator adds the rest), and the run with the tier one Redis round trip
 * per memory miss as Effect awaits it (~0.1 ms). A memory hit costs ~3 us. The default run makes ~0.5 million vault
 * calls without the tier, so it takes 6 to 8 minutes on a 2-core machine (measured: 369 s and 459 s); a shorter
 * `--duration` scales it down.
 * Every instance starts cold at time 0 (a deployment). `--rolling-restart S` also restarts the instances one after
 * another, evenly over S seconds from the middle of the run. Events go to instances uniformly at random (seeded).
 * The rate limiter is off, so the figures are the demand the vault would see.
 *
 * Needs Redis at REDIS_URL (default redis://127.0.0.1:6379). Prints as it goes; the last line is one JSON object.
 */
import * as EmulatorHttp from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import * as NodeCrypto from "node:crypto"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import type { SharedTier } from "../src/cache/SharedTier.js"
import { VaultCache } from "../src/cache/VaultCache.js"
import type { ValidationError } from "../src/errors/KeyVaultError.js"
import * as FleetCache from "../src/fleet/FleetCache.js"
import * as KeyVault from "../src/KeyVault.js"
import * as AccessLogReplay from "../src/replay/AccessLogReplay.js"
import { Secrets } from "../src/secrets/Secrets.js"
import * as Args from "./Args.js"
import * as Stats from "./Stats.js"

const VAULT = "https://fleet-bench.vault.azure.net"
/** The Redis the bench and `npm run replay -- --instances` use. */
export const REDIS_URL = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379"

/** What `npm run bench -- fleet --help` prints. */
export const usage = `usage: npm run bench -- fleet [--instances 100] [--secrets 1000] [--rps 500] [--duration 3600] [--s 0.99]
                            [--seed 42] [--log FILE] [--rolling-restart SECONDS] [--hit-reads 5000]
  --instances N         client instances in the fleet
  --secrets N, --rps R, --duration S, --s X, --seed N   the Zipf workload (fleet-wide reads per second)
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

/** Whether a Redis server answers PING at `url` within a second. */
export const redisAnswers = async (url: string): Promise<boolean> => {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 1_000, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  redis.on("error", () => {})
  const up = await redis.connect().then(() => redis.ping(), () => undefined)
  redis.disconnect()
  return up === "PONG"
}

/** Deletes every key under `prefix` (SCAN, then DEL). */
const dropPrefix = (url: string, prefix: string): Effect.Effect<void> =>
  Effect.promise(async () => {
    const admin = new Redis(url, { maxRetriesPerRequest: 1 })
    admin.on("error", () => {})
    try {
      let cursor = "0"
      do {
        const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000)
        cursor = next
        if (keys.length > 0) await admin.del(...keys)
      } while (cursor !== "0")
    } finally {
      admin.disconnect()
    }
  })

/**
 * A fleet tier for one run: a fresh tier key and key prefix, whose keys are deleted when the scope closes. Every
 * instance built from the Layer shares the key and prefix and has its own connections.
 */
export const runTier = (
  url: string = REDIS_URL
): Effect.Effect<Layer.Layer<FleetCache.FleetCache | SharedTier, ValidationError>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const prefix = `akv-fleet-${NodeCrypto.randomBytes(4).toString("hex")}`
    yield* Effect.addFinalizer(() => dropPrefix(url, prefix))
    // Simulated time runs far faster than real time: a window of simulated traffic reaches Redis as one burst from
    // one busy process, so a real-time command timeout would measure the simulator, not Redis. It is set high here.
    return FleetCache.layer({
      key: Redacted.make(NodeCrypto.randomBytes(32).toString("base64")),
      prefix,
      url,
      commandTimeout: "30 seconds"
    })
  })

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

/** A memory miss answered by the Redis tier: one instance, memory emptied before each timed read. */
const sharedHit = (reads: number): Effect.Effect<number> =>
  Effect.scoped(Effect.gen(function*() {
    const layer = KeyVault.layer({ vaultUrl: VAULT, resilience: { rateLimiter: false } }).pipe(
      Layer.provideMerge(Layer.mergeAll(EmulatorHttp.layerFresh({ journalCapacity: 0 }), TokenProvider.layerStatic(), yield* runTier()))
    )
    const context = yield* Effect.orDie(Layer.build(layer))
    const secrets = Context.get(context, Secrets)
    const cache = Context.get(context, VaultCache)
    const names = Array.from({ length: 100 }, (_, i) => `hit-${i}`)
    for (const name of names) yield* Effect.orDie(secrets.set(name, "v".repeat(100)))
    for (const name of names) yield* Effect.orDie(secrets.get(name))
    const before = yield* Context.get(context, FleetCache.FleetCache).stats
    const times: Array<number> = []
    for (let i = 0; i < reads; i++) {
      yield* cache.invalidateAll
      const t = performance.now()
      yield* Effect.orDie(secrets.get(names[i % names.length]!))
      times.push((performance.now() - t) * 1000)
    }
    const stats = yield* Context.get(context, FleetCache.FleetCache).stats
    if (stats.hits - before.hits < reads) throw new Error(`expected ${reads} Redis hits, got ${stats.hits - before.hits}`)
    return Stats.median(times)
  }))

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const settings = parse(argv)
  if (!(await redisAnswers(REDIS_URL))) throw new Error(`fleet bench: no Redis answers at ${REDIS_URL}`)

  const log = await Effect.runPromise(Effect.orDie(events(settings)).pipe(Effect.provide(NodeFileSystem.layer)))
  console.log(
    `fleet: ${settings.instances} instances, ${log.length} reads over ${
      settings.log ?? `${settings.duration} s of Zipf (s=${settings.exponent}) on ${settings.secrets} secrets at ${settings.rps}/s`
    }, cold start${settings.rollingRestart === undefined ? "" : `, rolling restart over ${settings.rollingRestart} s`}`
  )
  const started = performance.now()
  const report = await Effect.runPromise(
    Effect.scoped(Effect.gen(function*() {
      const sharedTier = yield* runTier()
      return yield* AccessLogReplay.replayFleet(log, {
        instances: settings.instances,
        sharedTier,
        vaultUrl: VAULT,
        seed: settings.seed,
        ...(settings.rollingRestart === undefined ? {} : { rollingRestart: { spread: `${settings.rollingRestart} seconds` } })
      })
    })).pipe(
      Effect.provide(Layer.merge(EmulatorHttp.layerFresh({ journalCapacity: 0 }), TokenProvider.layerStatic())),
      Effect.orDie
    )
  )
  const simulationSeconds = Stats.round((performance.now() - started) / 1000, 1)
  console.log(AccessLogReplay.formatFleet(report))
  console.log(`  real time ${simulationSeconds} s for both runs`)
  const hitMedianUs = Stats.round(await Effect.runPromise(sharedHit(settings.hitReads)), 1)
  console.log(`shared-tier hit (memory miss answered by Redis at ${REDIS_URL}): median ${hitMedianUs} us over ${settings.hitReads} reads`)
  const without = report.withoutShared
  const withShared = report.withShared!
  const reductionFactor = Stats.round(without.vaultRequests / Math.max(1, withShared.vaultRequests), 1)
  const errors = (run: AccessLogReplay.FleetRun) =>
    [...Object.values(run.readErrors), ...Object.values(run.writeErrors)].reduce((a, b) => a + b, 0)
  const targets = {
    reductionFactor: reductionFactor >= 20,
    coldStartUnderLimit: withShared.coldStartPeakRequestsPer10s < report.limits.operations &&
      withShared.peakRequestsPer10s < report.limits.operations,
    noErrors: errors(without) === 0 && errors(withShared) === 0
  }
  for (const [name, ok] of Object.entries(targets)) console.log(`  ${ok ? "PASS" : "FAIL"}  ${name}`)
  console.log(JSON.stringify({
    suite: "fleet",
    node: process.version,
    instances: settings.instances,
    secrets: settings.log === undefined ? settings.secrets : new Set(log.map((e) => e.name)).size,
    reads: report.totalReads,
    workload: settings.log ?? `zipf s=${settings.exponent} ${settings.rps}/s for ${settings.duration} s, cold start`,
    rollingRestartSeconds: settings.rollingRestart ?? null,
    vaultCallsWithoutShared: without.vaultRequests,
    vaultCallsWithShared: withShared.vaultRequests,
    reductionFactor,
    peakOpsPer10sWithout: without.peakRequestsPer10s,
    peakOpsPer10sWith: withShared.peakRequestsPer10s,
    coldStartPeakOpsPer10sWithout: without.coldStartPeakRequestsPer10s,
    coldStartPeakOpsPer10sWith: withShared.coldStartPeakRequestsPer10s,
    vaultLimitPer10s: report.limits.operations,
    sharedHits: withShared.shared?.hits ?? 0,
    sharedCoalesced: withShared.shared?.coalesced ?? 0,
    sharedFallbacks: withShared.shared?.fallbacks ?? 0,
    sharedHitMedianUs: hitMedianUs,
    simulationSeconds,
    targets
  }))
}
