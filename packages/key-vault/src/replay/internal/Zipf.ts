/**
 * The synthetic workload: Zipf-distributed secret popularity, Poisson (or evenly spaced) arrivals, all drawn from one
 * seed so a workload is reproducible from its options alone.
 *
 * @internal
 */
import * as Prng from "../Prng.js"

/** One generated access, as the replay consumes it. */
export interface GeneratedEvent {
  readonly atMillis: number
  readonly op: "read" | "write"
  readonly name: string
}

/** Settled generator options. */
export interface ResolvedZipf {
  readonly secrets: number
  readonly exponent: number
  readonly requestsPerSecond: number
  readonly durationSeconds: number
  readonly writeFraction: number
  readonly seed: number
  readonly arrivals: "poisson" | "uniform"
}

const SERVICES: ReadonlyArray<string> = [
  "payments-api",
  "orders-service",
  "billing-worker",
  "auth-gateway",
  "search-indexer",
  "inventory-api",
  "notifications",
  "reporting-etl"
]

const KINDS: ReadonlyArray<string> = [
  "db-password",
  "api-key",
  "client-secret",
  "storage-key",
  "signing-key",
  "redis-connection"
]

/** The `index`-th name of the synthetic vault: `payments-api-db-password-000`, `orders-service-db-password-000`, ... */
export const secretName = (index: number): string => {
  const service = SERVICES[index % SERVICES.length]!
  const kind = KINDS[Math.floor(index / SERVICES.length) % KINDS.length]!
  const serial = Math.floor(index / (SERVICES.length * KINDS.length))
  return `${service}-${kind}-${String(serial).padStart(3, "0")}`
}

/** The cumulative distribution of ranks 1..n under Zipf(s): P(rank k) = k^-s / H(n, s). */
export const cumulative = (n: number, exponent: number): Float64Array => {
  const cdf = new Float64Array(n)
  let total = 0
  for (let k = 1; k <= n; k++) {
    total += Math.pow(k, -exponent)
    cdf[k - 1] = total
  }
  for (let i = 0; i < n; i++) cdf[i] = cdf[i]! / total
  cdf[n - 1] = 1
  return cdf
}

/** Draws a rank index (0 = most popular) from a cumulative distribution by binary search. */
export const draw = (cdf: Float64Array, u: number): number => {
  let lo = 0
  let hi = cdf.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (cdf[mid]! > u) hi = mid
    else lo = mid + 1
  }
  return lo
}

/**
 * The workload. Popularity ranks are mapped to names through a seeded permutation, so the most popular secret is not
 * always the first name; writes pick their secret from the same distribution as reads.
 */
export const generate = (options: ResolvedZipf): Array<GeneratedEvent> => {
  const random = Prng.make(options.seed)
  const names = Prng.permutation(options.secrets, random).map(secretName)
  const cdf = cumulative(options.secrets, options.exponent)
  const durationMillis = options.durationSeconds * 1000
  const perMilli = options.requestsPerSecond / 1000
  const events: Array<GeneratedEvent> = []
  let t = 0
  for (let i = 0; ; i++) {
    // Poisson arrivals: exponential gaps. `1 - u` keeps the logarithm finite.
    t = options.arrivals === "poisson" ? t - Math.log(1 - random()) / perMilli : i / perMilli
    if (t >= durationMillis) break
    const op = options.writeFraction > 0 && random() < options.writeFraction ? "write" : "read"
    events.push({ atMillis: Math.floor(t), op, name: names[draw(cdf, random())]! })
  }
  return events
}
