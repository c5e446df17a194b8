/**
 * The cache under the secrets, keys and certificates services: TTL + LRU with refresh-ahead, coalesced loads,
 * negative caching, stale-if-error and optional encryption at rest.
 *
 * Why not Effect's `Cache`: a failed refresh there replaces the good value, and it has no refresh-ahead, no negative
 * store of its own and no way to tell a transient failure from a revocation. Everything here runs on `Clock`, so
 * `TestClock` drives every TTL.
 *
 * Rules, in the order a read meets them:
 * 1. A fresh entry is returned at once (a hit costs one map lookup, no Effect allocation beyond `succeed`). After
 *    `refreshAhead` × TTL, the hit also starts one background refresh for that key.
 * 2. A remembered not-found fails at once.
 * 3. A load already in flight for the key is awaited (one vault request however many readers).
 * 4. Otherwise the value is loaded in a fiber of the cache's own scope, so an interrupted reader never cancels the
 *    load other readers wait for. Success is stored unless the key was invalidated meanwhile; not-found is
 *    remembered; a transient failure serves the expired value for the `staleIfError` grace; any other failure
 *    (401, 403, 404, disabled) drops the entry, so a revoked value is never served.
 * 5. A refresh or load result is dropped when the entry was written, invalidated or evicted while it was in flight.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as ConfigError from "effect/ConfigError"
import type * as Config from "effect/Config"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { isTransient, NotFoundError } from "../errors/KeyVaultError.js"
import * as AtRestCipher from "./AtRestCipher.js"
import * as CacheConfig from "./CacheConfig.js"
import * as CacheMetrics from "./CacheMetrics.js"
import * as Metric from "effect/Metric"

/**
 * What the cache holds.
 *
 * @since 0.1.0
 */
export type ObjectType = "secret" | "key" | "certificate"

/**
 * A cache key: `{vault_host}:{object_type}:{name}:{version|latest}` (names compared case-insensitively, as the
 * vault does).
 *
 * @since 0.1.0
 */
export interface CacheKey {
  readonly vaultHost: string
  readonly objectType: ObjectType
  readonly name: string
  /** `undefined` for the latest version. */
  readonly version: string | undefined
}

/**
 * How a value is stored: the identity for most values; secrets seal their value when encryption at rest is on.
 * `decode` answers `undefined` for an entry it cannot open (tampered), which is then dropped and reloaded.
 *
 * @since 0.1.0
 */
export interface EntryCodec<A> {
  readonly encode: (value: A, cipher: AtRestCipher.AtRestCipher | undefined) => unknown
  readonly decode: (stored: unknown, cipher: AtRestCipher.AtRestCipher | undefined) => A | undefined
}

/**
 * Counters of one cache instance (the `Metric`s in `CacheMetrics` aggregate every instance).
 *
 * @since 0.1.0
 */
export interface CacheStats {
  readonly hits: number
  readonly misses: number
  readonly coalesced: number
  readonly staleServed: number
  readonly negativeHits: number
  readonly refreshesOk: number
  readonly refreshesFailed: number
  readonly refreshesDropped: number
  readonly evictions: number
  readonly tamperedDropped: number
  readonly size: number
  readonly negativeSize: number
}

/**
 * The cache service.
 *
 * @since 0.1.0
 */
export interface VaultCacheService {
  readonly config: CacheConfig.ResolvedCacheConfig
  /** Reads through the cache; `load` runs only on a miss (or a refresh). */
  readonly get: <A, E>(key: CacheKey, load: () => Effect.Effect<A, E>, codec?: EntryCodec<A>) => Effect.Effect<A, E>
  /** Forgets every version of a name, and its remembered not-found; loads in flight for it will not be stored. */
  readonly invalidate: (vaultHost: string, objectType: ObjectType, name: string) => Effect.Effect<void>
  /** Forgets everything. */
  readonly invalidateAll: Effect.Effect<void>
  /** Loads a key now, whatever its freshness, and stores the result. */
  readonly refresh: <A, E>(key: CacheKey, load: () => Effect.Effect<A, E>, codec?: EntryCodec<A>) => Effect.Effect<A, E>
  readonly stats: Effect.Effect<CacheStats>
}

/**
 * The cache tag.
 *
 * @since 0.1.0
 */
export class VaultCache extends Context.Tag("@effect-azure/key-vault/VaultCache")<VaultCache, VaultCacheService>() {}

/**
 * The codec that stores values as they are.
 *
 * @since 0.1.0
 */
export const identityCodec = <A>(): EntryCodec<A> => identity as EntryCodec<unknown> as EntryCodec<A>

// One shared instance: the default codec must not allocate on the hit path.
const identity: EntryCodec<unknown> = { encode: (value) => value, decode: (stored) => stored }

interface Entry {
  readonly stored: unknown
  readonly seq: number
  readonly nameKey: string
  readonly expiresAt: number
  readonly refreshAt: number
  /** While serving stale after a failed reload: no new attempt before this time. */
  retryAt: number
}

interface Negative {
  readonly error: unknown
  readonly expiresAt: number
  readonly nameKey: string
}

interface Flight {
  readonly deferred: Deferred.Deferred<unknown, unknown>
  readonly nameKey: string
  /** Cleared by an invalidation while the load runs: its result must not be stored. */
  valid: boolean
}

const nameKeyOf = (vaultHost: string, objectType: ObjectType, name: string): string =>
  `${vaultHost}:${objectType}:${name.toLowerCase()}:`

/**
 * The string form of a key.
 *
 * @since 0.1.0
 */
export const keyOf = (key: CacheKey): string =>
  `${key.vaultHost}:${key.objectType}:${key.name.toLowerCase()}:${key.version ?? "latest"}`

const addTo = (index: Map<string, Set<string>>, nameKey: string, key: string): void => {
  const keys = index.get(nameKey)
  if (keys === undefined) index.set(nameKey, new Set([key]))
  else keys.add(key)
}

const removeFrom = (index: Map<string, Set<string>>, nameKey: string, key: string): void => {
  const keys = index.get(nameKey)
  if (keys === undefined) return
  keys.delete(key)
  if (keys.size === 0) index.delete(nameKey)
}

const OBJECT_TYPES: ReadonlyArray<ObjectType> = ["secret", "key", "certificate"]

const tagged = (metric: Metric.Metric.Counter<number>): Readonly<Record<ObjectType, Metric.Metric.Counter<number>>> =>
  Object.fromEntries(OBJECT_TYPES.map((t) => [t, Metric.tagged(metric, "object_type", t)])) as Record<
    ObjectType,
    Metric.Metric.Counter<number>
  >

const hitMetric = tagged(CacheMetrics.hits)
const missMetric = tagged(CacheMetrics.misses)
const coalescedMetric = tagged(CacheMetrics.coalesced)
const staleMetric = tagged(CacheMetrics.staleServed)
const negativeMetric = tagged(CacheMetrics.negativeHits)
const refreshOk = Metric.tagged(CacheMetrics.refreshes, "outcome", "ok")
const refreshFailed = Metric.tagged(CacheMetrics.refreshes, "outcome", "failed")
const refreshDropped = Metric.tagged(CacheMetrics.refreshes, "outcome", "dropped")
const noTags: ReadonlyArray<never> = []

/**
 * Builds a cache whose background loads live in `scope`.
 *
 * @since 0.1.0
 */
export const make = (
  config: CacheConfig.ResolvedCacheConfig
): Effect.Effect<VaultCacheService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const cipher = config.encryptionKey === undefined ? undefined : AtRestCipher.make(config.encryptionKey)
    const entries = new Map<string, Entry>()
    const byName = new Map<string, Set<string>>()
    const negatives = new Map<string, Negative>()
    const negativesByName = new Map<string, Set<string>>()
    const inflight = new Map<string, Flight>()
    const refreshing = new Set<string>()
    let seq = 0
    const stats = {
      hits: 0,
      misses: 0,
      coalesced: 0,
      staleServed: 0,
      negativeHits: 0,
      refreshesOk: 0,
      refreshesFailed: 0,
      refreshesDropped: 0,
      evictions: 0,
      tamperedDropped: 0
    }

    const removeEntry = (key: string, entry: Entry): void => {
      entries.delete(key)
      removeFrom(byName, entry.nameKey, key)
      CacheMetrics.size.unsafeUpdate(entries.size, noTags)
    }

    const removeNegative = (key: string): void => {
      const negative = negatives.get(key)
      if (negative === undefined) return
      negatives.delete(key)
      removeFrom(negativesByName, negative.nameKey, key)
    }

    const write = (key: string, cacheKey: CacheKey, stored: unknown, now: number, random: number): void => {
      const ttl = cacheKey.version === undefined ? config.ttlMillis : config.versionTtlMillis
      const lifetime = ttl * (1 - config.jitter * random)
      const nameKey = nameKeyOf(cacheKey.vaultHost, cacheKey.objectType, cacheKey.name)
      const previous = entries.get(key)
      if (previous !== undefined) entries.delete(key)
      else addTo(byName, nameKey, key)
      entries.set(key, {
        stored,
        seq: ++seq,
        nameKey,
        expiresAt: now + lifetime,
        refreshAt: config.refreshAhead > 0 ? now + lifetime * config.refreshAhead : Number.POSITIVE_INFINITY,
        retryAt: 0
      })
      removeNegative(key)
      // Map iteration order is insertion order: the first key is the least recently used.
      while (entries.size > config.maxEntries) {
        const oldest = entries.keys().next().value as string
        removeEntry(oldest, entries.get(oldest)!)
        stats.evictions++
        CacheMetrics.evictions.unsafeUpdate(1, noTags)
      }
      CacheMetrics.size.unsafeUpdate(entries.size, noTags)
    }

    const remember = (key: string, cacheKey: CacheKey, error: unknown, now: number): void => {
      if (config.negativeTtlMillis === 0) return
      const nameKey = nameKeyOf(cacheKey.vaultHost, cacheKey.objectType, cacheKey.name)
      removeNegative(key)
      negatives.set(key, { error, expiresAt: now + config.negativeTtlMillis, nameKey })
      addTo(negativesByName, nameKey, key)
      // A flood of unknown names only ever pushes out other not-founds.
      while (negatives.size > config.maxNegativeEntries) removeNegative(negatives.keys().next().value as string)
    }

    const store = <A>(key: string, cacheKey: CacheKey, value: A, codec: EntryCodec<A>) =>
      Effect.clockWith((clock) =>
        Effect.randomWith((random) =>
          Effect.map(random.next, (r) => write(key, cacheKey, codec.encode(value, cipher), clock.unsafeCurrentTimeMillis(), r))
        )
      )

    const failureOf = (cause: Cause.Cause<unknown>): Option.Option<unknown> => Cause.failureOption(cause)

    // The end of a load: store or remember, or serve stale, then answer every waiter of this key alike.
    const settle = <A>(
      key: string,
      cacheKey: CacheKey,
      flight: Flight,
      previous: Entry | undefined,
      exit: Exit.Exit<A, unknown>,
      codec: EntryCodec<A>
    ) =>
      Effect.gen(function*() {
        if (inflight.get(key) === flight) inflight.delete(key)
        if (Exit.isSuccess(exit)) {
          if (flight.valid) yield* store(key, cacheKey, exit.value, codec)
          yield* Deferred.succeed(flight.deferred, exit.value)
          return
        }
        const now = yield* Effect.clockWith((clock) => Effect.succeed(clock.unsafeCurrentTimeMillis()))
        const error = failureOf(exit.cause)
        const current = entries.get(key)
        if (Option.isSome(error) && flight.valid) {
          if (isTransient(error.value)) {
            const stale = previous !== undefined && current === previous && config.staleIfErrorMillis > 0 &&
                now < previous.expiresAt + config.staleIfErrorMillis
              ? codec.decode(previous.stored, cipher)
              : undefined
            if (stale !== undefined && previous !== undefined) {
              // Serve the last good value, and hold off the next attempt a little, so an outage is not hammered.
              previous.retryAt = now + Math.min(config.ttlMillis / 10, 30_000)
              stats.staleServed++
              staleMetric[cacheKey.objectType].unsafeUpdate(1, noTags)
              yield* Deferred.succeed(flight.deferred, stale)
              return
            }
          } else {
            if (current !== undefined && current === previous) removeEntry(key, current)
            if (error.value instanceof NotFoundError) remember(key, cacheKey, error.value, now)
          }
        }
        yield* Deferred.failCause(flight.deferred, exit.cause)
      })

    const load = <A, E>(
      key: string,
      cacheKey: CacheKey,
      previous: Entry | undefined,
      loader: () => Effect.Effect<A, E>,
      codec: EntryCodec<A>
    ): Effect.Effect<A, E> => {
      stats.misses++
      missMetric[cacheKey.objectType].unsafeUpdate(1, noTags)
      const flight: Flight = {
        deferred: Deferred.unsafeMake<unknown, unknown>(FiberId.none),
        nameKey: nameKeyOf(cacheKey.vaultHost, cacheKey.objectType, cacheKey.name),
        valid: true
      }
      inflight.set(key, flight)
      const run = Effect.suspend(loader).pipe(
        Effect.exit,
        Effect.flatMap((exit) => settle(key, cacheKey, flight, previous, exit, codec))
      )
      return Effect.zipRight(Effect.forkIn(run, scope), Deferred.await(flight.deferred) as Effect.Effect<A, E>)
    }

    const startRefresh = <A, E>(
      key: string,
      cacheKey: CacheKey,
      entry: Entry,
      loader: () => Effect.Effect<A, E>,
      codec: EntryCodec<A>
    ): Effect.Effect<void> => {
      refreshing.add(key)
      const run = Effect.suspend(loader).pipe(
        Effect.exit,
        Effect.flatMap((exit) =>
          Effect.suspend(() => {
            refreshing.delete(key)
            const current = entries.get(key)
            const unchanged = current !== undefined && current.seq === entry.seq
            if (Exit.isSuccess(exit)) {
              if (!unchanged) {
                stats.refreshesDropped++
                refreshDropped.unsafeUpdate(1, noTags)
                return Effect.void
              }
              stats.refreshesOk++
              refreshOk.unsafeUpdate(1, noTags)
              return store(key, cacheKey, exit.value, codec)
            }
            stats.refreshesFailed++
            refreshFailed.unsafeUpdate(1, noTags)
            const error = failureOf(exit.cause)
            // A transient failure leaves the (still fresh) entry alone; a revocation removes it at once.
            if (unchanged && Option.isSome(error) && !isTransient(error.value)) {
              removeEntry(key, current)
              if (error.value instanceof NotFoundError) {
                return Effect.clockWith((clock) =>
                  Effect.sync(() => remember(key, cacheKey, error.value, clock.unsafeCurrentTimeMillis()))
                )
              }
            }
            return Effect.void
          })
        )
      )
      return Effect.asVoid(Effect.forkIn(run, scope))
    }

    const get = <A, E>(
      cacheKey: CacheKey,
      loader: () => Effect.Effect<A, E>,
      codec: EntryCodec<A> = identityCodec<A>()
    ): Effect.Effect<A, E> => {
      if (!config.enabled) return Effect.suspend(loader)
      return Effect.clockWith((clock) => {
        const now = clock.unsafeCurrentTimeMillis()
        const key = keyOf(cacheKey)
        const entry = entries.get(key)
        if (entry !== undefined) {
          const fresh = now < entry.expiresAt
          if (fresh || now < entry.retryAt) {
            const value = codec.decode(entry.stored, cipher)
            if (value === undefined) {
              removeEntry(key, entry)
              stats.tamperedDropped++
            } else {
              entries.delete(key)
              entries.set(key, entry)
              if (fresh) {
                stats.hits++
                hitMetric[cacheKey.objectType].unsafeUpdate(1, noTags)
                if (now >= entry.refreshAt && !refreshing.has(key) && !inflight.has(key)) {
                  return Effect.as(startRefresh(key, cacheKey, entry, loader, codec), value)
                }
              } else {
                stats.staleServed++
                staleMetric[cacheKey.objectType].unsafeUpdate(1, noTags)
              }
              return Effect.succeed(value)
            }
          }
        }
        const negative = negatives.get(key)
        if (negative !== undefined) {
          if (now < negative.expiresAt) {
            stats.negativeHits++
            negativeMetric[cacheKey.objectType].unsafeUpdate(1, noTags)
            // Only not-founds of this very key are stored here, raised by the same kind of load.
            return Effect.fail(negative.error as E)
          }
          removeNegative(key)
        }
        const running = inflight.get(key)
        if (running !== undefined) {
          stats.coalesced++
          coalescedMetric[cacheKey.objectType].unsafeUpdate(1, noTags)
          return Deferred.await(running.deferred) as Effect.Effect<A, E>
        }
        return load(key, cacheKey, entries.get(key), loader, codec)
      })
    }

    const invalidateName = (nameKey: string): void => {
      for (const key of byName.get(nameKey) ?? []) {
        const entry = entries.get(key)
        if (entry !== undefined) entries.delete(key)
      }
      byName.delete(nameKey)
      for (const key of negativesByName.get(nameKey) ?? []) negatives.delete(key)
      negativesByName.delete(nameKey)
      for (const flight of inflight.values()) if (flight.nameKey === nameKey) flight.valid = false
      CacheMetrics.size.unsafeUpdate(entries.size, noTags)
    }

    const invalidate = (vaultHost: string, objectType: ObjectType, name: string): Effect.Effect<void> =>
      Effect.sync(() => invalidateName(nameKeyOf(vaultHost, objectType, name)))

    const invalidateAll: Effect.Effect<void> = Effect.sync(() => {
      entries.clear()
      byName.clear()
      negatives.clear()
      negativesByName.clear()
      for (const flight of inflight.values()) flight.valid = false
      CacheMetrics.size.unsafeUpdate(0, noTags)
    })

    const refresh = <A, E>(
      cacheKey: CacheKey,
      loader: () => Effect.Effect<A, E>,
      codec: EntryCodec<A> = identityCodec<A>()
    ): Effect.Effect<A, E> =>
      Effect.suspend(() => {
        const key = keyOf(cacheKey)
        const entry = entries.get(key)
        if (entry !== undefined) removeEntry(key, entry)
        removeNegative(key)
        const flight = inflight.get(key)
        if (flight !== undefined) flight.valid = false
        inflight.delete(key)
        return get(cacheKey, loader, codec)
      })

    return {
      config,
      get,
      invalidate,
      invalidateAll,
      refresh,
      stats: Effect.sync((): CacheStats => ({ ...stats, size: entries.size, negativeSize: negatives.size }))
    }
  })

/**
 * A cache from options.
 *
 * @since 0.1.0
 */
export const layer = (options: CacheConfig.CacheOptions = {}): Layer.Layer<VaultCache, ConfigError.ConfigError> =>
  Layer.scoped(
    VaultCache,
    Effect.flatMap(
      Either.match(CacheConfig.resolve(options), {
        onLeft: (message) => Effect.fail(ConfigError.InvalidData([], message)),
        onRight: Effect.succeed
      }),
      make
    )
  )

/**
 * A cache from `Config` (default: `AZURE_KEYVAULT_CACHE_*`).
 *
 * @since 0.1.0
 */
export const layerConfig = (
  config: Config.Config<CacheConfig.CacheOptions> = CacheConfig.fromEnv
): Layer.Layer<VaultCache, ConfigError.ConfigError> =>
  Layer.scoped(VaultCache, Effect.flatMap(CacheConfig.resolveConfig(config), make))

/**
 * No caching: every read goes to the vault.
 *
 * @since 0.1.0
 */
export const layerDisabled: Layer.Layer<VaultCache, ConfigError.ConfigError> = layer({ enabled: false })
