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
 * The body lives in `internal/`, one part per concern, each tested on its own: `Lru` (recency order), `EntryStore`
 * (tables, size bound, eviction), `Entry` (the compact entry and the hot ring of decoded values), `NegativeStore`,
 * `SingleFlight` (coalesced loads in the cache's scope), `RefreshPolicy` (refresh-ahead, drop-if-changed,
 * stale-if-error) and `Cache`, which puts them together.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { ValidationError } from "../errors/KeyVaultError.js"
import type * as AtRestCipher from "./AtRestCipher.js"
import * as CacheConfig from "./CacheConfig.js"
import * as internal from "./internal/Cache.js"
import { identity } from "./internal/Entry.js"

/**
 * What the cache holds.
 *
 * @since 0.1.0
 * @category models
 */
export type ObjectType = "secret" | "key" | "certificate"

/**
 * How a value is stored: the identity for most values; secrets seal their value when encryption at rest is on.
 * `decode` answers `undefined` for an entry it cannot open (tampered), which is then dropped and reloaded.
 *
 * @since 0.1.0
 * @category models
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
 * @category models
 */
export type Loader<A, E> = (name: string, version: string | undefined) => Effect.Effect<A, E>

/**
 * Counters of one cache instance (the `Metric`s in `CacheMetrics` aggregate every instance).
 *
 * @since 0.1.0
 * @category models
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
 * @category models
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
 * @category models
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
 * @category tags
 */
export class VaultCache extends Context.Tag("@effect-azure/key-vault/VaultCache")<VaultCache, VaultCacheService>() {}

/**
 * The codec that stores values as they are.
 *
 * @since 0.1.0
 * @category constructors
 */
export const identityCodec = <A>(): EntryCodec<A> => identity as EntryCodec<A>

/**
 * Builds a cache whose background loads live in the current scope. Time and randomness are the `Clock` and `Random`
 * of the fiber that builds it (a `TestClock` in tests).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (config: CacheConfig.ResolvedCacheConfig) => Effect.Effect<VaultCacheService, never, Scope.Scope> =
  internal.make

/**
 * A cache from options. Options it refuses (a negative TTL, ...) fail it with a `ValidationError`; it reads no
 * `Config`, so it raises no `ConfigError`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: CacheConfig.CacheOptions = {}): Layer.Layer<VaultCache, ValidationError> =>
  Layer.scoped(VaultCache, Effect.flatMap(Effect.suspend(() => validate("VaultCache.layer", options)), make))

/**
 * Checks cache options as `layer` does.
 *
 * @since 0.1.0
 * @category constructors
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
 * A cache from `Config` (default: `AZURE_KEYVAULT_CACHE_*`): one `Config` of the options, or a record with a `Config`
 * per option (`Config.Config.Wrap`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<CacheConfig.CacheOptions> = CacheConfig.fromEnv
): Layer.Layer<VaultCache, ConfigError.ConfigError> =>
  Layer.scoped(VaultCache, Effect.flatMap(CacheConfig.resolveConfig(Config.unwrap(config)), make))

/**
 * No caching: every read goes to the vault.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDisabled: Layer.Layer<VaultCache> = Layer.scoped(
  VaultCache,
  Effect.flatMap(Effect.orDie(validate("VaultCache.layerDisabled", { enabled: false })), make)
)
