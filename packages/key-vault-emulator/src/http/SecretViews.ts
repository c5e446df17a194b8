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
import { MAX_TIMESTAMP_SECONDS } from "@effect-azure/key-vault/wire/Rules"
import * as Redacted from "effect/Redacted"
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
 * @category models
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
 * @category constructors
 */
export const bundle = (context: ViewContext, secret: Secret, withValue: boolean): SecretBundle => ({
  ...metadata(context, secret, true),
  value: withValue ? secret.secret.value : undefined
})

/**
 * A list item: metadata only; the id carries the version in version lists and not in the secret list.
 *
 * @since 0.1.0
 * @category constructors
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
 * @category constructors
 */
export const deletedBundle = (context: ViewContext, deleted: DeletedSecret): DeletedSecretBundle => ({
  ...metadata(context, deleted, true),
  ...deletion(context, deleted)
})

/**
 * A deleted-list item: version-less id, metadata and deletion dates.
 *
 * @since 0.1.0
 * @category constructors
 */
export const deletedItem = (context: ViewContext, deleted: DeletedSecret): DeletedSecretItem => ({
  ...metadata(context, deleted, false),
  ...deletion(context, deleted)
})

// `UnixSeconds` encoding, or `null` when the schema would refuse the date (then the caller takes the schema path and
// gets the same failure the schema gives).
const unixSeconds = (date: Date | undefined): number | undefined | null => {
  if (date === undefined) return undefined
  const seconds = Math.floor(date.getTime() / 1000)
  return seconds >= 0 && seconds <= MAX_TIMESTAMP_SECONDS ? seconds : null
}

/**
 * `bundle` already in wire form: the JSON `Schema.encode(SecretBundle)` produces (same keys, same order), built
 * directly. Get and set answer with it on every call, and walking the schema cost more than the rest of the
 * handler. `undefined` when a timestamp is out of the schema's range: the caller then encodes with the schema.
 * A test holds it equal to the schema's encoding.
 *
 * @since 0.1.0
 * @category constructors
 */
export const encodedBundle = (
  context: ViewContext,
  { name, secret }: Secret,
  withValue: boolean
): Record<string, unknown> | undefined => {
  const nbf = unixSeconds(secret.notBefore)
  const exp = unixSeconds(secret.expires)
  const created = unixSeconds(secret.created)
  const updated = unixSeconds(secret.updated)
  if (nbf === null || exp === null || created === null || updated === null) return undefined
  return {
    value: withValue ? Redacted.value(secret.value) : undefined,
    id: format(context.origin, "secrets", name, secret.version),
    contentType: secret.contentType,
    attributes: {
      enabled: secret.enabled,
      nbf,
      exp,
      created,
      updated,
      recoverableDays: context.engine.recoverableDays,
      recoveryLevel: context.engine.recoveryLevel
    },
    tags: secret.tags,
    managed: secret.managed ? true : undefined
  }
}
