/**
 * The replay loop: builds the real client (`KeyVault.layer`) under a simulated clock, pre-creates every secret the
 * log names, then plays the events in time order and records what reached the vault.
 *
 * Step semantics: events are grouped by millisecond. For each group the clock moves to its time (waking, in order
 * and each at its own deadline, any fiber asleep on the clock before then), the group's events start concurrently,
 * and the step ends when everything it started has settled: done, including loads and refresh-ahead fibers the cache
 * forked into its own scope, or asleep on the clock (a rate limiter's wait), to be woken by a later move. The vault
 * answers in zero simulated time, so a miss completes within its millisecond.
 *
 * Secrets are pre-created through a second client (no cache, no rate limiter) on the unwrapped `HttpClient`, so the
 * replayed client starts cold, with a rate limiter whose windows are empty; its authentication challenge is learned
 * with one list request before recording starts. None of that is counted.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as ConfigError from "effect/ConfigError"
import type { ValidationError } from "../../errors/KeyVaultError.js"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import { TokenProvider } from "../../auth/TokenProvider.js"
import type * as CacheConfig from "../../cache/CacheConfig.js"
import { type CacheStats, VaultCache } from "../../cache/VaultCache.js"
import * as KeyVault from "../../KeyVault.js"
import type { ResilienceOptions } from "../../resilience/ResilienceConfig.js"
import { Secrets } from "../../secrets/Secrets.js"
import { ActivityTracker } from "./ActivityTracker.js"
import { VirtualClock } from "./VirtualClock.js"

/** One event, as the runner takes it. */
export interface RunEvent {
  readonly atMillis: number
  readonly op: "read" | "write"
  readonly name: string
  readonly version?: string | undefined
}

/** Runner settings, all resolved. */
export interface RunOptions {
  readonly vaultUrl: string
  readonly cache: CacheConfig.CacheOptions
  readonly clock: "virtual" | "TestClock"
  readonly seed: number
  readonly valueBytes: number
  readonly startMillis: number
  /** `undefined`: the cache's TTL. */
  readonly warmupMillis: number | undefined
  /** The replayed client's resilience policy; `undefined`: the client's defaults. */
  readonly resilience: ResilienceOptions | undefined
}

/** What the runner saw; the public module turns it into a report. */
export interface RunResult {
  readonly cacheEnabled: boolean
  readonly warmupMillis: number
  readonly events: number
  readonly lastEventMillis: number
  readonly reads: number
  readonly writes: number
  readonly readsAfterWarmup: number
  /** Operations still not finished when the replay gave up waiting (asleep beyond the drain horizon). */
  readonly unfinished: number
  readonly readErrors: Readonly<Record<string, number>>
  readonly writeErrors: Readonly<Record<string, number>>
  readonly baseline: CacheStats
  readonly atWarmup: CacheStats
  readonly final: CacheStats
  /** Simulated times (ms since the replay's start) of every request that reached the vault, in order. */
  readonly readRequestTimes: ReadonlyArray<number>
  readonly writeRequestTimes: ReadonlyArray<number>
}

/** A pre-creation write that failed: the replay cannot start. */
export interface SetupFailure {
  readonly _tag: "SetupFailure"
  readonly name: string
  readonly reason: string
}

/** The value written for a label: `bytes` long, never anything real. */
export const valueOf = (label: string, bytes: number): string => `${label}:`.padEnd(bytes, "x").slice(0, bytes)

/** The tag of a failed operation's error, for the report's error counts. */
export const tagOf = (cause: Cause.Cause<unknown>): string =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => (Cause.isInterruptedOnly(cause) ? "Interrupted" : "Defect"),
    onSome: (error) =>
      typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
        ? error._tag
        : "Unknown"
  })

/** Groups sorted events by millisecond. */
export const groups = (events: ReadonlyArray<RunEvent>): Array<ReadonlyArray<RunEvent>> => {
  const sorted = events.map((event, index) => ({ event, index }))
  sorted.sort((a, b) => a.event.atMillis - b.event.atMillis || a.index - b.index)
  const out: Array<Array<RunEvent>> = []
  let current: Array<RunEvent> | undefined
  for (const { event } of sorted) {
    if (current !== undefined && current[0]!.atMillis === event.atMillis) current.push(event)
    else {
      current = [event]
      out.push(current)
    }
  }
  return out
}

/** How long after the last event the runner keeps moving the clock for operations still asleep on it. */
export const DRAIN_HORIZON_MILLIS = 15 * 60_000

/**
 * Writes every secret the log names (and one version per distinct version label of a read), in order of first
 * appearance, through `setup` (a client without cache or rate limiter); answers the real version id of each label,
 * by lower-case name.
 */
export const precreate = (
  events: ReadonlyArray<RunEvent>,
  setup: Context.Tag.Service<Secrets>,
  valueBytes: number
): Effect.Effect<Map<string, Map<string, string>>, SetupFailure> =>
  Effect.gen(function*() {
    const labels = new Map<string, { readonly name: string; readonly labels: Array<string> }>()
    for (const event of events) {
      const key = event.name.toLowerCase()
      let entry = labels.get(key)
      if (entry === undefined) {
        entry = { name: event.name, labels: [] }
        labels.set(key, entry)
      }
      if (event.op === "read" && event.version !== undefined && !entry.labels.includes(event.version)) {
        entry.labels.push(event.version)
      }
    }
    const versionIds = new Map<string, Map<string, string>>()
    yield* Effect.forEach(labels, ([key, { labels: versionLabels, name }]) =>
      Effect.gen(function*() {
        const ids = new Map<string, string>()
        versionIds.set(key, ids)
        for (const label of versionLabels.length === 0 ? [undefined] : versionLabels) {
          const created = yield* Effect.mapError(
            setup.set(name, valueOf(`${name}@${label ?? "latest"}`, valueBytes)),
            (error): SetupFailure => ({ _tag: "SetupFailure", name, reason: `${error._tag}: ${error.message}` })
          )
          if (label !== undefined && created.properties.version !== undefined) {
            ids.set(label, created.properties.version)
          }
        }
      }), { concurrency: 8, discard: true })
    return versionIds
  })

/** Runs a replay; needs the vault's `HttpClient` (the emulator's) and a `TokenProvider`. */
export const run = (
  events: ReadonlyArray<RunEvent>,
  options: RunOptions
): Effect.Effect<RunResult, ConfigError.ConfigError | ValidationError | SetupFailure, HttpClient.HttpClient | TokenProvider> =>
  Effect.gen(function*() {
    const baseClient = yield* HttpClient.HttpClient
    const tokens = yield* TokenProvider
    const start = options.startMillis
    const recorder = { on: false, reads: [] as Array<number>, writes: [] as Array<number> }
    // New client objects, one per client built here: the transport keeps its per-vault state (challenge, rate
    // limiter) per `HttpClient` object, so neither shares it with the other or with clients the caller built.
    const counted = HttpClient.tapRequest(baseClient, (request) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        if (!recorder.on) return
        if (request.method === "GET") recorder.reads.push(now - start)
        else recorder.writes.push(now - start)
      }))
    const tokenLayer = Layer.succeed(TokenProvider, tokens)
    const replayed = KeyVault.layer({
      vaultUrl: options.vaultUrl,
      cache: options.cache,
      ...(options.resilience === undefined ? {} : { resilience: options.resilience })
    }).pipe(Layer.provide(Layer.merge(Layer.succeed(HttpClient.HttpClient, counted), tokenLayer)))
    const setupClient = KeyVault.layer({
      vaultUrl: options.vaultUrl,
      cache: { enabled: false },
      resilience: { rateLimiter: false }
    }).pipe(Layer.provide(Layer.merge(
      Layer.succeed(HttpClient.HttpClient, HttpClient.mapRequest(baseClient, (request) => request)),
      tokenLayer
    )))

    const virtual = new VirtualClock(start)
    const tracker = new ActivityTracker()
    const nextDeadline: Effect.Effect<number | undefined> = options.clock === "virtual"
      ? Effect.sync(() => virtual.nextDeadline())
      : Effect.map(TestClock.sleeps(), (sleeps) => Chunk.reduce(sleeps, undefined as number | undefined, (min, at) =>
        min === undefined || at < min ? at : min))
    const setTime = (at: number): Effect.Effect<void> =>
      options.clock === "virtual" ? Effect.sync(() => virtual.setTime(at)) : TestClock.setTime(at)
    // Moves to `target`, stopping at each earlier deadline so a sleeper runs at its own time and settles first.
    const moveTo = (target: number): Effect.Effect<void> =>
      Effect.flatMap(nextDeadline, (deadline) =>
        deadline !== undefined && deadline <= target
          ? Effect.zipRight(Effect.zipRight(setTime(deadline), tracker.settled), moveTo(target))
          : setTime(target))

    const body = Effect.scoped(Effect.gen(function*() {
      const setupContext = yield* Layer.build(setupClient)
      const versionIds = yield* precreate(events, Context.get(setupContext, Secrets), options.valueBytes)

      const context = yield* Layer.build(replayed)
      const secrets = Context.get(context, Secrets)
      const cache = Context.get(context, VaultCache)
      const warmupMillis = options.warmupMillis ?? cache.config.ttlMillis
      // Learn the vault's challenge now, outside the cache, so the first replayed read is not also a probe.
      yield* Stream.runDrain(Stream.take(secrets.listProperties({ maxPageSize: 1 }), 1)).pipe(
        Effect.mapError((error): SetupFailure => ({
          _tag: "SetupFailure",
          name: "(authentication)",
          reason: `${error._tag}: ${error.message}`
        }))
      )

      const baseline = yield* cache.stats
      let atWarmup: CacheStats | undefined
      let reads = 0
      let writes = 0
      let readsAfterWarmup = 0
      let pending = 0
      const readErrors: Record<string, number> = {}
      const writeErrors: Record<string, number> = {}
      const count = (into: Record<string, number>, cause: Cause.Cause<unknown>): void => {
        const tag = tagOf(cause)
        into[tag] = (into[tag] ?? 0) + 1
      }

      const perform = (event: RunEvent): Effect.Effect<void> => {
        pending++
        let operation: Effect.Effect<void>
        if (event.op === "write") {
          writes++
          operation = Effect.flatMap(
            Effect.exit(secrets.set(event.name, valueOf(`${event.name}#${writes}`, options.valueBytes))),
            (exit) => (Exit.isFailure(exit) ? Effect.sync(() => count(writeErrors, exit.cause)) : Effect.void)
          )
        } else {
          reads++
          const version = event.version === undefined
            ? undefined
            : versionIds.get(event.name.toLowerCase())?.get(event.version)
          operation = Effect.flatMap(
            Effect.exit(secrets.get(event.name, version === undefined ? undefined : { version })),
            (exit) => (Exit.isFailure(exit) ? Effect.sync(() => count(readErrors, exit.cause)) : Effect.void)
          )
        }
        return Effect.ensuring(operation, Effect.sync(() => pending--))
      }

      // Fibers run with this runtime carry the tracker as their supervisor, and so do the fibers they fork.
      const runtime = yield* Effect.supervised(Effect.runtime<never>(), tracker)
      recorder.on = true
      let last = 0
      for (const group of groups(events)) {
        const at = group[0]!.atMillis
        last = at
        yield* moveTo(start + at)
        if (atWarmup === undefined && at >= warmupMillis) atWarmup = yield* cache.stats
        if (at >= warmupMillis) for (const event of group) if (event.op === "read") readsAfterWarmup++
        // Run in a fiber of its own, so an operation asleep in the rate limiter does not hold up the clock. It starts
        // at once, in this call: a hit completes before `runFork` returns and leaves nothing to wait for.
        Runtime.runFork(runtime, group.length === 1
          ? perform(group[0]!)
          : Effect.forEach(group, perform, { concurrency: "unbounded", discard: true }))
        yield* tracker.settled
      }
      // Whatever still sleeps on the clock (rate limiter, backoff) is woken deadline by deadline, within a horizon.
      for (;;) {
        yield* tracker.settled
        if (pending === 0 && tracker.live === 0) break
        const deadline = yield* nextDeadline
        if (deadline === undefined || deadline > start + last + DRAIN_HORIZON_MILLIS) break
        yield* setTime(deadline)
      }
      recorder.on = false
      const final = yield* cache.stats
      return {
        cacheEnabled: cache.config.enabled,
        warmupMillis,
        events: events.length,
        lastEventMillis: last,
        reads,
        writes,
        readsAfterWarmup,
        unfinished: pending,
        readErrors,
        writeErrors,
        baseline,
        atWarmup: atWarmup ?? final,
        final,
        readRequestTimes: recorder.reads,
        writeRequestTimes: recorder.writes
      } satisfies RunResult
    }))

    // The cache captures the clock and the random source of the fiber that builds it: both are set here, before
    // the client layer is built. A fixed seed makes the TTL jitter, and so the whole replay, reproducible.
    const seeded = Effect.withRandom(body, Random.make(options.seed))
    return yield* (options.clock === "virtual"
      ? Effect.withClock(seeded, virtual)
      : Effect.provide(Effect.zipRight(TestClock.setTime(start), seeded), TestContext.TestContext))
  })
