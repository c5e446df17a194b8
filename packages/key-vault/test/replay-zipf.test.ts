/**
 * The synthetic Zipf workload: reproducible from its seed, shaped as asked, popularity close to k^-s.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as AccessLogReplay from "../src/replay/AccessLogReplay.js"
import * as Rules from "../src/wire/Rules.js"

const countByName = (events: ReadonlyArray<AccessLogReplay.AccessEvent>): Array<number> => {
  const counts = new Map<string, number>()
  for (const e of events) counts.set(e.name, (counts.get(e.name) ?? 0) + 1)
  return [...counts.values()].sort((a, b) => b - a)
}

describe("AccessLogReplay.zipf", () => {
  it.effect("is deterministic for a seed and differs across seeds", () =>
    Effect.gen(function*() {
      const options = { secrets: 200, requestsPerSecond: 50, durationSeconds: 60, writeFraction: 0.1 }
      const a = yield* AccessLogReplay.zipf({ ...options, seed: 7 })
      const b = yield* AccessLogReplay.zipf({ ...options, seed: 7 })
      const c = yield* AccessLogReplay.zipf({ ...options, seed: 8 })
      expect(b).toEqual(a)
      expect(c).not.toEqual(a)
    }))

  it.effect("produces the asked rate, duration, write share and valid names", () =>
    Effect.gen(function*() {
      const events = yield* AccessLogReplay.zipf({
        secrets: 300,
        requestsPerSecond: 100,
        durationSeconds: 600,
        writeFraction: 0.2,
        seed: 1
      })
      // Poisson arrivals: 60,000 expected, standard deviation ~245.
      expect(Math.abs(events.length - 60_000)).toBeLessThan(1_500)
      expect(events.every((e, i) => i === 0 || e.atMillis >= events[i - 1]!.atMillis)).toBe(true)
      expect(events.every((e) => Number.isInteger(e.atMillis) && e.atMillis >= 0 && e.atMillis < 600_000)).toBe(true)
      expect(events.every((e) => Rules.NAME_PATTERN.test(e.name))).toBe(true)
      expect(new Set(events.map((e) => e.name)).size).toBeLessThanOrEqual(300)
      const writes = events.filter((e) => e.op === "write").length / events.length
      expect(writes).toBeGreaterThan(0.18)
      expect(writes).toBeLessThan(0.22)
      const uniform = yield* AccessLogReplay.zipf({ secrets: 10, requestsPerSecond: 4, durationSeconds: 2, arrivals: "uniform" })
      expect(uniform.map((e) => e.atMillis)).toEqual([0, 250, 500, 750, 1000, 1250, 1500, 1750])
      expect(AccessLogReplay.secretName(17)).toBe("orders-service-client-secret-000")
    }))

  it.effect("has a rank-frequency curve close to k^-s", () =>
    Effect.gen(function*() {
      for (const s of [0.99, 1.3]) {
        const events = yield* AccessLogReplay.zipf({
          secrets: 100,
          exponent: s,
          requestsPerSecond: 1_000,
          durationSeconds: 200,
          seed: 3
        })
        const counts = countByName(events)
        // Least-squares slope of log(count) against log(rank) over the ranks with plenty of samples.
        const points = counts.slice(0, 50).map((c, i) => [Math.log(i + 1), Math.log(c)] as const)
        const mx = points.reduce((a, [x]) => a + x, 0) / points.length
        const my = points.reduce((a, [, y]) => a + y, 0) / points.length
        const slope = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) /
          points.reduce((a, [x]) => a + (x - mx) ** 2, 0)
        expect(Math.abs(slope + s)).toBeLessThan(0.08)
        // The most popular secret gets its share 1 / H(100, s).
        let harmonic = 0
        for (let k = 1; k <= 100; k++) harmonic += k ** -s
        expect(counts[0]! / events.length).toBeCloseTo(1 / harmonic, 2)
      }
    }))

  it.effect("refuses options that describe no workload", () =>
    Effect.gen(function*() {
      for (const bad of [{ secrets: 0 }, { exponent: -1 }, { requestsPerSecond: 0 }, { durationSeconds: -5 }, {
        writeFraction: 1.5
      }, { seed: 1.5 }]) {
        const error = yield* Effect.flip(AccessLogReplay.zipf(bad))
        expect(error._tag).toBe("WorkloadOptionsError")
      }
    }))
})
