/**
 * Certificate policies: the engine's model, the service's defaults, and the rules a policy must follow. A policy
 * arrives partial (create, import and `PATCH .../policy` send only what they change); `resolve` lays it over the
 * certificate's current policy (or the defaults) and checks the result, so every path stores a complete, valid
 * policy. Messages name the field and the rule, never a value beyond a short, clipped echo of an enum-like field.
 *
 * Defaults are the ones the service answers with: RSA 2048, exportable, not reusing the key, PKCS#12, EKUs server and
 * client authentication, key usage digital signature and key encipherment, 12 months, one lifetime action at 80 % of
 * the lifetime (`AutoRenew`, or `EmailContacts` for issuer `Unknown`, which cannot renew on its own), issuer `Unknown`.
 *
 * @since 0.1.0
 */
import type { KeyOperation } from "@effect-azure/key-vault/crypto/Algorithms"
import type { CertificatePolicy as WirePolicy } from "@effect-azure/key-vault/wire/CertificateWire"
import * as Either from "effect/Either"
import * as Net from "node:net"
import * as DistinguishedName from "./DistinguishedName.js"

/**
 * Key types a certificate's key can have (`-HSM` types are emulated in software, as for keys).
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateKeyType = "RSA" | "RSA-HSM" | "EC" | "EC-HSM"

/**
 * Curves a certificate's EC key can use. `P-256K` is refused: WebCrypto cannot sign with it, and the emulator signs
 * certificates and CSRs with WebCrypto.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateCurve = "P-256" | "P-384" | "P-521"

/**
 * The two forms of a certificate's secret.
 *
 * @since 0.1.0
 * @category models
 */
export type SecretContentType = "application/x-pkcs12" | "application/x-pem-file"

/**
 * The content type of a PKCS#12 (PFX) secret, base64 in the secret's value.
 *
 * @since 0.1.0
 * @category constants
 */
export const PKCS12: SecretContentType = "application/x-pkcs12"

/**
 * The content type of a PEM secret: the unencrypted PKCS#8 private key (when exportable) and the certificate chain.
 *
 * @since 0.1.0
 * @category constants
 */
export const PEM: SecretContentType = "application/x-pem-file"

/**
 * Whether a string is one of the two secret content types.
 *
 * @since 0.1.0
 * @category guards
 */
export const isSecretContentType = (value: string): value is SecretContentType => value === PKCS12 || value === PEM

/**
 * The X.509 key usages a policy may name, in the order of the KeyUsage bit string.
 *
 * @since 0.1.0
 * @category constants
 */
export const KEY_USAGES = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly"
] as const

/**
 * One of the X.509 key usages of `KEY_USAGES`.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyUsage = (typeof KEY_USAGES)[number]

/**
 * A lifetime action: what happens, and when (exactly one of the two triggers).
 *
 * @since 0.1.0
 * @category models
 */
export interface LifetimeAction {
  readonly action: "AutoRenew" | "EmailContacts"
  readonly lifetimePercentage: number | undefined
  readonly daysBeforeExpiry: number | undefined
}

/**
 * Subject alternative names, every list present (possibly empty).
 *
 * @since 0.1.0
 * @category models
 */
export interface SubjectAlternativeNames {
  readonly dnsNames: ReadonlyArray<string>
  readonly emails: ReadonlyArray<string>
  readonly upns: ReadonlyArray<string>
  readonly uris: ReadonlyArray<string>
  readonly ipAddresses: ReadonlyArray<string>
}

/**
 * The issuer: `Self`, `Unknown` or the name of an issuer object, and the provider hints the service stores.
 *
 * @since 0.1.0
 * @category models
 */
export interface IssuerParameters {
  readonly name: string
  readonly certificateType: string | undefined
  readonly certificateTransparency: boolean | undefined
}

/**
 * A complete, valid policy.
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificatePolicy {
  readonly keyType: CertificateKeyType
  /** RSA only. */
  readonly keySize: number | undefined
  /** EC only. */
  readonly curve: CertificateCurve | undefined
  readonly exportable: boolean
  readonly reuseKey: boolean
  readonly contentType: SecretContentType
  /** As given (`cn=MyCert` stays `cn=MyCert`); may be empty when there are subject alternative names. */
  readonly subject: string
  readonly sans: SubjectAlternativeNames
  readonly ekus: ReadonlyArray<string>
  readonly keyUsage: ReadonlyArray<KeyUsage>
  readonly validityMonths: number
  readonly lifetimeActions: ReadonlyArray<LifetimeAction>
  readonly issuer: IssuerParameters
  readonly enabled: boolean
  readonly created: Date
  readonly updated: Date
}

/**
 * A policy as the wire carries it (every field optional).
 *
 * @since 0.1.0
 * @category models
 */
export type PolicyInput = WirePolicy

/**
 * The issuer of a self-signed certificate, which the vault signs with the certificate's own key (matched
 * case-insensitively).
 *
 * @since 0.1.0
 * @category constants
 */
export const SELF = "Self"

/**
 * The issuer of a certificate an external CA signs: creation stops at a CSR and is finished by a merge.
 *
 * @since 0.1.0
 * @category constants
 */
export const UNKNOWN = "Unknown"

/**
 * Whether an issuer name is `Self` (any case).
 *
 * @since 0.1.0
 * @category guards
 */
export const isSelf = (issuer: string): boolean => issuer.toLowerCase() === "self"

/**
 * Whether an issuer name is `Unknown` (any case).
 *
 * @since 0.1.0
 * @category guards
 */
export const isUnknown = (issuer: string): boolean => issuer.toLowerCase() === "unknown"

/**
 * The longest validity a policy may ask for, in months (100 years).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_VALIDITY_MONTHS = 1200

/**
 * Each SAN list and the EKU list hold at most this many entries.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_LIST_ENTRIES = 100

const DEFAULT_EKUS: ReadonlyArray<string> = ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]
const DEFAULT_RSA_USAGE: ReadonlyArray<KeyUsage> = ["digitalSignature", "keyEncipherment"]
const DEFAULT_EC_USAGE: ReadonlyArray<KeyUsage> = ["digitalSignature"]
const DEFAULT_RSA_SIZE = 2048
const DEFAULT_CURVE: CertificateCurve = "P-256"
const DEFAULT_VALIDITY_MONTHS = 12
const DEFAULT_LIFETIME_PERCENTAGE = 80
const RSA_SIZES: ReadonlyArray<number> = [2048, 3072, 4096]
const CURVE_BITS: Readonly<Record<CertificateCurve, number>> = { "P-256": 256, "P-384": 384, "P-521": 521 }
const MAX_NAME_LENGTH = 255
const MAX_ECHOED = 32

const shown = (text: string): string => (text.length > MAX_ECHOED ? `${text.slice(0, MAX_ECHOED)}...` : text)

const EMPTY_SANS: SubjectAlternativeNames = { dnsNames: [], emails: [], upns: [], uris: [], ipAddresses: [] }

/**
 * Whether a key type is an RSA one.
 *
 * @since 0.1.0
 * @category guards
 */
export const isRsa = (keyType: CertificateKeyType): boolean => keyType === "RSA" || keyType === "RSA-HSM"

const isHsm = (keyType: CertificateKeyType): boolean => keyType.endsWith("-HSM")

/**
 * Whether the policy names no subject alternative name at all.
 *
 * @since 0.1.0
 * @category guards
 */
export const hasNoSans = (sans: SubjectAlternativeNames): boolean =>
  sans.dnsNames.length + sans.emails.length + sans.upns.length + sans.uris.length + sans.ipAddresses.length === 0

/** The lifetime action the service gives a policy without one. */
const defaultLifetimeActions = (issuer: string): ReadonlyArray<LifetimeAction> => [{
  action: isUnknown(issuer) ? "EmailContacts" : "AutoRenew",
  lifetimePercentage: DEFAULT_LIFETIME_PERCENTAGE,
  daysBeforeExpiry: undefined
}]

const checkKeyType = (kty: string): Either.Either<CertificateKeyType, string> => {
  switch (kty) {
    case "RSA":
    case "RSA-HSM":
    case "EC":
    case "EC-HSM":
      return Either.right(kty)
    case "oct":
    case "oct-HSM":
      return Either.left(`The key type ${kty} cannot back a certificate; use RSA, RSA-HSM, EC or EC-HSM.`)
    default:
      return Either.left(`The key type '${shown(kty)}' is not valid; use RSA, RSA-HSM, EC or EC-HSM.`)
  }
}

const checkCurve = (crv: string): Either.Either<CertificateCurve, string> => {
  if (crv === "P-256" || crv === "P-384" || crv === "P-521") return Either.right(crv)
  if (crv === "P-256K") {
    return Either.left("The curve P-256K is not supported for certificates by the emulator; use P-256, P-384 or P-521.")
  }
  return Either.left(`The curve '${shown(crv)}' is not supported; use P-256, P-384 or P-521.`)
}

const curveForSize = (size: number): CertificateCurve | undefined =>
  size === 256 ? "P-256" : size === 384 ? "P-384" : size === 521 ? "P-521" : undefined

const DNS_NAME = /^(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/
const MAILBOX = /^[^\s@]+@[^\s@]+$/
const OID = /^[0-2](\.\d+)+$/

const checkList = (
  field: string,
  values: ReadonlyArray<string>,
  valid: (value: string) => boolean,
  rule: string
): string | undefined => {
  if (values.length > MAX_LIST_ENTRIES) return `${field} has ${values.length} entries; at most ${MAX_LIST_ENTRIES}.`
  for (const value of values) {
    if (value.length === 0 || value.length > MAX_NAME_LENGTH || !valid(value)) {
      return `${field} has an entry that is not ${rule}.`
    }
  }
  return undefined
}

const isUri = (value: string): boolean => {
  try {
    return new URL(value).protocol.length > 1
  } catch {
    return false
  }
}

/**
 * Checks subject alternative names; the answer is a `BadParameter` message or undefined.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkSans = (sans: SubjectAlternativeNames): string | undefined =>
  checkList("x509_props.sans.dns_names", sans.dnsNames, (v) => v.length <= 253 && DNS_NAME.test(v), "a DNS name") ??
    checkList("x509_props.sans.emails", sans.emails, (v) => MAILBOX.test(v), "an email address") ??
    checkList("x509_props.sans.upns", sans.upns, (v) => MAILBOX.test(v), "a user principal name (user@domain)") ??
    checkList("x509_props.sans.uris", sans.uris, isUri, "an absolute URI") ??
    checkList("x509_props.sans.ipAddresses", sans.ipAddresses, (v) => Net.isIP(v) !== 0, "an IPv4 or IPv6 address")

const sansFrom = (input: NonNullable<NonNullable<PolicyInput["x509_props"]>["sans"]>): SubjectAlternativeNames => ({
  dnsNames: input.dns_names ?? [],
  emails: input.emails ?? [],
  upns: input.upns ?? [],
  uris: input.uris ?? [],
  ipAddresses: input.ipAddresses ?? []
})

const checkLifetimeActions = (
  input: NonNullable<PolicyInput["lifetime_actions"]>,
  validityMonths: number
): Either.Either<ReadonlyArray<LifetimeAction>, string> => {
  if (input.length > 1) return Either.left("A certificate policy can have at most one lifetime action.")
  const actions: Array<LifetimeAction> = []
  for (const item of input) {
    const type = item.action?.action_type
    if (type !== "AutoRenew" && type !== "EmailContacts") {
      return Either.left("A lifetime action's action_type must be AutoRenew or EmailContacts.")
    }
    const percentage = item.trigger?.lifetime_percentage
    const days = item.trigger?.days_before_expiry
    if ((percentage === undefined) === (days === undefined)) {
      return Either.left("A lifetime action's trigger needs exactly one of lifetime_percentage and days_before_expiry.")
    }
    if (percentage !== undefined && !(Number.isInteger(percentage) && percentage >= 1 && percentage <= 99)) {
      return Either.left("A lifetime action's lifetime_percentage must be a whole number from 1 to 99.")
    }
    const maxDays = validityMonths * 27
    if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= maxDays)) {
      return Either.left(
        `A lifetime action's days_before_expiry must be a whole number from 1 to ${maxDays} (validity_months x 27).`
      )
    }
    actions.push({ action: type, lifetimePercentage: percentage, daysBeforeExpiry: days })
  }
  return Either.right(actions)
}

/**
 * Lays `input` over `base` (a certificate's current policy; the service's defaults when absent) and checks the
 * result. The answer is the complete policy, or a `BadParameter` message.
 *
 * @since 0.1.0
 * @category validation
 */
export const resolve = (
  input: PolicyInput | undefined,
  base: CertificatePolicy | undefined,
  at: Date
): Either.Either<CertificatePolicy, string> => {
  const keyProps = input?.key_props
  const x509 = input?.x509_props

  // Key type, size and curve. A size or curve from the base only carries over within the same family.
  const requestedKty = keyProps?.kty ?? base?.keyType ?? (keyProps?.crv !== undefined ? "EC" : "RSA")
  const keyType = checkKeyType(requestedKty)
  if (Either.isLeft(keyType)) return Either.left(keyType.left)
  const kty = keyType.right
  const sameFamily = base !== undefined && isRsa(base.keyType) === isRsa(kty)
  let keySize: number | undefined
  let curve: CertificateCurve | undefined
  if (isRsa(kty)) {
    if (keyProps?.crv !== undefined) return Either.left(`A curve cannot be given for a key of type ${kty}.`)
    keySize = keyProps?.key_size ?? (sameFamily ? base.keySize : undefined) ?? DEFAULT_RSA_SIZE
    if (!RSA_SIZES.includes(keySize)) {
      return Either.left(`The RSA key size ${keySize} is not supported; use ${RSA_SIZES.join(", ")}.`)
    }
  } else {
    const size = keyProps?.key_size
    const requestedCurve = keyProps?.crv ??
      (size !== undefined ? curveForSize(size) ?? `${size}-bit` : undefined) ??
      (sameFamily ? base.curve : undefined) ?? DEFAULT_CURVE
    const checked = checkCurve(requestedCurve)
    if (Either.isLeft(checked)) return Either.left(checked.left)
    curve = checked.right
    if (size !== undefined && CURVE_BITS[curve] !== size) {
      return Either.left(`The key size ${size} does not match the curve ${curve}.`)
    }
  }
  const exportable = keyProps?.exportable ?? (isHsm(kty) ? false : base?.exportable ?? true)
  if (exportable && isHsm(kty)) return Either.left(`A key of type ${kty} cannot be exportable.`)

  const contentType = input?.secret_props?.contentType ?? base?.contentType ?? PKCS12
  if (!isSecretContentType(contentType)) {
    return Either.left(
      `The content type '${shown(contentType)}' is not supported; use ${PKCS12} or ${PEM}.`
    )
  }

  const subject = x509?.subject ?? base?.subject ?? ""
  const parsedSubject = DistinguishedName.parse(subject)
  if (Either.isLeft(parsedSubject)) return Either.left(parsedSubject.left)

  const sans = x509?.sans !== undefined ? sansFrom(x509.sans) : base?.sans ?? EMPTY_SANS
  const sansProblem = checkSans(sans)
  if (sansProblem !== undefined) return Either.left(sansProblem)

  const ekus = x509?.ekus ?? base?.ekus ?? DEFAULT_EKUS
  const ekuProblem = checkList("x509_props.ekus", ekus, (v) => OID.test(v), "a dotted object identifier")
  if (ekuProblem !== undefined) return Either.left(ekuProblem)

  const usages = x509?.key_usage ?? base?.keyUsage ?? (isRsa(kty) ? DEFAULT_RSA_USAGE : DEFAULT_EC_USAGE)
  const keyUsage: Array<KeyUsage> = []
  for (const usage of usages) {
    const known = KEY_USAGES.find((u) => u === usage)
    if (known === undefined) {
      return Either.left(`The key usage '${shown(usage)}' is not valid; use ${KEY_USAGES.join(", ")}.`)
    }
    if (!keyUsage.includes(known)) keyUsage.push(known)
  }

  const validityMonths = x509?.validity_months ?? base?.validityMonths ?? DEFAULT_VALIDITY_MONTHS
  if (!(Number.isInteger(validityMonths) && validityMonths >= 1 && validityMonths <= MAX_VALIDITY_MONTHS)) {
    return Either.left(`validity_months must be a whole number from 1 to ${MAX_VALIDITY_MONTHS}.`)
  }

  const issuerName = input?.issuer?.name ?? base?.issuer.name ?? UNKNOWN
  if (issuerName.length === 0 || issuerName.length > 127) {
    return Either.left("The issuer name must be 1 to 127 characters.")
  }
  const issuer: IssuerParameters = {
    name: isSelf(issuerName) ? SELF : isUnknown(issuerName) ? UNKNOWN : issuerName,
    certificateType: input?.issuer?.cty ?? base?.issuer.certificateType,
    certificateTransparency: input?.issuer?.cert_transparency ?? base?.issuer.certificateTransparency
  }

  let lifetimeActions: ReadonlyArray<LifetimeAction>
  if (input?.lifetime_actions !== undefined) {
    const checked = checkLifetimeActions(input.lifetime_actions, validityMonths)
    if (Either.isLeft(checked)) return Either.left(checked.left)
    lifetimeActions = checked.right
  } else {
    lifetimeActions = base?.lifetimeActions ?? defaultLifetimeActions(issuer.name)
    // A stored days_before_expiry must still fit a validity that was just shortened.
    const checked = checkLifetimeActions(
      lifetimeActions.map((a) => ({
        action: { action_type: a.action },
        trigger: { lifetime_percentage: a.lifetimePercentage, days_before_expiry: a.daysBeforeExpiry }
      })),
      validityMonths
    )
    if (Either.isLeft(checked)) return Either.left(checked.left)
  }

  return Either.right({
    keyType: kty,
    keySize,
    curve,
    exportable,
    reuseKey: keyProps?.reuse_key ?? base?.reuseKey ?? false,
    contentType,
    subject,
    sans,
    ekus,
    keyUsage,
    validityMonths,
    lifetimeActions,
    issuer,
    enabled: input?.attributes?.enabled ?? base?.enabled ?? true,
    created: base?.created ?? at,
    updated: at
  })
}

/**
 * The key operations the certificate's key allows, from its key usage: signing usages give `sign` and `verify`;
 * for RSA, `keyEncipherment` gives the wrap and encrypt pairs and `dataEncipherment` the encrypt pair. An EC key
 * only ever signs (Key Vault has no key agreement).
 *
 * @since 0.1.0
 * @category utils
 */
export const keyOperations = (keyUsage: ReadonlyArray<KeyUsage>, rsa: boolean): ReadonlyArray<KeyOperation> => {
  const ops = new Set<KeyOperation>()
  if (keyUsage.some((u) => u === "digitalSignature" || u === "nonRepudiation" || u === "keyCertSign" || u === "cRLSign")) {
    ops.add("sign")
    ops.add("verify")
  }
  if (rsa && keyUsage.includes("keyEncipherment")) {
    ops.add("encrypt").add("decrypt").add("wrapKey").add("unwrapKey")
  }
  if (rsa && keyUsage.includes("dataEncipherment")) ops.add("encrypt").add("decrypt")
  const order: ReadonlyArray<KeyOperation> = ["sign", "verify", "wrapKey", "unwrapKey", "encrypt", "decrypt"]
  return order.filter((op) => ops.has(op))
}

/**
 * Adds whole calendar months in UTC, clamping the day to the end of a shorter month (31 Jan + 1 month = 28/29 Feb).
 *
 * @since 0.1.0
 * @category utils
 */
export const addMonths = (date: Date, months: number): Date => {
  const result = new Date(date.getTime())
  const day = result.getUTCDate()
  result.setUTCDate(1)
  result.setUTCMonth(result.getUTCMonth() + months)
  const lastDay = new Date(Date.UTC(result.getUTCFullYear(), result.getUTCMonth() + 1, 0)).getUTCDate()
  result.setUTCDate(Math.min(day, lastDay))
  return result
}

/**
 * Whole months from `notBefore` to `notAfter` (at least 1, at most `MAX_VALIDITY_MONTHS`): the validity an imported
 * certificate's policy reports.
 *
 * @since 0.1.0
 * @category utils
 */
export const monthsBetween = (notBefore: Date, notAfter: Date): number => {
  let months = (notAfter.getUTCFullYear() - notBefore.getUTCFullYear()) * 12 +
    (notAfter.getUTCMonth() - notBefore.getUTCMonth())
  if (addMonths(notBefore, months).getTime() > notAfter.getTime()) months--
  return Math.min(MAX_VALIDITY_MONTHS, Math.max(1, months))
}

const nonEmpty = <A>(values: ReadonlyArray<A>): ReadonlyArray<A> | undefined => (values.length > 0 ? values : undefined)

/**
 * A policy in wire form (the decoded side of the shared schema), without the `id` the HTTP layer adds.
 *
 * @since 0.1.0
 * @category utils
 */
export const toWire = (policy: CertificatePolicy): PolicyInput => ({
  key_props: {
    exportable: policy.exportable,
    kty: policy.keyType,
    key_size: policy.keySize,
    reuse_key: policy.reuseKey,
    crv: policy.curve
  },
  secret_props: { contentType: policy.contentType },
  x509_props: {
    subject: policy.subject,
    sans: {
      dns_names: nonEmpty(policy.sans.dnsNames),
      emails: nonEmpty(policy.sans.emails),
      upns: nonEmpty(policy.sans.upns),
      uris: nonEmpty(policy.sans.uris),
      ipAddresses: nonEmpty(policy.sans.ipAddresses)
    },
    ekus: policy.ekus,
    key_usage: policy.keyUsage,
    validity_months: policy.validityMonths
  },
  lifetime_actions: policy.lifetimeActions.map((action) => ({
    trigger: { lifetime_percentage: action.lifetimePercentage, days_before_expiry: action.daysBeforeExpiry },
    action: { action_type: action.action }
  })),
  issuer: {
    name: policy.issuer.name,
    cty: policy.issuer.certificateType,
    cert_transparency: policy.issuer.certificateTransparency
  },
  attributes: { enabled: policy.enabled, created: policy.created, updated: policy.updated }
})
