/**
 * A circuit breaker for one vault host. Consecutive transient failures (5xx, timeouts, network errors; not 429s,
 * which are the vault asking to slow down, and never 4xx answers, which prove it is up) open it; while open, calls
 * fail at once with `CircuitOpenError`; after the reset timeout one probe goes through while other callers are still
 * refused; the probe's success closes it, its failure opens it again. Time from `Clock`.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import { CircuitOpenError, ServiceError, TransportError } from "../errors/KeyVaultError.js"

/**
 * The breaker's state.
 *
 * @since 0.1.0
 */
export type State =
  | { readonly _tag: "Closed"; readonly failures: number }
  | { readonly _tag: "Open"; readonly openedAt: number }
  | { readonly _tag: "HalfOpen" }

/**
 * Breaker state per vault host: 0 closed, 1 half-open, 2 open.
 *
 * @since 0.1.0
 */
export const stateMetric: Metric.Metric.Gauge<number> = Metric.gauge("keyvault_circuit_state", {
  description: "Circuit breaker state per vault host: 0 closed, 1 half-open, 2 open"
})

/**
 * A breaker.
 *
 * @since 0.1.0
 */
export interface CircuitBreaker {
  readonly state: Effect.Effect<State>
  /** Runs `effect` through the breaker. */
  readonly guard: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E | CircuitOpenError>
}

/**
 * Whether an outcome counts as a failure of the vault: 5xx (transient ones), 408, timeouts and network errors.
 *
 * @since 0.1.0
 */
export const countsAsFailure = (error: unknown): boolean =>
  (error instanceof TransportError && error.reason !== "Tls" && error.reason !== "Dns") ||
  (error instanceof ServiceError && error.transient)

/**
 * A breaker for `vaultHost`.
 *
 * @since 0.1.0
 */
export const make = (
  vaultHost: string,
  options: { readonly failureThreshold: number; readonly resetTimeoutMillis: number }
): CircuitBreaker => {
  let state: State = { _tag: "Closed", failures: 0 }
  const gauge = Metric.tagged(stateMetric, "vault_host", vaultHost)

  // The state changes synchronously (so two fibers can never both take the probe); the log follows as an Effect.
  const transition = (next: State): Effect.Effect<void> => {
    const previous = state._tag
    state = next
    if (previous === next._tag) return Effect.void
    gauge.unsafeUpdate(next._tag === "Closed" ? 0 : next._tag === "HalfOpen" ? 1 : 2, [])
    return Effect.logWarning(`circuit breaker for ${vaultHost}: ${previous} -> ${next._tag}`).pipe(
      Effect.annotateLogs({ vaultHost, from: previous, to: next._tag })
    )
  }

  const refused = (now: number, openedAt: number): Effect.Effect<never, CircuitOpenError> =>
    Effect.fail(
      new CircuitOpenError({
        vaultHost,
        message: `the circuit for ${vaultHost} is open after repeated failures; calls are refused until a probe succeeds`,
        retryAfter: Duration.millis(Math.max(0, openedAt + options.resetTimeoutMillis - now))
      })
    )

  const record = (probe: boolean, exit: Exit.Exit<unknown, unknown>, now: number): Effect.Effect<void> => {
    const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
    // A defect proves nothing about the vault either way; only a failure that counts does.
    const failed = Option.isSome(failure) && countsAsFailure(failure.value)
    if (Exit.isFailure(exit) && Option.isNone(failure) && probe) return transition({ _tag: "Open", openedAt: now })
    if (probe) return transition(failed ? { _tag: "Open", openedAt: now } : { _tag: "Closed", failures: 0 })
    if (state._tag !== "Closed") return Effect.void
    if (!failed) return state.failures === 0 ? Effect.void : transition({ _tag: "Closed", failures: 0 })
    const failures = state.failures + 1
    return failures >= options.failureThreshold
      ? transition({ _tag: "Open", openedAt: now })
      : transition({ _tag: "Closed", failures })
  }

  const guard = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E | CircuitOpenError> =>
    Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<A, E | CircuitOpenError> => {
      let probe = false
      let announce: Effect.Effect<void> = Effect.void
      if (state._tag === "Open") {
        if (now < state.openedAt + options.resetTimeoutMillis) return refused(now, state.openedAt)
        probe = true
        announce = transition({ _tag: "HalfOpen" })
      } else if (state._tag === "HalfOpen") {
        return refused(now, now - options.resetTimeoutMillis)
      }
      const run = probe ? Effect.zipRight(announce, effect) : effect
      return run.pipe(
        Effect.onExit((exit) =>
          Effect.flatMap(Clock.currentTimeMillis, (end) =>
            // An interrupted probe proves nothing: reopen so the next caller can probe.
            Exit.isInterrupted(exit) && probe ? transition({ _tag: "Open", openedAt: end - options.resetTimeoutMillis }) : record(probe, exit, end))
        )
      )
    })

  return { state: Effect.sync(() => state), guard }
}
