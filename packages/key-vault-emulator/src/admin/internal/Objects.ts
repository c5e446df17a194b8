/**
 * A vault's objects as the admin API shows them: names, versions and attributes, never a value (a secret's value
 * only through `reveal`).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type { VaultEngine } from "../../engine/VaultEngine.js"
import { DEFAULT_LIMITS, DEFAULT_WINDOW_MILLIS, type ThrottleSettings } from "../../faults/Throttle.js"

/** @internal */
export interface VersionAttributes {
  readonly version: string
  readonly enabled: boolean
  readonly notBefore: Date | null
  readonly expires: Date | null
  readonly created: Date
  readonly updated: Date
  readonly tags: Readonly<Record<string, string>> | null
}

/** @internal */
export interface SecretVersionView extends VersionAttributes {
  readonly contentType: string | null
  /** Backs a certificate (its lifetime is the certificate's). */
  readonly managed: boolean
}

/** @internal */
export interface KeyVersionView extends VersionAttributes {
  readonly kty: string
  readonly keyOps: ReadonlyArray<string>
  readonly exportable: boolean
  readonly managed: boolean
}

/** @internal */
export interface CertificateVersionView extends VersionAttributes {
  /** Issuance not complete yet (no certificate). */
  readonly pending: boolean
  /** SHA-1 thumbprint (`x5t`), hex; `null` while pending. */
  readonly thumbprint: string | null
}

/** @internal */
export interface ObjectView<V> {
  readonly name: string
  /** The id of the version a version-less read gets. */
  readonly latest: string
  /** By creation time (versions created in the same millisecond in no particular order). */
  readonly versions: ReadonlyArray<V>
}

/** @internal */
export interface DeletedView {
  readonly name: string
  readonly deletedDate: Date
  readonly scheduledPurgeDate: Date
}

/** @internal */
export interface VaultObjects {
  readonly vault: string
  readonly secrets: ReadonlyArray<ObjectView<SecretVersionView>>
  readonly keys: ReadonlyArray<ObjectView<KeyVersionView>>
  readonly certificates: ReadonlyArray<ObjectView<CertificateVersionView>>
  readonly deleted: {
    readonly secrets: ReadonlyArray<DeletedView>
    readonly keys: ReadonlyArray<DeletedView>
    readonly certificates: ReadonlyArray<DeletedView>
  }
}

/**
 * What a vault without a throttle reports.
 *
 * @internal
 */
export const THROTTLE_OFF: ThrottleSettings = {
  enabled: false,
  limits: DEFAULT_LIMITS,
  windowMillis: DEFAULT_WINDOW_MILLIS,
  retryAfter: false
}

interface Attributed {
  readonly version: string
  readonly enabled: boolean
  readonly notBefore: Date | undefined
  readonly expires: Date | undefined
  readonly created: Date
  readonly updated: Date
  readonly tags: Readonly<Record<string, string>> | undefined
}

const attributes = (v: Attributed): VersionAttributes => ({
  version: v.version,
  enabled: v.enabled,
  notBefore: v.notBefore ?? null,
  expires: v.expires ?? null,
  created: v.created,
  updated: v.updated,
  tags: v.tags ?? null
})

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")

/**
 * How many live objects of each kind (latest versions, pending certificates included).
 *
 * @internal
 */
export const counts = (engine: VaultEngine) =>
  Effect.all({
    secrets: Effect.map(engine.secrets.list, (all) => all.length),
    keys: Effect.map(engine.keys.list, (all) => all.length),
    certificates: Effect.map(engine.certificates.list(true), (all) => all.length)
  })

/**
 * Every object with all its versions, and the deleted ones. Run it under the emulator's clock.
 *
 * @internal
 */
export const list = (vault: string, engine: VaultEngine): Effect.Effect<VaultObjects> =>
  Effect.gen(function*() {
    const secrets = yield* Effect.forEach(yield* engine.secrets.list, (latest) =>
      Effect.map(engine.secrets.listVersions(latest.name), (versions) => ({
        name: latest.name,
        latest: latest.secret.version,
        versions: versions.map(({ secret }): SecretVersionView => ({
          ...attributes(secret),
          contentType: secret.contentType ?? null,
          managed: secret.managed
        }))
      })))
    const keys = yield* Effect.forEach(yield* engine.keys.list, (latest) =>
      Effect.map(engine.keys.listVersions(latest.name), (versions) => ({
        name: latest.name,
        latest: latest.key.version,
        versions: versions.map(({ key }): KeyVersionView => ({
          ...attributes(key),
          kty: key.kty,
          keyOps: key.keyOps,
          exportable: key.exportable,
          managed: key.managed
        }))
      })))
    const certificates = yield* Effect.forEach(yield* engine.certificates.list(true), (latest) =>
      Effect.map(engine.certificates.listVersions(latest.name), (issued) => {
        // A certificate whose first issuance is pending has no issued version yet: show the pending one.
        const versions = issued.length === 0 ? [latest] : issued
        return {
          name: latest.name,
          latest: latest.certificate.version,
          versions: versions.map(({ certificate }): CertificateVersionView => ({
            ...attributes(certificate),
            pending: certificate.chain === undefined,
            thumbprint: certificate.thumbprint === undefined ? null : hex(certificate.thumbprint)
          }))
        }
      }))
    const deleted = yield* Effect.all({
      secrets: engine.secrets.listDeleted,
      keys: engine.keys.listDeleted,
      certificates: engine.certificates.listDeleted
    })
    const bin = (items: ReadonlyArray<DeletedView>): ReadonlyArray<DeletedView> =>
      items.map(({ deletedDate, name, scheduledPurgeDate }) => ({ name, deletedDate, scheduledPurgeDate }))
    return {
      vault,
      secrets,
      keys,
      certificates,
      deleted: { secrets: bin(deleted.secrets), keys: bin(deleted.keys), certificates: bin(deleted.certificates) }
    }
  })

/**
 * A live secret's value: the latest version, or the one named (any case). `undefined` when there is none.
 *
 * @internal
 */
export const reveal = (
  engine: VaultEngine,
  name: string,
  version: string | undefined
): Effect.Effect<{ readonly name: string; readonly version: string; readonly value: Redacted.Redacted<string> } | undefined> =>
  Effect.map(
    version === undefined || version === ""
      ? Effect.map(engine.secrets.list, (all) => all.find((secret) => secret.name.toLowerCase() === name.toLowerCase()))
      : Effect.map(engine.secrets.listVersions(name), (all) => all.find(({ secret }) => secret.version === version.toLowerCase())),
    (wanted) =>
      wanted === undefined ? undefined : { name: wanted.name, version: wanted.secret.version, value: wanted.secret.value }
  )
