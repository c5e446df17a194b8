/**
 * Telemetry in the request path, end to end against the in-process emulator: request ids and trace context on the
 * wire (as the emulator's journal saw them), the operation span's attributes and one event per HTTP exchange, the
 * metrics after a scripted workload (exact counts), and the log lines. Time is the TestClock.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as MetricState from "effect/MetricState"
import * as Redacted from "effect/Redacted"
import * as Tracer from "effect/Tracer"
import * as KeyVault from "../src/KeyVault.js"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { Secrets } from "../src/secrets/Secrets.js"
import * as KeyVaultMetrics from "../src/telemetry/KeyVaultMetrics.js"
import { onTestClock } from "./test-clock-support.js"
import { type RecordedSpan, recordingTracer } from "./tracing-support.js"

const SECRET = "TELEMETRY-SECRET-VALUE"

// A host per test: metrics are labelled by vault host, so each test reads only its own figures.
const vault = (host: string) =>
  KeyVault.layer({ vaultUrl: `https://${host}.vault.azure.net`, cache: { enabled: false } }).pipe(
    Layer.provideMerge(Layer.merge(Emulator.layerFresh(), TokenProvider.layerStatic()))
  )

type Recorded = RecordedSpan

const only = (spans: ReadonlyArray<Recorded>, name: string): Recorded => {
  const found = spans.filter((s) => s.name === name)
  expect(found).toHaveLength(1)
  return found[0]!
}

const idOf = (id: FiberId.FiberId): string => id._tag === "Runtime" ? `${id.id}` : id._tag

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

describe("request ids and trace context", () => {
  it.scoped("sends a fresh client request id per exchange and the span's traceparent; the journal sees both", () => {
    const spans: Array<Recorded> = []
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      const emulator = yield* Emulator.EmulatorService
      yield* secrets.set("db", SECRET)
      yield* emulator.journal.clear
      yield* secrets.get("db")

      const get = only(spans, "Secrets.get")
      const [entry] = yield* emulator.journal.query({ operation: "getSecret" })
      expect(entry!.clientRequestId).toMatch(UUID)
      expect(get.attributes.get("az.client_request_id")).toBe(entry!.clientRequestId)
      expect(get.attributes.get("az.service_request_id")).toMatch(UUID)

      // The traceparent is the operation's span: its attempts are events on it, not spans of the HttpClient's.
      const [, traceId, spanId, flags] = entry!.traceparent!.split("-")
      expect(traceId).toBe(get.traceId)
      expect(spanId).toBe(get.spanId)
      expect(flags).toBe("01")
      expect(spans.filter((s) => s.parentId === get.spanId)).toEqual([])

      // Every exchange had an id of its own: the set's challenge probe and its authorised request.
      const ids = only(spans, "Secrets.set").events.map((e) => e.attributes["az.client_request_id"])
      expect(ids).toHaveLength(2)
      expect(new Set(ids).size).toBe(2)
    }).pipe(Effect.provide(vault("ids")), Effect.withTracer(recordingTracer(spans)))
  })

  it.effect("runs the HTTP exchange inside the application tracer's context hook, and only the exchange", () => {
    // `@effect/opentelemetry`'s hook builds an OpenTelemetry context per fiber step: the operation's own steps skip
    // it, the exchange (where an HTTP client's instrumentation looks for its parent) keeps it.
    const spans: Array<Recorded> = []
    const recording = recordingTracer(spans)
    const hookedUnderOperation = new Map<string, number>()
    const application = Tracer.make({
      span: recording.span,
      context: (execution, fiber) => {
        const span = fiber.currentSpan
        if (span?._tag === "Span" && span.name === "Secrets.get") {
          const id = idOf(fiber.id())
          hookedUnderOperation.set(id, (hookedUnderOperation.get(id) ?? 0) + 1)
        }
        return execution()
      }
    })
    const exchanges: Array<{ readonly fiber: string; readonly tracer: Tracer.Tracer; readonly span: string | undefined }> = []
    const http = HttpClient.make((request) =>
      Effect.withFiberRuntime((fiber) => {
        const span = fiber.currentSpan
        exchanges.push({ fiber: idOf(fiber.id()), tracer: fiber.currentTracer, span: span?._tag === "Span" ? span.name : undefined })
        if (request.headers["authorization"] === undefined) {
          // The first contact: the vault's challenge, so the client asks its credential for a token.
          return Effect.succeed(HttpClientResponse.fromWeb(request, new Response(null, {
            status: 401,
            headers: { "www-authenticate": 'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net"' }
          })))
        }
        const body = JSON.stringify({ value: "v", id: "https://hook.vault.azure.net/secrets/db/0123456789abcdef0123456789abcdef" })
        return Effect.succeed(HttpClientResponse.fromWeb(request, new Response(body, { status: 200 })))
      })
    )
    // A credential: its own HTTP call (to Entra, say) must see the application's tracer too.
    const tokenTracers: Array<Tracer.Tracer> = []
    const tokens = Layer.succeed(TokenProvider.TokenProvider, {
      getToken: () =>
        Effect.withFiberRuntime((fiber) => {
          tokenTracers.push(fiber.currentTracer)
          return Effect.succeed({ token: Redacted.make("t"), expiresOnMillis: Date.now() + 3_600_000 })
        })
    })
    const layer = KeyVault.layer({ vaultUrl: "https://hook.vault.azure.net", cache: { enabled: false } }).pipe(
      Layer.provide(Layer.merge(Layer.succeed(HttpClient.HttpClient, http), tokens))
    )
    return Effect.gen(function*() {
      yield* (yield* Secrets).get("db")
      // The challenge probe and the authorised request, each in an exchange fiber of its own.
      expect(exchanges).toHaveLength(2)
      for (const exchange of exchanges) {
        expect(exchange.tracer).toBe(application)
        expect(exchange.span).toBe("Secrets.get")
      }
      // Under the operation's span, the hook ran in the exchange fibers and, in the operation's own fiber, only around
      // the token acquisition (a dozen steps; the whole operation is about a hundred).
      const exchangeFibers = new Set(exchanges.map((e) => e.fiber))
      for (const fiber of exchangeFibers) expect(hookedUnderOperation.get(fiber)).toBeGreaterThan(0)
      const elsewhere = [...hookedUnderOperation].filter(([fiber]) => !exchangeFibers.has(fiber))
      expect(elsewhere.length).toBeLessThanOrEqual(1)
      expect(elsewhere.reduce((total, [, calls]) => total + calls, 0)).toBeLessThanOrEqual(15)
      expect(tokenTracers.length).toBeGreaterThan(0)
      expect(tokenTracers.every((t) => t === application)).toBe(true)
      // One span: the operation's (its attempt is an event on it).
      expect(spans.map((s) => s.name)).toEqual(["Secrets.get"])
    }).pipe(Effect.provide(layer), Effect.withTracer(application))
  })

  it.scoped("puts the vault's request id on errors and on the span", () => {
    const spans: Array<Recorded> = []
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      const emulator = yield* Emulator.EmulatorService
      const error = yield* Effect.flip(secrets.get("missing"))
      expect(error._tag).toBe("NotFoundError")
      const requestId = (error as { readonly requestId?: string }).requestId
      expect(requestId).toMatch(UUID)
      const get = only(spans, "Secrets.get")
      expect(get.attributes.get("az.service_request_id")).toBe(requestId)
      expect(get.attributes.get("error.type")).toBe("NotFoundError")
      expect(get.attributes.get("http.response.status_code")).toBe(404)

      // An answer whose body cannot be read, or that does not decode, still names the vault's request.
      yield* secrets.set("broken", SECRET)
      yield* emulator.faults.add({ operation: "getSecret", times: 1, phase: "after", fault: { _tag: "MalformedJson" } })
      const decode = yield* Effect.flip(secrets.get("broken"))
      expect(decode._tag).toBe("DecodeError")
      expect((decode as { readonly requestId?: string }).requestId).toMatch(UUID)
      expect(JSON.stringify(decode)).not.toContain(SECRET)
    }).pipe(Effect.provide(vault("errors")), Effect.withTracer(recordingTracer(spans)))
  })

  it.scoped("works without a tracer: ids still go out, no traceparent is invented", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const emulator = yield* Emulator.EmulatorService
      yield* secrets.set("plain", SECRET)
      const entries = yield* emulator.journal.entries
      expect(entries.map((e) => e.clientRequestId)).toEqual([expect.stringMatching(UUID), expect.stringMatching(UUID)])
      expect(entries.every((e) => e.traceparent === undefined)).toBe(true)
    }).pipe(Effect.provide(vault("untraced"))))
})

describe("the operation span", () => {
  it.scoped("a get throttled once: one span, two attempt events with the Retry-After honoured and both ids", () => {
    const spans: Array<Recorded> = []
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      const emulator = yield* Emulator.EmulatorService
      yield* secrets.set("hot", SECRET)
      yield* emulator.faults.add({
        operation: "getSecret",
        times: 1,
        fault: { _tag: "Status", status: 429, retryAfter: { _tag: "Seconds", seconds: 2 } }
      })
      yield* onTestClock(secrets.get("hot"))

      const get = only(spans, "Secrets.get")
      expect(Object.fromEntries(get.attributes)).toMatchObject({
        "az.namespace": "Microsoft.KeyVault",
        "server.address": "throttled.vault.azure.net",
        "server.port": 443,
        "http.request.method": "GET",
        "http.response.status_code": 200,
        "keyvault.operation": "get",
        "keyvault.object_type": "secret",
        "keyvault.name": "hot",
        "keyvault.cache": "miss"
      })
      expect(get.attributes.has("error.type")).toBe(false)
      const attempts = get.events.filter((e) => e.name === "keyvault.attempt").map((e) => e.attributes)
      expect(attempts).toHaveLength(2)
      expect(attempts[0]).toMatchObject({
        "keyvault.attempt": 1,
        "http.response.status_code": 429,
        "keyvault.retry_after_ms": 2000
      })
      expect(attempts[1]).toMatchObject({
        "keyvault.attempt": 2,
        "http.response.status_code": 200,
        "keyvault.retry_delay_ms": 2000
      })
      for (const attempt of attempts) {
        expect(attempt["az.client_request_id"]).toMatch(UUID)
        expect(attempt["az.service_request_id"]).toMatch(UUID)
      }
      expect(attempts[0]!["az.client_request_id"]).not.toBe(attempts[1]!["az.client_request_id"])
      expect(get.attributes.get("az.client_request_id")).toBe(attempts[1]!["az.client_request_id"])

      // The first call's challenge round trip is visible too: the probe without a token, then the real request.
      const set = only(spans, "Secrets.set").events.map((e) => e.attributes)
      expect(set.map((a) => [a["http.response.status_code"], a["keyvault.challenge"]])).toEqual([[401, true], [200, undefined]])
      expect(JSON.stringify(spans.map((s) => [[...s.attributes], s.events]))).not.toContain(SECRET)
    }).pipe(Effect.provide(vault("throttled")), Effect.withTracer(recordingTracer(spans)))
  })
})

// The value of a counter or histogram for exactly these labels (unit tag aside).
const figure = (name: string, labels: Readonly<Record<string, string>>) =>
  Effect.map(Metric.snapshot, (pairs) => {
    const matching = pairs.filter((pair) =>
      pair.metricKey.name === name &&
      Object.entries(labels).every(([key, value]) => pair.metricKey.tags.some((t) => t.key === key && t.value === value)) &&
      pair.metricKey.tags.filter((t) => t.key !== "unit").length === Object.keys(labels).length
    )
    if (matching.length === 0) return { count: 0, sum: 0 }
    expect(matching).toHaveLength(1)
    const state = matching[0]!.metricState
    if (MetricState.isCounterState(state)) return { count: Number(state.count), sum: Number(state.count) }
    if (MetricState.isHistogramState(state)) return { count: state.count, sum: state.sum }
    throw new Error(`unexpected metric state for ${name}`)
  })

describe("metrics", () => {
  it.scoped("counts a scripted workload exactly", () => {
    const host = "metrics.vault.azure.net"
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      const emulator = yield* Emulator.EmulatorService
      yield* secrets.set("a", SECRET) // challenge probe + request
      yield* secrets.get("a")
      yield* Effect.flip(secrets.get("missing"))
      yield* Effect.flip(secrets.get("bad name!")) // refused before any request
      yield* emulator.faults.add({
        operation: "getSecret",
        times: 1,
        fault: { _tag: "Status", status: 429, retryAfter: { _tag: "Seconds", seconds: 1 } }
      })
      yield* onTestClock(secrets.get("a"))

      const get = { operation: "Secrets.get", vault_host: host }
      const set = { operation: "Secrets.set", vault_host: host }
      expect((yield* figure("keyvault.http.attempts", set)).count).toBe(2)
      expect((yield* figure("keyvault.http.attempts", get)).count).toBe(4)
      expect((yield* figure("keyvault.http.retries", { ...get, error_type: "ThrottledError" })).count).toBe(1)
      expect((yield* figure("keyvault.throttled", get)).count).toBe(1)
      expect(yield* figure("keyvault.throttled.retry_after.duration", { vault_host: host })).toEqual({ count: 1, sum: 1000 })
      expect((yield* figure("keyvault.errors", { ...get, error_type: "NotFoundError" })).count).toBe(1)
      expect((yield* figure("keyvault.errors", { ...get, error_type: "ValidationError" })).count).toBe(1)
      expect((yield* figure("keyvault.operation.duration", { ...get, outcome: "success" })).count).toBe(2)
      expect((yield* figure("keyvault.operation.duration", { ...get, outcome: "failure" })).count).toBe(2)
      expect((yield* figure("keyvault.operation.duration", { ...set, outcome: "success" })).count).toBe(1)
      // The throttled get waited its Retry-After on the TestClock: its duration says so.
      expect((yield* figure("keyvault.operation.duration", { ...get, outcome: "success" })).sum).toBeGreaterThanOrEqual(1000)
      // Names never become labels.
      const labels = (yield* Metric.snapshot).flatMap((p) => p.metricKey.tags.map((t) => t.value))
      expect(labels).not.toContain("a")
      expect(labels).not.toContain("missing")
    }).pipe(Effect.provide(vault("metrics")))
  })

  it("documents every metric in one module", () => {
    expect(Object.keys(KeyVaultMetrics).sort()).toEqual([
      "cache",
      "circuitState",
      "circuitTransitions",
      "errors",
      "httpAttempts",
      "httpRetries",
      "labels",
      "operationDuration",
      "rateLimiterWait",
      "retryAfter",
      "throttled",
      "tokenAcquisitions"
    ])
  })
})

describe("logs", () => {
  it.scoped("a debug line per request and warnings for throttling and the retry, annotated, without values", () => {
    const lines: Array<{ level: string; message: string; annotations: Record<string, unknown> }> = []
    const capture = Logger.make(({ annotations, logLevel, message }) => {
      const text = Array.isArray(message) ? message.join(" ") : String(message)
      const record: Record<string, unknown> = {}
      for (const [key, value] of annotations) record[key] = value
      lines.push({ level: logLevel.label, message: text, annotations: record })
    })
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      const emulator = yield* Emulator.EmulatorService
      yield* secrets.set("logged", SECRET)
      lines.length = 0
      yield* emulator.faults.add({
        operation: "getSecret",
        times: 1,
        fault: { _tag: "Status", status: 429, retryAfter: { _tag: "Seconds", seconds: 1 } }
      })
      yield* onTestClock(secrets.get("logged"))

      expect(lines.map((l) => [l.level, l.message])).toEqual([
        ["WARN", "the vault throttled a request"],
        ["WARN", "retrying a vault request"],
        ["DEBUG", "vault request completed"]
      ])
      expect(lines[0]!.annotations).toMatchObject({
        "keyvault.operation": "Secrets.get",
        "keyvault.vault_host": "logs.vault.azure.net",
        "http.response.status_code": 429,
        "keyvault.retry_after_ms": 1000
      })
      expect(lines[1]!.annotations).toMatchObject({ "keyvault.retry_delay_ms": 1000, "error.type": "ThrottledError" })
      expect(lines[2]!.annotations).toMatchObject({ "http.response.status_code": 200, "keyvault.attempts": 2 })
      expect(lines[2]!.annotations["az.client_request_id"]).toMatch(UUID)
      expect(lines[2]!.annotations["az.service_request_id"]).toMatch(UUID)
      const everything = JSON.stringify(lines)
      expect(everything).not.toContain(SECRET)
      expect(everything).not.toContain("emulator-token")
      expect(everything).not.toContain("logged")
    }).pipe(
      Effect.provide(Layer.merge(vault("logs"), Logger.replace(Logger.defaultLogger, capture))),
      Logger.withMinimumLogLevel(LogLevel.Debug)
    )
  })
})
