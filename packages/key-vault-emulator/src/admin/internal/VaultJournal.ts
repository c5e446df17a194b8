/**
 * The journals of several vaults read as one: queries merged by arrival time, a live stream, a cursor-based poll,
 * and the cursor-based live stream behind the admin API's server-sent events (backlog first, then live).
 *
 * A poll's cursor is the last sequence seen per vault (`default:12,b:7`): journals number their entries per vault,
 * so one number cannot say where a reader stopped in each of them. A vault missing from the cursor (created since)
 * is read from its beginning.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { JournalEntry, JournalFilter } from "../../journal/Journal.js"
import { LIVE_BUFFER, matches } from "../../journal/Journal.js"
import type { Vault } from "../../vaults/VaultRegistry.js"

/** @internal */
export interface VaultJournalEntry extends JournalEntry {
  /** The vault that served the request. */
  readonly vault: string
}

/** @internal */
export interface JournalQuery extends Omit<JournalFilter, "afterSequence"> {
  /** One or more vault names; default every vault. */
  readonly vault?: string | ReadonlyArray<string> | undefined
  /** At most this many entries, the most recent ones (a whole number >= 1). */
  readonly limit?: number | undefined
}

/** @internal */
export interface JournalBatch {
  /** The entries after the cursor, oldest first. */
  readonly entries: ReadonlyArray<VaultJournalEntry>
  /** Where the next poll starts; also given after each entry (`cursors[i]`, the cursor just after `entries[i]`). */
  readonly cursor: string
  readonly cursors: ReadonlyArray<string>
}

/** @internal */
export interface PollOptions {
  /** Where the last poll stopped; absent: now (plus `backlog`). An unreadable cursor also means now. */
  readonly cursor?: string | undefined
  /** With no cursor: start this many matching entries back. Default 0. */
  readonly backlog?: number | undefined
  /** Without new entries, wait this long for the first one. Default 0. */
  readonly waitMillis?: number | undefined
  /** At most this many entries per batch; default `MAX_BATCH`. */
  readonly maxEntries?: number | undefined
}

/**
 * Entries per poll at most; a reader with more to catch up on polls again at once.
 *
 * @internal
 */
export const MAX_BATCH = 500

const filterOf = (query: JournalQuery): JournalFilter => {
  const { limit: _limit, vault: _vault, ...filter } = query
  return filter
}

const tagged = (vault: string, entry: JournalEntry): VaultJournalEntry => ({ vault, ...entry })

// Stable sort: entries of one time keep vault order, and within a vault their sequence order.
const merged = (
  parts: ReadonlyArray<readonly [string, ReadonlyArray<JournalEntry>]>
): Array<VaultJournalEntry> =>
  parts
    .flatMap(([vault, entries]) => entries.map((entry) => tagged(vault, entry)))
    .sort((a, b) => a.timeMillis - b.timeMillis)

/**
 * Matching entries of `vaults`, oldest first; with `limit`, the most recent `limit`.
 *
 * @internal
 */
export const query = (
  vaults: ReadonlyArray<Vault>,
  query: JournalQuery
): Effect.Effect<{ readonly value: ReadonlyArray<VaultJournalEntry>; readonly dropped: Record<string, number> }> =>
  Effect.gen(function*() {
    const filter = filterOf(query)
    const parts: Array<readonly [string, ReadonlyArray<JournalEntry>]> = []
    const dropped: Record<string, number> = {}
    for (const vault of vaults) {
      parts.push([vault.name, yield* vault.journal.query(filter)])
      dropped[vault.name] = yield* vault.journal.dropped
    }
    const all = merged(parts)
    return { value: query.limit === undefined ? all : all.slice(Math.max(0, all.length - query.limit)), dropped }
  })

/**
 * Matching entries of `vaults` as they are recorded, from when this effect completes until the scope closes.
 *
 * @internal
 */
export const subscribe = (
  vaults: ReadonlyArray<Vault>,
  query: JournalQuery
): Effect.Effect<Stream.Stream<VaultJournalEntry>, never, Scope.Scope> => {
  const filter = filterOf(query)
  return Effect.map(
    Effect.forEach(vaults, (vault) =>
      Effect.map(vault.journal.subscribe, (stream) =>
        stream.pipe(
          Stream.filter((entry) => matches(entry, filter)),
          Stream.map((entry) => tagged(vault.name, entry))
        ))),
    (streams) => {
      const merged = Stream.mergeAll(streams, { concurrency: "unbounded" })
      return query.limit === undefined ? merged : Stream.take(merged, query.limit)
    }
  )
}

// --- the cursor ---------------------------------------------------------------------------------------------------

/**
 * `name:sequence` pairs joined by commas (vault names are `a-z`, `0-9` and `-`).
 *
 * @internal
 */
export const encodeCursor = (cursor: ReadonlyMap<string, number>): string =>
  [...cursor].map(([vault, sequence]) => `${vault}:${sequence}`).join(",")

const CURSOR_PART = /^([a-z0-9-]{1,64}):(\d{1,15})$/

/**
 * The cursor in `text`, or `undefined` when it is not one.
 *
 * @internal
 */
export const decodeCursor = (text: string): Map<string, number> | undefined => {
  if (text.length > 16_384) return undefined
  const cursor = new Map<string, number>()
  if (text.trim() === "") return cursor
  for (const part of text.split(",")) {
    const match = CURSOR_PART.exec(part.trim())
    if (match === null) return undefined
    cursor.set(match[1]!, Number(match[2]))
  }
  return cursor
}

interface Collected {
  readonly entries: Array<VaultJournalEntry>
  readonly cursors: Array<string>
  readonly cursor: Map<string, number>
}

// Entries after `from` (per vault), and the cursor after each. When every pending entry fits, the cursor moves to the
// end of each journal as it was read, so the next poll does not scan the entries this one skipped as unmatched.
const collect = (
  vaults: ReadonlyArray<Vault>,
  filter: JournalFilter,
  from: ReadonlyMap<string, number>,
  maxEntries: number
): Effect.Effect<Collected> =>
  Effect.gen(function*() {
    const parts: Array<readonly [string, ReadonlyArray<JournalEntry>]> = []
    const latest = new Map<string, number>()
    const start = new Map<string, number>()
    for (const vault of vaults) {
      const end = yield* vault.journal.latestSequence
      // A cursor beyond the journal's end belongs to an earlier vault of the same name: read this one from its start.
      const at = from.get(vault.name) ?? 0
      const after = at > end ? 0 : at
      start.set(vault.name, after)
      latest.set(vault.name, end)
      parts.push([vault.name, yield* vault.journal.query({ ...filter, afterSequence: after })])
    }
    const pending = merged(parts)
    const entries = pending.slice(0, maxEntries)
    const cursor = new Map(start)
    const cursors: Array<string> = []
    for (const entry of entries) {
      cursor.set(entry.vault, entry.sequence)
      cursors.push(encodeCursor(cursor))
    }
    if (entries.length === pending.length) {
      for (const [vault, end] of latest) cursor.set(vault, Math.max(end, cursor.get(vault) ?? 0))
    }
    return { entries, cursors, cursor }
  })

// Where a new reader starts: the end of every journal, or `backlog` matching entries before it.
const startCursor = (
  vaults: ReadonlyArray<Vault>,
  filter: JournalFilter,
  backlog: number
): Effect.Effect<Map<string, number>> =>
  Effect.gen(function*() {
    const cursor = new Map<string, number>()
    for (const vault of vaults) cursor.set(vault.name, yield* vault.journal.latestSequence)
    if (backlog <= 0) return cursor
    const { value } = yield* query(vaults, { ...filter, limit: backlog })
    for (const entry of value) {
      cursor.set(entry.vault, Math.min(cursor.get(entry.vault) ?? entry.sequence - 1, entry.sequence - 1))
    }
    return cursor
  })

// Resolves `signal` on the first matching entry any of `vaults` records.
const watch = (vaults: ReadonlyArray<Vault>, filter: JournalFilter, signal: Deferred.Deferred<void>) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      vaults.map((vault) =>
        vault.journal.unsafeSubscribe((entry) => {
          if (matches(entry, filter)) Deferred.unsafeDone(signal, Effect.void)
        })
      )
    ),
    (stops) => Effect.sync(() => stops.forEach((stop) => stop()))
  )

/**
 * The entries after a cursor; without any, waits up to `waitMillis` for the first (on the Effect `Clock`).
 *
 * @internal
 */
export const poll = (
  vaults: ReadonlyArray<Vault>,
  query: JournalQuery,
  options: PollOptions
): Effect.Effect<JournalBatch> =>
  Effect.scoped(Effect.gen(function*() {
    const filter = filterOf(query)
    const maxEntries = options.maxEntries ?? MAX_BATCH
    const signal = yield* Deferred.make<void>()
    // Watch before the first read: an entry recorded between the read and the wait still wakes the reader.
    yield* watch(vaults, filter, signal)
    const decoded = options.cursor === undefined ? undefined : decodeCursor(options.cursor)
    const from = decoded ?? (yield* startCursor(vaults, filter, options.backlog ?? 0))
    let batch = yield* collect(vaults, filter, from, maxEntries)
    const waitMillis = options.waitMillis ?? 0
    if (batch.entries.length === 0 && waitMillis > 0) {
      yield* Effect.timeoutOption(Deferred.await(signal), Duration.millis(waitMillis))
      batch = yield* collect(vaults, filter, batch.cursor, maxEntries)
    }
    return { entries: batch.entries, cursors: batch.cursors, cursor: encodeCursor(batch.cursor) }
  }))

// --- the live stream ----------------------------------------------------------------------------------------------

/**
 * What a live journal stream emits: a matching entry with the cursor just after it; `CaughtUp` once the backlog is
 * read (with the cursor past it, unmatched entries included); `Dropped` when the reader fell more than its buffer
 * behind and the oldest unread entries were let go (they stay in the journal: query them after the cursor);
 * `KeepAlive` after `keepAliveMillis` without anything else.
 *
 * @internal
 */
export type LiveItem =
  | { readonly _tag: "Entry"; readonly entry: VaultJournalEntry; readonly cursor: string }
  | { readonly _tag: "CaughtUp"; readonly cursor: string }
  | { readonly _tag: "Dropped"; readonly count: number; readonly cursor: string }
  | { readonly _tag: "KeepAlive" }

/** @internal */
export interface LiveOptions {
  /** Where to start: entries after this cursor (a vault missing from it is read from its start). */
  readonly from: ReadonlyMap<string, number>
  /** Unread entries held for a slow reader before the oldest go (`Dropped`); default `Journal.LIVE_BUFFER`. */
  readonly bufferSize?: number | undefined
  /**
   * Vaults created while the stream runs join it (read from their first entry): `watch` registers the listener and
   * answers the function that stops it. Absent: only `vaults`.
   */
  readonly watchCreated?: ((listener: (vault: Vault) => void) => () => void) | undefined
  /** Emit `KeepAlive` after this long (on the `Clock`) without an entry; default never. */
  readonly keepAliveMillis?: number | undefined
}

const KEEP_ALIVE: Chunk.Chunk<LiveItem> = Chunk.of({ _tag: "KeepAlive" })

/**
 * The entries after `options.from`, then every matching entry as it is recorded, until the stream is interrupted
 * (or, with `query.limit`, after that many entries). Subscribes when it starts running, before it reads the
 * backlog, so nothing recorded in between is missed or sent twice. Memory per reader is bounded by `bufferSize`.
 *
 * @internal
 */
export const live = (
  vaults: ReadonlyArray<Vault>,
  query: JournalQuery,
  options: LiveOptions
): Stream.Stream<LiveItem> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const filter = filterOf(query)
    const capacity = Math.max(1, options.bufferSize ?? LIVE_BUFFER)
    // The reader's buffer: at most `capacity` unread entries; beyond, the oldest go and are counted. Filled
    // synchronously inside the journal's `record`, emptied by the reader one batch per pull.
    let pending: Array<VaultJournalEntry> = []
    let head = 0
    let dropped = 0
    let wake: (() => void) | undefined
    const offer = (entry: VaultJournalEntry): void => {
      pending.push(entry)
      if (pending.length - head > capacity) {
        head += 1
        dropped += 1
        // Compacted now and then, so dropping stays O(1) amortised.
        if (head >= capacity) {
          pending = pending.slice(head)
          head = 0
        }
      }
      if (wake !== undefined) {
        const resume = wake
        wake = undefined
        resume()
      }
    }
    const watching = new Set<Vault>()
    const stops: Array<() => void> = []
    const watch = (vault: Vault): void => {
      if (watching.has(vault)) return
      watching.add(vault)
      stops.push(vault.journal.unsafeSubscribe((entry) => {
        if (matches(entry, filter)) offer(tagged(vault.name, entry))
      }))
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        vaults.forEach(watch)
        if (options.watchCreated !== undefined) stops.push(options.watchCreated(watch))
      }),
      () => Effect.sync(() => stops.forEach((stop) => stop()))
    )

    // Where the reader is, per vault: the backlog moves it, and a live entry at or before it was sent already.
    let position = new Map(options.from)
    // Batches of `MAX_BATCH` until one comes back short: that one ends with `CaughtUp`.
    const backlog = Stream.paginateChunkEffect(undefined, () =>
      Effect.map(collect([...watching], filter, position, MAX_BATCH), (batch) => {
        const items = batch.entries.map((entry, index): LiveItem => ({
          _tag: "Entry",
          entry,
          cursor: batch.cursors[index]!
        }))
        position = batch.cursor
        const done = batch.entries.length < MAX_BATCH
        if (done) items.push({ _tag: "CaughtUp", cursor: encodeCursor(position) })
        return [Chunk.unsafeFromArray(items), done ? Option.none() : Option.some(undefined)] as const
      }))
    const fromQueue = (taken: ReadonlyArray<VaultJournalEntry>): Chunk.Chunk<LiveItem> => {
      const items: Array<LiveItem> = []
      if (dropped > 0) {
        items.push({ _tag: "Dropped", count: dropped, cursor: encodeCursor(position) })
        dropped = 0
      }
      for (const entry of taken) {
        if (entry.sequence <= (position.get(entry.vault) ?? 0)) continue
        position.set(entry.vault, entry.sequence)
        items.push({ _tag: "Entry", entry, cursor: encodeCursor(position) })
      }
      return Chunk.unsafeFromArray(items)
    }
    // Pulled one batch at a time: nothing is taken from the queue before the reader asks for it, so the queue's bound
    // is all a slow reader can hold in memory (the HTTPS server asks for the next batch once the socket drained).
    const waitForEntries = Effect.async<void>((resume) => {
      if (pending.length > head || dropped > 0) return resume(Effect.void)
      wake = () => resume(Effect.void)
      return Effect.sync(() => {
        wake = undefined
      })
    })
    const take = Effect.zipRight(
      waitForEntries,
      Effect.sync(() => {
        const taken = pending.slice(head, head + MAX_BATCH)
        head += taken.length
        if (head === pending.length) {
          pending = []
          head = 0
        }
        return taken
      })
    )
    const keepAlive = options.keepAliveMillis
    const next = keepAlive === undefined
      ? Effect.map(take, fromQueue)
      : Effect.timeoutTo(take, { duration: Duration.millis(keepAlive), onSuccess: fromQueue, onTimeout: () => KEEP_ALIVE })
    const fresh = Stream.repeatEffectChunk(next)
    const all = Stream.concat(backlog, fresh)
    const limit = query.limit
    if (limit === undefined) return all
    let sent = 0
    return Stream.takeUntil(all, (item) => item._tag === "Entry" && ++sent >= limit)
  }))

/**
 * Where a reader starts: the cursor given (an unreadable one means now), else now minus `backlog` matching entries.
 *
 * @internal
 */
export const startingPoint = (
  vaults: ReadonlyArray<Vault>,
  query: JournalQuery,
  cursor: string | undefined,
  backlog: number
): Effect.Effect<Map<string, number>> => {
  const decoded = cursor === undefined ? undefined : decodeCursor(cursor)
  return decoded !== undefined ? Effect.succeed(decoded) : startCursor(vaults, filterOf(query), backlog)
}
