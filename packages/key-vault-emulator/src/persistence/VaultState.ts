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
 * A write that fails (a full disk, an I/O error) leaves the files as they were: the log is cut back to its last
 * whole record (or, when even that fails, replaced through a new snapshot with the next change), `flush` throws
 * `StateWriteError`, and the emulator goes on. The failed change stays in memory and is written with the next one.
 * With `fsync`, the directory is fsync'ed after every rename and new file too, so they survive a power loss.
 *
 * Files are 0600 in a 0700 directory; a `state.key` that group or others can access stops the start (`StateError`
 * naming its mode), as ssh refuses such a private key. Secret values and private keys are never written in the
 * clear: every record is encrypted under the operator's key (`key`) or one generated into `state.key` on first start.
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
 * A change could not be written (a full disk, an I/O error). The files are as they were before it: what was
 * acknowledged before is kept. The change stays in memory and is written with the next one.
 *
 * @since 0.1.0
 * @category errors
 */
export class StateWriteError extends Data.TaggedError("StateWriteError")<{
  readonly file: string
  readonly detail: string
}> {
  override get message(): string {
    return `emulator state ${this.file}: ${this.detail}; the change is not saved yet (it is written with the next one)`
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
  /**
   * fsync every log record, and the directory after every rename and new file (survives power loss, not just a
   * killed process). Default false.
   */
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
  /**
   * Writes the changes recorded so far as one log record; returns once written. Throws `StateWriteError` when the
   * write fails (the files as they were; the changes are written with the next ones).
   */
  readonly flush: () => void
  /**
   * Writes as `flush` does, for a caller with nobody to tell of a failure: it throws nothing, and the changes are
   * kept, so the next `flush`, whoever calls it, writes them again and throws if that fails too.
   */
  readonly flushOrKeep: () => void
  /** Flushes (a change a failed write left unsaved too) and closes the log, and releases the directory's lock. */
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
  const fsync = options.fsync === true
  const key = Files.openDirectory(paths, options.key === undefined ? undefined : Redacted.value(options.key), fsync)
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
  // The changes of a failed append (the log cut back without them), written again with the next ones.
  let failed: Array<Op> = []
  // A write failed with nobody to tell (a flush on its own turn): the next flush writes again, and reports.
  let unreported = false
  let flushQueued = false
  // `undefined` while no log takes records (before the first compaction, after a failed one or a write that could
  // not be undone): the next flush compacts instead, its snapshot taking every change in memory.
  let writer: Files.LogWriter | undefined
  let closed = false
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
    // The old log takes no more records, even if this fails: the new snapshot may be on disk already (a failure after
    // its rename), and a start takes it over an older log, which it reads as empty.
    const next = currentGeneration + 1
    currentGeneration = next
    const old = writer
    writer = undefined
    old?.close()
    Files.writeSnapshot(paths, key, next, bodyNow(), fsync)
    writer = Files.startLog(paths, key, next, fsync)
  }

  const writeError = (cause: unknown): StateWriteError =>
    cause instanceof Files.StateFileError
      ? new StateWriteError({ file: cause.file, detail: cause.detail })
      : new StateWriteError({ file: paths.dir, detail: `could not write a new snapshot and log (${Files.failureCode(cause)})` })

  // `unsaved`: also when no new change was recorded, write what a failed write left (at close). Otherwise a flush with
  // nothing new returns at once: a read is not failed for an earlier write's trouble, once that was reported.
  const flushWith = (unsaved: boolean): void => {
    if (closed) return
    if (pending.length === 0 && !unreported && !(unsaved && (failed.length > 0 || writer === undefined))) return
    unreported = false
    if (writer === undefined) {
      pending = []
      failed = []
      try {
        compact()
      } catch (cause) {
        throw writeError(cause)
      }
      return
    }
    const ops = failed.length === 0 ? pending : [...failed, ...pending]
    pending = []
    failed = []
    const encoded = ops.map((op) => op[0] === "set" ? [op[0], op[1], op[2], op[3], Codec.encode(op[4])] : op)
    let size: number | undefined
    try {
      size = writer.append(encoded)
    } catch (cause) {
      if (writer.damaged()) {
        // The log may end in a partial record: no record goes after it; the next flush writes a snapshot instead.
        const damaged = writer
        writer = undefined
        try {
          damaged.close()
        } catch {
          // Already unusable.
        }
      } else {
        failed = ops
      }
      throw writeError(cause)
    }
    if (size === undefined) {
      // Too large for one record: the snapshot holds it instead (the maps already have the changes).
      try {
        compact()
      } catch (cause) {
        throw writeError(cause)
      }
    } else if (size > COMPACT_BYTES) {
      try {
        compact()
      } catch {
        // The record is in the log: nothing is lost, and the next change tries the compaction again.
      }
    }
  }
  const flush = (): void => flushWith(false)
  const flushOrKeep = (): void => {
    try {
      flush()
    } catch {
      // An uncaught throw here could stop the process (a flush on its own turn): the next flush reports it instead.
      unreported = true
    }
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
    flushOrKeep,
    close: () => {
      try {
        flushWith(true)
      } finally {
        closed = true
        writer?.close()
        writer = undefined
        release()
      }
    }
  }

  const record = (op: Op): void => {
    if (state.restoring || closed) return
    pending.push(op)
    // Changes outside a request (direct engine calls, admin operations) are written on the next turn at the latest.
    if (!flushQueued) {
      flushQueued = true
      // Nobody to answer there: a failure is reported by the next flush (the request that made them may be next).
      queueMicrotask(() => {
        flushQueued = false
        flushOrKeep()
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
