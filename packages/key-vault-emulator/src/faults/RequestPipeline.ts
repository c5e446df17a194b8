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
 * Every answer carries an `x-ms-request-id` (the app's, or a new one for a fault's answer) and echoes the request's
 * `x-ms-client-request-id`, as the service does; the journal records both with the request's `traceparent`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { randomUUID } from "node:crypto"
import * as Challenge from "../http/Challenge.js"
import type { EmulatorHandler, EmulatorRequest, EmulatorResponse } from "../http/Protocol.js"
import type { AppliedFault, Journal } from "../journal/Journal.js"
import type { Classified } from "../journal/Operation.js"
import { classifyRequest } from "../journal/Operation.js"
import type { FaultDecision, Faults } from "./Faults.js"
import * as FaultResponses from "./FaultResponses.js"
import type { Throttle } from "./Throttle.js"

/**
 * What the pipeline wraps the app with.
 *
 * @since 0.1.0
 * @category models
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

// Correlation headers are kept in the journal, bounded: a client may send anything in them.
const MAX_ID_LENGTH = 256
const idOf = (value: string | undefined): string | undefined =>
  value === undefined ? undefined : value.length > MAX_ID_LENGTH ? value.slice(0, MAX_ID_LENGTH) : value

// The answer with its correlation headers: the service's request id (a fault's answer may lack one) and the
// client's request id echoed back. Copies the headers only when something is missing.
const correlated = (response: EmulatorResponse, clientRequestId: string | undefined): EmulatorResponse => {
  const headers = response.headers
  const needsId = headers["x-ms-request-id"] === undefined
  const echo = clientRequestId !== undefined && headers["x-ms-client-request-id"] !== clientRequestId
  if (!needsId && !echo) return response
  const next: Record<string, string> = { ...headers }
  if (needsId) next["x-ms-request-id"] = randomUUID()
  if (echo) next["x-ms-client-request-id"] = clientRequestId
  return { ...response, headers: next }
}

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

// The app's answer, then the first `after` rule that fires. One fault per request: a `before` latency or the
// throttle already was this request's fault.
const afterApp = (
  options: PipelineOptions,
  classified: Classified,
  progress: Progress,
  response: EmulatorResponse
): Effect.Effect<EmulatorResponse> => {
  if (progress.fault !== null) return Effect.succeed(response)
  const after = options.faults.unsafeDecide(classified, "after")
  if (after === undefined) return Effect.succeed(response)
  progress.fault = applied(after)
  return Effect.map(act(after, Option.some(response)), (replaced) => replaced ?? response)
}

// Called while the request's effect runs (never when it is built), so rule draws and counts happen in request order.
// Without rules and throttling this is one `flatMap` around the app: the pipeline costs next to nothing then.
const authenticated = (
  app: EmulatorHandler,
  options: PipelineOptions,
  request: EmulatorRequest,
  classified: Classified,
  progress: Progress
): Effect.Effect<EmulatorResponse> => {
  const toApp = (): Effect.Effect<EmulatorResponse> => {
    progress.reachedEngine = true
    return Effect.flatMap(app(request), (response) => afterApp(options, classified, progress, response))
  }
  const throttle = options.throttle
  const throttleThenApp = (): Effect.Effect<EmulatorResponse> =>
    throttle === undefined
      ? toApp()
      : Effect.flatMap(throttle.check(classified), (throttled) => {
        if (Option.isNone(throttled)) return toApp()
        progress.fault ??= throttledFault
        return Effect.succeed(throttled.value)
      })
  const before = options.faults.unsafeDecide(classified, "before")
  if (before === undefined) return throttleThenApp()
  progress.fault = applied(before)
  return Effect.flatMap(
    act(before, Option.none()),
    (replacement) => replacement !== undefined ? Effect.succeed(replacement) : throttleThenApp()
  )
}

/**
 * Wraps the app. A request interrupted inside the pipeline (its client gave up during injected latency) is journaled
 * with status `null`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const wrap = (app: EmulatorHandler, options: PipelineOptions): EmulatorHandler => (request) =>
  Effect.clockWith((clock) => {
    const start = clock.unsafeCurrentTimeMillis()
    const tokenPresent = Challenge.hasBearerToken(request)
    const classified = classifyRequest(request)
    const progress: Progress = { fault: null, reachedEngine: false }
    const clientRequestId = idOf(request.headers["x-ms-client-request-id"])
    const traceparent = idOf(request.headers["traceparent"])
    const record = (status: number | null): void =>
      options.journal.unsafeRecord({
        timeMillis: start,
        method: request.method,
        path: request.url.pathname,
        operation: classified.operation,
        name: classified.name ?? null,
        status,
        tokenPresent,
        reachedEngine: progress.reachedEngine,
        fault: progress.fault,
        durationMillis: clock.unsafeCurrentTimeMillis() - start,
        clientRequestId,
        traceparent
      })
    // Without a token the app answers the challenge before touching the engine.
    const serve = tokenPresent ? authenticated(app, options, request, classified, progress) : app(request)
    return Effect.onInterrupt(
      Effect.map(serve, (answer) => {
        const response = correlated(answer, clientRequestId)
        record(deliveredStatus(response))
        return response
      }),
      () => Effect.sync(() => record(null))
    )
  })
