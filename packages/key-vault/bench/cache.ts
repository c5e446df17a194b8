/**
 * The cache, measured in one run: hit latency (Effect program, Promise facade, encryption at rest), cached reads vs
 * the official `SecretClient`, what the cache saves on a simulated hour of Zipf traffic (AccessLogReplay), what
 * refresh-ahead buys and costs, request coalescing, and memory per entry.
 *
 *   npm run bench -- cache [--reads 1000000] [--promise-reads 200000] [--entries 100000] [--seconds 2]
 *
 * Both clients reach the same in-process emulator without sockets: ours through the emulator's `HttpClient` layer,
 * the SDK through its in-process transport (`makeAzureHttpClient`). Every figure is printed as it is measured; the
 * last line is one JSON object with all of them and the pass/fail of each target.
 */
import { SecretClient } from "@azure/keyvault-secrets"
import * as Emulator from "@effect-azure/key-vault-emulator/Emulator"
import * as EmulatorHttp from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import { makeAzureHttpClient } from "@effect-azure/key-vault-emulator/testing/AzureSdkTransport"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import type * as CacheConfig from "../src/cache/CacheConfig.js"
import { VaultCache } from "../src/cache/VaultCache.js"
import * as KeyVault from "../src/KeyVault.js"
import * as AccessLogReplay from "../src/replay/AccessLogReplay.js"
import { Secrets, type SecretsService } from "../src/secrets/Secrets.js"
import * as Stats from "./Stats.js"

const VAULT = "https://bench.vault.azure.net"
const BATCH = 1_000
const NAMES = 1_000
const VALUE = "v".repeat(100)

interface Settings {
  readonly reads: number
  readonly promiseReads: number
  readonly entries: number
  readonly seconds: number
}

/** What `npm run bench -- cache --help` prints. */
export const usage = `usage: npm run bench -- cache [--reads 1000000] [--promise-reads 200000] [--entries 100000] [--seconds 2]
  --reads N          cache hits timed through the Effect API (rounded to batches of ${BATCH})
  --promise-reads N  cache hits timed through Effect.runPromise
  --entries N        entries for the memory measurement
  --seconds S        length of each throughput window
Prints what it measures as it goes; the last line is one JSON object.`

const parse = (argv: ReadonlyArray<string>): Settings => {
  const value = (flag: string, fallback: number): number => {
    const at = argv.indexOf(flag)
    const raw = at === -1 ? undefined : Number(argv[at + 1])
    return raw !== undefined && Number.isFinite(raw) && raw > 0 ? raw : fallback
  }
  return {
    reads: Math.max(BATCH, Math.floor(value("--reads", 1_000_000) / BATCH) * BATCH),
    promiseReads: Math.max(BATCH, Math.floor(value("--promise-reads", 200_000) / BATCH) * BATCH),
    entries: Math.floor(value("--entries", 100_000)),
    seconds: value("--seconds", 2)
  }
}

const log = (line: string): Effect.Effect<void> => Effect.sync(() => console.log(line))

const round = (x: number, digits = 1): number => Stats.round(x, digits)

const emulatorOptions = { journalCapacity: 0 }

/** `global.gc`, from `--expose-gc` or, failing that, enabled at run time. */
const gc: () => void = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc
  if (typeof exposed === "function") return exposed
  V8.setFlagsFromString("--expose-gc")
  return Vm.runInNewContext("gc") as () => void
})()

const settleHeap = async (): Promise<number> => {
  for (let i = 0; i < 4; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage().heapUsed
}

/**
 * The client on an emulator, with the cache options given. Its rate limiter is off: it holds a client to 80% of
 * Azure's 4,000 operations / 10 s, which would make every miss-bound figure here measure the limiter (320/s), and the
 * SDK it is compared with has none.
 */
const clientLayer = (emulator: Emulator.Emulator, cache: CacheConfig.CacheOptions) =>
  KeyVault.layer({ vaultUrl: VAULT, cache, resilience: { rateLimiter: false } }).pipe(
    Layer.provide(Layer.merge(EmulatorHttp.layer(emulator), TokenProvider.layerStatic()))
  )

/** Realistic names (`payments-api-db-password-017`, ...) in a scrambled Zipf(0.99) order, `count` of them. */
const zipfOrder = (count: number): Effect.Effect<ReadonlyArray<string>, AccessLogReplay.WorkloadOptionsError> =>
  Effect.map(
    AccessLogReplay.zipf({ secrets: NAMES, exponent: 0.99, requestsPerSecond: 1_000, durationSeconds: count / 1_000 + 20, seed: 7 }),
    (events) => {
      const names = events.map((e) => e.name)
      while (names.length < count) names.push(...names.slice(0, count - names.length))
      return names.slice(0, count)
    }
  )

/** Median per-read time over batches of `BATCH` reads inside one Effect program, plus p90. */
const timeHits = (secrets: SecretsService, order: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const samples: Array<number> = []
    for (let b = 0; b < order.length; b += BATCH) {
      const t0 = process.hrtime.bigint()
      for (let i = b; i < b + BATCH; i++) yield* secrets.get(order[i]!)
      samples.push(Number(process.hrtime.bigint() - t0) / BATCH)
    }
    return { median: Stats.median(samples), p90: Stats.percentile(samples, 0.9), batches: samples.length }
  })

/** The same through a Promise per read. */
const timePromiseHits = async (
  run: (name: string) => Promise<unknown>,
  order: ReadonlyArray<string>
): Promise<{ readonly median: number; readonly p90: number }> => {
  const samples: Array<number> = []
  for (let b = 0; b < order.length; b += BATCH) {
    const t0 = process.hrtime.bigint()
    for (let i = b; i < b + BATCH; i++) await run(order[i]!)
    samples.push(Number(process.hrtime.bigint() - t0) / BATCH)
  }
  return { median: Stats.median(samples), p90: Stats.percentile(samples, 0.9) }
}

/** Reads per second over `seconds`, sequentially, cycling through `order`. */
const throughput = async (run: (name: string) => Promise<unknown>, order: ReadonlyArray<string>, seconds: number) => {
  const deadline = performance.now() + seconds * 1000
  const start = performance.now()
  let count = 0
  while (performance.now() < deadline) {
    for (let i = 0; i < 100; i++) await run(order[(count + i) % order.length]!)
    count += 100
  }
  return (count * 1000) / (performance.now() - start)
}

const effectThroughput = (secrets: SecretsService, order: ReadonlyArray<string>, seconds: number) =>
  Effect.gen(function*() {
    const start = performance.now()
    const deadline = start + seconds * 1000
    let count = 0
    while (performance.now() < deadline) {
      for (let i = 0; i < 1_000; i++) yield* secrets.get(order[(count + i) % order.length]!)
      count += 1_000
    }
    return (count * 1000) / (performance.now() - start)
  })

const seed = (emulator: Emulator.Emulator, names: ReadonlyArray<string>) =>
  Effect.forEach(names, (name) => emulator.engine.secrets.set(name, { value: Redacted.make(VALUE) }), { discard: true })

const program = (settings: Settings) =>
  Effect.gen(function*() {
    yield* log(`cache bench: node ${process.version}, ${settings.reads.toLocaleString("en-US")} hit reads per figure, ` +
      `batches of ${BATCH}; both clients in-process against the same emulator (no sockets)`)
    const names = Array.from({ length: NAMES }, (_, i) => AccessLogReplay.secretName(i))
    const order = yield* zipfOrder(settings.reads)
    const emulator = yield* Emulator.make(emulatorOptions)
    yield* seed(emulator, names)

    // --- 1. Hits inside an Effect program, and through Promise facades ---------------------------------------
    const hitCache: CacheConfig.CacheOptions = { ttl: "1 hour" }
    const runtime = ManagedRuntime.make(clientLayer(emulator, hitCache))
    const secrets = yield* Effect.promise(() => runtime.runPromise(Secrets))
    const cache = yield* Effect.promise(() => runtime.runPromise(VaultCache))
    yield* Effect.promise(() => runtime.runPromise(Effect.forEach(names, (n) => secrets.get(n), { discard: true })))
    const before = yield* cache.stats
    // JIT warm-up, then the measured pass.
    yield* timeHits(secrets, order.slice(0, 200_000))
    const hit = yield* timeHits(secrets, order)
    yield* log(`hit (Effect program)             median ${round(hit.median)} ns  p90 ${round(hit.p90)} ns  (${hit.batches} batches)`)

    const promiseOrder = order.slice(0, settings.promiseReads)
    yield* Effect.promise(() => timePromiseHits((n) => Effect.runPromise(secrets.get(n)), promiseOrder.slice(0, 20_000)))
    const promiseHit = yield* Effect.promise(() => timePromiseHits((n) => Effect.runPromise(secrets.get(n)), promiseOrder))
    yield* log(`hit (Effect.runPromise per read)  median ${round(promiseHit.median)} ns  p90 ${round(promiseHit.p90)} ns  ` +
      `(${promiseOrder.length.toLocaleString("en-US")} reads)`)
    const viaRuntime = (n: string) => runtime.runPromise(Effect.flatMap(Secrets, (s) => s.get(n)))
    yield* Effect.promise(() => timePromiseHits(viaRuntime, promiseOrder.slice(0, 20_000)))
    const runtimeHit = yield* Effect.promise(() => timePromiseHits(viaRuntime, promiseOrder))
    yield* log(`hit (ManagedRuntime.runPromise)   median ${round(runtimeHit.median)} ns  p90 ${round(runtimeHit.p90)} ns  ` +
      `(${promiseOrder.length.toLocaleString("en-US")} reads)`)
    const after = yield* cache.stats
    if (after.misses !== before.misses) {
      return yield* Effect.dieMessage(`hit measurement saw ${after.misses - before.misses} misses`)
    }

    // --- 2. Encryption at rest ---------------------------------------------------------------------------------
    const encRuntime = ManagedRuntime.make(clientLayer(emulator, { ...hitCache, encryptAtRest: true }))
    const encSecrets = yield* Effect.promise(() => encRuntime.runPromise(Secrets))
    yield* Effect.promise(() => encRuntime.runPromise(Effect.forEach(names, (n) => encSecrets.get(n), { discard: true })))
    yield* timeHits(encSecrets, order.slice(0, 200_000))
    const encHit = yield* timeHits(encSecrets, order)
    yield* log(`hit, encrypted at rest            median ${round(encHit.median)} ns  p90 ${round(encHit.p90)} ns`)
    yield* Effect.promise(() => encRuntime.dispose())

    // --- 3. Throughput: ours cached vs the official SDK (no cache) on the same emulator -----------------------
    const cachedOpsPerSec = yield* effectThroughput(secrets, order, settings.seconds)
    const cachedPromiseOpsPerSec = yield* Effect.promise(() =>
      throughput((n) => Effect.runPromise(secrets.get(n)), order, settings.seconds))
    const sdk = new SecretClient(VAULT, {
      getToken: async () => ({ token: "bench", expiresOnTimestamp: Date.now() + 3_600_000 })
    }, { httpClient: makeAzureHttpClient(emulator) })
    yield* Effect.promise(() => throughput((n) => sdk.getSecret(n), order, 0.5))
    const sdkOpsPerSec = yield* Effect.promise(() => throughput((n) => sdk.getSecret(n), order, settings.seconds))
    const uncached = ManagedRuntime.make(clientLayer(emulator, { enabled: false }))
    const uncachedSecrets = yield* Effect.promise(() => uncached.runPromise(Secrets))
    yield* effectThroughput(uncachedSecrets, order, 0.5)
    const uncachedOpsPerSec = yield* effectThroughput(uncachedSecrets, order, settings.seconds)
    yield* Effect.promise(() => uncached.dispose())
    yield* Effect.promise(() => runtime.dispose())
    yield* log(`throughput, sequential reads: ours cached ${round(cachedOpsPerSec, 0)}/s (Effect), ` +
      `${round(cachedPromiseOpsPerSec, 0)}/s (runPromise per read); ours uncached ${round(uncachedOpsPerSec, 0)}/s ` +
      `(rate limiter off); ` +
      `SecretClient ${round(sdkOpsPerSec, 0)}/s (in-process SDK transport)`)

    // --- 4. Simulated hour of Zipf traffic, refresh-ahead on and off -------------------------------------------
    const workload = yield* AccessLogReplay.zipf({ secrets: 1_000, exponent: 0.99, requestsPerSecond: 100, durationSeconds: 3_600, seed: 42 })
    const replay = (cacheOptions: CacheConfig.CacheOptions) =>
      AccessLogReplay.replay(workload, { cache: cacheOptions }).pipe(
        Effect.provide(Layer.merge(EmulatorHttp.layerFresh(emulatorOptions), TokenProvider.layerStatic()))
      )
    let t0 = performance.now()
    const on = yield* replay({ ttl: "5 minutes" })
    yield* log(`zipf hour, refresh-ahead 0.8 (${round((performance.now() - t0) / 1000)} s real): ` +
      `hit ratio ${round(100 * on.hitRatio, 2)}%, vault load saved ${on.vaultLoadSavedPct}%, vault requests ` +
      `${on.vaultRequests}, refreshes ${on.refreshes}, waited after warm-up ${on.userVisibleMissesAfterWarmup}, ` +
      `peak ${on.peakRequestsPer10s}/10 s`)
    t0 = performance.now()
    const off = yield* replay({ ttl: "5 minutes", refreshAhead: false })
    yield* log(`zipf hour, refresh-ahead off (${round((performance.now() - t0) / 1000)} s real): ` +
      `hit ratio ${round(100 * off.hitRatio, 2)}%, vault load saved ${off.vaultLoadSavedPct}%, vault requests ` +
      `${off.vaultRequests}, waited after warm-up ${off.userVisibleMissesAfterWarmup}, peak ${off.peakRequestsPer10s}/10 s`)

    // --- 5. Coalescing: 1,000 concurrent cold reads of 10 names ------------------------------------------------
    const burst = Array.from({ length: 1_000 }, (_, i) => ({ atMillis: 0, op: "read" as const, name: names[i % 10]! }))
    const coalescing = yield* AccessLogReplay.replay(burst).pipe(
      Effect.provide(Layer.merge(EmulatorHttp.layerFresh(emulatorOptions), TokenProvider.layerStatic()))
    )
    yield* log(`coalescing: 1,000 concurrent cold reads of 10 names -> ${coalescing.vaultRequests} vault requests ` +
      `(misses ${coalescing.cache.misses}, coalesced ${coalescing.cache.coalesced})`)

    // --- 6. Memory per entry ------------------------------------------------------------------------------------
    const memNames = Array.from({ length: settings.entries }, (_, i) => `mem-${AccessLogReplay.secretName(i)}`)
    const memEmulator = yield* Emulator.make(emulatorOptions)
    yield* seed(memEmulator, memNames)
    const memRuntime = ManagedRuntime.make(
      clientLayer(memEmulator, { ttl: "1 hour", maxEntries: settings.entries + 1_000 })
    )
    const memSecrets = yield* Effect.promise(() => memRuntime.runPromise(Secrets))
    const memCache = yield* Effect.promise(() => memRuntime.runPromise(VaultCache))
    // One miss first, so the challenge, the JIT and every lazily built structure exist before the baseline.
    yield* Effect.promise(() => memRuntime.runPromise(memSecrets.get(memNames[0]!)))
    yield* memCache.invalidateAll
    const heapBefore = yield* Effect.promise(settleHeap)
    t0 = performance.now()
    yield* Effect.promise(() => memRuntime.runPromise(Effect.forEach(memNames, (n) => memSecrets.get(n), { discard: true })))
    const fillSeconds = (performance.now() - t0) / 1000
    const heapAfter = yield* Effect.promise(settleHeap)
    const memStats = yield* memCache.stats
    if (memStats.size !== settings.entries) {
      return yield* Effect.dieMessage(`expected ${settings.entries} cached entries, found ${memStats.size}`)
    }
    const grossBytesPerEntry = (heapAfter - heapBefore) / settings.entries
    const bytesPerEntry = grossBytesPerEntry - 100
    yield* log(`memory: ${memStats.size.toLocaleString("en-US")} entries of 100-byte secrets (filled through the client in ` +
      `${round(fillSeconds)} s); heap +${round((heapAfter - heapBefore) / 1048576)} MiB = ${round(grossBytesPerEntry)} B/entry ` +
      `gross, ${round(bytesPerEntry)} B/entry after subtracting the 100 value bytes`)
    yield* log("  (each entry: the cache's Entry and map slot, the compact cached secret with its version string; the " +
      "entries were filled by misses, so none is among the hot entries that keep a decoded Secret)")
    yield* Effect.promise(() => memRuntime.dispose())

    // --- Summary ---------------------------------------------------------------------------------------------
    const missReductionFactor = on.userVisibleMissesAfterWarmup === 0
      ? null
      : off.userVisibleMissesAfterWarmup / on.userVisibleMissesAfterWarmup
    const refreshExtraCallsPct = 100 * (on.vaultRequests - off.vaultRequests) / off.vaultRequests
    const zipfSavedPct = 100 * on.hitRatio
    const targets = {
      hitMedianNs: { target: "<= 1000", pass: hit.median <= 1000 },
      zipfSavedPct: { target: ">= 96", pass: zipfSavedPct >= 96 },
      missReductionFactor: {
        target: ">= 3",
        pass: missReductionFactor === null ? off.userVisibleMissesAfterWarmup > 0 : missReductionFactor >= 3
      },
      refreshExtraCallsPct: { target: "<= 30", pass: refreshExtraCallsPct <= 30 },
      coalescedVaultRequests: { target: "== 10", pass: coalescing.vaultRequests === 10 },
      bytesPerEntry: { target: "<= 600", pass: bytesPerEntry <= 600 }
    }
    for (const [name, { pass, target }] of Object.entries(targets)) {
      yield* log(`  ${pass ? "PASS" : "FAIL"}  ${name} ${target}`)
    }
    const summary = {
      suite: "cache",
      node: process.version,
      transport: "in-process (emulator HttpClient layer for ours, makeAzureHttpClient for SecretClient), no sockets",
      hitReads: settings.reads,
      hitMedianNs: round(hit.median),
      hitP90Ns: round(hit.p90),
      promiseHitReads: settings.promiseReads,
      promiseHitMedianNs: round(promiseHit.median),
      managedRuntimePromiseHitMedianNs: round(runtimeHit.median),
      encryptedHitMedianNs: round(encHit.median),
      cachedOpsPerSec: round(cachedOpsPerSec, 0),
      cachedPromiseOpsPerSec: round(cachedPromiseOpsPerSec, 0),
      uncachedOpsPerSec: round(uncachedOpsPerSec, 0),
      sdkOpsPerSec: round(sdkOpsPerSec, 0),
      cachedVsSdkRatio: round(cachedOpsPerSec / sdkOpsPerSec, 1),
      cachedPromiseVsSdkRatio: round(cachedPromiseOpsPerSec / sdkOpsPerSec, 1),
      zipfSavedPct: round(zipfSavedPct, 2),
      zipfSavedPctDefinition: "100 x hitRatio: reads that did not start a vault request of their own (refresh-ahead 0.8)",
      zipfVaultLoadSavedPct: on.vaultLoadSavedPct,
      zipfVaultLoadSavedPctRefreshOff: off.vaultLoadSavedPct,
      zipfVaultRequestsOn: on.vaultRequests,
      zipfVaultRequestsOff: off.vaultRequests,
      userVisibleMissesAfterWarmupOn: on.userVisibleMissesAfterWarmup,
      userVisibleMissesAfterWarmupOff: off.userVisibleMissesAfterWarmup,
      missReductionFactor: missReductionFactor === null ? null : round(missReductionFactor, 2),
      refreshExtraCallsPct: round(refreshExtraCallsPct, 1),
      peakRequestsPer10s: on.peakRequestsPer10s,
      coalescedVaultRequests: coalescing.vaultRequests,
      memoryEntries: settings.entries,
      grossBytesPerEntry: round(grossBytesPerEntry),
      bytesPerEntry: round(bytesPerEntry),
      bytesPerEntryDefinition:
        "(heapUsed after gc with N entries cached - heapUsed after gc with the cache empty) / N - 100 (the value's " +
        "UTF-8 bytes); includes the cache entry and its map slot and the compact cached secret (version string, metadata); " +
        "at most hotEntries (1,024) recently hit entries also keep their decoded Secret",
      targets: Object.fromEntries(Object.entries(targets).map(([k, v]) => [k, v.pass]))
    }
    yield* log(JSON.stringify(summary))
  })

/**
 * Entry point for `bench/run.ts`.
 *
 * @since 0.1.0
 */
export const main = (argv: ReadonlyArray<string>): Promise<void> => Effect.runPromise(program(parse(argv)))
