/**
 * Checks that run before any request, with the service's own limits (`wire/Rules`). Each failure is a
 * `ValidationError` that names the operation and field, and never quotes a secret value.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type CurveName, isCurveName, KEY_OPERATIONS, type KeyOperation, RSA_KEY_SIZES } from "../crypto/Algorithms.js"
import { ValidationError } from "../errors/KeyVaultError.js"
import * as Identifier from "../wire/Identifier.js"
import {
  checkContentType,
  checkName,
  checkSecretValue,
  checkTags,
  checkValidityWindow,
  describeCharacter,
  MAX_PAGE_SIZE,
  MAX_TIMESTAMP_SECONDS,
  VERSION_PATTERN
} from "../wire/Rules.js"

/**
 * Two validations in order, combined: the first failure is the answer. Written with `flatMap` and `map` rather than
 * `Effect.zipWith`, which runs `Effect.all` (a dozen fiber steps, with its batching and context look-ups) for every
 * call of every operation.
 *
 * @since 0.1.0
 * @category combinators
 */
export const both = <A, B, C, E1, E2>(
  first: Effect.Effect<A, E1>,
  second: Effect.Effect<B, E2>,
  f: (a: A, b: B) => C
): Effect.Effect<C, E1 | E2> => Effect.flatMap(first, (a) => Effect.map(second, (b) => f(a, b)))

/**
 * A record of validations, run in order into a record of their results: the first failure is the answer. The
 * sequential `Effect.all({ ... })` without its machinery (see `both`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const struct = <const Fields extends Readonly<Record<string, Effect.Effect<unknown, unknown>>>>(
  fields: Fields
): Effect.Effect<
  { -readonly [K in keyof Fields]: Effect.Effect.Success<Fields[K]> },
  Effect.Effect.Error<Fields[keyof Fields]>
> => {
  const keys = Object.keys(fields)
  return Effect.suspend(() => {
    const result: Record<string, unknown> = {}
    const step = (i: number): Effect.Effect<unknown, unknown> =>
      i === keys.length ? Effect.succeed(result) : Effect.flatMap(fields[keys[i]!]!, (value) => {
        result[keys[i]!] = value
        return step(i + 1)
      })
    return step(0) as Effect.Effect<
      { -readonly [K in keyof Fields]: Effect.Effect.Success<Fields[K]> },
      Effect.Effect.Error<Fields[keyof Fields]>
    >
  })
}

const fail = (operation: string, field: string, message: string): Effect.Effect<never, ValidationError> =>
  Effect.fail(new ValidationError({ operation, field, message }))

const check = <A>(operation: string, field: string, value: A, problem: string | undefined): Effect.Effect<A, ValidationError> =>
  problem === undefined ? Effect.succeed(value) : fail(operation, field, problem)

const typeName = (input: unknown): string => (input === null ? "null" : typeof input)

// A rejected name or version is described, never quoted: a caller who swapped name and value would otherwise find
// the secret in the error message. Only its length and the first character not allowed (with its position) show.
const shape = (input: unknown, allowed: RegExp): string => {
  if (typeof input !== "string") return `got ${typeName(input)}`
  if (input.length === 0) return "got an empty string"
  const characters = [...input]
  const bad = characters.findIndex((c) => !allowed.test(c))
  return `got ${input.length} characters${
    bad === -1 ? "" : `, ${describeCharacter(characters[bad]!)} at position ${bad + 1} not allowed`
  }`
}

// What the operation's object is called in messages: `Secrets.get` -> "secret name".
const nameOf = (operation: string): string => {
  const service = operation.slice(0, operation.indexOf("."))
  return service === "Secrets"
    ? "secret name"
    : service === "Keys" || service === "Cryptography"
    ? "key name"
    : service === "Certificates"
    ? "certificate name"
    : "name"
}

/**
 * An object name: 1..127 characters of `0-9a-zA-Z-`. A refused name is reported with the first character not
 * allowed and its position (`secret name has "_" at position 4; ...`), never quoted whole.
 *
 * @since 0.1.0
 * @category validation
 */
export const name = (operation: string, input: unknown): Effect.Effect<string, ValidationError> => {
  if (typeof input !== "string") return fail(operation, "name", `${nameOf(operation)} must be a string, got ${typeName(input)}`)
  const problem = checkName(input, nameOf(operation))
  return problem === undefined ? Effect.succeed(input) : fail(operation, "name", problem)
}

/**
 * An optional version: 32 lowercase hex characters.
 *
 * @since 0.1.0
 * @category validation
 */
export const version = (operation: string, input: unknown): Effect.Effect<string | undefined, ValidationError> =>
  input === undefined
    ? Effect.succeed(undefined)
    : typeof input === "string" && VERSION_PATTERN.test(input)
    ? Effect.succeed(input)
    : fail(operation, "version", `version must be 32 lowercase hex characters; ${shape(input, /[0-9a-f]/)}`)

/**
 * A secret value: a string of at most 25 KB as UTF-8. The message gives sizes only.
 *
 * @since 0.1.0
 * @category validation
 */
export const secretValue = (operation: string, input: unknown): Effect.Effect<string, ValidationError> => {
  if (typeof input !== "string") return fail(operation, "value", `value must be a string, got ${typeof input}`)
  return check(operation, "value", input, checkSecretValue(input))
}

/**
 * An optional content type of at most 255 characters.
 *
 * @since 0.1.0
 * @category validation
 */
export const contentType = (operation: string, input: unknown): Effect.Effect<string | undefined, ValidationError> =>
  input === undefined
    ? Effect.succeed(undefined)
    : typeof input !== "string"
    ? fail(operation, "contentType", `contentType must be a string, got ${typeof input}`)
    : check(operation, "contentType", input, checkContentType(input))

/**
 * Optional tags: at most 15, names 1..512 characters, values up to 256, all strings.
 *
 * @since 0.1.0
 * @category validation
 */
export const tags = (
  operation: string,
  input: unknown
): Effect.Effect<Readonly<Record<string, string>> | undefined, ValidationError> => {
  if (input === undefined) return Effect.succeed(undefined)
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return fail(operation, "tags", "tags must be an object of string values")
  }
  return check(operation, "tags", input as Readonly<Record<string, string>>, checkTags(input as Readonly<Record<string, unknown>>))
}

const date = (operation: string, field: string, input: unknown): Effect.Effect<Date | undefined, ValidationError> => {
  if (input === undefined) return Effect.succeed(undefined)
  if (!(input instanceof Date) || Number.isNaN(input.getTime())) {
    return fail(operation, field, `${field} must be a valid Date`)
  }
  const seconds = Math.floor(input.getTime() / 1000)
  return seconds < 0 || seconds > MAX_TIMESTAMP_SECONDS
    ? fail(operation, field, `${field} must lie between 1970 and 9999, got ${input.toISOString()}`)
    : Effect.succeed(input)
}

/**
 * An optional validity window: valid dates, and `notBefore` strictly before `expiresOn` when both are given.
 *
 * @since 0.1.0
 * @category validation
 */
export const validity = (
  operation: string,
  notBefore: unknown,
  expiresOn: unknown
): Effect.Effect<{ readonly notBefore: Date | undefined; readonly expiresOn: Date | undefined }, ValidationError> =>
  Effect.flatMap(
    struct({ notBefore: date(operation, "notBefore", notBefore), expiresOn: date(operation, "expiresOn", expiresOn) }),
    (window) =>
      check(operation, "expiresOn", window, checkValidityWindow(window.notBefore, window.expiresOn))
  )

/**
 * An optional boolean flag.
 *
 * @since 0.1.0
 * @category validation
 */
export const flag = (operation: string, field: string, input: unknown): Effect.Effect<boolean | undefined, ValidationError> =>
  input === undefined || typeof input === "boolean"
    ? Effect.succeed(input)
    : fail(operation, field, `${field} must be a boolean, got ${typeof input}`)

/**
 * An optional page size for list operations: an integer 1..25.
 *
 * @since 0.1.0
 * @category validation
 */
export const pageSize = (operation: string, input: unknown): Effect.Effect<number | undefined, ValidationError> =>
  input === undefined || (typeof input === "number" && Number.isInteger(input) && input >= 1 && input <= MAX_PAGE_SIZE)
    ? Effect.succeed(input)
    : fail(operation, "maxPageSize", `maxPageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${String(input)}`)

/**
 * A backup blob: non-empty bytes.
 *
 * @since 0.1.0
 * @category validation
 */
export const backup = (operation: string, input: unknown): Effect.Effect<Uint8Array, ValidationError> =>
  input instanceof Uint8Array && input.length > 0
    ? Effect.succeed(input)
    : fail(operation, "backup", "backup must be a non-empty Uint8Array")

/**
 * Key types `Keys.create` accepts: RSA and EC, software or HSM-protected.
 *
 * @since 0.1.0
 * @category models
 */
export type CreatableKeyType = "RSA" | "RSA-HSM" | "EC" | "EC-HSM"

const CREATABLE_KEY_TYPES: ReadonlyArray<CreatableKeyType> = ["RSA", "RSA-HSM", "EC", "EC-HSM"]

/**
 * A key type to create: `RSA`, `RSA-HSM`, `EC` or `EC-HSM`.
 *
 * @since 0.1.0
 * @category validation
 */
export const keyType = (operation: string, input: unknown): Effect.Effect<CreatableKeyType, ValidationError> =>
  typeof input === "string" && (CREATABLE_KEY_TYPES as ReadonlyArray<string>).includes(input)
    ? Effect.succeed(input as CreatableKeyType)
    : fail(operation, "keyType", `keyType must be one of ${CREATABLE_KEY_TYPES.join(", ")}; ${shape(input, /./)}`)

/**
 * An optional RSA key size: 2048, 3072 or 4096 bits.
 *
 * @since 0.1.0
 * @category validation
 */
export const rsaKeySize = (operation: string, input: unknown): Effect.Effect<number | undefined, ValidationError> =>
  input === undefined || (typeof input === "number" && RSA_KEY_SIZES.includes(input))
    ? Effect.succeed(input)
    : fail(operation, "keySize", `keySize must be one of ${RSA_KEY_SIZES.join(", ")}, got ${String(input)}`)

/**
 * An optional RSA public exponent: an odd integer from 3 to 2^31 - 1 (65537 is the usual choice).
 *
 * @since 0.1.0
 * @category validation
 */
export const publicExponent = (operation: string, input: unknown): Effect.Effect<number | undefined, ValidationError> =>
  input === undefined ||
    (typeof input === "number" && Number.isInteger(input) && input >= 3 && input <= 0x7fffffff && input % 2 === 1)
    ? Effect.succeed(input)
    : fail(operation, "publicExponent", `publicExponent must be an odd integer from 3 to 2^31-1, got ${String(input)}`)

/**
 * An elliptic curve by its Key Vault name: `P-256`, `P-384`, `P-521` or `P-256K`.
 *
 * @since 0.1.0
 * @category validation
 */
export const curve = (operation: string, input: unknown): Effect.Effect<CurveName, ValidationError> =>
  typeof input === "string" && isCurveName(input)
    ? Effect.succeed(input)
    : fail(operation, "curve", `curve must be one of P-256, P-384, P-521, P-256K; ${shape(input, /./)}`)

/**
 * Optional key operations: known JWK operations, each at most once.
 *
 * @since 0.1.0
 * @category validation
 */
export const keyOperations = (
  operation: string,
  input: unknown
): Effect.Effect<ReadonlyArray<KeyOperation> | undefined, ValidationError> => {
  if (input === undefined) return Effect.succeed(undefined)
  if (!Array.isArray(input)) return fail(operation, "keyOperations", "keyOperations must be an array")
  const seen = new Set<string>()
  for (const [i, op] of (input as ReadonlyArray<unknown>).entries()) {
    if (typeof op !== "string" || !(KEY_OPERATIONS as ReadonlyArray<string>).includes(op)) {
      return fail(operation, "keyOperations", `keyOperations[${i}] is not one of ${KEY_OPERATIONS.join(", ")}`)
    }
    if (seen.has(op)) return fail(operation, "keyOperations", `key operation ${op} is listed twice`)
    seen.add(op)
  }
  return Effect.succeed(input as ReadonlyArray<KeyOperation>)
}

/**
 * ISO 8601 durations as rotation policies use them: `P90D`, `P1Y10D`, `P3M`, `PT48H`, `P2W`. At least one component,
 * and a `T` only when a time component follows.
 *
 * @since 0.1.0
 * @category constants
 */
export const ISO_8601_DURATION: RegExp = /^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/

/**
 * An optional ISO 8601 duration (see `ISO_8601_DURATION`).
 *
 * @since 0.1.0
 * @category validation
 */
export const isoDuration = (
  operation: string,
  field: string,
  input: unknown
): Effect.Effect<string | undefined, ValidationError> =>
  input === undefined || (typeof input === "string" && ISO_8601_DURATION.test(input))
    ? Effect.succeed(input)
    : fail(operation, field, `${field} must be an ISO 8601 duration such as P90D, P1Y or PT48H; ${shape(input, /[0-9PYMWDTHS]/)}`)

/**
 * `POST /rng` returns at most 128 bytes per call.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_RANDOM_BYTES = 128

/**
 * The number of random bytes `POST /rng` may return: an integer 1..128.
 *
 * @since 0.1.0
 * @category validation
 */
export const randomBytesCount = (operation: string, input: unknown): Effect.Effect<number, ValidationError> =>
  typeof input === "number" && Number.isInteger(input) && input >= 1 && input <= MAX_RANDOM_BYTES
    ? Effect.succeed(input)
    : fail(operation, "count", `count must be an integer from 1 to ${MAX_RANDOM_BYTES}, got ${String(input)}`)

/**
 * Binary input (plaintext, ciphertext, digest, signature, key to wrap). Only the length ever appears in a message.
 *
 * @since 0.1.0
 * @category validation
 */
export const bytes = (
  operation: string,
  field: string,
  input: unknown,
  options: { readonly allowEmpty: boolean }
): Effect.Effect<Uint8Array, ValidationError> =>
  !(input instanceof Uint8Array)
    ? fail(operation, field, `${field} must be a Uint8Array`)
    : input.length === 0 && !options.allowEmpty
    ? fail(operation, field, `${field} must not be empty`)
    : Effect.succeed(input)

/**
 * A key identifier of this vault, `https://{vault}/keys/{name}[/{version}]`. An identifier of another vault, of
 * another collection, or with a malformed version is refused.
 *
 * @since 0.1.0
 * @category validation
 */
export const keyIdentifier = (
  operation: string,
  input: unknown,
  vaultUrl: string
): Effect.Effect<{ readonly name: string; readonly version: string | undefined }, ValidationError> => {
  if (typeof input !== "string") return fail(operation, "keyId", `keyId must be a string, got ${typeof input}`)
  const parsed = Option.getOrUndefined(Identifier.parse(input))
  if (parsed === undefined || parsed.collection !== "keys") {
    return fail(operation, "keyId", `keyId must look like https://{vault}/keys/{name}[/{version}]; ${shape(input, /./)}`)
  }
  if (parsed.vaultUrl.toLowerCase() !== vaultUrl.toLowerCase()) {
    return fail(operation, "keyId", `keyId belongs to ${parsed.vaultUrl}, not to this client's vault ${vaultUrl}`)
  }
  return Effect.map(version(operation, parsed.version), (v) => ({ name: parsed.name, version: v }))
}

/**
 * A certificate issuer's name: the object name rule (1..127 characters of `0-9a-zA-Z-`), reported on `issuerName`.
 *
 * @since 0.1.0
 * @category validation
 */
export const issuerName = (operation: string, input: unknown): Effect.Effect<string, ValidationError> => {
  if (typeof input !== "string") return fail(operation, "issuerName", `issuer name must be a string, got ${typeName(input)}`)
  return check(operation, "issuerName", input, checkName(input, "issuer name"))
}
