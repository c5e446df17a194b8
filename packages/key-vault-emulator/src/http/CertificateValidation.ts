/**
 * Request checks for certificate operations that do not need the vault's state: tags (the shared rules), the sizes of
 * imports and merge chains, contacts, issuers, and the query parameters `includePending` and `outContentType`. The
 * rules of a policy (key type, size, curve, validity, content type, lifetime actions, subject, SANs) live in the
 * engine (`engine/certificates/Policy`), which enforces them on every path. Messages never quote a value.
 *
 * @since 0.1.0
 */
import type {
  CertificateCreateParameters,
  CertificateImportParameters,
  CertificateIssuerParameters,
  CertificateMergeParameters,
  CertificateUpdateParameters,
  Contacts
} from "@effect-azure/key-vault/wire/CertificateWire"
import { checkTags } from "@effect-azure/key-vault/wire/Rules"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import type { SecretContentType } from "../engine/certificates/Policy.js"
import { isSecretContentType, PEM, PKCS12 } from "../engine/certificates/Policy.js"

/**
 * The most certificates a merge chain may hold.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_CHAIN_LENGTH = 10

/**
 * The most contacts a vault keeps.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_CONTACTS = 25

/**
 * The longest contact or issuer field (names, phone numbers, account ids, providers).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_FIELD_LENGTH = 255

const MAILBOX = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

const tags = (value: Readonly<Record<string, string>> | undefined): string | undefined =>
  value === undefined ? undefined : checkTags(value)

const field = (what: string, value: string | undefined): string | undefined =>
  value !== undefined && value.length > MAX_FIELD_LENGTH ? `${what} is longer than ${MAX_FIELD_LENGTH} characters.` : undefined

const email = (what: string, value: string | undefined): string | undefined =>
  value !== undefined && (value.length > MAX_FIELD_LENGTH || !MAILBOX.test(value))
    ? `${what} is not a valid email address.`
    : undefined

/**
 * Checks a create; the answer is a `BadParameter` message, or undefined when the input is valid.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateCreate = (input: CertificateCreateParameters): string | undefined => tags(input.tags)

/**
 * Checks an import: a non-empty value and valid tags.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateImport = (input: CertificateImportParameters): string | undefined =>
  Redacted.value(input.value).trim() === "" ? "The property 'value' must hold the certificate to import." : tags(input.tags)

/**
 * Checks an update.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateUpdate = (input: CertificateUpdateParameters): string | undefined => tags(input.tags)

/**
 * Checks a merge: 1 to `MAX_CHAIN_LENGTH` certificates.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateMerge = (input: CertificateMergeParameters): string | undefined =>
  input.x5c.length === 0 || input.x5c.length > MAX_CHAIN_LENGTH
    ? `x5c must hold 1 to ${MAX_CHAIN_LENGTH} certificates.`
    : tags(input.tags)

/**
 * Checks a contacts set: 1 to `MAX_CONTACTS` contacts, each with a valid email address.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateContacts = (input: Contacts): string | undefined => {
  const list = input.contacts ?? []
  if (list.length === 0) return "At least one contact is required; delete the contacts to remove them all."
  if (list.length > MAX_CONTACTS) return `At most ${MAX_CONTACTS} contacts are allowed.`
  for (const contact of list) {
    if (contact.email === undefined) return "Every contact needs an email address."
    const problem = email("A contact's email", contact.email) ?? field("A contact's name", contact.name) ??
      field("A contact's phone", contact.phone)
    if (problem !== undefined) return problem
  }
  return undefined
}

const validateIssuer = (input: CertificateIssuerParameters): string | undefined => {
  const problem = field("The provider", input.provider) ?? field("The account id", input.credentials?.account_id) ??
    field("The organization id", input.org_details?.id)
  if (problem !== undefined) return problem
  for (const admin of input.org_details?.admin_details ?? []) {
    const adminProblem = email("An administrator's email", admin.email) ??
      field("An administrator's first name", admin.first_name) ??
      field("An administrator's last name", admin.last_name) ?? field("An administrator's phone", admin.phone)
    if (adminProblem !== undefined) return adminProblem
  }
  return undefined
}

/**
 * Checks an issuer set: a provider is required.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateIssuerSet = (input: CertificateIssuerParameters): string | undefined =>
  input.provider === undefined || input.provider.trim() === ""
    ? "The property 'provider' is required."
    : validateIssuer(input)

/**
 * Checks an issuer update.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateIssuerUpdate = (input: CertificateIssuerParameters): string | undefined => validateIssuer(input)

const queryParam = (url: URL, name: string): string | null => {
  const wanted = name.toLowerCase()
  for (const [key, value] of url.searchParams) {
    if (key.toLowerCase() === wanted) return value
  }
  return null
}

/**
 * Reads `includePending` (`true` or `false`, default false).
 *
 * @since 0.1.0
 * @category validation
 */
export const includePending = (url: URL): Either.Either<boolean, string> => {
  const value = queryParam(url, "includePending")
  if (value === null) return Either.right(false)
  const lower = value.toLowerCase()
  return lower === "true" || lower === "false"
    ? Either.right(lower === "true")
    : Either.left("Invalid includePending: it must be true or false.")
}

/**
 * Reads `outContentType` of a secret read: absent, or one of the two certificate content types.
 *
 * @since 0.1.0
 * @category validation
 */
export const outContentType = (url: URL): Either.Either<SecretContentType | undefined, string> => {
  const value = queryParam(url, "outContentType")
  if (value === null) return Either.right(undefined)
  return isSecretContentType(value)
    ? Either.right(value)
    : Either.left(`Invalid outContentType: it must be ${PEM} or ${PKCS12}.`)
}
