/**
 * Event Grid on the emulator: the events a real vault publishes to an Event Grid system topic, with Event Grid's
 * types and data (`@effect-azure/key-vault`'s `KeyVaultEvent`):
 *
 * - `...NewVersionCreated` when a version is created: secret set, key create / import / rotate, certificate import,
 *   and a certificate create or merge once the certificate is issued (the key and secret behind a certificate get
 *   none: the certificate's event stands for them);
 * - `...NearExpiry` 30 days before a version's `exp`, and `...Expired` at `exp`, as the emulator's clock passes them.
 *   Nothing runs in the background: due events are published at the start of every vault operation, after every
 *   request, after every move of the emulator's clock, and on `checkDue`. A version already past its `exp` when its near-expiry time comes gets
 *   only `Expired`. Disabled versions and deleted objects get none (a recovered one gets what fell due meanwhile).
 *
 * Each (object, version, type) is published once; for expiry events, once per `exp` (a version whose expiry is
 * extended is reported again when it nears the new one). Event ids are random GUIDs, as Event Grid's. With a state
 * directory, the expiry events of the versions a vault held at a restart are scheduled as after a write, and those
 * already published before it (`publishedBefore`) are not published again.
 *
 * Every vault of the emulator publishes: each event names the vault it comes from (`VaultName`, the vault URL in
 * `Id`, the `topic`). The default vault's events use the configured `vaultUrl` or the origin of its latest request;
 * a named vault's use the origin of its own latest request, else its URL derived from the default vault's
 * (`vaultUrlFor`), and its name as `VaultName` (also when it is reached by a port of its own).
 *
 * Consumers: in-process, `events` / `subscribeEvents` (a `PubSub` underneath: each subscriber keeps the newest
 * `bufferSize` unread events, the oldest go first); over HTTP, webhook subscriptions (`subscribe`) with Event Grid's
 * handshakes, batches in either schema and retries (see `subscribe`). Subscriptions are emulator-wide, as one
 * endpoint subscribed to several vaults' system topics: they receive every vault's events, told apart by
 * `VaultName` (or `topic`).
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import { KeyVaultEvent, makeKeyVaultEvent } from "@effect-azure/key-vault/rotation/RotationEvent"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as PubSub from "effect/PubSub"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { VaultChange, VaultObserver, VersionFacts } from "../engine/VaultEngine.js"
import type { Journal } from "../journal/Journal.js"
import * as Delivery from "./internal/Delivery.js"
import * as DueQueue from "./internal/DueQueue.js"

/**
 * The delivery schemas Event Grid offers.
 *
 * @since 0.1.0
 * @category models
 */
export type EventSchema = "EventGrid" | "CloudEvents"

/**
 * Days before `exp` that NearExpiry fires, as the service does.
 *
 * @since 0.1.0
 * @category constants
 */
export const NEAR_EXPIRY_DAYS = 30

/**
 * The vault URL events name when no request has been served yet and none is configured.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_VAULT_URL = "https://emulator.vault.azure.net"

/**
 * A webhook subscription to create.
 *
 * @since 0.1.0
 * @category models
 */
export interface SubscriptionOptions {
  /** The webhook's URL (`http:` or `https:`); a query such as `?code=<secret>` is sent but never shown or journaled. */
  readonly endpoint: string
  /** Default `EventGrid`. */
  readonly schema?: EventSchema | undefined
  /** Most events per POST; default 10, 1..5000. */
  readonly maxEventsPerBatch?: number | undefined
  /** Attempts per batch before it is dropped (dead-lettered in the journal); default 5, 1..100. */
  readonly maxAttempts?: number | undefined
  /** Wait before the first retry, doubled for each next one; default 1 second. */
  readonly retryDelay?: Duration.DurationInput | undefined
}

/**
 * A registered webhook subscription.
 *
 * @since 0.1.0
 * @category models
 */
export interface Subscription {
  readonly id: string
  /** The endpoint without its query string (which may hold a shared secret). */
  readonly endpoint: string
  readonly schema: EventSchema
  readonly maxEventsPerBatch: number
  readonly maxAttempts: number
}

/**
 * A subscription could not be created: a malformed endpoint or option, or a failed validation handshake. The
 * message never quotes the endpoint's query.
 *
 * @since 0.1.0
 * @category errors
 */
export class SubscriptionError extends Data.TaggedError("SubscriptionError")<{ readonly message: string }> {}

/**
 * Settings of the emulator's Event Grid.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventGridOptions {
  /**
   * The vault URL events are about (their `Id`, `VaultName`, `topic`). Default: the origin of the latest request the
   * emulator served, else `DEFAULT_VAULT_URL`.
   */
  readonly vaultUrl?: string | undefined
  /** Unread events each in-process subscriber keeps (the oldest are dropped beyond). Default 4,096. */
  readonly bufferSize?: number | undefined
  /** The client for webhook calls. Default `FetchHttpClient`. */
  readonly httpClient?: HttpClient.HttpClient | undefined
  /** Where handshakes and deliveries are recorded. */
  readonly journal?: Journal | undefined
  /** Runs effects under the emulator's time (deliveries journal it). */
  readonly provideClock?: (<A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) | undefined
  /** The default vault's name (`observer` and `noteOrigin` without a vault are about it). Default `"default"`. */
  readonly defaultVaultName?: string | undefined
  /**
   * The URL of a named vault that served no request yet, from the default vault's URL. Default: the vault's name in
   * place of the first label of the host (`https://<vault>.vault.azure.net`).
   */
  readonly vaultUrlFor?: ((vault: string, defaultVaultUrl: string) => string) | undefined
  /** The keys `onPublished` reported before a restart: those expiry events are not published again. */
  readonly publishedBefore?: Iterable<string> | undefined
  /** Told the key of every NearExpiry / Expired event as it is published (persistence keeps them). */
  readonly onPublished?: ((key: string) => void) | undefined
}

/**
 * The emulator's Event Grid.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventGrid {
  /** Every event published while the stream runs (each run subscribes when it starts). */
  readonly events: Stream.Stream<KeyVaultEvent>
  /** Subscribes now, for the scope's lifetime: the stream sees everything published from now on. */
  readonly subscribeEvents: Effect.Effect<Stream.Stream<KeyVaultEvent>, never, Scope.Scope>
  /** The latest published events (up to 1,000), oldest first. */
  readonly recent: Effect.Effect<ReadonlyArray<KeyVaultEvent>>
  /**
   * Validates a webhook (Event Grid: a `SubscriptionValidationEvent` answered with its `validationResponse`;
   * CloudEvents: an `OPTIONS` answered with `WebHook-Allowed-Origin`), then delivers every later event to it in
   * batches, retrying a failed POST (non-2xx or no answer) with exponential backoff up to `maxAttempts`. Every call
   * is journaled. Deliveries run until `unsubscribe` or the emulator's shutdown.
   */
  readonly subscribe: (options: SubscriptionOptions) => Effect.Effect<Subscription, SubscriptionError>
  readonly unsubscribe: (id: string) => Effect.Effect<boolean>
  readonly subscriptions: Effect.Effect<ReadonlyArray<Subscription>>
  /** Publishes the expiry events due at the current `Clock` time; answers how many. */
  readonly checkDue: Effect.Effect<number>
  /** `checkDue` at a given time, without the Effect (the request path's check; call it from inside an Effect). */
  readonly unsafeCheckDue: (nowMillis: number) => number
  /** The default vault's engine hooks (the emulator passes them to its engine). */
  readonly observer: VaultObserver
  /** The engine hooks of the vault `vault`: its events name it. */
  readonly observerFor: (vault: string) => VaultObserver
  /**
   * Remembers the origin of a request a vault served (default: the default vault), as that vault's URL in later
   * events.
   */
  readonly noteOrigin: (origin: string, vault?: string) => void
  /** Forgets a vault's objects (it was reset or removed): no expiry event is published for them any more. */
  readonly forgetVault: (vault: string) => void
  /** Stops every delivery. */
  readonly shutdown: Effect.Effect<void>
}

const RECENT_LIMIT = 1000
const DAY_MILLIS = 24 * 60 * 60 * 1000

const objectKey = (vault: string, objectType: string, name: string): string =>
  `${vault}|${objectType}|${name.toLowerCase()}`

// The vault's name in place of the host's first label, keeping scheme and port.
const derivedVaultUrl = (vault: string, defaultVaultUrl: string): string => {
  const url = new URL(defaultVaultUrl)
  const dot = url.host.indexOf(".")
  return dot > 0 ? `${url.protocol}//${vault}${url.host.slice(dot)}` : `${url.protocol}//${vault}.${url.host}`
}

const TOPIC_PREFIX =
  "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/key-vault-emulator/providers/Microsoft.KeyVault/vaults/"

/**
 * A new Event Grid for one emulator. An invalid option is a programming error and dies.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: EventGridOptions = {}): Effect.Effect<EventGrid> =>
  Effect.gen(function*() {
    const bufferSize = options.bufferSize ?? 4096
    if (!Number.isSafeInteger(bufferSize) || bufferSize < 1) {
      return yield* Effect.dieMessage("the Event Grid buffer size must be a whole number >= 1")
    }
    const pubsub = yield* PubSub.sliding<KeyVaultEvent>(bufferSize)
    const scope = yield* Scope.make()
    const provideClock = options.provideClock ?? ((self) => self)
    const defaultVault = options.defaultVaultName ?? "default"
    const vaultUrlFor = options.vaultUrlFor ?? derivedVaultUrl
    let latestOrigin: string | undefined
    const origins = new Map<string, string>()
    const vaultUrl = (): string => options.vaultUrl ?? latestOrigin ?? DEFAULT_VAULT_URL
    const urlOf = (vault: string): string =>
      vault === defaultVault ? vaultUrl() : origins.get(vault) ?? vaultUrlFor(vault, vaultUrl())

    // Live versions by object, as the observer reports them: enough to tell whether a due event still applies.
    const live = new Map<string, Map<string, VersionFacts>>()
    const published = new Set<string>(options.publishedBefore ?? [])
    const due = DueQueue.make()
    const recent: Array<KeyVaultEvent> = []
    const deliveries = new Map<string, Delivery.Delivery>()

    const publish = (
      kind: "NewVersionCreated" | "NearExpiry" | "Expired",
      vault: string,
      facts: VersionFacts,
      time: Date
    ): void => {
      const url = urlOf(vault)
      const made = makeKeyVaultEvent(kind, {
        objectType: facts.objectType,
        vaultUrl: url,
        name: facts.name,
        version: facts.version,
        notBefore: facts.notBefore,
        expiresOn: facts.expires
      }, time)
      // A named vault is named by itself, whatever host reached it (`https://localhost:<its port>` included).
      const base = vault === defaultVault ? made : { ...made, data: { ...made.data, VaultName: vault } }
      const event = new KeyVaultEvent({
        id: crypto.randomUUID(),
        type: base.type,
        subject: base.subject,
        topic: `${TOPIC_PREFIX}${base.data.VaultName}`,
        time: base.time,
        data: base.data
      })
      pubsub.unsafeOffer(event)
      recent.push(event)
      if (recent.length > RECENT_LIMIT) recent.shift()
      for (const delivery of deliveries.values()) delivery.offer(event)
    }

    const factKey = (kind: string, vault: string, facts: VersionFacts): string =>
      `${objectKey(vault, facts.objectType, facts.name)}|${facts.version}|${kind}|${facts.expires?.getTime() ?? ""}`

    const schedule = (vault: string, facts: VersionFacts): void => {
      const expires = facts.expires
      if (expires === undefined) return
      const entry = { vault, objectType: facts.objectType, name: facts.name, version: facts.version, expires }
      due.push({ ...entry, kind: "NearExpiry", dueMillis: expires.getTime() - NEAR_EXPIRY_DAYS * DAY_MILLIS })
      due.push({ ...entry, kind: "Expired", dueMillis: expires.getTime() })
    }

    const track = (vault: string, facts: VersionFacts): void => {
      const key = objectKey(vault, facts.objectType, facts.name)
      let versions = live.get(key)
      if (versions === undefined) {
        versions = new Map()
        live.set(key, versions)
      }
      versions.set(facts.version, facts)
      schedule(vault, facts)
    }

    const tick = (now: Date): number => {
      let count = 0
      const at = now.getTime()
      for (let entry = due.popDue(at); entry !== undefined; entry = due.popDue(at)) {
        const facts = live.get(objectKey(entry.vault, entry.objectType, entry.name))?.get(entry.version)
        // Stale entries (a changed expiry, a deleted object, a disabled version) are dropped here.
        if (facts === undefined || !facts.enabled || facts.expires?.getTime() !== entry.expires.getTime()) continue
        if (entry.kind === "NearExpiry" && at >= entry.expires.getTime()) continue
        const key = factKey(entry.kind, entry.vault, facts)
        if (published.has(key)) continue
        published.add(key)
        options.onPublished?.(key)
        publish(entry.kind, entry.vault, facts, now)
        count += 1
      }
      return count
    }

    const unsafeCheckDue = (nowMillis: number): number => due.hasDue(nowMillis) ? tick(new Date(nowMillis)) : 0

    const onChange = (vault: string, change: VaultChange): void => {
      switch (change._tag) {
        case "NewVersion": {
          const key = factKey("NewVersionCreated", vault, { ...change.facts, expires: undefined })
          track(vault, change.facts)
          if (!published.has(key)) {
            published.add(key)
            publish("NewVersionCreated", vault, change.facts, change.facts.updated)
          }
          return
        }
        case "VersionChanged":
          track(vault, change.facts)
          return
        case "ObjectDeleted":
          live.delete(objectKey(vault, change.objectType, change.name))
          return
      }
    }

    const observerFor = (vault: string): VaultObserver => ({
      onChange: (change) => onChange(vault, change),
      onOperation: (now) => {
        if (due.hasDue(now.getTime())) tick(now)
      }
    })

    const webhookClient = options.httpClient === undefined
      ? Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer)
      : Effect.succeed(options.httpClient)

    const eventGrid: EventGrid = {
      events: Stream.fromPubSub(pubsub),
      subscribeEvents: Effect.map(PubSub.subscribe(pubsub), (dequeue) => Stream.fromQueue(dequeue)),
      recent: Effect.sync(() => [...recent]),
      subscribe: (subscription) =>
        Effect.gen(function*() {
          const client = yield* webhookClient
          const delivery = yield* provideClock(Delivery.start(subscription, {
            client,
            journal: options.journal,
            scope,
            provideClock,
            onStop: (id) => void deliveries.delete(id)
          }))
          deliveries.set(delivery.subscription.id, delivery)
          return delivery.subscription
        }).pipe(Effect.mapError((error) => new SubscriptionError({ message: error.message }))),
      unsubscribe: (id) =>
        Effect.suspend(() => {
          const delivery = deliveries.get(id)
          if (delivery === undefined) return Effect.succeed(false)
          deliveries.delete(id)
          return Effect.as(delivery.stop, true)
        }),
      subscriptions: Effect.sync(() => [...deliveries.values()].map((delivery) => delivery.subscription)),
      checkDue: Effect.clockWith((clock) => Effect.sync(() => unsafeCheckDue(clock.unsafeCurrentTimeMillis()))),
      unsafeCheckDue,
      observer: observerFor(defaultVault),
      observerFor,
      noteOrigin: (origin, vault = defaultVault) => {
        if (vault === defaultVault) latestOrigin = origin
        else origins.set(vault, origin)
      },
      forgetVault: (vault) => {
        const prefix = `${vault}|`
        for (const key of live.keys()) if (key.startsWith(prefix)) live.delete(key)
        origins.delete(vault)
      },
      shutdown: Effect.zipRight(
        Effect.sync(() => deliveries.clear()),
        Scope.close(scope, Exit.void)
      ).pipe(Effect.zipRight(PubSub.shutdown(pubsub)))
    }
    return eventGrid
  })

