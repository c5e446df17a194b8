/**
 * The body of `Rotation`: matching an event to a handler, one rotation per object at a time, the check for a newer
 * version, retries, and the events that report it all. Not public: `Rotation` is its face.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { ObjectType } from "../../cache/VaultCache.js"
import type { CertificateProperties } from "../../certificates/Certificate.js"
import { Certificates } from "../../certificates/Certificates.js"
import type { KeyVaultError } from "../../errors/KeyVaultError.js"
import { Keys } from "../../keys/Keys.js"
import type { SecretProperties } from "../../secrets/Secret.js"
import { Secrets } from "../../secrets/Secrets.js"
import { KeyVaultTransport } from "../../transport/Transport.js"
import { hasNewer, pickLatest } from "../ExpirySource.js"
import {
  fromEventObjectType,
  isExpiryEvent,
  type KeyVaultEvent,
  kindOf,
  makeKeyVaultEvent,
  RotationFailed,
  type RotationOutcome,
  RotationSkipped,
  RotationStarted,
  RotationSucceeded,
  type SkipReason,
  vaultHostOf,
  vaultNameOf
} from "../RotationEvent.js"
import type { HandleResult, IgnoreReason } from "../Rotation.js"
import { RotationEvents } from "../RotationEvents.js"
import type { RotationContext, RotationHandler, Trigger } from "../RotationHandler.js"
import * as RotationMetrics from "../RotationMetrics.js"
import { describeCause } from "./Failure.js"
import { randomId } from "./Ids.js"

/**
 * The properties every object version has.
 *
 * @internal
 */
export interface VersionProperties {
  readonly vaultUrl: string
  readonly name: string
  readonly version: string | undefined
  readonly notBefore: Date | undefined
  readonly expiresOn: Date | undefined
  readonly createdOn: Date | undefined
  readonly updatedOn: Date | undefined
}

/** How one object type is read and rotated. */
interface Target {
  readonly versions: (name: string) => Stream.Stream<VersionProperties, KeyVaultError>
  readonly rotate: (
    handler: RotationHandler<unknown>,
    context: RotationContext<VersionProperties>
  ) => Effect.Effect<VersionProperties, unknown, unknown>
}

type Decision =
  | { readonly _tag: "Skip"; readonly reason: SkipReason; readonly latest: string | undefined }
  | { readonly _tag: "Rotated"; readonly current: VersionProperties; readonly created: VersionProperties }

const lower = (s: string | undefined) => s?.toLowerCase()

/**
 * Makes the rotator. `retry` is the default retry schedule; a handler's own replaces it.
 *
 * @internal
 */
export const make = <R>(
  handlers: ReadonlyArray<RotationHandler<R>>,
  retry: Schedule.Schedule<unknown, unknown, R>,
  concurrency: number
): Effect.Effect<
  { readonly handle: (event: KeyVaultEvent) => Effect.Effect<HandleResult> },
  never,
  RotationEvents | Secrets | Keys | Certificates | KeyVaultTransport | R
> =>
  Effect.gen(function*() {
    const events = yield* RotationEvents
    const secrets = yield* Secrets
    const keys = yield* Keys
    const certificates = yield* Certificates
    const { vaultHost, vaultUrl } = (yield* KeyVaultTransport).config
    const context = (yield* Effect.context<R | Certificates>()) as Context.Context<unknown>
    const ownHost = vaultHost.toLowerCase()
    const ownName = vaultNameOf(vaultUrl)
    const inFlight = new Set<string>()
    // Bounds the rotations running at once (a first scan may find hundreds due); waiting ones still hold their
    // object, so events for it keep being coalesced.
    const permits = yield* Effect.makeSemaphore(concurrency)

    const targets: Readonly<Record<ObjectType, Target>> = {
      secret: {
        versions: (name) => secrets.listVersions(name),
        rotate: (handler, ctx) =>
          handler._tag !== "SecretRotationHandler"
            ? Effect.dieMessage("not a secret handler")
            : Effect.gen(function*() {
              // `current` came from `secrets.listVersions`: it is the secret's full properties.
              const current = ctx.current as SecretProperties
              const value = yield* handler.produce({ ...ctx, current })
              const now = new Date(yield* Clock.currentTimeMillis)
              const expiresOn = handler.expiry({ now, current })
              const secret = yield* secrets.set(ctx.name, value, {
                ...(current.contentType === undefined ? {} : { contentType: current.contentType }),
                tags: current.tags,
                ...(expiresOn === undefined ? {} : { expiresOn })
              })
              return secret.properties
            })
      },
      key: {
        versions: (name) => keys.listVersions(name),
        rotate: (_handler, ctx) => Effect.map(keys.rotate(ctx.name), (key) => key.properties)
      },
      certificate: {
        versions: (name) => certificates.listVersions(name),
        rotate: (handler, ctx) => {
          if (handler._tag !== "CertificateRotationHandler") return Effect.dieMessage("not a certificate handler")
          // `current` came from `certificates.listVersions`: it is the certificate's full properties.
          if (handler.renew !== undefined) return handler.renew(ctx as RotationContext<CertificateProperties>)
          return Effect.gen(function*() {
            const { createdOn: _c, id: _i, updatedOn: _u, ...stored } = yield* certificates.getPolicy(ctx.name)
            const policy = handler.policy === undefined ? stored : handler.policy(stored)
            const certificate = yield* certificates.create(ctx.name, policy)
            return certificate.properties
          })
        }
      }
    }

    // Events from another vault (one webhook can receive several vaults' events) are not this client's to rotate.
    const isOwn = (event: KeyVaultEvent): boolean => {
      const host = vaultHostOf(event)
      return host === undefined ? event.data.VaultName.toLowerCase() === ownName : host === ownHost
    }

    const decide = (
      target: Target,
      handler: RotationHandler<unknown>,
      event: KeyVaultEvent,
      attempts: Ref.Ref<number>
    ): Effect.Effect<Decision, unknown, unknown> =>
      Effect.gen(function*() {
        yield* Ref.update(attempts, (n) => n + 1)
        const name = event.data.ObjectName
        const versions = Chunk.toReadonlyArray(yield* Stream.runCollect(target.versions(name)))
        const latest = pickLatest(versions)?.version
        const current = versions.find((v) => lower(v.version) === lower(event.data.Version))
        if (current === undefined) return { _tag: "Skip", reason: "UnknownVersion", latest } as const
        if (hasNewer(versions, current)) return { _tag: "Skip", reason: "NewerVersion", latest } as const
        const created = yield* target.rotate(handler, { name, trigger: event, current })
        return { _tag: "Rotated", current, created } as const
      })

    const afterRotation = (handler: RotationHandler<unknown>, event: KeyVaultEvent, decision: Decision) => {
      if (handler.afterRotation === undefined || decision._tag !== "Rotated") return Effect.void
      return handler.afterRotation({
        objectType: handler.objectType,
        name: event.data.ObjectName,
        previousVersion: event.data.Version,
        newVersion: decision.created.version ?? "",
        expiresOn: decision.created.expiresOn,
        trigger: event
      }).pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.interrupt : Effect.logWarning(
            "Rotation: the afterRotation hook failed; the new version stays"
          ).pipe(Effect.annotateLogs({ objectName: event.data.ObjectName, error: describeCause(cause).tag }))
        )
      )
    }

    const rotation = (handler: RotationHandler<unknown>, event: KeyVaultEvent): Effect.Effect<RotationOutcome> =>
      Effect.gen(function*() {
        const target = targets[handler.objectType]
        const base = {
          vaultName: event.data.VaultName,
          objectType: event.data.ObjectType,
          objectName: event.data.ObjectName,
          version: event.data.Version,
          trigger: event.id
        }
        const stamp = Effect.all({ id: randomId, time: Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms)) })
        yield* events.publish(new RotationStarted({ ...base, ...(yield* stamp) }))
        const attempts = yield* Ref.make(0)
        const exit = yield* decide(target, handler, event, attempts).pipe(
          Effect.retry(handler.retry ?? (retry as Schedule.Schedule<unknown, unknown, unknown>)),
          Effect.provide(context),
          Effect.exit
        ) as Effect.Effect<Exit.Exit<Decision, unknown>>
        const tries = yield* Ref.get(attempts)
        if (Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)) return yield* Effect.interrupt
        const stamped = { ...base, ...(yield* stamp) }
        let outcome: RotationOutcome
        if (Exit.isFailure(exit)) {
          const cause = describeCause(exit.cause)
          outcome = new RotationFailed({ ...stamped, cause, attempts: tries })
          yield* Effect.logWarning("Rotation: the rotation failed after its retries").pipe(
            Effect.annotateLogs({ objectType: base.objectType, objectName: base.objectName, error: cause.tag })
          )
        } else if (exit.value._tag === "Skip") {
          outcome = new RotationSkipped({ ...stamped, reason: exit.value.reason, latestVersion: exit.value.latest ?? null })
        } else {
          const created = exit.value.created
          const newVersion = created.version ?? ""
          yield* events.publish(makeKeyVaultEvent("NewVersionCreated", {
            objectType: handler.objectType,
            vaultUrl: created.vaultUrl,
            name: created.name,
            version: newVersion,
            notBefore: created.notBefore,
            expiresOn: created.expiresOn
          }, stamped.time))
          const expiresOn = created.expiresOn === undefined ? null : Math.floor(created.expiresOn.getTime() / 1000)
          outcome = new RotationSucceeded({ ...stamped, newVersion, expiresOn, attempts: tries })
        }
        yield* events.publish(outcome)
        yield* Metric.increment(Metric.tagged(RotationMetrics.rotations, "outcome", outcomeName(outcome)))
        if (Exit.isSuccess(exit)) {
          yield* Effect.provide(afterRotation(handler, event, exit.value), context) as Effect.Effect<void>
        }
        return outcome
      })

    const handle = (event: KeyVaultEvent): Effect.Effect<HandleResult> => {
      if (!isExpiryEvent(event)) return Effect.succeed(ignored("NotExpiry"))
      if (!isOwn(event)) return Effect.succeed(ignored("OtherVault"))
      const objectType = fromEventObjectType(event.data.ObjectType)
      const trigger = kindOf(event) as Trigger
      const handler = handlers.find((h) =>
        h.objectType === objectType && h.triggers.has(trigger) && h.matches(event.data.ObjectName)
      ) as RotationHandler<unknown> | undefined
      if (handler === undefined) return Effect.succeed(ignored("NoHandler"))
      const key = `${objectType}|${event.data.ObjectName.toLowerCase()}`
      return Effect.acquireUseRelease(
        // At most one rotation per object at a time: events for an object being rotated are absorbed by it.
        Effect.sync(() => inFlight.has(key) ? false : (inFlight.add(key), true)),
        (acquired): Effect.Effect<HandleResult> =>
          acquired
            ? permits.withPermits(1)(rotation(handler, event))
            : Effect.as(Metric.increment(Metric.tagged(RotationMetrics.rotations, "outcome", "coalesced")), ignored("Coalesced")),
        (acquired) => acquired ? Effect.sync(() => inFlight.delete(key)) : Effect.void
      )
    }

    return { handle }
  })

const ignored = (reason: IgnoreReason): HandleResult => ({ _tag: "Ignored", reason })

const outcomeName = (outcome: RotationOutcome): string =>
  outcome._tag === "RotationSucceeded" ? "succeeded" : outcome._tag === "RotationFailed" ? "failed" : "skipped"
