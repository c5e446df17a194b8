/**
 * Event Grid deliveries on the wire: the Event Grid schema and the CloudEvents 1.0 schema (structured JSON), decoded
 * into `KeyVaultEvent`s, and the subscription validation event. Not public: `EventGridWebhook` is its face.
 *
 * Decoding is lenient where Event Grid itself is inconsistent and strict elsewhere: the data's field names are
 * matched case-insensitively and trimmed (the documentation's own sample has `"ObjectName "` and a leading space in
 * `Version`), `NBF` and `EXP` may be numbers or numeric strings (the sample sends strings) or missing, and the
 * `ObjectType` must agree with the event type.
 *
 * Error messages name the position and the problem, never a value from the delivery.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { exceedsJsonDepth } from "../../wire/Common.js"
import {
  EventObjectType,
  type KeyVaultEventData,
  KeyVaultEvent,
  parseEventType
} from "../RotationEvent.js"

/**
 * Event Grid's subscription validation event type.
 *
 * @internal
 */
export const VALIDATION_EVENT_TYPE = "Microsoft.EventGrid.SubscriptionValidationEvent"

const EventGridEnvelope = Schema.Struct({
  id: Schema.NonEmptyString,
  topic: Schema.optional(Schema.String),
  subject: Schema.String,
  eventType: Schema.NonEmptyString,
  eventTime: Schema.String,
  data: Schema.optional(Schema.Unknown),
  dataVersion: Schema.optional(Schema.String),
  metadataVersion: Schema.optional(Schema.String)
})

const CloudEventEnvelope = Schema.Struct({
  specversion: Schema.Literal("1.0"),
  id: Schema.NonEmptyString,
  source: Schema.NonEmptyString,
  type: Schema.NonEmptyString,
  subject: Schema.optional(Schema.String),
  time: Schema.optional(Schema.String),
  data: Schema.optional(Schema.Unknown),
  datacontenttype: Schema.optional(Schema.String)
})

const ValidationData = Schema.Struct({
  validationCode: Schema.NonEmptyString,
  validationUrl: Schema.optional(Schema.String)
})

const Seconds = Schema.Union(Schema.Number, Schema.NumberFromString).pipe(Schema.finite())

const WireData = Schema.Struct({
  Id: Schema.NonEmptyString,
  VaultName: Schema.NonEmptyString,
  ObjectType: EventObjectType,
  ObjectName: Schema.NonEmptyString,
  Version: Schema.NonEmptyString,
  NBF: Schema.optional(Schema.NullOr(Seconds)),
  EXP: Schema.optional(Schema.NullOr(Seconds))
})

const decodeEventGrid = Schema.decodeUnknownOption(EventGridEnvelope)
const decodeCloudEvent = Schema.decodeUnknownOption(CloudEventEnvelope)
const decodeValidation = Schema.decodeUnknownOption(ValidationData)
const decodeWireData = Schema.decodeUnknownOption(WireData)

const canonical: Readonly<Record<string, string>> = {
  id: "Id",
  vaultname: "VaultName",
  objecttype: "ObjectType",
  objectname: "ObjectName",
  version: "Version",
  nbf: "NBF",
  exp: "EXP"
}

// Field names case-insensitive and trimmed, string values trimmed; fields we do not know are ignored.
const normalize = (data: unknown): Record<string, unknown> | undefined => {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(data)) {
    const name = canonical[key.trim().toLowerCase()]
    if (name !== undefined) out[name] = typeof value === "string" ? value.trim() : value
  }
  return out
}

/**
 * One decoded entry of a delivery.
 *
 * @internal
 */
export type Entry =
  | { readonly _tag: "KeyVault"; readonly event: KeyVaultEvent }
  | { readonly _tag: "Validation"; readonly code: string }
  | { readonly _tag: "Unknown" }

// RFC 3339, as both schemas specify (`Date.parse` alone accepts almost anything in V8).
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i

const parseTime = (text: string | undefined, fallback: Date): Date | undefined => {
  if (text === undefined) return fallback
  if (!RFC3339.test(text)) return undefined
  const millis = Date.parse(text)
  return Number.isNaN(millis) ? undefined : new Date(millis)
}

const keyVaultEvent = (
  envelope: { readonly id: string; readonly type: string; readonly subject: string; readonly topic: string | undefined },
  time: Date,
  data: unknown
): Either.Either<Entry, string> => {
  const type = parseEventType(envelope.type)
  if (Option.isNone(type)) return Either.right({ _tag: "Unknown" })
  const wire = decodeWireData(normalize(data))
  if (Option.isNone(wire)) return Either.left("its data is not a Key Vault event's")
  if (wire.value.ObjectType !== type.value.objectType) return Either.left("its ObjectType does not match its type")
  const eventData: KeyVaultEventData = {
    ...wire.value,
    NBF: wire.value.NBF ?? null,
    EXP: wire.value.EXP ?? null
  }
  return Either.right({
    _tag: "KeyVault",
    event: new KeyVaultEvent({
      id: envelope.id,
      type: envelope.type as KeyVaultEvent["type"],
      subject: envelope.subject,
      ...(envelope.topic === undefined ? {} : { topic: envelope.topic }),
      time,
      data: eventData
    })
  })
}

const decodeEntry = (u: unknown, now: Date): Either.Either<Entry, string> => {
  if (typeof u === "object" && u !== null && "specversion" in u) {
    const cloud = decodeCloudEvent(u)
    if (Option.isNone(cloud)) return Either.left("it is not a CloudEvents 1.0 event")
    const time = parseTime(cloud.value.time, now)
    if (time === undefined) return Either.left("its time is not a date")
    const { data, id, source, subject, type } = cloud.value
    return keyVaultEvent({ id, type, subject: subject ?? "", topic: source }, time, data)
  }
  const grid = decodeEventGrid(u)
  if (Option.isNone(grid)) return Either.left("it is not an Event Grid or CloudEvents 1.0 event")
  const { data, eventTime, eventType, id, subject, topic } = grid.value
  if (eventType === VALIDATION_EVENT_TYPE) {
    return Option.match(decodeValidation(data), {
      onNone: () => Either.left("its validation data is malformed"),
      onSome: (validation) => Either.right({ _tag: "Validation", code: validation.validationCode })
    })
  }
  const time = parseTime(eventTime, now)
  if (time === undefined) return Either.left("its eventTime is not a date")
  return keyVaultEvent({ id, type: eventType, subject, topic }, time, data)
}

/**
 * Decodes a delivery: one event (CloudEvents' structured mode) or a batch (an array, either schema). Fails with a
 * value-free message on the first malformed entry; an entry of an unknown type decodes as `Unknown`. `now` stands in
 * for a missing CloudEvents `time`.
 *
 * @internal
 */
export const decodeDelivery = (json: unknown, now: Date): Either.Either<ReadonlyArray<Entry>, string> => {
  if (exceedsJsonDepth(json)) return Either.left("the delivery nests too deep")
  const batch = Array.isArray(json) ? json : [json]
  if (batch.length === 0) return Either.left("the delivery holds no event")
  const entries: Array<Entry> = []
  for (let i = 0; i < batch.length; i++) {
    const entry = decodeEntry(batch[i], now)
    if (Either.isLeft(entry)) return Either.left(`event ${i}: ${entry.left}`)
    entries.push(entry.right)
  }
  return Either.right(entries)
}
