/**
 * Wire schemas for certificates, contacts and issuers (Key Vault REST API 2025-07-01). The encoded side is exactly the
 * JSON the service speaks (snake_case where the service uses it); decoded, timestamps are `Date`s, binary fields are
 * `Uint8Array`s, and what must never print (the PEM or PKCS#12 being imported, its password, an issuer's password)
 * is `Redacted`.
 *
 * Encodings differ by field, as the service has them: `cer`, `csr` and the merge chain (`x5c`) are *standard* base64
 * (`format: byte`); `x5t` and backup blobs are base64url without padding.
 *
 * Never put a refinement inside `Schema.Redacted`: a failing refinement would print the value in the ParseError.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Base64UrlBytes, BaseAttributesFields, ListResult, Tags, UnixSeconds } from "./Common.js"

/**
 * Binary data as standard base64 on the wire (`cer`, `csr`, `x5c`), padded when encoded. Decoding tolerates missing
 * padding and the URL-safe alphabet, because some producers use them.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Base64Bytes: Schema.Schema<Uint8Array, string> = Schema.transformOrFail(
  Schema.String,
  Schema.Uint8ArrayFromSelf,
  {
    strict: true,
    decode: (s, _, ast) => {
      const compact = s.replace(/[\r\n]/g, "")
      return /^[A-Za-z0-9+/_-]*={0,2}$/.test(compact)
        ? Either.mapLeft(
          Encoding.decodeBase64Url(compact.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")),
          () => new ParseResult.Type(ast, s, "not base64")
        )
        : ParseResult.fail(new ParseResult.Type(ast, s, "not base64"))
    },
    encode: (bytes) => ParseResult.succeed(Encoding.encodeBase64(bytes))
  }
).annotations({ identifier: "Base64Bytes" })

/**
 * The attributes of a certificate. `created`, `updated`, `recoverableDays` and `recoveryLevel` are read-only.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CertificateAttributes = Schema.Struct(BaseAttributesFields).annotations({
  identifier: "CertificateAttributes"
})

/**
 * Decoded `CertificateAttributes`.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateAttributes = typeof CertificateAttributes.Type

/**
 * Attributes a caller may send.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CertificateAttributesInput = Schema.Struct({
  enabled: Schema.optional(Schema.Boolean),
  nbf: Schema.optional(UnixSeconds),
  exp: Schema.optional(UnixSeconds)
}).annotations({ identifier: "CertificateAttributesInput" })

/**
 * Decoded `CertificateAttributesInput`.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateAttributesInput = typeof CertificateAttributesInput.Type

/**
 * The key behind a certificate: `kty` `RSA`, `RSA-HSM`, `EC`, `EC-HSM`; `key_size` for RSA, `crv` for EC. Kept open
 * (any string) on decode, so a new key type never breaks a read.
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyProperties = Schema.Struct({
  exportable: Schema.optional(Schema.Boolean),
  kty: Schema.optional(Schema.String),
  key_size: Schema.optional(Schema.Number),
  reuse_key: Schema.optional(Schema.Boolean),
  crv: Schema.optional(Schema.String)
}).annotations({ identifier: "CertificateKeyProperties" })

/**
 * The secret behind a certificate: its content type, `application/x-pkcs12` or `application/x-pem-file`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SecretProperties = Schema.Struct({
  contentType: Schema.optional(Schema.String)
}).annotations({ identifier: "CertificateSecretProperties" })

/**
 * Subject alternative names. `uris` and `ipAddresses` are new in 2025-07-01.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SubjectAlternativeNames = Schema.Struct({
  emails: Schema.optional(Schema.Array(Schema.String)),
  dns_names: Schema.optional(Schema.Array(Schema.String)),
  upns: Schema.optional(Schema.Array(Schema.String)),
  uris: Schema.optional(Schema.Array(Schema.String)),
  ipAddresses: Schema.optional(Schema.Array(Schema.String))
}).annotations({ identifier: "SubjectAlternativeNames" })

/**
 * The X.509 part of a policy.
 *
 * @since 0.1.0
 * @category schemas
 */
export const X509CertificateProperties = Schema.Struct({
  subject: Schema.optional(Schema.String),
  ekus: Schema.optional(Schema.Array(Schema.String)),
  sans: Schema.optional(SubjectAlternativeNames),
  key_usage: Schema.optional(Schema.Array(Schema.String)),
  validity_months: Schema.optional(Schema.Number)
}).annotations({ identifier: "X509CertificateProperties" })

/**
 * When a lifetime action fires: exactly one of the two.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Trigger = Schema.Struct({
  lifetime_percentage: Schema.optional(Schema.Number),
  days_before_expiry: Schema.optional(Schema.Number)
}).annotations({ identifier: "CertificateLifetimeTrigger" })

/**
 * One lifetime action: `AutoRenew` or `EmailContacts`, and its trigger.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LifetimeAction = Schema.Struct({
  trigger: Schema.optional(Trigger),
  action: Schema.optional(Schema.Struct({ action_type: Schema.optional(Schema.String) }))
}).annotations({ identifier: "CertificateLifetimeAction" })

/**
 * The issuer of a policy or an operation: `Self`, `Unknown`, or the name of an issuer object.
 *
 * @since 0.1.0
 * @category schemas
 */
export const IssuerParameters = Schema.Struct({
  name: Schema.optional(Schema.String),
  cty: Schema.optional(Schema.String),
  cert_transparency: Schema.optional(Schema.Boolean)
}).annotations({ identifier: "IssuerParameters" })

/**
 * A certificate's management policy (`id` is read-only).
 *
 * @since 0.1.0
 * @category schemas
 */
export const CertificatePolicy = Schema.Struct({
  id: Schema.optional(Schema.String),
  key_props: Schema.optional(KeyProperties),
  secret_props: Schema.optional(SecretProperties),
  x509_props: Schema.optional(X509CertificateProperties),
  lifetime_actions: Schema.optional(Schema.Array(LifetimeAction)),
  issuer: Schema.optional(IssuerParameters),
  attributes: Schema.optional(CertificateAttributes)
}).annotations({ identifier: "CertificatePolicy" })

/**
 * A decoded `CertificatePolicy`.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificatePolicy = typeof CertificatePolicy.Type

const deletionFields = {
  recoveryId: Schema.optional(Schema.String),
  deletedDate: Schema.optional(UnixSeconds),
  scheduledPurgeDate: Schema.optional(UnixSeconds)
}

const itemFields = {
  id: Schema.optional(Schema.String),
  attributes: Schema.optional(CertificateAttributes),
  tags: Schema.optional(Tags),
  x5t: Schema.optional(Base64UrlBytes)
}

/**
 * A certificate: its DER (`cer`), thumbprint, the ids of its key and secret, policy and attributes. The answer to
 * get, import, merge, update, recover and restore.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CertificateBundle = Schema.Struct({
  ...itemFields,
  kid: Schema.optional(Schema.String),
  sid: Schema.optional(Schema.String),
  policy: Schema.optional(CertificatePolicy),
  cer: Schema.optional(Base64Bytes),
  contentType: Schema.optional(Schema.String),
  preserveCertOrder: Schema.optional(Schema.Boolean)
}).annotations({ identifier: "CertificateBundle" })

/**
 * A decoded `CertificateBundle`.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateBundle = typeof CertificateBundle.Type

/**
 * A deleted certificate: the answer to delete and get-deleted.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DeletedCertificateBundle = Schema.Struct({
  ...CertificateBundle.fields,
  ...deletionFields
}).annotations({ identifier: "DeletedCertificateBundle" })

/**
 * A decoded `DeletedCertificateBundle`.
 *
 * @since 0.1.0
 * @category models
 */
export type DeletedCertificateBundle = typeof DeletedCertificateBundle.Type

/**
 * A list item: id (without version in `GET /certificates`), attributes, tags and thumbprint.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CertificateItem = Schema.Struct(itemFields).annotations({ identifier: "CertificateItem" })

/**
 * A decoded `CertificateItem`.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateItem = typeof CertificateItem.Type

/**
 * A deleted-certificate list item: the certificate item plus `recoveryId`, `deletedDate` and `scheduledPurgeDate`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DeletedCertificateItem = Schema.Struct({
  ...itemFields,
  ...deletionFields
}).annotations({ identifier: "DeletedCertificateItem" })

/**
 * A decoded `DeletedCertificateItem`.
 *
 * @since 0.1.0
 * @category models
 */
export type DeletedCertificateItem = typeof DeletedCertificateItem.Type

/**
 * A page of `GET /certificates` (and `GET /certificates/{name}/versions`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const CertificateListResult = ListResult(CertificateItem).annotations({ identifier: "CertificateListResult" })

/**
 * A page of `GET /deletedcertificates`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DeletedCertificateListResult = ListResult(DeletedCertificateItem).annotations({
  identifier: "DeletedCertificateListResult"
})

/**
 * The error of a failed certificate operation: the same shape as the error envelope's detail.
 *
 * @since 0.1.0
 * @category models
 */
export interface OperationError {
  readonly code?: string | undefined
  readonly message?: string | undefined
  readonly innererror?: OperationError | null | undefined
}

/**
 * The schema of `OperationError`, recursive through `innererror`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OperationError: Schema.Schema<OperationError> = Schema.Struct({
  code: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String),
  innererror: Schema.optional(Schema.NullOr(Schema.suspend((): Schema.Schema<OperationError> => OperationError)))
}).annotations({ identifier: "CertificateOperationError" })

/**
 * The pending creation of a certificate (`/certificates/{name}/pending`). `status` is `inProgress`, `completed`,
 * `failed` or `cancelled` (kept open); `csr` is the PKCS#10 request (DER) an external CA signs for issuer `Unknown`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CertificateOperation = Schema.Struct({
  id: Schema.optional(Schema.String),
  issuer: Schema.optional(IssuerParameters),
  csr: Schema.optional(Base64Bytes),
  cancellation_requested: Schema.optional(Schema.Boolean),
  status: Schema.optional(Schema.String),
  status_details: Schema.optional(Schema.String),
  error: Schema.optional(Schema.NullOr(OperationError)),
  target: Schema.optional(Schema.String),
  preserveCertOrder: Schema.optional(Schema.Boolean),
  request_id: Schema.optional(Schema.String)
}).annotations({ identifier: "CertificateOperation" })

/**
 * A decoded `CertificateOperation`.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateOperation = typeof CertificateOperation.Type

/**
 * Body of `POST /certificates/{name}/create`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CertificateCreateParameters = Schema.Struct({
  policy: Schema.optional(CertificatePolicy),
  attributes: Schema.optional(CertificateAttributesInput),
  tags: Schema.optional(Tags),
  preserveCertOrder: Schema.optional(Schema.Boolean)
}).annotations({ identifier: "CertificateCreateParameters" })

/**
 * Decoded `CertificateCreateParameters`.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateCreateParameters = typeof CertificateCreateParameters.Type

/**
 * Body of `POST /certificates/{name}/import`: `value` is the base64 PKCS#12, or the PEM text (certificate chain and
 * PKCS#8 private key) when the policy's `secret_props.contentType` is `application/x-pem-file`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CertificateImportParameters = Schema.Struct({
  value: Schema.Redacted(Schema.String),
  pwd: Schema.optional(Schema.Redacted(Schema.String)),
  policy: Schema.optional(CertificatePolicy),
  attributes: Schema.optional(CertificateAttributesInput),
  tags: Schema.optional(Tags),
  preserveCertOrder: Schema.optional(Schema.Boolean)
}).annotations({ identifier: "CertificateImportParameters" })

/**
 * Decoded `CertificateImportParameters`; `value` and `pwd` are `Redacted`.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateImportParameters = typeof CertificateImportParameters.Type

/**
 * Body of `PATCH /certificates/{name}/{version}`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CertificateUpdateParameters = Schema.Struct({
  policy: Schema.optional(CertificatePolicy),
  attributes: Schema.optional(CertificateAttributesInput),
  tags: Schema.optional(Tags)
}).annotations({ identifier: "CertificateUpdateParameters" })

/**
 * Decoded `CertificateUpdateParameters`.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateUpdateParameters = typeof CertificateUpdateParameters.Type

/**
 * Body of `PATCH /certificates/{name}/pending`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CertificateOperationUpdateParameter = Schema.Struct({
  cancellation_requested: Schema.Boolean
}).annotations({ identifier: "CertificateOperationUpdateParameter" })

/**
 * Body of `POST /certificates/{name}/pending/merge` (answered 201): the signed certificate, leaf first, then its chain.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CertificateMergeParameters = Schema.Struct({
  x5c: Schema.Array(Base64Bytes),
  attributes: Schema.optional(CertificateAttributesInput),
  tags: Schema.optional(Tags)
}).annotations({ identifier: "CertificateMergeParameters" })

/**
 * Decoded `CertificateMergeParameters`.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateMergeParameters = typeof CertificateMergeParameters.Type

/**
 * Answer of `POST /certificates/{name}/backup`: an opaque blob, base64url on the wire.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BackupCertificateResult = Schema.Struct({
  value: Base64UrlBytes
}).annotations({ identifier: "BackupCertificateResult" })

/**
 * Body of `POST /certificates/restore`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CertificateRestoreParameters = Schema.Struct({
  value: Base64UrlBytes
}).annotations({ identifier: "CertificateRestoreParameters" })

/**
 * A certificate contact.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Contact = Schema.Struct({
  email: Schema.optional(Schema.String),
  name: Schema.optional(Schema.String),
  phone: Schema.optional(Schema.String)
}).annotations({ identifier: "Contact" })

/**
 * The vault's certificate contacts: the answer of `GET|PUT|DELETE /certificates/contacts`, and the body of `PUT`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Contacts = Schema.Struct({
  id: Schema.optional(Schema.String),
  contacts: Schema.optional(Schema.Array(Contact))
}).annotations({ identifier: "Contacts" })

/**
 * Decoded `Contacts`.
 *
 * @since 0.1.0
 * @category models
 */
export type Contacts = typeof Contacts.Type

/**
 * An issuer's account with its provider. `pwd` is a credential: `Redacted`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const IssuerCredentials = Schema.Struct({
  account_id: Schema.optional(Schema.String),
  pwd: Schema.optional(Schema.Redacted(Schema.String))
}).annotations({ identifier: "IssuerCredentials" })

/**
 * An administrator of the organization, as the issuer knows it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AdministratorDetails = Schema.Struct({
  first_name: Schema.optional(Schema.String),
  last_name: Schema.optional(Schema.String),
  email: Schema.optional(Schema.String),
  phone: Schema.optional(Schema.String)
}).annotations({ identifier: "AdministratorDetails" })

/**
 * The organization, as the issuer knows it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OrganizationDetails = Schema.Struct({
  id: Schema.optional(Schema.String),
  admin_details: Schema.optional(Schema.Array(AdministratorDetails))
}).annotations({ identifier: "OrganizationDetails" })

/**
 * Issuer attributes (`created`, `updated` read-only).
 *
 * @since 0.1.0
 * @category schemas
 */
export const IssuerAttributes = Schema.Struct({
  enabled: Schema.optional(Schema.Boolean),
  created: Schema.optional(UnixSeconds),
  updated: Schema.optional(UnixSeconds)
}).annotations({ identifier: "IssuerAttributes" })

/**
 * A certificate issuer: the answer of `GET|PUT|PATCH|DELETE /certificates/issuers/{name}`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const IssuerBundle = Schema.Struct({
  id: Schema.optional(Schema.String),
  provider: Schema.optional(Schema.String),
  credentials: Schema.optional(IssuerCredentials),
  org_details: Schema.optional(OrganizationDetails),
  attributes: Schema.optional(IssuerAttributes)
}).annotations({ identifier: "IssuerBundle" })

/**
 * A decoded `IssuerBundle`; the credentials' `pwd` is `Redacted`.
 *
 * @since 0.1.0
 * @category models
 */
export type IssuerBundle = typeof IssuerBundle.Type

/**
 * Body of `PUT` (where `provider` is required) and `PATCH /certificates/issuers/{name}`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CertificateIssuerParameters = Schema.Struct({
  provider: Schema.optional(Schema.String),
  credentials: Schema.optional(IssuerCredentials),
  org_details: Schema.optional(OrganizationDetails),
  attributes: Schema.optional(Schema.Struct({ enabled: Schema.optional(Schema.Boolean) }))
}).annotations({ identifier: "CertificateIssuerParameters" })

/**
 * Decoded `CertificateIssuerParameters`; the credentials' `pwd` is `Redacted`.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateIssuerParameters = typeof CertificateIssuerParameters.Type

/**
 * An issuer list item: only `id` and `provider`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CertificateIssuerItem = Schema.Struct({
  id: Schema.optional(Schema.String),
  provider: Schema.optional(Schema.String)
}).annotations({ identifier: "CertificateIssuerItem" })

/**
 * A page of `GET /certificates/issuers`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CertificateIssuerListResult = ListResult(CertificateIssuerItem).annotations({
  identifier: "CertificateIssuerListResult"
})
