/**
 * The key model users see, built from the wire bundles: parsed identifiers, `Date`s, the public JWK with
 * `Uint8Array` members. Private JWK members never enter this model, even if a vault were to send them.
 *
 * @since 0.1.0
 */
import * as Properties from "../internal/Properties.js"
import type * as KeyWire from "../wire/KeyWire.js"

/**
 * The public half of a JSON Web Key, as the vault returns it. RSA keys carry `n` and `e`; EC keys `crv`, `x`, `y`.
 *
 * @since 0.1.0
 * @category models
 */
export interface PublicJsonWebKey {
  /** The key identifier, with version. */
  readonly kid: string | undefined
  /** `RSA`, `RSA-HSM`, `EC`, `EC-HSM`, ... */
  readonly kty: string
  /** Operations the vault allows with this key (`key_ops`). */
  readonly keyOps: ReadonlyArray<string>
  readonly n: Uint8Array | undefined
  readonly e: Uint8Array | undefined
  readonly crv: string | undefined
  readonly x: Uint8Array | undefined
  readonly y: Uint8Array | undefined
}

/**
 * The policy under which an exportable key may be released (`data` is the encoded policy document).
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyReleasePolicy {
  readonly contentType: string | undefined
  readonly immutable: boolean | undefined
  readonly data: Uint8Array | undefined
}

/**
 * Everything about a key but its key material.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyProperties {
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
  /** Whether the private key may be exported under its release policy. */
  readonly exportable: boolean | undefined
  readonly hsmPlatform: string | undefined
  readonly tags: Readonly<Record<string, string>>
  /** True when the vault manages the key's lifetime (it backs a certificate). */
  readonly managed: boolean
  readonly recoveryLevel: string | undefined
  readonly recoverableDays: number | undefined
  readonly releasePolicy: KeyReleasePolicy | undefined
}

/**
 * A key: its public JWK and properties.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyVaultKey {
  readonly name: string
  /** The identifier with version (`https://vault/keys/name/version`). */
  readonly id: string
  readonly keyType: string
  readonly keyOperations: ReadonlyArray<string>
  readonly key: PublicJsonWebKey
  readonly properties: KeyProperties
}

/**
 * What the deleted bin knows about a key. `key` is present for `getDeleted` / `delete`, absent for list items.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeletedKey {
  readonly name: string
  readonly id: string
  readonly keyType: string | undefined
  readonly keyOperations: ReadonlyArray<string>
  readonly key: PublicJsonWebKey | undefined
  readonly properties: KeyProperties
  /** The URL to recover or purge it with. */
  readonly recoveryId: string | undefined
  readonly deletedOn: Date | undefined
  readonly scheduledPurgeDate: Date | undefined
}

/**
 * The two lifetime actions of a rotation policy.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyRotationActionType = "Rotate" | "Notify"

/**
 * One lifetime action: exactly one trigger, an ISO 8601 duration after creation or before expiry.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyRotationLifetimeAction {
  readonly action: KeyRotationActionType
  readonly timeAfterCreate?: string | undefined
  readonly timeBeforeExpiry?: string | undefined
}

/**
 * A key's rotation policy.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyRotationPolicy {
  readonly id: string | undefined
  readonly lifetimeActions: ReadonlyArray<KeyRotationLifetimeAction>
  /** ISO 8601 duration that sets the expiry of each new version (e.g. `P90D`). */
  readonly expiresIn: string | undefined
  readonly createdOn: Date | undefined
  readonly updatedOn: Date | undefined
}

type WireMetadata = Pick<KeyWire.KeyBundle, "attributes" | "tags" | "managed" | "release_policy">

const releasePolicyFromWire = (wire: KeyWire.KeyBundle["release_policy"]): KeyReleasePolicy | undefined =>
  wire === undefined ? undefined : { contentType: wire.contentType, immutable: wire.immutable, data: wire.data }

/**
 * Builds properties from any key wire shape (bundle, item, deleted). `fallback` supplies vault and name when the id is
 * missing or unparsable, which a conforming vault never sends; `kid` overrides the wire's (a bundle's key carries it).
 *
 * @since 0.1.0
 * @category constructors
 */
export const propertiesFromWire = (
  wire: WireMetadata & { readonly kid?: string | undefined },
  fallback: { readonly vaultUrl: string; readonly name: string },
  kid: string | undefined = wire.kid
): KeyProperties => {
  const attributes = wire.attributes
  // `Object.assign` rather than a spread: see `Secret.propertiesFromWire`.
  return Object.assign(Properties.fromWire("keys", { id: kid, attributes, tags: wire.tags }, fallback), {
    exportable: attributes?.exportable,
    hsmPlatform: attributes?.hsmPlatform,
    managed: wire.managed ?? false,
    releasePolicy: releasePolicyFromWire(wire.release_policy)
  })
}

/**
 * Keeps only the public members of a wire JWK: whatever the vault sends, private parts are dropped here.
 *
 * @since 0.1.0
 * @category constructors
 */
export const publicJwkFromWire = (jwk: KeyWire.JsonWebKey): PublicJsonWebKey => ({
  kid: jwk.kid,
  kty: jwk.kty ?? "",
  keyOps: jwk.key_ops ?? [],
  n: jwk.n,
  e: jwk.e,
  crv: jwk.crv,
  x: jwk.x,
  y: jwk.y
})

/**
 * Builds a key from a key bundle.
 *
 * @since 0.1.0
 * @category constructors
 */
export const keyFromWire = (
  bundle: KeyWire.KeyBundle,
  fallback: { readonly vaultUrl: string; readonly name: string }
): KeyVaultKey => {
  const jwk = publicJwkFromWire(bundle.key ?? {})
  const properties = propertiesFromWire(bundle, fallback, jwk.kid)
  return {
    name: properties.name,
    id: properties.id,
    keyType: jwk.kty,
    keyOperations: jwk.keyOps,
    key: jwk,
    properties
  }
}

/**
 * Builds a deleted key from a deleted bundle or item.
 *
 * @since 0.1.0
 * @category constructors
 */
export const deletedFromWire = (
  wire: WireMetadata & {
    readonly key?: KeyWire.JsonWebKey | undefined
    readonly kid?: string | undefined
    readonly recoveryId?: string | undefined
    readonly deletedDate?: Date | undefined
    readonly scheduledPurgeDate?: Date | undefined
  },
  fallback: { readonly vaultUrl: string; readonly name: string }
): DeletedKey => {
  const jwk = wire.key === undefined ? undefined : publicJwkFromWire(wire.key)
  const properties = propertiesFromWire(wire, fallback, jwk?.kid ?? wire.kid)
  return {
    name: properties.name,
    id: properties.id,
    keyType: jwk?.kty,
    keyOperations: jwk?.keyOps ?? [],
    key: jwk,
    properties,
    recoveryId: wire.recoveryId,
    deletedOn: wire.deletedDate,
    scheduledPurgeDate: wire.scheduledPurgeDate
  }
}

const actionTypeFromWire = (type: string | undefined): KeyRotationActionType | undefined => {
  const lower = type?.toLowerCase()
  return lower === "rotate" ? "Rotate" : lower === "notify" ? "Notify" : undefined
}

/**
 * Builds a rotation policy from the wire. Actions of a type this client does not know are dropped rather than
 * failing the read, so a future action type never breaks `getRotationPolicy`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const rotationPolicyFromWire = (wire: KeyWire.KeyRotationPolicy): KeyRotationPolicy => ({
  id: wire.id,
  lifetimeActions: (wire.lifetimeActions ?? []).flatMap((item): ReadonlyArray<KeyRotationLifetimeAction> => {
    const action = actionTypeFromWire(item.action?.type)
    if (action === undefined) return []
    return [{
      action,
      ...(item.trigger?.timeAfterCreate === undefined ? {} : { timeAfterCreate: item.trigger.timeAfterCreate }),
      ...(item.trigger?.timeBeforeExpiry === undefined ? {} : { timeBeforeExpiry: item.trigger.timeBeforeExpiry })
    }]
  }),
  expiresIn: wire.attributes?.expiryTime,
  createdOn: wire.attributes?.created,
  updatedOn: wire.attributes?.updated
})
