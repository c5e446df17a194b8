/**
 * The shared tier on Redis (ioredis): sealed entries, fleet-wide single flight through leases, invalidation over
 * pub/sub, and degradation to memory + vault whenever Redis misbehaves.
 *
 * Redis layout under the prefix `P` (names hashed or not, see `Envelope.hashName`):
 * - `P:{host}:{type}:{name}` (or `P:h:{type}:{hash}`): a hash per name. Field `g` is the name's generation, bumped by
 *   every invalidation; field `latest` and `v:{version}` hold sealed entries. An entry is written only if `g` still
 *   holds the value read before the vault load, so a load that raced with a change never puts the old value back.
 * - `{location}:~lease:{field}`: the lease of the one process loading that entry for the fleet.
 * - channel `P:events`: `f` (an entry was filled: waiters re-read) and `i` (a name was invalidated: every process
 *   forgets it in memory). Messages carry locations and, with plain names, the name; never a value.
 *
 * Time: an entry's freshness and a lease's end are `Clock` milliseconds inside the entry (sealed) or the lease
 * value, compared with the reader's `Clock`; Redis `PX` expiries are only a garbage bound. So `TestClock` drives the
 * tier as it drives the memory cache. Redis calls are bounded by ioredis's own `commandTimeout` and fail at once while
 * disconnected (no offline queue); after a failure, Redis is skipped until it reconnects or `retry` has passed.
 *
 * @internal
 */
import type { FleetCacheStats } from "../FleetCache.js"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Metric from "effect/Metric"
import * as Random from "effect/Random"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import { type ChainableCommander, Redis, type RedisOptions } from "ioredis"
import * as NodeCrypto from "node:crypto"
import type * as CacheConfig from "../../cache/CacheConfig.js"
import type {
  SharedRead,
  SharedTierBinding,
  SharedTierListener,
  SharedTierService,
  SharedValue
} from "../../cache/SharedTier.js"
import type { ObjectType } from "../../cache/VaultCache.js"
import { NotFoundError } from "../../errors/KeyVaultError.js"
import * as FleetMetrics from "../FleetMetrics.js"
import * as Envelope from "./Envelope.js"
import * as Structured from "./Structured.js"

/** Settings, resolved. @internal */
export interface TierSettings {
  readonly url: string
  readonly redis: RedisOptions
  readonly ring: Envelope.Keyring
  readonly prefix: string
  readonly hashNames: boolean
  readonly leaseMillis: number
  readonly leaseWaitMillis: number
  readonly retryMillis: number
}

/** One tier's counters (documented on `FleetCacheStats`). @internal */
export type TierStats = FleetCacheStats

/** The tier service with its introspection. @internal */
export interface Tier extends SharedTierService {
  readonly stats: Effect.Effect<TierStats>
  readonly instanceId: string
}

// A sealed entry as it opens: a value or a remembered not-found, fresh until `x` (Clock millis).
interface Opened {
  readonly kind: "v" | "n"
  readonly expiresAt: number
  readonly value: unknown
}

interface Lookup {
  /** The name's generation at the current location, as Redis holds it ("0" when absent). */
  readonly gen: string
  readonly entry: Opened | undefined
}

interface FleetCommands {
  fleetWrite(...args: Array<string | Buffer | number>): Promise<number>
  fleetLease(...args: Array<string | number>): Promise<number>
  fleetRelease(...args: Array<string>): Promise<number>
}
interface FleetPipeline {
  fleetInvalidate(...args: Array<string | number>): ChainableCommander
}

// KEYS: hash, lease. ARGV: gen, field, envelope, px, channel, message, lease value ('' for none).
const WRITE = `
local g = redis.call('HGET', KEYS[1], 'g') or '0'
local ok = 0
if g == ARGV[1] then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
  ok = 1
end
if ARGV[7] ~= '' and redis.call('GET', KEYS[2]) == ARGV[7] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return ok`

// KEYS: lease. ARGV: value ("{until} {owner}"), now, px. The lease's end is Clock time inside the value.
const LEASE = `
local v = redis.call('GET', KEYS[1])
if v then
  local t = tonumber(string.match(v, '^(%d+)'))
  if t and t > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`

// KEYS: lease. ARGV: value.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

// KEYS: hash. ARGV: px. Bumps the generation and drops every entry of the name.
const INVALIDATE = `
redis.call('HINCRBY', KEYS[1], 'g', 1)
local fs = redis.call('HKEYS', KEYS[1])
for i = 1, #fs do if fs[i] ~= 'g' then redis.call('HDEL', KEYS[1], fs[i]) end end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`

const fieldOf = (version: string | undefined): string => (version === undefined ? "latest" : `v:${version}`)

/** How many hashed locations a process remembers the name of, to act on invalidations of hashed names. */
const KNOWN_LOCATIONS = 100_000
/** How many invalidations made while Redis was down are replayed when it is back. */
const PENDING_INVALIDATIONS = 10_000

/** @internal */
export const make = (settings: TierSettings): Effect.Effect<Tier, never, Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const clock = yield* Effect.clock
    const scope = yield* Effect.scope
    const instanceId = NodeCrypto.randomBytes(8).toString("hex")
    const channel = `${settings.prefix}:events`
    const options: RedisOptions = {
      ...settings.redis,
      lazyConnect: true,
      // A command while disconnected fails at once (the read goes to the vault) rather than waiting in a queue.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // Reconnects for ever, backing off to 2 s.
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000)
    }
    // Set when the scope closes: the connections' own close events are then no news.
    let closing = false
    const main = yield* Effect.acquireRelease(
      Effect.sync(() => new Redis(settings.url, options)),
      (client) =>
        Effect.sync(() => {
          closing = true
          client.disconnect()
        })
    )
    const sub = yield* Effect.acquireRelease(
      Effect.sync(() => new Redis(settings.url, { ...options, autoResubscribe: true })),
      (client) =>
        Effect.sync(() => {
          closing = true
          client.disconnect()
        })
    )
    main.defineCommand("fleetWrite", { numberOfKeys: 2, lua: WRITE })
    main.defineCommand("fleetLease", { numberOfKeys: 1, lua: LEASE })
    main.defineCommand("fleetRelease", { numberOfKeys: 1, lua: RELEASE })
    main.defineCommand("fleetInvalidate", { numberOfKeys: 1, lua: INVALIDATE })
    const commands = main as unknown as FleetCommands

    const counts = {
      hits: 0,
      misses: 0,
      vaultLoads: 0,
      writes: 0,
      coalesced: 0,
      fallbacks: 0,
      corrupt: 0,
      invalidationsSent: 0,
      invalidationsReceived: 0
    }
    const listeners = new Set<SharedTierListener>()
    // Plain mutable state touched only from synchronous steps (Redis callbacks and `Effect.sync`): the tier's health.
    let up = false
    let everReady = false
    let retryAt = 0
    let inFlight = 0
    const fork = <A, E>(effect: Effect.Effect<A, E>): void => {
      Runtime.runFork(runtime)(effect)
    }
    const goDown = (why: string): void => {
      retryAt = clock.unsafeCurrentTimeMillis() + settings.retryMillis
      if (!up || closing) return
      up = false
      fork(Effect.logWarning(`fleet cache: Redis ${why}; reads go on through memory and the vault`))
    }
    const goUp = (): void => {
      retryAt = 0
      if (up) return
      up = true
      if (everReady) fork(Effect.logInfo("fleet cache: Redis is back; the shared tier is in use again"))
      everReady = true
    }
    const available = (): boolean => main.status === "ready" && clock.unsafeCurrentTimeMillis() >= retryAt

    const fallback = (reason: "unavailable" | "error"): void => {
      counts.fallbacks++
      FleetMetrics.fallbacks.pipe(Metric.tagged("reason", reason)).unsafeUpdate(1, [])
    }

    // One Redis call: fails (as `undefined` in the error channel) when Redis is unavailable or the call fails.
    const call = <A>(f: () => Promise<A>): Effect.Effect<A, void> =>
      Effect.suspend(() => {
        if (!available()) {
          fallback("unavailable")
          return Effect.fail(undefined)
        }
        inFlight++
        return Effect.tryPromise({ try: f, catch: () => undefined }).pipe(
          Effect.ensuring(Effect.sync(() => inFlight--)),
          Effect.tapBoth({
            onFailure: () =>
              Effect.sync(() => {
                fallback("error")
                goDown("failed or timed out")
              }),
            onSuccess: () => Effect.sync(goUp)
          })
        )
      })

    // --- locations ---------------------------------------------------------------------------------------------
    const known = new Map<string, { readonly vaultHost: string; readonly objectType: ObjectType; readonly name: string }>()
    const remember = (location: string, vaultHost: string, objectType: ObjectType, name: string): void => {
      if (known.has(location)) known.delete(location)
      else if (known.size >= KNOWN_LOCATIONS) known.delete(known.keys().next().value!)
      known.set(location, { vaultHost, objectType, name })
    }
    /** Where a name lives: under the current key first, then (hashed names, during a rotation) the previous one. */
    const locations = (vaultHost: string, objectType: ObjectType, name: string): ReadonlyArray<string> => {
      if (!settings.hashNames) return [`${settings.prefix}:${vaultHost}:${objectType}:${name}`]
      const out = [`${settings.prefix}:h:${objectType}:${Envelope.hashName(settings.ring.current, vaultHost, objectType, name)}`]
      if (settings.ring.previous !== undefined) {
        out.push(`${settings.prefix}:h:${objectType}:${Envelope.hashName(settings.ring.previous, vaultHost, objectType, name)}`)
      }
      for (const location of out) remember(location, vaultHost, objectType, name)
      return out
    }
    const aadOf = (read: SharedRead, field: string): string =>
      `fleet/1\u0000${read.vaultHost}\u0000${read.objectType}\u0000${read.name}\u0000${field}`

    // --- waiting for another process's load ----------------------------------------------------------------------
    const waiters = new Map<string, Set<Deferred.Deferred<void>>>()
    const waitKey = (location: string, field: string) => `${location}\n${field}`
    const wake = (key: string): void => {
      const set = waiters.get(key)
      if (set === undefined) return
      waiters.delete(key)
      for (const deferred of set) Deferred.unsafeDone(deferred, Exit.void)
    }
    const wakeLocation = (location: string): void => {
      for (const key of [...waiters.keys()]) if (key.startsWith(`${location}\n`)) wake(key)
    }
    const register = (key: string): Deferred.Deferred<void> => {
      const deferred = Deferred.unsafeMake<void>(FiberId.none)
      let set = waiters.get(key)
      if (set === undefined) {
        set = new Set()
        waiters.set(key, set)
      }
      set.add(deferred)
      return deferred
    }
    const unregister = (key: string, deferred: Deferred.Deferred<void>): void => {
      const set = waiters.get(key)
      if (set === undefined) return
      set.delete(deferred)
      if (set.size === 0) waiters.delete(key)
    }

    // --- messages ------------------------------------------------------------------------------------------------
    interface Message {
      readonly o: string
      readonly t: "f" | "i"
      readonly l: ReadonlyArray<string>
      readonly f?: string | undefined
      readonly h?: string | undefined
      readonly y?: ObjectType | undefined
      readonly n?: string | undefined
    }
    const invalidateListeners = (vaultHost: string, objectType: ObjectType, name: string, except?: SharedTierListener) =>
      Effect.forEach(
        [...listeners].filter((l) => l !== except),
        (listener) => listener.invalidateLocal(vaultHost, objectType, name),
        { discard: true }
      )
    const onMessage = (text: string): void => {
      let message: Message
      try {
        message = JSON.parse(text) as Message
      } catch {
        return
      }
      if (message.o === instanceId || !Array.isArray(message.l)) return
      if (message.t === "f") {
        for (const location of message.l) wake(waitKey(location, String(message.f)))
        return
      }
      if (message.t !== "i") return
      counts.invalidationsReceived++
      FleetMetrics.invalidationsReceived.unsafeUpdate(1, [])
      for (const location of message.l) wakeLocation(location)
      const target = message.n !== undefined && message.h !== undefined && message.y !== undefined
        ? { vaultHost: message.h, objectType: message.y, name: message.n }
        : message.l.map((location) => known.get(location)).find((t) => t !== undefined)
      if (target === undefined) return
      const dropLocal = invalidateListeners(target.vaultHost, target.objectType, target.name)
      // Hashed names during a key rotation: the sender hashed the name with its keys only. An instance with a key the
      // sender does not have yet (rotated first) may have filed the name under a location the sender cannot compute;
      // that copy is cleared here, by the instance that can, before its memory lets go of the name, so its next miss
      // cannot find the old value there.
      const sent = new Set(message.l)
      const unseen = settings.hashNames
        ? locations(target.vaultHost, target.objectType, target.name).filter((l) => !sent.has(l))
        : []
      fork(unseen.length === 0 ? dropLocal : Effect.zipRight(Effect.ignore(clearLocations(unseen)), dropLocal))
    }

    // Bumps the generation of, and deletes, these locations in one pipeline, with the message that tells the other
    // instances (none when this instance only clears its own copies), then wakes local waiters on them.
    const clearLocations = (locs: ReadonlyArray<string>, message?: Message): Effect.Effect<void, void> =>
      call(() => {
        const pipeline = main.pipeline()
        for (const location of locs) {
          ;(pipeline as unknown as FleetPipeline).fleetInvalidate(location, invalidationGcMillis)
        }
        if (message !== undefined) pipeline.publish(channel, JSON.stringify(message))
        return pipeline.exec().then((results) => {
          for (const [error] of results ?? []) if (error !== null) throw error
        })
      }).pipe(Effect.tap(() => Effect.sync(() => {
        for (const location of locs) wakeLocation(location)
      })))

    // --- invalidation --------------------------------------------------------------------------------------------
    const pending = new Map<string, { readonly vaultHost: string; readonly objectType: ObjectType; readonly name: string }>()
    const gcMillis = (config: CacheConfig.ResolvedCacheConfig) => 2 * Math.max(config.ttlMillis, config.versionTtlMillis)
    let invalidationGcMillis = 2 * 60 * 60_000
    const publishInvalidation = (vaultHost: string, objectType: ObjectType, name: string): Effect.Effect<void, void> =>
      Effect.suspend(() => {
        const locs = locations(vaultHost, objectType, name)
        const message: Message = settings.hashNames
          ? { o: instanceId, t: "i", l: locs }
          : { o: instanceId, t: "i", l: locs, h: vaultHost, y: objectType, n: name }
        return Effect.tap(clearLocations(locs, message), () => Effect.sync(() => void counts.invalidationsSent++))
      })
    const flushPending = Effect.suspend(() => {
      const batch = [...pending.values()]
      pending.clear()
      return Effect.forEach(batch, (t) =>
        Effect.catchAll(publishInvalidation(t.vaultHost, t.objectType, t.name), () =>
          Effect.sync(() => {
            if (pending.size < PENDING_INVALIDATIONS) pending.set(`${t.vaultHost}\n${t.objectType}\n${t.name}`, t)
          })), { discard: true })
    })

    // --- connection events ---------------------------------------------------------------------------------------
    main.on("error", () => goDown("is unreachable"))
    main.on("close", () => goDown("closed the connection"))
    main.on("ready", () => {
      goUp()
      if (pending.size > 0) fork(flushPending)
    })
    sub.on("error", () => {})
    let subscribedBefore = false
    sub.on("ready", () => {
      // Messages sent while the subscriber was away are lost: memory entries filled before may be stale.
      if (subscribedBefore) fork(Effect.forEach([...listeners], (l) => l.invalidateAllLocal, { discard: true }))
      subscribedBefore = true
    })
    sub.on("message", (_channel: string, message: string) => onMessage(message))
    // Connecting does not hold up the application: without Redis the tier starts degraded and reconnects by itself.
    yield* Effect.promise(() => main.connect().then(() => undefined, () => undefined))
    yield* Effect.promise(() =>
      sub.connect().then(() => sub.subscribe(channel)).then(() => undefined, () => undefined)
    )
    if (sub.status !== "ready") {
      // The first subscribe failed: subscribe once the subscriber connects (autoResubscribe covers later reconnects).
      sub.once("ready", () => {
        void sub.subscribe(channel).catch(() => undefined)
      })
    }

    // --- reads ---------------------------------------------------------------------------------------------------
    const parse = (plain: Buffer): Opened | undefined => {
      try {
        const payload = JSON.parse(plain.toString("utf8")) as { k?: unknown; x?: unknown; d?: unknown }
        if ((payload.k !== "v" && payload.k !== "n") || typeof payload.x !== "number" || typeof payload.d !== "string") {
          return undefined
        }
        const decoded = Structured.decode(payload.d)
        if (decoded === undefined) return undefined
        return { kind: payload.k, expiresAt: payload.x, value: decoded.value }
      } catch {
        return undefined
      }
    }

    const dropCorrupt = (location: string, field: string): void => {
      counts.corrupt++
      FleetMetrics.corrupt.unsafeUpdate(1, [])
      fork(Effect.forkIn(Effect.ignore(call(() => main.hdel(location, field))), scope))
    }

    const lookup = (read: SharedRead, locs: ReadonlyArray<string>, field: string): Effect.Effect<Lookup, void> =>
      call(() => {
        const pipeline = main.pipeline()
        for (const location of locs) pipeline.hmgetBuffer(location, field, "g")
        return pipeline.exec()
      }).pipe(Effect.flatMap((results) => {
        if (results === null || results.length !== locs.length) return Effect.fail(undefined)
        let gen = "0"
        let entry: Opened | undefined
        const aad = aadOf(read, field)
        for (let i = 0; i < results.length; i++) {
          const [error, reply] = results[i]!
          if (error !== null) return Effect.fail(undefined)
          const [sealed, g] = reply as [Buffer | null, Buffer | null]
          if (i === 0 && g !== null) gen = g.toString("utf8")
          if (entry !== undefined || sealed === null) continue
          const plain = Envelope.open(settings.ring, aad, sealed)
          if (plain === "unknown-key") continue
          const opened = plain === undefined ? undefined : parse(plain)
          if (opened === undefined) dropCorrupt(locs[i]!, field)
          else entry = opened
        }
        return Effect.succeed({ gen, entry })
      }))

    const answer = <A, E>(entry: Opened): Effect.Effect<SharedValue<A>, E> => {
      if (entry.kind === "v") return Effect.succeed({ value: entry.value as A, expiresAt: entry.expiresAt })
      const fields = entry.value as {
        status: number
        code: string
        innerCode: string | undefined
        message: string
        requestId: string | undefined
      }
      // Only not-founds raised by this namespace's loader are stored, so `E` includes `NotFoundError`.
      return Effect.fail(new NotFoundError(fields) as E)
    }

    const makeBinding = (listener: SharedTierListener): SharedTierBinding => {
      const config = listener.config
      const lead = (version: string | undefined) =>
        Math.floor((version === undefined ? config.ttlMillis : config.versionTtlMillis) * (1 - config.refreshAhead))
      const gc = gcMillis(config)

      // Seals and writes an answer (if the name's generation is unchanged), releases the lease, tells the waiters.
      const write = (
        read: SharedRead,
        location: string,
        field: string,
        gen: string,
        lease: string,
        payload: { readonly k: "v" | "n"; readonly x: number; readonly d: string }
      ): Effect.Effect<boolean> => {
        const sealed = Envelope.seal(settings.ring, aadOf(read, field), Buffer.from(JSON.stringify(payload), "utf8"))
        const message = JSON.stringify({ o: instanceId, t: "f", l: [location], f: field } satisfies Message)
        return call(() =>
          commands.fleetWrite(location, `${location}:~lease:${field}`, gen, field, sealed, gc, channel, message, lease)
        ).pipe(
          Effect.map((ok) => ok === 1),
          Effect.tap((ok) =>
            Effect.sync(() => {
              if (ok) counts.writes++
              wake(waitKey(location, field))
            })
          ),
          Effect.orElseSucceed(() => false)
        )
      }

      // The vault load, shared: one answer written for the fleet (a value, or a not-found for the negative TTL).
      const loadAndShare = <A, E>(
        read: SharedRead,
        location: string,
        field: string,
        gen: string,
        lease: string,
        load: Effect.Effect<A, E>
      ): Effect.Effect<SharedValue<A>, E> =>
        Effect.suspend(() => {
          counts.vaultLoads++
          return Effect.exit(load)
        }).pipe(Effect.flatMap((exit) =>
          Effect.gen(function*() {
            const now = clock.unsafeCurrentTimeMillis()
            if (Exit.isSuccess(exit)) {
              const text = Structured.encode(exit.value)
              if (text === undefined) {
                if (lease !== "") yield* Effect.ignore(call(() => commands.fleetRelease(`${location}:~lease:${field}`, lease)))
                return { value: exit.value, expiresAt: undefined }
              }
              const r = yield* Random.next
              const ttl = read.version === undefined ? config.ttlMillis : config.versionTtlMillis
              const expiresAt = now + Math.floor(ttl * (1 - config.jitter * r))
              const ok = yield* write(read, location, field, gen, lease, { k: "v", x: expiresAt, d: text })
              return { value: exit.value, expiresAt: ok ? expiresAt : undefined }
            }
            const error = Cause.failureOption(exit.cause)
            if (error._tag === "Some" && error.value instanceof NotFoundError && config.negativeTtlMillis > 0) {
              const e = error.value
              const d = Structured.encode({
                status: e.status,
                code: e.code,
                innerCode: e.innerCode,
                message: e.message,
                requestId: e.requestId
              })!
              yield* write(read, location, field, gen, lease, { k: "n", x: now + config.negativeTtlMillis, d })
            } else if (lease !== "") {
              yield* Effect.ignore(call(() => commands.fleetRelease(`${location}:~lease:${field}`, lease)))
            }
            return yield* Effect.failCause(exit.cause)
          })
        ))

      const read = <A, E>(read: SharedRead, load: Effect.Effect<A, E>): Effect.Effect<SharedValue<A>, E> =>
        Effect.suspend(() => {
          const locs = locations(read.vaultHost, read.objectType, read.name)
          const location = locs[0]!
          const field = fieldOf(read.version)
          const direct = Effect.map(
            Effect.suspend(() => {
              counts.vaultLoads++
              return load
            }),
            (value): SharedValue<A> => ({ value, expiresAt: undefined })
          )
          const hit = (entry: Opened) => {
            counts.hits++
            FleetMetrics.hits.unsafeUpdate(1, [])
            return answer<A, E>(entry)
          }
          return Effect.matchEffect(lookup(read, locs, field), {
            // Redis failed: memory and the vault carry on.
            onFailure: () => direct,
            onSuccess: ({ entry, gen }) => {
              const now = clock.unsafeCurrentTimeMillis()
              const fresh = entry !== undefined && entry.expiresAt > now ? entry : undefined
              if (read.mode === "force") return loadAndShare(read, location, field, gen, "", load)
              if (fresh !== undefined && (read.mode === "miss" || now < fresh.expiresAt - lead(read.version))) {
                return hit(fresh)
              }
              counts.misses++
              FleetMetrics.misses.unsafeUpdate(1, [])
              // Listen before asking for the lease, so a fill that lands in between is not missed.
              const key = waitKey(location, field)
              const filled = register(key)
              const lease = `${now + settings.leaseMillis} ${instanceId}:${NodeCrypto.randomBytes(6).toString("hex")}`
              const leasePx = Math.max(settings.leaseMillis * 4, 30_000)
              return call(() => commands.fleetLease(`${location}:~lease:${field}`, lease, now, leasePx)).pipe(
                Effect.matchEffect({
                  onFailure: () => Effect.zipRight(Effect.sync(() => unregister(key, filled)), direct),
                  onSuccess: (won) => {
                    if (won === 1) {
                      unregister(key, filled)
                      // The lease may be free because another process held it, filled the entry and released it
                      // between this lookup and this lease request: one more look before reading the vault again.
                      return Effect.flatMap(Effect.option(lookup(read, locs, field)), (again) => {
                        const at = clock.unsafeCurrentTimeMillis()
                        const next = again._tag === "Some" ? again.value.entry : undefined
                        if (next === undefined || next.expiresAt <= at || (fresh !== undefined && next.expiresAt <= fresh.expiresAt)) {
                          return loadAndShare(read, location, field, gen, lease, load)
                        }
                        counts.coalesced++
                        FleetMetrics.coalesced.unsafeUpdate(1, [])
                        return Effect.zipRight(
                          Effect.ignore(call(() => commands.fleetRelease(`${location}:~lease:${field}`, lease))),
                          answer<A, E>(next)
                        )
                      })
                    }
                    // Another process is loading it: wait (bounded) for its answer, then read it.
                    return Deferred.await(filled).pipe(
                      Effect.timeoutOption(settings.leaseWaitMillis),
                      Effect.ensuring(Effect.sync(() => unregister(key, filled))),
                      Effect.zipRight(Effect.option(lookup(read, locs, field))),
                      Effect.flatMap((again) => {
                        const at = clock.unsafeCurrentTimeMillis()
                        const next = again._tag === "Some" ? again.value.entry : undefined
                        if (next !== undefined && next.expiresAt > at && (fresh === undefined || next.expiresAt > fresh.expiresAt)) {
                          counts.coalesced++
                          FleetMetrics.coalesced.unsafeUpdate(1, [])
                          return answer<A, E>(next)
                        }
                        // A refresh that saw nothing new keeps the entry it has while that is fresh.
                        if (fresh !== undefined && fresh.expiresAt > at) return answer<A, E>(fresh)
                        // The holder is slow or gone: the vault, and share the answer.
                        const g = again._tag === "Some" ? again.value.gen : gen
                        return loadAndShare(read, location, field, g, "", load)
                      })
                    )
                  }
                })
              )
            }
          })
        })

      const invalidate = (vaultHost: string, objectType: ObjectType, name: string): Effect.Effect<void> =>
        Effect.zipRight(
          invalidateListeners(vaultHost, objectType, name, listener),
          Effect.catchAll(publishInvalidation(vaultHost, objectType, name), () =>
            Effect.sync(() => {
              // Replayed once Redis is back, so its copy does not outlive the change.
              if (pending.size < PENDING_INVALIDATIONS) {
                pending.set(`${vaultHost}\n${objectType}\n${name}`, { vaultHost, objectType, name })
              }
            }))
        )

      return { read, invalidate }
    }

    const bind = (listener: SharedTierListener): Effect.Effect<SharedTierBinding, never, Scope.Scope> =>
      Effect.acquireRelease(
        Effect.sync(() => {
          listeners.add(listener)
          invalidationGcMillis = Math.max(invalidationGcMillis, gcMillis(listener.config))
          return makeBinding(listener)
        }),
        () => Effect.sync(() => listeners.delete(listener))
      )

    return {
      bind,
      instanceId,
      stats: Effect.sync(() => ({ ...counts, available: up && main.status === "ready", inFlight }))
    }
  })
