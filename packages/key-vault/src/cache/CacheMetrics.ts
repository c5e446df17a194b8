/**
 * Cache metrics through Effect `Metric`, tagged with the object type. They are updated with `unsafeUpdate` on the
 * hot path, so counting a hit costs no extra Effect.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"

/**
 * @since 0.1.0
 */
export const hits: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_hits", {
  description: "Reads answered from the cache"
})

/**
 * @since 0.1.0
 */
export const misses: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_misses", {
  description: "Reads that had to load from the vault (coalesced waits not included)"
})

/**
 * @since 0.1.0
 */
export const coalesced: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_coalesced_waits", {
  description: "Reads that waited for a load already in flight for the same key"
})

/**
 * @since 0.1.0
 */
export const staleServed: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_stale_served", {
  description: "Reads answered with an expired value because reloading failed transiently"
})

/**
 * @since 0.1.0
 */
export const negativeHits: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_negative_hits", {
  description: "Reads answered with a remembered not-found"
})

/**
 * @since 0.1.0
 */
export const refreshes: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_refreshes", {
  description: "Background refreshes, tagged outcome=ok|failed|dropped"
})

/**
 * @since 0.1.0
 */
export const evictions: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_evictions", {
  description: "Entries evicted by the size bound"
})

/**
 * @since 0.1.0
 */
export const size: Metric.Metric.Gauge<number> = Metric.gauge("keyvault_cache_size", {
  description: "Entries currently cached"
})
