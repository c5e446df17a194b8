/**
 * Rotation metrics through Effect `Metric`: what the event stream published, deduplicated and dropped, how the
 * expiry monitor's scans went, and how rotations ended.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"

/**
 * Events published to the rotation stream, after deduplication (counter `keyvault_rotation_events_published`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const eventsPublished: Metric.Metric.Counter<number> = Metric.counter("keyvault_rotation_events_published", {
  description: "Events published to the rotation stream, after deduplication"
})

/**
 * Events not published because the same event id, or the same fact, was published before (counter
 * `keyvault_rotation_events_duplicates`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const eventsDuplicated: Metric.Metric.Counter<number> = Metric.counter("keyvault_rotation_events_duplicates", {
  description: "Events not published because their id or their fact was published before"
})

/**
 * Events a slow subscriber lost: its buffer was full, so its oldest unread event was dropped (counter
 * `keyvault_rotation_events_dropped`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const eventsDropped: Metric.Metric.Counter<number> = Metric.counter("keyvault_rotation_events_dropped", {
  description: "Events a slow subscriber lost because its buffer was full (oldest dropped)"
})

/**
 * Expiry monitor scans of one object type, tagged `outcome` = `ok` or `failed` (counter
 * `keyvault_rotation_monitor_scans`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const monitorScans: Metric.Metric.Counter<number> = Metric.counter("keyvault_rotation_monitor_scans", {
  description: "Expiry monitor scans of one object type, tagged outcome=ok|failed"
})

/**
 * Rotations, tagged `outcome` = `succeeded`, `failed`, `skipped` or `coalesced` (counter `keyvault_rotation_outcomes`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const rotations: Metric.Metric.Counter<number> = Metric.counter("keyvault_rotation_outcomes", {
  description: "Rotations, tagged outcome=succeeded|failed|skipped|coalesced"
})
