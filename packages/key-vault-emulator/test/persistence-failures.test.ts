/**
 * The state directory under failing writes and loose permissions: an append that fails partway (a full disk after
 * a short write) leaves the log as it was and is reported, the state goes on, and a restart reads every acknowledged
 * write; a failure no caller could hear of is reported by the next flush; with `fsync`, the directory is fsync'ed
 * after each rename; a `state.key` others can access stops the start. Failures are injected through the internal
 * file-system seam (`StateFiles.io`); nothing else is replaced.
 */
import { afterEach, describe, expect, it, vi } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Files from "../src/persistence/internal/StateFiles.js"
import * as VaultState from "../src/persistence/VaultState.js"

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-emu-failing-state-"))
const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: injected`), { code })

/** Reopens the state as a restart after a crash would: the first process (and so its lock) is gone. */
const reopenAfterCrash = (stateDir: string) =>
  Effect.suspend(() => {
    Fs.rmSync(Files.pathsFor(stateDir).lock, { force: true })
    return VaultState.open({ stateDir })
  })

/** Writes half of the next record for real, then fails as a full disk does. */
const shortWriteThenFull = () => {
  const realWrite = Files.io.write
  return vi.spyOn(Files.io, "write")
    .mockImplementationOnce((fd, data, offset) =>
      realWrite(fd, data.subarray(0, offset + Math.floor((data.byteLength - offset) / 2)), offset)
    )
    .mockImplementationOnce(() => {
      throw errno("ENOSPC")
    })
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe("state writes that fail", () => {
  it.effect("an append that fails partway leaves the log as it was, is reported, and loses nothing acknowledged", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const files = Files.pathsFor(stateDir)
      const state = yield* VaultState.open({ stateDir })
      const secrets = state.mapsFor("team")<string>("secrets")
      secrets.set("acknowledged", "first-value")
      state.flush()
      const logBefore = Fs.readFileSync(files.wal)

      const write = shortWriteThenFull()
      secrets.set("failed", "failed-secret-value")
      let thrown: unknown
      try {
        state.flush()
      } catch (cause) {
        thrown = cause
      }
      expect(write).toHaveBeenCalledTimes(2)
      expect(thrown).toBeInstanceOf(VaultState.StateWriteError)
      const error = thrown as VaultState.StateWriteError
      expect(error._tag).toBe("StateWriteError")
      expect(error.file).toBe(files.wal)
      expect(error.message).toContain("ENOSPC")
      expect(error.message).not.toContain("failed-secret-value")
      // No partial record: the log is byte for byte what it was before the append.
      expect(Fs.readFileSync(files.wal).equals(logBefore)).toBe(true)

      // The disk has room again: the state goes on, and the failed change is written with the next one.
      write.mockRestore()
      secrets.set("after", "third-value")
      state.flush()

      const restarted = yield* reopenAfterCrash(stateDir)
      expect(restarted.droppedTornBytes).toBe(0)
      expect(Object.fromEntries(restarted.mapsFor("team")<string>("secrets"))).toEqual({
        acknowledged: "first-value",
        failed: "failed-secret-value",
        after: "third-value"
      })
      restarted.close()
      state.close()
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }))

  it.effect("a failed append that cannot be cut back is replaced by a snapshot with the next change", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const state = yield* VaultState.open({ stateDir })
      const secrets = state.mapsFor("team")<string>("secrets")
      secrets.set("acknowledged", "1")
      state.flush()

      const write = shortWriteThenFull()
      const truncate = vi.spyOn(Files.io, "truncate").mockImplementationOnce(() => {
        throw errno("EIO")
      })
      secrets.set("failed", "2")
      expect(() => state.flush()).toThrow(VaultState.StateWriteError)
      expect(truncate).toHaveBeenCalledTimes(1)
      write.mockRestore()
      truncate.mockRestore()
      // A read (nothing new recorded) is not failed for the earlier write, which its caller was told about.
      state.flush()

      secrets.set("after", "3")
      state.flush()
      const restarted = yield* reopenAfterCrash(stateDir)
      expect(restarted.droppedTornBytes).toBe(0)
      expect(Object.fromEntries(restarted.mapsFor("team")<string>("secrets"))).toEqual({
        acknowledged: "1",
        failed: "2",
        after: "3"
      })
      restarted.close()
      state.close()
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }))

  it.effect("a write failing on its own turn stops nothing; the next flush writes the change, or reports", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const state = yield* VaultState.open({ stateDir })
      const secrets = state.mapsFor("team")<string>("secrets")
      // A change outside a request is written on its own turn, where no caller can hear of a failure.
      const write = vi.spyOn(Files.io, "write").mockImplementationOnce(() => {
        throw errno("EIO")
      })
      secrets.set("outside-a-request", "1")
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      expect(write).toHaveBeenCalledTimes(1)
      // The next flush, with nothing new of its own, writes it (and would throw if that failed again).
      state.flush()
      expect(write).toHaveBeenCalledTimes(2)

      const restarted = yield* reopenAfterCrash(stateDir)
      expect(Object.fromEntries(restarted.mapsFor("team")<string>("secrets"))).toEqual({ "outside-a-request": "1" })
      restarted.close()
      state.close()
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }))
})

describe("state fsync", () => {
  /** The renames, and the fsyncs of directories, in the order they happen. */
  const watchDirectorySyncs = () => {
    const events: Array<string> = []
    const opened = new Map<number, string>()
    const realOpen = Files.io.open
    const realFsync = Files.io.fsync
    const realRename = Files.io.rename
    vi.spyOn(Files.io, "open").mockImplementation((path, flags, mode) => {
      const fd = realOpen(path, flags, mode)
      opened.set(fd, path)
      return fd
    })
    vi.spyOn(Files.io, "fsync").mockImplementation((fd) => {
      const path = opened.get(fd)
      if (path !== undefined && Fs.statSync(path).isDirectory()) events.push(`fsync ${path}`)
      realFsync(fd)
    })
    vi.spyOn(Files.io, "rename").mockImplementation((from, to) => {
      realRename(from, to)
      events.push(`rename ${Path.basename(to)}`)
    })
    return events
  }

  it.effect("with stateFsync, every rename (snapshot, log, key, manifest) is followed by an fsync of the directory", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const files = Files.pathsFor(stateDir)
      const events = watchDirectorySyncs()
      const state = yield* VaultState.open({ stateDir, fsync: true })
      const syncDir = `fsync ${files.dir}`
      // The state directory first (a new `vaults/` entry), then each file as it is renamed into place.
      expect(events).toEqual([
        `fsync ${stateDir}`,
        "rename state.key",
        syncDir,
        "rename state.json",
        syncDir,
        "rename snapshot.bin",
        syncDir,
        "rename wal.bin",
        syncDir
      ])
      // A compaction (here: a batch too large for one record) renames a new snapshot and a new log the same way.
      events.length = 0
      const blobs = state.mapsFor("big")<string>("blobs")
      for (let i = 0; i < 3; i++) blobs.set(`b${i}`, "x".repeat(400 * 1024))
      state.flush()
      expect(events).toEqual(["rename snapshot.bin", syncDir, "rename wal.bin", syncDir])
      state.close()
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }))

  it.effect("without stateFsync, no directory is fsync'ed", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const events = watchDirectorySyncs()
      const state = yield* VaultState.open({ stateDir })
      expect(events).toEqual(["rename state.key", "rename state.json", "rename snapshot.bin", "rename wal.bin"])
      state.close()
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }))
})

describe.skipIf(process.platform === "win32")("state key permissions", () => {
  it.effect("a state.key group or others can access stops the start, naming the path and the mode, never the key", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const files = Files.pathsFor(stateDir)
      const first = yield* VaultState.open({ stateDir })
      first.close()
      const key = Fs.readFileSync(files.key)
      const walBefore = Fs.readFileSync(files.wal)

      for (const mode of [0o644, 0o640, 0o620, 0o604, 0o602]) {
        Fs.chmodSync(files.key, mode)
        const error = yield* Effect.flip(VaultState.open({ stateDir }))
        expect(error._tag).toBe("StateError")
        expect(error.file).toBe(files.key)
        expect(error.message).toContain(files.key)
        expect(error.message).toContain(`mode 0${mode.toString(8)}`)
        for (const encoding of ["hex", "base64", "base64url", "latin1"] as const) {
          expect(error.message).not.toContain(key.toString(encoding))
        }
        // Refused before anything was rewritten, and the lock released.
        expect(Fs.readFileSync(files.wal).equals(walBefore)).toBe(true)
        expect(Fs.existsSync(files.lock)).toBe(false)
      }

      Fs.chmodSync(files.key, 0o600)
      const second = yield* VaultState.open({ stateDir })
      second.close()
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }))

  it.effect("the files the emulator writes are 0600, even over a temporary file a killed process left", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const files = Files.pathsFor(stateDir)
      Fs.mkdirSync(files.dir, { mode: 0o700 })
      // A killed process with this pid was writing the key: its temporary file is world-readable.
      const leftover = `${files.key}.tmp-${process.pid}`
      Fs.writeFileSync(leftover, "partial")
      Fs.chmodSync(leftover, 0o644)

      const state = yield* VaultState.open({ stateDir })
      state.close()
      for (const file of Fs.readdirSync(files.dir)) {
        expect([file, Fs.statSync(Path.join(files.dir, file)).mode & 0o777]).toEqual([file, 0o600])
      }
      expect(Fs.existsSync(leftover)).toBe(false)
      // So the next start accepts the key it generated.
      const second = yield* VaultState.open({ stateDir })
      second.close()
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }))
})
