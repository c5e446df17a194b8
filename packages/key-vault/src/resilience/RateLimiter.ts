/**
 * A rate limiter for one vault host that keeps every sliding 10-second window under its limits: the grant `limit`
 * places back must be at least 10 s old before the next request may go. Waiters queue in order; the time a request
 * waits is measured; an interrupted waiter gives its place back. Time from `Clock`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

const WINDOW_MILLIS = 10_000

/**
 * Which limits a request counts against: every request counts as an operation; secret writes also as a write.
 *
 * @since 0.1.0
 */
export type RateClass = "operation" | "write"

/**
 * Time requests waited in the limiter, in milliseconds.
 *
 * @since 0.1.0
 */
export const waitMetric: Metric.Metric.Histogram<number> = Metric.histogram(
  "keyvault_rate_limiter_wait_ms",
  MetricBoundaries.exponential({ start: 1, factor: 4, count: 8 }),
  "Time requests waited in the client's rate limiter"
)

/**
 * A limiter.
 *
 * @since 0.1.0
 */
export interface RateLimiter {
  /** Waits until the request fits the windows, then records it. */
  readonly acquire: (rateClass: RateClass) => Effect.Effect<void>
}

// The last `limit` grant times, oldest first, in a ring.
class Window {
  private readonly times: Array<number>
  private next = 0
  private count = 0
  constructor(readonly limit: number) {
    this.times = new Array<number>(limit).fill(0)
  }
  /** The time from which one more grant fits, given `now`. */
  readyAt(now: number): number {
    return this.count < this.limit ? now : Math.max(now, this.times[this.next]! + WINDOW_MILLIS)
  }
  record(at: number): void {
    this.times[this.next] = at
    this.next = (this.next + 1) % this.limit
    if (this.count < this.limit) this.count++
  }
}

/**
 * A limiter with the given limits per 10 s.
 *
 * @since 0.1.0
 */
export const make = (
  vaultHost: string,
  limits: { readonly operationsPer10s: number; readonly writesPer10s: number }
): Effect.Effect<RateLimiter> =>
  Effect.gen(function*() {
    // Two queues: a write waiting for the write window must not hold up reads, which only need the operations window.
    const operationTurn = yield* Effect.makeSemaphore(1)
    const writeTurn = yield* Effect.makeSemaphore(1)
    const operations = new Window(limits.operationsPer10s)
    const writes = new Window(limits.writesPer10s)
    const wait = Metric.tagged(waitMetric, "vault_host", vaultHost)

    const waitFor = (window: Window) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const readyAt = window.readyAt(now)
        return readyAt > now ? Effect.sleep(readyAt - now) : Effect.void
      })

    // One waiter at a time holds a turn, so grants are handed out in arrival order; interruption while waiting
    // releases the turn without recording a grant.
    const grant = (isWrite: boolean) =>
      operationTurn.withPermits(1)(
        Effect.zipRight(
          waitFor(operations),
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Effect.sync(() => {
              operations.record(now)
              if (isWrite) writes.record(now)
            }))
        )
      )

    const acquire = (rateClass: RateClass): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (start) =>
        (rateClass === "write"
          ? writeTurn.withPermits(1)(Effect.zipRight(waitFor(writes), grant(true)))
          : grant(false)).pipe(
            Effect.zipRight(Clock.currentTimeMillis),
            Effect.map((end) => wait.unsafeUpdate(end - start, []))
          ))
    return { acquire }
  })
