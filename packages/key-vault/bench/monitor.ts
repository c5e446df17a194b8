/**
 * The expiry monitor's scan of a large vault: `--secrets` secrets (default 10,000) in an in-process emulator, a share
 * of them (`--near-percent`, default 5) expiring inside the 30-day window or already expired, scanned through our
 * client with its rate limiter on (as in production). The first scan lists every secret (properties only) and looks
 * up the version of each one that is due; a second scan shows what a steady-state scan costs (the list pages only:
 * the versions are remembered, the events already published).
 *
 * The vault's calls are counted by the emulator's request journal, which also gives `peakOpsPer10s`: the most calls
 * in any 10-second window, to compare with the limiter's budget (`limiterBudgetPer10s`, the client's share of the
 * service's 4,000 operations per 10 s).
 *
 *   npm run bench -- monitor [--secrets 10000] [--near-percent 5]
 *
 * The last line printed is one JSON object with every figure.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/Emulator"
import * as EmulatorHttp from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { KeyVaultConfig } from "../src/config/KeyVaultConfig.js"
import * as KeyVault from "../src/KeyVault.js"
import * as ExpiryMonitor from "../src/rotation/ExpiryMonitor.js"
import * as ExpirySource from "../src/rotation/ExpirySource.js"
import * as RotationEvents from "../src/rotation/RotationEvents.js"
import * as Args from "./Args.js"
import { UsageError } from "./Args.js"
import * as Stats from "./Stats.js"

interface Settings {
  readonly secrets: number
  readonly nearPercent: number
}

/** What `npm run bench -- monitor --help` prints. */
export const usage = `usage: npm run bench -- monitor [--secrets 10000] [--near-percent 5]
  --secrets N        secrets in the vault
  --near-percent P   share of them (0..100) expiring within the 30-day window or already expired
Scans an in-process emulator vault with the expiry monitor through the client (rate limiter on); the last line is one
JSON object.`

const parse = (argv: ReadonlyArray<string>): Settings => {
  const { values } = Args.parse(argv, { secrets: { type: "string" }, "near-percent": { type: "string" } })
  const number = (flag: string, raw: string | undefined, fallback: number, min: number, max: number): number => {
    if (raw === undefined) return fallback
    const n = Number(raw)
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got ${raw}`)
    }
    return n
  }
  return {
    secrets: number("secrets", values.secrets, 10_000, 1, 1_000_000),
    nearPercent: number("near-percent", values["near-percent"], 5, 0, 100)
  }
}

const VAULT = "https://monitor.vault.azure.net"
const DAY = 86_400_000
const WINDOW_MILLIS = 10_000

/** The most entries in any window of `width` milliseconds, over sorted times. */
const peakInWindow = (times: ReadonlyArray<number>, width: number): number => {
  let peak = 0
  let start = 0
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= width) start++
    peak = Math.max(peak, end - start + 1)
  }
  return peak
}

const log = (line: string): void => console.log(line)

/** Runs the suite with `argv` (the arguments after `monitor`). */
export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const settings = parse(argv)
  const emulator = await Effect.runPromise(Emulator.make({ journalCapacity: 10 * settings.secrets + 1_000 }))
  const now = Date.now()
  const due = Math.round((settings.secrets * settings.nearPercent) / 100)
  log(`monitor bench: node ${process.version}; ${settings.secrets} secrets, ${due} of them due (near expiry or expired)`)
  const seedStart = performance.now()
  await Effect.runPromise(Effect.forEach(Array.from({ length: settings.secrets }, (_, i) => i), (i) => {
    // The due ones alternate between expired (a day ago) and near expiry (in 10 days); the rest expire in a year
    // or never.
    const expiresOn = i < due
      ? new Date(now + (i % 2 === 0 ? -DAY : 10 * DAY))
      : i % 3 === 0 ? undefined : new Date(now + 365 * DAY)
    return emulator.engine.secrets.set(`secret-${i}`, {
      value: Redacted.make(`value-${i}`),
      ...(expiresOn === undefined ? {} : { expires: expiresOn })
    })
  }, { discard: true }))
  log(`seeded in ${Stats.round((performance.now() - seedStart) / 1000, 1)} s (straight into the engine: not counted)`)

  const client = KeyVault.layer({ vaultUrl: VAULT, cache: { enabled: false } }).pipe(
    Layer.provide(Layer.merge(EmulatorHttp.layer(emulator), TokenProvider.layerStatic()))
  )
  const program = Effect.gen(function*() {
    const budget = (yield* KeyVaultConfig).resilience.rateLimiter?.operationsPer10s
    const monitor = yield* ExpiryMonitor.make([yield* ExpirySource.secrets])
    const timed = Effect.gen(function*() {
      const before = (yield* emulator.journal.entries).length
      const start = performance.now()
      const summary = yield* monitor.scan
      const seconds = (performance.now() - start) / 1000
      const entries = (yield* emulator.journal.entries).slice(before)
      return { summary, seconds, calls: entries.length, times: entries.map((e) => e.timeMillis) }
    })
    const first = yield* timed
    log(`first scan: ${first.summary.objects} objects, ${first.summary.published} events, ${first.calls} vault calls in ${Stats.round(first.seconds, 2)} s`)
    const second = yield* timed
    log(`second scan: ${second.summary.objects} objects, ${second.summary.published} events, ${second.calls} vault calls in ${Stats.round(second.seconds, 2)} s`)
    const peak = peakInWindow([...first.times, ...second.times].sort((a, b) => a - b), WINDOW_MILLIS)
    log(`peak vault calls in any 10 s window: ${peak} (the client's limiter budget: ${budget ?? "off"})`)
    return { budget, first, second, peak }
  }).pipe(Effect.provide(Layer.merge(client, RotationEvents.layer())))
  const { budget, first, peak, second } = await Effect.runPromise(program)
  const result = {
    suite: "monitor",
    node: process.version,
    objects: first.summary.objects,
    due,
    published: first.summary.published,
    scanSeconds: Stats.round(first.seconds, 3),
    vaultCalls: first.calls,
    secondScanSeconds: Stats.round(second.seconds, 3),
    secondScanVaultCalls: second.calls,
    secondScanPublished: second.summary.published,
    peakOpsPer10s: peak,
    limiterBudgetPer10s: budget ?? null,
    underBudget: budget === undefined ? null : peak <= budget
  }
  console.log(JSON.stringify(result))
}
