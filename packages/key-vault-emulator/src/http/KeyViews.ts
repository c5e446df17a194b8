/**
 * Engine key records as wire objects (the decoded side of the shared schemas). `kid`s are built from the request's
 * origin. The JWK carries the public members only; private members exist in backup blobs and nowhere else.
 *
 * @since 0.1.0
 */
import type {
  DeletedKeyBundle,
  DeletedKeyItem,
  JsonWebKey,
  KeyAttributes,
  KeyBundle,
  KeyItem,
  KeyRotationPolicy
} from "@effect-azure/key-vault/wire/KeyWire"
import { format } from "@effect-azure/key-vault/wire/Identifier"
import * as KeyMaterial from "../engine/crypto/KeyMaterial.js"
import type { RotationPolicy } from "../engine/KeyRotationPolicy.js"
import type { DeletedKey, Key, KeyVersion } from "../engine/KeyVersion.js"
import type { VaultEngine } from "../engine/VaultEngine.js"

/**
 * What every view needs: the origin ids are built on, and the vault's recovery settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface ViewContext {
  readonly origin: string
  readonly engine: VaultEngine
}

/**
 * The versioned key identifier.
 *
 * @since 0.1.0
 * @category constructors
 */
export const kid = (context: ViewContext, key: Key): string =>
  format(context.origin, "keys", key.name, key.key.version)

/**
 * The public JWK of a version: `kid`, `kty` (as created: `RSA-HSM` stays `RSA-HSM`), `key_ops` (always present) and
 * `n`/`e` or `crv`/`x`/`y`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const jwk = (context: ViewContext, key: Key): JsonWebKey => ({
  kid: kid(context, key),
  kty: key.key.kty,
  key_ops: key.key.keyOps,
  ...KeyMaterial.publicJwk(key.key.material)
})

const attributes = (context: ViewContext, key: KeyVersion): KeyAttributes => ({
  enabled: key.enabled,
  nbf: key.notBefore,
  exp: key.expires,
  created: key.created,
  updated: key.updated,
  recoveryLevel: context.engine.recoveryLevel,
  recoverableDays: context.engine.recoverableDays,
  exportable: key.exportable
})

const metadata = (context: ViewContext, key: KeyVersion) => ({
  attributes: attributes(context, key),
  tags: key.tags,
  // The service only sends `managed` for certificate-backed keys.
  managed: key.managed ? true : undefined
})

const releasePolicy = (key: KeyVersion): KeyBundle["release_policy"] =>
  key.releasePolicy === undefined ? undefined : {
    contentType: key.releasePolicy.contentType,
    immutable: key.releasePolicy.immutable,
    data: key.releasePolicy.data
  }

/**
 * A key version with its public JWK.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bundle = (context: ViewContext, key: Key): KeyBundle => ({
  key: jwk(context, key),
  ...metadata(context, key.key),
  release_policy: releasePolicy(key.key)
})

/**
 * A list item: `kid` with the version in version lists, without it in the key list; never key material.
 *
 * @since 0.1.0
 * @category constructors
 */
export const item = (context: ViewContext, key: Key, withVersion: boolean): KeyItem => ({
  kid: format(context.origin, "keys", key.name, withVersion ? key.key.version : undefined),
  ...metadata(context, key.key)
})

const deletion = (context: ViewContext, deleted: DeletedKey) => ({
  recoveryId: format(context.origin, "deletedkeys", deleted.name),
  deletedDate: deleted.deletedDate,
  scheduledPurgeDate: deleted.scheduledPurgeDate
})

/**
 * The answer to delete and get-deleted: the latest version with its public JWK, and the deletion dates.
 *
 * @since 0.1.0
 * @category constructors
 */
export const deletedBundle = (context: ViewContext, deleted: DeletedKey): DeletedKeyBundle => ({
  ...bundle(context, deleted),
  ...deletion(context, deleted)
})

/**
 * A deleted-list item: version-less `kid`, metadata and deletion dates.
 *
 * @since 0.1.0
 * @category constructors
 */
export const deletedItem = (context: ViewContext, deleted: DeletedKey): DeletedKeyItem => ({
  ...item(context, deleted, false),
  ...deletion(context, deleted)
})

/**
 * A rotation policy: `id` is `<origin>/keys/<name>/rotationpolicy`. The default policy (never set) has no `id` and
 * empty attributes, as the service answers it (the SDKs document `id` as absent until a policy is set).
 *
 * @since 0.1.0
 * @category constructors
 */
export const rotationPolicy = (context: ViewContext, name: string, policy: RotationPolicy): KeyRotationPolicy => ({
  id: policy.created === undefined ? undefined : `${format(context.origin, "keys", name)}/rotationpolicy`,
  lifetimeActions: policy.lifetimeActions.map((action) => ({
    trigger: action.timeAfterCreate !== undefined
      ? { timeAfterCreate: action.timeAfterCreate }
      : { timeBeforeExpiry: action.timeBeforeExpiry },
    action: { type: action.type }
  })),
  attributes: {
    expiryTime: policy.expiryTime,
    created: policy.created,
    updated: policy.updated
  }
})
