/**
 * The journals of several vaults read as one: queries merged by arrival time, a live stream, and the cursor-based
 * poll behind the admin API's server-sent events.
 *
 * A poll's cursor is the last sequence seen per vault (`default:12,b:7`): journals number their entries per vault,
 * so one number cannot say where a reader stopped in each of them. A vault missing from the cursor (created since)
 * is read from its beginning.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { JournalEntry, JournalFilter } from "../../journal/Journal.js"
import { matches } from "../../journal/Journal.js"
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
