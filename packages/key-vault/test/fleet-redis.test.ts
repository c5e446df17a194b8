/**
 * The fleet cache against a real Redis server (`REDIS_URL`, default redis://127.0.0.1:6379): client instances over
 * one in-process emulator, each with its own tier and connections, as separate processes would be. Skipped, with the
 * reason in the title, when no Redis answers; required (failing) when CI=true.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/Emulator"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import type { Redis } from "ioredis"
import * as Net from "node:net"
import * as FleetCache from "../src/fleet/FleetCache.js"
import {
  adminClient,
  CI,
  cleanUp,
  freePort,
  hasRedisServer,
  instance,
  type Instance,
  keysUnder,
  newKey,
  newPrefix,
  ownRedis,
  REDIS_URL,
  redisAnswers,
  seed,
  skip,
  skipReason,
  vaultReads
} from "./fleet-support.js"

/** Waits for something another process (Redis pub/sub, a reconnect) makes true: event-loop turns, bounded. */
const until = (what: string, check: Effect.Effect<boolean>, turns = 400): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < turns; i++) {
      if (yield* check) return
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
    }
    return yield* Effect.die(new Error(`timed out waiting for ${what}`))
  })

const value = (i: Instance, name: string) => Effect.map(i.secrets.get(name), (s) => Redacted.value(s.value))

/**
 * A TCP proxy to Redis that, once armed, holds the first chunk a client sends carrying a Lua call (`evalsha` /
 * `eval`: the tier's lease request) until released, so a test can order another instance's commands before it.
 */
const holdingProxy = (target: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const upstreamUrl = new URL(target)
      const sockets = new Set<Net.Socket>()
      let armed = false
      let resume: (() => void) | undefined
      let signal: () => void = () => {}
      const held = new Promise<void>((resolve) => {
        signal = resolve
      })
      const server = Net.createServer((client) => {
        const upstream = Net.connect(Number(upstreamUrl.port || 6379), upstreamUrl.hostname)
        for (const socket of [client, upstream]) {
          sockets.add(socket)
          socket.on("error", () => {})
          socket.on("close", () => sockets.delete(socket))
        }
        client.on("close", () => upstream.destroy())
        upstream.on("close", () => client.destroy())
        upstream.on("data", (chunk) => client.write(chunk))
        client.on("data", (chunk) => {
          if (armed && resume === undefined && /\beval(sha)?\b/i.test(chunk.toString("latin1"))) {
            client.pause()
            resume = () => {
              upstream.write(chunk)
              client.resume()
            }
            signal()
            return
          }
          upstream.write(chunk)
        })
      })
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
      const port = (server.address() as Net.AddressInfo).port
      return {
        url: `redis://127.0.0.1:${port}`,
        arm: () => {
          armed = true
        },
        held,
        release: () => resume?.(),
        close: () =>
          new Promise<void>((resolve) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => resolve())
          })
      }
    }),
    (proxy) => Effect.promise(proxy.close)
  )

/** The emulator, an admin Redis client and a prefix of this test's own, cleaned up afterwards. */
const setup = (label: string) =>
  Effect.gen(function*() {
    const emulator = yield* Emulator.make()
    const admin = yield* adminClient()
    const prefix = newPrefix(label)
    yield* cleanUp(admin, prefix)
    return { emulator, admin, prefix }
  })

/** Every byte in Redis under `prefix`: key names, hash fields and values, strings. */
const everything = (admin: Redis, prefix: string) =>
  Effect.flatMap(keysUnder(admin, prefix), (keys) =>
    Effect.promise(async () => {
      const parts: Array<Buffer> = []
      for (const key of keys) {
        parts.push(Buffer.from(key))
        const type = await admin.type(key)
        if (type === "hash") {
          const all = await admin.hgetallBuffer(key)
          for (const [field, v] of Object.entries(all)) parts.push(Buffer.from(field), v)
        } else if (type === "string") {
          const v = await admin.getBuffer(key)
          if (v !== null) parts.push(v)
        }
      }
      return { keys, bytes: Buffer.concat(parts) }
    }))

describe.skipIf(skip)(`fleet cache on Redis (${skip ? `skipped: ${skipReason}` : REDIS_URL})`, () => {
  it("a Redis server answers (required when CI=true)", () => {
    if (CI) expect(redisAnswers, `CI=true needs Redis at ${REDIS_URL}`).toBe(true)
    expect(redisAnswers).toBe(true)
  })

  it.scoped("two instances share values: the second reads Redis, not the vault", () =>
    Effect.gen(function*() {
      const { emulator, prefix } = yield* setup("share")
      yield* seed(emulator, "db-password", "s3cret-share")
      const key = newKey()
      const a = yield* instance(emulator, { key, prefix })
      const b = yield* instance(emulator, { key, prefix })
      const before = yield* vaultReads(emulator, "db-password")
      expect(yield* value(a, "db-password")).toBe("s3cret-share")
      expect(yield* value(b, "db-password")).toBe("s3cret-share")
      expect((yield* vaultReads(emulator, "db-password")) - before).toBe(1)
      expect(yield* b.fleet.stats).toMatchObject({ hits: 1, vaultLoads: 0 })
      // Specific versions are shared too, and not-founds (negative entries) as well.
      const version = (yield* a.secrets.get("db-password")).properties.version!
      expect(Redacted.value((yield* a.secrets.get("db-password", { version })).value)).toBe("s3cret-share")
      expect(Redacted.value((yield* b.secrets.get("db-password", { version })).value)).toBe("s3cret-share")
      expect((yield* Effect.flip(a.secrets.get("missing")))._tag).toBe("NotFoundError")
      const missBefore = yield* vaultReads(emulator, "missing")
      expect((yield* Effect.flip(b.secrets.get("missing")))._tag).toBe("NotFoundError")
      expect(yield* vaultReads(emulator, "missing")).toBe(missBefore)
      expect((yield* vaultReads(emulator, "db-password")) - before).toBe(2)
    }))

  it.scoped("a change through one instance is seen by the other at once (Redis and memory invalidated)", () =>
    Effect.gen(function*() {
      const { emulator, prefix } = yield* setup("inval")
      yield* seed(emulator, "api-key", "first")
      const key = newKey()
      const a = yield* instance(emulator, { key, prefix })
      const b = yield* instance(emulator, { key, prefix })
      expect(yield* value(a, "api-key")).toBe("first")
      expect(yield* value(b, "api-key")).toBe("first")
      yield* a.secrets.set("api-key", "second")
      // The writer reads its own write at once.
      expect(yield* value(a, "api-key")).toBe("second")
      // The other instance's memory is told over pub/sub.
      yield* until("the invalidation to reach b", Effect.map(b.fleet.stats, (s) => s.invalidationsReceived >= 1))
      expect(yield* value(b, "api-key")).toBe("second")
      // Hashed names: the message carries no name, and still reaches the other instance.
      const hashed = newPrefix("inval-h")
      yield* cleanUp(yield* adminClient(), hashed)
      const c = yield* instance(emulator, { key, prefix: hashed, hashNames: true })
      const d = yield* instance(emulator, { key, prefix: hashed, hashNames: true })
      expect(yield* value(c, "api-key")).toBe("second")
      expect(yield* value(d, "api-key")).toBe("second")
      yield* c.secrets.set("api-key", "third")
      yield* until("the hashed invalidation to reach d", Effect.map(d.fleet.stats, (s) => s.invalidationsReceived >= 1))
      expect(yield* value(d, "api-key")).toBe("third")
    }))

  it.scoped("20 instances missing one name at once: about one vault call for the fleet", () =>
    Effect.gen(function*() {
      const { emulator, prefix } = yield* setup("herd")
      yield* seed(emulator, "hot-secret", "herd-value")
      const key = newKey()
      const fleet = yield* Effect.forEach(Array.from({ length: 20 }), () => instance(emulator, { key, prefix }))
      const before = yield* vaultReads(emulator, "hot-secret")
      const values = yield* Effect.forEach(fleet, (i) => value(i, "hot-secret"), { concurrency: "unbounded" })
      expect(values.every((v) => v === "herd-value")).toBe(true)
      const calls = (yield* vaultReads(emulator, "hot-secret")) - before
      expect(calls).toBeLessThanOrEqual(2)
      const stats = yield* Effect.forEach(fleet, (i) => i.fleet.stats)
      expect(stats.reduce((n, s) => n + s.hits + s.coalesced, 0)).toBeGreaterThanOrEqual(18)
    }))

  it.scoped("a lease won after another instance filled and released it: the entry is read, not the vault", () =>
    Effect.gen(function*() {
      const { emulator, prefix } = yield* setup("late-lease")
      yield* seed(emulator, "late", "late-value")
      const key = newKey()
      const proxy = yield* holdingProxy(REDIS_URL)
      const a = yield* instance(emulator, { key, prefix })
      const b = yield* instance(emulator, { key, prefix, url: proxy.url })
      const before = yield* vaultReads(emulator, "late")
      proxy.arm()
      const late = yield* Effect.fork(value(b, "late"))
      // b looked (a miss) and its lease request is held on the way to Redis; meanwhile a takes the free lease, reads
      // the vault, fills the entry and releases the lease; then b's request arrives and wins the free lease.
      yield* Effect.promise(() => proxy.held)
      expect(yield* value(a, "late")).toBe("late-value")
      proxy.release()
      expect(yield* Fiber.join(late)).toBe("late-value")
      expect((yield* vaultReads(emulator, "late")) - before).toBe(1)
      expect((yield* b.fleet.stats).coalesced).toBe(1)
    }))

  it.scoped("a lease holder that never answers does not block the fleet: the bounded wait ends in a vault call", () =>
    Effect.gen(function*() {
      const { admin, emulator, prefix } = yield* setup("dead")
      yield* seed(emulator, "orphan", "orphan-value")
      const a = yield* instance(emulator, { key: newKey(), prefix, leaseWait: "2 seconds" })
      // A lease held by a process that died, valid for a long time on the Clock.
      yield* Effect.promise(() => admin.set(`${prefix}:fleet.vault.azure.net:secret:orphan:~lease:latest`, "99999999999999 dead"))
      const fiber = yield* Effect.fork(value(a, "orphan"))
      yield* until("the reader to wait on the clock", Effect.map(TestClock.sleeps(), (sleeps) => sleeps.length > 0))
      yield* TestClock.adjust("2 seconds")
      expect(yield* fiber.await.pipe(Effect.flatten)).toBe("orphan-value")
      expect(yield* a.fleet.stats).toMatchObject({ vaultLoads: 1, writes: 1 })
    }))

  it.scoped("refresh-ahead is done by one instance for the fleet", () =>
    Effect.gen(function*() {
      const { emulator, prefix } = yield* setup("refresh")
      yield* seed(emulator, "rotating", "v1")
      const key = newKey()
      const fleet = yield* Effect.forEach(Array.from({ length: 5 }), () => instance(emulator, { key, prefix }))
      yield* Effect.forEach(fleet, (i) => value(i, "rotating"))
      const before = yield* vaultReads(emulator, "rotating")
      // Past the refresh point (80% of 5 minutes): each hit starts a background refresh.
      yield* TestClock.adjust("250 seconds")
      yield* Effect.forEach(fleet, (i) => value(i, "rotating"), { concurrency: "unbounded" })
      yield* until(
        "every refresh to finish",
        Effect.map(Effect.forEach(fleet, (i) => i.cache.stats), (all) => all.every((s) => s.refreshesOk + s.refreshesDropped >= 1))
      )
      expect((yield* vaultReads(emulator, "rotating")) - before).toBeLessThanOrEqual(2)
      // Past the old expiry, every instance serves the refreshed entry without the vault.
      yield* TestClock.adjust("1 minute")
      const after = yield* vaultReads(emulator, "rotating")
      yield* Effect.forEach(fleet, (i) => value(i, "rotating"))
      expect(yield* vaultReads(emulator, "rotating")).toBe(after)
    }))

  it.scoped("AAD binding: an entry copied under another name does not open; it is dropped and reloaded", () =>
    Effect.gen(function*() {
      const { admin, emulator, prefix } = yield* setup("aad")
      yield* seed(emulator, "alpha", "alpha-value")
      yield* seed(emulator, "beta", "beta-value")
      const key = newKey()
      const a = yield* instance(emulator, { key, prefix })
      expect(yield* value(a, "alpha")).toBe("alpha-value")
      expect(yield* value(a, "beta")).toBe("beta-value")
      const host = "fleet.vault.azure.net"
      const sealed = yield* Effect.promise(() => admin.hgetBuffer(`${prefix}:${host}:secret:alpha`, "latest"))
      expect(sealed).not.toBeNull()
      yield* Effect.promise(() => admin.hset(`${prefix}:${host}:secret:beta`, "latest", sealed!))
      const b = yield* instance(emulator, { key, prefix })
      const before = yield* vaultReads(emulator, "beta")
      expect(yield* value(b, "beta")).toBe("beta-value")
      expect(yield* b.fleet.stats).toMatchObject({ corrupt: 1 })
      expect((yield* vaultReads(emulator, "beta")) - before).toBe(1)
      // Also bound to the vault host and the version slot: latest copied to a version field does not open either.
      yield* Effect.promise(() => admin.hset(`${prefix}:${host}:secret:alpha`, "v:0123456789abcdef0123456789abcdef", sealed!))
      const c = yield* instance(emulator, { key, prefix })
      const version = (yield* c.secrets.get("alpha")).properties.version!
      expect(version).not.toBe("0123456789abcdef0123456789abcdef")
      expect((yield* Effect.flip(c.secrets.get("alpha", { version: "0123456789abcdef0123456789abcdef" })))._tag)
        .toBe("NotFoundError")
      expect((yield* c.fleet.stats).corrupt).toBe(1)
    }))

  it.scoped("key rotation: the previous key is accepted for reads, the new one used for writes", () =>
    Effect.gen(function*() {
      const { admin, emulator, prefix } = yield* setup("rotate")
      yield* seed(emulator, "db", "rotation-value")
      const oldKey = newKey()
      const newer = newKey()
      for (const hashNames of [false, true]) {
        const p = `${prefix}-${hashNames ? "h" : "p"}`
        yield* cleanUp(admin, p)
        const old = yield* instance(emulator, { key: oldKey, prefix: p, hashNames })
        expect(yield* value(old, "db")).toBe("rotation-value")
        const rotated = yield* instance(emulator, { key: newer, previousKey: oldKey, prefix: p, hashNames })
        const before = yield* vaultReads(emulator, "db")
        expect(yield* value(rotated, "db")).toBe("rotation-value")
        expect(yield* vaultReads(emulator, "db")).toBe(before)
        expect(yield* rotated.fleet.stats).toMatchObject({ hits: 1, corrupt: 0 })
        // A change through the rotated instance reaches an instance on the old key (both locations, both messages).
        yield* rotated.secrets.set("db", "rotation-value-2")
        yield* until("the invalidation to reach the old instance", Effect.map(old.fleet.stats, (s) => s.invalidationsReceived >= 1))
        expect(yield* value(rotated, "db")).toBe("rotation-value-2")
        // A change through the instance the rotation has not reached: it can only name the old key's location, and
        // the rotated instance clears its own copy when the message arrives, so it never reads the old value again.
        const received = (yield* rotated.fleet.stats).invalidationsReceived
        yield* old.secrets.set("db", "rotation-value-3")
        yield* until("the invalidation to reach the rotated instance", Effect.map(rotated.fleet.stats, (s) => s.invalidationsReceived > received))
        yield* until("the rotated instance to read the change", Effect.map(Effect.orDie(value(rotated, "db")), (v) => v === "rotation-value-3"))
        yield* old.secrets.set("db", "rotation-value-2")
        yield* until("the old instance's second change to arrive", Effect.map(Effect.orDie(value(rotated, "db")), (v) => v === "rotation-value-2"))
        // New writes are under the new key only: an instance that knows only the old key cannot open them.
        const onlyNew = yield* instance(emulator, { key: newer, prefix: p, hashNames })
        const reads = yield* vaultReads(emulator, "db")
        expect(yield* value(onlyNew, "db")).toBe("rotation-value-2")
        expect(yield* vaultReads(emulator, "db")).toBe(reads)
        // An instance the rotation has not reached yet: a new-key entry is a miss for it, not damage.
        const oldOnly = yield* instance(emulator, { key: oldKey, prefix: p, hashNames })
        expect(yield* value(oldOnly, "db")).toBe("rotation-value-2")
        expect((yield* oldOnly.fleet.stats).corrupt).toBe(0)
        yield* seed(emulator, "db", "rotation-value")
      }
    }))

  it.scoped("corrupted entries (garbage, truncated, flipped bytes) are counted, deleted and reloaded", () =>
    Effect.gen(function*() {
      const { admin, emulator, prefix } = yield* setup("corrupt")
      yield* seed(emulator, "fragile", "fragile-value")
      const key = newKey()
      const a = yield* instance(emulator, { key, prefix })
      expect(yield* value(a, "fragile")).toBe("fragile-value")
      const location = `${prefix}:fleet.vault.azure.net:secret:fragile`
      const good = (yield* Effect.promise(() => admin.hgetBuffer(location, "latest")))!
      const flipped = Buffer.from(good)
      flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1
      const garbage = [Buffer.from("not an envelope"), good.subarray(0, 20), flipped, Buffer.alloc(0)]
      for (const [n, bad] of garbage.entries()) {
        yield* Effect.promise(() => admin.hset(location, "latest", bad))
        const b = yield* instance(emulator, { key, prefix })
        expect(yield* value(b, "fragile")).toBe("fragile-value")
        expect((yield* b.fleet.stats).corrupt, `case ${n}`).toBe(1)
        const rewritten = yield* Effect.promise(() => admin.hgetBuffer(location, "latest"))
        expect(rewritten?.equals(bad)).toBe(false)
      }
    }))

  it.scoped("no plaintext value (or name, with hashNames) anywhere in Redis", () =>
    Effect.gen(function*() {
      const { admin, emulator, prefix } = yield* setup("plain")
      const values = ["PLAINTEXT-CANARY-4f1d", "ünïcødé-CANARY-🔑", "x".repeat(2000) + "CANARY-LONG"]
      const key = newKey()
      const a = yield* instance(emulator, { key, prefix, hashNames: true })
      const b = yield* instance(emulator, { key, prefix, hashNames: true })
      for (const [n, v] of values.entries()) {
        yield* a.secrets.set(`canary-name-${n}`, v)
        yield* value(a, `canary-name-${n}`)
        yield* value(b, `canary-name-${n}`)
        yield* Effect.flip(b.secrets.get(`canary-missing-${n}`))
      }
      const { bytes, keys } = yield* everything(admin, prefix)
      expect(keys.length).toBeGreaterThan(0)
      for (const v of values) {
        for (const needle of [v.slice(-16), Buffer.from(v).toString("base64").slice(4, 24), Buffer.from(v).toString("hex").slice(0, 32)]) {
          expect(bytes.includes(Buffer.from(needle)), "value in Redis").toBe(false)
        }
      }
      expect(bytes.includes(Buffer.from("canary-name")), "name in Redis").toBe(false)
      expect(bytes.includes(Buffer.from("canary-missing")), "name in Redis").toBe(false)
      expect(keys.every((k) => k.startsWith(`${prefix}:`))).toBe(true)
    }))
})

describe.skipIf(!hasRedisServer && !CI)(
  `fleet cache when Redis dies (${hasRedisServer ? "a redis-server of our own" : "skipped: no redis-server binary"})`,
  () => {
    it.scoped("reads go on through memory and the vault while Redis is down, and the tier comes back by itself", () =>
      Effect.gen(function*() {
        const port = yield* Effect.promise(freePort)
        const emulator = yield* Emulator.make()
        for (const name of ["one", "two", "three"]) yield* seed(emulator, name, `${name}-value`)
        const server = yield* ownRedis(port)
        const a = yield* instance(emulator, { key: newKey(), prefix: "akv", url: server.url, commandTimeout: "200 millis" })
        expect(yield* value(a, "one")).toBe("one-value")
        expect((yield* a.fleet.stats).available).toBe(true)
        yield* server.kill
        yield* until("the tier to notice", Effect.map(a.fleet.stats, (s) => !s.available))
        // Memory still answers; a name memory lacks goes to the vault; nothing fails.
        expect(yield* value(a, "one")).toBe("one-value")
        expect(yield* value(a, "two")).toBe("two-value")
        yield* a.secrets.set("three", "three-changed")
        expect(yield* value(a, "three")).toBe("three-changed")
        const down = yield* a.fleet.stats
        expect(down.fallbacks).toBeGreaterThanOrEqual(2)
        // Back on the same port: the tier reconnects without help and is used again.
        const again = yield* ownRedis(port)
        yield* until("the reconnect", Effect.map(a.fleet.stats, (s) => s.available), 1_000)
        const writes = (yield* a.fleet.stats).writes
        yield* a.cache.invalidateAll
        expect(yield* value(a, "two")).toBe("two-value")
        expect((yield* a.fleet.stats).writes).toBe(writes + 1)
        const admin = yield* adminClient(again.url)
        expect((yield* keysUnder(admin, "akv")).length).toBeGreaterThan(0)
      }), 30_000)

    it.scoped("a tier whose Redis never answered starts degraded and still serves reads", () =>
      Effect.gen(function*() {
        const port = yield* Effect.promise(freePort)
        const emulator = yield* Emulator.make()
        yield* seed(emulator, "lonely", "lonely-value")
        const a = yield* instance(emulator, { key: newKey(), url: `redis://127.0.0.1:${port}`, connectTimeout: "200 millis" })
        expect(yield* value(a, "lonely")).toBe("lonely-value")
        expect(yield* a.fleet.stats).toMatchObject({ available: false, vaultLoads: 1 })
        expect((yield* a.fleet.stats).fallbacks).toBeGreaterThanOrEqual(1)
      }))
  }
)

describe("FleetCache options", () => {
  it.effect("refuses a key that is not 32 bytes of base64, without showing it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(FleetCache.make({ key: Redacted.make("c2hvcnQ=") })))
      expect(error).toMatchObject({ _tag: "ValidationError", field: "key" })
      expect(JSON.stringify(error)).not.toContain("c2hvcnQ")
    }))
})
