/**
 * Soak: `npm run soak -- [--count 10000] [--concurrency 64] [--fault-rate 0.1] [--seed 7] [--cache] [--rate-limit]`
 *
 * Runs mixed secret operations (about a third writes) through the real client over loopback HTTPS against the
 * emulator, which injects faults of every kind (429 with each Retry-After form, 5xx, resets, stalls, latency,
 * truncated and malformed bodies; some 503s after the write was applied). Then, with faults off, it reads back every
 * version whose write the client acknowledged. It reports typed failures (expected under faults), defects (must be 0)
 * and lost writes (must be 0), and the latency of operations; the last line is one JSON object.
 *
 * The client's rate limiter is off by default (the emulator is not throttling here, and 3,333 writes would take
 * minutes at the real vault's 300 writes / 10 s); `--rate-limit` turns it on. The cache is off by default, so reads
 * meet the faults; `--cache` turns it on.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/Emulator"
import type { FaultRule } from "@effect-azure/key-vault-emulator/faults/FaultRule"
import * as HttpsServer from "@effect-azure/key-vault-emulator/server/HttpsServer"
import * as Tls from "@effect-azure/key-vault-emulator/server/Tls"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as KeyVault from "../src/KeyVault.js"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import * as Prng from "../src/replay/Prng.js"
import { Secrets } from "../src/secrets/Secrets.js"
import * as Args from "./Args.js"
import { UsageError } from "./Args.js"
import * as Stats from "./Stats.js"

interface Options {
  readonly count: number
  readonly concurrency: number
  readonly faultRate: number
  readonly seed: number
  readonly cache: boolean
  readonly rateLimit: boolean
}

const USAGE = `usage: npm run soak -- [--count 10000] [--concurrency 64] [--fault-rate 0.1] [--seed 7] [--cache] [--rate-limit]
  --count N         operations in all (mixed reads, writes, lists, deletes)
  --concurrency N   operations in flight at once
  --fault-rate R    share of requests the emulator faults (every kind: 429, 5xx, resets, stalls, truncation, ...)
  --seed N          seed of the operation mix and of the faults
  --cache           read through the client's cache
  --rate-limit      keep the client's rate limiter on
Runs against the HTTPS emulator on loopback; the last line is one JSON object. Exit 1 on a defect or a lost write.`

const OPTIONS = {
  count: { type: "string" },
  concurrency: { type: "string" },
  "fault-rate": { type: "string" },
  seed: { type: "string" },
  cache: { type: "boolean" },
  "rate-limit": { type: "boolean" },
  help: { type: "boolean", short: "h" }
} as const

const parse = (argv: ReadonlyArray<string>): Options & { readonly help: boolean } => {
  const { values } = Args.parse(argv, OPTIONS, { unknownWord: "flag" })
  const number = (flag: keyof typeof OPTIONS, fallback: number): number => {
    const raw = values[flag]
    if (typeof raw !== "string") return fallback
    const v = Number(raw)
    if (raw.trim() === "" || !Number.isFinite(v)) throw new UsageError(`--${flag} needs a number`)
    return v
  }
  return {
    count: number("count", 10_000),
    concurrency: number("concurrency", 64),
    faultRate: number("fault-rate", 0.1),
    seed: number("seed", 7),
    cache: values.cache === true,
    rateLimit: values["rate-limit"] === true,
    help: values.help === true
  }
}

/** Fault rules whose probabilities add up to `rate`, covering every kind. */
const faultsFor = (rate: number): ReadonlyArray<FaultRule> => {
  const share = (fraction: number) => rate * fraction
  return [
    { probability: share(0.15), fault: { _tag: "Status", status: 429, retryAfter: { _tag: "RetryAfterMs", millis: 50 } } },
    { probability: share(0.05), fault: { _tag: "Status", status: 429, retryAfter: { _tag: "Seconds", seconds: 1 } } },
    { probability: share(0.05), fault: { _tag: "Status", status: 429, retryAfter: { _tag: "XMsRetryAfterMs", millis: 80 } } },
    { probability: share(0.05), fault: { _tag: "Status", status: 429 } },
    { probability: share(0.15), fault: { _tag: "Status", status: 503 } },
    { probability: share(0.05), fault: { _tag: "Status", status: 500 } },
    { probability: share(0.05), fault: { _tag: "Status", status: 502 } },
    // The write happens, the client is told it failed: only a retry that is safe may repeat it.
    { probability: share(0.1), phase: "after", fault: { _tag: "Status", status: 503 } },
    { probability: share(0.1), fault: { _tag: "Reset" } },
    { probability: share(0.05), fault: { _tag: "Latency", millis: 150 } },
    { probability: share(0.05), fault: { _tag: "Truncate" } },
    { probability: share(0.05), fault: { _tag: "MalformedJson" } },
    { probability: share(0.1), fault: { _tag: "Stall" } }
  ]
}

interface Acknowledged {
  readonly name: string
  readonly version: string
  readonly value: string
}

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const options = parse(argv)
  if (options.help) {
    console.log(USAGE)
    return
  }
  const stateDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-soak-"))
  const program = Effect.gen(function*() {
    const emulator = yield* Emulator.make({ seed: options.seed })
    const tls = yield* Tls.ensureTlsMaterial({ stateDir })
    const server = yield* HttpsServer.serve({ handler: emulator.handler, tls: { cert: tls.certPem, key: tls.keyPem } })
    const http = NodeHttpClient.layerWithoutAgent.pipe(
      Layer.provide(NodeHttpClient.makeAgentLayer({ ca: tls.caCertPem, keepAlive: true, maxSockets: options.concurrency }))
    )
    const client = (cache: boolean, faultsExpected: boolean) =>
      KeyVault.layer({
        vaultUrl: server.url,
        disableChallengeResourceVerification: true,
        // Stalls are cut short by the per-attempt timeout and retried.
        requestTimeout: faultsExpected ? "2 seconds" : "30 seconds",
        cache: { enabled: cache },
        resilience: {
          retry: { maxRetries: 6, baseDelay: "50 millis", maxDelay: "1 second" },
          rateLimiter: options.rateLimit ? {} : false
        }
      }).pipe(Layer.provide(Layer.merge(http, TokenProvider.layerStatic())))

    console.log(`soak: ${options.count} operations, concurrency ${options.concurrency}, fault rate ${options.faultRate}, seed ${options.seed}`)
    console.log(`emulator on ${server.url}; cache ${options.cache ? "on" : "off"}; client rate limiter ${options.rateLimit ? "on" : "off"}`)

    const names = Array.from({ length: 200 }, (_, i) => `soak-${i.toString().padStart(3, "0")}`)
    const acknowledged: Array<Acknowledged> = []
    const latencies: Array<number> = []
    const counts = { ops: 0, ok: 0, typedFailures: 0, defects: 0, writes: 0 }
    const failuresByTag = new Map<string, number>()
    // The project's one seeded generator (the replay's and the emulator's fault dice).
    const next = Prng.make(options.seed)

    // Every random choice is drawn up front, in order: concurrent scheduling cannot change what `--seed` selects.
    const plan = Array.from({ length: options.count }, () => ({ pick: next(), nameAt: next(), salt: next(), choice: next() }))

    const run = Effect.gen(function*() {
      const secrets = yield* Secrets
      const operation = (i: number): Effect.Effect<void, unknown> => {
        const { pick, nameAt, salt, choice } = plan[i]!
        const name = names[Math.floor(nameAt * names.length)]!
        if (pick < 1 / 3) {
          counts.writes++
          const value = `v-${i}-${Math.floor(salt * 1e9).toString(36)}`
          return Effect.map(secrets.set(name, value), (s) => {
            acknowledged.push({ name, version: s.properties.version!, value })
          })
        }
        if (pick < 0.85 || acknowledged.length === 0) return Effect.asVoid(secrets.get(name))
        if (pick < 0.95) {
          const known = acknowledged[Math.floor(choice * acknowledged.length)]!
          return Effect.asVoid(secrets.get(known.name, { version: known.version }))
        }
        return Stream.runDrain(Stream.take(secrets.listProperties({ maxPageSize: 25 }), 25))
      }
      yield* Effect.forEach(
        Array.from({ length: options.count }, (_, i) => i),
        (i) =>
          Effect.gen(function*() {
            const start = performance.now()
            const exit = yield* Effect.exit(operation(i))
            latencies.push(performance.now() - start)
            counts.ops++
            if (Exit.isSuccess(exit)) {
              counts.ok++
              return
            }
            const failure = Cause.failureOption(exit.cause)
            if (failure._tag === "Some" && typeof failure.value === "object" && failure.value !== null && "_tag" in failure.value) {
              counts.typedFailures++
              const tag = String(failure.value._tag)
              failuresByTag.set(tag, (failuresByTag.get(tag) ?? 0) + 1)
            } else {
              counts.defects++
              console.error("defect:", Cause.pretty(exit.cause))
            }
          }),
        { concurrency: options.concurrency, discard: true }
      )
    })

    // Every name exists before the faults start, so a typed failure below is the client's answer to a fault.
    yield* Effect.provide(
      Effect.flatMap(Secrets, (secrets) => Effect.forEach(names, (name) => secrets.set(name, "initial"), { concurrency: 16 })),
      client(false, false)
    )
    for (const rule of faultsFor(options.faultRate)) yield* emulator.faults.add(rule)
    yield* Effect.provide(run, client(options.cache, true))
    const soakEnd = Date.now()

    // Verification: faults off, a fresh client without cache; every acknowledged version must read back its value.
    yield* emulator.faults.clear
    let lostWrites = 0
    yield* Effect.provide(
      Effect.flatMap(Secrets, (secrets) =>
        Effect.forEach(acknowledged, (write) =>
          Effect.map(Effect.either(secrets.get(write.name, { version: write.version })), (read) => {
            if (read._tag === "Left" || Redacted.value(read.right.value) !== write.value) lostWrites++
          }), { concurrency: 16, discard: true })),
      client(false, false)
    )

    const sorted = [...latencies].sort((a, b) => a - b)
    // The journal's window (10,000 requests) covers the end of the soak and the whole verification, which runs
    // without faults: the rate is measured on the soak's requests only.
    const soakEntries = (yield* emulator.journal.entries).filter((e) => e.timeMillis <= soakEnd)
    const faulted = soakEntries.filter((e) => e.fault !== null).length
    const journaled = soakEntries.length
    const report = {
      suite: "soak",
      ops: counts.ops,
      ok: counts.ok,
      typedFailures: counts.typedFailures,
      defects: counts.defects,
      writes: counts.writes,
      acknowledgedWrites: acknowledged.length,
      lostWrites,
      p50Ms: Stats.round(Stats.percentileSorted(sorted, 0.5), 2),
      p99Ms: Stats.round(Stats.percentileSorted(sorted, 0.99), 2),
      failuresByTag: Object.fromEntries(failuresByTag),
      faultedRequests: faulted,
      journaledRequests: journaled,
      observedFaultRate: Number((faulted / Math.max(1, journaled)).toFixed(3)),
      faultRate: options.faultRate,
      concurrency: options.concurrency
    }
    console.log(`operations ${report.ops}: ok ${report.ok}, typed failures ${report.typedFailures} ${JSON.stringify(report.failuresByTag)}, defects ${report.defects}`)
    console.log(`writes ${report.writes}, acknowledged ${report.acknowledgedWrites}, lost ${report.lostWrites}`)
    console.log(`latency p50 ${report.p50Ms} ms, p99 ${report.p99Ms} ms; ${faulted} of the last ${journaled} requests were faulted`)
    console.log(JSON.stringify(report))
    if (report.defects > 0 || report.lostWrites > 0) process.exitCode = 1
  })
  await Effect.runPromise(program.pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Error)))
}

main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    if (error instanceof UsageError) console.error(`soak: ${error.message}\n${USAGE}`)
    else console.error(error)
    process.exit(2)
  }
)
