/**
 * A simulated `Clock` that moves only when told to. It plays the role of `TestClock` for long replays: moving a
 * `TestClock` waits for every fiber of the test to suspend, polling with real `setTimeout(0)` timers (about 4 ms per
 * move), which would turn an hour of traffic at 100 requests/s into half an hour of waiting. Here a move costs a heap
 * peek, and the replay waits for its own fibers instead (see `ActivityTracker`).
 *
 * `sleep` is honoured exactly: sleepers wake in time order when the clock passes their deadline, and an interrupted
 * sleeper is forgotten.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

interface Sleeper {
  readonly at: number
  readonly seq: number
  readonly wake: () => void
  cancelled: boolean
}

const before = (a: Sleeper, b: Sleeper): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq)

/** A min-heap of sleepers by deadline, then by order of arrival. */
class SleeperHeap {
  private readonly items: Array<Sleeper> = []

  get size(): number {
    return this.items.length
  }

  peek(): Sleeper | undefined {
    return this.items[0]
  }

  push(sleeper: Sleeper): void {
    const items = this.items
    items.push(sleeper)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(items[i]!, items[parent]!)) break
      ;[items[i], items[parent]] = [items[parent]!, items[i]!]
      i = parent
    }
  }

  pop(): Sleeper | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    items[0] = last
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < items.length && before(items[left]!, items[smallest]!)) smallest = left
      if (right < items.length && before(items[right]!, items[smallest]!)) smallest = right
      if (smallest === i) break
      ;[items[i], items[smallest]] = [items[smallest]!, items[i]!]
      i = smallest
    }
    return top
  }
}

/** A clock under the replay's control. */
export class VirtualClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  private now: number
  private seq = 0
  private readonly sleepers = new SleeperHeap()

  constructor(startMillis: number) {
    this.now = startMillis
  }

  unsafeCurrentTimeMillis(): number {
    return this.now
  }

  readonly currentTimeMillis: Effect.Effect<number> = Effect.sync(() => this.now)

  unsafeCurrentTimeNanos(): bigint {
    return BigInt(Math.round(this.now * 1_000_000))
  }

  readonly currentTimeNanos: Effect.Effect<bigint> = Effect.sync(() => this.unsafeCurrentTimeNanos())

  sleep(duration: Duration.Duration): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const millis = Duration.toMillis(duration)
      if (!(millis > 0)) {
        resume(Effect.void)
        return
      }
      const sleeper: Sleeper = { at: this.now + millis, seq: this.seq++, wake: () => resume(Effect.void), cancelled: false }
      this.sleepers.push(sleeper)
      return Effect.sync(() => {
        sleeper.cancelled = true
      })
    })
  }

  /** The earliest deadline of a sleeper still waiting, if any. */
  nextDeadline(): number | undefined {
    for (let s = this.sleepers.peek(); s !== undefined; s = this.sleepers.peek()) {
      if (!s.cancelled) return s.at
      this.sleepers.pop()
    }
    return undefined
  }

  /**
   * Sets the clock to `target` (never backwards) and wakes every sleeper due by then, in deadline order. Callers that
   * want each sleeper to run at its own deadline move to `nextDeadline()` first.
   */
  setTime(target: number): void {
    if (target > this.now) this.now = target
    for (let s = this.sleepers.peek(); s !== undefined && s.at <= this.now; s = this.sleepers.peek()) {
      this.sleepers.pop()
      if (!s.cancelled) s.wake()
    }
  }
}
