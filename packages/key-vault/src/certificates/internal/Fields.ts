/**
 * Small helpers the certificate modules share: dropping undefined fields from a wire object, describing an input's
 * type without quoting it, failing validation. Not public.
 *
 * @since 0.1.0
 * @internal
 */
import * as Effect from "effect/Effect"
import { ValidationError } from "../../errors/KeyVaultError.js"

/**
 * The record without its undefined fields (the wire omits what is not said).
 *
 * @since 0.1.0
 * @internal
 */
export const defined = <A extends Record<string, unknown>>(record: A): A =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as A

/**
 * As `defined`, and `undefined` when nothing is left.
 *
 * @since 0.1.0
 * @internal
 */
export const orUndefined = <A extends Record<string, unknown>>(record: A): A | undefined => {
  const kept = defined(record)
  return Object.keys(kept).length === 0 ? undefined : kept
}

/**
 * What an input is, for a message that must not quote it: `null`, `array`, `string`, `number`, ...
 *
 * @since 0.1.0
 * @internal
 */
export const typeName = (input: unknown): string =>
  input === null ? "null" : Array.isArray(input) ? "array" : typeof input

/**
 * A `ValidationError` of `operation` on `field`.
 *
 * @since 0.1.0
 * @internal
 */
export const invalid = (operation: string, field: string, message: string): Effect.Effect<never, ValidationError> =>
  Effect.fail(new ValidationError({ operation, field, message }))
