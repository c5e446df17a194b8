/**
 * Checks that run before any request, with the service's own limits (`wire/Rules`). Each failure is a
 * `ValidationError` that names the operation and field, and never quotes a secret value.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { ValidationError } from "../errors/KeyVaultError.js"
import {
  MAX_CONTENT_TYPE_LENGTH,
  MAX_PAGE_SIZE,
  MAX_SECRET_VALUE_BYTES,
  MAX_TAG_NAME_LENGTH,
  MAX_TAG_VALUE_LENGTH,
  MAX_TAGS,
  MAX_TIMESTAMP_SECONDS,
  NAME_PATTERN,
  VERSION_PATTERN
} from "../wire/Rules.js"

const fail = (operation: string, field: string, message: string): Effect.Effect<never, ValidationError> =>
  Effect.fail(new ValidationError({ operation, field, message }))

const describe = (input: unknown): string =>
  typeof input === "string" ? JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}...` : input) : typeof input

/**
 * An object name: 1..127 characters of `0-9a-zA-Z-`.
 *
 * @since 0.1.0
 */
export const name = (operation: string, input: unknown): Effect.Effect<string, ValidationError> =>
  typeof input === "string" && NAME_PATTERN.test(input)
    ? Effect.succeed(input)
    : fail(operation, "name", `name must match ${NAME_PATTERN.source} (1-127 letters, digits, dashes), got ${describe(input)}`)

/**
 * An optional version: 32 lowercase hex characters.
 *
 * @since 0.1.0
 */
export const version = (operation: string, input: unknown): Effect.Effect<string | undefined, ValidationError> =>
  input === undefined
    ? Effect.succeed(undefined)
    : typeof input === "string" && VERSION_PATTERN.test(input)
    ? Effect.succeed(input)
    : fail(operation, "version", `version must be 32 lowercase hex characters, got ${describe(input)}`)

/**
 * A secret value: a string of at most 25 KB as UTF-8. The message gives sizes only.
 *
 * @since 0.1.0
 */
export const secretValue = (operation: string, input: unknown): Effect.Effect<string, ValidationError> => {
  if (typeof input !== "string") return fail(operation, "value", `value must be a string, got ${typeof input}`)
  // Cheap bound first: a UTF-8 string is never shorter in bytes than in UTF-16 units, nor longer than 3x.
  if (input.length * 3 <= MAX_SECRET_VALUE_BYTES) return Effect.succeed(input)
  const bytes = Buffer.byteLength(input, "utf8")
  return bytes <= MAX_SECRET_VALUE_BYTES
    ? Effect.succeed(input)
    : fail(operation, "value", `value is ${bytes} bytes of UTF-8; the vault accepts at most ${MAX_SECRET_VALUE_BYTES}`)
}

/**
 * An optional content type of at most 255 characters.
 *
 * @since 0.1.0
 */
export const contentType = (operation: string, input: unknown): Effect.Effect<string | undefined, ValidationError> =>
  input === undefined
    ? Effect.succeed(undefined)
    : typeof input !== "string"
    ? fail(operation, "contentType", `contentType must be a string, got ${typeof input}`)
    : input.length > MAX_CONTENT_TYPE_LENGTH
    ? fail(operation, "contentType", `contentType is ${input.length} characters; at most ${MAX_CONTENT_TYPE_LENGTH}`)
    : Effect.succeed(input)

/**
 * Optional tags: at most 15, names 1..512 characters, values up to 256, all strings.
 *
 * @since 0.1.0
 */
export const tags = (
  operation: string,
  input: unknown
): Effect.Effect<Readonly<Record<string, string>> | undefined, ValidationError> => {
  if (input === undefined) return Effect.succeed(undefined)
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return fail(operation, "tags", "tags must be an object of string values")
  }
  const entries = Object.entries(input)
  if (entries.length > MAX_TAGS) return fail(operation, "tags", `${entries.length} tags; at most ${MAX_TAGS}`)
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > MAX_TAG_NAME_LENGTH) {
      return fail(operation, "tags", `tag name ${describe(key)} must be 1-${MAX_TAG_NAME_LENGTH} characters`)
    }
    if (typeof value !== "string") return fail(operation, "tags", `tag ${describe(key)} must have a string value`)
    if (value.length > MAX_TAG_VALUE_LENGTH) {
      return fail(operation, "tags", `tag ${describe(key)} value is ${value.length} characters; at most ${MAX_TAG_VALUE_LENGTH}`)
    }
  }
  return Effect.succeed(input as Readonly<Record<string, string>>)
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
 */
export const validity = (
  operation: string,
  notBefore: unknown,
  expiresOn: unknown
): Effect.Effect<{ readonly notBefore: Date | undefined; readonly expiresOn: Date | undefined }, ValidationError> =>
  Effect.flatMap(
    Effect.all({ notBefore: date(operation, "notBefore", notBefore), expiresOn: date(operation, "expiresOn", expiresOn) }),
    (window) =>
      window.notBefore !== undefined && window.expiresOn !== undefined &&
        Math.floor(window.notBefore.getTime() / 1000) >= Math.floor(window.expiresOn.getTime() / 1000)
        ? fail(operation, "expiresOn", "expiresOn must be later than notBefore")
        : Effect.succeed(window)
  )

/**
 * An optional boolean flag.
 *
 * @since 0.1.0
 */
export const flag = (operation: string, field: string, input: unknown): Effect.Effect<boolean | undefined, ValidationError> =>
  input === undefined || typeof input === "boolean"
    ? Effect.succeed(input)
    : fail(operation, field, `${field} must be a boolean, got ${typeof input}`)

/**
 * An optional page size for list operations: an integer 1..25.
 *
 * @since 0.1.0
 */
export const pageSize = (operation: string, input: unknown): Effect.Effect<number | undefined, ValidationError> =>
  input === undefined || (typeof input === "number" && Number.isInteger(input) && input >= 1 && input <= MAX_PAGE_SIZE)
    ? Effect.succeed(input)
    : fail(operation, "maxPageSize", `maxPageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${String(input)}`)

/**
 * A backup blob: non-empty bytes.
 *
 * @since 0.1.0
 */
export const backup = (operation: string, input: unknown): Effect.Effect<Uint8Array, ValidationError> =>
  input instanceof Uint8Array && input.length > 0
    ? Effect.succeed(input)
    : fail(operation, "backup", "backup must be a non-empty Uint8Array")
