/**
 * Wire schemas for secrets (Key Vault REST API 2025-07-01). Decoded, a secret value is a `Redacted<string>`;
 * timestamps are `Date`s; the encoded side is exactly the JSON the service speaks.
 *
 * Never put a refinement inside `Schema.Redacted`: a failing refinement would print the value in the ParseError.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Base64UrlBytes, BaseAttributesFields, ListResult, Tags, UnixSeconds } from "./Common.js"

/**
 * A secret's attributes: the fields every object's attributes share.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SecretAttributes = Schema.Struct(BaseAttributesFields).annotations({ identifier: "SecretAttributes" })

/**
 * Decoded `SecretAttributes`.
 *
 * @since 0.1.0
 * @category models
 */
export type SecretAttributes = typeof SecretAttributes.Type

const secretMetadataFields = {
  id: Schema.optional(Schema.String),
  contentType: Schema.optional(Schema.String),
  attributes: Schema.optional(SecretAttributes),
  tags: Schema.optional(Tags),
  managed: Schema.optional(Schema.Boolean)
}

const deletionFields = {
  recoveryId: Schema.optional(Schema.String),
  deletedDate: Schema.optional(UnixSeconds),
  scheduledPurgeDate: Schema.optional(UnixSeconds)
}

/**
 * A secret with its value: the answer to get, set, update, recover and restore.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SecretBundle = Schema.Struct({
  value: Schema.optional(Schema.Redacted(Schema.String)),
  ...secretMetadataFields,
  kid: Schema.optional(Schema.String),
  previousVersion: Schema.optional(Schema.String)
}).annotations({ identifier: "SecretBundle" })

/**
 * A decoded `SecretBundle`; its value is `Redacted`.
 *
 * @since 0.1.0
 * @category models
 */
export type SecretBundle = typeof SecretBundle.Type

/**
 * A deleted secret: the answer to delete and get-deleted.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DeletedSecretBundle = Schema.Struct({
  ...SecretBundle.fields,
  ...deletionFields
}).annotations({ identifier: "DeletedSecretBundle" })

/**
 * A decoded `DeletedSecretBundle`.
 *
 * @since 0.1.0
 * @category models
 */
export type DeletedSecretBundle = typeof DeletedSecretBundle.Type

/**
 * A list item: metadata only, never a value.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SecretItem = Schema.Struct(secretMetadataFields).annotations({ identifier: "SecretItem" })

/**
 * A decoded `SecretItem`.
 *
 * @since 0.1.0
 * @category models
 */
export type SecretItem = typeof SecretItem.Type

/**
 * A deleted-secret list item: metadata plus `recoveryId`, `deletedDate` and `scheduledPurgeDate`, never a value.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DeletedSecretItem = Schema.Struct({
  ...secretMetadataFields,
  ...deletionFields
}).annotations({ identifier: "DeletedSecretItem" })

/**
 * A decoded `DeletedSecretItem`.
 *
 * @since 0.1.0
 * @category models
 */
export type DeletedSecretItem = typeof DeletedSecretItem.Type

/**
 * A page of `GET /secrets` (and `GET /secrets/{name}/versions`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const SecretListResult = ListResult(SecretItem).annotations({ identifier: "SecretListResult" })

/**
 * A page of `GET /deletedsecrets`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DeletedSecretListResult = ListResult(DeletedSecretItem).annotations({
  identifier: "DeletedSecretListResult"
})

/**
 * Attributes a caller may send (the read-only ones are ignored by the service).
 *
 * @since 0.1.0
 * @category schemas
 */
export const SecretAttributesInput = Schema.Struct({
  enabled: Schema.optional(Schema.Boolean),
  nbf: Schema.optional(UnixSeconds),
  exp: Schema.optional(UnixSeconds)
}).annotations({ identifier: "SecretAttributesInput" })

/**
 * Body of `PUT /secrets/{name}`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SecretSetParameters = Schema.Struct({
  value: Schema.Redacted(Schema.String),
  tags: Schema.optional(Tags),
  contentType: Schema.optional(Schema.String),
  attributes: Schema.optional(SecretAttributesInput)
}).annotations({ identifier: "SecretSetParameters" })

/**
 * Decoded `SecretSetParameters`; the value is `Redacted`.
 *
 * @since 0.1.0
 * @category models
 */
export type SecretSetParameters = typeof SecretSetParameters.Type

/**
 * Body of `PATCH /secrets/{name}/{version}`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SecretUpdateParameters = Schema.Struct({
  contentType: Schema.optional(Schema.String),
  attributes: Schema.optional(SecretAttributesInput),
  tags: Schema.optional(Tags)
}).annotations({ identifier: "SecretUpdateParameters" })

/**
 * Decoded `SecretUpdateParameters`.
 *
 * @since 0.1.0
 * @category models
 */
export type SecretUpdateParameters = typeof SecretUpdateParameters.Type

/**
 * Answer of `POST /secrets/{name}/backup`: an opaque blob, base64url on the wire.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BackupSecretResult = Schema.Struct({
  value: Base64UrlBytes
}).annotations({ identifier: "BackupSecretResult" })

/**
 * Body of `POST /secrets/restore`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SecretRestoreParameters = Schema.Struct({
  value: Base64UrlBytes
}).annotations({ identifier: "SecretRestoreParameters" })
