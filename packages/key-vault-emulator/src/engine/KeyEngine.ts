/**
 * The key operations of the vault engine: create (real RSA and EC keys), import, get, update, rotate, rotation
 * policy, soft delete, recover, purge, backup, restore, the lists, the cryptographic operations and random bytes.
 * Time comes from the Effect `Clock` of the calling fiber, read once per operation.
 *
 * Key generation runs outside the store's atomic sections (a 4096-bit RSA key takes a while, on the thread pool); the
 * name is checked before and again after it.
 *
 * A key that backs a certificate is `managed`: it is read and used here like any other, but only the certificate
 * changes it, so create, import, update, delete, backup, recover and purge refuse it with the service's 403
 * `KeyManagedByKeyVault`.
 *
 * @since 0.1.0
 */
import type { CurveName, KeyOperation } from "@effect-azure/key-vault/crypto/Algorithms"
import { isCurveName, KEY_OPERATIONS, RSA_KEY_SIZES } from "@effect-azure/key-vault/crypto/Algorithms"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { checkValidityWindow } from "@effect-azure/key-vault/wire/Rules"
import { randomBytes } from "node:crypto"
import type { KeyMaterial } from "./crypto/KeyMaterial.js"
import * as Material from "./crypto/KeyMaterial.js"
import * as KeyBackup from "./KeyBackup.js"
import * as KeyCrypto from "./KeyCrypto.js"
import * as KeyRotationPolicy from "./KeyRotationPolicy.js"
import type { PolicyInput, RotationPolicy } from "./KeyRotationPolicy.js"
import type { DeletedKey, Key, KeyVersion, ReleasePolicy, StoredKeyType } from "./KeyVersion.js"
import * as ObjectStore from "./ObjectStore.js"
import { BadParameter, ObjectConflict, ObjectNotFound, OperationForbidden } from "./VaultError.js"

/**
 * Attributes and metadata shared by create and import. Absent attributes take the service's defaults (enabled,
 * no validity window, not exportable).
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyMetadataInput {
  /** Operations the key allows; default: all six for RSA, sign and verify for EC. */
  readonly keyOps?: ReadonlyArray<string> | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
  readonly enabled?: boolean | undefined
  readonly notBefore?: Date | undefined
  readonly expires?: Date | undefined
  /** Needs a `releasePolicy`, as in the service. */
  readonly exportable?: boolean | undefined
  readonly releasePolicy?: ReleasePolicy | undefined
}

/**
 * Input of a create: the key type (`RSA`, `RSA-HSM`, `EC`, `EC-HSM`), RSA size and exponent or EC curve.
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateKeyInput extends KeyMetadataInput {
  readonly kty: string
  /** RSA: 2048 (default), 3072 or 4096. Ignored for EC. */
  readonly keySize?: number | undefined
  /** RSA: an odd number >= 3; default 65537. Ignored for EC. */
  readonly publicExponent?: number | undefined
  /** EC: P-256 (default), P-384, P-521 or P-256K. */
  readonly curve?: string | undefined
}

/**
 * Input of an import: validated key material (`KeyMaterial.fromJwk`) and whether to report an `-HSM` key type.
 *
 * @since 0.1.0
 * @category models
 */
export interface ImportKeyInput extends KeyMetadataInput {
  readonly material: KeyMaterial
  readonly hsm?: boolean | undefined
  /** True for the key behind a certificate (certificates set this; the REST import never does). */
  readonly managed?: boolean | undefined
}

/**
 * Input of an update: only the fields given change (tags and key_ops are replaced as a whole).
 *
 * @since 0.1.0
 * @category models
 */
export interface UpdateKeyInput {
  readonly keyOps?: ReadonlyArray<string> | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
  readonly enabled?: boolean | undefined
  readonly notBefore?: Date | undefined
  readonly expires?: Date | undefined
  readonly releasePolicy?: ReleasePolicy | undefined
}

/**
 * The outcome of a cryptographic operation: the key version that did it (for the `kid`) and the result.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyOperationOutcome<A> {
  readonly key: Key
  readonly value: A
}

/**
 * A key's rotation policy with the key's name (in the case of its first creation, for the policy id).
 *
 * @since 0.1.0
 * @category models
 */
export interface NamedRotationPolicy {
  readonly name: string
  readonly policy: RotationPolicy
}

/**
 * Failures of a cryptographic operation.
 *
 * @since 0.1.0
 * @category errors
 */
export type KeyOperationError = ObjectNotFound | OperationForbidden | BadParameter

/**
 * The key collection of a vault.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyEngine {
  /** Generates a new key version (and the key, when it does not exist). */
  readonly create: (
    name: string,
    input: CreateKeyInput
  ) => Effect.Effect<Key, ObjectConflict | OperationForbidden | BadParameter>
  /** Adds imported material as a new version (and the key, when it does not exist). */
  readonly import: (
    name: string,
    input: ImportKeyInput
  ) => Effect.Effect<Key, ObjectConflict | OperationForbidden | BadParameter>
  /** A version's public view (the latest when `version` is absent or empty); disabled keys are readable. */
  readonly get: (name: string, version?: string | undefined) => Effect.Effect<Key, ObjectNotFound>
  /** Changes a version's metadata (the latest when `version` is absent or empty). */
  readonly update: (
    name: string,
    version: string | undefined,
    input: UpdateKeyInput
  ) => Effect.Effect<Key, ObjectNotFound | OperationForbidden | BadParameter>
  /** A new version with fresh material of the same type, size or curve, key_ops and tags. */
  readonly rotate: (name: string) => Effect.Effect<Key, ObjectNotFound | BadParameter>
  /** The stored rotation policy, or the service's default when none was set. */
  readonly getRotationPolicy: (name: string) => Effect.Effect<NamedRotationPolicy, ObjectNotFound>
  /** Validates and stores a rotation policy (replacing the previous one). */
  readonly setRotationPolicy: (
    name: string,
    input: PolicyInput
  ) => Effect.Effect<NamedRotationPolicy, ObjectNotFound | BadParameter>
  readonly delete: (name: string) => Effect.Effect<DeletedKey, ObjectNotFound | OperationForbidden>
  readonly getDeleted: (name: string) => Effect.Effect<DeletedKey, ObjectNotFound>
  readonly recover: (name: string) => Effect.Effect<Key, ObjectNotFound | OperationForbidden>
  readonly purge: (name: string) => Effect.Effect<void, ObjectNotFound | OperationForbidden>
  /** A self-contained blob of every version (private material included) and the rotation policy. */
  readonly backup: (name: string) => Effect.Effect<Uint8Array, ObjectNotFound | OperationForbidden>
  readonly restore: (blob: Uint8Array) => Effect.Effect<Key, ObjectConflict | BadParameter>
  /** The latest version of every live key, ordered by lower-case name. */
  readonly list: Effect.Effect<ReadonlyArray<Key>>
  /** Every version of a live key ordered by creation time then version id; empty when there is no such key. */
  readonly listVersions: (name: string) => Effect.Effect<ReadonlyArray<Key>>
  readonly listDeleted: Effect.Effect<ReadonlyArray<DeletedKey>>
  readonly encrypt: (
    name: string,
    version: string | undefined,
    alg: string,
    plaintext: Uint8Array
  ) => Effect.Effect<KeyOperationOutcome<Uint8Array>, KeyOperationError>
  readonly decrypt: (
    name: string,
    version: string | undefined,
    alg: string,
    ciphertext: Uint8Array
  ) => Effect.Effect<KeyOperationOutcome<Uint8Array>, KeyOperationError>
  readonly wrapKey: (
    name: string,
    version: string | undefined,
    alg: string,
    key: Uint8Array
  ) => Effect.Effect<KeyOperationOutcome<Uint8Array>, KeyOperationError>
  readonly unwrapKey: (
    name: string,
    version: string | undefined,
    alg: string,
    wrapped: Uint8Array
  ) => Effect.Effect<KeyOperationOutcome<Uint8Array>, KeyOperationError>
  /** Signs a digest (never hashed again). */
  readonly sign: (
    name: string,
    version: string | undefined,
    alg: string,
    digest: Uint8Array
  ) => Effect.Effect<KeyOperationOutcome<Uint8Array>, KeyOperationError>
  readonly verify: (
    name: string,
    version: string | undefined,
    alg: string,
    digest: Uint8Array,
    signature: Uint8Array
  ) => Effect.Effect<KeyOperationOutcome<boolean>, KeyOperationError>
  /** `count` (1..128) random bytes. */
  readonly randomBytes: (count: number) => Effect.Effect<Uint8Array, BadParameter>
}

/**
 * Settings the key engine needs from the vault.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyEngineOptions {
  readonly recoverableDays: number
  /** The collection to serve (the vault shares it with its certificates); a new one when absent. */
  readonly store?: ObjectStore.ObjectStore<KeyVersion> | undefined
  /** Runs at the start of every operation with its time (the vault completes due certificate issuances there). */
  readonly beforeOperation?: ((now: Date) => void) | undefined
  /** Where the engine keeps rotation policies; default a plain map. */
  readonly maps?: ObjectStore.MapFactory | undefined
}

/**
 * The largest `count` of `POST /rng`.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_RANDOM_BYTES = 128

const DEFAULT_RSA_SIZE = 2048
const DEFAULT_PUBLIC_EXPONENT = 65537
const DEFAULT_CURVE: CurveName = "P-256"
const RSA_DEFAULT_OPS: ReadonlyArray<KeyOperation> = ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]
const EC_DEFAULT_OPS: ReadonlyArray<KeyOperation> = ["sign", "verify"]

/** Operations a key outside its nbf/exp window still performs, so data made while it was valid stays usable. */
const ALLOWED_OUTSIDE_VALIDITY: ReadonlySet<KeyOperation> = new Set<KeyOperation>(["decrypt", "unwrapKey", "verify"])

const notFound = (name: string, version?: string): ObjectNotFound =>
  new ObjectNotFound({
    code: "KeyNotFound",
    message: `A key with (name/id) ${version === undefined ? name : `${name}/${version}`} was not found in this key vault. ` +
      "If you recently deleted this key you may be able to recover it using the correct recovery command. " +
      "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
  })

const deletedNotFound = (name: string): ObjectNotFound =>
  new ObjectNotFound({ code: "KeyNotFound", message: `A deleted key with (name/id) ${name} was not found in this key vault.` })

const deletedButRecoverable = (name: string): ObjectConflict =>
  new ObjectConflict({
    innerCode: "ObjectIsDeletedButRecoverable",
    message: `Key ${name} is currently in a deleted but recoverable state, and its name cannot be reused; ` +
      "in this state, the key can only be recovered or purged."
  })

const alreadyExists = (name: string): ObjectConflict =>
  new ObjectConflict({
    innerCode: undefined,
    message: `A key with (name/id) ${name} already exists in this key vault; restore needs a free name.`
  })

const bad = (message: string): BadParameter => new BadParameter({ message })

/**
 * The service's refusal of a change to a key that backs a certificate.
 *
 * @since 0.1.0
 * @category errors
 */
export const managedByKeyVault = (operation: string): OperationForbidden =>
  new OperationForbidden({
    innerCode: "KeyManagedByKeyVault",
    message: `Operation "${operation}" is not allowed as this object's lifetime is managed by Key Vault.`
  })

const isManaged = (object: ObjectStore.StoredObject<KeyVersion> | undefined): boolean =>
  object !== undefined && ObjectStore.latest(object).managed

/** Key Vault timestamps have one-second resolution; storing whole seconds keeps engine and wire identical. */
const wholeSeconds = (millis: number): Date => new Date(Math.floor(millis / 1000) * 1000)

const now: Effect.Effect<Date> = Effect.map(Clock.currentTimeMillis, wholeSeconds)

const truncate = (date: Date | undefined): Date | undefined =>
  date === undefined ? undefined : wholeSeconds(date.getTime())

const newVersionId = (taken: ReadonlyArray<KeyVersion>): string => {
  for (;;) {
    const id = randomBytes(16).toString("hex")
    if (!taken.some((v) => v.version === id)) return id
  }
}

const MAX_ECHOED_LENGTH = 32
const shown = (text: string): string => text.length > MAX_ECHOED_LENGTH ? `${text.slice(0, MAX_ECHOED_LENGTH)}...` : text

const isKeyOperation = (op: string): op is KeyOperation => (KEY_OPERATIONS as ReadonlyArray<string>).includes(op)

const validateKeyOps = (
  ops: ReadonlyArray<string> | undefined
): Either.Either<ReadonlyArray<KeyOperation> | undefined, BadParameter> => {
  if (ops === undefined) return Either.right(undefined)
  const valid: Array<KeyOperation> = []
  for (const op of ops) {
    if (!isKeyOperation(op)) {
      return Either.left(bad(`The key operation '${shown(op)}' is not valid; use ${KEY_OPERATIONS.join(", ")}.`))
    }
    if (!valid.includes(op)) valid.push(op)
  }
  return Either.right(valid)
}

const validateExportable = (input: KeyMetadataInput): BadParameter | undefined =>
  input.exportable === true && input.releasePolicy === undefined
    ? bad("An exportable key needs a release policy (release_policy).")
    : undefined

/**
 * A restored key passes the checks an import makes here (`KeyBackup` applies the request-level ones): an exportable
 * version needs a release policy, and key operations are normalised as an import normalises them.
 */
const checkRestored = (restored: KeyBackup.BackedUpKey): Either.Either<KeyBackup.BackedUpKey, BadParameter> => {
  // Only a certificate restores the key behind it (backup refuses such a key, so this is a crafted blob).
  if (restored.object.versions.some((v) => v.managed)) {
    return Either.left(bad("A key managed by Key Vault is restored with its certificate."))
  }
  const versions: Array<KeyVersion> = []
  for (const version of restored.object.versions) {
    const invalid = validateExportable(version)
    if (invalid !== undefined) return Either.left(invalid)
    const keyOps = validateKeyOps(version.keyOps)
    if (Either.isLeft(keyOps)) return Either.left(keyOps.left)
    versions.push({ ...version, keyOps: keyOps.right ?? version.keyOps })
  }
  return Either.right({ ...restored, object: { ...restored.object, versions } })
}

/** The resolved shape of a create: what to generate. */
type KeySpec =
  | { readonly family: "RSA"; readonly kty: StoredKeyType; readonly size: number; readonly exponent: number }
  | { readonly family: "EC"; readonly kty: StoredKeyType; readonly curve: CurveName }

const resolveCreate = (input: CreateKeyInput): Either.Either<KeySpec, BadParameter> => {
  switch (input.kty) {
    case "RSA":
    case "RSA-HSM": {
      if (input.curve !== undefined) return Either.left(bad(`A curve cannot be given for a key of type ${input.kty}.`))
      const size = input.keySize ?? DEFAULT_RSA_SIZE
      if (!RSA_KEY_SIZES.includes(size)) {
        return Either.left(bad(`The RSA key size ${size} is not supported; use ${RSA_KEY_SIZES.join(", ")}.`))
      }
      const exponent = input.publicExponent ?? DEFAULT_PUBLIC_EXPONENT
      if (!Number.isInteger(exponent) || exponent < 3 || exponent > 0x7fffffff || exponent % 2 === 0) {
        return Either.left(bad("The public exponent must be an odd integer of at least 3."))
      }
      return Either.right({ family: "RSA", kty: input.kty, size, exponent })
    }
    case "EC":
    case "EC-HSM": {
      const curve = input.curve ?? DEFAULT_CURVE
      if (!isCurveName(curve)) {
        return Either.left(bad(`The curve '${shown(curve)}' is not supported; use P-256, P-384, P-521 or P-256K.`))
      }
      return Either.right({ family: "EC", kty: input.kty, curve })
    }
    case "oct":
    case "oct-HSM":
      return Either.left(bad(`Keys of type ${input.kty} are only supported by Managed HSM, not by a vault.`))
    default:
      return Either.left(bad(`The key type '${shown(input.kty)}' is not valid; use RSA, RSA-HSM, EC or EC-HSM.`))
  }
}

const generate = (spec: KeySpec): Effect.Effect<KeyMaterial> =>
  spec.family === "RSA"
    ? Material.generateRsa(spec.size, spec.exponent)
    : Effect.sync(() => Material.generateEc(spec.curve))

const forbidden = (innerCode: string, message: string): OperationForbidden =>
  new OperationForbidden({ innerCode, message })

const checkUsable = (key: KeyVersion, operation: KeyOperation, at: Date): OperationForbidden | undefined => {
  if (!key.enabled) return forbidden("KeyDisabled", `Operation ${operation} is not allowed on a disabled key.`)
  if (!key.keyOps.includes(operation)) {
    return forbidden("KeyOperationForbidden", `Operation ${operation} is not permitted on this key.`)
  }
  if (!ALLOWED_OUTSIDE_VALIDITY.has(operation)) {
    if (key.notBefore !== undefined && at.getTime() < key.notBefore.getTime()) {
      return forbidden("KeyNotYetValid", `Operation ${operation} is not allowed on a key that is not yet valid.`)
    }
    if (key.expires !== undefined && at.getTime() >= key.expires.getTime()) {
      return forbidden("KeyExpired", `Operation ${operation} is not allowed on an expired key.`)
    }
  }
  return undefined
}

/**
 * A new, empty key collection.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: KeyEngineOptions): KeyEngine => {
  const store = options.store ?? ObjectStore.make<KeyVersion>()
  const beforeOperation = options.beforeOperation
  // Rotation policies belong to the key, not to a version. Entries of purged keys are dropped on purge, or replaced
  // when the name is used again; a policy is only ever read for a live key.
  const policies = (options.maps ?? ObjectStore.plainMaps)<RotationPolicy>("keys.rotationPolicies")
  const retentionMillis = options.recoverableDays * 24 * 60 * 60 * 1000

  /** Runs one operation atomically at the current clock time, after purging what is due. */
  const atomically = <A, E>(f: (now: Date) => Either.Either<A, E>): Effect.Effect<A, E> =>
    Effect.flatMap(now, (at) =>
      Effect.suspend(() => {
        store.purgeDue(at)
        beforeOperation?.(at)
        return Either.match(f(at), { onLeft: Effect.fail, onRight: Effect.succeed })
      }))

  const deletedView = (entry: ObjectStore.DeletedObject<KeyVersion>): DeletedKey => ({
    name: entry.object.name,
    key: ObjectStore.latest(entry.object),
    deletedDate: entry.deletedDate,
    scheduledPurgeDate: entry.scheduledPurgeDate
  })

  const findVersion = (name: string, version: string | undefined): Either.Either<Key, ObjectNotFound> => {
    const object = store.getActive(name)
    if (object === undefined) return Either.left(notFound(name))
    if (version === undefined || version === "") return Either.right({ name: object.name, key: ObjectStore.latest(object) })
    const found = ObjectStore.findVersion(object, version)
    return found === undefined ? Either.left(notFound(name, version)) : Either.right({ name: object.name, key: found })
  }

  /** Appends a version unless the name went to the bin meanwhile; a brand-new key starts without a policy. */
  const addVersion = (
    name: string,
    at: Date,
    build: (version: string, at: Date) => KeyVersion,
    operation: string
  ): Either.Either<Key, ObjectConflict | OperationForbidden> => {
    if (store.getDeleted(name) !== undefined) return Either.left(deletedButRecoverable(name))
    const existing = store.getActive(name)
    if (isManaged(existing)) return Either.left(managedByKeyVault(operation))
    if (existing === undefined) policies.delete(ObjectStore.nameKey(name))
    const version = build(newVersionId(existing?.versions ?? []), at)
    const object = store.addVersion(name, version)
    return Either.right({ name: object.name, key: version })
  }

  const checkNameFree = (name: string, operation: string): Effect.Effect<void, ObjectConflict | OperationForbidden> =>
    atomically((): Either.Either<void, ObjectConflict | OperationForbidden> => {
      if (store.getDeleted(name) !== undefined) return Either.left(deletedButRecoverable(name))
      return isManaged(store.getActive(name)) ? Either.left(managedByKeyVault(operation)) : Either.right(undefined)
    })

  const newVersion = (
    kty: StoredKeyType,
    material: KeyMaterial,
    keyOps: ReadonlyArray<KeyOperation>,
    input: KeyMetadataInput,
    managed: boolean
  ) =>
  (version: string, at: Date): KeyVersion => ({
    version,
    kty,
    keyOps,
    material,
    tags: input.tags,
    enabled: input.enabled ?? true,
    notBefore: truncate(input.notBefore),
    expires: truncate(input.expires),
    created: at,
    updated: at,
    exportable: input.exportable ?? false,
    releasePolicy: input.releasePolicy,
    managed
  })

  const operate = <A>(
    name: string,
    version: string | undefined,
    operation: KeyOperation,
    f: (key: KeyVersion) => Either.Either<A, BadParameter>
  ): Effect.Effect<KeyOperationOutcome<A>, KeyOperationError> =>
    Effect.flatMap(
      atomically((at): Either.Either<Key, ObjectNotFound | OperationForbidden> =>
        Either.flatMap(findVersion(name, version), (found) => {
          const refused = checkUsable(found.key, operation, at)
          return refused === undefined ? Either.right(found) : Either.left(refused)
        })
      ),
      // Versions are immutable records, so the crypto runs on the snapshot outside the atomic section.
      (found) => Effect.suspend(() => Either.map(f(found.key), (value) => ({ key: found, value })))
    )

  return {
    create: (name, input) =>
      Effect.gen(function*() {
        const spec = yield* Either.flatMap(resolveCreate(input), (resolved) => {
          const invalid = validateExportable(input)
          return invalid === undefined ? Either.right(resolved) : Either.left(invalid)
        })
        const keyOps = (yield* validateKeyOps(input.keyOps)) ??
          (spec.family === "RSA" ? RSA_DEFAULT_OPS : EC_DEFAULT_OPS)
        yield* checkNameFree(name, "create")
        const material = yield* generate(spec)
        return yield* atomically((at) =>
          addVersion(name, at, newVersion(spec.kty, material, keyOps, input, false), "create")
        )
      }),

    import: (name, input) =>
      Effect.gen(function*() {
        const invalid = validateExportable(input)
        if (invalid !== undefined) return yield* Effect.fail(invalid)
        const family = input.material._tag
        const keyOps = (yield* validateKeyOps(input.keyOps)) ?? (family === "RSA" ? RSA_DEFAULT_OPS : EC_DEFAULT_OPS)
        const kty: StoredKeyType = input.hsm === true ? `${family}-HSM` : family
        return yield* atomically((at) =>
          addVersion(name, at, newVersion(kty, input.material, keyOps, input, input.managed ?? false), "import")
        )
      }),

    get: (name, version) => atomically(() => findVersion(name, version)),

    update: (name, version, input) =>
      Effect.flatMap(validateKeyOps(input.keyOps), (keyOps) =>
        atomically((at): Either.Either<Key, ObjectNotFound | OperationForbidden | BadParameter> =>
          Either.flatMap(findVersion(name, version), (found): Either.Either<Key, OperationForbidden | BadParameter> => {
            const current = found.key
            if (current.managed) return Either.left(managedByKeyVault("update"))
            const next: KeyVersion = {
              ...current,
              keyOps: keyOps ?? current.keyOps,
              tags: input.tags !== undefined ? input.tags : current.tags,
              enabled: input.enabled !== undefined ? input.enabled : current.enabled,
              notBefore: input.notBefore !== undefined ? truncate(input.notBefore) : current.notBefore,
              expires: input.expires !== undefined ? truncate(input.expires) : current.expires,
              releasePolicy: input.releasePolicy !== undefined ? input.releasePolicy : current.releasePolicy,
              updated: at
            }
            // Checked as it will be after the change (see the secrets engine).
            const window = checkValidityWindow(next.notBefore, next.expires)
            if (window !== undefined) return Either.left(bad(window))
            store.replaceVersion(found.name, next)
            return Either.right({ name: found.name, key: next })
          })
        )),

    rotate: (name) =>
      Effect.gen(function*() {
        const latest = yield* atomically((): Either.Either<Key, ObjectNotFound | BadParameter> =>
          Either.flatMap(findVersion(name, undefined), (found) =>
            found.key.managed
              ? Either.left(bad("A key that backs a certificate is rotated by renewing the certificate."))
              : Either.right(found))
        )
        const material = yield* Material.regenerate(latest.key.material)
        return yield* atomically((at): Either.Either<Key, ObjectNotFound> => {
          // The key may have been deleted while the new material was generated.
          if (store.getActive(name) === undefined) return Either.left(notFound(name))
          const policy = policies.get(ObjectStore.nameKey(name))
          const expiry = policy?.expiryTime === undefined ? undefined : KeyRotationPolicy.parseDuration(policy.expiryTime)
          const previous = latest.key
          return Either.mapLeft(
            addVersion(name, at, (version, created) => ({
              ...previous,
              version,
              material,
              enabled: true,
              notBefore: undefined,
              expires: expiry === undefined ? undefined : KeyRotationPolicy.addDuration(created, expiry),
              created,
              updated: created
            }), "rotate"),
            () => notFound(name)
          )
        })
      }),

    getRotationPolicy: (name) =>
      atomically(() =>
        Either.map(findVersion(name, undefined), (found) => ({
          name: found.name,
          policy: policies.get(ObjectStore.nameKey(found.name)) ?? KeyRotationPolicy.DEFAULT_POLICY
        }))
      ),

    setRotationPolicy: (name, input) =>
      atomically((at): Either.Either<NamedRotationPolicy, ObjectNotFound | BadParameter> =>
        Either.flatMap(findVersion(name, undefined), (found) =>
          Either.match(KeyRotationPolicy.validate(input), {
            onLeft: (message) => Either.left(bad(message)),
            onRight: (valid) => {
              const key = ObjectStore.nameKey(found.name)
              const policy: RotationPolicy = { ...valid, created: policies.get(key)?.created ?? at, updated: at }
              policies.set(key, policy)
              return Either.right({ name: found.name, policy })
            }
          }))
      ),

    delete: (name) =>
      atomically((at): Either.Either<DeletedKey, ObjectNotFound | OperationForbidden> => {
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
      atomically((): Either.Either<Key, ObjectNotFound | OperationForbidden> => {
        if (isManaged(store.getDeleted(name)?.object)) return Either.left(managedByKeyVault("recover"))
        const object = store.recover(name)
        return object === undefined
          ? Either.left(deletedNotFound(name))
          : Either.right({ name: object.name, key: ObjectStore.latest(object) })
      }),

    purge: (name) =>
      atomically((): Either.Either<void, ObjectNotFound | OperationForbidden> => {
        if (isManaged(store.getDeleted(name)?.object)) return Either.left(managedByKeyVault("purge"))
        if (!store.purge(name)) return Either.left(deletedNotFound(name))
        policies.delete(ObjectStore.nameKey(name))
        return Either.right(undefined)
      }),

    backup: (name) =>
      atomically((): Either.Either<Uint8Array, ObjectNotFound | OperationForbidden> => {
        const object = store.getActive(name)
        if (isManaged(object)) return Either.left(managedByKeyVault("backup"))
        return object === undefined
          ? Either.left(notFound(name))
          : Either.right(
            KeyBackup.encode({ object, rotationPolicy: policies.get(ObjectStore.nameKey(object.name)) })
          )
      }),

    restore: (blob) =>
      Effect.flatMap(
        // Validating the key material (RSA arithmetic) is the slow part; it needs no lock.
        Effect.suspend(() => Either.flatMap(KeyBackup.decode(blob), checkRestored)),
        ({ object, rotationPolicy }) =>
          atomically((): Either.Either<Key, ObjectConflict> => {
            if (store.getDeleted(object.name) !== undefined) return Either.left(deletedButRecoverable(object.name))
            if (store.getActive(object.name) !== undefined) return Either.left(alreadyExists(object.name))
            store.insert(object)
            const key = ObjectStore.nameKey(object.name)
            if (rotationPolicy === undefined) policies.delete(key)
            else policies.set(key, rotationPolicy)
            return Either.right({ name: object.name, key: ObjectStore.latest(object) })
          })
      ),

    list: atomically(() =>
      Either.right(store.listActive().map((object) => ({ name: object.name, key: ObjectStore.latest(object) })))
    ),

    listVersions: (name) =>
      atomically(() => {
        const object = store.getActive(name)
        return Either.right(
          object === undefined ? [] : ObjectStore.sortedVersions(object).map((key) => ({ name: object.name, key }))
        )
      }),

    listDeleted: atomically(() => Either.right(store.listDeleted().map(deletedView))),

    encrypt: (name, version, alg, plaintext) =>
      operate(name, version, "encrypt", (key) => KeyCrypto.encrypt(key, alg, plaintext)),
    decrypt: (name, version, alg, ciphertext) =>
      operate(name, version, "decrypt", (key) => KeyCrypto.decrypt(key, alg, ciphertext)),
    wrapKey: (name, version, alg, key) =>
      operate(name, version, "wrapKey", (stored) => KeyCrypto.encrypt(stored, alg, key)),
    unwrapKey: (name, version, alg, wrapped) =>
      operate(name, version, "unwrapKey", (key) => KeyCrypto.decrypt(key, alg, wrapped)),
    sign: (name, version, alg, digest) => operate(name, version, "sign", (key) => KeyCrypto.sign(key, alg, digest)),
    verify: (name, version, alg, digest, signature) =>
      operate(name, version, "verify", (key) => KeyCrypto.verify(key, alg, digest, signature)),

    randomBytes: (count) =>
      Number.isInteger(count) && count >= 1 && count <= MAX_RANDOM_BYTES
        ? Effect.sync(() => new Uint8Array(randomBytes(count)))
        : Effect.fail(bad(`The count of random bytes must be between 1 and ${MAX_RANDOM_BYTES}.`))
  }
}
