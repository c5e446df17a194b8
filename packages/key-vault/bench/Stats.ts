/**
 * The benchmarks' shared arithmetic and timing: medians, percentiles, operations per second at a concurrency, and
 * contenders measured in alternating rounds (so a slow spell of a shared machine hits every contender alike instead
 * of whichever happened to run then).
 */

/** The median; the mean of the two middle values for an even count; 0 for no values. */
export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * The `p` quantile (0..1) of values already sorted ascending, by nearest rank (the value below which a share `p`
 * of the samples falls); 0 for no values.
 */
export const percentileSorted = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(sorted.length * p)))]!

/** `percentileSorted` of unsorted values (sorts a copy). */
export const percentile = (values: ReadonlyArray<number>, p: number): number =>
  percentileSorted([...values].sort((a, b) => a - b), p)

/** `x` rounded to `digits` decimals. */
export const round = (x: number, digits = 0): number => Math.round(x * 10 ** digits) / 10 ** digits

/**
 * Runs `op` from `concurrency` loops at once until `millis` have passed; answers completed operations per second.
 * A failing operation rejects the measurement: a benchmark of errors is no benchmark.
 */
export const opsPerSecond = async (
  op: () => Promise<unknown>,
  options: { readonly millis: number; readonly concurrency: number }
): Promise<number> => {
  const start = performance.now()
  const deadline = start + options.millis
  let count = 0
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await op()
      count++
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, loop))
  return (count * 1000) / (performance.now() - start)
}

/** One contender's rounds and their median. */
export interface Measured {
  readonly median: number
  readonly rounds: ReadonlyArray<number>
}

/**
 * Measures every contender `rounds` times, one round each in turn (the order rotates every round, so no contender
 * always runs right after the same one), after one unmeasured warm-up round each. `measure` answers a figure per
 * round (operations per second, say). Prints a line per contender when `log` is given.
 */
export const alternate = async <K extends string>(
  contenders: Readonly<Record<K, () => Promise<number>>>,
  options: {
    readonly rounds: number
    readonly warmup?: boolean | undefined
    readonly log?: ((line: string) => void) | undefined
    readonly unit?: string | undefined
  }
): Promise<Record<K, Measured>> => {
  const names = Object.keys(contenders) as Array<K>
  if (options.warmup !== false) for (const name of names) await contenders[name]()
  const results = new Map<K, Array<number>>(names.map((name) => [name, []]))
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!
      results.get(name)!.push(await contenders[name]())
    }
  }
  const out = {} as Record<K, Measured>
  const width = Math.max(...names.map((name) => name.length))
  for (const name of names) {
    const rounds = results.get(name)!
    out[name] = { median: median(rounds), rounds }
    options.log?.(
      `  ${name.padEnd(width)}  median ${median(rounds).toFixed(0).padStart(8)} ${options.unit ?? "ops/s"}` +
        `   rounds ${rounds.map((r) => r.toFixed(0)).join(" ")}`
    )
  }
  return out
}
