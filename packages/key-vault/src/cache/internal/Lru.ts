/**
 * An intrusive least-recently-used list: the nodes carry their own links, so keeping an entry in recency order costs
 * two fields on the entry and no allocation, and moving it to the front is O(1).
 *
 * The list knows nothing of keys, TTLs or bounds: the entry store decides what goes in, what is evicted and when.
 *
 * @internal
 */

/**
 * What a node needs to sit in the list: `prev` is the older neighbour, `next` the newer.
 *
 * @internal
 */
export interface LruNode<N> {
  prev: N | undefined
  next: N | undefined
}

/**
 * Nodes from least to most recently used. A node is in at most one list at a time.
 *
 * @internal
 */
export class LruList<N extends LruNode<N>> {
  /** The least recently used node: the next to evict. */
  oldest: N | undefined = undefined
  /** The most recently used node. */
  newest: N | undefined = undefined
  size = 0

  /** Adds a node that is in no list as the most recently used. */
  append(node: N): void {
    node.prev = this.newest
    node.next = undefined
    if (this.newest === undefined) this.oldest = node
    else this.newest.next = node
    this.newest = node
    this.size++
  }

  /** Takes a node that is in this list out of it. */
  remove(node: N): void {
    if (node.prev === undefined) this.oldest = node.next
    else node.prev.next = node.next
    if (node.next === undefined) this.newest = node.prev
    else node.next.prev = node.prev
    node.prev = undefined
    node.next = undefined
    this.size--
  }

  /** Marks a node that is in this list as the most recently used (the hit path: nothing to do for the newest). */
  touch(node: N): void {
    if (node === this.newest) return
    this.remove(node)
    this.append(node)
  }

  /** Forgets every node at once (their links are left for the collector). */
  clear(): void {
    this.oldest = undefined
    this.newest = undefined
    this.size = 0
  }

  /** From least to most recently used. */
  *[Symbol.iterator](): IterableIterator<N> {
    for (let node = this.oldest; node !== undefined; node = node.next) yield node
  }
}
