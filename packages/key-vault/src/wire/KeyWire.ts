/**
 * Wire schemas for keys and cryptography (Key Vault REST API 2025-07-01). JWK members are base64url bytes on the wire
 * and `Uint8Array` in code; private members (`d`, `dp`, `dq`, `qi`, `p`, `q`, `k`) decode into `Redacted` so they
 * never print.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Base64UrlBytes, BaseAttributesFields, ListResult, Tags, UnixSeconds } from "./Common.js"

const bytes = Schema.optional(Base64UrlBytes)
const privateBytes = Schema.optional(Schema.Redacted(Base64UrlBytes))

/**
 * A JSON Web Key as Key Vault speaks it. `n`/`e`/`x`/`y` are unsigned big-endian without a leading zero byte;
 * EC coordinates are padded to the curve size.
 *
 * @since 0.1.0
 * @category schemas
 */
export const JsonWebKey = Schema.Struct({
  kid: Schema.optional(Schema.String),
  kty: Schema.optional(Schema.String),
  key_ops: Schema.optional(Schema.Array(Schema.String)),
  n: bytes,
  e: bytes,
  d: privateBytes,
  dp: privateBytes,
  dq: privateBytes,
  qi: privateBytes,
  p: privateBytes,
  q: privateBytes,
  k: privateBytes,
  key_hsm: bytes,
  crv: Schema.optional(Schema.String),
  x: bytes,
  y: bytes
}).annotations({ identifier: "JsonWebKey" })

/**
 * A decoded `JsonWebKey`.
 *
 * @since 0.1.0
 * @category models
 */
export type JsonWebKey = typeof JsonWebKey.Type

/**
 * A key's attributes: the shared ones plus `exportable` and `hsmPlatform`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyAttributes = Schema.Struct({
  ...BaseAttributesFields,
  exportable: Schema.optional(Schema.Boolean),
  hsmPlatform: Schema.optional(Schema.String)
}).annotations({ identifier: "KeyAttributes" })

/**
 * Decoded `KeyAttributes`.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyAttributes = typeof KeyAttributes.Type

/**
 * Attributes a caller may send.
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyAttributesInput = Schema.Struct({
  enabled: Schema.optional(Schema.Boolean),
  nbf: Schema.optional(UnixSeconds),
  exp: Schema.optional(UnixSeconds),
  exportable: Schema.optional(Schema.Boolean)
}).annotations({ identifier: "KeyAttributesInput" })

/**
 * The policy under which an exportable key may be released.
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyReleasePolicy = Schema.Struct({
  contentType: Schema.optional(Schema.String),
  immutable: Schema.optional(Schema.Boolean),
  data: bytes
}).annotations({ identifier: "KeyReleasePolicy" })

const keyMetadataFields = {
  attributes: Schema.optional(KeyAttributes),
  tags: Schema.optional(Tags),
  managed: Schema.optional(Schema.Boolean)
}

const deletionFields = {
  recoveryId: Schema.optional(Schema.String),
  deletedDate: Schema.optional(UnixSeconds),
  scheduledPurgeDate: Schema.optional(UnixSeconds)
}

/**
 * A key: its public JWK (private members never leave the vault) plus attributes.
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyBundle = Schema.Struct({
  key: Schema.optional(JsonWebKey),
  ...keyMetadataFields,
  release_policy: Schema.optional(KeyReleasePolicy)
}).annotations({ identifier: "KeyBundle" })

/**
 * A decoded `KeyBundle`.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyBundle = typeof KeyBundle.Type

/**
 * A deleted key: the key bundle plus `recoveryId`, `deletedDate` and `scheduledPurgeDate`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DeletedKeyBundle = Schema.Struct({
  ...KeyBundle.fields,
  ...deletionFields
}).annotations({ identifier: "DeletedKeyBundle" })

/**
 * A decoded `DeletedKeyBundle`.
 *
 * @since 0.1.0
 * @category models
 */
export type DeletedKeyBundle = typeof DeletedKeyBundle.Type

/**
 * A list item: `kid` (without version for `GET /keys`) and metadata.
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyItem = Schema.Struct({
  kid: Schema.optional(Schema.String),
  ...keyMetadataFields
}).annotations({ identifier: "KeyItem" })

/**
 * A decoded `KeyItem`.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyItem = typeof KeyItem.Type

/**
 * A deleted-key list item: the key item plus `recoveryId`, `deletedDate` and `scheduledPurgeDate`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DeletedKeyItem = Schema.Struct({
  ...KeyItem.fields,
  ...deletionFields
}).annotations({ identifier: "DeletedKeyItem" })

/**
 * A decoded `DeletedKeyItem`.
 *
 * @since 0.1.0
 * @category models
 */
export type DeletedKeyItem = typeof DeletedKeyItem.Type

/**
 * A page of `GET /keys` (and `GET /keys/{name}/versions`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyListResult = ListResult(KeyItem).annotations({ identifier: "KeyListResult" })

/**
 * A page of `GET /deletedkeys`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DeletedKeyListResult = ListResult(DeletedKeyItem).annotations({ identifier: "DeletedKeyListResult" })

/**
 * Body of `POST /keys/{name}/create`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyCreateParameters = Schema.Struct({
  kty: Schema.String,
  key_size: Schema.optional(Schema.Int),
  public_exponent: Schema.optional(Schema.Int),
  key_ops: Schema.optional(Schema.Array(Schema.String)),
  attributes: Schema.optional(KeyAttributesInput),
  tags: Schema.optional(Tags),
  crv: Schema.optional(Schema.String),
  release_policy: Schema.optional(KeyReleasePolicy)
}).annotations({ identifier: "KeyCreateParameters" })

/**
 * Decoded `KeyCreateParameters`.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyCreateParameters = typeof KeyCreateParameters.Type

/**
 * Body of `PUT /keys/{name}` (import).
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyImportParameters = Schema.Struct({
  Hsm: Schema.optional(Schema.Boolean),
  key: JsonWebKey,
  attributes: Schema.optional(KeyAttributesInput),
  tags: Schema.optional(Tags),
  release_policy: Schema.optional(KeyReleasePolicy)
}).annotations({ identifier: "KeyImportParameters" })

/**
 * Decoded `KeyImportParameters`.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyImportParameters = typeof KeyImportParameters.Type

/**
 * Body of `PATCH /keys/{name}/{version}`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyUpdateParameters = Schema.Struct({
  key_ops: Schema.optional(Schema.Array(Schema.String)),
  attributes: Schema.optional(KeyAttributesInput),
  tags: Schema.optional(Tags),
  release_policy: Schema.optional(KeyReleasePolicy)
}).annotations({ identifier: "KeyUpdateParameters" })

/**
 * Decoded `KeyUpdateParameters`.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyUpdateParameters = typeof KeyUpdateParameters.Type

/**
 * Answer of `POST /keys/{name}/backup`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BackupKeyResult = Schema.Struct({ value: Base64UrlBytes }).annotations({ identifier: "BackupKeyResult" })

/**
 * Body of `POST /keys/restore`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyRestoreParameters = Schema.Struct({ value: Base64UrlBytes }).annotations({
  identifier: "KeyRestoreParameters"
})

/**
 * Body of encrypt / decrypt / wrapkey / unwrapkey.
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyOperationsParameters = Schema.Struct({
  alg: Schema.String,
  value: Base64UrlBytes,
  iv: bytes,
  aad: bytes,
  tag: bytes
}).annotations({ identifier: "KeyOperationsParameters" })

/**
 * Decoded `KeyOperationsParameters`.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyOperationsParameters = typeof KeyOperationsParameters.Type

/**
 * Answer of encrypt / decrypt / wrapkey / unwrapkey / sign: the result bytes and the `kid` that did the work.
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyOperationResult = Schema.Struct({
  kid: Schema.optional(Schema.String),
  value: Base64UrlBytes,
  iv: bytes,
  tag: bytes,
  aad: bytes
}).annotations({ identifier: "KeyOperationResult" })

/**
 * A decoded `KeyOperationResult`.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyOperationResult = typeof KeyOperationResult.Type

/**
 * Body of `POST .../sign`: `value` is the digest (the vault never hashes again).
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeySignParameters = Schema.Struct({
  alg: Schema.String,
  value: Base64UrlBytes
}).annotations({ identifier: "KeySignParameters" })

/**
 * Body of `POST .../verify`: `value` is the signature.
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyVerifyParameters = Schema.Struct({
  alg: Schema.String,
  digest: Base64UrlBytes,
  value: Base64UrlBytes
}).annotations({ identifier: "KeyVerifyParameters" })

/**
 * Answer of `POST .../verify`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyVerifyResult = Schema.Struct({
  value: Schema.Boolean
}).annotations({ identifier: "KeyVerifyResult" })

/**
 * A lifetime action of a rotation policy: `Rotate` or `Notify`, triggered by ISO 8601 durations.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LifetimeAction = Schema.Struct({
  trigger: Schema.optional(Schema.Struct({
    timeAfterCreate: Schema.optional(Schema.String),
    timeBeforeExpiry: Schema.optional(Schema.String)
  })),
  action: Schema.optional(Schema.Struct({ type: Schema.optional(Schema.String) }))
}).annotations({ identifier: "LifetimeAction" })

/**
 * `GET|PUT /keys/{name}/rotationpolicy`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyRotationPolicy = Schema.Struct({
  id: Schema.optional(Schema.String),
  lifetimeActions: Schema.optional(Schema.Array(LifetimeAction)),
  attributes: Schema.optional(Schema.Struct({
    expiryTime: Schema.optional(Schema.String),
    created: Schema.optional(UnixSeconds),
    updated: Schema.optional(UnixSeconds)
  }))
}).annotations({ identifier: "KeyRotationPolicy" })

/**
 * A decoded `KeyRotationPolicy`.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyRotationPolicy = typeof KeyRotationPolicy.Type

/**
 * Body of `POST /rng`: 1..128 bytes.
 *
 * @since 0.1.0
 * @category schemas
 */
export const GetRandomBytesRequest = Schema.Struct({ count: Schema.Int }).annotations({
  identifier: "GetRandomBytesRequest"
})

/**
 * Answer of `POST /rng`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RandomBytes = Schema.Struct({ value: Base64UrlBytes }).annotations({ identifier: "RandomBytes" })
