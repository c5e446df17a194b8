/**
 * The emulator's admin surface over HTTP, under `/admin/` on the same origin as the vault, protected like the vault:
 * a request without a bearer token gets the 401 challenge, and with an access token configured any other token gets
 * 401. No `api-version` is needed. Admin requests never meet fault rules or the throttle and are not journaled.
 *
 * - `GET /admin/clock` → `200 {"now": "<ISO date>", "offsetMillis": n}`
 * - `POST /admin/clock` with `{"advanceSeconds": n}` (n >= 0), `{"set": "<ISO date>"}` or `{"reset": true}` → the same
 *   body, after the due Event Grid events were published
 * - `GET /admin/eventgrid/subscriptions` → `200 {"value": [subscription...]}`
 * - `POST /admin/eventgrid/subscriptions` with `{"endpoint": url, "schema"?: "EventGrid" | "CloudEvents",
 *   "maxEventsPerBatch"?: n, "maxAttempts"?: n}` → `201 subscription` once the handshake passed, else 400
 * - `DELETE /admin/eventgrid/subscriptions/{id}` → 204, or 404
 * - `GET /admin/eventgrid/events` → `200 {"value": [...]}`: the latest events published, in the Event Grid schema
 *
 * @internal
 */
import { toEventGridSchema } from "@effect-azure/key-vault/rotation/EventGridWebhook"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { EmulatorClock } from "../clock/EmulatorClock.js"
import type { EventGrid } from "../events/EventGrid.js"
import * as Challenge from "../http/Challenge.js"
import type { EmulatorHandler, EmulatorRequest, EmulatorResponse } from "../http/Protocol.js"
import * as RequestBody from "../http/RequestBody.js"
import * as Responses from "../http/Responses.js"

/** @internal */
export interface AdminOptions {
  readonly clock: EmulatorClock
  readonly eventGrid: EventGrid
  readonly tenantId: string
  readonly resource: string | undefined
  readonly verifyToken: Challenge.TokenVerifier | undefined
}

const MAX_ADVANCE_SECONDS = 100 * 365 * 24 * 60 * 60

const ClockChange = Schema.Union(
  Schema.Struct({ advanceSeconds: Schema.Number.pipe(Schema.finite(), Schema.between(0, MAX_ADVANCE_SECONDS)) }),
  Schema.Struct({ set: Schema.String }),
  Schema.Struct({ reset: Schema.Literal(true) })
)

const SubscriptionBody = Schema.Struct({
  endpoint: Schema.String,
  schema: Schema.optional(Schema.Literal("EventGrid", "CloudEvents")),
  maxEventsPerBatch: Schema.optional(Schema.Number),
  maxAttempts: Schema.optional(Schema.Number)
})

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/

/**
 * Parses an ISO 8601 date (a day, or a time with `Z` or an offset); `undefined` when it is not one.
 *
 * @internal
 */
export const parseIsoDate = (text: string): Date | undefined => {
  if (!ISO_DATE.test(text)) return undefined
  const millis = Date.parse(text)
  return Number.isNaN(millis) ? undefined : new Date(millis)
}

const notFound = (): EmulatorResponse => Responses.error(404, "NotFound", "The requested path is not an admin operation.")

const methodNotAllowed = (request: EmulatorRequest, allow: ReadonlyArray<string>): EmulatorResponse =>
  Responses.error(
    405,
    "MethodNotAllowed",
    `The requested resource does not support http method '${request.method}'.`,
    undefined,
    { allow: allow.join(", ") }
  )

const clockView = (clock: EmulatorClock): Effect.Effect<EmulatorResponse> =>
  Effect.zipWith(
    clock.now,
    clock.offsetMillis,
    (now, offsetMillis) => Responses.json(200, { now: now.toISOString(), offsetMillis })
  )

const changeClock = (clock: EmulatorClock, request: EmulatorRequest): Effect.Effect<EmulatorResponse> => {
  const body = RequestBody.decode(ClockChange, request.body)
  if (Either.isLeft(body)) return Effect.succeed(Responses.badParameter(body.left))
  const change = body.right
  if ("advanceSeconds" in change) return Effect.zipRight(clock.advance(change.advanceSeconds * 1000), clockView(clock))
  if ("set" in change) {
    const date = parseIsoDate(change.set)
    if (date === undefined) return Effect.succeed(Responses.badParameter("'set' must be an ISO 8601 date."))
    return Effect.zipRight(clock.set(date), clockView(clock))
  }
  return Effect.zipRight(clock.reset, clockView(clock))
}

const subscriptions = (eventGrid: EventGrid, request: EmulatorRequest, id: string | undefined) => {
  if (id !== undefined) {
    if (request.method !== "DELETE") return Effect.succeed(methodNotAllowed(request, ["DELETE"]))
    return Effect.map(
      eventGrid.unsubscribe(id),
      (removed) => removed ? Responses.empty(204) : Responses.error(404, "NotFound", "No such subscription.")
    )
  }
  switch (request.method) {
    case "GET":
      return Effect.map(eventGrid.subscriptions, (value) => Responses.json(200, { value }))
    case "POST": {
      const body = RequestBody.decode(SubscriptionBody, request.body)
      if (Either.isLeft(body)) return Effect.succeed(Responses.badParameter(body.left))
      return Effect.match(eventGrid.subscribe(body.right), {
        onFailure: (error) => Responses.badParameter(error.message),
        onSuccess: (subscription) => Responses.json(201, subscription)
      })
    }
    default:
      return Effect.succeed(methodNotAllowed(request, ["GET", "POST"]))
  }
}

const route = (options: AdminOptions, request: EmulatorRequest): Effect.Effect<EmulatorResponse> => {
  const segments = request.url.pathname.split("/").slice(2).filter((segment) => segment !== "")
  const [first, second, third, ...rest] = segments.map((segment) => segment.toLowerCase())
  if (first === "clock" && second === undefined) {
    if (request.method === "GET") return clockView(options.clock)
    if (request.method === "POST") return changeClock(options.clock, request)
    return Effect.succeed(methodNotAllowed(request, ["GET", "POST"]))
  }
  if (first === "eventgrid" && second === "subscriptions" && rest.length === 0) {
    return subscriptions(options.eventGrid, request, third === undefined ? undefined : segments[2])
  }
  if (first === "eventgrid" && second === "events" && third === undefined) {
    if (request.method !== "GET") return Effect.succeed(methodNotAllowed(request, ["GET"]))
    return Effect.map(options.eventGrid.recent, (events) => Responses.json(200, { value: events.map(toEventGridSchema) }))
  }
  return Effect.succeed(notFound())
}

/**
 * Whether a request is for the admin surface.
 *
 * @internal
 */
export const isAdminRequest = (request: EmulatorRequest): boolean => {
  const path = request.url.pathname.toLowerCase()
  return path === "/admin" || path.startsWith("/admin/")
}

/**
 * Serves `/admin/...` itself and passes every other request to `vault`.
 *
 * @internal
 */
export const wrap = (vault: EmulatorHandler, options: AdminOptions): EmulatorHandler => (request) => {
  if (!isAdminRequest(request)) return vault(request)
  const resource = options.resource ?? Challenge.resourceFor(request.url)
  if (!Challenge.hasBearerToken(request)) return Effect.succeed(Challenge.challenge(options.tenantId, resource))
  if (options.verifyToken !== undefined && !options.verifyToken(request)) {
    return Effect.succeed(Challenge.invalidToken(options.tenantId, resource))
  }
  return route(options, request)
}
