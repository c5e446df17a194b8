/**
 * A circuit breaker for one vault host. Consecutive transient failures (5xx, 408, timeouts, network errors; not
 * 429s, which are the vault asking to slow down, and never other 4xx answers, which prove it is up) open it; while
 * open, calls fail at once with `CircuitOpenError`; after the reset timeout one probe goes through while other
 * callers are still refused; the probe's success closes it, its failure opens it again. Time from `Clock`.
 *
 * What counts is a request, not an attempt (`request`): a request that fails after its retries is one failure, and
 * one that succeeds on a retry is a success. Otherwise a single request retried five times against a 503 would open
 * the circuit for every other caller, while the vault may be failing only that one request. Each attempt still
 * passes admission, so a request whose retries run into a circuit opened by others stops at once. `guard` (one
 * outcome per call) remains for callers that run the breaker around a single attempt.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Tracer from "effect/Tracer"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import { CircuitOpenError, isUnavailable } from "../errors/KeyVaultError.js"
import * as Instruments from "../telemetry/internal/Instruments.js"

/**
 * The breaker's state.
 *
 * @since 0.1.0
 * @category models
 */
export type State =
  | { readonly _tag: "Closed"; readonly failures: number }
  | { readonly _tag: "Open"; readonly openedAt: number }
  | { readonly _tag: "HalfOpen" }

/**
 * Breaker state per vault host: 0 closed, 1 half-open, 2 open (gauge `keyvault.circuit.state`, unit `{state}`; label
 * `vault_host`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const stateMetric: Metric.Metric.Gauge<number> = Instruments.gauge(
  "keyvault.circuit.state",
  "Circuit breaker state per vault host: 0 closed, 1 half-open, 2 open ({state})",
  "{state}"
)

/**
 * Breaker transitions per vault host (counter `keyvault.circuit.transitions`, unit `{transition}`; labels
 * `vault_host`, `from`, `to`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const transitionsMetric: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.circuit.transitions",
  "Circuit breaker transitions per vault host, labelled from and to, in transitions ({transition})",
  "{transition}"
)

/**
 * Lets one attempt of a request through the breaker (or refuses it while the circuit is open), without recording
 * its outcome: `request` records the request's outcome once.
 *
 * @since 0.1.0
 * @category models
 */
export type Admit = <A, E>(attempt: Effect.Effect<A, E>) => Effect.Effect<A, E | CircuitOpenError>

/**
 * A breaker.
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitBreaker {
  readonly state: Effect.Effect<State>
  /** Runs `effect` through the breaker as one call: admitted once, its outcome recorded once. */
  readonly guard: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E | CircuitOpenError>
  /**
   * Runs a whole request, retries included, through the breaker: `run` wraps each attempt in `admit` (so an attempt
   * is refused once others have opened the circuit), and the request's final outcome is recorded once. The
   * transitions the request causes are logged under `span` when given (the operation's span, when the fiber does not
   * hold it as its current span).
   */
  readonly request: <A, E>(
    run: (admit: Admit) => Effect.Effect<A, E>,
    span?: Tracer.AnySpan | undefined
  ) => Effect.Effect<A, E | CircuitOpenError>
}

/**
 * Whether an outcome counts as a failure of the vault: 5xx (transient ones), 408, timeouts and network errors.
 * Matched by tag and type id, so errors of another installed copy of the package count alike.
 *
 * @since 0.1.0
 * @category utils
 */
export const countsAsFailure = (error: unknown): boolean => isUnavailable(error)

type Admission =
  | { readonly _tag: "Admitted"; readonly probe: boolean; readonly from: State["_tag"] }
  | { readonly _tag: "Refused"; readonly retryAfterMillis: number }

/**
 * A breaker for `vaultHost`. Its state is held here, so the breaker can be built synchronously (as the
 * transport does today); `makeEffect` is the same inside an `Effect`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  vaultHost: string,
  options: { readonly failureThreshold: number; readonly resetTimeoutMillis: number }
): CircuitBreaker => {
  // A plain variable rather than a `Ref`: every read and update below happens synchronously inside one step, so it
  // is just as atomic, and a closed circuit (every request's path) is checked without an effect round trip.
  let current: State = { _tag: "Closed", failures: 0 }
  const modify = <B>(f: (state: State) => readonly [B, State]): Effect.Effect<B> =>
    Effect.sync(() => {
      const [result, next] = f(current)
      current = next
      return result
    })
  const gauge = Metric.tagged(stateMetric, "vault_host", vaultHost)

  // One label array per (from, to), made once: Effect caches a metric's hook per label array.
  const transitionLabels = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
  const countTransition = (from: State["_tag"], to: State["_tag"]): void => {
    const key = `${from}>${to}`
    let labels = transitionLabels.get(key)
    if (labels === undefined) {
      labels = [
        MetricLabel.make("vault_host", vaultHost),
        MetricLabel.make("from", from),
        MetricLabel.make("to", to)
      ]
      transitionLabels.set(key, labels)
    }
    transitionsMetric.unsafeUpdate(1, labels)
  }

  const announce = (from: State["_tag"], to: State["_tag"], span: Tracer.AnySpan | undefined): Effect.Effect<void> =>
    from === to ? Effect.void : Effect.zipRight(
      Effect.zipRight(
        Effect.sync(() => countTransition(from, to)),
        Metric.set(gauge, to === "Closed" ? 0 : to === "HalfOpen" ? 1 : 2)
      ),
      // Opening is what an operator must see; the way back (half-open, closed) is information.
      (to === "Open" ? Effect.logWarning : Effect.logInfo)(`circuit breaker for ${vaultHost}: ${from} -> ${to}`).pipe(
        Effect.annotateLogs({ "keyvault.vault_host": vaultHost, "keyvault.circuit.from": from, "keyvault.circuit.to": to }),
        (log) => span === undefined ? log : Effect.withParentSpan(log, span)
      )
    )

  // Every decision is one synchronous `modify`: atomic, so two fibers can never both take the probe.
  const transition = (f: (current: State) => State, span?: Tracer.AnySpan): Effect.Effect<void> =>
    Effect.flatMap(modify((state) => {
      const next = f(state)
      return [[state._tag, next._tag] as const, next]
    }), ([from, to]) => announce(from, to, span))

  const refused = (retryAfterMillis: number): CircuitOpenError =>
    new CircuitOpenError({
      vaultHost,
      message: `the circuit for ${vaultHost} is open after repeated failures; calls are refused until a probe succeeds`,
      retryAfter: Duration.millis(Math.max(0, retryAfterMillis))
    })

  // Admission of a call or request: closed lets it through; open past its timeout makes this one the probe.
  const admit = (now: number): Effect.Effect<Admission> =>
    modify((state): [Admission, State] => {
      switch (state._tag) {
        case "Closed":
          return [{ _tag: "Admitted", probe: false, from: "Closed" }, state]
        case "HalfOpen":
          return [{ _tag: "Refused", retryAfterMillis: 0 }, state]
        case "Open":
          return now < state.openedAt + options.resetTimeoutMillis
            ? [{ _tag: "Refused", retryAfterMillis: state.openedAt + options.resetTimeoutMillis - now }, state]
            : [{ _tag: "Admitted", probe: true, from: "Open" }, { _tag: "HalfOpen" }]
      }
    })

  const record = (
    probe: boolean,
    exit: Exit.Exit<unknown, unknown>,
    now: number,
    span: Tracer.AnySpan | undefined
  ): Effect.Effect<void> => {
    // An interrupted probe proves nothing: reopen with the timeout already elapsed, so the next caller probes.
    if (Exit.isInterrupted(exit)) {
      return probe ? transition(() => ({ _tag: "Open", openedAt: now - options.resetTimeoutMillis }), span) : Effect.void
    }
    const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
    // A defect proves nothing about the vault, but a probe that died must not leave the breaker half-open for ever.
    if (Exit.isFailure(exit) && Option.isNone(failure)) {
      return probe ? transition(() => ({ _tag: "Open", openedAt: now }), span) : Effect.void
    }
    const failed = Option.isSome(failure) && countsAsFailure(failure.value)
    if (probe) return transition(() => failed ? { _tag: "Open", openedAt: now } : { _tag: "Closed", failures: 0 }, span)
    return transition((current) => {
      if (current._tag !== "Closed") return current
      if (!failed) return current.failures === 0 ? current : { _tag: "Closed", failures: 0 }
      const failures = current.failures + 1
      return failures >= options.failureThreshold ? { _tag: "Open", openedAt: now } : { _tag: "Closed", failures }
    }, span)
  }

  // Each attempt of a request, checked when it runs: the probe owns the half-open circuit and goes on; any other
  // request stops as soon as the circuit is no longer closed (others opened it meanwhile).
  const admitProbe: Admit = (attempt) => attempt
  const admitWhileClosed: Admit = <A2, E2>(attempt: Effect.Effect<A2, E2>): Effect.Effect<A2, E2 | CircuitOpenError> =>
    Effect.suspend((): Effect.Effect<A2, E2 | CircuitOpenError> => {
      const state = current
      return state._tag === "Closed" ? attempt : Effect.flatMap(Clock.currentTimeMillis, (at) =>
        Effect.fail(refused(state._tag === "Open" ? state.openedAt + options.resetTimeoutMillis - at : 0)))
    })

  // The outcome of a request admitted while closed. A success on a circuit with no failures counted changes nothing,
  // so every request's usual path reads no clock and updates nothing.
  const recordClosed = (exit: Exit.Exit<unknown, unknown>, span: Tracer.AnySpan | undefined): Effect.Effect<void> =>
    exit._tag === "Success" && current._tag === "Closed" && current.failures === 0
      ? Effect.void
      : Effect.flatMap(Clock.currentTimeMillis, (end) => record(false, exit, end, span))

  // Admission and the recording of the outcome are one uninterruptible step around the (interruptible) request, so
  // an interruption can never leave a probe taken and its outcome unrecorded (the breaker stuck half-open).
  const request = <A, E>(
    run: (admit: Admit) => Effect.Effect<A, E>,
    span?: Tracer.AnySpan
  ): Effect.Effect<A, E | CircuitOpenError> =>
    Effect.uninterruptibleMask((restore): Effect.Effect<A, E | CircuitOpenError> => {
      // Closed: admitted at once, without a clock read (only an open circuit's timeout needs the time).
      if (current._tag === "Closed") {
        // `matchCauseEffect` under this mask rather than `Effect.onExit`, which would add a second mask: the path
        // of every request.
        return Effect.matchCauseEffect(restore(Effect.suspend(() => run(admitWhileClosed))), {
          onSuccess: (a) => {
            const recorded = recordClosed(Exit.succeed(a), span)
            return recorded === Effect.void ? Effect.succeed(a) : Effect.as(recorded, a)
          },
          onFailure: (cause) => Effect.zipRight(recordClosed(Exit.failCause(cause), span), Effect.failCause(cause))
        })
      }
      return Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.flatMap(admit(now), (admission): Effect.Effect<A, E | CircuitOpenError> => {
          if (admission._tag === "Refused") return Effect.fail(refused(admission.retryAfterMillis))
          const { probe } = admission
          const body = Effect.suspend(() => run(probe ? admitProbe : admitWhileClosed))
          return restore(probe ? Effect.zipRight(announce(admission.from, "HalfOpen", span), body) : body).pipe(
            Effect.onExit((exit) => Effect.flatMap(Clock.currentTimeMillis, (end) => record(probe, exit, end, span)))
          )
        }))
    })

  const guard = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E | CircuitOpenError> =>
    request((admitOnce) => admitOnce(effect))

  return { state: Effect.sync(() => current), guard, request }
}

/**
 * `make` inside an `Effect`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeEffect = (
  vaultHost: string,
  options: { readonly failureThreshold: number; readonly resetTimeoutMillis: number }
): Effect.Effect<CircuitBreaker> => Effect.sync(() => make(vaultHost, options))
