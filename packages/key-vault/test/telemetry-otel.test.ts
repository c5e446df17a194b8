/**
 * The whole export path, as an operator sees it: `telemetry/OpenTelemetry` wired to the SDK's in-memory exporters
 * (spans, metrics, log records), a `get` throttled once and then answered. Asserts what leaves the process: the one
 * client span with its attributes and its two attempt events (the Retry-After asked for and honoured, both request
 * ids), the `traceparent` the emulator received naming that span, the metrics with exact counts, and the warning log
 * records with their annotations and trace correlation. Time is the TestClock.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import { describe, expect, it } from "@effect/vitest"
import { SpanKind } from "@opentelemetry/api"
import { InMemoryLogRecordExporter, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs"
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { AlwaysOffSampler, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as KeyVault from "../src/KeyVault.js"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { Secrets } from "../src/secrets/Secrets.js"
import * as OpenTelemetry from "../src/telemetry/OpenTelemetry.js"
import { onTestClock } from "./test-clock-support.js"

const HOST = "otel-export.vault.azure.net"
const VALUE = "OTEL-EXPORTED-SECRET-VALUE"
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

type Point = { readonly attributes: Record<string, unknown>; readonly value: unknown }

// The data points one metric exported for one vault.
const pointsOf = (metrics: InMemoryMetricExporter, name: string, host: string): ReadonlyArray<Point> =>
  metrics.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
    .filter((m) => m.descriptor.name === name)
    .flatMap((m) => m.dataPoints as ReadonlyArray<Point>)
    .filter((p) => p.attributes["vault_host"] === host)

// A client of a fresh in-process emulator, uncached.
const vaultAt = (host: string, resilience?: KeyVault.KeyVaultClientOptions["resilience"]) =>
  KeyVault.layer({ vaultUrl: `https://${host}`, cache: { enabled: false }, resilience }).pipe(
    Layer.provideMerge(Layer.merge(Emulator.layerFresh(), TokenProvider.layerStatic()))
  )

describe("OpenTelemetry export", () => {
  it.scoped("a get throttled once: the exported span, attempts, traceparent, metrics and warnings", () => {
    const spans = new InMemorySpanExporter()
    const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 })
    const logs = new InMemoryLogRecordExporter()
    const telemetry = OpenTelemetry.layer({
      serviceName: "otel-export-test",
      spanProcessor: new SimpleSpanProcessor(spans),
      metricReader: reader,
      logRecordProcessor: new SimpleLogRecordProcessor({ exporter: logs })
    })
    const vault = vaultAt(HOST)
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      const emulator = yield* Emulator.EmulatorService
      yield* secrets.set("hot", VALUE)
      yield* emulator.journal.clear
      spans.reset()
      yield* emulator.faults.add({
        operation: "getSecret",
        times: 1,
        fault: { _tag: "Status", status: 429, retryAfter: { _tag: "Seconds", seconds: 3 } }
      })
      yield* onTestClock(secrets.get("hot"))

      // One span for the operation, a client span, and nothing else (no second span per HTTP exchange).
      const exported = spans.getFinishedSpans()
      expect(exported.map((s) => s.name)).toEqual(["Secrets.get"])
      const get = exported[0]!
      expect(get.kind).toBe(SpanKind.CLIENT)
      expect(get.attributes).toMatchObject({
        "az.namespace": "Microsoft.KeyVault",
        "server.address": HOST,
        "server.port": 443,
        "http.request.method": "GET",
        "http.response.status_code": 200,
        "keyvault.operation": "get",
        "keyvault.object_type": "secret",
        "keyvault.name": "hot",
        "keyvault.cache": "miss"
      })
      expect(get.attributes["error.type"]).toBeUndefined()
      const attempts = get.events.filter((e) => e.name === "keyvault.attempt").map((e) => e.attributes ?? {})
      expect(attempts).toHaveLength(2)
      expect(attempts[0]).toMatchObject({ "keyvault.attempt": 1, "http.response.status_code": 429, "keyvault.retry_after_ms": 3000 })
      expect(attempts[1]).toMatchObject({ "keyvault.attempt": 2, "http.response.status_code": 200, "keyvault.retry_delay_ms": 3000 })
      for (const attempt of attempts) {
        expect(attempt["az.client_request_id"]).toMatch(UUID)
        expect(attempt["az.service_request_id"]).toMatch(UUID)
      }
      expect(get.attributes["az.service_request_id"]).toBe(attempts[1]!["az.service_request_id"])

      // Both exchanges carried the span's W3C trace context, and their client request ids.
      const received = yield* emulator.journal.query({ operation: "getSecret" })
      expect(received).toHaveLength(2)
      for (const [i, entry] of received.entries()) {
        expect(entry.traceparent).toBe(`00-${get.spanContext().traceId}-${get.spanContext().spanId}-01`)
        expect(entry.clientRequestId).toBe(attempts[i]!["az.client_request_id"])
      }

      // The metrics, read through the SDK's reader: exact counts for this vault.
      yield* Effect.promise(() => reader.forceFlush())
      const count = (name: string, labels: Record<string, string> = {}) =>
        pointsOf(metrics, name, HOST).filter((p) => Object.entries(labels).every(([k, v]) => p.attributes[k] === v))
          .reduce((total, p) => total + (typeof p.value === "number" ? p.value : (p.value as { count: number }).count), 0)
      expect(count("keyvault.http.attempts", { operation: "Secrets.get" })).toBe(2)
      expect(count("keyvault.http.retries", { operation: "Secrets.get" })).toBe(1)
      expect(count("keyvault.throttled", { operation: "Secrets.get" })).toBe(1)
      expect(count("keyvault.operation.duration", { operation: "Secrets.get", outcome: "success" })).toBe(1)
      expect(count("keyvault.errors", { operation: "Secrets.get" })).toBe(0)

      // The warnings, as log records correlated with the operation's span (its ids as attributes).
      const records = logs.getFinishedLogRecords()
      const throttled = records.filter((r) => r.body === "the vault throttled a request")
      const retrying = records.filter((r) => r.body === "retrying a vault request")
      expect(throttled).toHaveLength(1)
      expect(retrying).toHaveLength(1)
      expect(throttled[0]!.attributes).toMatchObject({
        "keyvault.operation": "Secrets.get",
        "keyvault.vault_host": HOST,
        "http.response.status_code": 429,
        "keyvault.retry_after_ms": 3000
      })
      expect(retrying[0]!.attributes).toMatchObject({ "keyvault.retry_delay_ms": 3000, "error.type": "ThrottledError" })
      for (const record of [...throttled, ...retrying]) {
        expect(record.attributes).toMatchObject({ spanId: get.spanContext().spanId, traceId: get.spanContext().traceId })
      }

      // Nothing of the value anywhere that left the process.
      const everything = JSON.stringify([
        exported.map((s) => [s.attributes, s.events]),
        metrics.getMetrics(),
        records.map((r) => [r.body, r.attributes])
      ])
      expect(everything).not.toContain(VALUE)
    }).pipe(Effect.provide(Layer.merge(vault, telemetry)))
  })

  it.scoped("the circuit opening on a failed get is logged under that operation's span", () => {
    const spans = new InMemorySpanExporter()
    const logs = new InMemoryLogRecordExporter()
    const telemetry = OpenTelemetry.layer({
      serviceName: "otel-export-test",
      spanProcessor: new SimpleSpanProcessor(spans),
      logRecordProcessor: new SimpleLogRecordProcessor({ exporter: logs })
    })
    const vault = vaultAt(HOST, { retry: false, circuitBreaker: { failureThreshold: 1 } })
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      const emulator = yield* Emulator.EmulatorService
      yield* secrets.set("flaky", VALUE)
      spans.reset()
      yield* emulator.faults.add({ operation: "getSecret", times: 1, fault: { _tag: "Status", status: 503 } })
      const failed = yield* Effect.flip(secrets.get("flaky"))
      expect(failed._tag).toBe("ServiceError")

      const get = spans.getFinishedSpans().find((s) => s.name === "Secrets.get")!
      expect(get.attributes["error.type"]).toBe("ServiceError")
      const opened = logs.getFinishedLogRecords().filter((r) => String(r.body).includes("Closed -> Open"))
      expect(opened).toHaveLength(1)
      expect(opened[0]!.attributes).toMatchObject({
        "keyvault.vault_host": HOST,
        spanId: get.spanContext().spanId,
        traceId: get.spanContext().traceId
      })
    }).pipe(Effect.provide(Layer.merge(vault, telemetry)))
  })

  it.scoped("metrics only: no spans are made, so requests carry no trace context, and the metrics are exported", () => {
    const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 })
    const telemetry = OpenTelemetry.layer({ serviceName: "otel-metrics-only", metricReader: reader })
    const host = "otel-metrics-only.vault.azure.net"
    const vault = vaultAt(host)
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      const emulator = yield* Emulator.EmulatorService
      yield* secrets.set("plain", VALUE)
      yield* secrets.get("plain")
      const received = yield* emulator.journal.query({ operation: "getSecret" })
      expect(received).toHaveLength(1)
      expect(received[0]!.traceparent).toBeUndefined()
      expect(received[0]!.clientRequestId).toMatch(UUID)
      yield* Effect.promise(() => reader.forceFlush())
      const durations = pointsOf(metrics, "keyvault.operation.duration", host)
        .filter((p) => p.attributes["operation"] === "Secrets.get")
      expect(durations).toHaveLength(1)
    }).pipe(Effect.provide(Layer.merge(vault, telemetry)))
  })

  it.scoped("a sampler that drops the trace: nothing recorded, the traceparent flagged not sampled, metrics kept", () => {
    const spans = new InMemorySpanExporter()
    const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 })
    const telemetry = OpenTelemetry.layer({
      serviceName: "otel-unsampled",
      spanProcessor: new SimpleSpanProcessor(spans),
      metricReader: reader,
      sampler: new AlwaysOffSampler()
    })
    const host = "otel-unsampled.vault.azure.net"
    const vault = vaultAt(host)
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      const emulator = yield* Emulator.EmulatorService
      yield* secrets.set("quiet", VALUE)
      yield* emulator.faults.add({ operation: "getSecret", times: 1, fault: { _tag: "Status", status: 503 } })
      yield* onTestClock(secrets.get("quiet"))
      expect(spans.getFinishedSpans()).toEqual([])
      const received = yield* emulator.journal.query({ operation: "getSecret" })
      expect(received).toHaveLength(2)
      for (const entry of received) expect(entry.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/)
      yield* Effect.promise(() => reader.forceFlush())
      const attempts = pointsOf(metrics, "keyvault.http.attempts", host)
        .filter((p) => p.attributes["operation"] === "Secrets.get")
      expect(attempts.reduce((total, p) => total + (p.value as number), 0)).toBe(2)
    }).pipe(Effect.provide(Layer.merge(vault, telemetry)))
  })
})
