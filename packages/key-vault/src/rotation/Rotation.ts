/**
 * Rotation: runs `RotationHandler`s on the NearExpiry and Expired events of `RotationEvents` (from the expiry
 * monitor, from Event Grid through the webhook, or published by the application).
 *
 * For each event of this client's vault that a handler matches:
 *
 * 1. `RotationStarted` is published.
 * 2. The object's versions are listed (properties only). If the event's version is no longer the newest (someone
 *    else rotated it) the rotation ends as `RotationSkipped` (`NewerVersion`); if it is not among them, `UnknownVersion`.
 * 3. The handler runs: a secret's new value is produced and stored with `Secrets.set` (content type and tags of the
 *    current version, expiry from the handler's policy); a key is rotated with `Keys.rotate`; a certificate gets a new
 *    version from its policy. Writes through the client invalidate its cache.
 * 4. `NewVersionCreated` (for the new version) and `RotationSucceeded` are published, then the handler's
 *    `afterRotation` hook runs.
 *
 * A failing attempt (steps 2 and 3) is retried on the handler's `Schedule` or the layer's (default `defaultRetry`);
 * when the schedule gives up, `RotationFailed` is published with the failure's tag and message. Nothing fails or
 * stops the stream. At most one rotation per object runs at a time in the process: an event for an object being
 * rotated is absorbed (coalesced) by that rotation; at most `concurrency` rotations run at once.
 *
 * The layer also keeps the cache honest (`layerCacheInvalidation`): every NewVersionCreated event, from any source,
 * invalidates that name in `VaultCache`, so an application that receives Event Grid deliveries does not serve a
 * rotated-away value for a full TTL.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { type ObjectType, VaultCache } from "../cache/VaultCache.js"
import type { Certificates } from "../certificates/Certificates.js"
import type { Keys } from "../keys/Keys.js"
import type { Secrets } from "../secrets/Secrets.js"
import type { KeyVaultTransport } from "../transport/Transport.js"
import * as ExpiryMonitor from "./ExpiryMonitor.js"
import * as Rotator from "./internal/Rotator.js"
import {
  fromEventObjectType,
  isExpiryEvent,
  isNewVersionCreated,
  type KeyVaultEvent,
  type RotationOutcome,
  vaultHostOf
} from "./RotationEvent.js"
import * as RotationEvents from "./RotationEvents.js"
import type { RotationHandler } from "./RotationHandler.js"

/**
 * Why an event started no rotation: not a NearExpiry or Expired event, another vault's, no handler matches, or the
 * object is being rotated already (coalesced into that rotation).
 *
 * @since 0.1.0
 * @category models
 */
export type IgnoreReason = "NotExpiry" | "OtherVault" | "NoHandler" | "Coalesced"

/**
 * What handling one event came to.
 *
 * @since 0.1.0
 * @category models
 */
export type HandleResult = RotationOutcome | { readonly _tag: "Ignored"; readonly reason: IgnoreReason }

/**
 * The rotation service.
 *
 * @since 0.1.0
 * @category models
 */
export interface RotationService {
  /**
   * Handles one event now, as if it had arrived on the stream (same coalescing, retries and published events), and
   * answers how it ended. Never fails.
   */
  readonly handle: (event: KeyVaultEvent) => Effect.Effect<HandleResult>
}

/**
 * The rotation service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class Rotation extends Context.Tag("@effect-azure/key-vault/Rotation")<Rotation, RotationService>() {}

/**
 * Settings of the rotation layer.
 *
 * @since 0.1.0
 * @category models
 */
export interface RotationOptions<R = never> {
  /** Retries of a failed rotation, fed its failures, for handlers without their own. Default `defaultRetry`. */
  readonly retry?: Schedule.Schedule<unknown, unknown, R> | undefined
  /** Rotations that may run at once (of different objects: one object is never rotated twice at once). Default 4. */
  readonly concurrency?: number | undefined
  /** Whether the layer also invalidates the cache on NewVersionCreated events (`layerCacheInvalidation`). Default true. */
  readonly invalidateCache?: boolean | undefined
}

/**
 * The default retry: up to 4 retries, after about 1, 2, 4 and 8 seconds (jittered). The transport has already
 * retried throttling and transient vault failures within each attempt; these retries are for the handler's external
 * system and for failures that outlast the transport's retries.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultRetry: Schedule.Schedule<unknown> = Schedule.exponential("1 second").pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(4))
)

/**
 * Default number of rotations running at once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const DEFAULT_CONCURRENCY = 4

/**
 * The rotation service without a subscription: `handle` runs handlers on the events given to it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <R = never>(
  handlers: ReadonlyArray<RotationHandler<R>>,
  options: RotationOptions<R> = {}
): Effect.Effect<
  RotationService,
  never,
  RotationEvents.RotationEvents | Secrets | Keys | Certificates | KeyVaultTransport | R
> =>
  options.concurrency !== undefined && !(Number.isSafeInteger(options.concurrency) && options.concurrency >= 1)
    ? Effect.dieMessage("Rotation: concurrency must be a positive integer")
    : Rotator.make(handlers, options.retry ?? defaultRetry, options.concurrency ?? DEFAULT_CONCURRENCY)

const invalidated: Readonly<Record<ObjectType, ReadonlyArray<ObjectType>>> = {
  secret: ["secret"],
  key: ["key"],
  // A certificate's key and secret share its name and change with it.
  certificate: ["certificate", "secret", "key"]
}

/**
 * Invalidates the cache on every NewVersionCreated event (of any vault: each is filed under its own host), for the
 * Layer's lifetime.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerCacheInvalidation: Layer.Layer<never, never, RotationEvents.RotationEvents | VaultCache> = Layer
  .scopedDiscard(
    Effect.gen(function*() {
      const events = yield* RotationEvents.RotationEvents
      const cache = yield* VaultCache
      const stream = yield* events.subscribe
      yield* Effect.forkScoped(Stream.runForEach(stream, (event) => {
        if (!isNewVersionCreated(event)) return Effect.void
        const host = vaultHostOf(event)
        if (host === undefined) return Effect.void
        return Effect.forEach(
          invalidated[fromEventObjectType(event.data.ObjectType)],
          (objectType) => cache.namespace(host, objectType).invalidate(event.data.ObjectName),
          { discard: true }
        )
      }))
    })
  )

/**
 * Rotation running in the Layer's scope: it subscribes to `RotationEvents` when built (so it sees every event
 * published after), forks each rotation (so a slow handler never holds up the stream), and stops with the scope.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <R = never>(
  handlers: ReadonlyArray<RotationHandler<R>>,
  options: RotationOptions<R> = {}
): Layer.Layer<
  Rotation,
  never,
  RotationEvents.RotationEvents | Secrets | Keys | Certificates | KeyVaultTransport | VaultCache | R
> => {
  const rotation = Layer.scoped(
    Rotation,
    Effect.gen(function*() {
      const events = yield* RotationEvents.RotationEvents
      const service = yield* make(handlers, options)
      const stream = yield* events.subscribe
      const fibers = yield* FiberSet.make<unknown, never>()
      yield* Effect.forkScoped(Stream.runForEach(
        stream,
        (event) => isExpiryEvent(event) ? FiberSet.run(fibers, service.handle(event)) : Effect.void
      ))
      return service
    })
  )
  return options.invalidateCache === false ? rotation : Layer.merge(rotation, layerCacheInvalidation)
}

/**
 * Options of `layerWithMonitor`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RotationSetupOptions<R = never> extends RotationOptions<R> {
  readonly events?: RotationEvents.RotationEventsOptions | undefined
  readonly monitor?: ExpiryMonitor.ExpiryMonitorLayerOptions | undefined
}

/**
 * Everything in one Layer: the event stream, rotation with its handlers (and cache invalidation), and the expiry
 * monitor, built in that order so rotation sees the monitor's first scan. Provide it with the client
 * (`KeyVault.layer`) and whatever the handlers need.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithMonitor = <R = never>(
  handlers: ReadonlyArray<RotationHandler<R>>,
  options: RotationSetupOptions<R> = {}
): Layer.Layer<
  RotationEvents.RotationEvents | Rotation | ExpiryMonitor.ExpiryMonitor,
  never,
  Secrets | Keys | Certificates | KeyVaultTransport | VaultCache | R
> =>
  ExpiryMonitor.layer(options.monitor).pipe(
    Layer.provideMerge(layer(handlers, options)),
    Layer.provideMerge(RotationEvents.layer(options.events))
  )
