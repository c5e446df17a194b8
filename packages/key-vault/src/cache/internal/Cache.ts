/**
 * The cache assembled from its parts: the entry store (tables + LRU + bound), the hot ring, the negative store,
 * single-flight and the refresh policy. This module holds only the read path and the steps that carry out the
 * policy's decisions; each part is read and tested on its own.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as AtRestCipher from "../AtRestCipher.js"
import type * as CacheConfig from "../CacheConfig.js"
import { SharedTier, type SharedReadMode, type SharedTierBinding, type SharedValue } from "../SharedTier.js"
import type { CacheNamespace, CacheStats, EntryCodec, Loader, ObjectType, VaultCacheService } from "../VaultCache.js"
import { Counters, reportSize } from "./Counters.js"
import { decode, Entry, HotRing, identity, type Table } from "./Entry.js"
import { EntryStore } from "./EntryStore.js"
import * as ErrorTag from "../../internal/ErrorTag.js"
import { NegativeStore } from "./NegativeStore.js"
import { classify, RefreshPolicy, StaleHolds } from "./RefreshPolicy.js"
import { type Flight, SingleFlight } from "./SingleFlight.js"

type Restore = <X, Y, Z>(effect: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y, Z>

/**
 * @internal
 */
export const make = (config: CacheConfig.ResolvedCacheConfig): Effect.Effect<VaultCacheService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const clock = yield* Effect.clock
    const random = yield* Effect.random
    const flights = new SingleFlight(scope)
    // When the cache goes away, readers still waiting on a load are released rather than left hanging.
    yield* Effect.addFinalizer(() => flights.interruptAll)
    const cipher = config.encryptionKey === undefined ? undefined : AtRestCipher.make(config.encryptionKey)
    const entries = new EntryStore(config.maxEntries, reportSize)
    const negatives = new NegativeStore(config.maxNegativeEntries, config.negativeTtlMillis)
    const policy = new RefreshPolicy(config)
    const staleHolds = new StaleHolds<Entry>()
    const counters = new Counters()
    // Entries being refreshed in the background: one refresh per entry at a time. A plain `Set` rather than a `Ref`:
    // every hit past the refresh point checks it, inside the hit path the bench holds to <= 1 us (about 0.4-0.6 us
    // measured), and marking happens in the same uninterruptible step that forks the refresh.
    const refreshing = new Set<Entry>()
    // Off with encryption at rest: a decoded value holds plaintext.
    const hot = new HotRing(cipher === undefined ? config.hotEntries : 0)
    const namespaces = new Map<string, CacheNamespace>()

    // Integer milliseconds since the cache was built (see `Entry`).
    const base = clock.unsafeCurrentTimeMillis()
    const now = (): number => clock.unsafeCurrentTimeMillis() - base

    // The shared tier, when the application provides one (`SharedTier`): bound at the end of `make`, once the
    // namespaces it invalidates exist. Without one, nothing on any path looks at it but a miss's `undefined` check.
    let shared: SharedTierBinding | undefined

    // Stores a loaded value as the newest entry, evicting the least recently used beyond the bound. `sharedUntil`
    // (`Clock` millis): the shared tier's expiry of the value, which the memory entry does not outlive.
    const store = (
      table: Table,
      name: string,
      version: string | undefined,
      value: unknown,
      codec: EntryCodec<unknown>,
      sharedUntil?: number | undefined
    ): Effect.Effect<void> =>
      Effect.map(random.next, (r) => {
        let expiresAt = now() + policy.lifetime(version, r)
        if (sharedUntil !== undefined && sharedUntil - base < expiresAt) expiresAt = sharedUntil - base
        const entry = new Entry(table, name, version, codec.encode(value, cipher), expiresAt)
        counters.evicted(entries.insert(entry))
        negatives.remove(table.key(name, version))
      })

    // A load through the shared tier answers a `SharedValue`; without one, the loader's value as is.
    const loadVia = <A, E>(
      table: Table,
      name: string,
      userName: string,
      version: string | undefined,
      loader: Loader<A, E>,
      mode: SharedReadMode
    ): Effect.Effect<unknown, E> => {
      const load = Effect.suspend(() => loader(userName, version))
      return shared === undefined ? load : shared.read(
        { vaultHost: table.vaultHost, objectType: table.objectType, name, version, mode },
        load
      )
    }
    const unwrap = (loaded: unknown): unknown => shared === undefined ? loaded : (loaded as SharedValue<unknown>).value
    const sharedUntil = (loaded: unknown): number | undefined =>
      shared === undefined ? undefined : (loaded as SharedValue<unknown>).expiresAt

    // The end of a miss's load: store or remember, or serve stale; the answer goes to every reader of the flight.
    const settle = (
      table: Table,
      name: string,
      version: string | undefined,
      previous: Entry | undefined,
      codec: EntryCodec<unknown>
    ) =>
    (exit: Exit.Exit<unknown, unknown>, flight: Flight): Effect.Effect<Exit.Exit<unknown, unknown>> => {
      if (Exit.isSuccess(exit)) {
        const value = unwrap(exit.value)
        const answer = shared === undefined ? exit : Exit.succeed(value)
        return flight.attached
          ? Effect.as(store(table, name, version, value, codec, sharedUntil(exit.value)), answer)
          : Effect.succeed(answer)
      }
      const at = now()
      const current = previous !== undefined && entries.isCurrent(previous) ? previous : undefined
      const action = policy.afterLoadFailure(classify(exit.cause), flight.attached, current?.expiresAt, at)
      if (action._tag === "ServeStale" && current !== undefined) {
        const stale = codec.decode(current.stored, cipher, current.name)
        if (stale !== undefined) {
          staleHolds.hold(current, at + policy.retryHoldMillis)
          counters.stale(table.objectType)
          // Logged here, once per failed reload (so once per entry per hold): reads during the hold are served
          // stale without a load and without a log line.
          return Effect.as(staleWarning(table, exit.cause, at - current.expiresAt), Exit.succeed(stale))
        }
      } else if (action._tag === "Fail") {
        if (action.dropPrevious && current !== undefined) entries.remove(current)
        if (action.remember !== undefined) {
          negatives.remember(table.key(name, version), table.nameKey(name), action.remember, at)
        }
      }
      return Effect.succeed(exit)
    }

    // What an operator sees when stale-if-error masks an outage: the vault, the object type and the failure's tag.
    // Never the name (a bounded, non-identifying record) nor the value.
    const staleWarning = (table: Table, cause: Cause.Cause<unknown>, expiredForMillis: number): Effect.Effect<void> =>
      Effect.annotateLogs(Effect.logWarning("serving a stale cached value: reloading it failed"), {
        "keyvault.vault_host": table.vaultHost,
        "keyvault.object_type": table.objectType,
        "error.type": ErrorTag.ofCause(cause),
        "keyvault.stale_for_ms": expiredForMillis,
        "keyvault.retry_hold_ms": policy.retryHoldMillis
      })

    // A miss: a remembered not-found, a flight to join, or a new load. Runs under the reader's mask (see `read`).
    const miss = <A, E>(
      table: Table,
      name: string,
      userName: string,
      version: string | undefined,
      loader: Loader<A, E>,
      codec: EntryCodec<A>,
      restore: Restore,
      mode: SharedReadMode
    ): Effect.Effect<A, E> => {
      const key = table.key(name, version)
      const negative = negatives.get(key, now())
      if (negative !== undefined) {
        counters.negativeHit(table.objectType)
        // Only not-founds of this very key are stored here, raised by this namespace's loader.
        return Effect.fail(negative as E)
      }
      const running = flights.get(key)
      if (running !== undefined) {
        counters.coalesce(table.objectType)
        return restore(flights.await<A, E>(running))
      }
      counters.miss(table.objectType)
      const previous = entries.lookup(table, name, version)
      const load = loadVia(table, name, userName, version, loader, mode)
      const onExit = settle(table, name, version, previous, codec as EntryCodec<unknown>)
      return Effect.flatMap(
        flights.start(key, table.nameKey(name), load, onExit),
        (flight) => restore(flights.await<A, E>(flight))
      )
    }

    const startRefresh = <A, E>(
      entry: Entry,
      userName: string,
      loader: Loader<A, E>,
      codec: EntryCodec<A>
    ): Effect.Effect<void> => {
      const run = loadVia(entry.table, entry.name, userName, entry.version, loader, "refresh").pipe(
        Effect.exit,
        Effect.flatMap((exit) =>
          Effect.suspend(() => {
            refreshing.delete(entry)
            const action = policy.afterRefresh(exit, entries.isCurrent(entry))
            switch (action._tag) {
              case "Store":
                counters.refreshed("ok")
                return store(
                  entry.table,
                  entry.name,
                  entry.version,
                  unwrap((exit as Exit.Success<unknown, unknown>).value),
                  codec as EntryCodec<unknown>,
                  sharedUntil((exit as Exit.Success<unknown, unknown>).value)
                )
              case "Drop":
                counters.refreshed("dropped")
                return Effect.void
              case "Failed":
                counters.refreshed("failed")
                if (action.remove) entries.remove(entry)
                if (action.remember !== undefined) {
                  const { name, table, version } = entry
                  negatives.remember(table.key(name, version), table.nameKey(name), action.remember, now())
                }
                return Effect.void
            }
          })
        )
      )
      // Marked and forked in one uninterruptible step, so an entry is never left marked without its refresh.
      return Effect.uninterruptible(Effect.suspend(() => {
        if (refreshing.has(entry)) return Effect.void
        refreshing.add(entry)
        return Effect.asVoid(Effect.forkIn(Effect.interruptible(run), scope))
      }))
    }

    const makeNamespace = (vaultHost: string, objectType: ObjectType): CacheNamespace => {
      const table = entries.table(vaultHost, objectType)

      // The lookup runs when the Effect runs (not when `get` is called), so an Effect built once and run many times
      // (a variable, `Effect.repeat`, a poller) sees every write and every expiry. A hit costs one map lookup and
      // `Effect.succeed`; only a miss pays for the mask.
      const read = <A, E>(
        userName: string,
        version: string | undefined,
        loader: Loader<A, E>,
        codec: EntryCodec<A>
      ): Effect.Effect<A, E> => {
        const name = userName.toLowerCase()
        const entry = entries.lookup(table, name, version)
        if (entry !== undefined) {
          const at = now()
          const fresh = at < entry.expiresAt
          if (fresh || staleHolds.holds(entry, at)) {
            const value = decode(entry, codec, cipher, hot)
            if (value === undefined) {
              entries.remove(entry)
              counters.tampered()
            } else {
              entries.touch(entry)
              const result = Effect.succeed(value)
              if (!fresh) {
                counters.stale(objectType)
                return result
              }
              counters.hit(objectType)
              if (policy.refreshDue(entry.expiresAt, version, at) && !refreshing.has(entry)) {
                return Effect.zipRight(startRefresh(entry, userName, loader, codec), result)
              }
              return result
            }
          }
        }
        // The flight is registered and forked in one uninterruptible step, so no flight is left without its load;
        // only the wait is interruptible.
        return Effect.uninterruptibleMask((restore) =>
          Effect.suspend(() => miss(table, name, userName, version, loader, codec, restore, "miss"))
        )
      }

      const get = <A, E>(
        userName: string,
        version: string | undefined,
        loader: Loader<A, E>,
        codec: EntryCodec<A> = identity as EntryCodec<A>
      ): Effect.Effect<A, E> =>
        config.enabled
          ? Effect.suspend(() => read(userName, version, loader, codec))
          : Effect.suspend(() => loader(userName, version))

      const refresh = <A, E>(
        userName: string,
        version: string | undefined,
        loader: Loader<A, E>,
        codec: EntryCodec<A> = identity as EntryCodec<A>
      ): Effect.Effect<A, E> =>
        Effect.suspend(() => {
          const name = userName.toLowerCase()
          const entry = entries.lookup(table, name, version)
          if (entry !== undefined) entries.remove(entry)
          const key = table.key(name, version)
          negatives.remove(key)
          flights.detach(key)
          if (!config.enabled || shared === undefined) return get(userName, version, loader, codec)
          // Through the shared tier: load from the vault, whatever the shared store holds.
          return Effect.uninterruptibleMask((restore) =>
            Effect.suspend(() => miss(table, name, userName, version, loader, codec, restore, "force"))
          )
        })

      return {
        vaultHost,
        objectType,
        get,
        refresh,
        invalidate: (userName) => {
          const local = Effect.sync(() => invalidateName(table, userName))
          return shared === undefined
            ? local
            : Effect.zipRight(local, shared.invalidate(vaultHost, objectType, userName.toLowerCase()))
        }
      }
    }

    // Loads that started before the change must neither be stored nor be joined by readers after it.
    const invalidateName = (table: Table, userName: string): void => {
      const name = userName.toLowerCase()
      entries.removeName(table, name)
      const nameKey = table.nameKey(name)
      negatives.removeGroup(nameKey)
      flights.detachGroup(nameKey)
    }

    const namespace = (vaultHost: string, objectType: ObjectType): CacheNamespace => {
      const id = `${vaultHost}:${objectType}`
      let ns = namespaces.get(id)
      if (ns === undefined) {
        ns = makeNamespace(vaultHost, objectType)
        namespaces.set(id, ns)
      }
      return ns
    }

    const invalidateAll = Effect.sync(() => {
      entries.clear()
      negatives.clear()
      flights.detachAll()
    })

    const tier = yield* Effect.serviceOption(SharedTier)
    if (config.enabled && Option.isSome(tier)) {
      shared = yield* tier.value.bind({
        config,
        invalidateLocal: (vaultHost, objectType, name) =>
          Effect.sync(() => invalidateName(entries.table(vaultHost, objectType), name)),
        invalidateAllLocal: invalidateAll
      })
    }

    return {
      config,
      namespace,
      invalidateAll,
      stats: Effect.sync((): CacheStats => counters.snapshot(entries.size, negatives.size))
    }
  })
