/**
 * The rotation event stream: one `PubSub` of `RotationEvent`s that the expiry monitor, rotations and the Event Grid
 * webhook publish to, and that any number of consumers read as a `Stream`.
 *
 * Deduplication. Event Grid delivers at least once, and the monitor and Event Grid may report the same fact, so
 * `publish` drops an event whose id was published before, and a Key Vault event whose fact (vault, object type,
 * name, version, event type and expiry: `RotationEvent.factKey`) was. The memory is bounded: the last `rememberIds`
 * ids and `rememberFacts` facts (10,000 each by default, least recently seen forgotten first; an entry is about
 * 150 bytes, so about 3 MB at most). A duplicate older than that is published again.
 *
 * Slow consumers. Each subscriber may hold at most `bufferSize` unread events (default 1,024). Publishers never wait:
 * when a subscriber falls further behind, its oldest unread event is dropped (a sliding buffer), counted in `stats`
 * and in the `keyvault.rotation.events.dropped` metric. Subscribers that keep up lose nothing. A consumer that must
 * not lose events should hand them off quickly (fork the work, as `Rotation` does) or ask for a larger buffer.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as VersionWrites from "../internal/VersionWrites.js"
import { BoundedMap } from "./internal/BoundedMap.js"
import { factKey, isKeyVaultEvent, makeKeyVaultEvent, type RotationEvent } from "./RotationEvent.js"
import * as RotationMetrics from "./RotationMetrics.js"

/**
 * Settings of the stream.
 *
 * @since 0.1.0
 * @category models
 */
export interface RotationEventsOptions {
  /** Unread events each subscriber may hold before its oldest are dropped. Default 1,024. */
  readonly bufferSize?: number | undefined
  /** Event ids remembered for deduplication. Default 10,000. */
  readonly rememberIds?: number | undefined
  /** Facts (vault, object type, name, version, event type, expiry) remembered for deduplication. Default 10,000. */
  readonly rememberFacts?: number | undefined
}

/**
 * Counters of one stream since it was made.
 *
 * @since 0.1.0
 * @category models
 */
export interface RotationEventsStats {
  readonly published: number
  readonly duplicates: number
  /** Events lost by slow subscribers (each dropped event counted once, however many subscribers lost it). */
  readonly dropped: number
}

/**
 * The rotation event stream.
 *
 * @since 0.1.0
 * @category models
 */
export interface RotationEventsService {
  /** Publishes an event unless it is a duplicate; `true` when it was published. */
  readonly publish: (event: RotationEvent) => Effect.Effect<boolean>
  /** Publishes events in order, skipping duplicates (within the batch too); answers how many were published. */
  readonly publishAll: (events: Iterable<RotationEvent>) => Effect.Effect<number>
  /**
   * Every event published while the stream runs: each run subscribes when it starts, so events published before are
   * not seen. Use `subscribe` to be sure of seeing everything from a point on.
   */
  readonly stream: Stream.Stream<RotationEvent>
  /** Subscribes now, for the scope's lifetime, and answers the stream of everything published from now on. */
  readonly subscribe: Effect.Effect<Stream.Stream<RotationEvent>, never, Scope.Scope>
  readonly stats: Effect.Effect<RotationEventsStats>
  /** Each subscriber's buffer. */
  readonly bufferSize: number
}

/**
 * The rotation event stream tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class RotationEvents extends Context.Tag("@effect-azure/key-vault/RotationEvents")<
  RotationEvents,
  RotationEventsService
>() {}

/**
 * Default unread events per subscriber.
 *
 * @since 0.1.0
 * @category constructors
 */
export const DEFAULT_BUFFER_SIZE = 1024

/**
 * Default ids and facts remembered for deduplication (each).
 *
 * @since 0.1.0
 * @category constructors
 */
export const DEFAULT_MEMORY = 10_000

const positive = (value: number | undefined, fallback: number): number | undefined =>
  value === undefined ? fallback : Number.isSafeInteger(value) && value >= 1 ? value : undefined

/**
 * Makes a stream whose `PubSub` is shut down when the scope closes (subscribers' streams then end). Invalid options
 * (a buffer that is not a positive integer) are a programming error and die.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: RotationEventsOptions = {}): Effect.Effect<RotationEventsService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const bufferSize = positive(options.bufferSize, DEFAULT_BUFFER_SIZE)
    const rememberIds = positive(options.rememberIds, DEFAULT_MEMORY)
    const rememberFacts = positive(options.rememberFacts, DEFAULT_MEMORY)
    if (bufferSize === undefined || rememberIds === undefined || rememberFacts === undefined) {
      return yield* Effect.dieMessage("RotationEvents: bufferSize, rememberIds and rememberFacts must be positive integers")
    }
    const ids = new BoundedMap<true>(rememberIds)
    const facts = new BoundedMap<true>(rememberFacts)
    // A sliding PubSub keeps one ring of `bufferSize` events for all subscribers, each reading at its own position;
    // publishing into a full ring drops the oldest event, which only the subscribers that have not read it yet lose.
    // That is a bounded buffer per subscriber with drop-oldest, without a queue and a fiber per subscriber.
    const pubsub = yield* Effect.acquireRelease(PubSub.sliding<RotationEvent>(bufferSize), PubSub.shutdown)
    const counters = { published: 0, duplicates: 0, dropped: 0 }

    // Check and remember in one synchronous step, so two fibers publishing the same event cannot both pass.
    const admit = (event: RotationEvent): boolean => {
      const fact = isKeyVaultEvent(event) ? factKey(event) : undefined
      if (ids.has(event.id) || (fact !== undefined && facts.has(fact))) {
        // Touch both, so a fact that keeps being delivered stays remembered.
        ids.get(event.id)
        if (fact !== undefined) facts.get(fact)
        counters.duplicates++
        return false
      }
      ids.set(event.id, true)
      if (fact !== undefined) facts.set(fact, true)
      counters.published++
      return true
    }

    const publish = (event: RotationEvent): Effect.Effect<boolean> =>
      Effect.suspend(() => {
        if (!admit(event)) return Effect.as(Metric.increment(RotationMetrics.eventsDuplicated), false)
        // The ring holds what the slowest subscriber has not read: when it is full, this publish drops its oldest.
        const full = Option.getOrElse(pubsub.unsafeSize(), () => 0) >= bufferSize
        if (full) counters.dropped++
        return PubSub.publish(pubsub, event).pipe(
          Effect.zipRight(Metric.increment(RotationMetrics.eventsPublished)),
          Effect.zipRight(full ? Metric.increment(RotationMetrics.eventsDropped) : Effect.void),
          Effect.as(true)
        )
      })

    const publishAll = (events: Iterable<RotationEvent>): Effect.Effect<number> =>
      Effect.reduce(events, 0, (count, event) => Effect.map(publish(event), (published) => published ? count + 1 : count))

    const subscribe = Effect.map(PubSub.subscribe(pubsub), (queue) => Stream.fromQueue(queue))

    // New versions written through the client this stream is built on become NewVersionCreated events, as Event Grid
    // would publish them (a rotation's own write and its announcement are one fact, published once).
    const writes = yield* Effect.serviceOption(VersionWrites.VersionWrites)
    if (Option.isSome(writes)) {
      const announced = yield* writes.value.subscribe
      yield* Effect.forkScoped(
        Stream.fromQueue(announced).pipe(
          Stream.runForEach((write) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) =>
              publish(makeKeyVaultEvent("NewVersionCreated", write, new Date(now))))
          )
        )
      )
    }

    return {
      publish,
      publishAll,
      stream: Stream.unwrapScoped(subscribe),
      subscribe,
      stats: Effect.sync(() => ({ ...counters })),
      bufferSize
    }
  })

/**
 * The stream as a Layer; its `PubSub` lives as long as the Layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: RotationEventsOptions): Layer.Layer<RotationEvents> =>
  Layer.scoped(RotationEvents, make(options))
