/**
 * One webhook subscription: its validation handshake, its queue of events, and the fiber that posts them in batches
 * with retries. Every outgoing call is journaled; nothing logged or journaled quotes the endpoint's query string
 * (where a webhook's shared secret usually is).
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { toCloudEventSchema, toEventGridSchema } from "@effect-azure/key-vault/rotation/EventGridWebhook"
import type { KeyVaultEvent } from "@effect-azure/key-vault/rotation/RotationEvent"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { DeliveryRecord, Journal, JournalOperation } from "../../journal/Journal.js"

type Schema = "EventGrid" | "CloudEvents"

/** @internal */
export interface SubscriptionInput {
  readonly endpoint: string
  readonly schema?: Schema | undefined
  readonly maxEventsPerBatch?: number | undefined
  readonly maxAttempts?: number | undefined
  readonly retryDelay?: Duration.DurationInput | undefined
}

/** @internal */
export interface SubscriptionView {
  readonly id: string
  readonly endpoint: string
  readonly schema: Schema
  readonly maxEventsPerBatch: number
  readonly maxAttempts: number
}

/** @internal */
export interface Delivery {
  readonly subscription: SubscriptionView
  /** Queues an event for delivery (never blocks; beyond 10,000 waiting events the oldest go). */
  readonly offer: (event: KeyVaultEvent) => void
  readonly stop: Effect.Effect<void>
}

/** @internal */
export interface DeliveryEnv {
  readonly client: HttpClient.HttpClient
  readonly journal: Journal | undefined
  readonly scope: Scope.Scope
  readonly provideClock: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  readonly onStop: (id: string) => void
}

/** @internal */
export const VALIDATION_EVENT_TYPE = "Microsoft.EventGrid.SubscriptionValidationEvent"

/** The origin the CloudEvents handshake names, as Event Grid's. */
const REQUEST_ORIGIN = "eventgrid.azure.net"
const CALL_TIMEOUT = Duration.seconds(30)
const QUEUE_CAPACITY = 10_000

interface Failure {
  readonly message: string
}

interface CallOutcome {
  readonly status: number | null
  readonly error: string | null
}

const wholeInRange = (value: number, min: number, max: number): boolean =>
  Number.isSafeInteger(value) && value >= min && value <= max

const parseEndpoint = (endpoint: string): URL | undefined => {
  try {
    const url = new URL(endpoint)
    return url.protocol === "https:" || url.protocol === "http:" ? url : undefined
  } catch {
    return undefined
  }
}

const shown = (url: URL): string => `${url.origin}${url.pathname}`

const errorTag = (error: unknown): string =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
    ? error._tag
    : "Error"

/** @internal */
export const start = (input: SubscriptionInput, env: DeliveryEnv): Effect.Effect<Delivery, Failure> =>
  Effect.gen(function*() {
    const url = parseEndpoint(input.endpoint)
    if (url === undefined) return yield* Effect.fail({ message: "the endpoint must be an absolute http: or https: URL" })
    const schema = input.schema ?? "EventGrid"
    if (schema !== "EventGrid" && schema !== "CloudEvents") {
      return yield* Effect.fail({ message: "the schema must be EventGrid or CloudEvents" })
    }
    const maxEventsPerBatch = input.maxEventsPerBatch ?? 10
    if (!wholeInRange(maxEventsPerBatch, 1, 5000)) {
      return yield* Effect.fail({ message: "maxEventsPerBatch must be a whole number from 1 to 5000" })
    }
    const maxAttempts = input.maxAttempts ?? 5
    if (!wholeInRange(maxAttempts, 1, 100)) {
      return yield* Effect.fail({ message: "maxAttempts must be a whole number from 1 to 100" })
    }
    const retryDelay = Duration.decodeUnknown(input.retryDelay ?? Duration.seconds(1))
    if (Option.isNone(retryDelay) || !Duration.isFinite(retryDelay.value)) {
      return yield* Effect.fail({ message: "retryDelay must be a finite duration" })
    }
    const subscription: SubscriptionView = {
      id: crypto.randomUUID(),
      endpoint: shown(url),
      schema,
      maxEventsPerBatch,
      maxAttempts
    }

    // One call, journaled with its outcome; a transport failure or timeout has no status.
    const call = (
      operation: JournalOperation,
      request: HttpClientRequest.HttpClientRequest,
      record: Omit<DeliveryRecord, "subscriptionId" | "schema" | "error">,
      accept: (response: { readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly json: Effect.Effect<unknown, unknown> }) => Effect.Effect<boolean>
    ): Effect.Effect<CallOutcome & { readonly accepted: boolean }> =>
      Effect.gen(function*() {
        const startMillis = yield* Clock.currentTimeMillis
        const outcome = yield* env.client.execute(request).pipe(
          Effect.flatMap((response) =>
            Effect.map(accept(response), (accepted) => ({ status: response.status, error: null, accepted }))
          ),
          Effect.scoped,
          Effect.timeoutFail({ duration: CALL_TIMEOUT, onTimeout: () => ({ _tag: "Timeout" }) }),
          Effect.catchAll((error) => Effect.succeed({ status: null, error: errorTag(error), accepted: false }))
        )
        const endMillis = yield* Clock.currentTimeMillis
        env.journal?.unsafeRecord({
          timeMillis: startMillis,
          method: request.method,
          path: url.pathname,
          operation,
          name: null,
          status: outcome.status,
          tokenPresent: false,
          reachedEngine: false,
          fault: null,
          durationMillis: endMillis - startMillis,
          delivery: { subscriptionId: subscription.id, schema, ...record, error: outcome.error }
        })
        return outcome
      })

    const isOk = (status: number): boolean => status >= 200 && status < 300

    // The handshake: Event Grid's validation event, or the CloudEvents abuse-protection OPTIONS.
    const handshake = schema === "EventGrid"
      ? Effect.gen(function*() {
        const code = crypto.randomUUID()
        const now = new Date(yield* Clock.currentTimeMillis)
        const request = HttpClientRequest.post(url).pipe(
          HttpClientRequest.setHeader("aeg-event-type", "SubscriptionValidation"),
          HttpClientRequest.bodyUnsafeJson([{
            id: crypto.randomUUID(),
            topic: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/key-vault-emulator",
            subject: "",
            eventType: VALIDATION_EVENT_TYPE,
            eventTime: now.toISOString(),
            data: { validationCode: code },
            dataVersion: "2",
            metadataVersion: "1"
          }])
        )
        return yield* call("validateEventSubscription", request, { attempt: 1, events: 0 }, (response) =>
          isOk(response.status)
            ? Effect.match(response.json, {
              onFailure: () => false,
              onSuccess: (body) =>
                typeof body === "object" && body !== null && "validationResponse" in body &&
                body.validationResponse === code
            })
            : Effect.succeed(false))
      })
      : call(
        "validateEventSubscription",
        HttpClientRequest.make("OPTIONS")(url).pipe(HttpClientRequest.setHeader("webhook-request-origin", REQUEST_ORIGIN)),
        { attempt: 1, events: 0 },
        (response) => {
          const allowed = response.headers["webhook-allowed-origin"]?.trim().toLowerCase()
          return Effect.succeed(isOk(response.status) && (allowed === REQUEST_ORIGIN || allowed === "*"))
        }
      )
    const validated = yield* handshake
    if (!validated.accepted) {
      const why = validated.status === null
        ? `no answer (${validated.error ?? "Error"})`
        : `status ${validated.status}${isOk(validated.status) ? " without the expected handshake answer" : ""}`
      return yield* Effect.fail({ message: `the ${schema} validation handshake with ${subscription.endpoint} failed: ${why}` })
    }

    const queue = yield* Queue.sliding<KeyVaultEvent>(QUEUE_CAPACITY)

    const post = (batch: ReadonlyArray<KeyVaultEvent>, attempt: number) => {
      const body = JSON.stringify(batch.map(schema === "EventGrid" ? toEventGridSchema : toCloudEventSchema))
      const request = HttpClientRequest.post(url).pipe(
        HttpClientRequest.setHeaders({
          "aeg-event-type": "Notification",
          "aeg-subscription-name": subscription.id,
          "aeg-delivery-count": String(attempt - 1)
        }),
        HttpClientRequest.bodyText(
          body,
          schema === "EventGrid" ? "application/json; charset=utf-8" : "application/cloudevents-batch+json; charset=utf-8"
        )
      )
      return call("deliverEvents", request, { attempt, events: batch.length }, (response) =>
        Effect.succeed(isOk(response.status)))
    }

    const retry = Schedule.exponential(retryDelay.value, 2).pipe(Schedule.intersect(Schedule.recurs(maxAttempts - 1)))

    const deliver = (batch: ReadonlyArray<KeyVaultEvent>): Effect.Effect<void> =>
      Effect.suspend(() => {
        let attempt = 0
        return Effect.suspend(() => {
          attempt += 1
          return post(batch, attempt)
        }).pipe(
          Effect.filterOrFail((outcome) => outcome.accepted, (outcome) => outcome),
          Effect.retry(retry),
          Effect.catchAll((outcome) =>
            Effect.logWarning("key-vault-emulator: an Event Grid batch was dropped after its last attempt").pipe(
              Effect.annotateLogs({
                subscription: subscription.id,
                attempts: attempt,
                events: batch.length,
                status: outcome.status ?? "none"
              })
            )
          )
        )
      })

    const loop = Effect.forever(
      Effect.flatMap(Queue.takeBetween(queue, 1, maxEventsPerBatch), (chunk) => deliver(Chunk.toReadonlyArray(chunk)))
    )
    const fiber = yield* Effect.forkIn(env.provideClock(loop), env.scope)

    return {
      subscription,
      offer: (event) => {
        queue.unsafeOffer(event)
      },
      stop: Effect.zipRight(
        Effect.sync(() => env.onStop(subscription.id)),
        Effect.zipRight(Fiber.interrupt(fiber), Queue.shutdown(queue))
      )
    }
  })
