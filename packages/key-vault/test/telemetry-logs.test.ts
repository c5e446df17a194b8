/**
 * Log records the README promises that the request-path tests (telemetry-requests.test.ts) do not cover: the warning
 * when stale-if-error answers with an expired value, and the metric naming scheme every exported metric follows.
 * Logs are captured with a test logger (`Logger.replace`); time is the TestClock.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import type * as MetricKey from "effect/MetricKey"
import * as MetricKeyType from "effect/MetricKeyType"
import * as TestClock from "effect/TestClock"
import * as CacheMetrics from "../src/cache/CacheMetrics.js"
import * as VaultCache from "../src/cache/VaultCache.js"
import { ServiceError } from "../src/errors/KeyVaultError.js"
import * as FleetMetrics from "../src/fleet/FleetMetrics.js"
import * as RotationMetrics from "../src/rotation/RotationMetrics.js"
import * as KeyVaultMetrics from "../src/telemetry/KeyVaultMetrics.js"
import * as KeyVault from "../src/KeyVault.js"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { Secrets } from "../src/secrets/Secrets.js"

const NAME = "payments-db-password"
const VALUE = "STALE-LOG-SECRET-VALUE"
const HOST = "stale.vault.azure.net"

interface Line {
  readonly level: string
  readonly message: string
  readonly annotations: Record<string, unknown>
}

const capturing = (lines: Array<Line>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ annotations, logLevel, message }) => {
      const record: Record<string, unknown> = {}
      for (const [key, value] of annotations) record[key] = value
      lines.push({ level: logLevel.label, message: Array.isArray(message) ? message.join(" ") : String(message), annotations: record })
    })
  )

const unavailable = () =>
  new ServiceError({ code: "ServiceUnavailable", innerCode: undefined, message: "m", requestId: undefined, status: 503, transient: true })

describe("stale-if-error warning", () => {
  it.effect("warns once per failed reload (once per hold), annotated with vault, object type and error tag only", () => {
    const lines: Array<Line> = []
    return Effect.gen(function*() {
      const cache = (yield* VaultCache.VaultCache).namespace(HOST, "secret")
      let failing = false
      let loads = 0
      const load = () =>
        Effect.suspend(() => {
          loads++
          return failing ? Effect.fail(unavailable()) : Effect.succeed(VALUE)
        })
      yield* cache.get(NAME, undefined, load)
      yield* TestClock.adjust("101 seconds") // past the 100 s TTL
      failing = true

      // The first read after expiry reloads, fails, and is answered stale: one warning.
      expect(yield* cache.get(NAME, undefined, load)).toBe(VALUE)
      // Reads during the hold (ttl/10 = 10 s) are served stale without a load and without a line.
      for (let i = 0; i < 5; i++) expect(yield* cache.get(NAME, undefined, load)).toBe(VALUE)
      expect(loads).toBe(2)
      const warnings = () => lines.filter((l) => l.level === "WARN")
      expect(warnings()).toHaveLength(1)
      expect(warnings()[0]).toEqual({
        level: "WARN",
        message: "serving a stale cached value: reloading it failed",
        annotations: {
          "keyvault.vault_host": HOST,
          "keyvault.object_type": "secret",
          "error.type": "ServiceError",
          "keyvault.stale_for_ms": 1_000,
          "keyvault.retry_hold_ms": 10_000
        }
      })

      // The hold over, the next read tries again, fails again: a second hold, a second line.
      yield* TestClock.adjust("11 seconds")
      expect(yield* cache.get(NAME, undefined, load)).toBe(VALUE)
      expect(yield* cache.get(NAME, undefined, load)).toBe(VALUE)
      expect(loads).toBe(3)
      expect(warnings()).toHaveLength(2)
      expect(warnings()[1]!.annotations["keyvault.stale_for_ms"]).toBe(12_000)
      expect((yield* (yield* VaultCache.VaultCache).stats).staleServed).toBe(8)

      const everything = JSON.stringify(lines)
      expect(everything).not.toContain(VALUE)
      expect(everything).not.toContain(NAME)
    }).pipe(
      Effect.provide(Layer.merge(
        VaultCache.layer({ ttl: "100 seconds", jitter: 0, staleIfError: "1 minute", refreshAhead: false }),
        capturing(lines)
      ))
    )
  })

  it.effect("logs nothing when a failure is not masked (a reload failing past the grace period)", () => {
    const lines: Array<Line> = []
    return Effect.gen(function*() {
      const cache = (yield* VaultCache.VaultCache).namespace(HOST, "secret")
      let failing = false
      const load = () => Effect.suspend(() => failing ? Effect.fail(unavailable()) : Effect.succeed(VALUE))
      yield* cache.get(NAME, undefined, load)
      yield* TestClock.adjust("170 seconds") // expired 70 s ago, the grace is 1 minute
      failing = true
      expect((yield* Effect.flip(cache.get(NAME, undefined, load)))._tag).toBe("ServiceError")
      expect(lines.filter((l) => l.level === "WARN")).toEqual([])
    }).pipe(
      Effect.provide(Layer.merge(
        VaultCache.layer({ ttl: "100 seconds", jitter: 0, staleIfError: "1 minute", refreshAhead: false }),
        capturing(lines)
      ))
    )
  })
})

type AnyMetric = Metric.Metric<MetricKeyType.MetricKeyType<unknown, unknown>, unknown, unknown>

// Every metric the package exports, from its four metric modules.
const allMetrics = (): ReadonlyArray<readonly [string, MetricKey.MetricKey.Untyped]> => {
  const out: Array<readonly [string, MetricKey.MetricKey.Untyped]> = []
  const modules = {
    KeyVaultMetrics,
    CacheMetrics,
    FleetMetrics,
    RotationMetrics
  } as Record<string, Record<string, unknown>>
  for (const [module, exports] of Object.entries(modules)) {
    for (const [name, value] of Object.entries(exports)) {
      if (Metric.MetricTypeId in (Object(value) as object)) out.push([`${module}.${name}`, keyOf(value as AnyMetric)])
    }
  }
  return out
}

// The metric's key (a `Metric` does not expose it): read back from the registry, where reading the value registers it.
const keyOf = (metric: AnyMetric): MetricKey.MetricKey.Untyped => {
  metric.unsafeValue([])
  const snapshot = Metric.unsafeSnapshot()
  const found = snapshot.filter((pair) => pair.metricKey.keyType === metric.keyType && pair.metricKey.tags.every((t) => t.key === "unit"))
  expect(found).toHaveLength(1)
  return found[0]!.metricKey
}

describe("defects", () => {
  it.effect("an operation that dies logs one error line naming the operation and vault, never the cause's text", () => {
    const lines: Array<Line> = []
    // An HTTP client with a bug: it throws, with an input in its message.
    const broken = HttpClient.make(() => Effect.die(new Error(`bug while sending ${VALUE}`)))
    const layer = KeyVault.layer({ vaultUrl: "https://defect.vault.azure.net", cache: { enabled: false } }).pipe(
      Layer.provide(Layer.merge(Layer.succeed(HttpClient.HttpClient, broken), TokenProvider.layerStatic()))
    )
    return Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.flatMap(Secrets, (s) => s.set(NAME, VALUE)))
      expect(exit._tag).toBe("Failure")
      const errors = lines.filter((line) => line.level === "ERROR")
      expect(errors).toEqual([{
        level: "ERROR",
        message: "a vault operation failed with a defect",
        annotations: { "keyvault.operation": "Secrets.set", "keyvault.vault_host": "defect.vault.azure.net", "error.type": "Defect" }
      }])
      expect(JSON.stringify(lines)).not.toContain(VALUE)
      expect(JSON.stringify(lines)).not.toContain(NAME)
    }).pipe(Effect.provide(Layer.merge(layer, capturing(lines))))
  })
})

describe("interruptions", () => {
  it.effect("an interrupted operation is neither an error log nor an error metric, and is measured as interrupted", () => {
    const lines: Array<Line> = []
    const host = "interrupted.vault.azure.net"
    const silent = HttpClient.make(() => Effect.never)
    const layer = KeyVault.layer({ vaultUrl: `https://${host}`, cache: { enabled: false } }).pipe(
      Layer.provide(Layer.merge(Layer.succeed(HttpClient.HttpClient, silent), TokenProvider.layerStatic()))
    )
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      const fiber = yield* Effect.fork(secrets.get("x"))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      expect(lines.filter((line) => line.level === "ERROR")).toEqual([])
      const pairs = yield* Metric.snapshot
      const forHost = pairs.filter((pair) => pair.metricKey.tags.some((t) => t.key === "vault_host" && t.value === host))
      expect(forHost.filter((pair) => pair.metricKey.name === "keyvault.errors")).toEqual([])
      const outcomes = forHost.filter((pair) => pair.metricKey.name === "keyvault.operation.duration")
        .map((pair) => pair.metricKey.tags.find((t) => t.key === "outcome")?.value)
      expect(outcomes).toEqual(["interrupted"])
    }).pipe(Effect.provide(Layer.merge(layer, capturing(lines))))
  })
})

describe("metric names", () => {
  it("every metric: a dotted keyvault.* name, a description stating its unit, the unit tag, a monotonic counter", () => {
    const metrics = allMetrics()
    expect(metrics.length).toBe(29)
    const names = new Set<string>()
    for (const [where, key] of metrics) {
      expect(key.name, where).toMatch(/^keyvault(\.[a-z_]+)+$/)
      names.add(key.name)
      const unit = key.tags.find((t) => t.key === "unit")?.value
      expect(unit, where).toMatch(/^(ms|\{[a-z]+\})$/)
      const description = key.description._tag === "Some" ? key.description.value : ""
      expect(description, where).toContain(unit === "ms" ? "milliseconds" : unit)
      if (unit === "ms") {
        expect(MetricKeyType.isHistogramKey(key.keyType), where).toBe(true)
        expect(key.name, where).toMatch(/\.duration$/)
      }
      if (MetricKeyType.isCounterKey(key.keyType)) expect(key.keyType.incremental, where).toBe(true)
    }
    expect(names.size).toBe(metrics.length)
  })
})
