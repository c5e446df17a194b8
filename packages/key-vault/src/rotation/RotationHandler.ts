/**
 * Rotation handlers: what `Rotation` does when an object nears or passes its expiry.
 *
 * - `secret`: for a secret name (or a predicate on names), a function that produces the new value — an `Effect` that
 *   may call an external system (rotate a database password, issue a token) and fail with its own typed error — and
 *   an expiry policy for the new version (default: the current version's lifetime again).
 * - `key`: the key is rotated by the vault (`Keys.rotate`: a new version of the same type, size and operations).
 * - `certificate`: a new version is created from the certificate's policy (`Certificates.getPolicy`, then
 *   `Certificates.create`), or by the `renew` function given (the extension point for issuers that need more).
 *
 * Each may have an `afterRotation` hook (reconnect a pool, notify a team) and its own retry `Schedule`.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type * as Schedule from "effect/Schedule"
import type { ObjectType } from "../cache/VaultCache.js"
import type { CertificateProperties } from "../certificates/Certificate.js"
import type { CertificatePolicy } from "../certificates/CertificatePolicy.js"
import type { Certificates } from "../certificates/Certificates.js"
import type { SecretProperties } from "../secrets/Secret.js"
import type { KeyVaultEvent } from "./RotationEvent.js"

/**
 * The events a handler reacts to.
 *
 * @since 0.1.0
 * @category models
 */
export type Trigger = "NearExpiry" | "Expired"

/**
 * What a handler is told about the rotation it runs.
 *
 * @since 0.1.0
 * @category models
 */
export interface RotationContext<P> {
  readonly name: string
  /** The NearExpiry or Expired event that started the rotation. */
  readonly trigger: KeyVaultEvent
  /** The version being replaced: the latest, as the vault lists it (properties only, never a value). */
  readonly current: P
}

/**
 * What a rotation stored, given to `afterRotation`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RotationResult {
  readonly objectType: ObjectType
  readonly name: string
  readonly previousVersion: string
  readonly newVersion: string
  readonly expiresOn: Date | undefined
  readonly trigger: KeyVaultEvent
}

/**
 * The expiry of the new version of a secret, from the time of rotation and the version it replaces; `undefined` for
 * none.
 *
 * @since 0.1.0
 * @category models
 */
export type ExpiryPolicy = (input: {
  readonly now: Date
  readonly current: Pick<SecretProperties, "createdOn" | "expiresOn">
}) => Date | undefined

/**
 * The default expiry policy: the new version lives as long as the current one did (`exp - created`), counted from
 * now; no expiry when the current version had none.
 *
 * @since 0.1.0
 * @category constructors
 */
export const keepLifetime: ExpiryPolicy = ({ current, now }) =>
  current.expiresOn === undefined || current.createdOn === undefined
    ? undefined
    : new Date(now.getTime() + Math.max(0, current.expiresOn.getTime() - current.createdOn.getTime()))

/**
 * New versions expire `duration` after the rotation.
 *
 * @since 0.1.0
 * @category constructors
 */
export const expiresIn = (duration: Duration.DurationInput): ExpiryPolicy => {
  const millis = Duration.toMillis(Duration.decode(duration))
  return ({ now }) => new Date(now.getTime() + millis)
}

/**
 * New versions never expire.
 *
 * @since 0.1.0
 * @category constructors
 */
export const noExpiry: ExpiryPolicy = () => undefined

interface Common<R> {
  readonly objectType: ObjectType
  /** Whether the handler rotates the object of this name. */
  readonly matches: (name: string) => boolean
  readonly triggers: ReadonlySet<Trigger>
  /** Replaces `Rotation`'s retry schedule for this handler. */
  readonly retry: Schedule.Schedule<unknown, unknown, R> | undefined
  readonly afterRotation: ((result: RotationResult) => Effect.Effect<void, unknown, R>) | undefined
}

/**
 * Rotates secrets: produces the new value, which `Rotation` stores as a new version (content type and tags carried
 * over from the current version, expiry from `expiry`).
 *
 * @since 0.1.0
 * @category models
 */
export interface SecretRotationHandler<R> extends Common<R> {
  readonly _tag: "SecretRotationHandler"
  readonly objectType: "secret"
  readonly produce: (
    context: RotationContext<SecretProperties>
  ) => Effect.Effect<string | Redacted.Redacted<string>, unknown, R>
  readonly expiry: ExpiryPolicy
}

/**
 * Rotates keys with `Keys.rotate`.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyRotationHandler<R> extends Common<R> {
  readonly _tag: "KeyRotationHandler"
  readonly objectType: "key"
}

/**
 * Renews certificates: `renew` creates the new version and answers it (default: from the certificate's policy).
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificateRotationHandler<R> extends Common<R> {
  readonly _tag: "CertificateRotationHandler"
  readonly objectType: "certificate"
  /** The extension point: `undefined` renews from the certificate's own policy through `Certificates`. */
  readonly renew:
    | ((context: RotationContext<CertificateProperties>) => Effect.Effect<CertificateProperties, unknown, R | Certificates>)
    | undefined
  /** Only for the default renewal: overrides applied to the stored policy before the new version is created. */
  readonly policy: ((policy: CertificatePolicy) => CertificatePolicy) | undefined
}

/**
 * Any handler. `R` is what its effects need, provided by the application to `Rotation.layer`.
 *
 * @since 0.1.0
 * @category models
 */
export type RotationHandler<R = never> = SecretRotationHandler<R> | KeyRotationHandler<R> | CertificateRotationHandler<R>

/**
 * Which objects a handler rotates: one name (compared case-insensitively, as the vault does) or a predicate.
 *
 * @since 0.1.0
 * @category models
 */
export type Selector = { readonly name: string } | { readonly match: (name: string) => boolean }

/**
 * What every handler can say besides what it rotates.
 *
 * @since 0.1.0
 * @category models
 */
export type CommonOptions<E, R> = Selector & {
  /** The events that start a rotation; default both. */
  readonly on?: ReadonlyArray<Trigger> | undefined
  /** Retries of a failed rotation (replacing `Rotation`'s schedule). */
  readonly retry?: Schedule.Schedule<unknown, unknown, R> | undefined
  /**
   * Runs after the new version is stored. Its failure is logged (by tag) and does not undo or fail the rotation.
   */
  readonly afterRotation?: ((result: RotationResult) => Effect.Effect<void, E, R>) | undefined
}

const common = <E, R>(options: CommonOptions<E, R>) => {
  const matches = "name" in options
    ? ((target: string) => (name: string) => name.toLowerCase() === target)(options.name.toLowerCase())
    : options.match
  return {
    matches,
    triggers: new Set<Trigger>(options.on ?? ["NearExpiry", "Expired"]),
    retry: options.retry,
    afterRotation: options.afterRotation
  }
}

/**
 * A secret handler.
 *
 * @since 0.1.0
 * @category constructors
 */
export const secret = <E = never, R = never>(
  options: CommonOptions<E, R> & {
    readonly produce: (
      context: RotationContext<SecretProperties>
    ) => Effect.Effect<string | Redacted.Redacted<string>, E, R>
    /** The new version's expiry: a policy, or a duration from the rotation. Default `keepLifetime`. */
    readonly expiry?: ExpiryPolicy | Duration.DurationInput | undefined
  }
): RotationHandler<R> => ({
  _tag: "SecretRotationHandler",
  objectType: "secret",
  ...common(options),
  produce: options.produce,
  expiry: options.expiry === undefined
    ? keepLifetime
    : typeof options.expiry === "function"
    ? options.expiry
    : expiresIn(options.expiry)
})

/**
 * A key handler (`Keys.rotate`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const key = <E = never, R = never>(options: CommonOptions<E, R>): RotationHandler<R> => ({
  _tag: "KeyRotationHandler",
  objectType: "key",
  ...common(options)
})

/**
 * A certificate handler: by default a new version from the certificate's policy (optionally adjusted by `policy`);
 * `renew` replaces that.
 *
 * @since 0.1.0
 * @category constructors
 */
export const certificate = <E = never, R = never>(
  options: CommonOptions<E, R> & {
    readonly renew?:
      | ((context: RotationContext<CertificateProperties>) => Effect.Effect<CertificateProperties, E, R | Certificates>)
      | undefined
    readonly policy?: ((policy: CertificatePolicy) => CertificatePolicy) | undefined
  }
): RotationHandler<R> => ({
  _tag: "CertificateRotationHandler",
  objectType: "certificate",
  ...common(options),
  renew: options.renew,
  policy: options.policy
})
