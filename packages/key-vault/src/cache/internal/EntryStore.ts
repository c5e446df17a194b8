/**
 * Where entries live: one `Table` per vault and object type, all sharing one LRU list and one size bound, so a busy
 * object type can push out another's least recently used entries but the cache as a whole never holds more than
 * `maxEntries`.
 *
 * @internal
 */
import type { ObjectType } from "../VaultCache.js"
import { type Entry, Table } from "./Entry.js"
import { LruList } from "./Lru.js"

/**
 * The entries of every table, in one recency order, bounded.
 *
 * @internal
 */
export class EntryStore {
  // Plain maps and an intrusive list rather than a `Ref` of an immutable map: a hit is one `Map.get` and two link
  // updates, inside a hit path the bench holds to <= 1 us (about 0.4-0.6 us measured), and every access is a
  // synchronous step of the reading fiber, never split across an await.
  private readonly lru = new LruList<Entry>()
  private readonly tables = new Map<string, Table>()

  constructor(
    readonly maxEntries: number,
    /** Told the size after every change (the size gauge). */
    private readonly onResize: (size: number) => void
  ) {}

  get size(): number {
    return this.lru.size
  }

  /** The table of one vault and object type, made on first use. */
  table(vaultHost: string, objectType: ObjectType): Table {
    const id = `${vaultHost}:${objectType}`
    let table = this.tables.get(id)
    if (table === undefined) {
      table = new Table(vaultHost, objectType)
      this.tables.set(id, table)
    }
    return table
  }

  lookup(table: Table, name: string, version: string | undefined): Entry | undefined {
    return version === undefined ? table.latest.get(name) : table.versions.get(name)?.get(version)
  }

  /** Whether `entry` is still the one filed under its key (not replaced, invalidated or evicted since). */
  isCurrent(entry: Entry): boolean {
    return this.lookup(entry.table, entry.name, entry.version) === entry
  }

  /** A hit: the entry becomes the most recently used. */
  touch(entry: Entry): void {
    this.lru.touch(entry)
  }

  /**
   * Files `entry` under its key as the most recently used, replacing what was there, then evicts the least recently
   * used beyond the bound. Answers how many were evicted.
   */
  insert(entry: Entry): number {
    const previous = this.lookup(entry.table, entry.name, entry.version)
    if (previous !== undefined) this.unfile(previous)
    if (entry.version === undefined) entry.table.latest.set(entry.name, entry)
    else {
      let versions = entry.table.versions.get(entry.name)
      if (versions === undefined) {
        versions = new Map()
        entry.table.versions.set(entry.name, versions)
      }
      versions.set(entry.version, entry)
    }
    this.lru.append(entry)
    let evicted = 0
    while (this.lru.size > this.maxEntries && this.lru.oldest !== undefined) {
      this.unfile(this.lru.oldest)
      evicted++
    }
    this.onResize(this.lru.size)
    return evicted
  }

  /** Removes `entry` if it is still current; an entry already replaced or removed is left alone. */
  remove(entry: Entry): void {
    if (this.unfile(entry)) this.onResize(this.lru.size)
  }

  /** Removes every version of `name` in `table`. */
  removeName(table: Table, name: string): void {
    const latest = table.latest.get(name)
    if (latest !== undefined) this.unfile(latest)
    const versions = table.versions.get(name)
    if (versions !== undefined) for (const entry of [...versions.values()]) this.unfile(entry)
    this.onResize(this.lru.size)
  }

  clear(): void {
    for (const table of this.tables.values()) {
      table.latest.clear()
      table.versions.clear()
    }
    this.lru.clear()
    this.onResize(0)
  }

  /** Entries from least to most recently used (for tests). */
  entries(): IterableIterator<Entry> {
    return this.lru[Symbol.iterator]()
  }

  private unfile(entry: Entry): boolean {
    const table = entry.table
    if (entry.version === undefined) {
      if (table.latest.get(entry.name) !== entry) return false
      table.latest.delete(entry.name)
    } else {
      const versions = table.versions.get(entry.name)
      if (versions === undefined || versions.get(entry.version) !== entry) return false
      versions.delete(entry.version)
      if (versions.size === 0) table.versions.delete(entry.name)
    }
    this.lru.remove(entry)
    return true
  }
}
