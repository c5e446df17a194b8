/**
 * The request pipeline around the Key Vault app: journal, fault rules and throttling, in this order per request:
 *
 * 1. no bearer token: the app answers the 401 challenge; never faulted, never throttled, never counted;
 * 2. the first `before` rule that fires answers instead of the app (`Latency` waits, then goes on) — the engine never
 *    sees the request;
 * 3. throttling (when on) answers 429 without counting the request;
 * 4. the app serves the request;
 * 5. the first `after` rule that fires replaces or disturbs the answer (the write, if any, stays applied);
 * 6. the journal records the outcome.
 *
 * At most one rule applies per request. The handler keeps the app's contract: it never fails.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Challenge from "../http/Challenge.js"
import type { EmulatorHandler, EmulatorRequest, EmulatorResponse } from "../http/Protocol.js"
import type { AppliedFault, Journal } from "../journal/Journal.js"
import type { Classified } from "../journal/Operation.js"
import { classify } from "../journal/Operation.js"
import type { FaultDecision, Faults } from "./Faults.js"
import * as FaultResponses from "./FaultResponses.js"
import type { Throttle } from "./Throttle.js"

/**
 * What the pipeline wraps the app with.
 *
 * @since 0.1.0
 */
export interface PipelineOptions {
  readonly journal: Journal
  readonly faults: Faults
  /** Throttling mode; off when absent. */
  readonly throttle?: Throttle | undefined
}

// Filled in as the request moves through the pipeline, so an interrupted request is journaled with what it met.
interface Progress {
  fault: AppliedFault | null
  reachedEngine: boolean
}

const applied = (decision: FaultDecision): AppliedFault => ({
  kind: decision.action._tag,
  ruleId: decision.ruleId,
  phase: decision.phase
})

const throttledFault: AppliedFault = { kind: "Throttled", ruleId: null, phase: null }

// The status the client actually received: none when the connection was dropped or never answered.
const deliveredStatus = (response: EmulatorResponse): number | null =>
  response.fault?._tag === "Reset" || response.fault?._tag === "Stall" ? null : response.status

/** Applies a firing rule's action to the app's answer (`after`) or in place of it (`before`: `answer` is none). */
const act = (
  decision: FaultDecision,
  answer: Option.Option<EmulatorResponse>
): Effect.Effect<EmulatorResponse | undefined> => {
  const action = decision.action
  switch (action._tag) {
    case "Status":
      return Effect.map(Clock.currentTimeMillis, (now) => FaultResponses.statusResponse(action, now))
    case "Latency":
      return Effect.as(Effect.sleep(Duration.millis(action.millis)), Option.getOrUndefined(answer))
    case "Reset":
      return Effect.succeed(FaultResponses.transportFault({ _tag: "Reset" }))
    case "Stall":
      return Effect.succeed(FaultResponses.transportFault({ _tag: "Stall" }))
    case "MalformedJson":
      return Effect.succeed(FaultResponses.malformedJson())
    case "Truncate":
      // Always an `after` rule (see FaultRule), so the answer is there.
      return Effect.succeed(Option.match(answer, {
        onNone: () => undefined,
        onSome: (response) => FaultResponses.truncate(response, action.bytes)
      }))
  }
}

const authenticated = (
  app: EmulatorHandler,
  options: PipelineOptions,
  request: EmulatorRequest,
  classified: Classified,
  progress: Progress
): Effect.Effect<EmulatorResponse> =>
  Effect.gen(function*() {
    const before = yield* options.faults.decide(classified, "before")
    if (Option.isSome(before)) {
      progress.fault = applied(before.value)
      const replacement = yield* act(before.value, Option.none())
      if (replacement !== undefined) return replacement
    }
    if (options.throttle !== undefined) {
      const throttled = yield* options.throttle.check(classified)
      if (Option.isSome(throttled)) {
        progress.fault ??= throttledFault
        return throttled.value
      }
    }
    progress.reachedEngine = true
    const response = yield* app(request)
    // One fault per request: a `before` latency already was this request's fault.
    if (progress.fault !== null) return response
    const after = yield* options.faults.decide(classified, "after")
    if (Option.isNone(after)) return response
    progress.fault = applied(after.value)
    return (yield* act(after.value, Option.some(response))) ?? response
  })

/**
 * Wraps the app. A request interrupted inside the pipeline (its client gave up during injected latency) is journaled
 * with status `null`.
 *
 * @since 0.1.0
 */
export const wrap = (app: EmulatorHandler, options: PipelineOptions): EmulatorHandler => (request) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const tokenPresent = Challenge.hasBearerToken(request)
    const classified = classify(request.method, request.url.pathname)
    const progress: Progress = { fault: null, reachedEngine: false }
    const record = (status: number | null): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (end) =>
        options.journal.record({
          timeMillis: start,
          method: request.method,
          path: request.url.pathname,
          operation: classified.operation,
          name: classified.name ?? null,
          status,
          tokenPresent,
          reachedEngine: progress.reachedEngine,
          fault: progress.fault,
          durationMillis: end - start
        }))
    // Without a token the app answers the challenge before touching the engine.
    const serve = tokenPresent ? authenticated(app, options, request, classified, progress) : app(request)
    const response = yield* Effect.onInterrupt(serve, () => record(null))
    yield* record(deliveredStatus(response))
    return response
  })
