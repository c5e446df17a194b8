/**
 * The tag telemetry reports for an error (`error.type`, the `error_type` metric label).
 *
 * @since 0.1.0
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"

/**
 * The error's `_tag` (the package's errors all have one), else `Unknown`.
 *
 * @since 0.1.0
 * @internal
 */
export const ofError = (error: unknown): string => {
  const tag = typeof error === "object" && error !== null ? (error as { readonly _tag?: unknown })._tag : undefined
  return typeof tag === "string" ? tag : "Unknown"
}

/**
 * The tag of a cause's first failure, else `Unknown`.
 *
 * @since 0.1.0
 * @internal
 */
export const ofCause = (cause: Cause.Cause<unknown>): string => ofError(Option.getOrUndefined(Cause.failureOption(cause)))
