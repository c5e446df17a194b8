/**
 * Validation of the Certificates service's inputs other than the policy (see `CertificatePolicy`): import material,
 * merge chains, contacts, issuers, passwords, the poll schedule. Every check runs before any request; messages
 * describe, and never quote, what was given. Not public.
 *
 * @since 0.1.0
 * @internal
 */
import { createPrivateKey, X509Certificate } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { DecodeError, type ValidationError } from "../../errors/KeyVaultError.js"
import * as Validation from "../../validation/Validation.js"
import * as CertificateWire from "../../wire/CertificateWire.js"
import type { CertificateOperation } from "../Certificate.js"
import * as Policy from "../CertificatePolicy.js"
import type { AdministratorContactInput, ContactInput, UpdateIssuerOptions } from "../Certificates.js"
import { defined, invalid, orUndefined, typeName } from "./Fields.js"
import * as Pem from "./Pem.js"
import * as Polling from "./Polling.js"

const encodeContacts = Schema.encodeSync(CertificateWire.Contacts)
const encodeIssuer = Schema.encodeSync(CertificateWire.CertificateIssuerParameters)

/**
 * Options, when given, are an object.
 *
 * @since 0.1.0
 * @internal
 */
export const optionsObject = (operation: string, input: unknown): Effect.Effect<void, ValidationError> =>
  input === undefined || (typeof input === "object" && input !== null && !Array.isArray(input))
    ? Effect.void
    : invalid(operation, "options", `options must be an object, got ${typeName(input)}`)

/**
 * An optional string.
 *
 * @since 0.1.0
 * @internal
 */
export const optionalText = (
  operation: string,
  field: string,
  input: unknown
): Effect.Effect<string | undefined, ValidationError> =>
  input === undefined || typeof input === "string"
    ? Effect.succeed(input)
    : invalid(operation, field, `${field} must be a string, got ${typeName(input)}`)

/**
 * A password: a string, plain or `Redacted`; its length and content never appear in a message.
 *
 * @since 0.1.0
 * @internal
 */
export const password = (
  operation: string,
  input: unknown
): Effect.Effect<Redacted.Redacted<string> | undefined, ValidationError> => {
  if (input === undefined) return Effect.succeed(undefined)
  if (Redacted.isRedacted(input)) {
    return typeof Redacted.value(input) === "string"
      ? Effect.succeed(input as Redacted.Redacted<string>)
      : invalid(operation, "password", "password must be a string or a Redacted string")
  }
  return typeof input === "string"
    ? Effect.succeed(Redacted.make(input))
    : invalid(operation, "password", `password must be a string or a Redacted string, got ${typeName(input)}`)
}

/**
 * The poll schedule: the default when omitted, otherwise a `Schedule`.
 *
 * @since 0.1.0
 * @internal
 */
export const schedule = (
  operation: string,
  input: unknown
): Effect.Effect<Schedule.Schedule<unknown, CertificateOperation>, ValidationError> =>
  input === undefined
    ? Effect.succeed(Polling.defaultSchedule as Schedule.Schedule<unknown, CertificateOperation>)
    : Schedule.isSchedule(input)
    ? Effect.succeed(input as Schedule.Schedule<unknown, CertificateOperation>)
    : invalid(operation, "pollSchedule", `pollSchedule must be a Schedule, got ${typeName(input)}`)

/**
 * The attributes and tags create, import and merge share.
 *
 * @since 0.1.0
 * @internal
 */
export const common = (
  operation: string,
  options: { readonly enabled?: unknown; readonly tags?: unknown; readonly preserveCertOrder?: unknown }
): Effect.Effect<
  {
    readonly enabled: boolean | undefined
    readonly tags: Readonly<Record<string, string>> | undefined
    readonly preserveCertOrder: boolean | undefined
  },
  ValidationError
> =>
  Validation.struct({
    enabled: Validation.flag(operation, "enabled", options.enabled),
    tags: Validation.tags(operation, options.tags),
    preserveCertOrder: Validation.flag(operation, "preserveCertOrder", options.preserveCertOrder)
  })

/**
 * The certificates to merge: DER bytes, or PEM text with one or more CERTIFICATE blocks, each an X.509 certificate.
 *
 * @since 0.1.0
 * @internal
 */
export const chain = (
  operation: string,
  input: unknown
): Effect.Effect<ReadonlyArray<Uint8Array>, ValidationError> => {
  const field = "x509Certificates"
  if (!Array.isArray(input) || input.length === 0) {
    return invalid(operation, field, `${field} must be a non-empty array of certificates (DER bytes or PEM)`)
  }
  const ders: Array<Uint8Array> = []
  for (const [i, entry] of (input as ReadonlyArray<unknown>).entries()) {
    const found = entry instanceof Uint8Array
      ? [entry]
      : typeof entry === "string"
      ? Pem.blocks(entry).filter((b) => b.label === "CERTIFICATE").map((b) => b.der)
      : undefined
    if (found === undefined) {
      return invalid(operation, field, `${field}[${i}] must be DER bytes or PEM text, got ${typeName(entry)}`)
    }
    if (found.length === 0) return invalid(operation, field, `${field}[${i}] holds no PEM CERTIFICATE block`)
    for (const der of found) {
      try {
        new X509Certificate(der)
      } catch {
        return invalid(operation, field, `${field}[${i}] is not an X.509 certificate`)
      }
      ders.push(der)
    }
  }
  return Effect.succeed(ders)
}

/**
 * A PEM to import: certificate(s) and a PKCS#8 private key that belongs to one of them. Checked with node:crypto
 * before the text (a secret: it holds the private key) is sent anywhere; messages never quote it.
 *
 * @since 0.1.0
 * @internal
 */
export const pemToImport = (
  operation: string,
  input: unknown,
  pwd: Redacted.Redacted<string> | undefined
): Effect.Effect<Redacted.Redacted<string>, ValidationError> => {
  const value = Redacted.isRedacted(input) ? Redacted.value(input) : input
  if (typeof value !== "string") {
    return invalid(operation, "pem", `pem must be a string or a Redacted string, got ${typeName(value)}`)
  }
  const all = Pem.blocks(value)
  const certificates = all.filter((b) => b.label === "CERTIFICATE")
  if (certificates.length === 0) return invalid(operation, "pem", "pem holds no CERTIFICATE block")
  if (Pem.hasLabel(value, "RSA PRIVATE KEY") || Pem.hasLabel(value, "EC PRIVATE KEY")) {
    return invalid(
      operation,
      "pem",
      "the private key must be PKCS#8 (BEGIN PRIVATE KEY), not PKCS#1 or SEC1; convert it with openssl pkcs8 -topk8"
    )
  }
  const keys = all.filter((b) => b.label === "PRIVATE KEY" || b.label === "ENCRYPTED PRIVATE KEY")
  if (keys.length !== 1) {
    return invalid(operation, "pem", `pem must hold exactly one PKCS#8 PRIVATE KEY block, found ${keys.length}`)
  }
  const parsed: Array<X509Certificate> = []
  for (const [i, block] of certificates.entries()) {
    try {
      parsed.push(new X509Certificate(block.der))
    } catch {
      return invalid(operation, "pem", `CERTIFICATE block ${i + 1} is not an X.509 certificate`)
    }
  }
  const key = keys[0]!
  if (key.label === "ENCRYPTED PRIVATE KEY" && pwd === undefined) {
    return invalid(operation, "password", "the private key is encrypted: a password is required")
  }
  let privateKey: ReturnType<typeof createPrivateKey>
  try {
    privateKey = createPrivateKey({
      key: Buffer.from(key.der),
      format: "der",
      type: "pkcs8",
      ...(pwd === undefined ? {} : { passphrase: Redacted.value(pwd) })
    })
  } catch {
    return key.label === "ENCRYPTED PRIVATE KEY"
      ? invalid(operation, "password", "the password does not decrypt the private key")
      : invalid(operation, "pem", "the PRIVATE KEY block is not a PKCS#8 private key")
  }
  if (!parsed.some((certificate) => certificate.checkPrivateKey(privateKey))) {
    return invalid(operation, "pem", "the private key belongs to none of the certificates")
  }
  return Effect.succeed(Redacted.make(value))
}

/**
 * A PKCS#12 to import: non-empty bytes, sent as standard base64 (its content is the vault's to check: OpenSSL 3
 * refuses legacy encryptions the vault accepts).
 *
 * @since 0.1.0
 * @internal
 */
export const pfxToImport = (operation: string, input: unknown): Effect.Effect<Redacted.Redacted<string>, ValidationError> => {
  const value = Redacted.isRedacted(input) ? Redacted.value(input) : input
  if (!(value instanceof Uint8Array) || value.length === 0) {
    return invalid(operation, "pfx", "pfx must be non-empty bytes (a Uint8Array, or a Redacted one)")
  }
  return Effect.succeed(Redacted.make(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")))
}

/**
 * Contacts to set: a non-empty list, each with a well-formed email.
 *
 * @since 0.1.0
 * @internal
 */
export const contacts = (
  operation: string,
  input: unknown
): Effect.Effect<typeof CertificateWire.Contacts.Encoded, ValidationError> =>
  Effect.gen(function*() {
    if (!Array.isArray(input) || input.length === 0) {
      return yield* invalid(operation, "contacts", "contacts must be a non-empty array (deleteContacts removes them all)")
    }
    const wire: Array<typeof CertificateWire.Contact.Type> = []
    for (const [i, raw] of (input as ReadonlyArray<unknown>).entries()) {
      const field = `contacts[${i}]`
      if (typeof raw !== "object" || raw === null) return yield* invalid(operation, field, `${field} must be an object`)
      const contact = raw as Partial<ContactInput>
      wire.push(defined({
        email: yield* Policy.email(operation, `${field}.email`, contact.email),
        name: yield* optionalText(operation, `${field}.name`, contact.name),
        phone: yield* optionalText(operation, `${field}.phone`, contact.phone)
      }))
    }
    return encodeContacts({ contacts: wire })
  })

/**
 * The body of an issuer create (`required`: with its provider) or update.
 *
 * @since 0.1.0
 * @internal
 */
export const issuerBody = (
  operation: string,
  provider: unknown,
  options: UpdateIssuerOptions,
  required: boolean
): Effect.Effect<typeof CertificateWire.CertificateIssuerParameters.Encoded, ValidationError> =>
  Effect.gen(function*() {
    yield* optionsObject(operation, options)
    if (required || provider !== undefined) {
      if (typeof provider !== "string" || provider.length === 0) {
        return yield* invalid(operation, "provider", `provider must be a non-empty string, got ${typeName(provider)}`)
      }
    }
    const accountId = yield* optionalText(operation, "accountId", options.accountId)
    const pwd = yield* password(operation, options.password)
    const organizationId = yield* optionalText(operation, "organizationId", options.organizationId)
    const enabled = yield* Validation.flag(operation, "enabled", options.enabled)
    const admins = options.administratorContacts
    let adminDetails: Array<typeof CertificateWire.AdministratorDetails.Type> | undefined
    if (admins !== undefined) {
      if (!Array.isArray(admins)) {
        return yield* invalid(operation, "administratorContacts", "administratorContacts must be an array")
      }
      adminDetails = []
      for (const [i, raw] of (admins as ReadonlyArray<unknown>).entries()) {
        const field = `administratorContacts[${i}]`
        if (typeof raw !== "object" || raw === null) return yield* invalid(operation, field, `${field} must be an object`)
        const admin = raw as Partial<AdministratorContactInput>
        adminDetails.push(defined({
          email: yield* Policy.email(operation, `${field}.email`, admin.email),
          first_name: yield* optionalText(operation, `${field}.firstName`, admin.firstName),
          last_name: yield* optionalText(operation, `${field}.lastName`, admin.lastName),
          phone: yield* optionalText(operation, `${field}.phone`, admin.phone)
        }))
      }
    }
    return encodeIssuer(defined({
      provider: provider as string | undefined,
      credentials: orUndefined({ account_id: accountId, pwd }),
      org_details: orUndefined({ id: organizationId, admin_details: adminDetails }),
      attributes: enabled === undefined ? undefined : { enabled }
    }))
  })

/**
 * The bytes of a PKCS#12 secret: strictly standard base64 (the vault's encoding), whitespace tolerated.
 *
 * @since 0.1.0
 * @internal
 */
export const pkcs12Bytes = (operation: string, value: Redacted.Redacted<string>): Effect.Effect<Uint8Array, DecodeError> => {
  const text = Redacted.value(value).replace(/\s+/g, "")
  return text.length > 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text)
    ? Effect.succeed(new Uint8Array(Buffer.from(text, "base64")))
    : Effect.fail(new DecodeError({ operation, message: "the certificate's secret is not base64 PKCS#12" }))
}
