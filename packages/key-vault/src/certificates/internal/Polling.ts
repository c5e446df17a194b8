/**
 * Waiting for a certificate operation: a `Schedule` decides when to look again (and when to stop looking), the
 * vault's `Retry-After` on an answer stretches the next wait, and the operation's status decides the outcome. Time is
 * the `Clock`'s, so `TestClock` drives it. Not public.
 *
 * @since 0.1.0
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { CertificateOperationError, type CertificateOperationFailure } from "../../errors/KeyVaultError.js"
import type { CertificateOperation } from "../Certificate.js"

/**
 * One look at the operation: what the vault answered, and how long it asked to wait before the next look.
 *
 * @since 0.1.0
 * @internal
 */
export interface Poll {
  readonly operation: CertificateOperation
  readonly retryAfter: Option.Option<Duration.Duration>
}

/**
 * The user's schedule (fed the operation after each look), with each wait stretched to the vault's `Retry-After`
 * when it asked for longer: never sooner than the schedule says, never sooner than the vault asked.
 *
 * @since 0.1.0
 * @internal
 */
export const withRetryAfter = <Out, R>(
  schedule: Schedule.Schedule<Out, CertificateOperation, R>
): Schedule.Schedule<[Out, Poll], Poll, R> =>
  Schedule.intersect(Schedule.mapInput(schedule, (poll: Poll) => poll.operation), Schedule.identity<Poll>()).pipe(
    Schedule.modifyDelay(([, poll], delay) =>
      Option.match(poll.retryAfter, {
        onNone: () => delay,
        onSome: (asked) => Duration.max(delay, asked)
      })
    )
  )

const failure = (
  operation: CertificateOperation,
  reason: CertificateOperationFailure,
  fallbackMessage: string
): CertificateOperationError =>
  new CertificateOperationError({
    name: operation.name,
    reason,
    operationStatus: operation.status,
    code: operation.error?.code,
    innerCode: operation.error?.innerError?.code,
    // Only a failure has a message of the vault's worth quoting; the others are this client's verdict.
    message: reason === "Failed" ? operation.error?.message ?? operation.statusDetails ?? fallbackMessage : fallbackMessage,
    requestId: operation.requestId
  })

/**
 * What an operation's state means: still `pending`, `completed`, or the typed error it ended in. An `inProgress`
 * operation of issuer `Unknown` waits for a merge that polling cannot bring: it is `AwaitingMerge`.
 *
 * @since 0.1.0
 * @internal
 */
export const outcome = (operation: CertificateOperation): "pending" | "completed" | CertificateOperationError => {
  const status = operation.status.toLowerCase()
  if (status === "completed") return "completed"
  if (status === "inprogress") {
    return operation.issuerName?.toLowerCase() === "unknown"
      ? failure(
        operation,
        "AwaitingMerge",
        "the operation waits for its CSR to be signed by an external CA and merged (issuer Unknown)"
      )
      : "pending"
  }
  if (status === "cancelled" || status === "canceled") {
    return failure(operation, "Cancelled", "the certificate operation was cancelled")
  }
  return failure(operation, "Failed", `the certificate operation ended with status ${operation.status}`)
}

/**
 * Looks again, on the schedule, until the operation leaves `inProgress`; answers the completed operation, or fails
 * with the `CertificateOperationError` it ended in (`StillPending` when the schedule stops first).
 *
 * @since 0.1.0
 * @internal
 */
export const awaitCompletion = <Out, R, E, R2>(
  first: Poll,
  poll: Effect.Effect<Poll, E, R2>,
  schedule: Schedule.Schedule<Out, CertificateOperation, R>
): Effect.Effect<CertificateOperation, E | CertificateOperationError, R | R2> =>
  Effect.gen(function*() {
    const driver = yield* Schedule.driver(withRetryAfter(schedule))
    let current = first
    while (true) {
      const state = outcome(current.operation)
      if (state === "completed") return current.operation
      if (state !== "pending") return yield* Effect.fail(state)
      const wait = yield* Effect.option(driver.next(current))
      if (Option.isNone(wait)) {
        return yield* Effect.fail(
          failure(current.operation, "StillPending", "the poll schedule ended while the operation was in progress")
        )
      }
      current = yield* poll
    }
  })

/**
 * The default poll schedule: every 2 seconds, as the official SDK polls, for as long as it takes. Compose it with
 * `Schedule.upTo` or `Schedule.recurs` to bound the wait.
 *
 * @since 0.1.0
 * @internal
 */
export const defaultSchedule: Schedule.Schedule<number> = Schedule.spaced(Duration.seconds(2))
