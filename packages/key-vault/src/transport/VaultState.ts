/**
 * What a client knows about one vault, shared by every service of a client graph: the learned authentication
 * challenge (and so the token scope), the circuit breaker and the rate limiter. It lives in a `VaultRegistry`, a
 * scoped service: clients built in one Layer graph share one registry (one challenge probe, one breaker per vault),
 * two applications built separately never share it by accident, and it is dropped when its scope closes.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as SynchronizedRef from "effect/SynchronizedRef"
import type * as Challenge from "../auth/Challenge.js"
import type { ResolvedKeyVaultConfig } from "../config/KeyVaultConfig.js"
import * as CircuitBreaker from "../resilience/CircuitBreaker.js"
import * as RateLimiter from "../resilience/RateLimiter.js"

/**
 * Whether the vault asks for a token, and if so for which tenant and scope.
 *
 * @since 0.1.0
 * @category models
 */
export type AuthState =
  | { readonly _tag: "Unknown" }
  | { readonly _tag: "NotRequired" }
  | { readonly _tag: "Known"; readonly challenge: Challenge.Challenge }

/**
 * The state of one vault.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultState {
  readonly auth: Ref.Ref<AuthState>
  /** Held while the challenge is discovered, so concurrent first calls make one probe. */
  readonly discovery: Effect.Semaphore
  readonly breaker: CircuitBreaker.CircuitBreaker | undefined
  readonly limiter: RateLimiter.RateLimiter | undefined
}

/**
 * The registry of per-vault state.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultRegistryService {
  /** The state for the vault of `config`, made on first use. */
  readonly forVault: (config: ResolvedKeyVaultConfig) => Effect.Effect<VaultState>
  /** How many vault states the registry holds (0 once its scope has closed). */
  readonly size: Effect.Effect<number>
}

/**
 * The registry tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class VaultRegistry extends Context.Tag("@effect-azure/key-vault/VaultRegistry")<
  VaultRegistry,
  VaultRegistryService
>() {}

// Clients share state only when they would make the same decisions: a client that skips resource verification must
// not hand an unverified challenge to one that verifies, nor share a breaker tuned otherwise.
const keyOf = (config: ResolvedKeyVaultConfig): string =>
  `${config.vaultUrl}|${config.disableChallengeResourceVerification}|${JSON.stringify(config.resilience)}`

/**
 * Fresh state for one vault, owned by whoever makes it (a transport built without a registry).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeState = (config: ResolvedKeyVaultConfig): Effect.Effect<VaultState> =>
  Effect.gen(function*() {
    const { circuitBreaker, rateLimiter } = config.resilience
    return {
      auth: yield* Ref.make<AuthState>({ _tag: "Unknown" }),
      discovery: yield* Effect.makeSemaphore(1),
      breaker: circuitBreaker === undefined ? undefined : CircuitBreaker.make(config.vaultHost, circuitBreaker),
      limiter: rateLimiter === undefined ? undefined : yield* RateLimiter.make(config.vaultHost, rateLimiter)
    }
  })

/**
 * A registry that lives as long as the current scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<VaultRegistryService, never, Scope.Scope> = Effect.gen(function*() {
  // A SynchronizedRef: two transports built concurrently for one vault must end up with the same state. Only
  // transport construction reads it, never a request.
  const vaults = yield* SynchronizedRef.make<ReadonlyMap<string, VaultState>>(new Map())
  yield* Effect.addFinalizer(() => SynchronizedRef.set(vaults, new Map()))
  return {
    forVault: (config) => {
      const key = keyOf(config)
      return SynchronizedRef.modifyEffect(vaults, (map) => {
        const known = map.get(key)
        return known !== undefined
          ? Effect.succeed([known, map] as const)
          : Effect.map(makeState(config), (state) => [state, new Map(map).set(key, state)] as const)
      })
    },
    size: Effect.map(SynchronizedRef.get(vaults), (map) => map.size)
  }
})

/**
 * A new registry for the Layer's scope.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<VaultRegistry> = Layer.scoped(VaultRegistry, make)

/**
 * The registry the application already provides, or else a new one for the Layer's scope. `KeyVault.layer` uses
 * this one value: being one Layer value, it is built once per Layer graph, so every client of one graph shares it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerInherit: Layer.Layer<VaultRegistry> = Layer.scoped(
  VaultRegistry,
  Effect.flatMap(
    Effect.serviceOption(VaultRegistry),
    (outer) => outer._tag === "Some" ? Effect.succeed(outer.value) : make
  )
)
