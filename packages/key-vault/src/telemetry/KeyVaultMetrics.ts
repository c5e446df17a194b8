/**
 * Every metric the client records, in one place, as Effect `Metric`s (exported through OpenTelemetry by
 * `@effect/opentelemetry`'s metric reader when the application wires it; without it they stay in Effect's registry
 * and cost a map update each).
 *
 * Names use OpenTelemetry's dotted style; each carries its unit as the `unit` tag, which the OpenTelemetry exporter
 * turns into the instrument's unit. Labels are bounded: the vault host, the operation (`Secrets.get`, a fixed set),
 * an outcome, an error tag, a breaker state. Object names, versions and values never become labels.
 *
 * | metric | kind | unit | labels |
 * |---|---|---|---|
 * | `keyvault.operation.duration` | histogram | ms | `operation`, `outcome` (`success`, `failure`, `interrupted`), `vault_host` |
 * | `keyvault.errors` | counter | `{error}` | `operation`, `error_type` (the error's `_tag`), `vault_host` |
 * | `keyvault.http.attempts` | counter | `{request}` | `operation`, `vault_host` (every HTTP exchange: challenge probe, 401 round trip and retries included) |
 * | `keyvault.http.retries` | counter | `{retry}` | `operation`, `vault_host`, `error_type` (what the retry follows) |
 * | `keyvault.throttled` | counter | `{response}` | `operation`, `vault_host` (429 answers) |
 * | `keyvault.throttled.retry_after` | histogram | ms | `vault_host` (the wait actually honoured after a 429) |
 * | `keyvault_circuit_state` | gauge | | `vault_host` (0 closed, 1 half-open, 2 open) |
 * | `keyvault.circuit.transitions` | counter | `{transition}` | `vault_host`, `from`, `to` |
 * | `keyvault_rate_limiter_wait_ms` | histogram | ms | `vault_host` |
 * | `keyvault_cache_*` | see `CacheMetrics` | | `object_type` |
 *
 * Cache hits are counted here (through `CacheMetrics`) and nowhere else: no span, no event, so a hit stays a map
 * lookup.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricKey from "effect/MetricKey"
import * as MetricLabel from "effect/MetricLabel"
import * as CircuitBreaker from "../resilience/CircuitBreaker.js"
import * as RateLimiter from "../resilience/RateLimiter.js"

// The unit goes in the key itself (not `Metric.tagged`, which unions label arrays on every update): updates with a
// label array made once then hit Effect's per-array hook cache.
const withUnit = <K extends MetricKey.MetricKey.Untyped>(key: K, unit: string): K =>
  MetricKey.taggedWithLabels(key, [MetricLabel.make("unit", unit)]) as K

const durationBoundaries = MetricBoundaries.exponential({ start: 0.5, factor: 2, count: 18 })

/**
 * Duration of each public operation that went to the vault (cache hits excluded), in milliseconds (histogram
 * `keyvault.operation.duration`; labels `operation`, `outcome`, `vault_host`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const operationDuration: Metric.Metric.Histogram<number> = Metric.fromMetricKey(
  withUnit(
    MetricKey.histogram(
      "keyvault.operation.duration",
      durationBoundaries,
      "Duration of client operations that reached the vault, in milliseconds"
    ),
    "ms"
  )
)

/**
 * Failed operations by error tag (counter `keyvault.errors`; labels `operation`, `error_type`, `vault_host`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const errors: Metric.Metric.Counter<number> = Metric.fromMetricKey(
  withUnit(MetricKey.counter("keyvault.errors", { description: "Failed operations by error tag", incremental: true }), "{error}")
)

/**
 * HTTP exchanges with the vault, each retry, challenge probe and 401 round trip counted (counter
 * `keyvault.http.attempts`; labels `operation`, `vault_host`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const httpAttempts: Metric.Metric.Counter<number> = Metric.fromMetricKey(
  withUnit(
    MetricKey.counter("keyvault.http.attempts", { description: "HTTP exchanges with the vault", incremental: true }),
    "{request}"
  )
)

/**
 * Retries of a request after a throttled or transient failure (counter `keyvault.http.retries`; labels
 * `operation`, `vault_host`, `error_type`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const httpRetries: Metric.Metric.Counter<number> = Metric.fromMetricKey(
  withUnit(
    MetricKey.counter("keyvault.http.retries", { description: "Retries of vault requests", incremental: true }),
    "{retry}"
  )
)

/**
 * 429 answers from the vault (counter `keyvault.throttled`; labels `operation`, `vault_host`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const throttled: Metric.Metric.Counter<number> = Metric.fromMetricKey(
  withUnit(
    MetricKey.counter("keyvault.throttled", { description: "Throttled (429) answers from the vault", incremental: true }),
    "{response}"
  )
)

/**
 * The wait honoured before retrying a throttled request, in milliseconds: the Retry-After the vault asked for, or
 * the backoff when it named none (histogram `keyvault.throttled.retry_after`; label `vault_host`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const retryAfter: Metric.Metric.Histogram<number> = Metric.fromMetricKey(
  withUnit(
    MetricKey.histogram(
      "keyvault.throttled.retry_after",
      MetricBoundaries.exponential({ start: 10, factor: 2, count: 14 }),
      "Wait honoured before retrying a throttled request, in milliseconds"
    ),
    "ms"
  )
)

/**
 * Token acquisitions from the credential (counter `keyvault.token.acquisitions`; label `outcome`: `success` or
 * `failure`). Cached tokens are not counted: each count is one call to `TokenCredential.getToken`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const tokenAcquisitions: Metric.Metric.Counter<number> = Metric.fromMetricKey(
  withUnit(
    MetricKey.counter("keyvault.token.acquisitions", {
      description: "Calls to the credential for an access token, by outcome",
      incremental: true
    }),
    "{token}"
  )
)

/**
 * Circuit breaker state per vault host: 0 closed, 1 half-open, 2 open (gauge `keyvault_circuit_state`).
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
 * Time requests waited in the client's rate limiter, in milliseconds (histogram `keyvault_rate_limiter_wait_ms`).
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
