/**
 * How the package declares its metrics: one naming scheme (OpenTelemetry's dotted names under `keyvault.`), a
 * description on each, and the unit.
 *
 * Effect 3 metric keys have no unit field. `@effect/opentelemetry`'s metric producer takes an instrument's unit from
 * the key's `unit` tag (`unit ?? time_unit ?? "1"`), so the unit goes into the key itself as that tag, made once
 * here: a `Metric.tagged` would union label arrays on every update, while a label set in the key costs nothing per
 * update. The tag is also exported as a data point attribute (`unit`), a side effect of that producer. Durations are
 * histograms named `….duration`, in milliseconds (unit `ms`); counts use OpenTelemetry's curly-brace annotations
 * (`{request}`, `{read}`, ...).
 *
 * @internal
 */
import * as Metric from "effect/Metric"
import type * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricKey from "effect/MetricKey"
import * as MetricLabel from "effect/MetricLabel"

/**
 * The unit a metric is exported with: `ms` for durations, a curly-brace annotation for counts.
 *
 * @internal
 */
export type Unit = "ms" | `{${string}}`

const withUnit = <K extends MetricKey.MetricKey.Untyped>(key: K, unit: Unit): K =>
  MetricKey.taggedWithLabels(key, [MetricLabel.make("unit", unit)]) as K

/**
 * A monotonic counter (an OpenTelemetry `Counter`: `incremental`, so negative updates are ignored).
 *
 * @internal
 */
export const counter = (name: string, description: string, unit: Unit): Metric.Metric.Counter<number> =>
  Metric.fromMetricKey(withUnit(MetricKey.counter(name, { description, incremental: true }), unit))

/**
 * A gauge (an OpenTelemetry observable gauge).
 *
 * @internal
 */
export const gauge = (name: string, description: string, unit: Unit): Metric.Metric.Gauge<number> =>
  Metric.fromMetricKey(withUnit(MetricKey.gauge(name, { description }), unit))

/**
 * A histogram.
 *
 * @internal
 */
export const histogram = (
  name: string,
  boundaries: MetricBoundaries.MetricBoundaries,
  description: string,
  unit: Unit
): Metric.Metric.Histogram<number> =>
  Metric.fromMetricKey(withUnit(MetricKey.histogram(name, boundaries, description), unit))
