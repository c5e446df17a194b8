/**
 * The certificate models users see, built from the wire bundles: parsed identifiers, `Date`s, DER bytes, the policy
 * as one flat object, the pending operation with its CSR (bytes and PEM), issuers with their password `Redacted`, and
 * the parsed view of an X.509 certificate.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import { DecodeError } from "../errors/KeyVaultError.js"
import type * as CertificateWire from "../wire/CertificateWire.js"
import * as Identifier from "../wire/Identifier.js"
import * as Properties from "../internal/Properties.js"
import * as Policy from "./CertificatePolicy.js"
import * as Pem from "./internal/Pem.js"
import * as X509View from "./internal/X509View.js"

/**
 * Everything about a certificate version but its DER and policy: what list items carry.
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificateProperties {
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
  readonly recoveryLevel: string | undefined
  readonly recoverableDays: number | undefined
  readonly tags: Readonly<Record<string, string>>
  /** The SHA-1 thumbprint (`x5t`), as bytes. */
  readonly x509Thumbprint: Uint8Array | undefined
  /** The SHA-1 thumbprint as upper-case hex, as the portal and Windows show it. */
  readonly x509ThumbprintHex: string | undefined
  readonly preserveCertOrder: boolean | undefined
}

/**
 * A certificate version: its DER (`cer`), the ids of the key and secret that back it, and its policy when the vault
 * sent it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Certificate {
  readonly name: string
  /** The identifier with version (`https://vault/certificates/name/version`). */
  readonly id: string
  /** The managed key (`kid`): sign or decrypt with it through `Cryptography`. */
  readonly keyId: string | undefined
  /** The managed secret (`sid`) holding certificate and private key: read it with `downloadPkcs12` / `downloadPem`. */
  readonly secretId: string | undefined
  /** The X.509 certificate, DER. */
  readonly cer: Uint8Array
  /** The secret's content type: `application/x-pkcs12` or `application/x-pem-file`. */
  readonly contentType: string | undefined
  readonly policy: Policy.CertificatePolicy | undefined
  readonly properties: CertificateProperties
}

/**
 * What the deleted bin knows about a certificate. `cer`, ids and policy are present for `delete` and `getDeleted`,
 * absent for list items.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeletedCertificate {
  readonly name: string
  readonly id: string
  readonly keyId: string | undefined
  readonly secretId: string | undefined
  readonly cer: Uint8Array | undefined
  readonly policy: Policy.CertificatePolicy | undefined
  readonly properties: CertificateProperties
  /** The URL to recover or purge it with. */
  readonly recoveryId: string | undefined
  readonly deletedOn: Date | undefined
  readonly scheduledPurgeDate: Date | undefined
}

/**
 * The error of a failed certificate operation.
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificateOperationErrorDetail {
  readonly code: string | undefined
  readonly message: string | undefined
  readonly innerError: CertificateOperationErrorDetail | undefined
}

/**
 * The status of a certificate operation, as the vault reports it (kept open: the vault may add one).
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateOperationStatus = "inProgress" | "completed" | "failed" | "cancelled" | (string & {})

/**
 * The pending creation of a certificate. For issuer `Unknown` it stays `inProgress` with a `csr` for an external CA
 * to sign, until the signed chain is merged.
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificateOperation {
  /** `https://vault/certificates/name/pending`. */
  readonly id: string
  readonly vaultUrl: string
  readonly name: string
  readonly issuerName: string | undefined
  readonly certificateType: string | undefined
  readonly certificateTransparency: boolean | undefined
  /** The PKCS#10 certificate signing request, DER. */
  readonly csr: Uint8Array | undefined
  /** The same request as PEM (`-----BEGIN CERTIFICATE REQUEST-----`), as CAs take it. */
  readonly csrPem: string | undefined
  readonly cancellationRequested: boolean
  readonly status: CertificateOperationStatus
  readonly statusDetails: string | undefined
  readonly error: CertificateOperationErrorDetail | undefined
  /** Where the result is, once completed: the certificate's identifier. */
  readonly target: string | undefined
  readonly requestId: string | undefined
  readonly preserveCertOrder: boolean | undefined
}

/**
 * A certificate contact of the vault (notified about expiring certificates).
 *
 * @since 0.1.0
 * @category models
 */
export interface Contact {
  readonly email: string | undefined
  readonly name: string | undefined
  readonly phone: string | undefined
}

/**
 * An administrator of the organization, as an issuer knows it.
 *
 * @since 0.1.0
 * @category models
 */
export interface AdministratorContact {
  readonly firstName: string | undefined
  readonly lastName: string | undefined
  readonly email: string | undefined
  readonly phone: string | undefined
}

/**
 * What a list of issuers shows of each.
 *
 * @since 0.1.0
 * @category models
 */
export interface IssuerProperties {
  /** `https://vault/certificates/issuers/name`. */
  readonly id: string
  readonly name: string
  readonly provider: string | undefined
}

/**
 * A certificate issuer: a CA account the vault orders certificates from.
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificateIssuer extends IssuerProperties {
  readonly accountId: string | undefined
  /** The account's password or key, when the vault returns it; prints as `<redacted>`. */
  readonly password: Redacted.Redacted<string> | undefined
  readonly organizationId: string | undefined
  readonly administratorContacts: ReadonlyArray<AdministratorContact>
  readonly enabled: boolean | undefined
  readonly createdOn: Date | undefined
  readonly updatedOn: Date | undefined
}

/**
 * The subject alternative names of a parsed certificate. `others` keeps the kinds without a field of their own
 * (`othername:...`, `DirName:...`), as OpenSSL prints them.
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificateSubjectAlternativeNames {
  readonly dnsNames: ReadonlyArray<string>
  readonly emails: ReadonlyArray<string>
  readonly ipAddresses: ReadonlyArray<string>
  readonly uris: ReadonlyArray<string>
  readonly others: ReadonlyArray<string>
}

/**
 * The parsed view of an X.509 certificate (node:crypto's parser).
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificateDetails {
  /** One line, most significant attribute first as encoded: `C=NL, O=Contoso, CN=example.com`. */
  readonly subject: string
  readonly issuer: string
  /** Upper-case hex. */
  readonly serialNumber: string
  /** Upper-case hex, no separators: what Windows and the portal call the thumbprint (`x5t` as hex). */
  readonly sha1Thumbprint: string
  readonly sha256Thumbprint: string
  readonly notBefore: Date
  readonly notAfter: Date
  readonly subjectAlternativeNames: CertificateSubjectAlternativeNames
  /** `RSA` or `EC` (another algorithm by node:crypto's name). */
  readonly keyType: string
  /** RSA modulus length in bits. */
  readonly keySize: number | undefined
  /** EC curve: `P-256`, `P-384`, `P-521`, `P-256K`. */
  readonly keyCurveName: string | undefined
  readonly isCertificateAuthority: boolean
  /** Subject and issuer are the same name. */
  readonly selfIssued: boolean
  readonly der: Uint8Array
}

/**
 * A certificate's secret with its private key, as applications consume it.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateSecret =
  | {
    readonly format: "pkcs12"
    /** The PFX, no password (as the vault stores it): `tls.createSecureContext({ pfx, passphrase: "" })`. */
    readonly value: Redacted.Redacted<Uint8Array>
    readonly secretId: string
  }
  | {
    readonly format: "pem"
    /** PKCS#8 private key and the certificate chain: `tls.createSecureContext({ key: pem, cert: pem })`. */
    readonly value: Redacted.Redacted<string>
    readonly secretId: string
  }

// ---------------------------------------------------------------------------------------------------------------
// From the wire
// ---------------------------------------------------------------------------------------------------------------

const EMPTY = new Uint8Array(0)

const hex = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString("hex").toUpperCase()

type WireMetadata = Pick<CertificateWire.CertificateBundle, "id" | "attributes" | "tags" | "x5t" | "preserveCertOrder">

/**
 * Builds properties from any certificate wire shape (bundle, item, deleted). `fallback` supplies vault and name when
 * the id is missing or unparsable, which a conforming vault never sends.
 *
 * @since 0.1.0
 * @category constructors
 */
export const propertiesFromWire = (
  wire: WireMetadata,
  fallback: { readonly vaultUrl: string; readonly name: string }
): CertificateProperties => {
  // `Object.assign` rather than a spread: see `Secret.propertiesFromWire`.
  return Object.assign(Properties.fromWire("certificates", wire, fallback), {
    x509Thumbprint: wire.x5t,
    x509ThumbprintHex: hex(wire.x5t),
    preserveCertOrder: wire.preserveCertOrder
  })
}

/**
 * Builds a certificate from a bundle.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromWire = (
  bundle: CertificateWire.CertificateBundle,
  fallback: { readonly vaultUrl: string; readonly name: string }
): Certificate => {
  const properties = propertiesFromWire(bundle, fallback)
  return {
    name: properties.name,
    id: properties.id,
    keyId: bundle.kid,
    secretId: bundle.sid,
    cer: bundle.cer ?? EMPTY,
    contentType: bundle.contentType,
    policy: bundle.policy === undefined ? undefined : Policy.fromWire(bundle.policy),
    properties
  }
}

/**
 * Builds a deleted certificate from a deleted bundle or item.
 *
 * @since 0.1.0
 * @category constructors
 */
export const deletedFromWire = (
  wire: CertificateWire.DeletedCertificateBundle | CertificateWire.DeletedCertificateItem,
  fallback: { readonly vaultUrl: string; readonly name: string }
): DeletedCertificate => {
  const bundle = wire as CertificateWire.DeletedCertificateBundle
  const properties = propertiesFromWire(bundle, fallback)
  return {
    name: properties.name,
    id: properties.id,
    keyId: bundle.kid,
    secretId: bundle.sid,
    cer: bundle.cer,
    policy: bundle.policy === undefined ? undefined : Policy.fromWire(bundle.policy),
    properties,
    recoveryId: bundle.recoveryId,
    deletedOn: bundle.deletedDate,
    scheduledPurgeDate: bundle.scheduledPurgeDate
  }
}

const errorFromWire = (
  wire: CertificateWire.OperationError | null | undefined
): CertificateOperationErrorDetail | undefined =>
  wire === undefined || wire === null
    ? undefined
    : { code: wire.code, message: wire.message, innerError: errorFromWire(wire.innererror) }

/**
 * Builds an operation from the wire.
 *
 * @since 0.1.0
 * @category constructors
 */
export const operationFromWire = (
  wire: CertificateWire.CertificateOperation,
  fallback: { readonly vaultUrl: string; readonly name: string }
): CertificateOperation => {
  const id = wire.id ?? `${Identifier.format(fallback.vaultUrl, "certificates", fallback.name)}/pending`
  const parsed = Option.getOrUndefined(Identifier.parse(id))
  return {
    id,
    vaultUrl: parsed?.vaultUrl ?? fallback.vaultUrl,
    name: parsed?.name ?? fallback.name,
    issuerName: wire.issuer?.name,
    certificateType: wire.issuer?.cty,
    certificateTransparency: wire.issuer?.cert_transparency,
    csr: wire.csr,
    csrPem: wire.csr === undefined ? undefined : Pem.encode("CERTIFICATE REQUEST", wire.csr),
    cancellationRequested: wire.cancellation_requested ?? false,
    status: wire.status ?? "inProgress",
    statusDetails: wire.status_details,
    error: errorFromWire(wire.error),
    target: wire.target,
    requestId: wire.request_id,
    preserveCertOrder: wire.preserveCertOrder
  }
}

/**
 * Builds contacts from the wire.
 *
 * @since 0.1.0
 * @category constructors
 */
export const contactsFromWire = (wire: CertificateWire.Contacts): ReadonlyArray<Contact> =>
  (wire.contacts ?? []).map((c) => ({ email: c.email, name: c.name, phone: c.phone }))

// `https://vault/certificates/issuers/{name}`: the last path segment.
const issuerNameOf = (id: string | undefined, fallback: string): string => {
  if (id === undefined) return fallback
  const segments = id.split("?")[0]!.split("/").filter((s) => s.length > 0)
  return segments[segments.length - 1] ?? fallback
}

/**
 * Builds issuer properties from a list item.
 *
 * @since 0.1.0
 * @category constructors
 */
export const issuerPropertiesFromWire = (
  wire: CertificateWire.IssuerBundle | typeof CertificateWire.CertificateIssuerItem.Type,
  fallback: { readonly vaultUrl: string; readonly name: string }
): IssuerProperties => ({
  id: wire.id ?? `${fallback.vaultUrl}/certificates/issuers/${fallback.name}`,
  name: issuerNameOf(wire.id, fallback.name),
  provider: wire.provider
})

/**
 * Builds an issuer from the wire.
 *
 * @since 0.1.0
 * @category constructors
 */
export const issuerFromWire = (
  wire: CertificateWire.IssuerBundle,
  fallback: { readonly vaultUrl: string; readonly name: string }
): CertificateIssuer => ({
  ...issuerPropertiesFromWire(wire, fallback),
  accountId: wire.credentials?.account_id,
  password: wire.credentials?.pwd,
  organizationId: wire.org_details?.id,
  administratorContacts: (wire.org_details?.admin_details ?? []).map((a) => ({
    firstName: a.first_name,
    lastName: a.last_name,
    email: a.email,
    phone: a.phone
  })),
  enabled: wire.attributes?.enabled,
  createdOn: wire.attributes?.created,
  updatedOn: wire.attributes?.updated
})

// ---------------------------------------------------------------------------------------------------------------
// The parsed view
// ---------------------------------------------------------------------------------------------------------------

/**
 * Parses an X.509 certificate (DER bytes, or PEM text) with node:crypto: subject, issuer, SANs, serial, thumbprints,
 * validity and key. Fails with a `DecodeError` when the bytes are not a certificate.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseX509 = (
  certificate: Uint8Array | string,
  operation: string = "Certificate.parseX509"
): Either.Either<CertificateDetails, DecodeError> =>
  Either.mapLeft(X509View.parse(certificate), (message) => new DecodeError({ operation, message }))

/**
 * The parsed view of a certificate's `cer`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const details = (certificate: Certificate): Either.Either<CertificateDetails, DecodeError> =>
  certificate.cer.length === 0
    ? Either.left(new DecodeError({ operation: "Certificate.details", message: "the certificate has no cer" }))
    : parseX509(certificate.cer, "Certificate.details")

/**
 * DER bytes armoured as PEM (`CERTIFICATE` for a certificate, `CERTIFICATE REQUEST` for a CSR).
 *
 * @since 0.1.0
 * @category parsing
 */
export const toPem = (der: Uint8Array, label: "CERTIFICATE" | "CERTIFICATE REQUEST" = "CERTIFICATE"): string =>
  Pem.encode(label, der)
