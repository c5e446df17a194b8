/**
 * The fleet replay loop: N instances of the real client (each its own `KeyVault.layer`, memory cache, `HttpClient`
 * object and, when a shared tier is given, its own tier with its own connections, as N processes would have) over one
 * vault, in simulated time.
 *
 * - Every instance starts cold at the log's start (a deployment). A rolling restart closes instance i at
 *   `restart.atMillis + i * restart.spreadMillis / N` and builds it anew (an empty memory cache, new connections).
 * - Events go to instances uniformly at random (seeded) or round-robin, in log order.
 * - Vault calls are counted as the client sends them (`HttpClient.tapRequest`), authenticated requests only: the
 *   unauthenticated challenge probe each new instance makes before its first real request is not an operation on a
 *   secret. So the count does not depend on which vault answers, only on what the client asks.
 * - Without a tier everything runs in-process and each millisecond's step settles before the next (exact and
 *   deterministic, as the single-instance replay). A tier talks to a real server in real time: operations then overlap
 *   for up to `settleMillis` of simulated time (as calls over a network would), and the clock waits for every started
 *   operation, and every shared-store call, at the end of each such window and before a restart.
 * - With a tier, a vault read also waits until no shared-store call is in flight (see `gate`): a real vault answers
 *   far slower than Redis, but the in-process one answers in zero simulated time and, on a loaded machine, in less
 *   real time than the Redis round trips of the other instances, which would let their order decide the counts.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import { TokenProvider } from "../../auth/TokenProvider.js"
import type * as CacheConfig from "../../cache/CacheConfig.js"
import { SharedTier, type SharedTierStats } from "../../cache/SharedTier.js"
import { type CacheStats, VaultCache } from "../../cache/VaultCache.js"
import type { ValidationError } from "../../errors/KeyVaultError.js"
import * as KeyVault from "../../KeyVault.js"
import type { ResilienceOptions } from "../../resilience/ResilienceConfig.js"
import { Secrets } from "../../secrets/Secrets.js"
import * as Prng from "../Prng.js"
import { ActivityTracker } from "./ActivityTracker.js"
import { DRAIN_HORIZON_MILLIS, groups, precreate, type RunEvent, type SetupFailure, tagOf, valueOf } from "./Runner.js"
import { VirtualClock } from "./VirtualClock.js"

/** Fleet settings, all resolved. */
export interface FleetOptions<E> {
  readonly vaultUrl: string
  readonly cache: CacheConfig.CacheOptions
  readonly resilience: ResilienceOptions
  readonly seed: number
  readonly valueBytes: number
  readonly startMillis: number
  readonly instances: number
  readonly routing: "random" | "round-robin"
  readonly restart: { readonly atMillis: number; readonly spreadMillis: number } | undefined
  /** Built once per instance (and per restart); `undefined`: memory caches only. */
  readonly tier: Layer.Layer<SharedTier, E> | undefined
  readonly settleMillis: number
}

/** Memory-cache counts summed over every instance that lived during the run. */
export type MemoryTotals = Omit<CacheStats, "size" | "negativeSize">

/** What one fleet run saw. */
export interface FleetResult {
  readonly events: number
  readonly lastEventMillis: number
  readonly reads: number
  readonly writes: number
  readonly restarts: number
  readonly unfinished: number
  readonly readErrors: Readonly<Record<string, number>>
  readonly writeErrors: Readonly<Record<string, number>>
  readonly readRequestTimes: ReadonlyArray<number>
  readonly writeRequestTimes: ReadonlyArray<number>
  readonly memory: MemoryTotals
  readonly shared: Omit<SharedTierStats, "inFlight"> | undefined
}

interface Instance {
  readonly scope: Scope.CloseableScope
  readonly secrets: Context.Tag.Service<Secrets>
  readonly cache: Context.Tag.Service<VaultCache>
  readonly tier: Context.Tag.Service<SharedTier> | undefined
}

const MEMORY_FIELDS = [
  "hits",
  "misses",
  "coalesced",
  "staleServed",
  "negativeHits",
  "refreshesOk",
  "refreshesFailed",
  "refreshesDropped",
  "evictions",
  "tamperedDropped"
] as const
const SHARED_FIELDS = ["hits", "misses", "coalesced", "fallbacks"] as const

/** Runs one fleet over the vault behind the `HttpClient` in context. */
export const run = <E>(
  events: ReadonlyArray<RunEvent>,
  options: FleetOptions<E>
): Effect.Effect<
  FleetResult,
  ConfigError.ConfigError | ValidationError | SetupFailure | E,
  HttpClient.HttpClient | TokenProvider
> =>
  Effect.gen(function*() {
    const baseClient = yield* HttpClient.HttpClient
    const tokens = yield* TokenProvider
    const tokenLayer = Layer.succeed(TokenProvider, tokens)
    const start = options.startMillis
    const virtual = new VirtualClock(start)
    const tracker = new ActivityTracker()
    const recorder = { on: false, reads: [] as Array<number>, writes: [] as Array<number> }

    const body = Effect.scoped(Effect.gen(function*() {
      const setup = yield* Layer.build(
        KeyVault.layer({ vaultUrl: options.vaultUrl, cache: { enabled: false }, resilience: { rateLimiter: false } }).pipe(
          Layer.provide(Layer.merge(
            Layer.succeed(HttpClient.HttpClient, HttpClient.mapRequest(baseClient, (request) => request)),
            tokenLayer
          ))
        )
      )
      const versionIds = yield* precreate(events, Context.get(setup, Secrets), options.valueBytes)

      const memory: Record<typeof MEMORY_FIELDS[number], number> = Object.fromEntries(
        MEMORY_FIELDS.map((f) => [f, 0])
      ) as Record<typeof MEMORY_FIELDS[number], number>
      const shared: Record<typeof SHARED_FIELDS[number], number> = { hits: 0, misses: 0, coalesced: 0, fallbacks: 0 }
      const collect = (instance: Instance): Effect.Effect<void> =>
        Effect.gen(function*() {
          const stats = yield* instance.cache.stats
          for (const f of MEMORY_FIELDS) memory[f] += stats[f]
          if (instance.tier?.stats !== undefined) {
            const s = yield* instance.tier.stats
            for (const f of SHARED_FIELDS) shared[f] += s[f]
          }
        })

      const instances: Array<Instance> = []
      const inFlight = (): Effect.Effect<number> =>
        Effect.reduce(instances, 0, (n, instance) =>
          instance.tier?.stats === undefined ? Effect.succeed(n) : Effect.map(instance.tier.stats, (s) => n + s.inFlight))
      const nextTurn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

      // The gate in front of the vault's reads, with a tier. A real vault read takes far longer than a Redis round
      // trip; here it takes no simulated time, and in real time the in-process vault can beat the Redis round trips of
      // the other instances (one process plays them all; a loaded machine makes it worse). A cold start then goes
      // wrong: instance B's lookup misses, A (the lease holder) reads the vault, fills the entry and releases its
      // lease, and only then does B's lease request reach Redis, win the free lease and read the vault again. So a
      // vault read waits until no shared-store call is in flight and every fiber has moved on from its answer (B has
      // asked for the lease and is waiting for A's fill); `settled` lets the waiting reads go, all at the same
      // simulated instant, and does not return (so the clock does not move) before they have. Writes do not wait:
      // the tier's generation check orders a write against loads whatever the timing, and holding a write would only
      // move its recorded time to the end of the settle window.
      let releases: Array<() => void> = []
      let gated = 0
      const gate: Effect.Effect<void> = Effect.suspend(() => {
        gated++
        return Effect.ensuring(
          Effect.async<void>((resume) => {
            const release = (): void => resume(Effect.void)
            releases.push(release)
            return Effect.sync(() => {
              releases = releases.filter((r) => r !== release)
            })
          }),
          // Counted down when the read runs on (or is interrupted), not when it is let go: until then it is pending.
          Effect.sync(() => {
            gated--
          })
        )
      })
      const releaseGate = (): void => {
        const waiting = releases
        releases = []
        for (const release of waiting) release()
      }
      // Settled: every fiber started is done or asleep on the clock, no shared-store call awaits its answer, and no
      // vault read waits at the gate (nor has been let go without having run on yet).
      const settled: Effect.Effect<void> = options.tier === undefined ? tracker.settled : Effect.gen(function*() {
        for (;;) {
          yield* tracker.settled
          if (tracker.live === 0) return
          if ((yield* inFlight()) === 0) {
            if (gated === 0) return
            releaseGate()
          }
          yield* nextTurn
        }
      })

      // Each instance has an `HttpClient` object of its own: the transport keeps its per-vault state (challenge,
      // limiter) per object, as separate processes would.
      const build = Effect.gen(function*() {
        const scope = yield* Scope.make()
        const http = HttpClient.tapRequest(baseClient, (request) => {
          const authenticated = request.headers["authorization"] !== undefined
          const record = Effect.map(Clock.currentTimeMillis, (now) => {
            if (!recorder.on || !authenticated) return
            if (request.method === "GET") recorder.reads.push(now - start)
            else recorder.writes.push(now - start)
          })
          // Only authenticated reads: the challenge probe before a new instance's first request is not a read of a
          // secret, and waiting twice would only slow the replay down.
          return options.tier !== undefined && authenticated && request.method === "GET" ? Effect.zipRight(gate, record) : record
        })
        const tierContext = options.tier === undefined
          ? Context.empty() as Context.Context<never>
          : yield* Effect.onError(Layer.buildWithScope(options.tier, scope), (exit) => Scope.close(scope, Exit.failCause(exit)))
        const context = yield* Effect.onError(
          Layer.buildWithScope(
            KeyVault.layer({ vaultUrl: options.vaultUrl, cache: options.cache, resilience: options.resilience }).pipe(
              Layer.provide(Layer.mergeAll(Layer.succeed(HttpClient.HttpClient, http), tokenLayer, Layer.succeedContext(tierContext)))
            ),
            scope
          ),
          (exit) => Scope.close(scope, Exit.failCause(exit))
        )
        const tier = Context.getOption(tierContext as Context.Context<SharedTier | never>, SharedTier)
        return {
          scope,
          secrets: Context.get(context, Secrets),
          cache: Context.get(context, VaultCache),
          tier: tier._tag === "Some" ? tier.value : undefined
        } satisfies Instance
      })
      for (let i = 0; i < options.instances; i++) instances.push(yield* build)
      yield* Effect.addFinalizer(() =>
        Effect.forEach(instances, (instance) => Scope.close(instance.scope, Exit.void), { discard: true })
      )

      const moveTo = (target: number): Effect.Effect<void> =>
        Effect.suspend(() => {
          const deadline = virtual.nextDeadline()
          return deadline !== undefined && deadline <= target
            ? Effect.zipRight(Effect.zipRight(Effect.sync(() => virtual.setTime(deadline)), settled), moveTo(target))
            : Effect.sync(() => virtual.setTime(target))
        })

      let reads = 0
      let writes = 0
      let pending = 0
      const readErrors: Record<string, number> = {}
      const writeErrors: Record<string, number> = {}
      const count = (into: Record<string, number>, exit: Exit.Exit<unknown, unknown>): void => {
        if (Exit.isSuccess(exit)) return
        const tag = tagOf(exit.cause)
        into[tag] = (into[tag] ?? 0) + 1
      }
      const done = Effect.sync(() => pending--)
      const perform = (instance: Instance, event: RunEvent): Effect.Effect<void> => {
        pending++
        if (event.op === "write") {
          writes++
          return Effect.ensuring(
            Effect.flatMap(
              Effect.exit(instance.secrets.set(event.name, valueOf(`${event.name}#${writes}`, options.valueBytes))),
              (exit) => Effect.sync(() => count(writeErrors, exit))
            ),
            done
          )
        }
        reads++
        const version = event.version === undefined
          ? undefined
          : versionIds.get(event.name.toLowerCase())?.get(event.version)
        return Effect.ensuring(
          Effect.flatMap(
            Effect.exit(instance.secrets.get(event.name, version === undefined ? undefined : { version })),
            (exit) => Effect.sync(() => count(readErrors, exit))
          ),
          done
        )
      }

      const random = Prng.make(options.seed + 1)
      let next = 0
      const pick = (): Instance =>
        instances[options.routing === "round-robin" ? next++ % instances.length : Math.floor(random() * instances.length)]!
      const restarts = options.restart === undefined ? [] : instances.map((_, i) =>
        options.restart!.atMillis + Math.floor((i * options.restart!.spreadMillis) / instances.length))
      let restarted = 0

      const runtime = yield* Effect.supervised(Effect.runtime<never>(), tracker)
      recorder.on = true
      let last = 0
      let settledAt = Number.NEGATIVE_INFINITY
      for (const group of groups(events)) {
        const at = group[0]!.atMillis
        last = at
        while (restarted < restarts.length && restarts[restarted]! <= at) {
          yield* moveTo(start + restarts[restarted]!)
          yield* settled
          const old = instances[restarted]!
          yield* collect(old)
          yield* Scope.close(old.scope, Exit.void)
          instances[restarted] = yield* build
          restarted++
        }
        for (let d = virtual.nextDeadline(); d !== undefined && d <= start + at; d = virtual.nextDeadline()) {
          virtual.setTime(d)
          yield* settled
        }
        virtual.setTime(start + at)
        // A memory hit completes inside `runFork`: only a step that left fibers running (a miss, a refresh) waits.
        // One fiber per event, each started at once (so events of one millisecond are concurrent, as with an
        // unbounded `forEach`, without a parent fiber left waiting for its children after a run of hits).
        for (const event of group) Runtime.runFork(runtime, perform(pick(), event))
        if (options.tier === undefined) {
          if (tracker.live > 0) yield* settled
        } else if (at - settledAt >= options.settleMillis) {
          yield* settled
          settledAt = at
        }
      }
      for (;;) {
        yield* settled
        if (pending === 0 && tracker.live === 0) break
        const deadline = virtual.nextDeadline()
        if (deadline === undefined || deadline > start + last + DRAIN_HORIZON_MILLIS) break
        virtual.setTime(deadline)
      }
      recorder.on = false
      yield* Effect.forEach(instances, collect, { discard: true })
      return {
        events: events.length,
        lastEventMillis: last,
        reads,
        writes,
        restarts: restarted,
        unfinished: pending,
        readErrors,
        writeErrors,
        readRequestTimes: recorder.reads,
        writeRequestTimes: recorder.writes,
        memory: { ...memory },
        shared: options.tier === undefined ? undefined : { ...shared }
      } satisfies FleetResult
    }))
    return yield* Effect.withClock(Effect.withRandom(body, Random.make(options.seed)), virtual)
  })
