/**
 * `OpenTelemetry.layer` and OpenTelemetry's active context: with a context manager registered, code running inside
 * an Effect span sees that span as OpenTelemetry's active one (what OpenTelemetry's own instrumentation relies on);
 * without one (the SDK's no-op manager), the per-step context hook is skipped and spans are exported all the same.
 */
import { describe, expect, it } from "@effect/vitest"
import { context, trace } from "@opentelemetry/api"
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as OpenTelemetry from "../src/telemetry/OpenTelemetry.js"

// What OpenTelemetry's API reports as the active span inside an Effect span named `inner`, and the spans exported.
// (Read before the Layer's scope closes: shutting the exporter down empties it.)
const observe = Effect.suspend(() => {
  const exporter = new InMemorySpanExporter()
  return Effect.sync(() => trace.getActiveSpan()?.spanContext().spanId).pipe(
    Effect.withSpan("inner"),
    Effect.map((active) => ({ active, exported: [...exporter.getFinishedSpans()] })),
    Effect.provide(OpenTelemetry.layer({ serviceName: "context-test", spanProcessor: new SimpleSpanProcessor(exporter) }))
  )
})

describe("OpenTelemetry's active context", () => {
  it.effect("without a context manager: no active span to find, and the span is exported", () =>
    Effect.gen(function*() {
      const { active, exported } = yield* observe
      expect(active).toBeUndefined()
      expect(exported.map((s) => s.name)).toEqual(["inner"])
    }))

  it.effect("with a context manager registered first: the Effect span is OpenTelemetry's active span inside it", () =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const manager = new AsyncLocalStorageContextManager().enable()
        context.setGlobalContextManager(manager)
        return manager
      }),
      () =>
        Effect.gen(function*() {
          const { active, exported } = yield* observe
          expect(exported.map((s) => s.name)).toEqual(["inner"])
          expect(active).toBe(exported[0]!.spanContext().spanId)
        }),
      (manager) =>
        Effect.sync(() => {
          manager.disable()
          context.disable()
        })
    ))
})
