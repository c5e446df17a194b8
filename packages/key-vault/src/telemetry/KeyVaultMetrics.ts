/**
 * Every metric the client records, in one place, as Effect `Metric`s (exported through OpenTelemetry by
 * `@effect/opentelemetry`'s metric reader when the application wires it; without it they stay in Effect's registry
 * and cost a map update each).
 *
 * One naming scheme for the whole package: OpenTelemetry's dotted names under `keyvault.`, a description on each
 * that states its unit, and the unit itself as the `unit` tag, which `@effect/opentelemetry` turns into the
 * instrument's unit (Effect 3 metric keys have no unit field; the tag also shows as a `unit` data point attribute).
 * Durations are histograms named `….duration`, in milliseconds. Counters are monotonic OpenTelemetry counters.
 * Labels are bounded: the vault host, the operation (`Secrets.get`, a fixed set), an outcome, an error tag, a
 * breaker state, an object type. Object names, versions and values never become labels.
 *
 * | metric | kind | unit | labels |
 * |---|---|---|---|
 * | `keyvault.operation.duration` | histogram | ms | `operation`, `outcome` (`success`, `failure`, `interrupted`), `vault_host` |
 * | `keyvault.errors` | counter | `{error}` | `operation`, `error_type` (the error's `_tag`), `vault_host` |
 * | `keyvault.http.attempts` | counter | `{request}` | `operation`, `vault_host` (every HTTP exchange: challenge probe, 401 round trip and retries included) |
 * | `keyvault.http.retries` | counter | `{retry}` | `operation`, `vault_host`, `error_type` (what the retry follows) |
 * | `keyvault.throttled` | counter | `{response}` | `operation`, `vault_host` (429 answers) |
 * | `keyvault.throttled.retry_after.duration` | histogram | ms | `vault_host` (the wait actually honoured after a 429) |
 * | `keyvault.token.acquisitions` | counter | `{token}` | `outcome` |
 * | `keyvault.circuit.state` | gauge | `{state}` | `vault_host` (0 closed, 1 half-open, 2 open) |
 * | `keyvault.circuit.transitions` | counter | `{transition}` | `vault_host`, `from`, `to` |
 * | `keyvault.rate_limiter.wait.duration` | histogram | ms | `vault_host` |
 * | `keyvault.cache.*` | see `CacheMetrics` | | `object_type` |
 * | `keyvault.cache.shared.*` | see `FleetMetrics` | | |
 * | `keyvault.rotation.*` | see `RotationMetrics` | | |
 *
 * Cache hits are counted here (through `CacheMetrics`) and nowhere else: no span, no event, so a hit stays a map
 * lookup (the README's Telemetry section has the measurement behind that choice).
 *
 * @since 0.1.0
 */
import type * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import * as CircuitBreaker from "../resilience/CircuitBreaker.js"
import * as RateLimiter from "../resilience/RateLimiter.js"
import * as Instruments from "./internal/Instruments.js"

const durationBoundaries = MetricBoundaries.exponential({ start: 0.5, factor: 2, count: 18 })

/**
 * Duration of each public operation that went to the vault (cache hits excluded), in milliseconds (histogram
 * `keyvault.operation.duration`; labels `operation`, `outcome`, `vault_host`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const operationDuration: Metric.Metric.Histogram<number> = Instruments.histogram(
  "keyvault.operation.duration",
  durationBoundaries,
  "Duration of client operations that reached the vault, in milliseconds (ms)",
  "ms"
)

/**
 * Failed operations by error tag (counter `keyvault.errors`; labels `operation`, `error_type`, `vault_host`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const errors: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.errors",
  "Failed operations by error tag, in errors ({error})",
  "{error}"
)

/**
 * HTTP exchanges with the vault, each retry, challenge probe and 401 round trip counted (counter
 * `keyvault.http.attempts`; labels `operation`, `vault_host`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const httpAttempts: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.http.attempts",
  "HTTP exchanges with the vault, in requests ({request})",
  "{request}"
)

/**
 * Retries of a request after a throttled or transient failure (counter `keyvault.http.retries`; labels
 * `operation`, `vault_host`, `error_type`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const httpRetries: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.http.retries",
  "Retries of vault requests, in retries ({retry})",
  "{retry}"
)

/**
 * 429 answers from the vault (counter `keyvault.throttled`; labels `operation`, `vault_host`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const throttled: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.throttled",
  "Throttled (429) answers from the vault, in responses ({response})",
  "{response}"
)

/**
 * The wait honoured before retrying a throttled request, in milliseconds: the Retry-After the vault asked for, or
 * the backoff when it named none (histogram `keyvault.throttled.retry_after.duration`, unit `ms`; label
 * `vault_host`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const retryAfter: Metric.Metric.Histogram<number> = Instruments.histogram(
  "keyvault.throttled.retry_after.duration",
  MetricBoundaries.exponential({ start: 10, factor: 2, count: 14 }),
  "Wait honoured before retrying a throttled request, in milliseconds (ms)",
  "ms"
)

/**
 * Token acquisitions from the credential (counter `keyvault.token.acquisitions`; label `outcome`: `success` or
 * `failure`). Cached tokens are not counted: each count is one call to `TokenCredential.getToken`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const tokenAcquisitions: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.token.acquisitions",
  "Calls to the credential for an access token by outcome, in token acquisitions ({token})",
  "{token}"
)

/**
 * Circuit breaker state per vault host: 0 closed, 1 half-open, 2 open (gauge `keyvault.circuit.state`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const circuitState: Metric.Metric.Gauge<number> = CircuitBreaker.stateMetric

/**
 * Circuit breaker transitions (counter `keyvault.circuit.transitions`; labels `vault_host`, `from`, `to`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const circuitTransitions: Metric.Metric.Counter<number> = CircuitBreaker.transitionsMetric

/**
 * Time requests waited in the client's rate limiter, in milliseconds (histogram
 * `keyvault.rate_limiter.wait.duration`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const rateLimiterWait: Metric.Metric.Histogram<number> = RateLimiter.waitMetric

/**
 * The cache's metrics (hits, misses, coalesced waits, stale served, refreshes, evictions, entries).
 *
 * @since 0.1.0
 * @category metrics
 */
export * as cache from "../cache/CacheMetrics.js"

/**
 * The label set of one operation against one vault, made once and reused: Effect caches a metric's hook per label
 * array, so a reused array costs a `WeakMap` lookup per update.
 *
 * @since 0.1.0
 * @category utils
 */
export const labels = (entries: Readonly<Record<string, string>>): ReadonlyArray<MetricLabel.MetricLabel> =>
  Object.entries(entries).map(([key, value]) => MetricLabel.make(key, value))
