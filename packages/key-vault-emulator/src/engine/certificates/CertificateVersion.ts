/**
 * What the engine stores for certificates, and the records its operations answer with. As for secrets and keys,
 * identifiers are not stored: the HTTP app builds them from each request's origin.
 *
 * @since 0.1.0
 */
import type * as Redacted from "effect/Redacted"
import type { CertificatePolicy, IssuerParameters, SecretContentType } from "./Policy.js"

/**
 * One version of a certificate. A version is *pending* (no `chain` yet) from the create that started it until its
 * issuance completes (at once or after the issuance delay for `Self`, at the merge for `Unknown`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificateVersion {
  /** 32 lower-case hex characters; the certificate's key and secret versions carry the same id. */
  readonly version: string
  readonly created: Date
  readonly updated: Date
  readonly enabled: boolean
  /** The certificate's validity (an estimate from the policy while pending). */
  readonly notBefore: Date | undefined
  readonly expires: Date | undefined
  readonly tags: Readonly<Record<string, string>> | undefined
  /** The certificate and its chain, leaf first (DER); undefined while pending. */
  readonly chain: ReadonlyArray<Uint8Array> | undefined
  /** SHA-1 of the leaf (`x5t`); undefined while pending. */
  readonly thumbprint: Uint8Array | undefined
  /** The content type of the secret behind the version. */
  readonly contentType: SecretContentType
  readonly preserveCertOrder: boolean | undefined
}

/**
 * Whether a version has its certificate.
 *
 * @since 0.1.0
 * @category guards
 */
export const isIssued = (version: CertificateVersion): boolean => version.chain !== undefined

/**
 * A certificate version with its certificate's name (in the case of its first creation) and policy.
 *
 * @since 0.1.0
 * @category models
 */
export interface Certificate {
  readonly name: string
  readonly certificate: CertificateVersion
  readonly policy: CertificatePolicy | undefined
}

/**
 * A deleted certificate: its latest version and policy, and the deletion dates.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeletedCertificate extends Certificate {
  readonly deletedDate: Date
  readonly scheduledPurgeDate: Date
}

/**
 * The states of a pending operation.
 *
 * @since 0.1.0
 * @category models
 */
export type OperationStatus = "inProgress" | "completed" | "cancelled" | "failed"

/**
 * The creation operation of a certificate (`/certificates/{name}/pending`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificateOperation {
  readonly name: string
  readonly requestId: string
  readonly issuer: IssuerParameters
  /** The PKCS#10 request (DER) for the pending key. */
  readonly csr: Uint8Array
  readonly cancellationRequested: boolean
  readonly status: OperationStatus
  readonly statusDetails: string | undefined
  readonly preserveCertOrder: boolean | undefined
}

/**
 * A certificate contact of the vault.
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
export interface Administrator {
  readonly firstName: string | undefined
  readonly lastName: string | undefined
  readonly email: string | undefined
  readonly phone: string | undefined
}

/**
 * A certificate issuer object. The account password is kept for completeness and never answered.
 *
 * @since 0.1.0
 * @category models
 */
export interface Issuer {
  readonly name: string
  readonly provider: string
  readonly accountId: string | undefined
  readonly password: Redacted.Redacted<string> | undefined
  readonly organizationId: string | undefined
  readonly administrators: ReadonlyArray<Administrator> | undefined
  readonly enabled: boolean
  readonly created: Date
  readonly updated: Date
}
