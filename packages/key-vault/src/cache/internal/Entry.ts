/**
 * The compact form of a cached value, and how it is turned back into the value a reader gets.
 *
 * An entry holds the codec's stored form (for secrets, a small `CachedSecret`; sealed with encryption at rest) and
 * rebuilds the user's value on a hit. Rebuilding costs an allocation per hit, so the most recently hit entries also
 * keep the decoded value in a fixed ring (`HotRing`); every other entry holds only its stored form.
 *
 * @internal
 */
import type * as AtRestCipher from "../AtRestCipher.js"
import type { EntryCodec, ObjectType } from "../VaultCache.js"
import type { LruNode } from "./Lru.js"

/**
 * The entries of one object type of one vault: `latest` answers the common read with one map lookup; reads of a
 * specific version go through `versions`. Names are lower-cased before they get here.
 *
 * @internal
 */
export class Table {
  readonly latest = new Map<string, Entry>()
  readonly versions = new Map<string, Map<string, Entry>>()
  constructor(readonly vaultHost: string, readonly objectType: ObjectType) {}

  /** The prefix of every key of `name` in this table (`{vault_host}:{object_type}:{name}:`). */
  nameKey(name: string): string {
    return `${this.vaultHost}:${this.objectType}:${name}:`
  }

  /** The full key, `{vault_host}:{object_type}:{name}:{version|latest}`. */
  key(name: string, version: string | undefined): string {
    return this.nameKey(name) + (version ?? "latest")
  }
}

/**
 * One cached value. Kept small on purpose (a cache holds many, and the bench holds it to a budget per entry): one
 * class, so every entry shares one V8 shape; times are integer milliseconds since the cache was built, so they stay
 * small integers rather than boxed doubles; the entry's identity doubles as its generation (a load or refresh whose
 * entry is no longer the one filed under its key is stale).
 *
 * @internal
 */
export class Entry implements LruNode<Entry> {
  /** The decoded value, kept only while the entry is in the hot ring. */
  decoded: unknown = undefined
  prev: Entry | undefined = undefined
  next: Entry | undefined = undefined
  constructor(
    readonly table: Table,
    /** Lower case. */
    readonly name: string,
    /** `undefined` for the latest version. */
    readonly version: string | undefined,
    readonly stored: unknown,
    readonly expiresAt: number
  ) {}
}

/**
 * The codec that stores values as they are: one shared instance, so the default codec allocates nothing.
 *
 * @internal
 */
export const identity: EntryCodec<unknown> = { encode: (value) => value, decode: (stored) => stored }

/**
 * The last `limit` entries that were decoded on a hit keep their decoded value; the entry pushed out of the ring
 * drops it. Limit 0 keeps none (with encryption at rest: a decoded value holds plaintext).
 *
 * @internal
 */
export class HotRing {
  // A plain array and index rather than a `Ref`: this runs on a cold hit of a non-identity codec, inside the
  // synchronous hit path that the bench holds to <= 1 us (about 0.4-0.6 us measured); it is only ever touched
  // synchronously by the fiber that runs the read, so there is nothing for a `Ref` to guard.
  private readonly ring: Array<Entry | undefined>
  private next = 0
  constructor(readonly limit: number) {
    this.ring = new Array<Entry | undefined>(limit).fill(undefined)
  }

  keep(entry: Entry, value: unknown): void {
    if (this.limit === 0) return
    const previous = this.ring[this.next]
    if (previous !== undefined) previous.decoded = undefined
    entry.decoded = value
    this.ring[this.next] = entry
    this.next = (this.next + 1) % this.limit
  }
}

/**
 * The value of an entry: the kept decoded value, or the stored form decoded now (and kept, for a codec that does
 * work). `undefined` when the codec cannot open it (tampered): the caller drops the entry.
 *
 * @internal
 */
export const decode = <A>(
  entry: Entry,
  codec: EntryCodec<A>,
  cipher: AtRestCipher.AtRestCipher | undefined,
  hot: HotRing
): A | undefined => {
  const kept = entry.decoded as A | undefined
  if (kept !== undefined) return kept
  const value = codec.decode(entry.stored, cipher, entry.name)
  if (value !== undefined && codec !== (identity as EntryCodec<unknown>)) hot.keep(entry, value)
  return value
}
