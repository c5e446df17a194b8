/**
 * The service's limits on secret input, from the shared `Rules` (the client checks the same numbers before sending).
 * Messages describe the limit, never the value.
 *
 * @since 0.1.0
 */
import {
  MAX_CONTENT_TYPE_LENGTH,
  MAX_SECRET_VALUE_BYTES,
  MAX_TAG_NAME_LENGTH,
  MAX_TAG_VALUE_LENGTH,
  MAX_TAGS,
  MAX_TIMESTAMP_SECONDS
} from "@effect-azure/key-vault/wire/Rules"
import type { SecretSetParameters, SecretUpdateParameters } from "@effect-azure/key-vault/wire/SecretWire"
import * as Redacted from "effect/Redacted"

type Metadata = SecretUpdateParameters

const validateMetadata = (input: Metadata): string | undefined => {
  if (input.contentType !== undefined && input.contentType.length > MAX_CONTENT_TYPE_LENGTH) {
    return `The content type is longer than ${MAX_CONTENT_TYPE_LENGTH} characters.`
  }
  if (input.tags !== undefined) {
    const entries = Object.entries(input.tags)
    if (entries.length > MAX_TAGS) return `An object may have at most ${MAX_TAGS} tags.`
    for (const [name, value] of entries) {
      if (name.length === 0 || name.length > MAX_TAG_NAME_LENGTH) {
        return `Tag names must be 1 to ${MAX_TAG_NAME_LENGTH} characters long.`
      }
      if (value.length > MAX_TAG_VALUE_LENGTH) return `Tag values may be at most ${MAX_TAG_VALUE_LENGTH} characters long.`
    }
  }
  for (const [field, date] of [["nbf", input.attributes?.nbf], ["exp", input.attributes?.exp]] as const) {
    if (date === undefined) continue
    const seconds = date.getTime() / 1000
    if (!(seconds >= 0 && seconds <= MAX_TIMESTAMP_SECONDS)) {
      return `The attribute '${field}' is outside the supported range of dates (1970 to 9999).`
    }
  }
  return undefined
}

/**
 * Checks a set request; the answer is a `BadParameter` message, or undefined when the input is valid.
 *
 * @since 0.1.0
 */
export const validateSet = (input: SecretSetParameters): string | undefined => {
  if (Buffer.byteLength(Redacted.value(input.value), "utf8") > MAX_SECRET_VALUE_BYTES) {
    return `The secret value exceeds the maximum size of ${MAX_SECRET_VALUE_BYTES} bytes.`
  }
  return validateMetadata(input)
}

/**
 * Checks an update request; the answer is a `BadParameter` message, or undefined when the input is valid.
 *
 * @since 0.1.0
 */
export const validateUpdate = (input: SecretUpdateParameters): string | undefined => validateMetadata(input)
