/**
 * The times of a sliding window's recent grants, oldest first, as an immutable queue (a front array read from an
 * index, and newer times consed onto a list that is reversed into the front when the front runs out). Every
 * operation returns a new value and never changes the old one, so the log can live in a `Ref`; recording a grant is
 * amortised O(1), where copying an array of up to 3,200 times on each grant would not be (see `RateLimiter`).
 *
 * @internal
 */

interface Cons {
  readonly head: number
  readonly tail: Cons | undefined
}

/** @internal */
export interface GrantLog {
  /** Oldest times first; `front[start]` is the oldest in the log. Empty front means an empty log. */
  readonly front: ReadonlyArray<number>
  readonly start: number
  /** Newer times, newest first. */
  readonly back: Cons | undefined
  readonly size: number
}

/** @internal */
export const empty: GrantLog = { front: [], start: 0, back: undefined, size: 0 }

const dropOldest = (log: GrantLog): GrantLog => {
  if (log.start + 1 < log.front.length) {
    return { front: log.front, start: log.start + 1, back: log.back, size: log.size - 1 }
  }
  // The front is used up: the back, reversed, becomes the front.
  const front: Array<number> = []
  for (let cell = log.back; cell !== undefined; cell = cell.tail) front.push(cell.head)
  front.reverse()
  return { front, start: 0, back: undefined, size: log.size - 1 }
}

/** The time from which one more grant fits a window of `limit` grants per `windowMillis`, given `now`. */
export const readyAt = (log: GrantLog, limit: number, windowMillis: number, now: number): number =>
  log.size < limit ? now : Math.max(now, log.front[log.start]! + windowMillis)

/** Records a grant at `at`, keeping only what can still matter: grants inside the window, the last `limit - 1`. */
export const record = (log: GrantLog, limit: number, windowMillis: number, at: number): GrantLog => {
  let current = log
  while (current.size > 0 && (current.size >= limit || current.front[current.start]! <= at - windowMillis)) {
    current = dropOldest(current)
  }
  return current.size === 0
    ? { front: [at], start: 0, back: undefined, size: 1 }
    : { front: current.front, start: current.start, back: { head: at, tail: current.back }, size: current.size + 1 }
}
