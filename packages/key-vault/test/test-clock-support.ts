/**
 * Running an effect under `TestClock` when it also waits on real asynchronous work (the emulator's key generation and
 * certificate signing use real asynchronous crypto): the clock is moved to each sleep that is due within a horizon,
 * and real work gets a macrotask in between. Sleeps further ahead than the horizon (request timeouts) are never
 * reached.
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const macrotask = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** Awaits `fiber`, moving the TestClock to each sleep due within `horizon` milliseconds. */
export const awaitOnTestClock = <A, E>(fiber: Fiber.Fiber<A, E>, horizon = 30_000): Effect.Effect<A, E> =>
  Effect.gen(function*() {
    while (Option.isNone(yield* Fiber.poll(fiber))) {
      const now = yield* Clock.currentTimeMillis
      const due = Chunk.toReadonlyArray(yield* TestClock.sleeps()).filter((at) => at - now <= horizon)
      if (due.length > 0) yield* TestClock.adjust(Math.max(0, Math.min(...due) - now))
      else yield* macrotask
    }
    return yield* Fiber.join(fiber)
  })

/** Runs `effect` in a fiber of its own and awaits it as `awaitOnTestClock` does. */
export const onTestClock = <A, E, R>(effect: Effect.Effect<A, E, R>, horizon = 30_000): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.fork(effect), (fiber) => awaitOnTestClock(fiber, horizon))
