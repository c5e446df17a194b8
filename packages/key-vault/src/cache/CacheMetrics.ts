/**
 * Cache metrics through Effect `Metric`, tagged with the object type. They are updated with `unsafeUpdate` on the
 * hot path, so counting a hit costs no extra Effect.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"

/**
 * Reads answered from the cache (counter `keyvault_cache_hits`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const hits: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_hits", {
  description: "Reads answered from the cache"
})

/**
 * Reads that had to load from the vault, coalesced waits not included (counter `keyvault_cache_misses`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const misses: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_misses", {
  description: "Reads that had to load from the vault (coalesced waits not included)"
})

/**
 * Reads that waited for a load already in flight for the same key (counter `keyvault_cache_coalesced_waits`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const coalesced: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_coalesced_waits", {
  description: "Reads that waited for a load already in flight for the same key"
})

/**
 * Reads answered with an expired value because reloading failed transiently (counter `keyvault_cache_stale_served`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const staleServed: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_stale_served", {
  description: "Reads answered with an expired value because reloading failed transiently"
})

/**
 * Reads answered with a remembered not-found (counter `keyvault_cache_negative_hits`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const negativeHits: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_negative_hits", {
  description: "Reads answered with a remembered not-found"
})

/**
 * Background refreshes, tagged `outcome` = `ok`, `failed` or `dropped` (counter `keyvault_cache_refreshes`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const refreshes: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_refreshes", {
  description: "Background refreshes, tagged outcome=ok|failed|dropped"
})

/**
 * Entries evicted by the size bound (counter `keyvault_cache_evictions`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const evictions: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_evictions", {
  description: "Entries evicted by the size bound"
})

/**
 * Entries currently cached (gauge `keyvault_cache_size`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const size: Metric.Metric.Gauge<number> = Metric.gauge("keyvault_cache_size", {
  description: "Entries currently cached"
})
