/**
 * Coalesced loads: however many readers miss one key at once, one load runs and all of them get its answer.
 *
 * - The load runs in a fiber of the cache's scope, not the first reader's: an interrupted reader stops waiting, and
 *   the others still get the answer.
 * - A flight can be detached (the key was invalidated or written): its readers still get its answer, but it is no
 *   longer joined by new readers, and the settle step is told, so its result is not stored.
 * - When the cache's scope closes, readers still waiting are released with an interruption rather than left hanging.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"

/**
 * One load in progress.
 *
 * @internal
 */
export interface Flight {
  readonly deferred: Deferred.Deferred<unknown, unknown>
  /** Keys in one group (the versions of one name) are detached together. */
  readonly group: string
  /** Cleared when the flight is detached: its result must not be stored. */
  attached: boolean
}

/**
 * The flights of one cache.
 *
 * @internal
 */
export class SingleFlight {
  // Plain collections rather than a `Ref`: a miss must check for a flight and register its own in one synchronous
  // step (no other reader may slip between), and that step already runs under the caller's uninterruptible mask.
  private readonly byKey = new Map<string, Flight>()
  /** Every flight not yet settled, detached ones included: the scope's finalizer releases their readers. */
  private readonly unsettled = new Set<Flight>()

  constructor(private readonly scope: Scope.Scope) {}

  get size(): number {
    return this.byKey.size
  }

  /** The flight readers of `key` would join now. */
  get(key: string): Flight | undefined {
    return this.byKey.get(key)
  }

  /**
   * Registers a flight for `key` and forks `load` into the cache's scope. When the load ends, the flight is taken off
   * `key` (if still there), `settle` turns the load's exit into the answer (storing or remembering on the way; it
   * sees whether the flight is still attached), and every reader gets that answer.
   *
   * Call it uninterruptibly (under the reader's mask), so a flight is never registered without its load; only the
   * wait (`await`) should be made interruptible again. The load itself is interruptible, so its own timeouts can cut
   * a stalled request.
   */
  start(
    key: string,
    group: string,
    load: Effect.Effect<unknown, unknown>,
    settle: (exit: Exit.Exit<unknown, unknown>, flight: Flight) => Effect.Effect<Exit.Exit<unknown, unknown>>
  ): Effect.Effect<Flight> {
    return Effect.suspend(() => {
      const flight: Flight = { deferred: Deferred.unsafeMake<unknown, unknown>(FiberId.none), group, attached: true }
      this.byKey.set(key, flight)
      this.unsettled.add(flight)
      const run = load.pipe(
        Effect.exit,
        Effect.flatMap((exit) =>
          Effect.suspend(() => {
            if (this.byKey.get(key) === flight) this.byKey.delete(key)
            return settle(exit, flight)
          })
        ),
        Effect.flatMap((answer) =>
          Effect.suspend(() => {
            this.unsettled.delete(flight)
            return Deferred.done(flight.deferred, answer)
          })
        )
      )
      return Effect.as(Effect.forkIn(Effect.interruptible(run), this.scope), flight)
    })
  }

  /** Waits for a flight's answer. */
  await<A, E>(flight: Flight): Effect.Effect<A, E> {
    return Deferred.await(flight.deferred) as Effect.Effect<A, E>
  }

  /** Detaches the flight of `key`, if any. */
  detach(key: string): void {
    const flight = this.byKey.get(key)
    if (flight === undefined) return
    flight.attached = false
    this.byKey.delete(key)
  }

  /** Detaches every flight of `group`. */
  detachGroup(group: string): void {
    for (const [key, flight] of this.byKey) {
      if (flight.group === group) {
        flight.attached = false
        this.byKey.delete(key)
      }
    }
  }

  detachAll(): void {
    for (const flight of this.byKey.values()) flight.attached = false
    this.byKey.clear()
  }

  /** Releases every reader still waiting (the scope's finalizer). */
  readonly interruptAll: Effect.Effect<void> = Effect.suspend(() =>
    Effect.forEach([...this.unsettled], (flight) => Deferred.interrupt(flight.deferred), { discard: true })
  )
}
