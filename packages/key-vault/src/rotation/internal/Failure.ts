/**
 * Failures as a tag and a message, for events and logs: never the failure object itself, which could hold anything.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type { RotationFailure } from "../RotationEvent.js"

const MAX_MESSAGE = 500

const field = (u: unknown, name: string): string | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const value = (u as Record<string, unknown>)[name]
  return typeof value === "string" && value.length > 0 ? value : undefined
}

/**
 * The tag (`_tag`, else the error's `name`) and message of a typed failure. Client errors never carry values; a
 * handler's own errors are described the same way, so their messages must not contain values either.
 *
 * @internal
 */
export const describe = (error: unknown): RotationFailure => {
  const tag = field(error, "_tag") ?? field(error, "name") ?? "UnknownError"
  const message = field(error, "message") ?? "no message"
  return { tag, message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message }
}

/**
 * A cause as a failure: its first typed failure, else `Defect` (a defect's content is never described: it could
 * quote anything).
 *
 * @internal
 */
export const describeCause = (cause: Cause.Cause<unknown>): RotationFailure => {
  const failure = Cause.failureOption(cause)
  return failure._tag === "Some"
    ? describe(failure.value)
    : { tag: "Defect", message: "the operation died unexpectedly" }
}
