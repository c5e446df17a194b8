/**
 * Engine records as wire objects (the decoded side of the shared schemas). Identifiers are built here from the
 * request's origin, so one engine answers correctly under any host name.
 *
 * Which responses carry a value follows the service's examples: set and get do; update, recover, restore, delete,
 * get-deleted and every list item do not.
 *
 * @since 0.1.0
 */
import { format } from "@effect-azure/key-vault/wire/Identifier"
import type {
  DeletedSecretBundle,
  DeletedSecretItem,
  SecretAttributes,
  SecretBundle,
  SecretItem
} from "@effect-azure/key-vault/wire/SecretWire"
import type { DeletedSecret, Secret, SecretVersion } from "../engine/SecretVersion.js"
import type { VaultEngine } from "../engine/VaultEngine.js"

/**
 * What every view needs: the origin ids are built on, and the vault's recovery settings.
 *
 * @since 0.1.0
 */
export interface ViewContext {
  readonly origin: string
  readonly engine: VaultEngine
}

const attributes = (context: ViewContext, secret: SecretVersion): SecretAttributes => ({
  enabled: secret.enabled,
  nbf: secret.notBefore,
  exp: secret.expires,
  created: secret.created,
  updated: secret.updated,
  recoveryLevel: context.engine.recoveryLevel,
  recoverableDays: context.engine.recoverableDays
})

const metadata = (context: ViewContext, { name, secret }: Secret, withVersion: boolean) => ({
  id: format(context.origin, "secrets", name, withVersion ? secret.version : undefined),
  contentType: secret.contentType,
  attributes: attributes(context, secret),
  tags: secret.tags,
  // The service only sends `managed` for certificate-backed secrets.
  managed: secret.managed ? true : undefined
})

/**
 * A secret version, with its value when `withValue`.
 *
 * @since 0.1.0
 */
export const bundle = (context: ViewContext, secret: Secret, withValue: boolean): SecretBundle => ({
  ...metadata(context, secret, true),
  value: withValue ? secret.secret.value : undefined
})

/**
 * A list item: metadata only; the id carries the version in version lists and not in the secret list.
 *
 * @since 0.1.0
 */
export const item = (context: ViewContext, secret: Secret, withVersion: boolean): SecretItem =>
  metadata(context, secret, withVersion)

const deletion = (context: ViewContext, deleted: DeletedSecret) => ({
  recoveryId: format(context.origin, "deletedsecrets", deleted.name),
  deletedDate: deleted.deletedDate,
  scheduledPurgeDate: deleted.scheduledPurgeDate
})

/**
 * The answer to delete and get-deleted: the latest version's metadata (no value) and the deletion dates.
 *
 * @since 0.1.0
 */
export const deletedBundle = (context: ViewContext, deleted: DeletedSecret): DeletedSecretBundle => ({
  ...metadata(context, deleted, true),
  ...deletion(context, deleted)
})

/**
 * A deleted-list item: version-less id, metadata and deletion dates.
 *
 * @since 0.1.0
 */
export const deletedItem = (context: ViewContext, deleted: DeletedSecret): DeletedSecretItem => ({
  ...metadata(context, deleted, false),
  ...deletion(context, deleted)
})
