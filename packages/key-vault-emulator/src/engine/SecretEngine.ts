/**
 * The secret operations of the vault engine: set, get, update, soft delete, recover, purge, backup, restore and the
 * lists. Time comes from the Effect `Clock` of the calling fiber, read once per operation, so a `TestClock` drives
 * expiry, validity and purge dates.
 *
 * A secret that backs a certificate is `managed`: it is read here like any other, but only the certificate changes
 * it, so set, update, delete, backup, recover and purge refuse it with the service's 403 `SecretManagedByKeyVault`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Redacted from "effect/Redacted"
import { checkValidityWindow } from "@effect-azure/key-vault/wire/Rules"
import { randomBytes } from "node:crypto"
import * as ObjectStore from "./ObjectStore.js"
import * as SecretBackup from "./SecretBackup.js"
import type { DeletedSecret, Secret, SecretVersion } from "./SecretVersion.js"
import { BadParameter, ObjectConflict, ObjectNotFound, OperationForbidden } from "./VaultError.js"

/**
 * Input of a set: a new version. Attributes not given take the service's defaults (enabled, no validity window).
 *
 * @since 0.1.0
 * @category models
 */
export interface SetSecretInput {
  readonly value: Redacted.Redacted<string>
  readonly contentType?: string | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
  readonly enabled?: boolean | undefined
  readonly notBefore?: Date | undefined
  readonly expires?: Date | undefined
}

/**
 * Input of an update: only the fields given change (tags are replaced as a whole); the value never changes.
 *
 * @since 0.1.0
 * @category models
 */
export interface UpdateSecretInput {
  readonly contentType?: string | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
  readonly enabled?: boolean | undefined
  readonly notBefore?: Date | undefined
  readonly expires?: Date | undefined
}

/**
 * The secret collection of a vault.
 *
 * @since 0.1.0
 * @category models
 */
export interface SecretEngine {
  /** Creates a new version (and the secret, when it does not exist). */
  readonly set: (name: string, input: SetSecretInput) => Effect.Effect<Secret, ObjectConflict | OperationForbidden>
  /**
   * Reads a version with its value (the latest when `version` is absent or empty). Refused when the version is
   * disabled, or outside its validity window when the engine enforces it.
   */
  readonly get: (
    name: string,
    version?: string | undefined
  ) => Effect.Effect<Secret, ObjectNotFound | OperationForbidden>
  /** Changes a version's metadata (the latest when `version` is absent or empty). */
  readonly update: (
    name: string,
    version: string | undefined,
    input: UpdateSecretInput
  ) => Effect.Effect<Secret, ObjectNotFound | OperationForbidden | BadParameter>
  /** Moves the secret with all its versions to the soft-delete bin. */
  readonly delete: (name: string) => Effect.Effect<DeletedSecret, ObjectNotFound | OperationForbidden>
  readonly getDeleted: (name: string) => Effect.Effect<DeletedSecret, ObjectNotFound>
  /** Brings a deleted secret back with all its versions; answers its latest version. */
  readonly recover: (name: string) => Effect.Effect<Secret, ObjectNotFound | OperationForbidden>
  /** Removes a deleted secret for good. */
  readonly purge: (name: string) => Effect.Effect<void, ObjectNotFound | OperationForbidden>
  /** A self-contained blob of every version, for `restore` into any emulator. */
  readonly backup: (name: string) => Effect.Effect<Uint8Array, ObjectNotFound | OperationForbidden>
  /** Recreates a secret from a blob; answers its latest version. */
  readonly restore: (blob: Uint8Array) => Effect.Effect<Secret, ObjectConflict | BadParameter>
  /** The latest version of every live secret (disabled ones included), ordered by lower-case name. */
  readonly list: Effect.Effect<ReadonlyArray<Secret>>
  /** Every version of a live secret ordered by creation time then version id; empty when there is no such secret. */
  readonly listVersions: (name: string) => Effect.Effect<ReadonlyArray<Secret>>
  /** Every deleted secret, ordered by lower-case name. */
  readonly listDeleted: Effect.Effect<ReadonlyArray<DeletedSecret>>
}

/**
 * Settings the secret engine needs from the vault.
 *
 * @since 0.1.0
 * @category models
 */
export interface SecretEngineOptions {
  readonly recoverableDays: number
  readonly enforceValidityPeriod: boolean
  /** The collection to serve (the vault shares it with its certificates); a new one when absent. */
  readonly store?: ObjectStore.ObjectStore<SecretVersion> | undefined
  /** Runs at the start of every operation with its time (the vault completes due certificate issuances there). */
  readonly beforeOperation?: ((now: Date) => void) | undefined
}

const notFound = (name: string, version?: string): ObjectNotFound =>
  new ObjectNotFound({
    code: "SecretNotFound",
    message: `A secret with (name/id) ${version === undefined ? name : `${name}/${version}`} was not found in this key vault. ` +
      "If you recently deleted this secret you may be able to recover it using the correct recovery command. " +
      "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
  })

const deletedNotFound = (name: string): ObjectNotFound =>
  new ObjectNotFound({
    code: "SecretNotFound",
    message: `A deleted secret with (name/id) ${name} was not found in this key vault.`
  })

const deletedButRecoverable = (name: string): ObjectConflict =>
  new ObjectConflict({
    innerCode: "ObjectIsDeletedButRecoverable",
    message: `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; ` +
      "in this state, the secret can only be recovered or purged."
  })

const alreadyExists = (name: string): ObjectConflict =>
  new ObjectConflict({
    innerCode: undefined,
    message: `A secret with (name/id) ${name} already exists in this key vault; restore needs a free name.`
  })

const forbidden = (innerCode: string, what: string): OperationForbidden =>
  new OperationForbidden({ innerCode, message: `Operation get is not allowed on ${what}.` })

/**
 * The service's refusal of a change to a secret that backs a certificate.
 *
 * @since 0.1.0
 * @category errors
 */
export const managedByKeyVault = (operation: string): OperationForbidden =>
  new OperationForbidden({
    innerCode: "SecretManagedByKeyVault",
    message: `Operation "${operation}" is not allowed as this object's lifetime is managed by Key Vault.`
  })

const isManaged = (object: ObjectStore.StoredObject<SecretVersion> | undefined): boolean =>
  object !== undefined && ObjectStore.latest(object).managed

/** Key Vault timestamps have one-second resolution; storing whole seconds keeps engine and wire identical. */
const wholeSeconds = (millis: number): Date => new Date(Math.floor(millis / 1000) * 1000)

const now: Effect.Effect<Date> = Effect.map(Clock.currentTimeMillis, wholeSeconds)

const truncate = (date: Date | undefined): Date | undefined =>
  date === undefined ? undefined : wholeSeconds(date.getTime())

const newVersionId = (taken: ReadonlyArray<SecretVersion>): string => {
  for (;;) {
    const id = randomBytes(16).toString("hex")
    if (!taken.some((v) => v.version === id)) return id
  }
}

/**
 * A new, empty secret collection.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: SecretEngineOptions): SecretEngine => {
  const store = options.store ?? ObjectStore.make<SecretVersion>()
  const retentionMillis = options.recoverableDays * 24 * 60 * 60 * 1000
  const beforeOperation = options.beforeOperation

  /** Runs one operation atomically at the current clock time, after purging what is due. */
  const atomically = <A, E>(f: (now: Date) => Either.Either<A, E>): Effect.Effect<A, E> =>
    Effect.flatMap(now, (at) =>
      Effect.suspend(() => {
        store.purgeDue(at)
        beforeOperation?.(at)
        return Either.match(f(at), { onLeft: Effect.fail, onRight: Effect.succeed })
      }))

  const deletedView = (entry: ObjectStore.DeletedObject<SecretVersion>): DeletedSecret => ({
    name: entry.object.name,
    secret: ObjectStore.latest(entry.object),
    deletedDate: entry.deletedDate,
    scheduledPurgeDate: entry.scheduledPurgeDate
  })

  const findVersion = (
    name: string,
    version: string | undefined
  ): Either.Either<{ readonly name: string; readonly secret: SecretVersion }, ObjectNotFound> => {
    const object = store.getActive(name)
    if (object === undefined) return Either.left(notFound(name))
    if (version === undefined || version === "") {
      return Either.right({ name: object.name, secret: ObjectStore.latest(object) })
    }
    const found = ObjectStore.findVersion(object, version)
    return found === undefined ? Either.left(notFound(name, version)) : Either.right({ name: object.name, secret: found })
  }

  return {
    set: (name, input) =>
      atomically((at): Either.Either<Secret, ObjectConflict | OperationForbidden> => {
        if (store.getDeleted(name) !== undefined) return Either.left(deletedButRecoverable(name))
        const existing = store.getActive(name)
        if (isManaged(existing)) return Either.left(managedByKeyVault("set"))
        const version: SecretVersion = {
          version: newVersionId(existing?.versions ?? []),
          value: input.value,
          contentType: input.contentType,
          tags: input.tags,
          enabled: input.enabled ?? true,
          notBefore: truncate(input.notBefore),
          expires: truncate(input.expires),
          created: at,
          updated: at,
          managed: false
        }
        const object = store.addVersion(name, version)
        return Either.right({ name: object.name, secret: version })
      }),

    get: (name, version) =>
      atomically((at): Either.Either<Secret, ObjectNotFound | OperationForbidden> =>
        Either.flatMap(findVersion(name, version), (found) => {
          const secret = found.secret
          if (!secret.enabled) return Either.left(forbidden("SecretDisabled", "a disabled secret"))
          // A certificate's secret follows the certificate's validity, which the service never enforces on a read.
          if (options.enforceValidityPeriod && !secret.managed) {
            if (secret.notBefore !== undefined && at.getTime() < secret.notBefore.getTime()) {
              return Either.left(forbidden("SecretNotYetValid", "a secret that is not yet valid"))
            }
            if (secret.expires !== undefined && at.getTime() >= secret.expires.getTime()) {
              return Either.left(forbidden("SecretExpired", "an expired secret"))
            }
          }
          return Either.right(found)
        })
      ),

    update: (name, version, input) =>
      atomically((at): Either.Either<Secret, ObjectNotFound | OperationForbidden | BadParameter> =>
        Either.flatMap(findVersion(name, version), (found): Either.Either<Secret, OperationForbidden | BadParameter> => {
          const current = found.secret
          if (current.managed) return Either.left(managedByKeyVault("update"))
          const next: SecretVersion = {
            ...current,
            contentType: input.contentType !== undefined ? input.contentType : current.contentType,
            tags: input.tags !== undefined ? input.tags : current.tags,
            enabled: input.enabled !== undefined ? input.enabled : current.enabled,
            notBefore: input.notBefore !== undefined ? truncate(input.notBefore) : current.notBefore,
            expires: input.expires !== undefined ? truncate(input.expires) : current.expires,
            updated: at
          }
          // The window is checked as it will be after the change: an update of one end must not cross the other,
          // or the version could never be backed up and restored.
          const window = checkValidityWindow(next.notBefore, next.expires)
          if (window !== undefined) return Either.left(new BadParameter({ message: window }))
          store.replaceVersion(found.name, next)
          return Either.right({ name: found.name, secret: next })
        })
      ),

    delete: (name) =>
      atomically((at): Either.Either<DeletedSecret, ObjectNotFound | OperationForbidden> => {
        if (isManaged(store.getActive(name))) return Either.left(managedByKeyVault("delete"))
        const entry = store.softDelete(name, at, new Date(at.getTime() + retentionMillis))
        return entry === undefined ? Either.left(notFound(name)) : Either.right(deletedView(entry))
      }),

    getDeleted: (name) =>
      atomically(() => {
        const entry = store.getDeleted(name)
        return entry === undefined ? Either.left(deletedNotFound(name)) : Either.right(deletedView(entry))
      }),

    recover: (name) =>
      atomically((): Either.Either<Secret, ObjectNotFound | OperationForbidden> => {
        if (isManaged(store.getDeleted(name)?.object)) return Either.left(managedByKeyVault("recover"))
        const object = store.recover(name)
        return object === undefined
          ? Either.left(deletedNotFound(name))
          : Either.right({ name: object.name, secret: ObjectStore.latest(object) })
      }),

    purge: (name) =>
      atomically((): Either.Either<void, ObjectNotFound | OperationForbidden> => {
        if (isManaged(store.getDeleted(name)?.object)) return Either.left(managedByKeyVault("purge"))
        return store.purge(name) ? Either.right(undefined) : Either.left(deletedNotFound(name))
      }),

    backup: (name) =>
      atomically((): Either.Either<Uint8Array, ObjectNotFound | OperationForbidden> => {
        const object = store.getActive(name)
        if (object === undefined) return Either.left(notFound(name))
        return isManaged(object) ? Either.left(managedByKeyVault("backup")) : Either.right(SecretBackup.encode(object))
      }),

    restore: (blob) =>
      atomically((): Either.Either<Secret, ObjectConflict | BadParameter> =>
        Either.flatMap(SecretBackup.decode(blob), (object): Either.Either<Secret, ObjectConflict | BadParameter> => {
          // Only a certificate restores the secret behind it (backup refuses such a secret, so this is a crafted blob).
          if (object.versions.some((v) => v.managed)) {
            return Either.left(new BadParameter({ message: "A secret managed by Key Vault is restored with its certificate." }))
          }
          if (store.getDeleted(object.name) !== undefined) return Either.left(deletedButRecoverable(object.name))
          if (store.getActive(object.name) !== undefined) return Either.left(alreadyExists(object.name))
          store.insert(object)
          return Either.right({ name: object.name, secret: ObjectStore.latest(object) })
        })
      ),

    list: atomically(() =>
      Either.right(store.listActive().map((object) => ({ name: object.name, secret: ObjectStore.latest(object) })))
    ),

    listVersions: (name) =>
      atomically(() => {
        const object = store.getActive(name)
        return Either.right(
          object === undefined
            ? []
            : ObjectStore.sortedVersions(object).map((secret) => ({ name: object.name, secret }))
        )
      }),

    listDeleted: atomically(() => Either.right(store.listDeleted().map(deletedView)))
  }
}
