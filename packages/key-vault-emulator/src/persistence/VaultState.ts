/**
 * State that survives restarts: every vault's objects (versions, private key material, certificates, deleted bins,
 * policies, issuers, contacts), the list of vaults and their settings, each vault's throttle as last changed at
 * runtime, the Event Grid expiry events already published (so a restart does not publish them again), and the clock
 * offset, kept under `<stateDir>/vaults/`.
 *
 * Every change to the engine's maps is recorded; the changes of one request go to the write-ahead log as one sealed
 * record (AES-256-GCM, its tag the record's checksum) before the response is sent. The log is appended with one
 * `write` per record and no fsync by default: a killed process (even `kill -9`) loses nothing the kernel has, which is
 * every acknowledged write; a power loss may lose the last writes (`fsync: true` closes that gap at a cost per
 * write). At start the snapshot and the log are replayed, then written back as a new snapshot (write-then-rename)
 * and an empty log; the log is compacted the same way once it passes `COMPACT_BYTES`.
 *
 * One process at a time: `open` takes `vaults/lock` (created exclusively, holding the pid) and `close` releases it; an
 * open while another live process (or another open state in this one) holds it fails with `StateError`, and a lock
 * left by a killed process is taken over. A record cut short at the end of the log (the process died writing it) is
 * dropped with a warning (`droppedTornBytes`); a damaged record or length field anywhere stops the start.
 *
 * Files are 0600 in a 0700 directory. Secret values and private keys are never written in the clear: every record
 * is encrypted under the operator's key (`key`) or one generated into `state.key` on first start.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { MapFactory } from "../engine/ObjectStore.js"
import type { ThrottleSettings } from "../faults/Throttle.js"
import type { VaultSettings } from "../vaults/VaultRegistry.js"
import * as Codec from "./internal/Codec.js"
import * as Files from "./internal/StateFiles.js"

/**
 * The saved state cannot be used: a foreign or corrupted file, a missing or wrong key, an unreadable directory.
 * Nothing was rewritten.
 *
 * @since 0.1.0
 * @category errors
 */
export class StateError extends Data.TaggedError("StateError")<{ readonly file: string; readonly detail: string }> {
  override get message(): string {
    return `emulator state ${this.file}: ${this.detail}`
  }
}

/**
 * Where and how state is kept.
 *
 * @since 0.1.0
 * @category models
 */
export interface StateOptions {
  /** The emulator's state directory; vault state lives in its `vaults/` folder. */
  readonly stateDir: string
  /** The AES-256 key (32 bytes); default one generated into `vaults/state.key` on first start. */
  readonly key?: Redacted.Redacted<Uint8Array> | undefined
  /** fsync every log record (survives power loss, not just a killed process). Default false. */
  readonly fsync?: boolean | undefined
}

/**
 * Log size after which the state is compacted into a new snapshot.
 *
 * @since 0.1.0
 * @category constants
 */
export const COMPACT_BYTES = 16 * 1024 * 1024

/**
 * A named vault as it was saved.
 *
 * @since 0.1.0
 * @category models
 */
export interface SavedVault {
  readonly name: string
  readonly settings: VaultSettings
}

/**
 * Open state: the saved vaults to recreate, the engine maps (filled from the saved state, recording every change),
 * and the hooks the emulator reports its other changes through.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultState {
  /** Named vaults saved, in creation order (recreate them with `restoring` set). */
  readonly savedVaults: ReadonlyArray<SavedVault>
  /** The saved clock offset, if the clock was moved. */
  readonly clockOffsetMillis: number | undefined
  /**
   * Each vault's throttle as it was last changed at runtime (`Throttle.update`, the admin API), by vault name (the
   * default vault's included); apply them after the vaults are recreated, with `restoring` set.
   */
  readonly savedThrottles: ReadonlyMap<string, ThrottleSettings>
  /** The keys of the Event Grid expiry events published before this start (`EventGrid`'s `publishedBefore`). */
  readonly publishedEvents: ReadonlyArray<string>
  /** Whether anything was saved before this start. */
  readonly fresh: boolean
  /** Bytes dropped from the end of the log: a record cut short by the previous process's death (never acknowledged). */
  readonly droppedTornBytes: number
  /** The engine maps of a vault. */
  readonly mapsFor: (vault: string) => MapFactory
  readonly vaultCreated: (name: string, settings: VaultSettings) => void
  readonly vaultRemoved: (name: string) => void
  readonly clockMoved: (offsetMillis: number) => void
  /** A vault's throttle was changed at runtime; these settings replace its creation settings' throttle at restart. */
  readonly throttleChanged: (name: string, settings: ThrottleSettings) => void
  /** An Event Grid expiry event was published (its key, as `EventGrid` reports it). */
  readonly eventPublished: (key: string) => void
  /** While true, changes are not recorded (the saved state is being rebuilt). */
  restoring: boolean
  /** Writes the changes recorded so far as one log record; returns once written. */
  readonly flush: () => void
  /** Flushes and closes the log, and releases the directory's lock. */
  readonly close: () => void
}

type Op =
  | readonly ["set", string, string, string, unknown]
  | readonly ["del", string, string, string]
  | readonly ["clr", string, string]
  | readonly ["create", string, unknown]
  | readonly ["remove", string]
  | readonly ["clock", number]
  | readonly ["throttle", string, unknown]
  | readonly ["event", string]

type Loaded = Map<string, Map<string, Map<string, unknown>>>

interface Body {
  readonly vaults: ReadonlyArray<{ readonly name: string; readonly settings: unknown }>
  readonly maps: Record<string, Record<string, ReadonlyArray<readonly [string, unknown]>>>
  readonly clockOffsetMillis?: number | undefined
  /** Absent in state written before throttles were kept. */
  readonly throttles?: Record<string, unknown> | undefined
  /** Absent in state written before published events were kept. */
  readonly events?: ReadonlyArray<string> | undefined
}

const mapOf = <K, V>(outer: Map<K, V>, key: K, make: () => V): V => {
  let value = outer.get(key)
  if (value === undefined) {
    value = make()
    outer.set(key, value)
  }
  return value
}

/**
 * Opens (or creates) the state in `options.stateDir`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open = (options: StateOptions): Effect.Effect<VaultState, StateError> =>
  Effect.tap(
    Effect.try({
    try: () => openSync(options),
    catch: (cause) =>
      cause instanceof Files.StateFileError
        ? new StateError({ file: cause.file, detail: cause.detail })
        : new StateError({
          file: options.stateDir,
          detail: cause instanceof Error ? `${cause.name}: ${(cause as NodeJS.ErrnoException).code ?? "unreadable"}` : "unreadable"
        })
    }),
    (state) =>
      state.droppedTornBytes > 0
        ? Effect.logWarning(
          `emulator state ${Files.pathsFor(options.stateDir).wal}: dropped ${state.droppedTornBytes} bytes at its end, ` +
            "a record cut short when the previous process stopped (never acknowledged)"
        )
        : Effect.void
  )

const openSync = (options: StateOptions): VaultState => {
  const paths = Files.pathsFor(options.stateDir)
  const release = Files.acquireLock(paths)
  try {
    return openLocked(options, paths, release)
  } catch (cause) {
    release()
    throw cause
  }
}

const openLocked = (options: StateOptions, paths: Files.Paths, release: () => void): VaultState => {
  const key = Files.openDirectory(paths, options.key === undefined ? undefined : Redacted.value(options.key))
  const snapshot = Files.readSnapshot(paths, key)
  const generation = snapshot?.generation ?? 0
  const log = Files.readLog(paths, key, generation)

  // Rebuild the saved state.
  const vaults = new Map<string, unknown>()
  const loaded: Loaded = new Map()
  let clockOffsetMillis: number | undefined
  // Encoded settings, by vault name.
  const throttles = new Map<string, unknown>()
  const events = new Set<string>()
  if (snapshot !== undefined) {
    const body = snapshot.body as Body
    for (const vault of body.vaults) vaults.set(vault.name, vault.settings)
    for (const [vault, maps] of Object.entries(body.maps)) {
      const byId = mapOf(loaded, vault, () => new Map())
      for (const [id, entries] of Object.entries(maps)) {
        byId.set(id, new Map(entries.map(([k, v]) => [k, Codec.decode(v)])))
      }
    }
    clockOffsetMillis = body.clockOffsetMillis
    for (const [name, settings] of Object.entries(body.throttles ?? {})) throttles.set(name, settings)
    for (const key of body.events ?? []) events.add(key)
  }
  for (const record of log.records) {
    for (const op of record as ReadonlyArray<Op>) {
      switch (op[0]) {
        case "set":
          mapOf(mapOf(loaded, op[1], () => new Map()), op[2], () => new Map()).set(op[3], Codec.decode(op[4]))
          break
        case "del":
          loaded.get(op[1])?.get(op[2])?.delete(op[3])
          break
        case "clr":
          loaded.get(op[1])?.get(op[2])?.clear()
          break
        case "create":
          vaults.set(op[1], op[2])
          loaded.delete(op[1])
          throttles.delete(op[1])
          break
        case "remove":
          vaults.delete(op[1])
          loaded.delete(op[1])
          throttles.delete(op[1])
          break
        case "clock":
          clockOffsetMillis = op[1]
          break
        case "throttle":
          throttles.set(op[1], op[2])
          break
        case "event":
          events.add(op[1])
          break
      }
    }
  }
  const fresh = snapshot === undefined && log.records.length === 0

  const live = new Map<string, Map<string, Map<string, unknown>>>()
  const settingsOf = new Map<string, unknown>(vaults)
  let pending: Array<Op> = []
  let flushQueued = false
  let writer: Files.LogWriter | undefined
  let currentGeneration = generation

  const bodyNow = (): Body => {
    const maps: Record<string, Record<string, ReadonlyArray<readonly [string, unknown]>>> = {}
    // Vaults not opened yet in this run keep their loaded maps.
    for (const [vault, byId] of loaded) {
      if (live.has(vault)) continue
      const out: Record<string, ReadonlyArray<readonly [string, unknown]>> = {}
      for (const [id, map] of byId) out[id] = [...map].map(([k, v]) => [k, Codec.encode(v)] as const)
      maps[vault] = out
    }
    for (const [vault, byId] of live) {
      const out: Record<string, ReadonlyArray<readonly [string, unknown]>> = {}
      for (const [id, map] of byId) out[id] = [...map].map(([k, v]) => [k, Codec.encode(v)] as const)
      maps[vault] = out
    }
    return {
      vaults: [...settingsOf].map(([name, settings]) => ({ name, settings })),
      maps,
      clockOffsetMillis,
      throttles: Object.fromEntries(throttles),
      events: [...events]
    }
  }

  const compact = (): void => {
    const next = currentGeneration + 1
    Files.writeSnapshot(paths, key, next, bodyNow())
    writer?.close()
    writer = Files.startLog(paths, key, next, options.fsync === true)
    currentGeneration = next
  }

  const flush = (): void => {
    if (pending.length === 0 || writer === undefined) return
    const ops = pending
    pending = []
    const encoded = ops.map((op) => op[0] === "set" ? [op[0], op[1], op[2], op[3], Codec.encode(op[4])] : op)
    const size = writer.append(encoded)
    // Too large for one record (`undefined`): the snapshot holds it instead (the maps already have the changes).
    if (size === undefined || size > COMPACT_BYTES) compact()
  }

  const state: VaultState = {
    savedVaults: [...vaults].map(([name, settings]) => ({ name, settings: Codec.decode(settings) as VaultSettings })),
    clockOffsetMillis,
    savedThrottles: new Map(
      [...throttles].map(([name, settings]) => [name, Codec.decode(settings) as ThrottleSettings] as const)
    ),
    publishedEvents: [...events],
    fresh,
    droppedTornBytes: log.tornBytes,
    restoring: false,
    mapsFor: (vault) => <A>(id: string): Map<string, A> => {
      const byId = mapOf(live, vault, () => new Map())
      const initial = loaded.get(vault)?.get(id)
      loaded.get(vault)?.delete(id)
      const map = new RecordedMap<A>(initial as Map<string, A> | undefined, (op) => record(op), vault, id)
      byId.set(id, map as Map<string, unknown>)
      return map
    },
    vaultCreated: (name, settings) => {
      settingsOf.set(name, Codec.encode(settings))
      loaded.delete(name)
      throttles.delete(name)
      record(["create", name, Codec.encode(settings)])
    },
    vaultRemoved: (name) => {
      settingsOf.delete(name)
      live.delete(name)
      loaded.delete(name)
      throttles.delete(name)
      record(["remove", name])
    },
    clockMoved: (offsetMillis) => {
      clockOffsetMillis = offsetMillis
      record(["clock", offsetMillis])
    },
    throttleChanged: (name, settings) => {
      if (state.restoring) return
      const encoded = Codec.encode(settings)
      throttles.set(name, encoded)
      record(["throttle", name, encoded])
    },
    eventPublished: (key) => {
      if (state.restoring || events.has(key)) return
      events.add(key)
      record(["event", key])
    },
    flush,
    close: () => {
      try {
        flush()
      } finally {
        writer?.close()
        writer = undefined
        release()
      }
    }
  }

  const record = (op: Op): void => {
    if (state.restoring || writer === undefined) return
    pending.push(op)
    // Changes outside a request (direct engine calls, admin operations) are written on the next turn at the latest.
    if (!flushQueued) {
      flushQueued = true
      queueMicrotask(() => {
        flushQueued = false
        flush()
      })
    }
  }

  // The replayed state becomes the next generation's snapshot; the torn tail, if any, goes with the old log.
  compact()
  return state
}

/** A `Map` that reports every change (after making it). */
class RecordedMap<A> extends Map<string, A> {
  private ready = false
  constructor(
    initial: Map<string, A> | undefined,
    private readonly report: (op: Op) => void,
    private readonly vault: string,
    private readonly id: string
  ) {
    super(initial ?? [])
    this.ready = true
  }
  override set(key: string, value: A): this {
    super.set(key, value)
    if (this.ready) this.report(["set", this.vault, this.id, key, value])
    return this
  }
  override delete(key: string): boolean {
    const deleted = super.delete(key)
    if (deleted) this.report(["del", this.vault, this.id, key])
    return deleted
  }
  override clear(): void {
    if (this.size === 0) return
    super.clear()
    this.report(["clr", this.vault, this.id])
  }
}
