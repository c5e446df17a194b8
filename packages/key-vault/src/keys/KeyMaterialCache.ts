/**
 * Where the `Cryptography` service keeps the keys it has fetched (public JWK + attributes), so that the validator and
 * local cryptography need one `GET` per key, not one per operation. `Keys` invalidates a name on every mutation
 * through the client (update, rotate, delete, ...).
 *
 * The client uses `layerVaultCache`: the shared cache's `key` namespace while the cache is on, and a bounded in-memory
 * map with the cache's TTL while it is off (`cache: { enabled: false }` switches off the caching of *values*; public key
 * material is not secret, and without it every local verify or encrypt would cost a round trip after all).
 * `layerMemory` is that map on its own.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { VaultCache } from "../cache/VaultCache.js"
import { KeyVaultConfig } from "../config/KeyVaultConfig.js"
import type { KeyVaultKey } from "./Key.js"

/**
 * The key material cache.
 *
 * @since 0.1.0
 * @category services
 */
export interface KeyMaterialCacheService {
  /**
   * The key for `name` at `version` (latest when undefined): from the cache, or loaded with `load` and kept. A load
   * that finishes after the name was invalidated is returned to its caller but not kept.
   */
  readonly getOrLoad: <E>(
    name: string,
    version: string | undefined,
    load: Effect.Effect<KeyVaultKey, E>
  ) => Effect.Effect<KeyVaultKey, E>
  /** Forgets every version of `name`. */
  readonly invalidate: (name: string) => Effect.Effect<void>
}

/**
 * The key material cache tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class KeyMaterialCache extends Context.Tag("@effect-azure/key-vault/KeyMaterialCache")<
  KeyMaterialCache,
  KeyMaterialCacheService
>() {}

/**
 * Options of the in-memory cache.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  /** At most this many keys (name + version) are kept, the least recently used go first; default 1,024. */
  readonly maxEntries?: number | undefined
  /** How long a key is kept after it was loaded; default 5 minutes. A key changed elsewhere is seen after this. */
  readonly ttl?: Duration.DurationInput | undefined
}

interface MemoryEntry {
  readonly key: KeyVaultKey
  readonly expiresAt: number
}

/**
 * An in-memory cache of at most `maxEntries` keys for `ttl` each (least recently used evicted first). Names are
 * case-insensitive in Key Vault, so entries are keyed by the lower-cased name. Time comes from the `Clock`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (options: MemoryOptions = {}): Effect.Effect<KeyMaterialCacheService> =>
  Effect.sync(() => {
    const maxEntries = Math.max(1, options.maxEntries ?? 1024)
    const ttlMillis = Duration.toMillis(Duration.decode(options.ttl ?? "5 minutes"))
    // A plain Map: a hit is one lookup on every local verify, the hot path this cache exists for.
    const entries = new Map<string, MemoryEntry>()
    // Bumped by every invalidation, so a load that raced with one does not resurrect the old key.
    const generations = new Map<string, number>()
    const entryKey = (name: string, version: string | undefined) => `${name.toLowerCase()}/${version ?? ""}`

    const getOrLoad: KeyMaterialCacheService["getOrLoad"] = (name, version, load) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const key = entryKey(name, version)
        const hit = entries.get(key)
        if (hit !== undefined) {
          entries.delete(key)
          if (hit.expiresAt > now) {
            // Re-inserted so that Map order is least recently used first.
            entries.set(key, hit)
            return Effect.succeed(hit.key)
          }
        }
        const lower = name.toLowerCase()
        const generation = generations.get(lower) ?? 0
        return Effect.tap(load, (loaded) =>
          Effect.flatMap(Clock.currentTimeMillis, (loadedAt) =>
            Effect.sync(() => {
              if ((generations.get(lower) ?? 0) !== generation) return
              entries.delete(key)
              entries.set(key, { key: loaded, expiresAt: loadedAt + ttlMillis })
              if (entries.size > maxEntries) {
                const oldest = entries.keys().next()
                if (oldest.done !== true) entries.delete(oldest.value)
              }
            })))
      })

    const invalidate: KeyMaterialCacheService["invalidate"] = (name) =>
      Effect.sync(() => {
        const lower = name.toLowerCase()
        generations.set(lower, (generations.get(lower) ?? 0) + 1)
        const prefix = `${lower}/`
        for (const key of [...entries.keys()]) if (key.startsWith(prefix)) entries.delete(key)
      })

    return { getOrLoad, invalidate }
  })

/**
 * The in-memory cache as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<KeyMaterialCache> = Layer.effect(KeyMaterialCache, makeMemory())

/**
 * The key material cache of the client. While the `VaultCache` is on, it is the cache's `key` namespace: public key
 * material then shares the cache's TTL, refresh-ahead, coalescing, negative caching, stale-if-error, metrics and size
 * bound with secrets. While the cache is off, it is `makeMemory` with the cache's `ttl` and `maxEntries`: switching
 * the value cache off must not turn every local verify or encrypt into a round trip (and every remote one into two).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerVaultCache: Layer.Layer<KeyMaterialCache, never, VaultCache | KeyVaultConfig> = Layer.effect(
  KeyMaterialCache,
  Effect.gen(function*() {
    const config = yield* KeyVaultConfig
    const cache = yield* VaultCache
    if (!cache.config.enabled) {
      return yield* makeMemory({
        maxEntries: cache.config.maxEntries,
        ttl: Duration.millis(cache.config.ttlMillis)
      })
    }
    const namespace = cache.namespace(config.vaultHost, "key")
    return {
      getOrLoad: (name, version, load) => namespace.get(name, version, () => load),
      invalidate: (name) => namespace.invalidate(name)
    } satisfies KeyMaterialCacheService
  })
)
