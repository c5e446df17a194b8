/**
 * The state directory refuses what would lose acknowledged writes: a damaged length field in the middle of the log
 * (which must not pass for a torn tail and silently drop every later record), and a second emulator on a directory
 * another one has open (whose compaction would discard the first one's writes). A lock left by a killed process is
 * taken over; a record cut short at the very end of the log is dropped and reported.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Emulator from "../src/Emulator.js"
import * as VaultState from "../src/persistence/VaultState.js"

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-emu-safety-state-"))
const filesOf = (stateDir: string) => {
  const dir = Path.join(stateDir, "vaults")
  return { lock: Path.join(dir, "lock"), wal: Path.join(dir, "wal.bin"), snapshot: Path.join(dir, "snapshot.bin") }
}
/** The WAL header: a 10-byte magic and the 8-byte generation. */
const WAL_HEADER = 18
const recordOffsets = (wal: Buffer): Array<number> => {
  const offsets: Array<number> = []
  for (let offset = WAL_HEADER; offset < wal.byteLength; offset += 4 + wal.readUInt32BE(offset)) offsets.push(offset)
  return offsets
}

/** Writes five secrets, one log record each, and leaves the emulator open (as a crash would) with its lock removed. */
const fiveWritesThenCrash = (stateDir: string) =>
  Effect.gen(function*() {
    const first = yield* Emulator.open({ stateDir })
    for (let i = 0; i < 5; i++) {
      yield* first.engine.secrets.set(`s${i}`, { value: Redacted.make(`v${i}`) })
      yield* Effect.yieldNow()
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
    }
    Fs.rmSync(filesOf(stateDir).lock)
    return first
  })

const deadPid = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const child = ChildProcess.spawn(process.execPath, ["-e", ""], { stdio: "ignore" })
    child.on("error", reject)
    child.on("exit", () => resolve(child.pid!))
  })

describe("state directory safety", () => {
  it.effect("a damaged length field mid-log stops the start, naming the file and offset, and rewrites nothing", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const files = filesOf(stateDir)
      const first = yield* fiveWritesThenCrash(stateDir)
      const wal = Fs.readFileSync(files.wal)
      const offsets = recordOffsets(wal)
      expect(offsets.length).toBe(5)
      wal[offsets[1]!]! ^= 0x40
      Fs.writeFileSync(files.wal, wal)
      const snapshotBefore = Fs.readFileSync(files.snapshot)

      const error = yield* Effect.flip(Emulator.open({ stateDir }))
      expect(error._tag).toBe("StateError")
      expect(error.message).toContain("wal.bin")
      expect(error.message).toContain(`record 2 at byte ${offsets[1]}`)
      expect(Fs.readFileSync(files.wal).equals(wal)).toBe(true)
      expect(Fs.readFileSync(files.snapshot).equals(snapshotBefore)).toBe(true)
      // The refused start released its lock: with the length repaired, every write is back.
      wal[offsets[1]!]! ^= 0x40
      Fs.writeFileSync(files.wal, wal)
      const second = yield* Emulator.open({ stateDir })
      for (let i = 0; i < 5; i++) {
        expect(Redacted.value((yield* second.admin.vaults.revealSecret(`s${i}`)).value)).toBe(`v${i}`)
      }
      yield* second.shutdown
      yield* first.shutdown
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }), 30_000)

  it.effect("a record cut short at the end of the log is dropped and reported; the ones before it are kept", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const files = filesOf(stateDir)
      const first = yield* fiveWritesThenCrash(stateDir)
      const wal = Fs.readFileSync(files.wal)
      const offsets = recordOffsets(wal)
      const cut = offsets[4]! + 10
      Fs.writeFileSync(files.wal, wal.subarray(0, cut))

      const state = yield* VaultState.open({ stateDir })
      expect(state.droppedTornBytes).toBe(cut - offsets[4]!)
      state.close()
      const second = yield* Emulator.open({ stateDir })
      for (let i = 0; i < 4; i++) {
        expect(Redacted.value((yield* second.admin.vaults.revealSecret(`s${i}`)).value)).toBe(`v${i}`)
      }
      expect((yield* Effect.either(second.admin.vaults.revealSecret("s4")))._tag).toBe("Left")
      yield* second.shutdown
      yield* first.shutdown
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }), 30_000)

  it.effect("a batch larger than one log record goes into a snapshot and survives a restart", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const first = yield* VaultState.open({ stateDir })
      const map = first.mapsFor("big")<string>("blobs")
      const blob = "x".repeat(300 * 1024)
      for (let i = 0; i < 5; i++) map.set(`b${i}`, `${i}${blob}`)
      first.flush()
      // Crash: no close; the log holds no record of it, the snapshot does.
      Fs.rmSync(filesOf(stateDir).lock)
      const second = yield* VaultState.open({ stateDir })
      const restored = second.mapsFor("big")<string>("blobs")
      expect([...restored.keys()]).toEqual(["b0", "b1", "b2", "b3", "b4"])
      expect(restored.get("b4")).toBe(`4${blob}`)
      second.close()
      first.close()
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }), 30_000)

  it.effect("a second emulator on an open state directory is refused until the first shuts down", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const first = yield* Emulator.open({ stateDir })
      yield* first.engine.secrets.set("from-first", { value: Redacted.make("a") })
      const refused = yield* Effect.flip(Emulator.open({ stateDir }))
      expect(refused._tag).toBe("StateError")
      expect(refused.message).toContain(filesOf(stateDir).lock)
      expect(refused.message).toContain(`in use by process ${process.pid}`)
      // The refused open did not touch the first one's lock or files: its writes still land, and survive.
      yield* first.engine.secrets.set("after-refusal", { value: Redacted.make("b") })
      yield* first.shutdown
      expect(Fs.existsSync(filesOf(stateDir).lock)).toBe(false)
      const second = yield* Emulator.open({ stateDir })
      expect(Redacted.value((yield* second.admin.vaults.revealSecret("from-first")).value)).toBe("a")
      expect(Redacted.value((yield* second.admin.vaults.revealSecret("after-refusal")).value)).toBe("b")
      yield* second.shutdown
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }), 30_000)

  it.effect("a lock left by a process that no longer runs is taken over", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const first = yield* Emulator.open({ stateDir })
      yield* first.engine.secrets.set("kept", { value: Redacted.make("k") })
      yield* first.shutdown
      const pid = yield* Effect.promise(deadPid)
      Fs.writeFileSync(filesOf(stateDir).lock, `${pid}\nstale\n`)
      const second = yield* Emulator.open({ stateDir })
      expect(Fs.readFileSync(filesOf(stateDir).lock, "utf8").split("\n")[0]).toBe(String(process.pid))
      expect(Redacted.value((yield* second.admin.vaults.revealSecret("kept")).value)).toBe("k")
      yield* second.shutdown
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }), 30_000)
})
