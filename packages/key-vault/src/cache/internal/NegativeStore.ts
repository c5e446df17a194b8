/**
 * Remembered not-founds, in their own store with their own bound and TTL: a flood of reads of unknown names only
 * ever pushes out other not-founds, never a cached value.
 *
 * @internal
 */

interface Negative {
  readonly error: unknown
  readonly expiresAt: number
  readonly group: string
}

/**
 * Not-founds by key, each in a group (the name it belongs to: invalidating a name forgets all its versions). When
 * full, the oldest remembered goes first (a `Map` keeps insertion order, and remembering a key again re-inserts it).
 *
 * @internal
 */
export class NegativeStore {
  // Plain maps rather than a `Ref`: only the miss path reads them, but they are read inside the same synchronous
  // step that registers a coalesced load, which must not yield between the check and the registration.
  private readonly byKey = new Map<string, Negative>()
  private readonly byGroup = new Map<string, Set<string>>()

  constructor(readonly maxEntries: number, readonly ttlMillis: number) {}

  get size(): number {
    return this.byKey.size
  }

  /** The error remembered for `key` if it has not expired at `now` (an expired one is forgotten). */
  get(key: string, now: number): unknown {
    const negative = this.byKey.get(key)
    if (negative === undefined) return undefined
    if (now < negative.expiresAt) return negative.error
    this.remove(key)
    return undefined
  }

  /** Remembers `error` for `key` until `now + ttl`. Does nothing when negative caching is off (TTL 0). */
  remember(key: string, group: string, error: unknown, now: number): void {
    if (this.ttlMillis === 0) return
    this.remove(key)
    this.byKey.set(key, { error, expiresAt: now + this.ttlMillis, group })
    let keys = this.byGroup.get(group)
    if (keys === undefined) {
      keys = new Set()
      this.byGroup.set(group, keys)
    }
    keys.add(key)
    while (this.byKey.size > this.maxEntries) this.remove(this.byKey.keys().next().value as string)
  }

  remove(key: string): void {
    const negative = this.byKey.get(key)
    if (negative === undefined) return
    this.byKey.delete(key)
    const keys = this.byGroup.get(negative.group)
    keys?.delete(key)
    if (keys?.size === 0) this.byGroup.delete(negative.group)
  }

  /** Forgets every key of `group`. */
  removeGroup(group: string): void {
    const keys = this.byGroup.get(group)
    if (keys === undefined) return
    for (const key of keys) this.byKey.delete(key)
    this.byGroup.delete(group)
  }

  clear(): void {
    this.byKey.clear()
    this.byGroup.clear()
  }
}
