/**
 * The request journal: a bounded record of every request the emulator served, for tests to assert on (how many
 * retries reached the vault, whether a token was sent, which fault each attempt met, which request and trace ids
 * came in). It never holds bodies, query strings or header values other than the correlation ids
 * (`x-ms-client-request-id`, `traceparent`), so it cannot leak a secret.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { OperationName } from "./Operation.js"

/**
 * Default capacity: enough for a throttling test (4,000 reads and then some) without growing without bound.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_CAPACITY = 10_000

/**
 * The fault a request met, if any: an injected rule (by id) or the throttling mode.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppliedFault {
  readonly kind: "Status" | "Latency" | "Reset" | "Stall" | "Truncate" | "MalformedJson" | "Throttled"
  /** The fault rule's id; `null` for throttling. */
  readonly ruleId: string | null
  /** When the rule acted relative to the app; `null` for throttling. */
  readonly phase: "before" | "after" | null
}

/**
 * What the journal records besides the Key Vault operations: the emulator's own outgoing Event Grid calls, the
 * subscription handshake (`validateEventSubscription`) and each delivery attempt (`deliverEvents`).
 *
 * @since 0.1.0
 * @category models
 */
export type JournalOperation = OperationName | "validateEventSubscription" | "deliverEvents"

/**
 * An outgoing Event Grid call: to which subscription, which attempt, how many events, and why it failed (a
 * transport error's tag; `null` when an answer came, see `status`).
 *
 * @since 0.1.0
 * @category models
 */
export interface DeliveryRecord {
  readonly subscriptionId: string
  readonly schema: "EventGrid" | "CloudEvents"
  /** 1 for the first attempt of a batch (or the handshake). */
  readonly attempt: number
  /** Events in the batch; 0 for the handshake. */
  readonly events: number
  readonly error: string | null
}

/**
 * One served request, or one outgoing Event Grid call (`delivery` set; its `path` is the endpoint's path).
 *
 * @since 0.1.0
 * @category models
 */
export interface JournalEntry {
  /** Increases by one per request over the emulator's life (not reset by `clear`). */
  readonly sequence: number
  /** When the request arrived, Unix milliseconds from the Effect `Clock`. */
  readonly timeMillis: number
  readonly method: string
  /** The URL path, without the query string. */
  readonly path: string
  readonly operation: JournalOperation
  /** The object name the path addresses, as sent; `null` for lists, restore, rng and unknown paths. */
  readonly name: string | null
  /** The status the client was sent; `null` when it got none (connection reset or stalled). */
  readonly status: number | null
  /** Whether the request carried a bearer token (without one it always gets the 401 challenge). */
  readonly tokenPresent: boolean
  /** Whether the app handled the request, so a write may have been applied (false when a fault answered first). */
  readonly reachedEngine: boolean
  readonly fault: AppliedFault | null
  /** Clock time from arrival to the response (injected latency included; a stall counts until it was decided). */
  readonly durationMillis: number
  /** Set for the emulator's outgoing Event Grid calls only. */
  readonly delivery?: DeliveryRecord | undefined
  /** The request's `x-ms-client-request-id`, when it sent one (at most 256 characters are kept). */
  readonly clientRequestId?: string | undefined
  /** The request's W3C `traceparent`, when it sent one (at most 256 characters are kept). */
  readonly traceparent?: string | undefined
}

/**
 * A query over the journal; every given field must match.
 *
 * @since 0.1.0
 * @category models
 */
export interface JournalFilter {
  readonly operation?: JournalOperation | ReadonlyArray<JournalOperation> | undefined
  /** An exact name (case-insensitive, as Key Vault names are) or a RegExp. */
  readonly name?: string | RegExp | undefined
  readonly status?: number | ReadonlyArray<number> | undefined
  readonly method?: string | undefined
  /** `true`: only requests that met a fault (throttling included); `false`: only those that did not. */
  readonly faulted?: boolean | undefined
  readonly tokenPresent?: boolean | undefined
  /** Only the request that carried this `x-ms-client-request-id`. */
  readonly clientRequestId?: string | undefined
  /** Only requests that arrived at or after this time (Unix milliseconds, or a Date). */
  readonly since?: number | Date | undefined
  /** Only requests that arrived before this time (Unix milliseconds, or a Date). */
  readonly until?: number | Date | undefined
  /** Only entries recorded after this `sequence` (a cursor for reading on from where the last read stopped). */
  readonly afterSequence?: number | undefined
}

/**
 * The journal of one emulator.
 *
 * @since 0.1.0
 * @category models
 */
export interface Journal {
  readonly capacity: number
  /** All retained entries, oldest first. */
  readonly entries: Effect.Effect<ReadonlyArray<JournalEntry>>
  /** Retained entries matching `filter`, oldest first. */
  readonly query: (filter: JournalFilter) => Effect.Effect<ReadonlyArray<JournalEntry>>
  /** How many entries were dropped because the journal was full (since the last `clear`). */
  readonly dropped: Effect.Effect<number>
  readonly clear: Effect.Effect<void>
  /** Appends an entry; the emulator's request pipeline calls this, tests normally do not. */
  readonly record: (entry: Omit<JournalEntry, "sequence">) => Effect.Effect<void>
  /** `record` without the Effect, for the request pipeline's hot path; call it from inside an Effect. */
  readonly unsafeRecord: (entry: Omit<JournalEntry, "sequence">) => void
  /** The `sequence` of the latest entry recorded (0 before the first); a cursor for `afterSequence`. */
  readonly latestSequence: Effect.Effect<number>
  /**
   * Every entry recorded from now on, as a Stream, until the scope closes (a capacity-0 journal still emits). The
   * subscription is in place when this effect completes, so nothing recorded after it is missed. A slow consumer
   * loses the oldest unread entries beyond `LIVE_BUFFER` rather than holding memory without bound.
   */
  readonly subscribe: Effect.Effect<Stream.Stream<JournalEntry>, never, Scope.Scope>
  /**
   * Calls `listener` with every entry as it is recorded (synchronously, inside `record`); returns the function that
   * stops it. For adapters that need a callback (the admin API's event stream); prefer `subscribe`.
   */
  readonly unsafeSubscribe: (listener: (entry: JournalEntry) => void) => () => void
}

/**
 * How many entries a `subscribe` stream holds for a consumer that has not read them yet.
 *
 * @since 0.1.0
 * @category constants
 */
export const LIVE_BUFFER = 1_024

const toMillis = (time: number | Date): number => typeof time === "number" ? time : time.getTime()

const asArray = <A>(value: A | ReadonlyArray<A>): ReadonlyArray<A> =>
  Array.isArray(value) ? value : [value as A]

/**
 * Whether `entry` matches `filter`.
 *
 * @since 0.1.0
 * @category guards
 */
export const matches = (entry: JournalEntry, filter: JournalFilter): boolean => {
  if (filter.operation !== undefined && !asArray(filter.operation).includes(entry.operation)) return false
  if (filter.status !== undefined && (entry.status === null || !asArray(filter.status).includes(entry.status))) {
    return false
  }
  if (filter.method !== undefined && filter.method.toUpperCase() !== entry.method) return false
  if (filter.faulted !== undefined && filter.faulted !== (entry.fault !== null)) return false
  if (filter.tokenPresent !== undefined && filter.tokenPresent !== entry.tokenPresent) return false
  if (filter.clientRequestId !== undefined && filter.clientRequestId !== entry.clientRequestId) return false
  if (filter.since !== undefined && entry.timeMillis < toMillis(filter.since)) return false
  if (filter.until !== undefined && entry.timeMillis >= toMillis(filter.until)) return false
  if (filter.afterSequence !== undefined && entry.sequence <= filter.afterSequence) return false
  if (filter.name !== undefined) {
    if (entry.name === null) return false
    if (typeof filter.name === "string") {
      if (filter.name.toLowerCase() !== entry.name.toLowerCase()) return false
    } else {
      // A global or sticky RegExp keeps state between `test` calls; reset it so every entry is judged alike.
      filter.name.lastIndex = 0
      if (!filter.name.test(entry.name)) return false
    }
  }
  return true
}

/**
 * A new, empty journal keeping at most `capacity` entries (a ring buffer: the oldest go first). `capacity` 0 keeps
 * nothing. A negative or fractional capacity is a programming error and dies.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (capacity: number = DEFAULT_CAPACITY): Effect.Effect<Journal> =>
  Effect.suspend(() => {
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      return Effect.dieMessage(`journal capacity must be a whole number >= 0, got ${capacity}`)
    }
    // A fixed array and a start index: appending is O(1) and never reallocates once full.
    const ring: Array<JournalEntry | undefined> = []
    let start = 0
    let size = 0
    let sequence = 0
    let dropped = 0
    const listeners = new Set<(entry: JournalEntry) => void>()

    // A listener runs inside the request's `record`: one that throws must not cost the request its journal entry.
    const notify = (entry: JournalEntry): void => {
      for (const listener of listeners) {
        try {
          listener(entry)
        } catch {
          // ignored: see above
        }
      }
    }

    const unsafeSubscribe = (listener: (entry: JournalEntry) => void): () => void => {
      // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
      const own = (entry: JournalEntry) => listener(entry)
      listeners.add(own)
      return () => {
        listeners.delete(own)
      }
    }

    const snapshot = (): ReadonlyArray<JournalEntry> => {
      const out: Array<JournalEntry> = []
      for (let i = 0; i < size; i++) out.push(ring[(start + i) % capacity]!)
      return out
    }

    const unsafeRecord = (entry: Omit<JournalEntry, "sequence">): void => {
      sequence += 1
      if (capacity === 0) {
        dropped += 1
        if (listeners.size > 0) notify({ sequence, ...entry })
        return
      }
      const full: JournalEntry = { sequence, ...entry }
      if (size < capacity) {
        ring[(start + size) % capacity] = full
        size += 1
      } else {
        ring[start] = full
        start = (start + 1) % capacity
        dropped += 1
      }
      // After the entry is stored, so a listener that queries the journal finds it.
      if (listeners.size > 0) notify(full)
    }

    const journal: Journal = {
      capacity,
      entries: Effect.sync(snapshot),
      query: (filter) => Effect.sync(() => snapshot().filter((entry) => matches(entry, filter))),
      dropped: Effect.sync(() => dropped),
      clear: Effect.sync(() => {
        ring.length = 0
        start = 0
        size = 0
        dropped = 0
      }),
      record: (entry) => Effect.sync(() => unsafeRecord(entry)),
      unsafeRecord,
      latestSequence: Effect.sync(() => sequence),
      subscribe: Effect.gen(function*() {
        const queue = yield* Effect.acquireRelease(Queue.sliding<JournalEntry>(LIVE_BUFFER), Queue.shutdown)
        yield* Effect.acquireRelease(
          // `unsafeOffer` refuses when full, whatever the strategy: then `offer` lets the sliding queue drop its oldest.
          Effect.sync(() =>
            unsafeSubscribe((entry) => {
              if (!queue.unsafeOffer(entry)) Effect.runSync(Queue.offer(queue, entry))
            })
          ),
          (stop) => Effect.sync(stop)
        )
        return Stream.fromQueue(queue)
      }),
      unsafeSubscribe
    }
    return Effect.succeed(journal)
  })
