/**
 * @since 0.1.0
 */

/**
 * Wire primitives: Unix-seconds timestamps, base64url bytes, tags, list envelopes.
 *
 * @since 0.1.0
 */
export * as WireCommon from "./wire/Common.js"

/**
 * The Key Vault error envelope.
 *
 * @since 0.1.0
 */
export * as ErrorBody from "./wire/ErrorBody.js"

/**
 * Wire schemas for secrets.
 *
 * @since 0.1.0
 */
export * as SecretWire from "./wire/SecretWire.js"

/**
 * The service's limits on names, values and metadata.
 *
 * @since 0.1.0
 */
export * as Rules from "./wire/Rules.js"

/**
 * Object identifiers.
 *
 * @since 0.1.0
 */
export * as Identifier from "./wire/Identifier.js"
