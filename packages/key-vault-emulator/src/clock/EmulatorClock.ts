/**
 * The emulator's clock: the time of the caller's `Clock` plus an offset that tests and operators move with `advance`
 * and `set`. The emulator runs every request under it, so expiry, nbf, soft-delete retention and certificate
 * validity move with the offset, over the HTTPS server as in-process.
 *
 * The underlying clock stays the calling fiber's own: in-process under a `TestClock`, `TestClock.adjust` and
 * `advance` add up; on a server it is the live clock, and the emulator's time keeps running from wherever it was set.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/**
 * A movable clock for one emulator.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmulatorClock {
  /** The emulator's current time (the caller's clock plus the offset). */
  readonly now: Effect.Effect<Date>
  /** Milliseconds the emulator's time is ahead of the caller's clock (negative: behind). */
  readonly offsetMillis: Effect.Effect<number>
  /** Moves the emulator's time forward (durations are never negative; an infinite one dies); answers the new time. */
  readonly advance: (duration: Duration.DurationInput) => Effect.Effect<Date>
  /** Moves the emulator's time to `date` (backwards too); answers it. An invalid date dies. */
  readonly set: (date: Date) => Effect.Effect<Date>
  /** Back to the caller's clock (offset 0). */
  readonly reset: Effect.Effect<void>
  /** Runs `self` with the emulator's time as its `Clock` (what the emulator does for every request). */
  readonly provide: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /**
   * The emulator's time as a `Clock` over `caller` (the caller's own clock, unchanged, while the offset is 0): the
   * request path's `provide` without an Effect around it.
   */
  readonly unsafeClockFor: (caller: Clock.Clock) => Clock.Clock
}

/**
 * Settings of a clock.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmulatorClockOptions {
  /** The emulator's time when it starts; default the caller's clock. */
  readonly startTime?: Date | undefined
  /** Runs under the emulator's time after every `advance`, `set` and `reset` (the emulator publishes due events). */
  readonly afterChange?: Effect.Effect<void> | undefined
}

const OffsetClockTypeId: unique symbol = Symbol.for("@effect-azure/key-vault-emulator/OffsetClock")

interface OffsetClock extends Clock.Clock {
  readonly [OffsetClockTypeId]: Clock.Clock
}

// A clock provided inside another emulator's `provide` (a request that reads the admin clock, nested provides) must
// not add the offset twice: the offset always applies to the caller's own clock.
const underlying = (clock: Clock.Clock): Clock.Clock =>
  OffsetClockTypeId in clock ? (clock as OffsetClock)[OffsetClockTypeId] : clock

// The offset is a plain field, not a `Ref`: the `Clock` interface reads it synchronously (`unsafeCurrentTimeMillis`).
interface Cell {
  offset: number
}

const offsetClock = (base: Clock.Clock, cell: Cell): OffsetClock => ({
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  [OffsetClockTypeId]: base,
  unsafeCurrentTimeMillis: () => base.unsafeCurrentTimeMillis() + cell.offset,
  currentTimeMillis: Effect.map(base.currentTimeMillis, (millis) => millis + cell.offset),
  unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos() + BigInt(cell.offset) * 1_000_000n,
  currentTimeNanos: Effect.map(base.currentTimeNanos, (nanos) => nanos + BigInt(cell.offset) * 1_000_000n),
  sleep: (duration) => base.sleep(duration)
})

const isValidDate = (date: Date): boolean => date instanceof Date && Number.isFinite(date.getTime())

/**
 * A new clock. An invalid `startTime` is a programming error and dies.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: EmulatorClockOptions = {}): Effect.Effect<EmulatorClock> =>
  Effect.clockWith((caller) => {
    const cell: Cell = { offset: 0 }
    const base = underlying(caller)
    if (options.startTime !== undefined) {
      if (!isValidDate(options.startTime)) return Effect.dieMessage("the emulator's start time must be a valid date")
      cell.offset = options.startTime.getTime() - base.unsafeCurrentTimeMillis()
    }
    // The offset clock over the last base clock seen, kept: every request asks for it, and a new one per request cost
    // a measurable share of a small request (with `withClock`, about 20 us of 60 us per GET in-process).
    let lastBase: Clock.Clock | undefined
    let lastClock: OffsetClock | undefined
    const unsafeClockFor = (caller: Clock.Clock): Clock.Clock => {
      const base = underlying(caller)
      if (cell.offset === 0) return base
      if (lastBase !== base || lastClock === undefined) {
        lastBase = base
        lastClock = offsetClock(base, cell)
      }
      return lastClock
    }
    const provide = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.clockWith((caller) => {
        const clock = unsafeClockFor(caller)
        return clock === caller ? self : Effect.withClock(self, clock)
      })
    const now = Effect.clockWith((clock) => Effect.sync(() => new Date(underlying(clock).unsafeCurrentTimeMillis() + cell.offset)))
    const changed = (change: Effect.Effect<void>): Effect.Effect<Date> =>
      Effect.zipRight(
        change,
        Effect.zipRight(options.afterChange === undefined ? Effect.void : provide(options.afterChange), now)
      )
    const clock: EmulatorClock = {
      now,
      offsetMillis: Effect.sync(() => cell.offset),
      advance: (duration) => {
        const millis = Duration.toMillis(Duration.decode(duration))
        if (!Number.isFinite(millis) || millis < 0) {
          return Effect.dieMessage("the emulator's clock advances by a finite duration >= 0")
        }
        return changed(Effect.sync(() => {
          cell.offset += millis
        }))
      },
      set: (date) =>
        isValidDate(date)
          ? changed(Effect.clockWith((clock) =>
            Effect.sync(() => {
              cell.offset = date.getTime() - underlying(clock).unsafeCurrentTimeMillis()
            })
          ))
          : Effect.dieMessage("the emulator's clock is set to a valid date"),
      reset: Effect.asVoid(changed(Effect.sync(() => {
        cell.offset = 0
      }))),
      provide,
      unsafeClockFor
    }
    return Effect.succeed(clock)
  })
