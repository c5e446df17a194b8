/**
 * The certificate operations of the vault engine: create (a long-running operation: `Self` issues a real self-signed
 * certificate, `Unknown` hands out a real CSR and waits for a merge), import (PEM or PKCS#12), get, update, policy,
 * pending operation (get, cancel, delete, merge), soft delete, recover, purge, backup, restore, the lists, and the
 * vault's certificate contacts and issuers.
 *
 * A certificate owns a key and a secret of the same name and version, stored in the vault's key and secret
 * collections and marked `managed`: the key signs through the keys API, the secret holds the certificate with its
 * private key (PKCS#12 or PEM, as the policy says), and both follow the certificate through delete, recover and purge.
 * Keys and secrets of that name that a caller made themselves block the name (409). A policy with a key that is not
 * exportable gives a secret holding the certificate chain only. Keys come from the key engine's generators.
 *
 * Chains are stored leaf first; `preserveCertOrder` is kept and answered, but does not reorder them.
 *
 * Issuance with `Self` completes `issuanceDelayMillis` after the create on the engine's clock (default 0: at the
 * next operation of any kind). The work that takes time (key generation, signing, PKCS#12) runs outside the atomic
 * sections; the state is checked again before anything is stored. Time comes from the Effect `Clock`, read once per
 * operation.
 *
 * @since 0.1.0
 */
import type { KeyOperation } from "@effect-azure/key-vault/crypto/Algorithms"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import * as CertificateBackup from "./certificates/CertificateBackup.js"
import type {
  Administrator,
  Certificate,
  CertificateOperation,
  CertificateVersion,
  Contact,
  DeletedCertificate,
  Issuer,
  OperationStatus
} from "./certificates/CertificateVersion.js"
import { isIssued } from "./certificates/CertificateVersion.js"
import type { CertificateKeyType, CertificatePolicy, PolicyInput, SecretContentType } from "./certificates/Policy.js"
import * as Policy from "./certificates/Policy.js"
import * as SecretContent from "./certificates/SecretContent.js"
import * as X509 from "./certificates/X509.js"
import type { KeyMaterial } from "./crypto/KeyMaterial.js"
import * as Material from "./crypto/KeyMaterial.js"
import type { KeyVersion } from "./KeyVersion.js"
import * as ObjectStore from "./ObjectStore.js"
import type { SecretVersion } from "./SecretVersion.js"
import { BadParameter, ObjectConflict, ObjectNotFound, OperationForbidden } from "./VaultError.js"

/**
 * Input of a create. A policy is required for a new certificate; for an existing one it is laid over the stored
 * policy. Of the attributes only `enabled` applies (the certificate sets its validity).
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateCertificateInput {
  readonly policy?: PolicyInput | undefined
  readonly enabled?: boolean | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
  readonly preserveCertOrder?: boolean | undefined
}

/**
 * Input of an import: PEM text or base64 PKCS#12, and the password of an encrypted PFX or PKCS#8 key.
 *
 * @since 0.1.0
 * @category models
 */
export interface ImportCertificateInput {
  readonly value: Redacted.Redacted<string>
  readonly password?: Redacted.Redacted<string> | undefined
  readonly policy?: PolicyInput | undefined
  readonly enabled?: boolean | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
  readonly preserveCertOrder?: boolean | undefined
}

/**
 * Input of an update: only the fields given change (tags are replaced as a whole); `policy` updates the policy.
 *
 * @since 0.1.0
 * @category models
 */
export interface UpdateCertificateInput {
  readonly policy?: PolicyInput | undefined
  readonly enabled?: boolean | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
}

/**
 * Input of a merge: the signed certificate and its chain (DER, any order), and the new version's attributes.
 *
 * @since 0.1.0
 * @category models
 */
export interface MergeCertificateInput {
  readonly x5c: ReadonlyArray<Uint8Array>
  readonly enabled?: boolean | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
}

/**
 * Input of an issuer set (all but `provider` optional) or update (every field optional).
 *
 * @since 0.1.0
 * @category models
 */
export interface IssuerInput {
  readonly provider?: string | undefined
  readonly accountId?: string | undefined
  readonly password?: Redacted.Redacted<string> | undefined
  readonly organizationId?: string | undefined
  readonly administrators?: ReadonlyArray<Administrator> | undefined
  readonly enabled?: boolean | undefined
}

/**
 * A certificate's policy with the certificate's name.
 *
 * @since 0.1.0
 * @category models
 */
export interface NamedPolicy {
  readonly name: string
  readonly policy: CertificatePolicy
}

/**
 * The certificate collection of a vault.
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificateEngine {
  /** Starts a new version; answers the pending operation (`inProgress`). */
  readonly create: (
    name: string,
    input: CreateCertificateInput
  ) => Effect.Effect<CertificateOperation, ObjectConflict | BadParameter>
  /** Adds an imported certificate with its private key as a new version. */
  readonly import: (
    name: string,
    input: ImportCertificateInput
  ) => Effect.Effect<Certificate, ObjectConflict | BadParameter>
  /**
   * A version (the latest issued one when `version` is absent or empty; the pending one when none is issued yet).
   */
  readonly get: (name: string, version?: string | undefined) => Effect.Effect<Certificate, ObjectNotFound>
  readonly update: (
    name: string,
    version: string | undefined,
    input: UpdateCertificateInput
  ) => Effect.Effect<Certificate, ObjectNotFound | BadParameter>
  readonly getPolicy: (name: string) => Effect.Effect<NamedPolicy, ObjectNotFound>
  /** Lays a partial policy over the stored one; versions already issued do not change. */
  readonly updatePolicy: (name: string, input: PolicyInput) => Effect.Effect<NamedPolicy, ObjectNotFound | BadParameter>
  readonly getOperation: (name: string) => Effect.Effect<CertificateOperation, ObjectNotFound>
  /** Cancels an operation in progress (400 when it is not in progress). */
  readonly cancelOperation: (name: string) => Effect.Effect<CertificateOperation, ObjectNotFound | BadParameter>
  /**
   * Removes the operation. A version it left pending stays (disabled, without certificate) until the next create or
   * import replaces it, so the certificate can still be read, as in the service.
   */
  readonly deleteOperation: (name: string) => Effect.Effect<CertificateOperation, ObjectNotFound>
  /** Completes an `Unknown` operation with a chain whose leaf carries the pending key. */
  readonly merge: (
    name: string,
    input: MergeCertificateInput
  ) => Effect.Effect<Certificate, ObjectNotFound | OperationForbidden | ObjectConflict | BadParameter>
  /** Moves the certificate, its key and its secret to the soft-delete bin. */
  readonly delete: (name: string) => Effect.Effect<DeletedCertificate, ObjectNotFound>
  readonly getDeleted: (name: string) => Effect.Effect<DeletedCertificate, ObjectNotFound>
  readonly recover: (name: string) => Effect.Effect<Certificate, ObjectNotFound>
  readonly purge: (name: string) => Effect.Effect<void, ObjectNotFound>
  /** A self-contained blob of the issued versions, the policy, the key and the secret. */
  readonly backup: (name: string) => Effect.Effect<Uint8Array, ObjectNotFound | BadParameter>
  readonly restore: (blob: Uint8Array) => Effect.Effect<Certificate, ObjectConflict | BadParameter>
  /** The latest issued version of every live certificate; with `includePending`, pending-only ones too. */
  readonly list: (includePending: boolean) => Effect.Effect<ReadonlyArray<Certificate>>
  /** The issued versions of a live certificate, by creation time then id; empty when there is no such certificate. */
  readonly listVersions: (name: string) => Effect.Effect<ReadonlyArray<Certificate>>
  readonly listDeleted: Effect.Effect<ReadonlyArray<DeletedCertificate>>
  readonly getContacts: Effect.Effect<ReadonlyArray<Contact>, ObjectNotFound>
  readonly setContacts: (contacts: ReadonlyArray<Contact>) => Effect.Effect<ReadonlyArray<Contact>>
  readonly deleteContacts: Effect.Effect<ReadonlyArray<Contact>, ObjectNotFound>
  readonly getIssuer: (name: string) => Effect.Effect<Issuer, ObjectNotFound>
  /** Creates or replaces an issuer (`provider` required). */
  readonly setIssuer: (name: string, input: IssuerInput) => Effect.Effect<Issuer, BadParameter>
  readonly updateIssuer: (name: string, input: IssuerInput) => Effect.Effect<Issuer, ObjectNotFound>
  readonly deleteIssuer: (name: string) => Effect.Effect<Issuer, ObjectNotFound>
  /** Every issuer, ordered by lower-case name. */
  readonly listIssuers: Effect.Effect<ReadonlyArray<Issuer>>
  /**
   * Completes every `Self` issuance due at `now`. The vault runs it at the start of every operation of every
   * collection, so a secret or key read sees a certificate issued in the meantime.
   */
  readonly completeDue: (now: Date) => void
}

/**
 * Settings the certificate engine needs from the vault.
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificateEngineOptions {
  readonly recoverableDays: number
  /** Milliseconds from a `Self` create to its completion, on the engine's clock. */
  readonly issuanceDelayMillis: number
  /** The vault's key collection (the certificates' managed keys live there). */
  readonly keys: ObjectStore.ObjectStore<KeyVersion>
  /** The vault's secret collection (the certificates' managed secrets live there). */
  readonly secrets: ObjectStore.ObjectStore<SecretVersion>
  /** The certificate collection to serve; a new one when absent. */
  readonly store?: ObjectStore.ObjectStore<CertificateVersion> | undefined
  /** Runs at the start of every certificate operation with its time, after due issuances completed. */
  readonly beforeOperation?: ((now: Date) => void) | undefined
  /** Where the engine keeps policies, operations, issuers and contacts; default plain maps. */
  readonly maps?: ObjectStore.MapFactory | undefined
}

/**
 * The backdating of a new certificate's notBefore, as the service does (clock skew between machines).
 *
 * @since 0.1.0
 * @category constants
 */
export const BACKDATE_MILLIS = 10 * 60 * 1000

const IN_PROGRESS_DETAILS = "Pending certificate created. Certificate request is in progress. This may take some " +
  "time based on the issuer provider. Please check again later."
const MERGE_DETAILS = "Pending certificate created. Please Perform Merge to complete the request."
const CANCELLED_DETAILS = "The certificate request was cancelled."

/** A pending operation as the engine keeps it: the public record, plus the key and what completion will store. */
interface PendingRecord {
  readonly operation: CertificateOperation
  /** The id of the pending version the operation completes. */
  readonly version: string
  /** The pending key (dropped once the operation completes). */
  readonly material: KeyMaterial | undefined
  /** For `Self`: the issued certificate, stored when the clock reaches `dueAt`. */
  readonly issuance: Issuance | undefined
  readonly dueAt: Date | undefined
  readonly enabled: boolean
  readonly tags: Readonly<Record<string, string>> | undefined
}

/** Everything a new issued version stores in the three collections. */
interface Issuance {
  readonly material: KeyMaterial
  readonly chain: ReadonlyArray<Uint8Array>
  readonly notBefore: Date
  readonly notAfter: Date
  readonly secretValue: Redacted.Redacted<string>
  readonly contentType: SecretContentType
  readonly keyType: CertificateKeyType
  readonly keyOps: ReadonlyArray<KeyOperation>
  readonly enabled: boolean
  readonly tags: Readonly<Record<string, string>> | undefined
  readonly preserveCertOrder: boolean | undefined
}

const notFound = (name: string, version?: string): ObjectNotFound =>
  new ObjectNotFound({
    code: "CertificateNotFound",
    message: `A certificate with (name/id) ${version === undefined ? name : `${name}/${version}`} was not found in ` +
      "this key vault. If you recently deleted this certificate you may be able to recover it using the correct " +
      "recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
  })

const deletedNotFound = (name: string): ObjectNotFound =>
  new ObjectNotFound({ code: "CertificateNotFound", message: `Deleted Certificate not found: ${name}` })

const pendingNotFound = (name: string): ObjectNotFound =>
  new ObjectNotFound({ code: "PendingCertificateNotFound", message: `Pending certificate not found: ${name}` })

const issuerNotFound = (): ObjectNotFound =>
  new ObjectNotFound({ code: "CertificateIssuerNotFound", message: "Issuer not found" })

const contactsNotFound = (): ObjectNotFound =>
  new ObjectNotFound({ code: "ContactsNotFound", message: "Contacts not found" })

const deletedButRecoverable = (name: string): ObjectConflict =>
  new ObjectConflict({
    innerCode: "ObjectIsDeletedButRecoverable",
    message: `Certificate ${name} is currently in a deleted but recoverable state, and its name cannot be reused; ` +
      "in this state, the certificate can only be recovered or purged."
  })

const inProgress = (): ObjectConflict =>
  new ObjectConflict({
    innerCode: undefined,
    message: "A new key vault certificate can not be created or imported while a pending key vault certificate's " +
      "status is inProgress."
  })

const nameTaken = (name: string, kind: "key" | "secret"): ObjectConflict =>
  new ObjectConflict({
    innerCode: undefined,
    message: `A ${kind} named ${name} that no certificate manages exists in this key vault (or in its deleted ` +
      `${kind}s); a certificate needs its name for the ${kind} behind it.`
  })

const alreadyExists = (name: string): ObjectConflict =>
  new ObjectConflict({
    innerCode: undefined,
    message: `A certificate with (name/id) ${name} already exists in this key vault; restore needs a free name.`
  })

const changedMeanwhile = (name: string): ObjectConflict =>
  new ObjectConflict({
    innerCode: undefined,
    message: `The pending certificate ${name} changed while the request was processed; retry.`
  })

const bad = (message: string): BadParameter => new BadParameter({ message })

/** Key Vault timestamps have one-second resolution; storing whole seconds keeps engine and wire identical. */
const wholeSeconds = (millis: number): Date => new Date(Math.floor(millis / 1000) * 1000)

const now: Effect.Effect<Date> = Effect.map(Clock.currentTimeMillis, wholeSeconds)

const newVersionId = (taken: ReadonlyArray<{ readonly version: string }>): string => {
  for (;;) {
    const id = randomBytes(16).toString("hex")
    if (!taken.some((v) => v.version === id)) return id
  }
}

/** The certificate's notBefore: backdated, but never before 1970 (the wire's timestamps start there). */
const backdated = (at: Date): Date => new Date(Math.max(0, at.getTime() - BACKDATE_MILLIS))

const isManaged = <V extends ObjectStore.Versioned & { readonly managed: boolean }>(
  object: ObjectStore.StoredObject<V> | undefined
): boolean => object !== undefined && ObjectStore.latest(object).managed

const latestIssued = (object: ObjectStore.StoredObject<CertificateVersion>): CertificateVersion | undefined => {
  for (let i = object.versions.length - 1; i >= 0; i--) {
    const version = object.versions[i]!
    if (isIssued(version)) return version
  }
  return undefined
}

/** The version a version-less read answers: the latest issued one, else the pending one. */
const current = (object: ObjectStore.StoredObject<CertificateVersion>): CertificateVersion =>
  latestIssued(object) ?? ObjectStore.latest(object)

const generate = (policy: CertificatePolicy): Effect.Effect<KeyMaterial> =>
  policy.curve !== undefined
    ? Effect.sync(() => Material.generateEc(policy.curve!))
    : Material.generateRsa(policy.keySize ?? 2048, 65537)

/** The secret value of a version (the chain only when the key is not exportable). */
const renderSecret = (
  policy: Pick<CertificatePolicy, "contentType" | "exportable">,
  material: KeyMaterial,
  chain: ReadonlyArray<Uint8Array>
): Effect.Effect<Redacted.Redacted<string>> =>
  Effect.map(
    SecretContent.render(policy.contentType, policy.exportable ? X509.pkcs8(material) : undefined, chain),
    Redacted.make
  )

const keyOpsOf = (policy: CertificatePolicy): ReadonlyArray<KeyOperation> =>
  Policy.keyOperations(policy.keyUsage, Policy.isRsa(policy.keyType))

// What a new version is issued from: the policy's key and secret settings, the material, the chain (leaf first) and
// its validity, plus the caller's enabled / tags / preserveCertOrder.
const issuanceOf = (
  policy: CertificatePolicy,
  material: KeyMaterial,
  chain: ReadonlyArray<Uint8Array>,
  validity: { readonly notBefore: Date; readonly notAfter: Date },
  extra: Pick<Issuance, "enabled" | "tags" | "preserveCertOrder">
) =>
  Effect.map(renderSecret(policy, material, chain), (secretValue): Issuance => ({
    material,
    chain,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    secretValue,
    contentType: policy.contentType,
    keyType: policy.keyType,
    keyOps: keyOpsOf(policy),
    ...extra
  }))

/**
 * A new, empty certificate collection over the vault's key and secret collections.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: CertificateEngineOptions): CertificateEngine => {
  const store = options.store ?? ObjectStore.make<CertificateVersion>()
  const beforeOperation = options.beforeOperation
  const keyStore = options.keys
  const secretStore = options.secrets
  // Policies and operations belong to a certificate, not to a version; they follow it into the bin and out of it.
  // Entries of purged certificates are dropped on purge, or replaced when the name is used again.
  const maps = options.maps ?? ObjectStore.plainMaps
  const policies = maps<CertificatePolicy>("certificates.policies")
  const operations = maps<PendingRecord>("certificates.operations")
  // The names of `Self` operations waiting for their due time: every operation of every collection checks them, so
  // the check must cost nothing when there are none (the usual case), whatever the number of certificates.
  const scheduled = new Set<string>()
  const issuers = maps<Issuer>("certificates.issuers")
  // One entry, "contacts": a map, so that persistence records it like the rest of the state.
  const contactsMap = maps<ReadonlyArray<Contact>>("certificates.contacts")
  // Operations loaded with the state wait for their due time as they did before.
  for (const [k, record] of operations) {
    if (record.operation.status === "inProgress" && record.issuance !== undefined) scheduled.add(k)
  }
  const retentionMillis = options.recoverableDays * 24 * 60 * 60 * 1000

  const key = ObjectStore.nameKey

  /** Stores an issued version in the three collections (replacing the pending version with the same id). */
  const store3 = (name: string, version: string, issuance: Issuance, at: Date): Certificate => {
    const certificate: CertificateVersion = {
      version,
      created: at,
      updated: at,
      enabled: issuance.enabled,
      notBefore: wholeSeconds(issuance.notBefore.getTime()),
      expires: wholeSeconds(issuance.notAfter.getTime()),
      tags: issuance.tags,
      chain: issuance.chain,
      thumbprint: X509.thumbprint(issuance.chain[0]!),
      contentType: issuance.contentType,
      preserveCertOrder: issuance.preserveCertOrder
    }
    if (!store.replaceVersion(name, certificate)) store.addVersion(name, certificate)
    const object = store.getActive(name)!
    keyStore.addVersion(object.name, {
      version,
      kty: issuance.keyType,
      keyOps: issuance.keyOps,
      material: issuance.material,
      tags: undefined,
      enabled: certificate.enabled,
      notBefore: certificate.notBefore,
      expires: certificate.expires,
      created: at,
      updated: at,
      exportable: false,
      releasePolicy: undefined,
      managed: true
    })
    secretStore.addVersion(object.name, {
      version,
      value: issuance.secretValue,
      contentType: issuance.contentType,
      tags: undefined,
      enabled: certificate.enabled,
      notBefore: certificate.notBefore,
      expires: certificate.expires,
      created: at,
      updated: at,
      managed: true
    })
    return { name: object.name, certificate, policy: policies.get(key(name)) }
  }

  const completeRecord = (record: PendingRecord): PendingRecord => ({
    ...record,
    operation: { ...record.operation, status: "completed", statusDetails: undefined },
    material: undefined,
    issuance: undefined
  })

  const completeDue = (at: Date): void => {
    if (scheduled.size === 0) return
    for (const k of scheduled) {
      const record = operations.get(k)
      if (record === undefined || record.operation.status !== "inProgress" || record.issuance === undefined) {
        scheduled.delete(k)
      } else if (
        record.dueAt !== undefined && record.dueAt.getTime() <= at.getTime() &&
        // A certificate in the bin waits: its issuance completes once it is recovered.
        store.getActive(record.operation.name) !== undefined
      ) {
        store3(record.operation.name, record.version, record.issuance, at)
        operations.set(k, completeRecord(record))
        scheduled.delete(k)
      }
    }
  }

  /** Runs one operation atomically at the current clock time, after purging and completing what is due. */
  const atomically = <A, E>(f: (now: Date) => Either.Either<A, E>): Effect.Effect<A, E> =>
    Effect.flatMap(now, (at) =>
      Effect.suspend(() => {
        store.purgeDue(at)
        keyStore.purgeDue(at)
        secretStore.purgeDue(at)
        completeDue(at)
        beforeOperation?.(at)
        return Either.match(f(at), { onLeft: Effect.fail, onRight: Effect.succeed })
      }))

  const view = (object: ObjectStore.StoredObject<CertificateVersion>, version: CertificateVersion): Certificate => ({
    name: object.name,
    certificate: version,
    policy: policies.get(key(object.name))
  })

  const deletedView = (entry: ObjectStore.DeletedObject<CertificateVersion>): DeletedCertificate => ({
    ...view(entry.object, current(entry.object)),
    deletedDate: entry.deletedDate,
    scheduledPurgeDate: entry.scheduledPurgeDate
  })

  const findActive = (name: string): Either.Either<ObjectStore.StoredObject<CertificateVersion>, ObjectNotFound> => {
    const object = store.getActive(name)
    return object === undefined ? Either.left(notFound(name)) : Either.right(object)
  }

  const findVersion = (
    name: string,
    version: string | undefined
  ): Either.Either<Certificate, ObjectNotFound> =>
    Either.flatMap(findActive(name), (object) => {
      if (version === undefined || version === "") return Either.right(view(object, current(object)))
      const found = ObjectStore.findVersion(object, version)
      return found === undefined ? Either.left(notFound(name, version)) : Either.right(view(object, found))
    })

  /** Whether a new version may start: the name is free of foreign keys and secrets, nothing is in progress. */
  const checkCanStart = (name: string): ObjectConflict | undefined => {
    if (store.getDeleted(name) !== undefined) return deletedButRecoverable(name)
    const foreignKey = keyStore.getActive(name) ?? keyStore.getDeleted(name)?.object
    if (foreignKey !== undefined && !isManaged(foreignKey)) return nameTaken(name, "key")
    const foreignSecret = secretStore.getActive(name) ?? secretStore.getDeleted(name)?.object
    if (foreignSecret !== undefined && !isManaged(foreignSecret)) return nameTaken(name, "secret")
    if (store.getActive(name) !== undefined && operations.get(key(name))?.operation.status === "inProgress") {
      return inProgress()
    }
    return undefined
  }

  /**
   * Clears what a new version replaces: the state of a purged certificate of the same name, the previous operation
   * (never one in progress: the callers refuse that), and versions left pending by a cancelled or deleted operation.
   */
  const clearForNewVersion = (name: string): void => {
    const k = key(name)
    operations.delete(k)
    scheduled.delete(k)
    const object = store.getActive(name)
    if (object === undefined) {
      policies.delete(k)
      return
    }
    for (const version of object.versions) {
      if (!isIssued(version)) store.removeVersion(name, version.version)
    }
  }

  const checkIssuer = (policy: CertificatePolicy): BadParameter | undefined =>
    Policy.isSelf(policy.issuer.name) || Policy.isUnknown(policy.issuer.name) ||
      issuers.has(key(policy.issuer.name))
      ? undefined
      : bad(`The issuer '${policy.issuer.name}' does not exist in this key vault; create it, or use Self or Unknown.`)

  return {
    create: (name, input) =>
      Effect.gen(function*() {
        const plan = yield* atomically((at): Either.Either<
          { readonly policy: CertificatePolicy; readonly reuse: KeyMaterial | undefined; readonly at: Date },
          ObjectConflict | BadParameter
        > => {
          const conflict = checkCanStart(name)
          if (conflict !== undefined) return Either.left(conflict)
          const object = store.getActive(name)
          const base = object === undefined ? undefined : policies.get(key(name))
          if (input.policy === undefined && base === undefined) {
            return Either.left(bad("A policy is required to create a new certificate."))
          }
          const resolved = Policy.resolve(input.policy, base, at)
          if (Either.isLeft(resolved)) return Either.left(bad(resolved.left))
          const policy = resolved.right
          if (policy.subject.trim() === "" && Policy.hasNoSans(policy.sans)) {
            return Either.left(bad("The policy needs a subject (x509_props.subject) or subject alternative names."))
          }
          const unknownIssuer = checkIssuer(policy)
          if (unknownIssuer !== undefined) return Either.left(unknownIssuer)
          // reuse_key renews with the key of the latest issued version, when it is of the policy's kind.
          const previous = object === undefined ? undefined : latestIssued(object)
          const previousKey = previous === undefined || !policy.reuseKey
            ? undefined
            : keyStore.getActive(name) === undefined
            ? undefined
            : ObjectStore.findVersion(keyStore.getActive(name)!, previous.version)?.material
          const reuse = previousKey !== undefined && previousKey._tag === (Policy.isRsa(policy.keyType) ? "RSA" : "EC")
            ? previousKey
            : undefined
          return Either.right({ policy, reuse, at })
        })
        const { at, policy } = plan
        const material = plan.reuse ?? (yield* generate(policy))
        const csr = yield* X509.certificateRequest(material, policy)
        const notBefore = backdated(at)
        const notAfter = Policy.addMonths(at, policy.validityMonths)
        const self = Policy.isSelf(policy.issuer.name)
        let issuance: Issuance | undefined
        if (self) {
          const der = yield* X509.selfSigned(material, policy, notBefore, notAfter)
          issuance = yield* issuanceOf(policy, material, [der], { notBefore, notAfter }, {
            enabled: input.enabled ?? true,
            tags: input.tags,
            preserveCertOrder: input.preserveCertOrder
          })
        }
        return yield* atomically((started): Either.Either<CertificateOperation, ObjectConflict> => {
          const conflict = checkCanStart(name)
          if (conflict !== undefined) return Either.left(conflict)
          clearForNewVersion(name)
          const version = newVersionId(store.getActive(name)?.versions ?? [])
          const object = store.addVersion(name, {
            version,
            created: started,
            updated: started,
            enabled: false,
            notBefore: wholeSeconds(notBefore.getTime()),
            expires: wholeSeconds(notAfter.getTime()),
            tags: input.tags,
            chain: undefined,
            thumbprint: undefined,
            contentType: policy.contentType,
            preserveCertOrder: input.preserveCertOrder
          })
          policies.set(key(name), policy)
          const operation: CertificateOperation = {
            name: object.name,
            requestId: randomBytes(16).toString("hex"),
            issuer: policy.issuer,
            csr,
            cancellationRequested: false,
            status: "inProgress",
            statusDetails: Policy.isUnknown(policy.issuer.name) ? MERGE_DETAILS : IN_PROGRESS_DETAILS,
            preserveCertOrder: input.preserveCertOrder
          }
          operations.set(key(name), {
            operation,
            version,
            material,
            issuance,
            dueAt: self ? new Date(started.getTime() + options.issuanceDelayMillis) : undefined,
            enabled: input.enabled ?? true,
            tags: input.tags
          })
          if (self) scheduled.add(key(name))
          return Either.right(operation)
        })
      }),

    import: (name, input) =>
      Effect.gen(function*() {
        const read = yield* SecretContent.readImport(
          Redacted.value(input.value),
          input.password === undefined ? undefined : Redacted.value(input.password)
        )
        const material = yield* Either.mapLeft(
          X509.materialFromPrivateKey(read.privateKey),
          (reason) => bad(`The private key cannot be imported: ${reason}.`)
        )
        if (material._tag === "EC" && material.curve === "P-256K") {
          return yield* Effect.fail(bad("Certificates with a P-256K key are not supported by the emulator."))
        }
        const leaf = read.chain[0]!
        const description = yield* X509.describe(leaf.der)
        const plan = yield* atomically((at): Either.Either<
          { readonly policy: CertificatePolicy; readonly at: Date },
          ObjectConflict | BadParameter
        > => {
          const conflict = checkCanStart(name)
          if (conflict !== undefined) return Either.left(conflict)
          const base = store.getActive(name) === undefined ? undefined : policies.get(key(name))
          // The X.509 and key properties are the certificate's; the rest comes from the request or the stored policy.
          const hsm = (input.policy?.key_props?.kty ?? base?.keyType ?? "").endsWith("-HSM")
          const kty = material._tag === "RSA" ? (hsm ? "RSA-HSM" : "RSA") : (hsm ? "EC-HSM" : "EC")
          const resolved = Policy.resolve({
            ...input.policy,
            key_props: {
              ...input.policy?.key_props,
              kty,
              key_size: material._tag === "RSA" ? Material.rsaModulusBits(material) : undefined,
              crv: material._tag === "EC" ? material.curve : undefined
            },
            secret_props: { contentType: input.policy?.secret_props?.contentType ?? base?.contentType ?? read.format },
            x509_props: {
              subject: description.subject,
              sans: {
                dns_names: description.sans.dnsNames,
                emails: description.sans.emails,
                upns: description.sans.upns,
                uris: description.sans.uris,
                ipAddresses: description.sans.ipAddresses
              },
              ekus: description.ekus,
              key_usage: description.keyUsage,
              validity_months: Policy.monthsBetween(leaf.notBefore, leaf.notAfter)
            }
          }, base, at)
          return Either.isLeft(resolved)
            ? Either.left(bad(`The certificate cannot be imported: ${resolved.left}`))
            : Either.right({ policy: resolved.right, at })
        })
        const { policy } = plan
        const ders = read.chain.map((c) => c.der)
        const issuance = yield* issuanceOf(policy, material, ders, leaf, {
          enabled: input.enabled ?? true,
          tags: input.tags,
          preserveCertOrder: input.preserveCertOrder
        })
        return yield* atomically((at): Either.Either<Certificate, ObjectConflict> => {
          const conflict = checkCanStart(name)
          if (conflict !== undefined) return Either.left(conflict)
          clearForNewVersion(name)
          const version = newVersionId(store.getActive(name)?.versions ?? [])
          policies.set(key(name), policy)
          return Either.right(store3(name, version, issuance, at))
        })
      }),

    get: (name, version) => atomically(() => findVersion(name, version)),

    update: (name, version, input) =>
      atomically((at): Either.Either<Certificate, ObjectNotFound | BadParameter> =>
        Either.flatMap(findVersion(name, version), (found): Either.Either<Certificate, BadParameter> => {
          let policy = found.policy
          if (input.policy !== undefined) {
            const resolved = Policy.resolve(input.policy, policy, at)
            if (Either.isLeft(resolved)) return Either.left(bad(resolved.left))
            policy = resolved.right
          }
          const previous = found.certificate
          const next: CertificateVersion = {
            ...previous,
            enabled: input.enabled ?? previous.enabled,
            tags: input.tags ?? previous.tags,
            updated: at
          }
          store.replaceVersion(found.name, next)
          if (policy !== undefined) policies.set(key(found.name), policy)
          if (isIssued(next) && next.enabled !== previous.enabled) {
            // The key and secret follow the certificate's enabled state.
            const keyObject = keyStore.getActive(found.name)
            const keyVersion = keyObject === undefined ? undefined : ObjectStore.findVersion(keyObject, next.version)
            if (keyVersion !== undefined) {
              keyStore.replaceVersion(found.name, { ...keyVersion, enabled: next.enabled, updated: at })
            }
            const secretObject = secretStore.getActive(found.name)
            const secretVersion = secretObject === undefined
              ? undefined
              : ObjectStore.findVersion(secretObject, next.version)
            if (secretVersion !== undefined) {
              secretStore.replaceVersion(found.name, { ...secretVersion, enabled: next.enabled, updated: at })
            }
          }
          return Either.right({ name: found.name, certificate: next, policy })
        })
      ),

    getPolicy: (name) =>
      atomically(() =>
        Either.flatMap(findActive(name), (object) => {
          const policy = policies.get(key(name))
          return policy === undefined ? Either.left(notFound(name)) : Either.right({ name: object.name, policy })
        })
      ),

    updatePolicy: (name, input) =>
      atomically((at): Either.Either<NamedPolicy, ObjectNotFound | BadParameter> =>
        Either.flatMap(findActive(name), (object): Either.Either<NamedPolicy, BadParameter> => {
          const resolved = Policy.resolve(input, policies.get(key(name)), at)
          if (Either.isLeft(resolved)) return Either.left(bad(resolved.left))
          policies.set(key(name), resolved.right)
          return Either.right({ name: object.name, policy: resolved.right })
        })
      ),

    getOperation: (name) =>
      atomically(() => {
        const record = store.getActive(name) === undefined ? undefined : operations.get(key(name))
        return record === undefined ? Either.left(pendingNotFound(name)) : Either.right(record.operation)
      }),

    cancelOperation: (name) =>
      atomically((): Either.Either<CertificateOperation, ObjectNotFound | BadParameter> => {
        const record = store.getActive(name) === undefined ? undefined : operations.get(key(name))
        if (record === undefined) return Either.left(pendingNotFound(name))
        if (record.operation.status !== "inProgress") {
          return Either.left(bad("The certificate operation is not in progress and cannot be cancelled."))
        }
        const status: OperationStatus = "cancelled"
        const cancelled: PendingRecord = {
          ...record,
          operation: { ...record.operation, cancellationRequested: true, status, statusDetails: CANCELLED_DETAILS },
          issuance: undefined
        }
        operations.set(key(name), cancelled)
        scheduled.delete(key(name))
        return Either.right(cancelled.operation)
      }),

    deleteOperation: (name) =>
      atomically(() => {
        const record = store.getActive(name) === undefined ? undefined : operations.get(key(name))
        if (record === undefined) return Either.left(pendingNotFound(name))
        operations.delete(key(name))
        scheduled.delete(key(name))
        return Either.right(record.operation)
      }),

    merge: (name, input) =>
      Effect.gen(function*() {
        if (input.x5c.length === 0) return yield* Effect.fail(bad("x5c must hold the signed certificate."))
        const parsed: Array<X509.ParsedCertificate> = []
        for (const der of input.x5c) parsed.push(yield* Either.mapLeft(X509.parseDer(der), bad))
        const plan = yield* atomically((): Either.Either<
          {
            readonly record: PendingRecord
            readonly material: KeyMaterial
            readonly policy: CertificatePolicy
            readonly chain: ReadonlyArray<Uint8Array>
            readonly leaf: X509.ParsedCertificate
          },
          ObjectNotFound | OperationForbidden | BadParameter
        > => {
          const record = store.getActive(name) === undefined ? undefined : operations.get(key(name))
          const policy = policies.get(key(name))
          if (record === undefined || policy === undefined) return Either.left(pendingNotFound(name))
          const issuer = record.operation.issuer.name
          if (record.operation.status === "completed" || record.material === undefined) {
            return Either.left(new OperationForbidden({
              innerCode: "OperationNotAllowed",
              message: "The pending certificate has completed; there is nothing left to merge."
            }))
          }
          if (Policy.isSelf(issuer) || (!Policy.isUnknown(issuer) && record.operation.status === "inProgress")) {
            return Either.left(new OperationForbidden({
              innerCode: "OperationNotAllowed",
              message: `Merge is forbidden on pending object created with issuer : ${issuer} while it is in progress.`
            }))
          }
          const material = record.material
          const leafIndex = parsed.findIndex((c) => X509.matchesKey(c.certificate, material))
          if (leafIndex < 0) {
            return Either.left(bad("Public key from x509 certificate and key of this instance doesn't match"))
          }
          const leaf = parsed[leafIndex]!
          const chain = [leaf.der, ...parsed.filter((_, i) => i !== leafIndex).map((c) => c.der)]
          return Either.right({ record, material, policy, chain, leaf })
        })
        const { chain, leaf, material, policy, record } = plan
        const issuance = yield* issuanceOf(policy, material, chain, leaf, {
          enabled: input.enabled ?? record.enabled,
          tags: input.tags ?? record.tags,
          preserveCertOrder: record.operation.preserveCertOrder
        })
        return yield* atomically((at): Either.Either<Certificate, ObjectConflict> => {
          if (store.getActive(name) === undefined || operations.get(key(name)) !== record) {
            return Either.left(changedMeanwhile(name))
          }
          const certificate = store3(name, record.version, issuance, at)
          operations.set(key(name), completeRecord(record))
          return Either.right(certificate)
        })
      }),

    delete: (name) =>
      atomically((at) => {
        const purgeAt = new Date(at.getTime() + retentionMillis)
        const entry = store.softDelete(name, at, purgeAt)
        if (entry === undefined) return Either.left(notFound(name))
        if (isManaged(keyStore.getActive(name))) keyStore.softDelete(name, at, purgeAt)
        if (isManaged(secretStore.getActive(name))) secretStore.softDelete(name, at, purgeAt)
        return Either.right(deletedView(entry))
      }),

    getDeleted: (name) =>
      atomically(() => {
        const entry = store.getDeleted(name)
        return entry === undefined ? Either.left(deletedNotFound(name)) : Either.right(deletedView(entry))
      }),

    recover: (name) =>
      atomically(() => {
        const object = store.recover(name)
        if (object === undefined) return Either.left(deletedNotFound(name))
        if (isManaged(keyStore.getDeleted(name)?.object)) keyStore.recover(name)
        if (isManaged(secretStore.getDeleted(name)?.object)) secretStore.recover(name)
        return Either.right(view(object, current(object)))
      }),

    purge: (name) =>
      atomically(() => {
        if (!store.purge(name)) return Either.left(deletedNotFound(name))
        if (isManaged(keyStore.getDeleted(name)?.object)) keyStore.purge(name)
        if (isManaged(secretStore.getDeleted(name)?.object)) secretStore.purge(name)
        policies.delete(key(name))
        operations.delete(key(name))
        scheduled.delete(key(name))
        return Either.right(undefined)
      }),

    backup: (name) =>
      atomically((): Either.Either<Uint8Array, ObjectNotFound | BadParameter> =>
        Either.flatMap(findActive(name), (object): Either.Either<Uint8Array, BadParameter> => {
          const policy = policies.get(key(name))
          const keyObject = keyStore.getActive(name)
          const secretObject = secretStore.getActive(name)
          if (latestIssued(object) === undefined || policy === undefined || !isManaged(keyObject) || !isManaged(secretObject)) {
            return Either.left(bad(`The certificate ${object.name} has no issued version to back up.`))
          }
          return Either.right(
            CertificateBackup.encode({ certificate: object, policy, key: keyObject!, secret: secretObject! })
          )
        })
      ),

    restore: (blob) =>
      Effect.flatMap(
        // Validating the blob (the key's RSA arithmetic, the chains) is the slow part; it needs no lock.
        Effect.flatMap(now, (at) => Effect.suspend(() => CertificateBackup.decode(blob, at))),
        (restored) =>
          atomically((): Either.Either<Certificate, ObjectConflict> => {
            const name = restored.certificate.name
            if (store.getDeleted(name) !== undefined) return Either.left(deletedButRecoverable(name))
            if (store.getActive(name) !== undefined) return Either.left(alreadyExists(name))
            if (keyStore.getActive(name) !== undefined || keyStore.getDeleted(name) !== undefined) {
              return Either.left(nameTaken(name, "key"))
            }
            if (secretStore.getActive(name) !== undefined || secretStore.getDeleted(name) !== undefined) {
              return Either.left(nameTaken(name, "secret"))
            }
            store.insert(restored.certificate)
            keyStore.insert(restored.key)
            secretStore.insert(restored.secret)
            policies.set(key(name), restored.policy)
            operations.delete(key(name))
            scheduled.delete(key(name))
            return Either.right(view(restored.certificate, current(restored.certificate)))
          })
      ),

    list: (includePending) =>
      atomically(() =>
        Either.right(store.listActive().flatMap((object) => {
          const issued = latestIssued(object)
          if (issued !== undefined) return [view(object, issued)]
          return includePending ? [view(object, ObjectStore.latest(object))] : []
        }))
      ),

    listVersions: (name) =>
      atomically(() => {
        const object = store.getActive(name)
        return Either.right(
          object === undefined
            ? []
            : ObjectStore.sortedVersions(object).filter(isIssued).map((version) => view(object, version))
        )
      }),

    listDeleted: atomically(() => Either.right(store.listDeleted().map(deletedView))),

    getContacts: atomically(() => {
      const contacts = contactsMap.get("contacts")
      return contacts === undefined ? Either.left(contactsNotFound()) : Either.right(contacts)
    }),

    setContacts: (list) =>
      atomically(() => {
        contactsMap.set("contacts", list)
        return Either.right(list)
      }),

    deleteContacts: atomically(() => {
      const previous = contactsMap.get("contacts")
      if (previous === undefined) return Either.left(contactsNotFound())
      contactsMap.delete("contacts")
      return Either.right(previous)
    }),

    getIssuer: (name) =>
      atomically(() => {
        const issuer = issuers.get(key(name))
        return issuer === undefined ? Either.left(issuerNotFound()) : Either.right(issuer)
      }),

    setIssuer: (name, input) =>
      atomically((at) => {
        if (input.provider === undefined || input.provider === "") {
          return Either.left(bad("An issuer needs a provider."))
        }
        const existing = issuers.get(key(name))
        const issuer: Issuer = {
          name: existing?.name ?? name,
          provider: input.provider,
          accountId: input.accountId,
          password: input.password,
          organizationId: input.organizationId,
          administrators: input.administrators,
          enabled: input.enabled ?? true,
          created: existing?.created ?? at,
          updated: at
        }
        issuers.set(key(name), issuer)
        return Either.right(issuer)
      }),

    updateIssuer: (name, input) =>
      atomically((at) => {
        const existing = issuers.get(key(name))
        if (existing === undefined) return Either.left(issuerNotFound())
        const issuer: Issuer = {
          ...existing,
          provider: input.provider !== undefined && input.provider !== "" ? input.provider : existing.provider,
          accountId: input.accountId ?? existing.accountId,
          password: input.password ?? existing.password,
          organizationId: input.organizationId ?? existing.organizationId,
          administrators: input.administrators ?? existing.administrators,
          enabled: input.enabled ?? existing.enabled,
          updated: at
        }
        issuers.set(key(name), issuer)
        return Either.right(issuer)
      }),

    deleteIssuer: (name) =>
      atomically(() => {
        const existing = issuers.get(key(name))
        if (existing === undefined) return Either.left(issuerNotFound())
        issuers.delete(key(name))
        return Either.right(existing)
      }),

    listIssuers: atomically(() =>
      Either.right(
        [...issuers.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, issuer]) => issuer)
      )
    ),

    completeDue
  }
}
