/**
 * The service's limits on secret input: the shared `Rules` checks (the client runs the very same ones before
 * sending). Timestamps are range-checked by the wire schema itself. Messages describe the limit, never the value.
 *
 * @since 0.1.0
 */
import {
  checkContentType,
  checkSecretValue,
  checkTags,
  checkValidityWindow
} from "@effect-azure/key-vault/wire/Rules"
import type { SecretSetParameters, SecretUpdateParameters } from "@effect-azure/key-vault/wire/SecretWire"
import * as Redacted from "effect/Redacted"

const validateMetadata = (input: SecretUpdateParameters): string | undefined =>
  (input.contentType === undefined ? undefined : checkContentType(input.contentType)) ??
    (input.tags === undefined ? undefined : checkTags(input.tags)) ??
    checkValidityWindow(input.attributes?.nbf, input.attributes?.exp)

/**
 * Checks a set request; the answer is a `BadParameter` message, or undefined when the input is valid.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateSet = (input: SecretSetParameters): string | undefined =>
  checkSecretValue(Redacted.value(input.value)) ?? validateMetadata(input)

/**
 * Checks an update request; the answer is a `BadParameter` message, or undefined when the input is valid.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateUpdate = (input: SecretUpdateParameters): string | undefined => validateMetadata(input)
