/**
 * A map that keeps at most `capacity` entries and forgets the least recently used one first: the bounded memory
 * behind event deduplication and the monitor's "once per version" rule.
 *
 * A JavaScript `Map` iterates in insertion order, so re-inserting a key on use keeps the order by recency and the
 * first key is always the one to evict: O(1) per operation, no links to maintain. It is mutated inside one
 * `Effect.sync` step at a time (never across an `Effect` boundary), which makes check-and-remember atomic on the one
 * JavaScript thread; a `Ref` of an immutable map would copy thousands of entries per event.
 *
 * @internal
 */
export class BoundedMap<V> {
  private readonly entries = new Map<string, V>()

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size
  }

  /** The value for `key`, marking it as recently used. */
  get(key: string): V | undefined {
    const value = this.entries.get(key)
    if (value === undefined) return undefined
    this.entries.delete(key)
    this.entries.set(key, value)
    return value
  }

  has(key: string): boolean {
    return this.entries.has(key)
  }

  /** Remembers `key` as the most recently used, evicting the least recently used entries beyond the bound. */
  set(key: string, value: V): void {
    this.entries.delete(key)
    if (this.capacity <= 0) return
    this.entries.set(key, value)
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next()
      if (oldest.done === true) break
      this.entries.delete(oldest.value)
    }
  }

  delete(key: string): void {
    this.entries.delete(key)
  }
}
