/**
 * The replay loop: builds the real client (`KeyVault.layer`) under a simulated clock, pre-creates every secret the
 * log names, then plays the events in time order and records what reached the vault.
 *
 * Step semantics: events are grouped by millisecond. For each group the clock moves to its time, the group's events
 * run concurrently (a group of one runs inline), and the step ends only when every fiber the group started is done,
 * including loads and refresh-ahead fibers the cache forked into its own scope. The vault answers in zero simulated
 * time, so a miss completes within its millisecond.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Cause from "effect/Cause"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import { TokenProvider } from "../../auth/TokenProvider.js"
import type * as CacheConfig from "../../cache/CacheConfig.js"
import { type CacheStats, VaultCache } from "../../cache/VaultCache.js"
import * as KeyVault from "../../KeyVault.js"
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

const valueOf = (label: string, bytes: number): string => `${label}:`.padEnd(bytes, "x").slice(0, bytes)

const tagOf = (cause: Cause.Cause<unknown>): string =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => (Cause.isInterruptedOnly(cause) ? "Interrupted" : "Defect"),
    onSome: (error) =>
      typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
        ? error._tag
        : "Unknown"
  })

/** Groups sorted events by millisecond. */
const groups = (events: ReadonlyArray<RunEvent>): Array<ReadonlyArray<RunEvent>> => {
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

/** Runs a replay; needs the vault's `HttpClient` (the emulator's) and a `TokenProvider`. */
export const run = (
  events: ReadonlyArray<RunEvent>,
  options: RunOptions
): Effect.Effect<RunResult, ConfigError.ConfigError | SetupFailure, HttpClient.HttpClient | TokenProvider> =>
  Effect.gen(function*() {
    const baseClient = yield* HttpClient.HttpClient
    const tokens = yield* TokenProvider
    const start = options.startMillis
    const recorder = { on: false, reads: [] as Array<number>, writes: [] as Array<number> }
    const counted = HttpClient.tapRequest(baseClient, (request) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        if (!recorder.on) return
        if (request.method === "GET") recorder.reads.push(now - start)
        else recorder.writes.push(now - start)
      }))
    const client = KeyVault.layer({ vaultUrl: options.vaultUrl, cache: options.cache }).pipe(
      Layer.provide(Layer.merge(Layer.succeed(HttpClient.HttpClient, counted), Layer.succeed(TokenProvider, tokens)))
    )
    const virtual = new VirtualClock(start)
    const tracker = new ActivityTracker()
    const advance = (relative: number): Effect.Effect<void> =>
      options.clock === "virtual" ? virtual.advanceTo(start + relative, tracker.idle) : TestClock.setTime(start + relative)

    const body = Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(client)
      const secrets = Context.get(context, Secrets)
      const cache = Context.get(context, VaultCache)
      const warmupMillis = options.warmupMillis ?? cache.config.ttlMillis

      // Pre-create every secret (and one version per distinct version label), in order of first appearance.
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
              secrets.set(name, valueOf(`${name}@${label ?? "latest"}`, options.valueBytes)),
              (error): SetupFailure => ({ _tag: "SetupFailure", name, reason: `${error._tag}: ${error.message}` })
            )
            if (label !== undefined && created.properties.version !== undefined) {
              ids.set(label, created.properties.version)
            }
          }
        }), { concurrency: 16, discard: true })

      const baseline = yield* cache.stats
      console.error('setup done', performance.now())
      let atWarmup: CacheStats | undefined
      let reads = 0
      let writes = 0
      let readsAfterWarmup = 0
      const readErrors: Record<string, number> = {}
      const writeErrors: Record<string, number> = {}
      const count = (into: Record<string, number>, cause: Cause.Cause<unknown>): void => {
        const tag = tagOf(cause)
        into[tag] = (into[tag] ?? 0) + 1
      }

      const perform = (event: RunEvent): Effect.Effect<void> => {
        if (event.op === "write") {
          writes++
          return Effect.asVoid(Effect.exit(Effect.tapErrorCause(
            secrets.set(event.name, valueOf(`${event.name}#${writes}`, options.valueBytes)),
            (cause) => Effect.sync(() => count(writeErrors, cause))
          )))
        }
        reads++
        const version = event.version === undefined
          ? undefined
          : versionIds.get(event.name.toLowerCase())?.get(event.version)
        return Effect.flatMap(
          Effect.exit(secrets.get(event.name, version === undefined ? undefined : { version })),
          (exit) => (Exit.isFailure(exit) ? Effect.sync(() => count(readErrors, exit.cause)) : Effect.void)
        )
      }

      recorder.on = true
      let last = 0
      for (const group of groups(events)) {
        const at = group[0]!.atMillis
        last = at
        if (process.env.DBG) console.error('group', at, group.length, (tracker as any).live)
        yield* advance(at)
        if (atWarmup === undefined && at >= warmupMillis) atWarmup = yield* cache.stats
        if (at >= warmupMillis) for (const event of group) if (event.op === "read") readsAfterWarmup++
        const step = group.length === 1
          ? perform(group[0]!)
          : Effect.forEach(group, perform, { concurrency: "unbounded", discard: true })
        yield* Effect.supervised(step, tracker)
        if (process.env.DBG) console.error('  live', (tracker as any).live)
        yield* tracker.idle
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
