/**
 * Rotation metrics through Effect `Metric`: what the event stream published, deduplicated and dropped, how the
 * expiry monitor's scans went, and how rotations ended. Names follow the package's scheme (`keyvault.rotation.*`,
 * see `KeyVaultMetrics`); each carries its unit as the `unit` tag, which `@effect/opentelemetry` exports as the
 * instrument's unit.
 *
 * @since 0.1.0
 */
import type * as Metric from "effect/Metric"
import * as Instruments from "../telemetry/internal/Instruments.js"

/**
 * Events published to the rotation stream, after deduplication (counter `keyvault.rotation.events.published`, unit
 * `{event}`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const eventsPublished: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.rotation.events.published",
  "Events published to the rotation stream after deduplication, in events ({event})",
  "{event}"
)

/**
 * Events not published because the same event id, or the same fact, was published before (counter
 * `keyvault.rotation.events.duplicates`, unit `{event}`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const eventsDuplicated: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.rotation.events.duplicates",
  "Events not published because their id or their fact was published before, in events ({event})",
  "{event}"
)

/**
 * Events a slow subscriber lost: its buffer was full, so its oldest unread event was dropped (counter
 * `keyvault.rotation.events.dropped`, unit `{event}`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const eventsDropped: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.rotation.events.dropped",
  "Events a slow subscriber lost because its buffer was full (oldest dropped), in events ({event})",
  "{event}"
)

/**
 * Expiry monitor scans of one object type, labelled `outcome` = `ok` or `failed` (counter
 * `keyvault.rotation.monitor.scans`, unit `{scan}`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const monitorScans: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.rotation.monitor.scans",
  "Expiry monitor scans of one object type by outcome (ok, failed), in scans ({scan})",
  "{scan}"
)

/**
 * Rotations, labelled `outcome` = `succeeded`, `failed`, `skipped` or `coalesced` (counter
 * `keyvault.rotation.outcomes`, unit `{rotation}`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const rotations: Metric.Metric.Counter<number> = Instruments.counter(
  "keyvault.rotation.outcomes",
  "Rotations by outcome (succeeded, failed, skipped, coalesced), in rotations ({rotation})",
  "{rotation}"
)
