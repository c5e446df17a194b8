/**
 * Engine certificate records as wire objects (the decoded side of the shared schemas in `CertificateWire`).
 * Identifiers are built from the request's origin: a certificate's `kid` and `sid` point at its managed key and
 * secret, which share its name and version; the policy's id is `<certificate>/policy`, the operation's
 * `<certificate>/pending`.
 *
 * A pending version (not issued yet) has no `kid`, `sid`, `cer`, `x5t` or `contentType`, as the service answers it.
 * Issuer credentials are answered without the password.
 *
 * @since 0.1.0
 */
import type {
  CertificateAttributes,
  CertificateBundle as WireBundle,
  CertificateItem as WireItem,
  CertificateOperation as WireOperation,
  CertificatePolicy as WirePolicy,
  Contacts as WireContacts,
  DeletedCertificateBundle as WireDeletedBundle,
  DeletedCertificateItem as WireDeletedItem,
  IssuerBundle as WireIssuer
} from "@effect-azure/key-vault/wire/CertificateWire"
import { format } from "@effect-azure/key-vault/wire/Identifier"
import type {
  Certificate,
  CertificateOperation,
  CertificateVersion,
  Contact,
  DeletedCertificate,
  Issuer
} from "../engine/certificates/CertificateVersion.js"
import { isIssued } from "../engine/certificates/CertificateVersion.js"
import type { CertificatePolicy } from "../engine/certificates/Policy.js"
import * as Policy from "../engine/certificates/Policy.js"
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

const attributes = (context: ViewContext, version: CertificateVersion): CertificateAttributes => ({
  enabled: version.enabled,
  nbf: version.notBefore,
  exp: version.expires,
  created: version.created,
  updated: version.updated,
  recoveryLevel: context.engine.recoveryLevel,
  recoverableDays: context.engine.recoverableDays
})

/**
 * The certificate's identifier without a version.
 *
 * @since 0.1.0
 * @category constructors
 */
export const certificateId = (context: ViewContext, name: string): string =>
  format(context.origin, "certificates", name)

/**
 * A policy with its id.
 *
 * @since 0.1.0
 * @category constructors
 */
export const policy = (context: ViewContext, name: string, value: CertificatePolicy): WirePolicy => ({
  id: `${certificateId(context, name)}/policy`,
  ...Policy.toWire(value)
})

/**
 * A certificate version: ids, the DER certificate and thumbprint once issued, attributes, tags and the policy.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bundle = (context: ViewContext, { certificate, name, policy: value }: Certificate): WireBundle => {
  const issued = isIssued(certificate)
  return {
    id: format(context.origin, "certificates", name, certificate.version),
    kid: issued ? format(context.origin, "keys", name, certificate.version) : undefined,
    sid: issued ? format(context.origin, "secrets", name, certificate.version) : undefined,
    x5t: certificate.thumbprint,
    cer: certificate.chain?.[0],
    contentType: issued ? certificate.contentType : undefined,
    attributes: attributes(context, certificate),
    tags: certificate.tags,
    policy: value === undefined ? undefined : policy(context, name, value),
    preserveCertOrder: certificate.preserveCertOrder
  }
}

/**
 * A list item: the id carries the version in version lists and not in the certificate list.
 *
 * @since 0.1.0
 * @category constructors
 */
export const item = (context: ViewContext, { certificate, name }: Certificate, withVersion: boolean): WireItem => ({
  id: format(context.origin, "certificates", name, withVersion ? certificate.version : undefined),
  attributes: attributes(context, certificate),
  tags: certificate.tags,
  x5t: certificate.thumbprint
})

const deletion = (context: ViewContext, deleted: DeletedCertificate) => ({
  recoveryId: format(context.origin, "deletedcertificates", deleted.name),
  deletedDate: deleted.deletedDate,
  scheduledPurgeDate: deleted.scheduledPurgeDate
})

/**
 * The answer to delete and get-deleted: the latest version with its policy, and the deletion dates.
 *
 * @since 0.1.0
 * @category constructors
 */
export const deletedBundle = (context: ViewContext, deleted: DeletedCertificate): WireDeletedBundle => ({
  ...bundle(context, deleted),
  ...deletion(context, deleted)
})

/**
 * A deleted-list item: version-less id, attributes, tags, thumbprint and deletion dates.
 *
 * @since 0.1.0
 * @category constructors
 */
export const deletedItem = (context: ViewContext, deleted: DeletedCertificate): WireDeletedItem => ({
  ...item(context, deleted, false),
  ...deletion(context, deleted)
})

/**
 * The pending operation. `target` (the certificate, without version) is present once it completed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const operation = (context: ViewContext, value: CertificateOperation): WireOperation => ({
  id: `${certificateId(context, value.name)}/pending`,
  issuer: {
    name: value.issuer.name,
    cty: value.issuer.certificateType,
    cert_transparency: value.issuer.certificateTransparency
  },
  csr: value.csr,
  cancellation_requested: value.cancellationRequested,
  status: value.status,
  status_details: value.statusDetails,
  target: value.status === "completed" ? certificateId(context, value.name) : undefined,
  request_id: value.requestId,
  preserveCertOrder: value.preserveCertOrder
})

/**
 * The vault's certificate contacts.
 *
 * @since 0.1.0
 * @category constructors
 */
export const contacts = (context: ViewContext, list: ReadonlyArray<Contact>): WireContacts => ({
  id: `${context.origin}/certificates/contacts`,
  contacts: list.map((contact) => ({ email: contact.email, name: contact.name, phone: contact.phone }))
})

const issuerId = (context: ViewContext, name: string): string => `${context.origin}/certificates/issuers/${name}`

/**
 * An issuer: provider, account id (never the password), organization and attributes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const issuer = (context: ViewContext, value: Issuer): WireIssuer => ({
  id: issuerId(context, value.name),
  provider: value.provider,
  credentials: value.accountId === undefined ? undefined : { account_id: value.accountId },
  org_details: value.organizationId === undefined && value.administrators === undefined ? undefined : {
    id: value.organizationId,
    admin_details: value.administrators?.map((admin) => ({
      first_name: admin.firstName,
      last_name: admin.lastName,
      email: admin.email,
      phone: admin.phone
    }))
  },
  attributes: { enabled: value.enabled, created: value.created, updated: value.updated }
})

/**
 * An issuer list item: `id` and `provider` only, as the service lists them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const issuerItem = (context: ViewContext, value: Issuer): { readonly id: string; readonly provider: string } => ({
  id: issuerId(context, value.name),
  provider: value.provider
})
