/**
 * Shared helpers of the fleet cache tests: whether a Redis server answers (`REDIS_URL`, default
 * `redis://127.0.0.1:6379`), a unique key prefix per run with clean-up, client instances over one in-process emulator
 * with the fleet tier under each, and a throwaway `redis-server` of our own to kill.
 */
import type * as Emulator from "@effect-azure/key-vault-emulator/Emulator"
import * as EmulatorHttp from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import * as ChildProcess from "node:child_process"
import * as NodeCrypto from "node:crypto"
import * as Net from "node:net"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import type { CacheOptions } from "../src/cache/CacheConfig.js"
import { VaultCache } from "../src/cache/VaultCache.js"
import * as FleetCache from "../src/fleet/FleetCache.js"
import * as KeyVault from "../src/KeyVault.js"
import { Secrets } from "../src/secrets/Secrets.js"

export const REDIS_URL = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379"
export const CI = process.env["CI"] === "true"
export const VAULT = "https://fleet.vault.azure.net"

/** Whether a Redis server answers PING at `url` within a second. */
export const pings = async (url: string): Promise<boolean> => {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on("error", () => {})
  try {
    await client.connect()
    return (await client.ping()) === "PONG"
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

export const redisAnswers: boolean = await pings(REDIS_URL)
/** Tests skip (with this reason in their title) when no Redis answers, unless CI=true: there they fail. */
export const skipReason = `no Redis answers at ${REDIS_URL}`
export const skip = !redisAnswers && !CI

/** A fresh tier key (base64 of 32 random bytes). */
export const newKey = (): Redacted.Redacted<string> => Redacted.make(NodeCrypto.randomBytes(32).toString("base64"))

/** A key prefix of its own for one test run. */
export const newPrefix = (label: string): string => `akv-test-${label}-${NodeCrypto.randomBytes(4).toString("hex")}`

/** A plain Redis client for assertions and clean-up, closed with the scope. */
export const adminClient = (url: string = REDIS_URL): Effect.Effect<Redis, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const client = new Redis(url, { maxRetriesPerRequest: 1 })
      client.on("error", () => {})
      return client
    }),
    (client) => Effect.sync(() => client.disconnect())
  )

/** Every key under `prefix` (SCAN, not KEYS). */
export const keysUnder = (client: Redis, prefix: string): Effect.Effect<Array<string>> =>
  Effect.promise(async () => {
    const out: Array<string> = []
    let cursor = "0"
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500)
      cursor = next
      out.push(...keys)
    } while (cursor !== "0")
    return out
  })

/** Deletes every key under `prefix` when the scope closes. */
export const cleanUp = (client: Redis, prefix: string): Effect.Effect<void, never, Scope.Scope> =>
  Effect.addFinalizer(() =>
    Effect.flatMap(keysUnder(client, prefix), (keys) =>
      keys.length === 0 ? Effect.void : Effect.promise(() => client.del(...keys).then(() => undefined))
    )
  )

/** One client instance: the services of its own client graph, over the shared emulator and a tier of its own. */
export interface Instance {
  readonly context: Context.Context<Secrets | VaultCache | FleetCache.FleetCache>
  readonly secrets: Context.Tag.Service<Secrets>
  readonly cache: Context.Tag.Service<VaultCache>
  readonly fleet: FleetCache.FleetCacheService
}

/** Builds an instance in the current scope (as a separate process would be). */
export const instance = (
  emulator: Emulator.Emulator,
  tier: FleetCache.FleetCacheOptions,
  cache: CacheOptions = {}
): Effect.Effect<Instance, never, Scope.Scope> =>
  Effect.gen(function*() {
    const layer = KeyVault.layer({ vaultUrl: VAULT, cache: { jitter: 0, ...cache } }).pipe(
      Layer.provideMerge(Layer.mergeAll(EmulatorHttp.layer(emulator), TokenProvider.layerStatic(), FleetCache.layer(tier)))
    )
    const context = yield* Effect.orDie(Layer.build(layer))
    return {
      context,
      secrets: Context.get(context, Secrets),
      cache: Context.get(context, VaultCache),
      fleet: Context.get(context, FleetCache.FleetCache)
    }
  })

/** Secret reads (GET /secrets/...) the emulator served since `after` (a journal sequence). */
export const vaultReads = (emulator: Emulator.Emulator, name?: string): Effect.Effect<number> =>
  Effect.map(
    emulator.journal.query({ method: "GET", ...(name === undefined ? {} : { name }) }),
    (entries) => entries.filter((e) => e.path.startsWith("/secrets/") && e.tokenPresent).length
  )

/** Writes a secret through a client of its own, without cache or tier (setting the scene, not counted as a read). */
export const seed = (emulator: Emulator.Emulator, name: string, secret: string) =>
  Effect.scoped(Effect.gen(function*() {
    const layer = KeyVault.layer({ vaultUrl: VAULT, cache: { enabled: false } }).pipe(
      Layer.provide(Layer.mergeAll(EmulatorHttp.layer(emulator), TokenProvider.layerStatic()))
    )
    const secrets = Context.get(yield* Effect.orDie(Layer.build(layer)), Secrets)
    return yield* Effect.orDie(secrets.set(name, secret))
  }))

/** A free TCP port on loopback. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as Net.AddressInfo
      server.close(() => resolve(address.port))
    })
  })

/** Whether `redis-server` can be started here. */
export const hasRedisServer: boolean = (() => {
  try {
    ChildProcess.execFileSync("redis-server", ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

/** A throwaway redis-server of our own (never the shared one) on `port`; `kill` stops it, the scope kills it too. */
export const ownRedis = (port: number): Effect.Effect<{ readonly url: string; readonly kill: Effect.Effect<void> }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const url = `redis://127.0.0.1:${port}`
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        ChildProcess.spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
          stdio: "ignore"
        })
      ),
      (child) => Effect.sync(() => child.kill("SIGKILL"))
    )
    // Ready when it answers (an awaited event, not a sleep for logic).
    yield* Effect.promise(async () => {
      for (let i = 0; i < 200; i++) {
        if (await pings(url)) return
        await new Promise((r) => setTimeout(r, 25))
      }
      throw new Error(`redis-server on ${port} did not start`)
    })
    const kill = Effect.promise(() =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once("exit", () => resolve())
        child.kill("SIGKILL")
      })
    )
    return { url, kill }
  })
