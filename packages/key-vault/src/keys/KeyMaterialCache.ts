/**
 * Where the `Cryptography` service keeps the keys it has fetched (public JWK + attributes), so that the validator and
 * local cryptography need one `GET` per key, not one per operation. `Keys` invalidates a name on every mutation
 * through the client (update, rotate, delete, ...).
 *
 * The client uses `layerVaultCache` (the shared cache's `key` namespace); `layerMemory` is a plain bounded map that
 * keeps entries until they are invalidated or evicted, for use without the cache.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { VaultCache } from "../cache/VaultCache.js"
import { KeyVaultConfig } from "../config/KeyVaultConfig.js"
import type { KeyVaultKey } from "./Key.js"

/**
 * The key material cache.
 *
 * @since 0.1.0
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
 */
export class KeyMaterialCache extends Context.Tag("@effect-azure/key-vault/KeyMaterialCache")<
  KeyMaterialCache,
  KeyMaterialCacheService
>() {}

/**
 * An in-memory cache of at most `maxEntries` keys (oldest evicted first). Names are case-insensitive in Key Vault,
 * so entries are keyed by the lower-cased name.
 *
 * @since 0.1.0
 */
export const makeMemory = (options: { readonly maxEntries?: number } = {}): Effect.Effect<KeyMaterialCacheService> =>
  Effect.sync(() => {
    const maxEntries = Math.max(1, options.maxEntries ?? 1024)
    const entries = new Map<string, KeyVaultKey>()
    // Bumped by every invalidation, so a load that raced with one does not resurrect the old key.
    const generations = new Map<string, number>()
    const entryKey = (name: string, version: string | undefined) => `${name.toLowerCase()}/${version ?? ""}`

    const getOrLoad: KeyMaterialCacheService["getOrLoad"] = (name, version, load) =>
      Effect.suspend(() => {
        const key = entryKey(name, version)
        const hit = entries.get(key)
        if (hit !== undefined) return Effect.succeed(hit)
        const lower = name.toLowerCase()
        const generation = generations.get(lower) ?? 0
        return Effect.tap(load, (loaded) =>
          Effect.sync(() => {
            if ((generations.get(lower) ?? 0) !== generation) return
            entries.set(key, loaded)
            if (entries.size > maxEntries) {
              const oldest = entries.keys().next()
              if (oldest.done !== true) entries.delete(oldest.value)
            }
          }))
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
 */
export const layerMemory: Layer.Layer<KeyMaterialCache> = Layer.effect(KeyMaterialCache, makeMemory())

/**
 * The key material cache as the `key` namespace of the client's `VaultCache`: public key material then shares the
 * cache's TTL, refresh-ahead, coalescing, negative caching, stale-if-error, metrics and size bound with secrets.
 *
 * @since 0.1.0
 */
export const layerVaultCache: Layer.Layer<KeyMaterialCache, never, VaultCache | KeyVaultConfig> = Layer.effect(
  KeyMaterialCache,
  Effect.gen(function*() {
    const config = yield* KeyVaultConfig
    const namespace = (yield* VaultCache).namespace(config.vaultHost, "key")
    return {
      getOrLoad: (name, version, load) => namespace.get(name, version, () => load),
      invalidate: (name) => namespace.invalidate(name)
    }
  })
)
