/**
 * The expiry events waiting for their time, ordered by due time (a binary heap): checking for due events costs
 * nothing when none is due, whatever the number of versions with an expiry.
 *
 * @internal
 */
import type { VaultObjectType } from "../../engine/VaultEngine.js"

/** @internal */
export interface DueEntry {
  readonly dueMillis: number
  /** The vault the version belongs to. */
  readonly vault: string
  readonly kind: "NearExpiry" | "Expired"
  readonly objectType: VaultObjectType
  readonly name: string
  readonly version: string
  readonly expires: Date
}

/** @internal */
export interface DueQueue {
  readonly push: (entry: DueEntry) => void
  /** Whether an entry is due at `nowMillis`. */
  readonly hasDue: (nowMillis: number) => boolean
  /** Removes and answers the earliest entry due at `nowMillis`, if any. */
  readonly popDue: (nowMillis: number) => DueEntry | undefined
  readonly size: () => number
}

/** @internal */
export const make = (): DueQueue => {
  // Entries due at the same time come out in the order they were pushed (a sequence number breaks ties).
  const heap: Array<{ readonly entry: DueEntry; readonly sequence: number }> = []
  let sequence = 0
  const less = (i: number, j: number): boolean => {
    const a = heap[i]!
    const b = heap[j]!
    return a.entry.dueMillis < b.entry.dueMillis ||
      (a.entry.dueMillis === b.entry.dueMillis && a.sequence < b.sequence)
  }
  const swap = (i: number, j: number): void => {
    const t = heap[i]!
    heap[i] = heap[j]!
    heap[j] = t
  }
  return {
    push: (entry) => {
      heap.push({ entry, sequence: sequence++ })
      let i = heap.length - 1
      while (i > 0) {
        const parent = (i - 1) >> 1
        if (!less(i, parent)) break
        swap(i, parent)
        i = parent
      }
    },
    hasDue: (nowMillis) => heap.length > 0 && heap[0]!.entry.dueMillis <= nowMillis,
    popDue: (nowMillis) => {
      const top = heap[0]
      if (top === undefined || top.entry.dueMillis > nowMillis) return undefined
      const last = heap.pop()!
      if (heap.length > 0) {
        heap[0] = last
        let i = 0
        for (;;) {
          const l = 2 * i + 1
          const r = l + 1
          let smallest = i
          if (l < heap.length && less(l, smallest)) smallest = l
          if (r < heap.length && less(r, smallest)) smallest = r
          if (smallest === i) break
          swap(i, smallest)
          i = smallest
        }
      }
      return top.entry
    },
    size: () => heap.length
  }
}
