/**
 * The admin API's HTTP routes: each one decodes its input, calls the `Admin` operation and encodes the answer. Errors
 * are `{"error":{"code","message"}}` with the status of the `AdminError`; bad input is a 400 naming the field, never a
 * crash. The access check happens before (see `AdminRoutes.wrap`).
 *
 * @internal
 */
import { exceedsJsonDepth, MAX_JSON_DEPTH } from "@effect-azure/key-vault/wire/Common"
import { toEventGridSchema } from "@effect-azure/key-vault/rotation/EventGridWebhook"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import type { EventGrid } from "../../events/EventGrid.js"
import type { RegisteredRule } from "../../faults/Faults.js"
import { compileNamePattern, FaultRuleSchema } from "../../faults/FaultRule.js"
import type { EmulatorRequest, EmulatorResponse } from "../../http/Protocol.js"
import { MAX_REQUEST_BODY_BYTES } from "../../http/Protocol.js"
import * as Responses from "../../http/Responses.js"
import { isOperationName, type OperationName } from "../../journal/Operation.js"
import type { VaultRegistry } from "../../vaults/VaultRegistry.js"
import type { Admin, JournalQuery, VaultView } from "../Admin.js"
import { AdminError, badRequest } from "../Admin.js"
import type * as VaultJournal from "./VaultJournal.js"

/** @internal */
export interface RouteContext {
  readonly admin: Admin
  readonly vaults: VaultRegistry
  readonly eventGrid: EventGrid
}

type Answer = Effect.Effect<EmulatorResponse, AdminError>

// --- input --------------------------------------------------------------------------------------------------------

const parseOptions = { onExcessProperty: "error", errors: "first" } as const

// A JSON body as parsed, for the seed document (decoded by `Seed`, whose messages never quote a value).
const jsonBody = (body: Uint8Array): Either.Either<unknown, AdminError> => {
  if (body.length === 0) return Either.left(badRequest("The request body is missing."))
  if (body.length > MAX_REQUEST_BODY_BYTES) {
    return Either.left(badRequest(`The request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes.`))
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body))
  } catch {
    return Either.left(badRequest("The request body is not valid JSON."))
  }
  if (exceedsJsonDepth(parsed)) {
    return Either.left(badRequest(`The request body nests deeper than ${MAX_JSON_DEPTH} levels.`))
  }
  return Either.right(parsed)
}

/**
 * Decodes a JSON body; unknown fields are refused, so a misspelt setting is an error rather than silently ignored.
 * Messages name the field (admin inputs carry no secret values; a seed document is decoded elsewhere).
 */
const decodeBody = <A, I>(schema: Schema.Schema<A, I>, body: Uint8Array): Either.Either<A, AdminError> =>
  Either.flatMap(jsonBody(body), (parsed) =>
    Either.mapLeft(Schema.decodeUnknownEither(schema, parseOptions)(parsed), (error) => {
    const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
    if (issue === undefined) return badRequest("The request body is invalid.")
    const path = issue.path.map(String).join(".")
    return badRequest(path === "" ? `The request body is invalid: ${issue.message}` : `${path}: ${issue.message}`)
  }))

const fromBody = <A, I>(schema: Schema.Schema<A, I>, request: EmulatorRequest): Effect.Effect<A, AdminError> =>
  Either.match(decodeBody(schema, request.body), { onLeft: Effect.fail, onRight: Effect.succeed })

// An empty body is `{}`: `POST .../reveal` and `POST .../reset` need none.
const optionalBody = <A, I>(schema: Schema.Schema<A, I>, request: EmulatorRequest, empty: A) =>
  request.body.length === 0 ? Effect.succeed(empty) : fromBody(schema, request)

const Limit = Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { exact: true })

const ThrottleLimitsSchema = Schema.Struct({ secretCreate: Limit, secretOther: Limit, keyCreate: Limit, keyOther: Limit })

const ThrottleUpdateSchema = Schema.Struct({
  enabled: Schema.optional(Schema.Boolean),
  limits: Schema.optional(ThrottleLimitsSchema),
  windowMillis: Schema.optional(Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))),
  retryAfter: Schema.optional(Schema.Boolean)
})

const ThrottleOptionsSchema = Schema.Struct({
  limits: Schema.optional(ThrottleLimitsSchema),
  windowMillis: Schema.optional(Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))),
  retryAfter: Schema.optional(Schema.Boolean)
})

const CreateVaultSchema = Schema.Struct({
  name: Schema.String,
  settings: Schema.optional(Schema.Struct({
    recoverableDays: Schema.optional(Schema.Int.pipe(Schema.between(1, 90))),
    purgeProtection: Schema.optional(Schema.Boolean),
    enforceValidityPeriod: Schema.optional(Schema.Boolean),
    throttle: Schema.optional(Schema.Union(Schema.Boolean, ThrottleOptionsSchema)),
    faults: Schema.optional(Schema.Array(FaultRuleSchema)),
    port: Schema.optional(Schema.Int.pipe(Schema.between(1, 65535)))
  }))
})

const RevealSchema = Schema.Struct({ version: Schema.optional(Schema.String) })

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

// Repeated parameters and comma-separated lists both work: `?operation=getSecret&operation=setSecret`,
// `?operation=getSecret,setSecret`.
const listParam = (url: URL, name: string): ReadonlyArray<string> | undefined => {
  const values = url.searchParams.getAll(name).flatMap((value) => value.split(",")).map((v) => v.trim())
    .filter((v) => v !== "")
  return values.length === 0 ? undefined : values
}

const oneParam = (url: URL, name: string): string | undefined => {
  const value = url.searchParams.get(name)
  return value === null || value.trim() === "" ? undefined : value.trim()
}

const WHOLE = /^\d{1,15}$/

const intParam = (url: URL, name: string): Either.Either<number | undefined, AdminError> => {
  const value = oneParam(url, name)
  if (value === undefined) return Either.right(undefined)
  return WHOLE.test(value) ? Either.right(Number(value)) : Either.left(badRequest(`'${name}' must be a whole number.`))
}

const timeParam = (url: URL, name: string): Either.Either<number | undefined, AdminError> => {
  const value = oneParam(url, name)
  if (value === undefined) return Either.right(undefined)
  if (WHOLE.test(value)) return Either.right(Number(value))
  const date = parseIsoDate(value)
  return date === undefined
    ? Either.left(badRequest(`'${name}' must be an ISO 8601 date or Unix milliseconds.`))
    : Either.right(date.getTime())
}

const boolParam = (url: URL, name: string): Either.Either<boolean | undefined, AdminError> => {
  const value = oneParam(url, name)?.toLowerCase()
  if (value === undefined) return Either.right(undefined)
  if (value === "true") return Either.right(true)
  if (value === "false") return Either.right(false)
  return Either.left(badRequest(`'${name}' must be true or false.`))
}

const REGEXP_LITERAL = /^\/(.+)\/([a-z]*)$/s

/**
 * The journal query in a URL's parameters: `vault`, `operation`, `status`, `name` (exact, any case, or
 * `/source/flags`), `method`, `since`, `until` (ISO 8601 or Unix ms), `faulted`, `clientRequestId`, `limit`.
 *
 * @internal
 */
export const journalQueryOf = (url: URL): Either.Either<JournalQuery, AdminError> =>
  Either.gen(function*() {
    const operations = listParam(url, "operation")
    for (const operation of operations ?? []) {
      if (!isOperationName(operation)) return yield* Either.left(badRequest(`Unknown operation '${operation}'.`))
    }
    const statuses = listParam(url, "status")
    for (const status of statuses ?? []) {
      if (!/^\d{3}$/.test(status)) return yield* Either.left(badRequest("'status' must be HTTP status codes."))
    }
    const nameText = oneParam(url, "name")
    let name: string | RegExp | undefined = nameText
    if (nameText !== undefined && REGEXP_LITERAL.test(nameText)) {
      try {
        name = compileNamePattern(nameText)
      } catch {
        return yield* Either.left(badRequest("'name' is not a valid regular expression."))
      }
    }
    const limit = yield* intParam(url, "limit")
    if (limit !== undefined && limit < 1) return yield* Either.left(badRequest("'limit' must be at least 1."))
    return {
      vault: listParam(url, "vault"),
      operation: operations as ReadonlyArray<OperationName> | undefined,
      status: statuses?.map(Number),
      name,
      method: oneParam(url, "method"),
      since: yield* timeParam(url, "since"),
      until: yield* timeParam(url, "until"),
      faulted: yield* boolParam(url, "faulted"),
      clientRequestId: oneParam(url, "clientRequestId"),
      limit
    }
  })

const fromEither = <A>(either: Either.Either<A, AdminError>): Effect.Effect<A, AdminError> =>
  Either.match(either, { onLeft: Effect.fail, onRight: Effect.succeed })

// --- output -------------------------------------------------------------------------------------------------------

const ok = (body: unknown, status = 200): EmulatorResponse => Responses.json(status, body)

// A RegExp name (in-process rules) shows as `/source/flags`, the form the JSON API accepts.
const ruleJson = (registered: RegisteredRule): unknown => ({
  id: registered.id,
  fired: registered.fired,
  remaining: registered.remaining,
  rule: registered.rule.name instanceof RegExp
    ? { ...registered.rule, name: `/${registered.rule.name.source}/${registered.rule.name.flags}` }
    : registered.rule
})

// The URL a client uses for a vault, from the origin this request came to (its bare host: a request to a named
// vault's host drops that label first).
const originOf = (ctx: RouteContext, request: EmulatorRequest): string => {
  const url = request.url
  const reached = ctx.vaults.unsafeResolve(url)
  const hostname = url.hostname.toLowerCase()
  if (!reached.isDefault && hostname.startsWith(`${reached.name}.`)) {
    return `${url.protocol}//${url.host.slice(reached.name.length + 1)}`
  }
  return url.origin
}

const vaultJson = (ctx: RouteContext, request: EmulatorRequest, view: VaultView) => ({
  ...view,
  url: ctx.vaults.urlFor(view.name, originOf(ctx, request)),
  urls: ctx.vaults.urlsFor(view.name, originOf(ctx, request))
})

/**
 * The answer for a failed operation: `{"error":{"code","message"}}` with its status.
 *
 * @internal
 */
export const errorResponse = (error: AdminError): EmulatorResponse =>
  Responses.error(error.status, error.code, error.message)

const notFound = (): EmulatorResponse => Responses.error(404, "NotFound", "The requested path is not an admin operation.")

const methodNotAllowed = (request: EmulatorRequest, allow: ReadonlyArray<string>): EmulatorResponse =>
  Responses.error(
    405,
    "MethodNotAllowed",
    `The requested resource does not support http method '${request.method}'.`,
    undefined,
    { allow: allow.join(", ") }
  )

const NO_STORE = { "cache-control": "no-store" }

// --- routes -------------------------------------------------------------------------------------------------------

const clockJson = (view: { readonly now: Date; readonly offsetMillis: number }) =>
  ok({ now: view.now.toISOString(), offsetMillis: view.offsetMillis })

const clockRoute = (ctx: RouteContext, request: EmulatorRequest): Answer => {
  if (request.method === "GET") return Effect.map(ctx.admin.clock.get, clockJson)
  if (request.method !== "POST") return Effect.succeed(methodNotAllowed(request, ["GET", "POST"]))
  return Effect.flatMap(fromBody(ClockChange, request), (change) => {
    if ("advanceSeconds" in change) return Effect.map(ctx.admin.clock.advance(change.advanceSeconds * 1000), clockJson)
    if ("set" in change) {
      const date = parseIsoDate(change.set)
      if (date === undefined) return Effect.fail(badRequest("'set' must be an ISO 8601 date."))
      return Effect.map(ctx.admin.clock.set(date), clockJson)
    }
    return Effect.map(ctx.admin.clock.reset, clockJson)
  })
}

const eventGridRoute = (ctx: RouteContext, request: EmulatorRequest, rest: ReadonlyArray<string>): Answer => {
  const [second, third, ...more] = rest
  const eventGrid = ctx.eventGrid
  if (second === "events" && third === undefined) {
    if (request.method !== "GET") return Effect.succeed(methodNotAllowed(request, ["GET"]))
    return Effect.map(eventGrid.recent, (events) => ok({ value: events.map(toEventGridSchema) }))
  }
  if (second !== "subscriptions" || more.length > 0) return Effect.succeed(notFound())
  if (third !== undefined) {
    if (request.method !== "DELETE") return Effect.succeed(methodNotAllowed(request, ["DELETE"]))
    return Effect.flatMap(eventGrid.unsubscribe(third), (removed) =>
      removed
        ? Effect.succeed(Responses.empty(204))
        : Effect.fail(new AdminError({ reason: "NotFound", code: "NotFound", message: "No such subscription." })))
  }
  switch (request.method) {
    case "GET":
      return Effect.map(eventGrid.subscriptions, (value) => ok({ value }))
    case "POST":
      return Effect.flatMap(fromBody(SubscriptionBody, request), (body) =>
        Effect.match(eventGrid.subscribe(body), {
          onFailure: (error) => Responses.badParameter(error.message),
          onSuccess: (subscription) => ok(subscription, 201)
        }))
    default:
      return Effect.succeed(methodNotAllowed(request, ["GET", "POST"]))
  }
}

const vaultRoute = (ctx: RouteContext, request: EmulatorRequest, rest: ReadonlyArray<string>): Answer => {
  const { admin } = ctx
  const [vault, section, item, action, ...more] = rest
  const method = request.method
  if (vault === undefined) {
    if (method === "GET") {
      return Effect.map(admin.vaults.list, (views) => ok({ value: views.map((view) => vaultJson(ctx, request, view)) }))
    }
    if (method === "POST") {
      return fromBody(CreateVaultSchema, request).pipe(
        Effect.flatMap((input) => admin.vaults.create(input)),
        Effect.map((view) => ok(vaultJson(ctx, request, view), 201))
      )
    }
    return Effect.succeed(methodNotAllowed(request, ["GET", "POST"]))
  }
  if (section === undefined) {
    if (method === "GET") return Effect.map(admin.vaults.get(vault), (view) => ok(vaultJson(ctx, request, view)))
    if (method === "DELETE") return Effect.as(admin.vaults.delete(vault), Responses.empty(204))
    return Effect.succeed(methodNotAllowed(request, ["GET", "DELETE"]))
  }
  switch (section.toLowerCase()) {
    case "reset":
      if (item !== undefined) return Effect.succeed(notFound())
      if (method !== "POST") return Effect.succeed(methodNotAllowed(request, ["POST"]))
      return Effect.map(admin.vaults.reset(vault), (view) => ok(vaultJson(ctx, request, view)))
    case "objects":
      if (item !== undefined) return Effect.succeed(notFound())
      if (method !== "GET") return Effect.succeed(methodNotAllowed(request, ["GET"]))
      return Effect.map(admin.vaults.objects(vault), (objects) => ok(objects))
    case "secrets":
      if (item === undefined || action?.toLowerCase() !== "reveal" || more.length > 0) return Effect.succeed(notFound())
      if (method !== "POST") return Effect.succeed(methodNotAllowed(request, ["POST"]))
      return optionalBody(RevealSchema, request, {}).pipe(
        Effect.flatMap((body) => admin.vaults.revealSecret(item, { vault, version: body.version })),
        Effect.map((revealed) =>
          Responses.json(200, { ...revealed, value: Redacted.value(revealed.value) }, NO_STORE)
        )
      )
    case "faults":
      if (action !== undefined) return Effect.succeed(notFound())
      if (item !== undefined) {
        if (method !== "DELETE") return Effect.succeed(methodNotAllowed(request, ["DELETE"]))
        return Effect.as(admin.faults.remove(item, vault), Responses.empty(204))
      }
      switch (method) {
        case "GET":
          return Effect.map(admin.faults.list(vault), (rules) => ok({ value: rules.map(ruleJson) }))
        case "POST":
          return Effect.flatMap(
            fromBody(FaultRuleSchema, request),
            (rule) => Effect.map(admin.faults.add(rule, vault), (registered) => ok(ruleJson(registered), 201))
          )
        case "DELETE":
          return Effect.as(admin.faults.clear(vault), Responses.empty(204))
        default:
          return Effect.succeed(methodNotAllowed(request, ["GET", "POST", "DELETE"]))
      }
    case "throttle":
      if (item !== undefined) return Effect.succeed(notFound())
      if (method === "GET") return Effect.map(admin.throttle.status(vault), (settings) => ok(settings))
      if (method === "PUT" || method === "PATCH") {
        return Effect.flatMap(
          fromBody(ThrottleUpdateSchema, request),
          (change) => Effect.map(admin.throttle.update(change, vault), (settings) => ok(settings))
        )
      }
      return Effect.succeed(methodNotAllowed(request, ["GET", "PUT", "PATCH"]))
    default:
      return Effect.succeed(notFound())
  }
}

/**
 * A comment line the live journal sends after this long without anything else, so proxies and clients with idle
 * timeouts keep the connection, and a reader can tell a quiet journal from a dead connection.
 *
 * @internal
 */
export const KEEP_ALIVE_MILLIS = 15_000
// How long an `EventSource` waits before it reconnects (with `Last-Event-ID`) after the stream ends.
const RETRY_MILLIS = 1_000

const encoder = new TextEncoder()

const entryJson = (entry: VaultJournal.VaultJournalEntry): string =>
  JSON.stringify({ ...entry, time: new Date(entry.timeMillis).toISOString() })

// One `text/event-stream` block per item; an id-only block (`CaughtUp`) dispatches nothing but moves the reader's
// last event id past the entries the backlog read and skipped as unmatched.
const eventBlock = (item: VaultJournal.LiveItem): string => {
  switch (item._tag) {
    case "Entry":
      return `id: ${item.cursor}\nevent: request\ndata: ${entryJson(item.entry)}\n\n`
    case "CaughtUp":
      return `id: ${item.cursor}\n\n`
    case "Dropped":
      return `id: ${item.cursor}\nevent: dropped\ndata: ${JSON.stringify({ dropped: item.count })}\n\n`
    case "KeepAlive":
      return ": keep-alive\n\n"
  }
}

const eventStream = (items: Stream.Stream<VaultJournal.LiveItem>): EmulatorResponse => {
  // Each chunk of items (a backlog batch, the entries recorded since the last write) is one write.
  const events = Stream.mapChunks(items, (chunk) =>
    Chunk.isEmpty(chunk) ? Chunk.empty() : Chunk.of(encoder.encode(Chunk.join(Chunk.map(chunk, eventBlock), ""))))
  return {
    status: 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      // Tells a buffering reverse proxy (nginx) to pass every event on at once.
      "x-accel-buffering": "no",
      "x-ms-request-id": randomUUID()
    },
    body: new Uint8Array(0),
    stream: Stream.concat(Stream.succeed(encoder.encode(`retry: ${RETRY_MILLIS}\n\n`)), events)
  }
}

const journalRoute = (ctx: RouteContext, request: EmulatorRequest, rest: ReadonlyArray<string>): Answer => {
  const [second, ...more] = rest
  if (more.length > 0) return Effect.succeed(notFound())
  if (second === undefined) {
    if (request.method === "GET") {
      return Effect.flatMap(fromEither(journalQueryOf(request.url)), (query) =>
        Effect.map(ctx.admin.journal.query(query), (page) =>
          ok({
            value: page.value.map((entry) => ({ ...entry, time: new Date(entry.timeMillis).toISOString() })),
            dropped: page.dropped
          })))
    }
    if (request.method === "DELETE") {
      const vaults = listParam(request.url, "vault")
      return Effect.as(
        vaults === undefined
          ? ctx.admin.journal.clear()
          : Effect.forEach(vaults, (vault) => ctx.admin.journal.clear(vault), { discard: true }),
        Responses.empty(204)
      )
    }
    return Effect.succeed(methodNotAllowed(request, ["GET", "DELETE"]))
  }
  if (second.toLowerCase() !== "stream") return Effect.succeed(notFound())
  if (request.method !== "GET") return Effect.succeed(methodNotAllowed(request, ["GET"]))
  return Effect.gen(function*() {
    const query = yield* fromEither(journalQueryOf(request.url))
    const backlog = yield* fromEither(intParam(request.url, "backlog"))
    const bufferSize = yield* fromEither(intParam(request.url, "buffer"))
    const cursor = request.headers["last-event-id"] ?? oneParam(request.url, "cursor")
    const items = yield* ctx.admin.journal.stream(query, { cursor, backlog, bufferSize, keepAliveMillis: KEEP_ALIVE_MILLIS })
    return eventStream(items)
  })
}

/**
 * Serves an authenticated admin request (the path below `/admin/`).
 *
 * @internal
 */
export const route = (ctx: RouteContext, request: EmulatorRequest): Effect.Effect<EmulatorResponse> => {
  const segments = request.url.pathname.split("/").slice(2).filter((segment) => segment !== "")
    .map((segment) => {
      try {
        return decodeURIComponent(segment)
      } catch {
        return segment
      }
    })
  const [first, ...rest] = segments
  let answer: Answer
  switch (first?.toLowerCase()) {
    case "clock":
      answer = rest.length === 0 ? clockRoute(ctx, request) : Effect.succeed(notFound())
      break
    case "eventgrid":
      answer = eventGridRoute(ctx, request, rest.map((segment, i) => (i < 1 ? segment.toLowerCase() : segment)))
      break
    case "vaults":
      answer = vaultRoute(ctx, request, rest)
      break
    case "journal":
      answer = journalRoute(ctx, request, rest)
      break
    case "seed":
      answer = rest.length > 0
        ? Effect.succeed(notFound())
        : request.method !== "POST"
        ? Effect.succeed(methodNotAllowed(request, ["POST"]))
        : Effect.flatMap(fromEither(jsonBody(request.body)), (document) =>
          Effect.map(ctx.admin.seed(document), (report) => ok(report)))
      break
    case "export":
      answer = rest.length > 0
        ? Effect.succeed(notFound())
        : request.method !== "GET"
        ? Effect.succeed(methodNotAllowed(request, ["GET"]))
        : Effect.flatMap(fromEither(boolParam(request.url, "includeValues")), (includeValues) =>
          Effect.map(
            ctx.admin.export({ includeValues: includeValues ?? false, vaults: listParam(request.url, "vault") }),
            (document) => Responses.json(200, document, NO_STORE)
          ))
      break
    default:
      answer = Effect.succeed(notFound())
  }
  return Effect.catchAll(answer, (error) => Effect.succeed(errorResponse(error)))
}
