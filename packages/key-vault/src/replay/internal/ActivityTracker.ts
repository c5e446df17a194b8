/**
 * Knows when the work a replay step started has finished, including the background fibers the cache forks into its
 * own scope (loads, refresh-ahead). As a `Supervisor` it sees every fiber forked, however deep, from a region run
 * under `Effect.supervised(tracker)`: forked fibers inherit the supervisor from the fiber that forks them.
 *
 * Waiting on it replaces TestClock's "yield until everything is suspended" polling: no timers, no guessing how many
 * `yieldNow`s a refresh needs, and a response body read through a real `Promise` is waited for too.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Supervisor from "effect/Supervisor"

/** Counts the live fibers started under it. */
export class ActivityTracker extends Supervisor.AbstractSupervisor<number> {
  private live = 0
  private waiters: Array<() => void> = []

  readonly value: Effect.Effect<number> = Effect.sync(() => this.live)

  override onStart(): void {
    this.live++
  }

  override onEnd(): void {
    this.live--
    if (this.live === 0 && this.waiters.length > 0) {
      const waiters = this.waiters
      this.waiters = []
      for (const wake of waiters) wake()
    }
  }

  /** Completes once no fiber started under the tracker is alive. */
  readonly idle: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.live === 0) {
      resume(Effect.void)
      return
    }
    this.waiters.push(() => resume(Effect.void))
  })
}
