/**
 * New versions written through this client (a secret set, a key created, imported or rotated, a certificate
 * imported, merged or issued), announced so that `RotationEvents` can publish them as `NewVersionCreated` events, as
 * Event Grid would. The services announce; nobody listens unless a `RotationEvents` is built on the same client.
 * Not part of the package's public exports.
 *
 * @since 0.1.0
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { ObjectType } from "../cache/VaultCache.js"

/**
 * One new version.
 *
 * @since 0.1.0
 * @internal
 */
export interface VersionWrite {
  readonly objectType: ObjectType
  readonly vaultUrl: string
  readonly name: string
  readonly version: string
  readonly notBefore: Date | undefined
  readonly expiresOn: Date | undefined
}

/**
 * The announcements of one client.
 *
 * @since 0.1.0
 * @internal
 */
export class VersionWrites extends Context.Tag("@effect-azure/key-vault/VersionWrites")<VersionWrites, {
  readonly announce: (write: VersionWrite) => Effect.Effect<void>
  /** Every announcement from now on, for the scope's lifetime. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<VersionWrite>, never, Scope.Scope>
}>() {}

// Announcements nobody reads cost a publish into an empty PubSub; a listener that falls behind loses the oldest.
const BUFFER = 1_024

/**
 * The announcements as a Layer.
 *
 * @since 0.1.0
 * @internal
 */
export const layer: Layer.Layer<VersionWrites> = Layer.scoped(
  VersionWrites,
  Effect.map(Effect.acquireRelease(PubSub.sliding<VersionWrite>(BUFFER), PubSub.shutdown), (pubsub) => ({
    announce: (write) => Effect.asVoid(PubSub.publish(pubsub, write)),
    subscribe: PubSub.subscribe(pubsub)
  }))
)

/**
 * The version a model names, as an announcement (`undefined` when the answer named no version).
 *
 * @since 0.1.0
 * @internal
 */
export const of = (
  objectType: ObjectType,
  properties: {
    readonly vaultUrl: string
    readonly name: string
    readonly version: string | undefined
    readonly notBefore: Date | undefined
    readonly expiresOn: Date | undefined
  }
): VersionWrite | undefined =>
  properties.version === undefined ? undefined : {
    objectType,
    vaultUrl: properties.vaultUrl,
    name: properties.name,
    version: properties.version,
    notBefore: properties.notBefore,
    expiresOn: properties.expiresOn
  }
