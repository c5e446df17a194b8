/**
 * Metrics of the fleet cache (the shared Redis tier), through Effect `Metric`. Counters aggregate every tier in the
 * process; `FleetCache.stats` gives one tier's own counts.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"

/**
 * Memory misses answered by the shared tier (counter `keyvault_cache_shared_hits`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const hits: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_shared_hits", {
  description: "Memory misses answered by the shared Redis tier"
})

/**
 * Memory misses the shared tier could not answer, so that a process loaded from the vault or waited for another
 * process's load (counter `keyvault_cache_shared_misses`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const misses: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_shared_misses", {
  description: "Memory misses the shared Redis tier could not answer"
})

/**
 * Reads that went to memory and the vault because Redis failed, timed out or was unavailable (counter
 * `keyvault_cache_shared_fallbacks`, tagged `reason`: `unavailable`, `error`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const fallbacks: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_shared_fallbacks", {
  description: "Shared-tier operations that fell back to memory and the vault because Redis failed"
})

/**
 * Entries in Redis that did not open (tampered, moved, sealed under an unknown key, garbage): deleted and reloaded
 * (counter `keyvault_cache_shared_corrupt`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const corrupt: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_shared_corrupt", {
  description: "Shared-tier entries that failed to open and were deleted"
})

/**
 * Loads answered by another process's vault call after waiting on its lease (counter
 * `keyvault_cache_shared_coalesced`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const coalesced: Metric.Metric.Counter<number> = Metric.counter("keyvault_cache_shared_coalesced", {
  description: "Loads answered by another process's vault call after waiting on its lease"
})

/**
 * Invalidations received from other processes (counter `keyvault_cache_shared_invalidations_received`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const invalidationsReceived: Metric.Metric.Counter<number> = Metric.counter(
  "keyvault_cache_shared_invalidations_received",
  { description: "Invalidations received from other processes over Redis pub/sub" }
)
