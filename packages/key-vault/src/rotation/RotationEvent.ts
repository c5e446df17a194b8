/**
 * The rotation event model: Azure Event Grid's Key Vault events (`Microsoft.KeyVault.SecretNearExpiry`, ...) with
 * Event Grid's names and data (`Id`, `VaultName`, `ObjectType`, `ObjectName`, `Version`, `NBF`, `EXP` in Unix
 * seconds), and the events only this client can know: a rotation started, succeeded, failed or was skipped.
 *
 * One `Schema` describes all of them (`RotationEvent`), so the events the expiry monitor finds, the ones a rotation
 * makes and the ones Event Grid delivers to the webhook are the same values on the same `Stream`. No event carries a
 * secret value: Key Vault events describe versions, and a failed rotation carries its cause as a tag and a message.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { ObjectType } from "../cache/VaultCache.js"
import * as Identifier from "../wire/Identifier.js"
import { contentId } from "./internal/Ids.js"

/**
 * The object types as Event Grid names them in `ObjectType`.
 *
 * @since 0.1.0
 * @category models
 */
export const EventObjectType: Schema.Literal<["Secret", "Key", "Certificate"]> = Schema.Literal(
  "Secret",
  "Key",
  "Certificate"
)

/**
 * @since 0.1.0
 * @category models
 */
export type EventObjectType = typeof EventObjectType.Type

/**
 * What happened to the object: a new version, a version within the near-expiry window, a version past its expiry.
 *
 * @since 0.1.0
 * @category models
 */
export type EventKind = "NewVersionCreated" | "NearExpiry" | "Expired"

/**
 * The nine Key Vault event types of Event Grid.
 *
 * @since 0.1.0
 * @category models
 */
export const KeyVaultEventType: Schema.Literal<[
  "Microsoft.KeyVault.SecretNewVersionCreated",
  "Microsoft.KeyVault.SecretNearExpiry",
  "Microsoft.KeyVault.SecretExpired",
  "Microsoft.KeyVault.KeyNewVersionCreated",
  "Microsoft.KeyVault.KeyNearExpiry",
  "Microsoft.KeyVault.KeyExpired",
  "Microsoft.KeyVault.CertificateNewVersionCreated",
  "Microsoft.KeyVault.CertificateNearExpiry",
  "Microsoft.KeyVault.CertificateExpired"
]> = Schema.Literal(
  "Microsoft.KeyVault.SecretNewVersionCreated",
  "Microsoft.KeyVault.SecretNearExpiry",
  "Microsoft.KeyVault.SecretExpired",
  "Microsoft.KeyVault.KeyNewVersionCreated",
  "Microsoft.KeyVault.KeyNearExpiry",
  "Microsoft.KeyVault.KeyExpired",
  "Microsoft.KeyVault.CertificateNewVersionCreated",
  "Microsoft.KeyVault.CertificateNearExpiry",
  "Microsoft.KeyVault.CertificateExpired"
)

/**
 * @since 0.1.0
 * @category models
 */
export type KeyVaultEventType = typeof KeyVaultEventType.Type

/**
 * The `data` of a Key Vault event, with Event Grid's field names. `NBF` and `EXP` are Unix seconds, `null` when the
 * version has none.
 *
 * @since 0.1.0
 * @category models
 */
export const KeyVaultEventData = Schema.Struct({
  /** The object's identifier, with version. */
  Id: Schema.String,
  VaultName: Schema.String,
  ObjectType: EventObjectType,
  ObjectName: Schema.String,
  Version: Schema.String,
  NBF: Schema.NullOr(Schema.Number),
  EXP: Schema.NullOr(Schema.Number)
})

/**
 * @since 0.1.0
 * @category models
 */
export type KeyVaultEventData = typeof KeyVaultEventData.Type

/**
 * An Event Grid Key Vault event, from the expiry monitor, from a write this client made, or delivered by Event Grid
 * (either schema). `topic` is Event Grid's `topic` (CloudEvents' `source`), absent for events the client made.
 *
 * @since 0.1.0
 * @category models
 */
export class KeyVaultEvent extends Schema.TaggedClass<KeyVaultEvent>("@effect-azure/key-vault/KeyVaultEvent")(
  "KeyVaultEvent",
  {
    /** The event id (Event Grid's GUID; a content-derived GUID for events the client made). */
    id: Schema.String,
    type: KeyVaultEventType,
    /** The object's name, as Event Grid sets it. */
    subject: Schema.String,
    topic: Schema.optional(Schema.String),
    time: Schema.Date,
    data: KeyVaultEventData
  }
) {}

const RotationFields = {
  /** A GUID of this outcome. */
  id: Schema.String,
  time: Schema.Date,
  vaultName: Schema.String,
  objectType: EventObjectType,
  objectName: Schema.String,
  /** The version the rotation replaces (the one the triggering event is about). */
  version: Schema.String,
  /** The id of the event that triggered the rotation. */
  trigger: Schema.String
}

/**
 * A rotation began: a handler matched a NearExpiry or Expired event and is producing the new version. Every
 * `RotationStarted` is followed by exactly one `RotationSucceeded`, `RotationFailed` or `RotationSkipped`.
 *
 * @since 0.1.0
 * @category models
 */
export class RotationStarted extends Schema.TaggedClass<RotationStarted>("@effect-azure/key-vault/RotationStarted")(
  "RotationStarted",
  RotationFields
) {}

/**
 * A rotation stored a new version.
 *
 * @since 0.1.0
 * @category models
 */
export class RotationSucceeded extends Schema.TaggedClass<RotationSucceeded>(
  "@effect-azure/key-vault/RotationSucceeded"
)("RotationSucceeded", {
  ...RotationFields,
  newVersion: Schema.String,
  /** The new version's expiry, Unix seconds, `null` for none. */
  expiresOn: Schema.NullOr(Schema.Number),
  /** Attempts it took (1 without retries). */
  attempts: Schema.Number
}) {}

/**
 * Why a rotation failed: the failure's tag (`ThrottledError`, the handler's own error tag, ...) and its message.
 * Never a value: client errors carry none, and handlers must not put values in their errors' messages.
 *
 * @since 0.1.0
 * @category models
 */
export const RotationFailure = Schema.Struct({ tag: Schema.String, message: Schema.String })

/**
 * @since 0.1.0
 * @category models
 */
export type RotationFailure = typeof RotationFailure.Type

/**
 * A rotation gave up after its retry schedule: the object keeps its current version.
 *
 * @since 0.1.0
 * @category models
 */
export class RotationFailed extends Schema.TaggedClass<RotationFailed>("@effect-azure/key-vault/RotationFailed")(
  "RotationFailed",
  {
    ...RotationFields,
    cause: RotationFailure,
    attempts: Schema.Number
  }
) {}

/**
 * Why a rotation did nothing: the object already has a version newer than the event's (someone else rotated it), or
 * the event's version is not among the object's versions.
 *
 * @since 0.1.0
 * @category models
 */
export type SkipReason = "NewerVersion" | "UnknownVersion"

/**
 * A rotation found nothing to do (see `reason`).
 *
 * @since 0.1.0
 * @category models
 */
export class RotationSkipped extends Schema.TaggedClass<RotationSkipped>("@effect-azure/key-vault/RotationSkipped")(
  "RotationSkipped",
  {
    ...RotationFields,
    reason: Schema.Literal("NewerVersion", "UnknownVersion"),
    /** The object's newest version when the rotation looked. */
    latestVersion: Schema.NullOr(Schema.String)
  }
) {}

/**
 * Every event on the rotation stream.
 *
 * @since 0.1.0
 * @category models
 */
export const RotationEvent: Schema.Union<[
  typeof KeyVaultEvent,
  typeof RotationStarted,
  typeof RotationSucceeded,
  typeof RotationFailed,
  typeof RotationSkipped
]> = Schema.Union(KeyVaultEvent, RotationStarted, RotationSucceeded, RotationFailed, RotationSkipped)

/**
 * @since 0.1.0
 * @category models
 */
export type RotationEvent = typeof RotationEvent.Type

/**
 * The outcome of a rotation.
 *
 * @since 0.1.0
 * @category models
 */
export type RotationOutcome = RotationSucceeded | RotationFailed | RotationSkipped

// --- names -----------------------------------------------------------------------------------------------------------

const eventObjectTypes: Readonly<Record<ObjectType, EventObjectType>> = {
  secret: "Secret",
  key: "Key",
  certificate: "Certificate"
}

const objectTypes: Readonly<Record<EventObjectType, ObjectType>> = {
  Secret: "secret",
  Key: "key",
  Certificate: "certificate"
}

/**
 * Event Grid's `ObjectType` for the client's object type (`secret` → `Secret`).
 *
 * @since 0.1.0
 * @category utils
 */
export const toEventObjectType = (objectType: ObjectType): EventObjectType => eventObjectTypes[objectType]

/**
 * The client's object type for Event Grid's `ObjectType` (`Secret` → `secret`).
 *
 * @since 0.1.0
 * @category utils
 */
export const fromEventObjectType = (objectType: EventObjectType): ObjectType => objectTypes[objectType]

/**
 * The event type for an object type and a kind (`Secret`, `NearExpiry` → `Microsoft.KeyVault.SecretNearExpiry`).
 *
 * @since 0.1.0
 * @category utils
 */
export const eventType = (objectType: EventObjectType, kind: EventKind): KeyVaultEventType =>
  `Microsoft.KeyVault.${objectType}${kind}` as KeyVaultEventType

const TYPE_PATTERN = /^Microsoft\.KeyVault\.(Secret|Key|Certificate)(NewVersionCreated|NearExpiry|Expired)$/

/**
 * Splits an event type into object type and kind; `None` for a type that is not one of the nine.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseEventType = (
  type: string
): Option.Option<{ readonly objectType: EventObjectType; readonly kind: EventKind }> => {
  const match = TYPE_PATTERN.exec(type)
  return match === null
    ? Option.none()
    : Option.some({ objectType: match[1] as EventObjectType, kind: match[2] as EventKind })
}

/**
 * The kind of a Key Vault event.
 *
 * @since 0.1.0
 * @category utils
 */
export const kindOf = (event: KeyVaultEvent): EventKind =>
  event.type.endsWith("NewVersionCreated") ? "NewVersionCreated" : event.type.endsWith("NearExpiry") ? "NearExpiry" : "Expired"

/**
 * The vault's name as Event Grid gives it in `VaultName`: the first label of the vault's host
 * (`https://myvault.vault.azure.net` → `myvault`).
 *
 * @since 0.1.0
 * @category utils
 */
export const vaultNameOf = (vaultUrl: string): string => {
  let host: string
  try {
    host = new URL(vaultUrl).hostname
  } catch {
    host = vaultUrl
  }
  return (host.split(".")[0] ?? host).toLowerCase()
}

/**
 * The host (with port) of the vault a Key Vault event is about, lower case: from `Id`, else `undefined`.
 *
 * @since 0.1.0
 * @category utils
 */
export const vaultHostOf = (event: KeyVaultEvent): string | undefined =>
  Option.match(Identifier.parse(event.data.Id), {
    onNone: () => undefined,
    onSome: (id) => new URL(id.vaultUrl).host.toLowerCase()
  })

// --- guards ----------------------------------------------------------------------------------------------------------

/**
 * True for an Event Grid Key Vault event (as opposed to a rotation outcome).
 *
 * @since 0.1.0
 * @category guards
 */
export const isKeyVaultEvent = (event: RotationEvent): event is KeyVaultEvent => event._tag === "KeyVaultEvent"

/**
 * True for an event that asks for a rotation: NearExpiry or Expired.
 *
 * @since 0.1.0
 * @category guards
 */
export const isExpiryEvent = (event: RotationEvent): event is KeyVaultEvent =>
  isKeyVaultEvent(event) && kindOf(event) !== "NewVersionCreated"

/**
 * True for a NewVersionCreated event.
 *
 * @since 0.1.0
 * @category guards
 */
export const isNewVersionCreated = (event: RotationEvent): event is KeyVaultEvent =>
  isKeyVaultEvent(event) && kindOf(event) === "NewVersionCreated"

/**
 * True for a rotation's terminal event: succeeded, failed or skipped.
 *
 * @since 0.1.0
 * @category guards
 */
export const isRotationOutcome = (event: RotationEvent): event is RotationOutcome =>
  event._tag === "RotationSucceeded" || event._tag === "RotationFailed" || event._tag === "RotationSkipped"

// --- identity and constructors ---------------------------------------------------------------------------------------

/**
 * The fact a Key Vault event reports, as a string: vault, object type, name, version, event type and expiry (names
 * compared case-insensitively, as the vault does). Two deliveries of the same fact (the monitor's and Event Grid's,
 * or Event Grid's retries under new ids) have the same key. The expiry is part of it so that a version whose expiry
 * was extended and that nears its new expiry is reported again.
 *
 * @since 0.1.0
 * @category utils
 */
export const factKey = (event: Pick<KeyVaultEvent, "type" | "data">): string =>
  [
    event.data.VaultName,
    event.data.ObjectType,
    event.data.ObjectName,
    event.data.Version,
    event.type,
    event.data.EXP ?? ""
  ].join("|").toLowerCase()

const seconds = (date: Date | undefined): number | null =>
  date === undefined ? null : Math.floor(date.getTime() / 1000)

/**
 * What `makeKeyVaultEvent` needs to know about an object version.
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectVersion {
  readonly objectType: ObjectType
  /** The vault's URL (`https://myvault.vault.azure.net`). */
  readonly vaultUrl: string
  readonly name: string
  readonly version: string
  readonly notBefore: Date | undefined
  readonly expiresOn: Date | undefined
}

/**
 * A Key Vault event about an object version, as Event Grid would send it; its id is derived from `factKey`, so the
 * same fact always gets the same id.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeKeyVaultEvent = (kind: EventKind, object: ObjectVersion, time: Date): KeyVaultEvent => {
  const objectType = toEventObjectType(object.objectType)
  const collection: Identifier.Collection = object.objectType === "secret"
    ? "secrets"
    : object.objectType === "key"
    ? "keys"
    : "certificates"
  const type = eventType(objectType, kind)
  const data: KeyVaultEventData = {
    Id: Identifier.format(object.vaultUrl, collection, object.name, object.version),
    VaultName: vaultNameOf(object.vaultUrl),
    ObjectType: objectType,
    ObjectName: object.name,
    Version: object.version,
    NBF: seconds(object.notBefore),
    EXP: seconds(object.expiresOn)
  }
  return new KeyVaultEvent({ id: contentId(factKey({ type, data })), type, subject: object.name, time, data })
}
