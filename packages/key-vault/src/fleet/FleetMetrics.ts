/**
 * Metrics of the fleet cache (the shared Redis tier), through Effect `Metric`. Counters aggregate every tier in the
 * process; `FleetCache.stats` gives one tier's own counts. Names follow the package's scheme
 * (`keyvault.cache.shared.*`, see `KeyVaultMetrics`); each carries its unit as the `unit` tag, which
 * `@effect/opentelemetry` exports as the instrument's unit.
 *
 * @since 0.1.0
 */
import type * as Metric from "effect/Metric"
import * as Instruments from "../telemetry/internal/Instruments.js"

/**
 * Memory misses answered by the shared tier (counter `keyvault.cache.shared.hits`, unit `{read}`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const hits: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.cache.shared.hits",
  "Memory misses answered by the shared Redis tier, in reads ({read})",
  "{read}"
)

/**
 * Memory misses the shared tier could not answer, so that a process loaded from the vault or waited for another
 * process's load (counter `keyvault.cache.shared.misses`, unit `{read}`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const misses: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.cache.shared.misses",
  "Memory misses the shared Redis tier could not answer, in reads ({read})",
  "{read}"
)

/**
 * Shared-tier operations that went to memory and the vault because Redis failed, timed out or was unavailable
 * (counter `keyvault.cache.shared.fallbacks`, unit `{operation}`; label `reason`: `unavailable`, `error`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const fallbacks: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.cache.shared.fallbacks",
  "Shared-tier operations that fell back to memory and the vault because Redis failed, in operations ({operation})",
  "{operation}"
)

/**
 * Entries in Redis that did not open (tampered, moved, sealed under an unknown key, garbage): deleted and reloaded
 * (counter `keyvault.cache.shared.corrupt`, unit `{entry}`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const corrupt: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.cache.shared.corrupt",
  "Shared-tier entries that failed to open and were deleted, in entries ({entry})",
  "{entry}"
)

/**
 * Loads answered by another process's vault call after waiting on its lease (counter
 * `keyvault.cache.shared.coalesced`, unit `{load}`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const coalesced: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.cache.shared.coalesced",
  "Loads answered by another process's vault call after waiting on its lease, in loads ({load})",
  "{load}"
)

/**
 * Invalidations received from other processes (counter `keyvault.cache.shared.invalidations_received`, unit
 * `{invalidation}`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const invalidationsReceived: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.cache.shared.invalidations_received",
  "Invalidations received from other processes over Redis pub/sub, in invalidations ({invalidation})",
  "{invalidation}"
)
