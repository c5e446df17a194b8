/**
 * Single-flight on its own: one load per key however many readers, loads in the cache's scope, detaching.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import { type Flight, SingleFlight } from "../src/cache/internal/SingleFlight.js"

/** Joins the flight of `key`, or starts one with `load`: what the cache's miss path does. */
const read = <A>(
  flights: SingleFlight,
  key: string,
  load: Effect.Effect<A, string>,
  settle: (exit: Exit.Exit<unknown, unknown>, flight: Flight) => Effect.Effect<Exit.Exit<unknown, unknown>> = (exit) =>
    Effect.succeed(exit)
): Effect.Effect<A, string> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.suspend(() => {
      const running = flights.get(key)
      if (running !== undefined) return restore(flights.await<A, string>(running))
      return Effect.flatMap(
        flights.start(key, key.split(":")[0]!, load, settle),
        (flight) => restore(flights.await<A, string>(flight))
      )
    })
  )

describe("SingleFlight", () => {
  it.scoped("runs one load for many readers of a key, and one per key", () =>
    Effect.gen(function*() {
      const flights = new SingleFlight(yield* Effect.scope)
      const gate = yield* Deferred.make<void>()
      const calls: Array<string> = []
      const load = (key: string) => Effect.zipRight(Effect.sync(() => calls.push(key)), Effect.as(Deferred.await(gate), key))
      const readers = yield* Effect.forkAll(Array.from({ length: 30 }, (_, i) => read(flights, `n${i % 3}:latest`, load(`n${i % 3}`))))
      yield* Effect.yieldNow()
      expect(flights.size).toBe(3)
      yield* Deferred.succeed(gate, undefined)
      const values = yield* Fiber.join(readers)
      expect(values).toEqual(Array.from({ length: 30 }, (_, i) => `n${i % 3}`))
      expect(calls.sort()).toEqual(["n0", "n1", "n2"])
      expect(flights.size).toBe(0)
    }))

  it.scoped("an interrupted reader never cancels the load the others wait for", () =>
    Effect.gen(function*() {
      const flights = new SingleFlight(yield* Effect.scope)
      const gate = yield* Deferred.make<void>()
      const load = Effect.as(Deferred.await(gate), "v")
      const first = yield* Effect.fork(read(flights, "a:latest", load))
      const second = yield* Effect.fork(read(flights, "a:latest", load))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(first)
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(second)).toBe("v")
    }))

  it.scoped("delivers what settle makes of the load's exit, and tells settle whether the flight is still attached", () =>
    Effect.gen(function*() {
      const flights = new SingleFlight(yield* Effect.scope)
      const gate = yield* Deferred.make<void>()
      const seen: Array<boolean> = []
      const settle = (exit: Exit.Exit<unknown, unknown>, flight: Flight) =>
        Effect.sync(() => {
          seen.push(flight.attached)
          return Exit.isFailure(exit) ? Exit.succeed("stale") : exit
        })
      const failing = Effect.zipRight(Deferred.await(gate), Effect.fail("boom"))
      const reader = yield* Effect.fork(read(flights, "a:latest", failing, settle))
      yield* Effect.yieldNow()
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(reader)).toBe("stale")
      expect(seen).toEqual([true])
    }))

  it.scoped("a detached flight still answers its readers, is not joined afterwards, and is told it was detached", () =>
    Effect.gen(function*() {
      const flights = new SingleFlight(yield* Effect.scope)
      const gate = yield* Deferred.make<void>()
      const seen: Array<boolean> = []
      const settle = (exit: Exit.Exit<unknown, unknown>, flight: Flight) =>
        Effect.sync(() => {
          seen.push(flight.attached)
          return exit
        })
      const old = yield* Effect.fork(read(flights, "a:latest", Effect.as(Deferred.await(gate), "old"), settle))
      const otherName = yield* Effect.fork(read(flights, "b:latest", Effect.as(Deferred.await(gate), "b"), settle))
      yield* Effect.yieldNow()
      flights.detachGroup("a")
      expect(flights.get("a:latest")).toBeUndefined()
      expect(flights.get("b:latest")).toBeDefined()
      // A read after the detach starts its own load rather than joining the old one.
      expect(yield* read(flights, "a:latest", Effect.succeed("new"), settle)).toBe("new")
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(old)).toBe("old")
      expect(yield* Fiber.join(otherName)).toBe("b")
      expect(seen.sort()).toEqual([false, true, true])
    }))

  it.effect("closing the cache's scope releases readers still waiting, detached ones included", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const flights = new SingleFlight(scope)
      const never = Effect.never as Effect.Effect<string, string>
      const attached = yield* Effect.fork(read(flights, "a:latest", never))
      const detached = yield* Effect.fork(read(flights, "b:latest", never))
      yield* Effect.yieldNow()
      flights.detach("b:latest")
      yield* Scope.addFinalizer(scope, flights.interruptAll)
      yield* Scope.close(scope, Exit.void)
      expect(Exit.isInterrupted(yield* Fiber.await(attached))).toBe(true)
      expect(Exit.isInterrupted(yield* Fiber.await(detached))).toBe(true)
    }))
})
