/**
 * A certificate's management policy as users see and write it: one flat object (issuer, subject and SANs, key,
 * secret content type, validity, lifetime actions), camelCase, as the official SDK has it; and its validation, which
 * runs before any request and fails with a `ValidationError` naming the field.
 *
 * A policy read from the vault is a valid input: `updatePolicy(name, { ...policy, validityInMonths: 24 })` works.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { RSA_KEY_SIZES } from "../crypto/Algorithms.js"
import type { ValidationError } from "../errors/KeyVaultError.js"
import type * as CertificateWire from "../wire/CertificateWire.js"
import {
  checkDnsName,
  checkEmail,
  checkIpAddress,
  checkOid,
  checkUpn,
  checkUri,
  checkX500Name
} from "./internal/Checks.js"
import { defined, invalid as fail, orUndefined, typeName } from "./internal/Fields.js"

/**
 * The key types a certificate can have.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateKeyType = "RSA" | "RSA-HSM" | "EC" | "EC-HSM"

/**
 * The curves of EC certificate keys.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateKeyCurveName = "P-256" | "P-384" | "P-521" | "P-256K"

/**
 * How the certificate's secret (certificate and private key) is stored and downloaded.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateContentType = "application/x-pkcs12" | "application/x-pem-file"

/**
 * What a lifetime action does.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificatePolicyAction = "AutoRenew" | "EmailContacts"

/**
 * The key usages an X.509 certificate can declare.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyUsageType =
  | "digitalSignature"
  | "nonRepudiation"
  | "keyEncipherment"
  | "dataEncipherment"
  | "keyAgreement"
  | "keyCertSign"
  | "cRLSign"
  | "encipherOnly"
  | "decipherOnly"

/**
 * The key types `keyType` accepts.
 *
 * @since 0.1.0
 * @category constants
 */
export const KEY_TYPES: ReadonlyArray<CertificateKeyType> = ["RSA", "RSA-HSM", "EC", "EC-HSM"]

/**
 * The curves `keyCurveName` accepts.
 *
 * @since 0.1.0
 * @category constants
 */
export const KEY_CURVE_NAMES: ReadonlyArray<CertificateKeyCurveName> = ["P-256", "P-384", "P-521", "P-256K"]

/**
 * The content types `contentType` accepts.
 *
 * @since 0.1.0
 * @category constants
 */
export const CONTENT_TYPES: ReadonlyArray<CertificateContentType> = ["application/x-pkcs12", "application/x-pem-file"]

/**
 * The key usages `keyUsage` accepts.
 *
 * @since 0.1.0
 * @category constants
 */
export const KEY_USAGES: ReadonlyArray<KeyUsageType> = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly"
]

/**
 * The issuer names with a meaning of their own: `Self` signs the certificate with its own key; `Unknown` leaves the
 * operation pending with a CSR for an external CA, until `merge`.
 *
 * @since 0.1.0
 * @category models
 */
export type WellKnownIssuer = "Self" | "Unknown"

/**
 * One lifetime action: `AutoRenew` or `EmailContacts`, triggered by exactly one of `lifetimePercentage` (1..99) or
 * `daysBeforeExpiry`.
 *
 * @since 0.1.0
 * @category models
 */
export interface LifetimeAction {
  readonly action: CertificatePolicyAction
  readonly lifetimePercentage?: number | undefined
  readonly daysBeforeExpiry?: number | undefined
}

/**
 * Subject alternative names.
 *
 * @since 0.1.0
 * @category models
 */
export interface SubjectAlternativeNames {
  readonly dnsNames?: ReadonlyArray<string> | undefined
  readonly emails?: ReadonlyArray<string> | undefined
  readonly upns?: ReadonlyArray<string> | undefined
  /** New in api-version 2025-07-01. */
  readonly uris?: ReadonlyArray<string> | undefined
  /** IPv4 or IPv6; new in api-version 2025-07-01. */
  readonly ipAddresses?: ReadonlyArray<string> | undefined
}

/**
 * What a policy can say. Every field is optional here; `create` needs `issuerName` and a `subject` or at least one
 * subject alternative name.
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificatePolicyInput {
  /** `Self`, `Unknown`, or the name of an issuer created with `createIssuer`. */
  readonly issuerName?: WellKnownIssuer | (string & {}) | undefined
  /** A type the issuer's provider supports (`OV-SSL`, `EV-SSL`). */
  readonly certificateType?: string | undefined
  readonly certificateTransparency?: boolean | undefined
  /** An X.500 distinguished name, `CN=example.com, O=Contoso`. */
  readonly subject?: string | undefined
  readonly subjectAlternativeNames?: SubjectAlternativeNames | undefined
  readonly keyType?: CertificateKeyType | undefined
  /** RSA only: 2048, 3072 or 4096. */
  readonly keySize?: number | undefined
  /** EC only. */
  readonly keyCurveName?: CertificateKeyCurveName | undefined
  readonly exportable?: boolean | undefined
  /** Whether renewals keep the same key pair. */
  readonly reuseKey?: boolean | undefined
  /** The format of the secret: PKCS#12 (the vault's default) or PEM. */
  readonly contentType?: CertificateContentType | undefined
  readonly keyUsage?: ReadonlyArray<KeyUsageType> | undefined
  /** Extended key usages as OIDs (`1.3.6.1.5.5.7.3.1` for TLS servers). */
  readonly enhancedKeyUsage?: ReadonlyArray<string> | undefined
  /** How long issued certificates are valid, in months. */
  readonly validityInMonths?: number | undefined
  readonly lifetimeActions?: ReadonlyArray<LifetimeAction> | undefined
  /** Whether certificates issued under the policy are enabled. */
  readonly enabled?: boolean | undefined
}

/**
 * A policy as the vault returns it: the input's fields plus its identifier and timestamps.
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificatePolicy extends CertificatePolicyInput {
  /** `https://{vault}/certificates/{name}/policy`. */
  readonly id?: string | undefined
  readonly createdOn?: Date | undefined
  readonly updatedOn?: Date | undefined
}

/**
 * The policy the official SDK uses when none is given: self-signed, `CN=DefaultPolicy`.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_POLICY: CertificatePolicyInput = { issuerName: "Self", subject: "CN=DefaultPolicy" }

const lifetimeActionFromWire = (wire: typeof CertificateWire.LifetimeAction.Type): ReadonlyArray<LifetimeAction> => {
  const type = wire.action?.action_type?.toLowerCase()
  const action: CertificatePolicyAction | undefined = type === "autorenew"
    ? "AutoRenew"
    : type === "emailcontacts"
    ? "EmailContacts"
    : undefined
  if (action === undefined) return []
  return [defined({
    action,
    lifetimePercentage: wire.trigger?.lifetime_percentage,
    daysBeforeExpiry: wire.trigger?.days_before_expiry
  })]
}

/**
 * Builds the model from the wire. Lifetime actions of a type this client does not know are dropped rather than
 * failing the read.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromWire = (wire: CertificateWire.CertificatePolicy): CertificatePolicy => {
  const sans = wire.x509_props?.sans
  return defined({
    id: wire.id,
    issuerName: wire.issuer?.name,
    certificateType: wire.issuer?.cty,
    certificateTransparency: wire.issuer?.cert_transparency,
    subject: wire.x509_props?.subject,
    subjectAlternativeNames: sans === undefined ? undefined : orUndefined({
      dnsNames: sans.dns_names,
      emails: sans.emails,
      upns: sans.upns,
      uris: sans.uris,
      ipAddresses: sans.ipAddresses
    }),
    keyType: wire.key_props?.kty as CertificateKeyType | undefined,
    keySize: wire.key_props?.key_size,
    keyCurveName: wire.key_props?.crv as CertificateKeyCurveName | undefined,
    exportable: wire.key_props?.exportable,
    reuseKey: wire.key_props?.reuse_key,
    contentType: wire.secret_props?.contentType as CertificateContentType | undefined,
    keyUsage: wire.x509_props?.key_usage as ReadonlyArray<KeyUsageType> | undefined,
    enhancedKeyUsage: wire.x509_props?.ekus,
    validityInMonths: wire.x509_props?.validity_months,
    lifetimeActions: wire.lifetime_actions?.flatMap(lifetimeActionFromWire),
    enabled: wire.attributes?.enabled,
    createdOn: wire.attributes?.created,
    updatedOn: wire.attributes?.updated
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------------------

const oneOf = <A extends string>(
  operation: string,
  field: string,
  allowed: ReadonlyArray<A>,
  input: unknown
): Effect.Effect<A | undefined, ValidationError> =>
  input === undefined
    ? Effect.succeed(undefined)
    : typeof input === "string" && (allowed as ReadonlyArray<string>).includes(input)
    ? Effect.succeed(input as A)
    : fail(
      operation,
      field,
      `${field} must be one of ${allowed.join(", ")}; got ${
        typeof input === "string" ? `${input.length} characters` : typeName(input)
      }`
    )

const boolean = (operation: string, field: string, input: unknown): Effect.Effect<boolean | undefined, ValidationError> =>
  input === undefined || typeof input === "boolean"
    ? Effect.succeed(input)
    : fail(operation, field, `${field} must be a boolean, got ${typeName(input)}`)

const text = (operation: string, field: string, input: unknown): Effect.Effect<string | undefined, ValidationError> =>
  input === undefined
    ? Effect.succeed(undefined)
    : typeof input === "string" && input.length > 0
    ? Effect.succeed(input)
    : fail(
      operation,
      field,
      `${field} must be a non-empty string, got ${typeof input === "string" ? "an empty string" : typeName(input)}`
    )

const integer = (
  operation: string,
  field: string,
  input: unknown,
  min: number,
  max: number
): Effect.Effect<number | undefined, ValidationError> =>
  input === undefined
    ? Effect.succeed(undefined)
    : typeof input === "number" && Number.isInteger(input) && input >= min && input <= max
    ? Effect.succeed(input)
    : fail(
      operation,
      field,
      `${field} must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? " up" : ` to ${max}`}, got ${
        typeof input === "number" ? String(input) : typeName(input)
      }`
    )

/**
 * A list of strings, each passing `check` (which describes what is wrong without quoting the entry).
 *
 * @since 0.1.0
 * @category validation
 */
export const stringList = (
  operation: string,
  field: string,
  input: unknown,
  check: (entry: string) => string | undefined
): Effect.Effect<ReadonlyArray<string> | undefined, ValidationError> => {
  if (input === undefined) return Effect.succeed(undefined)
  if (!Array.isArray(input)) return fail(operation, field, `${field} must be an array of strings, got ${typeName(input)}`)
  for (const [i, entry] of (input as ReadonlyArray<unknown>).entries()) {
    if (typeof entry !== "string") return fail(operation, field, `${field}[${i}] must be a string, got ${typeName(entry)}`)
    const problem = check(entry)
    if (problem !== undefined) return fail(operation, field, `${field}[${i}] ${problem}`)
  }
  return Effect.succeed(input as ReadonlyArray<string>)
}

/**
 * An X.500 distinguished name (see the policy's `subject`).
 *
 * @since 0.1.0
 * @category validation
 */
export const subject = (operation: string, input: unknown): Effect.Effect<string | undefined, ValidationError> => {
  if (input === undefined) return Effect.succeed(undefined)
  if (typeof input !== "string") return fail(operation, "subject", `subject must be a string, got ${typeName(input)}`)
  const problem = checkX500Name(input)
  return problem === undefined
    ? Effect.succeed(input)
    : fail(operation, "subject", `subject must be an X.500 name such as CN=example.com, O=Contoso: ${problem}`)
}

/**
 * An email address (of a contact or an issuer's administrator).
 *
 * @since 0.1.0
 * @category validation
 */
export const email = (operation: string, field: string, input: unknown): Effect.Effect<string, ValidationError> => {
  if (typeof input !== "string") return fail(operation, field, `${field} must be an email address, got ${typeName(input)}`)
  const problem = checkEmail(input)
  return problem === undefined ? Effect.succeed(input) : fail(operation, field, `${field} ${problem}`)
}

const subjectAlternativeNames = (operation: string, input: unknown) =>
  Effect.gen(function*() {
    if (input === undefined) return undefined
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      const got = typeName(input)
      return yield* fail(operation, "subjectAlternativeNames", `subjectAlternativeNames must be an object, got ${got}`)
    }
    const sans = input as SubjectAlternativeNames
    const field = (name: string) => `subjectAlternativeNames.${name}`
    return orUndefined({
      dns_names: yield* stringList(operation, field("dnsNames"), sans.dnsNames, (e) => {
        const problem = checkDnsName(e)
        return problem === undefined ? undefined : `is not a DNS name: it ${problem}`
      }),
      emails: yield* stringList(operation, field("emails"), sans.emails, checkEmail),
      upns: yield* stringList(operation, field("upns"), sans.upns, checkUpn),
      uris: yield* stringList(operation, field("uris"), sans.uris, checkUri),
      ipAddresses: yield* stringList(operation, field("ipAddresses"), sans.ipAddresses, checkIpAddress)
    })
  })

const lifetimeActions = (operation: string, input: unknown, validityInMonths: number | undefined) =>
  Effect.gen(function*() {
    if (input === undefined) return undefined
    if (!Array.isArray(input)) {
      return yield* fail(operation, "lifetimeActions", `lifetimeActions must be an array, got ${typeName(input)}`)
    }
    const actions: Array<typeof CertificateWire.LifetimeAction.Type> = []
    for (const [i, raw] of (input as ReadonlyArray<unknown>).entries()) {
      const field = `lifetimeActions[${i}]`
      if (typeof raw !== "object" || raw === null) return yield* fail(operation, field, `${field} must be an object`)
      const item = raw as Partial<LifetimeAction>
      const action = yield* oneOf(operation, `${field}.action`, ["AutoRenew", "EmailContacts"] as const, item.action)
      if (action === undefined) {
        return yield* fail(operation, `${field}.action`, `${field}.action must be AutoRenew or EmailContacts`)
      }
      const percentage = yield* integer(operation, `${field}.lifetimePercentage`, item.lifetimePercentage, 1, 99)
      // The service bounds days by the validity: at most 27 days per month of validity.
      const maxDays = validityInMonths === undefined ? Number.MAX_SAFE_INTEGER : validityInMonths * 27
      const days = yield* integer(operation, `${field}.daysBeforeExpiry`, item.daysBeforeExpiry, 1, maxDays)
      if ((percentage === undefined) === (days === undefined)) {
        return yield* fail(operation, field, `${field} needs exactly one trigger: lifetimePercentage or daysBeforeExpiry`)
      }
      actions.push({
        trigger: defined({ lifetime_percentage: percentage, days_before_expiry: days }),
        action: { action_type: action }
      })
    }
    return actions
  })

const keyUsage = (operation: string, input: unknown): Effect.Effect<ReadonlyArray<string> | undefined, ValidationError> => {
  if (input === undefined) return Effect.succeed(undefined)
  const seen = new Set<string>()
  return stringList(operation, "keyUsage", input, (entry) => {
    if (!(KEY_USAGES as ReadonlyArray<string>).includes(entry)) return `is not one of ${KEY_USAGES.join(", ")}`
    if (seen.has(entry)) return "repeats a key usage listed before"
    seen.add(entry)
    return undefined
  })
}

/**
 * Checks a policy and builds its wire form. `required: true` (for `create`) also asks for `issuerName` and a subject
 * or a subject alternative name, as the vault does. Key size applies only to RSA keys, the curve only to EC keys.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (
  operation: string,
  input: unknown,
  options: { readonly required: boolean }
): Effect.Effect<CertificateWire.CertificatePolicy, ValidationError> =>
  Effect.gen(function*() {
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      return yield* fail(operation, "policy", `policy must be an object, got ${typeName(input)}`)
    }
    const policy = input as CertificatePolicyInput
    const issuerName = yield* text(operation, "issuerName", policy.issuerName)
    const certificateType = yield* text(operation, "certificateType", policy.certificateType)
    const certificateTransparency = yield* boolean(operation, "certificateTransparency", policy.certificateTransparency)
    const subjectName = yield* subject(operation, policy.subject)
    const sans = yield* subjectAlternativeNames(operation, policy.subjectAlternativeNames)
    const keyType = yield* oneOf(operation, "keyType", KEY_TYPES, policy.keyType)
    const keySize = yield* integer(operation, "keySize", policy.keySize, 1, Number.MAX_SAFE_INTEGER).pipe(
      Effect.flatMap((size) =>
        size === undefined || RSA_KEY_SIZES.includes(size)
          ? Effect.succeed(size)
          : fail(operation, "keySize", `keySize must be one of ${RSA_KEY_SIZES.join(", ")}, got ${size}`)
      )
    )
    const curve = yield* oneOf(operation, "keyCurveName", KEY_CURVE_NAMES, policy.keyCurveName)
    const rsa = keyType === undefined ? undefined : keyType === "RSA" || keyType === "RSA-HSM"
    if (rsa === true && curve !== undefined) {
      return yield* fail(operation, "keyCurveName", "keyCurveName applies to EC keys, not RSA")
    }
    if (rsa === false && keySize !== undefined) {
      return yield* fail(operation, "keySize", "keySize applies to RSA keys, not EC")
    }
    if (keySize !== undefined && curve !== undefined) {
      return yield* fail(operation, "keySize", "keySize (RSA) and keyCurveName (EC) cannot both be given")
    }
    const exportable = yield* boolean(operation, "exportable", policy.exportable)
    const reuseKey = yield* boolean(operation, "reuseKey", policy.reuseKey)
    const contentType = yield* oneOf(operation, "contentType", CONTENT_TYPES, policy.contentType)
    const usages = yield* keyUsage(operation, policy.keyUsage)
    const ekus = yield* stringList(operation, "enhancedKeyUsage", policy.enhancedKeyUsage, checkOid)
    const validityInMonths = yield* integer(operation, "validityInMonths", policy.validityInMonths, 1, Number.MAX_SAFE_INTEGER)
    const actions = yield* lifetimeActions(operation, policy.lifetimeActions, validityInMonths)
    const enabled = yield* boolean(operation, "enabled", policy.enabled)
    if (options.required) {
      if (issuerName === undefined) {
        return yield* fail(operation, "issuerName", "issuerName is required: Self, Unknown or the name of an issuer")
      }
      if (subjectName === undefined && sans === undefined) {
        return yield* fail(operation, "subject", "a subject or at least one subject alternative name is required")
      }
    }
    return defined({
      key_props: orUndefined({
        exportable,
        kty: keyType,
        key_size: keySize,
        reuse_key: reuseKey,
        crv: curve
      }),
      secret_props: contentType === undefined ? undefined : { contentType },
      x509_props: orUndefined({
        subject: subjectName,
        ekus,
        sans,
        key_usage: usages,
        validity_months: validityInMonths
      }),
      lifetime_actions: actions,
      issuer: orUndefined({ name: issuerName, cty: certificateType, cert_transparency: certificateTransparency }),
      attributes: enabled === undefined ? undefined : { enabled }
    })
  })
