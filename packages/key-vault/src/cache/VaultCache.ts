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
import type * as ConfigError from "effect/ConfigError"
import type * as Config from "effect/Config"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { isTransient, NotFoundError, ValidationError } from "../errors/KeyVaultError.js"
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
 * How a value is stored: the identity for most values; secrets seal their value when encryption at rest is on.
 * `decode` answers `undefined` for an entry it cannot open (tampered), which is then dropped and reloaded.
 *
 * @since 0.1.0
 */
export interface EntryCodec<A> {
  readonly encode: (value: A, cipher: AtRestCipher.AtRestCipher | undefined) => unknown
  /** `name` is the (lower-cased) name the entry is filed under. */
  readonly decode: (stored: unknown, cipher: AtRestCipher.AtRestCipher | undefined, name: string) => A | undefined
}

/**
 * Loads one object version from the vault (`version` undefined: the latest).
 *
 * @since 0.1.0
 */
export type Loader<A, E> = (name: string, version: string | undefined) => Effect.Effect<A, E>

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
 * The part of the cache that holds one object type of one vault: keys `{vault_host}:{object_type}:{name}:{version|latest}`,
 * names compared case-insensitively as the vault does. Services take their namespace once, so a hit needs no key
 * string to be built.
 *
 * @since 0.1.0
 */
export interface CacheNamespace {
  readonly vaultHost: string
  readonly objectType: ObjectType
  /** Reads through the cache; `load` runs only on a miss (or a background refresh). */
  readonly get: <A, E>(
    name: string,
    version: string | undefined,
    load: Loader<A, E>,
    codec?: EntryCodec<A>
  ) => Effect.Effect<A, E>
  /** Loads now, whatever the freshness, and stores the answer. */
  readonly refresh: <A, E>(
    name: string,
    version: string | undefined,
    load: Loader<A, E>,
    codec?: EntryCodec<A>
  ) => Effect.Effect<A, E>
  /** Forgets every version of a name and its remembered not-found; loads in flight for it will not be stored. */
  readonly invalidate: (name: string) => Effect.Effect<void>
}

/**
 * The cache service.
 *
 * @since 0.1.0
 */
export interface VaultCacheService {
  readonly config: CacheConfig.ResolvedCacheConfig
  readonly namespace: (vaultHost: string, objectType: ObjectType) => CacheNamespace
  /** Forgets everything. */
  readonly invalidateAll: Effect.Effect<void>
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

const LATEST = "latest"

interface Names {
  /** name (lower case) -> the entry of its latest version: the common read, one map lookup. */
  readonly latest: Map<string, Entry>
  /** name (lower case) -> version -> entry, for reads of a specific version. */
  readonly versions: Map<string, Map<string, Entry>>
  readonly vaultHost: string
  readonly objectType: ObjectType
}

// Kept small on purpose (a cache holds many): times are integer milliseconds since the cache was built, so they
// stay small integers in V8 rather than boxed doubles; an entry's identity doubles as its generation.
interface Entry {
  readonly names: Names
  readonly name: string
  /** `undefined` for the latest version. */
  readonly version: string | undefined
  readonly stored: unknown
  readonly expiresAt: number
  /** The decoded value, kept only while the entry is among the recently hit (see `hotEntries`). */
  decoded: unknown
  // The LRU list: `prev` is older, `next` newer.
  prev: Entry | undefined
  next: Entry | undefined
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
 * Builds a cache whose background loads live in the current scope. Time and randomness are the `Clock` and `Random`
 * of the fiber that builds it (a `TestClock` in tests).
 *
 * @since 0.1.0
 */
export const make = (
  config: CacheConfig.ResolvedCacheConfig
): Effect.Effect<VaultCacheService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const clock = yield* Effect.clock
    // When the cache goes away, readers still waiting on a load are released rather than left hanging.
    yield* Effect.addFinalizer(() =>
      Effect.forEach([...inflight.values()], (flight) => Deferred.interrupt(flight.deferred), { discard: true })
    )
    const random = yield* Effect.random
    const cipher = config.encryptionKey === undefined ? undefined : AtRestCipher.make(config.encryptionKey)
    const namespaces = new Map<string, CacheNamespace>()
    const allNames: Array<Names> = []
    let oldest: Entry | undefined
    let newest: Entry | undefined
    let size = 0
    const negatives = new Map<string, Negative>()
    const negativesByName = new Map<string, Set<string>>()
    const inflight = new Map<string, Flight>()
    const refreshing = new Set<Entry>()
    // While an expired entry is served stale after a failed reload: no new attempt before this time. Rare, so kept
    // beside the entries rather than in each of them; weak, so a dropped entry takes its mark with it.
    const retryAt = new WeakMap<Entry, number>()
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

    const unlink = (entry: Entry): void => {
      if (entry.prev === undefined) oldest = entry.next
      else entry.prev.next = entry.next
      if (entry.next === undefined) newest = entry.prev
      else entry.next.prev = entry.prev
      entry.prev = undefined
      entry.next = undefined
    }

    const append = (entry: Entry): void => {
      entry.prev = newest
      entry.next = undefined
      if (newest === undefined) oldest = entry
      else newest.next = entry
      newest = entry
    }

    const touch = (entry: Entry): void => {
      if (entry === newest) return
      unlink(entry)
      append(entry)
    }

    const removeEntry = (entry: Entry): void => {
      if (entry.version === undefined) {
        if (entry.names.latest.get(entry.name) !== entry) return
        entry.names.latest.delete(entry.name)
      } else {
        const versions = entry.names.versions.get(entry.name)
        if (versions === undefined || versions.get(entry.version) !== entry) return
        versions.delete(entry.version)
        if (versions.size === 0) entry.names.versions.delete(entry.name)
      }
      unlink(entry)
      size--
      CacheMetrics.size.unsafeUpdate(size, noTags)
    }

    const lookup = (names: Names, name: string, version: string | undefined): Entry | undefined =>
      version === undefined ? names.latest.get(name) : names.versions.get(name)?.get(version)

    const isCurrent = (entry: Entry): boolean => lookup(entry.names, entry.name, entry.version) === entry

    // Refresh-ahead starts this long before expiry (the TTL's last 1 - refreshAhead), so entries need not store it.
    const refreshLead = Math.floor(config.ttlMillis * (1 - config.refreshAhead))
    const versionRefreshLead = Math.floor(config.versionTtlMillis * (1 - config.refreshAhead))

    // The most recently hit entries keep their decoded value, so a hot hit hands it out without decoding again;
    // every other entry holds only its compact stored form. Off with encryption at rest: a decoded value holds
    // plaintext.
    const hotLimit = cipher === undefined ? config.hotEntries : 0
    const hot: Array<Entry | undefined> = new Array(hotLimit).fill(undefined)
    let hotNext = 0
    const keepHot = (entry: Entry, value: unknown): void => {
      if (hotLimit === 0) return
      const previous = hot[hotNext]
      if (previous !== undefined) previous.decoded = undefined
      entry.decoded = value
      hot[hotNext] = entry
      hotNext = (hotNext + 1) % hotLimit
    }

    const base = clock.unsafeCurrentTimeMillis()
    const now = (): number => clock.unsafeCurrentTimeMillis() - base

    const nameKeyOf = (names: Names, name: string): string => `${names.vaultHost}:${names.objectType}:${name}:`

    const removeNegative = (key: string): void => {
      const negative = negatives.get(key)
      if (negative === undefined) return
      negatives.delete(key)
      const keys = negativesByName.get(negative.nameKey)
      keys?.delete(key)
      if (keys?.size === 0) negativesByName.delete(negative.nameKey)
    }

    // Stores a loaded value as the newest entry, evicting the least recently used beyond the bound.
    const store = (
      names: Names,
      name: string,
      version: string | undefined,
      value: unknown,
      codec: EntryCodec<unknown>
    ) =>
      Effect.map(random.next, (r) => {
        const at = now()
        const ttl = version === undefined ? config.ttlMillis : config.versionTtlMillis
        const lifetime = Math.floor(ttl * (1 - config.jitter * r))
        const previous = lookup(names, name, version)
        if (previous !== undefined) removeEntry(previous)
        const entry: Entry = {
          names,
          name,
          version,
          stored: codec.encode(value, cipher),
          expiresAt: at + lifetime,
          decoded: undefined,
          prev: undefined,
          next: undefined
        }
        if (version === undefined) names.latest.set(name, entry)
        else {
          let versions = names.versions.get(name)
          if (versions === undefined) {
            versions = new Map()
            names.versions.set(name, versions)
          }
          versions.set(version, entry)
        }
        append(entry)
        size++
        removeNegative(nameKeyOf(names, name) + (version ?? LATEST))
        while (size > config.maxEntries && oldest !== undefined) {
          removeEntry(oldest)
          stats.evictions++
          CacheMetrics.evictions.unsafeUpdate(1, noTags)
        }
        CacheMetrics.size.unsafeUpdate(size, noTags)
      })

    const remember = (names: Names, name: string, version: string | undefined, error: unknown): void => {
      if (config.negativeTtlMillis === 0) return
      const nameKey = nameKeyOf(names, name)
      const key = nameKey + (version ?? LATEST)
      removeNegative(key)
      negatives.set(key, { error, expiresAt: now() + config.negativeTtlMillis, nameKey })
      let keys = negativesByName.get(nameKey)
      if (keys === undefined) {
        keys = new Set()
        negativesByName.set(nameKey, keys)
      }
      keys.add(key)
      // A flood of unknown names only ever pushes out other not-founds.
      while (negatives.size > config.maxNegativeEntries) removeNegative(negatives.keys().next().value as string)
    }

    // The end of a load: store or remember, or serve stale, then answer every waiter of this key alike.
    const settle = (
      names: Names,
      name: string,
      version: string | undefined,
      key: string,
      flight: Flight,
      previous: Entry | undefined,
      exit: Exit.Exit<unknown, unknown>,
      codec: EntryCodec<unknown>
    ): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (inflight.get(key) === flight) inflight.delete(key)
        if (Exit.isSuccess(exit)) {
          return Effect.zipRight(
            flight.valid ? store(names, name, version, exit.value, codec) : Effect.void,
            Deferred.succeed(flight.deferred, exit.value)
          )
        }
        const error = Cause.failureOption(exit.cause)
        if (Option.isSome(error) && flight.valid) {
          const at = now()
          const current = lookup(names, name, version)
          if (isTransient(error.value)) {
            const stale = previous !== undefined && current === previous && config.staleIfErrorMillis > 0 &&
                at < previous.expiresAt + config.staleIfErrorMillis
              ? codec.decode(previous.stored, cipher, previous.name)
              : undefined
            if (stale !== undefined && previous !== undefined) {
              // Serve the last good value, and hold off the next attempt a little, so an outage is not hammered.
              retryAt.set(previous, at + Math.floor(Math.min(config.ttlMillis / 10, 30_000)))
              stats.staleServed++
              staleMetric[names.objectType].unsafeUpdate(1, noTags)
              return Deferred.succeed(flight.deferred, stale)
            }
          } else {
            if (current !== undefined && current === previous) removeEntry(current)
            if (error.value instanceof NotFoundError) remember(names, name, version, error.value)
          }
        }
        return Deferred.failCause(flight.deferred, exit.cause)
      }).pipe(Effect.asVoid)

    const load = <A, E>(
      names: Names,
      name: string,
      version: string | undefined,
      userName: string,
      userVersion: string | undefined,
      previous: Entry | undefined,
      loader: Loader<A, E>,
      codec: EntryCodec<A>,
      restore: <X, Y, Z>(effect: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y, Z>
    ): Effect.Effect<A, E> => {
      const nameKey = nameKeyOf(names, name)
      const key = nameKey + (version ?? LATEST)
      const negative = negatives.get(key)
      if (negative !== undefined) {
        if (now() < negative.expiresAt) {
          stats.negativeHits++
          negativeMetric[names.objectType].unsafeUpdate(1, noTags)
          // Only not-founds of this very key are stored here, raised by this namespace's loader.
          return Effect.fail(negative.error as E)
        }
        removeNegative(key)
      }
      const running = inflight.get(key)
      if (running !== undefined) {
        stats.coalesced++
        coalescedMetric[names.objectType].unsafeUpdate(1, noTags)
        return restore(Deferred.await(running.deferred) as Effect.Effect<A, E>)
      }
      stats.misses++
      missMetric[names.objectType].unsafeUpdate(1, noTags)
      const flight: Flight = { deferred: Deferred.unsafeMake<unknown, unknown>(FiberId.none), nameKey, valid: true }
      inflight.set(key, flight)
      const run = Effect.suspend(() => loader(userName, userVersion)).pipe(
        Effect.exit,
        Effect.flatMap((exit) =>
          settle(names, name, version, key, flight, previous, exit, codec as EntryCodec<unknown>)
        )
      )
      // The load runs in the cache's scope: an interrupted reader never cancels what other readers wait for. The
      // flight is registered and forked in one uninterruptible step (the caller's mask), so no flight is left
      // without a load; only the wait is interruptible.
      // The forked load itself is interruptible again (a fork inherits the mask), so its timeouts can cut a stalled
      // request.
      return Effect.zipRight(
        Effect.forkIn(Effect.interruptible(run), scope),
        restore(Deferred.await(flight.deferred) as Effect.Effect<A, E>)
      )
    }

    const startRefresh = <A, E>(
      entry: Entry,
      userName: string,
      userVersion: string | undefined,
      loader: Loader<A, E>,
      codec: EntryCodec<A>
    ): Effect.Effect<void> => {
      const run = Effect.suspend(() => loader(userName, userVersion)).pipe(
        Effect.exit,
        Effect.flatMap((exit) =>
          Effect.suspend(() => {
            refreshing.delete(entry)
            const unchanged = isCurrent(entry)
            if (Exit.isSuccess(exit)) {
              if (!unchanged) {
                stats.refreshesDropped++
                refreshDropped.unsafeUpdate(1, noTags)
                return Effect.void
              }
              stats.refreshesOk++
              refreshOk.unsafeUpdate(1, noTags)
              return store(entry.names, entry.name, entry.version, exit.value, codec as EntryCodec<unknown>)
            }
            stats.refreshesFailed++
            refreshFailed.unsafeUpdate(1, noTags)
            const error = Cause.failureOption(exit.cause)
            // A transient failure leaves the (still fresh) entry alone; a revocation removes it at once.
            if (unchanged && Option.isSome(error) && !isTransient(error.value)) {
              removeEntry(entry)
              if (error.value instanceof NotFoundError) remember(entry.names, entry.name, entry.version, error.value)
            }
            return Effect.void
          })
        )
      )
      // Marked and forked in one uninterruptible step, so an entry is never left marked without its refresh.
      return Effect.uninterruptible(Effect.suspend(() => {
        if (refreshing.has(entry)) return Effect.void
        refreshing.add(entry)
        return Effect.asVoid(Effect.forkIn(Effect.interruptible(run), scope))
      }))
    }

    const makeNamespace = (vaultHost: string, objectType: ObjectType): CacheNamespace => {
      const names: Names = { latest: new Map(), versions: new Map(), vaultHost, objectType }
      allNames.push(names)
      const hits = hitMetric[objectType]
      const stale = staleMetric[objectType]

      // The lookup runs when the Effect runs (not when `get` is called), so an Effect built once and run many times
      // (a variable, `Effect.repeat`, a poller) sees every write and every expiry.
      const read = <A, E>(
        userName: string,
        userVersion: string | undefined,
        loader: Loader<A, E>,
        codec: EntryCodec<A>
      ): Effect.Effect<A, E> => {
        const name = userName.toLowerCase()
        const entry = lookup(names, name, userVersion)
        if (entry !== undefined) {
          const at = now()
          const fresh = at < entry.expiresAt
          if (fresh || at < (retryAt.get(entry) ?? 0)) {
            let value = entry.decoded as A | undefined
            if (value === undefined) {
              value = codec.decode(entry.stored, cipher, entry.name)
              if (value !== undefined && codec !== identity) keepHot(entry, value)
            }
            if (value === undefined) {
              removeEntry(entry)
              stats.tamperedDropped++
            } else {
              touch(entry)
              const result = Effect.succeed(value)
              if (!fresh) {
                stats.staleServed++
                stale.unsafeUpdate(1, noTags)
                return result
              }
              stats.hits++
              hits.unsafeUpdate(1, noTags)
              const lead = entry.version === undefined ? refreshLead : versionRefreshLead
              if (config.refreshAhead > 0 && at >= entry.expiresAt - lead && !refreshing.has(entry)) {
                return Effect.zipRight(startRefresh(entry, userName, userVersion, loader, codec), result)
              }
              return result
            }
          }
        }
        // Only a miss pays for the mask: it registers a flight and forks its load in one uninterruptible step.
        return Effect.uninterruptibleMask((restore) =>
          Effect.suspend(() =>
            load(names, name, userVersion, userName, userVersion, lookup(names, name, userVersion), loader, codec, restore)
          )
        )
      }

      const get = <A, E>(
        userName: string,
        userVersion: string | undefined,
        loader: Loader<A, E>,
        codec: EntryCodec<A> = identity as EntryCodec<unknown> as EntryCodec<A>
      ): Effect.Effect<A, E> =>
        config.enabled
          ? Effect.suspend(() => read(userName, userVersion, loader, codec))
          : Effect.suspend(() => loader(userName, userVersion))

      const invalidateName = (name: string): void => {
        const latest = names.latest.get(name)
        if (latest !== undefined) removeEntry(latest)
        const versions = names.versions.get(name)
        if (versions !== undefined) for (const entry of [...versions.values()]) removeEntry(entry)
        const nameKey = nameKeyOf(names, name)
        for (const key of negativesByName.get(nameKey) ?? []) negatives.delete(key)
        negativesByName.delete(nameKey)
        // Loads that started before the change must neither be stored nor be joined by readers after it.
        for (const [key, flight] of inflight) {
          if (flight.nameKey === nameKey) {
            flight.valid = false
            inflight.delete(key)
          }
        }
      }

      return {
        vaultHost,
        objectType,
        get,
        refresh: (userName, userVersion, loader, codec) =>
          Effect.suspend(() => {
            const name = userName.toLowerCase()
            const entry = lookup(names, name, userVersion)
            if (entry !== undefined) removeEntry(entry)
            const key = nameKeyOf(names, name) + (userVersion ?? LATEST)
            removeNegative(key)
            const flight = inflight.get(key)
            if (flight !== undefined) flight.valid = false
            inflight.delete(key)
            return get(userName, userVersion, loader, codec)
          }),
        invalidate: (name) => Effect.sync(() => invalidateName(name.toLowerCase()))
      }
    }

    const namespace = (vaultHost: string, objectType: ObjectType): CacheNamespace => {
      const id = `${vaultHost}:${objectType}`
      let ns = namespaces.get(id)
      if (ns === undefined) {
        ns = makeNamespace(vaultHost, objectType)
        namespaces.set(id, ns)
      }
      return ns
    }

    const invalidateAll: Effect.Effect<void> = Effect.sync(() => {
      for (const names of allNames) {
        names.latest.clear()
        names.versions.clear()
      }
      oldest = undefined
      newest = undefined
      size = 0
      negatives.clear()
      negativesByName.clear()
      for (const flight of inflight.values()) flight.valid = false
      inflight.clear()
      CacheMetrics.size.unsafeUpdate(0, noTags)
    })

    return {
      config,
      namespace,
      invalidateAll,
      stats: Effect.sync((): CacheStats => ({ ...stats, size, negativeSize: negatives.size }))
    }
  })

/**
 * A cache from options. Options it refuses (a negative TTL, ...) fail it with a `ValidationError`; it reads no
 * `Config`, so it raises no `ConfigError`.
 *
 * @since 0.1.0
 */
export const layer = (options: CacheConfig.CacheOptions = {}): Layer.Layer<VaultCache, ValidationError> =>
  Layer.scoped(VaultCache, Effect.flatMap(Effect.suspend(() => validate("VaultCache.layer", options)), make))

/**
 * Checks cache options as `layer` does.
 *
 * @since 0.1.0
 */
export const validate = (
  operation: string,
  options: CacheConfig.CacheOptions
): Effect.Effect<CacheConfig.ResolvedCacheConfig, ValidationError> =>
  Either.match(CacheConfig.resolve(options), {
    onLeft: (message) => Effect.fail(new ValidationError({ operation, field: "cache", message })),
    onRight: Effect.succeed
  })

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
export const layerDisabled: Layer.Layer<VaultCache> = Layer.scoped(
  VaultCache,
  Effect.flatMap(Effect.orDie(validate("VaultCache.layerDisabled", { enabled: false })), make)
)
