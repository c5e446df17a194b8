/**
 * Cache metrics through Effect `Metric`. The read counters are labelled `object_type` (`secret`, `key`,
 * `certificate`); refreshes are labelled `outcome`. They are updated with `unsafeUpdate` on the hot path, so counting
 * a hit costs no extra Effect. Names follow the package's scheme (`keyvault.cache.*`, see `KeyVaultMetrics`); each
 * carries its unit as the `unit` tag, which `@effect/opentelemetry` exports as the instrument's unit.
 *
 * @since 0.1.0
 */
import type * as Metric from "effect/Metric"
import * as Instruments from "../telemetry/internal/Instruments.js"

/**
 * Reads answered from the cache (counter `keyvault.cache.hits`, unit `{read}`; label `object_type`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const hits: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.cache.hits",
  "Reads answered from the cache, in reads ({read})",
  "{read}"
)

/**
 * Reads that had to load from the vault, coalesced waits not included (counter `keyvault.cache.misses`, unit
 * `{read}`; label `object_type`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const misses: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.cache.misses",
  "Reads that had to load from the vault (coalesced waits not included), in reads ({read})",
  "{read}"
)

/**
 * Reads that waited for a load already in flight for the same key (counter `keyvault.cache.coalesced_waits`, unit
 * `{read}`; label `object_type`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const coalesced: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.cache.coalesced_waits",
  "Reads that waited for a load already in flight for the same key, in reads ({read})",
  "{read}"
)

/**
 * Reads answered with an expired value because reloading failed transiently (counter `keyvault.cache.stale_served`,
 * unit `{read}`; label `object_type`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const staleServed: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.cache.stale_served",
  "Reads answered with an expired value because reloading failed transiently, in reads ({read})",
  "{read}"
)

/**
 * Reads answered with a remembered not-found (counter `keyvault.cache.negative_hits`, unit `{read}`; label
 * `object_type`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const negativeHits: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.cache.negative_hits",
  "Reads answered with a remembered not-found, in reads ({read})",
  "{read}"
)

/**
 * Background refreshes, labelled `outcome` = `ok`, `failed` or `dropped` (counter `keyvault.cache.refreshes`, unit
 * `{refresh}`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const refreshes: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.cache.refreshes",
  "Background refreshes by outcome (ok, failed, dropped), in refreshes ({refresh})",
  "{refresh}"
)

/**
 * Entries evicted by the size bound (counter `keyvault.cache.evictions`, unit `{entry}`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const evictions: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.cache.evictions",
  "Entries evicted by the size bound, in entries ({entry})",
  "{entry}"
)

/**
 * Entries currently cached (gauge `keyvault.cache.entries`, unit `{entry}`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const size: Metric.Metric.Gauge<number> = Instruments.gauge(
  "keyvault.cache.entries",
  "Entries currently cached, in entries ({entry})",
  "{entry}"
)
