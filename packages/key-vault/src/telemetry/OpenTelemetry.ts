/**
 * Exporting the client's spans, metrics and logs through OpenTelemetry in one Layer.
 *
 * The client itself only uses Effect's `Tracer`, `Metric` and `Effect.log*`; nothing is exported until the application
 * provides an OpenTelemetry SDK. This module is that Layer, built on `@effect/opentelemetry`'s `NodeSdk.layer`: it is
 * the only module of the package that imports the optional peer dependency `@effect/opentelemetry` (and, through it,
 * the `@opentelemetry/sdk-*` packages), so it is not re-exported from the package's index; import it as
 * `@effect-azure/key-vault/telemetry/OpenTelemetry`.
 *
 * Where the data goes is the application's choice: pass span processors, metric readers and log record processors
 * (`layer`), or exporters that this module wraps in the SDK's batching processors and a periodic metric reader
 * (`layerExporters`), for example the OTLP exporters of `@opentelemetry/exporter-*-otlp-http`.
 *
 * ```ts
 * import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
 * import * as OpenTelemetry from "@effect-azure/key-vault/telemetry/OpenTelemetry"
 *
 * const Telemetry = OpenTelemetry.layerExporters({ serviceName: "payments-api", spanExporter: new OTLPTraceExporter() })
 * // program.pipe(Effect.provide(KeyVaultLive), Effect.provide(Telemetry))
 * ```
 *
 * @since 0.1.0
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import type * as Resource from "@effect/opentelemetry/Resource"
import { type Attributes, context as otelContext, createContextKey } from "@opentelemetry/api"
import {
  BatchLogRecordProcessor,
  type LogRecordExporter,
  type LogRecordProcessor
} from "@opentelemetry/sdk-logs"
import {
  type MetricReader,
  type PushMetricExporter,
  PeriodicExportingMetricReader
} from "@opentelemetry/sdk-metrics"
import { BatchSpanProcessor, type Sampler, type SpanExporter, type SpanProcessor } from "@opentelemetry/sdk-trace-base"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Tracer from "effect/Tracer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as QuietTracer from "../internal/QuietTracer.js"

/**
 * Options of `layer`: the service's resource and where spans, metrics and log records go. Each signal is exported
 * only when its processor or reader is given.
 *
 * @since 0.1.0
 * @category models
 */
export interface OpenTelemetryOptions {
  /** `service.name` of the resource every span, metric and log record carries. */
  readonly serviceName: string
  /** `service.version` of the resource. */
  readonly serviceVersion?: string | undefined
  /** More resource attributes (`deployment.environment.name`, ...). `OTEL_RESOURCE_ATTRIBUTES` is read as well. */
  readonly resourceAttributes?: Attributes | undefined
  /** Where spans go: a `BatchSpanProcessor` over an exporter in production, a `SimpleSpanProcessor` in tests. */
  readonly spanProcessor?: SpanProcessor | ReadonlyArray<SpanProcessor> | undefined
  /** What collects the metrics: a `PeriodicExportingMetricReader` over an exporter, or a pull reader. */
  readonly metricReader?: MetricReader | ReadonlyArray<MetricReader> | undefined
  /** Where log records go (every `Effect.log*` of the application and of the client, with its annotations). */
  readonly logRecordProcessor?: LogRecordProcessor | ReadonlyArray<LogRecordProcessor> | undefined
  /**
   * Whether Effect's default logger (the console) is removed, so logs go only to OpenTelemetry. Default `false`:
   * logs go to both, as with `NodeSdk.layer`.
   */
  readonly replaceDefaultLogger?: boolean | undefined
  /**
   * The lowest level that is logged. Effect's default is `Info`; the client's per-operation records are `Debug`, so
   * set `LogLevel.Debug` to export them. Default: left as it is.
   */
  readonly minimumLogLevel?: LogLevel.LogLevel | undefined
  /** How long flushing and shutting down the providers may take when the Layer's scope closes. Default 3 seconds. */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
  /**
   * Which traces are recorded, e.g. `new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) })` for one
   * trace in ten (a trace an upstream service sampled stays sampled). An operation whose span is not sampled still
   * sends its `traceparent` (flagged not sampled) and records its metrics, but sets no attributes and no events.
   * Default: the SDK's (`OTEL_TRACES_SAMPLER`, else every trace whose parent is sampled or that has none).
   */
  readonly sampler?: Sampler | undefined
}

/**
 * Options of `layerExporters`: exporters rather than processors.
 *
 * @since 0.1.0
 * @category models
 */
export interface OpenTelemetryExporterOptions extends
  Omit<OpenTelemetryOptions, "spanProcessor" | "metricReader" | "logRecordProcessor">
{
  /** Spans, exported in batches (`BatchSpanProcessor`). */
  readonly spanExporter?: SpanExporter | undefined
  /** Metrics, pushed every `metricExportIntervalMillis` (`PeriodicExportingMetricReader`). */
  readonly metricExporter?: PushMetricExporter | undefined
  /** How often metrics are pushed. Default 60 seconds (the SDK's default). */
  readonly metricExportIntervalMillis?: number | undefined
  /** Log records, exported in batches (`BatchLogRecordProcessor`). */
  readonly logExporter?: LogRecordExporter | undefined
}

interface Signals {
  readonly spanProcessor?: SpanProcessor | ReadonlyArray<SpanProcessor> | undefined
  readonly metricReader?: MetricReader | ReadonlyArray<MetricReader> | undefined
  readonly logRecordProcessor?: LogRecordProcessor | ReadonlyArray<LogRecordProcessor> | undefined
}

// `signals` is evaluated each time the Layer is built: a processor shut down with one scope is never reused.
const make = (
  options: Omit<OpenTelemetryOptions, keyof Signals>,
  exportsLogs: boolean,
  signals: () => Signals
): Layer.Layer<Resource.Resource> => {
  const sdk = NodeSdk.layer(() => ({
    resource: {
      serviceName: options.serviceName,
      ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion }),
      ...(options.resourceAttributes === undefined ? {} : { attributes: options.resourceAttributes })
    },
    ...signals(),
    ...(options.sampler === undefined ? {} : { tracerConfig: { sampler: options.sampler } }),
    shutdownTimeout: options.shutdownTimeout
  }))
  const logging = Layer.mergeAll(
    options.replaceDefaultLogger === true && exportsLogs ? Logger.remove(Logger.defaultLogger) : Layer.empty,
    options.minimumLogLevel === undefined ? Layer.empty : Logger.minimumLogLevel(options.minimumLogLevel)
  )
  return Layer.merge(Layer.provideMerge(idleContextSkipped, sdk), logging)
}

// Effect runs every step of a fiber inside its tracer's `context` hook; `@effect/opentelemetry`'s builds an
// OpenTelemetry context holding the current span for each step, for OpenTelemetry's own instrumentation to find its
// parent in. When no context manager carries OpenTelemetry's active context (none is registered: the SDK's is a
// no-op, as with this Layer's `NodeSdk` unless the application registers one), that context is built and dropped
// on every step: measured, the largest part of what wiring OpenTelemetry cost an uncached `get`. Then the hook is
// skipped; spans are made exactly as before. Checked once, when the Layer is built: an application that registers
// a context manager (an `AsyncLocalStorageContextManager`, for OpenTelemetry's HTTP instrumentation) does so first.
// The wrapper runs each step with Effect's own hook, so operations run on it as they are (see `QuietTracer.quiet`).
// Without a span processor the SDK installs no tracer: Effect's own stays, unwrapped, and operations make no spans
// (metrics or logs only).
const idleContextSkipped: Layer.Layer<never> = Layer.unwrapEffect(
  Effect.map(Effect.tracer, (tracer) =>
    tracer === QuietTracer.nativeTracer || contextPropagates()
      ? Layer.empty
      : Layer.setTracer(Tracer.make({
        span: (name, parent, context, links, startTime, kind, spanOptions) =>
          tracer.span(name, parent, context, links, startTime, kind, spanOptions),
        // Effect's own hook (it runs the step): the same function at the run loop's call site, whichever tracer.
        context: QuietTracer.nativeTracer.context
      })))
)

const probeKey = createContextKey("@effect-azure/key-vault/telemetry/probe")

// Whether a context entered with `context.with` is the active one inside it: false for the no-op context manager.
const contextPropagates = (): boolean =>
  otelContext.with(otelContext.active().setValue(probeKey, true), () => otelContext.active().getValue(probeKey) === true)

/**
 * The OpenTelemetry SDK as one Layer: Effect's tracer, metrics and (optionally) logger exported through the given
 * processors and readers. Provide it once at the edge of the application, next to `KeyVault.layer`. The providers
 * are flushed and shut down when the Layer's scope closes, so build it once per application.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: OpenTelemetryOptions): Layer.Layer<Resource.Resource> => {
  const { logRecordProcessor, metricReader, spanProcessor, ...rest } = options
  return make(rest, logRecordProcessor !== undefined, () => ({ spanProcessor, metricReader, logRecordProcessor }))
}

/**
 * `layer` from exporters, the common production case in one line: spans and log records in batches, metrics pushed
 * periodically. Only the signals whose exporter is given are exported. The processors are made each time the Layer
 * is built.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerExporters = (options: OpenTelemetryExporterOptions): Layer.Layer<Resource.Resource> => {
  const { logExporter, metricExportIntervalMillis, metricExporter, spanExporter, ...rest } = options
  return make(rest, logExporter !== undefined, () => ({
    spanProcessor: spanExporter === undefined ? undefined : new BatchSpanProcessor(spanExporter),
    metricReader: metricExporter === undefined ? undefined : new PeriodicExportingMetricReader({
      exporter: metricExporter,
      ...(metricExportIntervalMillis === undefined ? {} : { exportIntervalMillis: metricExportIntervalMillis })
    }),
    logRecordProcessor: logExporter === undefined ? undefined : new BatchLogRecordProcessor({ exporter: logExporter })
  }))
}
