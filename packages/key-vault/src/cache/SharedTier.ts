/**
 * The hook for a second cache tier shared by many processes (the fleet cache on Redis, `fleet/FleetCache`).
 *
 * The memory cache looks the `SharedTier` service up once, when it is built (`Effect.serviceOption`): an application
 * that provides none pays nothing, not even a branch on a hit. With a tier, a memory miss asks the tier, which answers
 * from the shared store or runs the vault load and shares its answer; the memory entry then lives no longer than the
 * shared one. Mutations and invalidations through the client reach the tier, and the tier tells the memory cache about
 * invalidations made by other processes.
 *
 * This module holds only the contract; it loads no Redis client.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as CacheConfig from "./CacheConfig.js"
import type { ObjectType } from "./VaultCache.js"

/**
 * Why the memory cache asks: `miss` (no usable memory entry), `refresh` (refresh-ahead of an entry still fresh) or
 * `force` (`refresh()` on a service: load from the vault whatever the shared store holds).
 *
 * @since 0.1.0
 * @category models
 */
export type SharedReadMode = "miss" | "refresh" | "force"

/**
 * One read through the tier: which object, and the vault load to run when the shared store cannot answer.
 *
 * @since 0.1.0
 * @category models
 */
export interface SharedRead {
  readonly vaultHost: string
  readonly objectType: ObjectType
  /** Lower case. */
  readonly name: string
  /** `undefined`: the latest version. */
  readonly version: string | undefined
  readonly mode: SharedReadMode
}

/**
 * A value with the time (`Clock` milliseconds) until which the shared tier holds it fresh; `undefined` when the value
 * did not come from, or did not reach, the shared store (the memory cache then uses its own TTL).
 *
 * @since 0.1.0
 * @category models
 */
export interface SharedValue<A> {
  readonly value: A
  readonly expiresAt: number | undefined
}

/**
 * What the tier may ask of a memory cache bound to it: forget names that other processes changed.
 *
 * @since 0.1.0
 * @category models
 */
export interface SharedTierListener {
  readonly config: CacheConfig.ResolvedCacheConfig
  /** Forgets a name in this memory cache only (no message goes back to the tier). */
  readonly invalidateLocal: (vaultHost: string, objectType: ObjectType, name: string) => Effect.Effect<void>
  /** Forgets everything in this memory cache only: after the tier lost messages (a reconnect). */
  readonly invalidateAllLocal: Effect.Effect<void>
}

/**
 * A memory cache's handle on the tier.
 *
 * @since 0.1.0
 * @category models
 */
export interface SharedTierBinding {
  /** Never fails because of the shared store: any trouble there runs `load` (the vault) instead. */
  readonly read: <A, E>(read: SharedRead, load: Effect.Effect<A, E>) => Effect.Effect<SharedValue<A>, E>
  /** Forgets a name in the shared store and in every other process's memory; never fails. */
  readonly invalidate: (vaultHost: string, objectType: ObjectType, name: string) => Effect.Effect<void>
}

/**
 * The tier service: binds a memory cache for the life of the cache's scope.
 *
 * @since 0.1.0
 * @category models
 */
export interface SharedTierService {
  readonly bind: (listener: SharedTierListener) => Effect.Effect<SharedTierBinding, never, Scope.Scope>
  /** The tier's own counts, when it keeps them (the fleet replay reads them; the memory cache does not). */
  readonly stats?: Effect.Effect<SharedTierStats> | undefined
}

/**
 * A tier's counts since it started, as far as a simulation of the fleet needs them.
 *
 * @since 0.1.0
 * @category models
 */
export interface SharedTierStats {
  /** Memory misses the tier answered from the shared store. */
  readonly hits: number
  /** Memory misses the shared store could not answer. */
  readonly misses: number
  /** Loads answered by another process's vault call after a wait. */
  readonly coalesced: number
  /** Operations on the shared store that failed or were skipped, each answered through memory and the vault. */
  readonly fallbacks: number
  /** Calls to the shared store awaiting their answer right now. */
  readonly inFlight: number
}

/**
 * The tier tag; `VaultCache` uses it when present.
 *
 * @since 0.1.0
 * @category tags
 */
export class SharedTier extends Context.Tag("@effect-azure/key-vault/SharedTier")<SharedTier, SharedTierService>() {}
