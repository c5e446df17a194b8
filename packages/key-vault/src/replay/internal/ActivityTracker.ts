/**
 * Knows when the work a replay step started has settled, including the background fibers the cache forks into its
 * own scope (loads, refresh-ahead). As a `Supervisor` it sees every fiber forked, however deep, from a region run
 * under `Effect.supervised(tracker)`: forked fibers inherit the supervisor of the fiber that forks them.
 *
 * Settled means either every tracked fiber is done (the usual case, signalled the moment the last one ends), or the
 * live ones have stopped moving: no fiber started, resumed or ended during a few turns of the event loop. The second
 * case is a fiber asleep on the simulated clock (the client's rate limiter, a retry backoff), which only moving the
 * clock can wake. Event-loop turns, not timers, measure "stopped moving", so no real time passes in the common case
 * and little in the other; a response body read through a real `Promise` counts as moving.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Supervisor from "effect/Supervisor"

/** Turns of the event loop without any fiber activity after which the live fibers are taken to be blocked. */
const QUIET_TURNS = 3

/** Counts the live fibers started under it, and their activity. */
export class ActivityTracker extends Supervisor.AbstractSupervisor<number> {
  private liveFibers = 0
  private activity = 0
  private waiters: Array<() => void> = []

  readonly value: Effect.Effect<number> = Effect.sync(() => this.liveFibers)

  /** Fibers started under the tracker and not yet ended. */
  get live(): number {
    return this.liveFibers
  }

  override onStart(): void {
    this.liveFibers++
    this.activity++
  }

  override onResume(): void {
    this.activity++
  }

  override onEnd(): void {
    this.liveFibers--
    this.activity++
    if (this.liveFibers === 0 && this.waiters.length > 0) {
      const waiters = this.waiters
      this.waiters = []
      for (const wake of waiters) wake()
    }
  }

  /** Completes once every tracked fiber is done, or the live ones have all been still for a few event-loop turns. */
  readonly settled: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.liveFibers === 0) {
      resume(Effect.void)
      return
    }
    let finished = false
    let handle: ReturnType<typeof setImmediate> | undefined
    const finish = (): void => {
      if (finished) return
      finished = true
      if (handle !== undefined) clearImmediate(handle)
      resume(Effect.void)
    }
    this.waiters.push(finish)
    let seen = this.activity
    let quiet = 0
    const poll = (): void => {
      handle = undefined
      if (finished) return
      if (this.activity !== seen) {
        seen = this.activity
        quiet = 0
      } else if (++quiet >= QUIET_TURNS) {
        this.waiters = this.waiters.filter((w) => w !== finish)
        return finish()
      }
      handle = setImmediate(poll)
    }
    handle = setImmediate(poll)
    return Effect.sync(() => {
      finished = true
      if (handle !== undefined) clearImmediate(handle)
    })
  })
}
