/**
 * The service's limits on names, values and metadata. The client validates against them before any request;
 * the emulator enforces the same numbers, so a test that passes here fails there for the same reason.
 *
 * @since 0.1.0
 */

/**
 * Object names: 1 to 127 characters, ASCII letters, digits and dashes.
 *
 * @since 0.1.0
 * @category constants
 */
export const NAME_PATTERN: RegExp = /^[0-9a-zA-Z-]{1,127}$/

/**
 * How one character of a name, version or other identifier is shown in a message: printable ASCII in quotes
 * (`"_"`), anything else (controls, spaces, invisible and non-ASCII characters) as its code point (`U+0000`), with
 * the character itself too when it is a visible one (`"ü" (U+00FC)`). Never use it on a value.
 *
 * @since 0.1.0
 * @category utils
 */
export const describeCharacter = (character: string): string => {
  const codePoint = character.codePointAt(0) ?? 0
  const hex = `U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`
  if (codePoint > 0x20 && codePoint < 0x7f) return JSON.stringify(character)
  // Controls, format characters (zero-width, bidi), separators, lone surrogates, private use and unassigned.
  return /^[\p{C}\p{Z}]$/u.test(character) ? hex : `${JSON.stringify(character)} (${hex})`
}

/**
 * An object name against the service's rule (see `NAME_PATTERN`): `undefined` when it is fine, otherwise what is
 * wrong, naming the first character not allowed and its position (1-based, in code points). `what` starts the
 * message: `secret name`, `key name`, ... The name is never quoted whole: a caller who swapped name and value would
 * find the value there.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkName = (name: string, what: string = "name"): string | undefined => {
  if (NAME_PATTERN.test(name)) return undefined
  if (name.length === 0) return `${what} is empty; names are 1-127 characters of 0-9, a-z, A-Z and -`
  let position = 0
  for (const character of name) {
    position++
    if (!/^[0-9a-zA-Z-]$/.test(character)) {
      return `${what} has ${describeCharacter(character)} at position ${position}; names may contain only 0-9, a-z, A-Z and -`
    }
  }
  return `${what} is ${name.length} characters; names are at most 127`
}

/**
 * Object versions: 32 lowercase hex characters.
 *
 * @since 0.1.0
 * @category constants
 */
export const VERSION_PATTERN: RegExp = /^[0-9a-f]{32}$/

/**
 * A secret value may be at most 25 KB (25,600 bytes of UTF-8).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_SECRET_VALUE_BYTES = 25 * 1024

/**
 * A content type may be at most 255 characters.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_CONTENT_TYPE_LENGTH = 255

/**
 * At most 15 tags per object; tag names up to 512 characters, tag values up to 256.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_TAGS = 15

/**
 * A tag name may be at most 512 characters.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_TAG_NAME_LENGTH = 512

/**
 * A tag value may be at most 256 characters.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_TAG_VALUE_LENGTH = 256

/**
 * `maxresults` on list operations: 1..25, default 25.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_PAGE_SIZE = 25

/**
 * The latest stable data-plane api-version.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_API_VERSION = "2025-07-01"

/**
 * A well-formed api-version: `7.4`, `7.6-preview.2`, `2025-07-01`, `2026-04-01-preview`.
 *
 * @since 0.1.0
 * @category constants
 */
export const API_VERSION_PATTERN: RegExp = /^(\d+\.\d+|\d{4}-\d{2}-\d{2})(-preview(\.\d+)?)?$/

/**
 * Dates outside this range cannot be represented as Key Vault timestamps (years 1970..9999).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_TIMESTAMP_SECONDS = 253402300799

/**
 * A content type: at most 255 characters.
 *
 * This and the checks below are the service's checks on metadata, as pure functions answering a problem description
 * (or `undefined` when the input is fine). The client turns an answer into a `ValidationError`, the emulator into a
 * 400 `BadParameter`: one rule, two enforcers. Descriptions give sizes and limits, never the offending value.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkContentType = (contentType: string): string | undefined =>
  contentType.length > MAX_CONTENT_TYPE_LENGTH
    ? `contentType is ${contentType.length} characters; at most ${MAX_CONTENT_TYPE_LENGTH}`
    : undefined

/**
 * Tags: at most 15, names 1..512 characters, values strings of at most 256 characters.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkTags = (tags: Readonly<Record<string, unknown>>): string | undefined => {
  const entries = Object.entries(tags)
  if (entries.length > MAX_TAGS) return `${entries.length} tags; at most ${MAX_TAGS}`
  for (const [name, value] of entries) {
    if (name.length === 0 || name.length > MAX_TAG_NAME_LENGTH) {
      return `a tag name is ${name.length} characters; tag names must be 1-${MAX_TAG_NAME_LENGTH}`
    }
    if (typeof value !== "string") return "tag values must be strings"
    if (value.length > MAX_TAG_VALUE_LENGTH) {
      return `a tag value is ${value.length} characters; at most ${MAX_TAG_VALUE_LENGTH}`
    }
  }
  return undefined
}

const utf8 = new TextEncoder()

/**
 * A secret value: at most 25 KB of UTF-8.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkSecretValue = (value: string): string | undefined => {
  // Cheap bound first: UTF-8 never takes more than 3 bytes per UTF-16 unit.
  if (value.length * 3 <= MAX_SECRET_VALUE_BYTES) return undefined
  const bytes = utf8.encode(value).length
  return bytes > MAX_SECRET_VALUE_BYTES
    ? `value is ${bytes} bytes of UTF-8; the vault accepts at most ${MAX_SECRET_VALUE_BYTES}`
    : undefined
}

/**
 * A validity window: `notBefore` strictly before `expiresOn` (compared in whole seconds, as the vault stores them).
 *
 * @since 0.1.0
 * @category validation
 */
export const checkValidityWindow = (notBefore: Date | undefined, expiresOn: Date | undefined): string | undefined =>
  notBefore !== undefined && expiresOn !== undefined &&
    Math.floor(notBefore.getTime() / 1000) >= Math.floor(expiresOn.getTime() / 1000)
    ? "expiresOn must be later than notBefore"
    : undefined
