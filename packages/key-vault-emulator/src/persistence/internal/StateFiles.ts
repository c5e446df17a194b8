/**
 * The files of a persisted emulator, in `<stateDir>/vaults/`:
 *
 * - `state.json`: the format marker and a check value of the state key (a wrong key is an error, not garbage);
 * - `state.key`: the AES-256 key, generated on first start when the operator supplies none (0600);
 * - `snapshot.bin`: the whole state as one sealed record, replaced by write-then-rename;
 * - `wal.bin`: the mutations since that snapshot, one sealed record per batch, appended;
 * - `lock`: the pid of the process that has the directory open (created exclusively, removed at close).
 *
 * A record is `u32 length | 12-byte nonce | AES-256-GCM ciphertext | 16-byte tag`, its additional data binding it to
 * the log generation and its sequence number, so a record that is damaged, reordered or from another log fails its
 * tag. A record cut short at the end of the log (the process died while writing it, so it was never acknowledged) is
 * dropped and its bytes reported; it is taken as such only when its declared length is one the writer can produce
 * (at most `MAX_RECORD_BYTES`) and runs past the end of the file. A length beyond that (a damaged length field, which
 * would otherwise hide every record after it), a bad record anywhere, a foreign file or a wrong key stops the start
 * with a message naming the file and offset, and nothing is rewritten.
 *
 * A failed append (a full disk, an I/O error, a short write then an error) cuts the log back to its length before
 * the append, so the log never holds a partial record while the process goes on; with `fsync`, a rename or a new
 * file is followed by an fsync of its directory, so the new name survives a power loss too. `state.key` is refused
 * when group or others have any permission on it (as ssh refuses a private key), naming the mode, never the key.
 *
 * @internal
 */
import * as NodeCrypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"

/** @internal */
export const FORMAT = "effect-azure-key-vault-emulator-state"
/** @internal */
export const FORMAT_VERSION = 1

const WAL_MAGIC = Buffer.from("KVEMUWAL1\n", "latin1")
const SNAPSHOT_MAGIC = Buffer.from("KVEMUSNP1\n", "latin1")

/** A state file problem (at start, or a failed write), with the file it is about. @internal */
export class StateFileError extends Error {
  constructor(readonly file: string, readonly detail: string) {
    super(`${file}: ${detail}`)
    this.name = "StateFileError"
  }
}

/**
 * The file-system calls that write state, in one object so a test can make one fail (a full disk, an I/O error, a
 * short write) or see an fsync happen. Internal only: nothing outside the tests replaces them.
 *
 * @internal
 */
export const io = {
  open: (path: string, flags: string, mode?: number): number => Fs.openSync(path, flags, mode),
  /** Writes `data` from `offset` on; returns how many bytes were written (possibly fewer). */
  write: (fd: number, data: Uint8Array, offset: number): number => Fs.writeSync(fd, data, offset),
  fsync: (fd: number): void => Fs.fsyncSync(fd),
  truncate: (fd: number, length: number): void => Fs.ftruncateSync(fd, length),
  close: (fd: number): void => Fs.closeSync(fd),
  rename: (from: string, to: string): void => Fs.renameSync(from, to)
}

/** Writes all of `data`, however many calls it takes; a call that writes nothing is an error, not a loop. */
const writeAll = (fd: number, data: Uint8Array): void => {
  let written = 0
  while (written < data.byteLength) {
    const count = io.write(fd, data, written)
    if (count <= 0) throw Object.assign(new Error("short write"), { code: "EIO" })
    written += count
  }
}

/** The errno code of a failed call (never its message, which could name more than the code). @internal */
export const failureCode = (cause: unknown): string =>
  (cause as NodeJS.ErrnoException | undefined)?.code ?? (cause instanceof Error ? cause.name : "unknown error")

/**
 * Fsyncs a directory, so a rename or a new file in it survives a power loss. Windows cannot open a directory for
 * this (and its file systems journal names themselves), so it is skipped there.
 *
 * @internal
 */
export const fsyncDirectory = (dir: string): void => {
  if (process.platform === "win32") return
  const fd = io.open(dir, "r")
  try {
    io.fsync(fd)
  } finally {
    io.close(fd)
  }
}

const modeText = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, "0")}`

/**
 * Reads a file holding key material, refusing it (`StateFileError` naming the path and the mode) when group or
 * others have any permission on it: a key others can read is a key others have, one they can write is one they can
 * swap. Checked on the open file, so the file checked is the file read. POSIX only: Windows has ACLs, not mode bits.
 *
 * @internal
 */
export const readPrivateFile = (path: string): Buffer => {
  const fd = Fs.openSync(path, "r")
  try {
    const stat = Fs.fstatSync(fd)
    if (!stat.isFile()) throw new StateFileError(path, "not a regular file")
    if (process.platform !== "win32" && (stat.mode & 0o077) !== 0) {
      throw new StateFileError(
        path,
        `it holds the state key and other users have access to it (mode ${modeText(stat.mode)}, 0600 expected); ` +
          "refusing to use it. Run chmod 600 on it, and if others could read it, consider the key exposed"
      )
    }
    return Fs.readFileSync(fd)
  } finally {
    Fs.closeSync(fd)
  }
}

/**
 * The largest sealed record (the value of its length field: nonce, ciphertext and tag) the log writer appends. A
 * batch that would seal larger is not appended: the state is compacted into a snapshot instead. So a length field
 * above this is damage, never a record the process was writing when it died.
 *
 * @internal
 */
export const MAX_RECORD_BYTES = 1024 * 1024

/** The smallest sealed record: nonce and tag around an empty ciphertext. */
const MIN_RECORD_BYTES = 12 + 16

/** @internal */
export interface Paths {
  readonly dir: string
  readonly lock: string
  readonly manifest: string
  readonly key: string
  readonly snapshot: string
  readonly wal: string
}

/** @internal */
export const pathsFor = (stateDir: string): Paths => {
  const dir = Path.join(stateDir, "vaults")
  return {
    dir,
    lock: Path.join(dir, "lock"),
    manifest: Path.join(dir, "state.json"),
    key: Path.join(dir, "state.key"),
    snapshot: Path.join(dir, "snapshot.bin"),
    wal: Path.join(dir, "wal.bin")
  }
}

const keyCheck = (key: Uint8Array): string =>
  NodeCrypto.createHmac("sha256", key).update("key-vault-emulator state key check").digest("base64")

const exists = (path: string): boolean => Fs.existsSync(path)

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (cause) {
    // EPERM: the process exists under another user.
    return (cause as NodeJS.ErrnoException).code !== "ESRCH"
  }
}

/**
 * Takes the directory's lock: creates `lock` exclusively with this process's pid and a token. A lock whose pid is no
 * longer alive (a killed process) is taken over; a live one fails with `StateFileError`. Returns the release, which
 * removes the lock only while it is still this one.
 *
 * @internal
 */
export const acquireLock = (paths: Paths): () => void => {
  Fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 })
  const content = `${process.pid}\n${NodeCrypto.randomBytes(16).toString("hex")}\n`
  let fd: number | undefined
  for (let attempt = 0;; attempt++) {
    try {
      fd = Fs.openSync(paths.lock, "wx", 0o600)
      break
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== "EEXIST") throw cause
    }
    let held: string
    try {
      held = Fs.readFileSync(paths.lock, "utf8")
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== "ENOENT") throw cause
      held = ""
    }
    const pid = Number.parseInt(held.split("\n")[0] ?? "", 10)
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
      throw new StateFileError(
        paths.lock,
        `the state directory is in use by process ${pid}${
          pid === process.pid ? " (this process: an emulator on it is still open)" : ""
        }; stop it first, or use another --state-dir`
      )
    }
    if (attempt >= 2) throw new StateFileError(paths.lock, "could not take the lock of a stopped emulator; remove it by hand")
    // Left by a killed process (or one killed between creating and writing it): taken over.
    Fs.rmSync(paths.lock, { force: true })
  }
  try {
    Fs.writeSync(fd, content)
  } finally {
    Fs.closeSync(fd)
  }
  let released = false
  return () => {
    if (released) return
    released = true
    try {
      if (Fs.readFileSync(paths.lock, "utf8") === content) Fs.rmSync(paths.lock, { force: true })
    } catch {
      // Already gone.
    }
  }
}

/**
 * Writes a file 0600 by write-then-rename (the file fsync'ed), so a reader sees the old or the new file, never a mix;
 * with `syncDirectory`, the directory is fsync'ed after the rename, so the new name survives a power loss. A failed
 * write leaves the old file and no temporary one.
 *
 * @internal
 */
export const writeAtomic = (path: string, data: Uint8Array, syncDirectory: boolean): void => {
  const temporary = `${path}.tmp-${process.pid}`
  // Created afresh: one left by a killed process with this pid would keep its own mode through a plain open.
  Fs.rmSync(temporary, { force: true })
  try {
    const fd = io.open(temporary, "wx", 0o600)
    try {
      writeAll(fd, data)
      io.fsync(fd)
    } finally {
      io.close(fd)
    }
    io.rename(temporary, path)
  } catch (cause) {
    try {
      Fs.rmSync(temporary, { force: true })
    } catch {
      // The write's failure is the one to report.
    }
    throw cause
  }
  if (syncDirectory) fsyncDirectory(Path.dirname(path))
}

/**
 * Opens the directory: creates it (0700) when needed, reads or creates the key and the manifest. Fails with
 * `StateFileError` for a foreign manifest, a missing or wrong key, a key file others can access. With `fsync`, the
 * state directory is fsync'ed too (so a new `vaults/` folder survives a power loss), and every file written here.
 *
 * @internal
 */
export const openDirectory = (paths: Paths, providedKey: Uint8Array | undefined, fsync: boolean): Uint8Array => {
  Fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 })
  Fs.chmodSync(paths.dir, 0o700)
  if (fsync) fsyncDirectory(Path.dirname(paths.dir))
  const hasState = exists(paths.manifest) || exists(paths.snapshot) || exists(paths.wal)
  // The manifest first: a foreign directory is named as such, not as a missing key.
  let savedCheck: unknown
  if (exists(paths.manifest)) {
    let manifest: unknown
    try {
      manifest = JSON.parse(Fs.readFileSync(paths.manifest, "utf8"))
    } catch {
      throw new StateFileError(paths.manifest, "not an emulator state file (not JSON); move it away or use another --state-dir")
    }
    const m = manifest as Record<string, unknown> | null
    if (m === null || typeof m !== "object" || m["format"] !== FORMAT) {
      throw new StateFileError(paths.manifest, "not an emulator state file; move it away or use another --state-dir")
    }
    if (m["version"] !== FORMAT_VERSION) {
      throw new StateFileError(paths.manifest, `state format version ${String(m["version"])} is not supported`)
    }
    savedCheck = m["keyCheck"]
  }
  let key = providedKey
  if (key === undefined) {
    if (exists(paths.key)) {
      key = new Uint8Array(readPrivateFile(paths.key))
      if (key.byteLength !== 32) throw new StateFileError(paths.key, "the state key must be 32 bytes")
    } else if (hasState) {
      throw new StateFileError(paths.key, "missing: the state here was written under a key that is not available")
    } else {
      key = new Uint8Array(NodeCrypto.randomBytes(32))
      writeAtomic(paths.key, key, fsync)
    }
  } else if (key.byteLength !== 32) {
    throw new StateFileError("state key", "the state key must be 32 bytes")
  }
  if (savedCheck !== undefined) {
    if (savedCheck !== keyCheck(key)) {
      throw new StateFileError(paths.manifest, "the state key does not match the key this state was written with")
    }
  } else if (hasState) {
    throw new StateFileError(paths.manifest, "missing, but state files are present; refusing to guess")
  } else {
    writeAtomic(
      paths.manifest,
      Buffer.from(JSON.stringify({ format: FORMAT, version: FORMAT_VERSION, keyCheck: keyCheck(key) }) + "\n"),
      fsync
    )
  }
  return key
}

const aad = (kind: string, generation: number, sequence: number): Buffer =>
  Buffer.from(`${kind}:${generation}:${sequence}`, "latin1")

/** @internal */
export const seal = (key: Uint8Array, plaintext: Uint8Array, additional: Buffer): Buffer => {
  const nonce = NodeCrypto.randomBytes(12)
  const cipher = NodeCrypto.createCipheriv("aes-256-gcm", key, nonce)
  cipher.setAAD(additional)
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  const tag = cipher.getAuthTag()
  const length = Buffer.alloc(4)
  length.writeUInt32BE(nonce.byteLength + body.byteLength + tag.byteLength)
  return Buffer.concat([length, nonce, body, tag])
}

const open = (key: Uint8Array, sealed: Buffer, additional: Buffer): Buffer | undefined => {
  if (sealed.byteLength < 28) return undefined
  try {
    const decipher = NodeCrypto.createDecipheriv("aes-256-gcm", key, sealed.subarray(0, 12))
    decipher.setAAD(additional)
    decipher.setAuthTag(sealed.subarray(sealed.byteLength - 16))
    return Buffer.concat([decipher.update(sealed.subarray(12, sealed.byteLength - 16)), decipher.final()])
  } catch {
    return undefined
  }
}

const headerOf = (magic: Buffer, generation: number): Buffer => {
  const header = Buffer.alloc(magic.byteLength + 8)
  magic.copy(header)
  header.writeBigUInt64BE(BigInt(generation), magic.byteLength)
  return header
}

/** @internal */
export interface Snapshot {
  readonly generation: number
  readonly body: unknown
}

/** Reads the snapshot, if any. @internal */
export const readSnapshot = (paths: Paths, key: Uint8Array): Snapshot | undefined => {
  if (!exists(paths.snapshot)) return undefined
  const data = Fs.readFileSync(paths.snapshot)
  if (data.byteLength < SNAPSHOT_MAGIC.byteLength + 12 || !data.subarray(0, SNAPSHOT_MAGIC.byteLength).equals(SNAPSHOT_MAGIC)) {
    throw new StateFileError(paths.snapshot, "not an emulator snapshot; move it away or use another --state-dir")
  }
  const generation = Number(data.readBigUInt64BE(SNAPSHOT_MAGIC.byteLength))
  const rest = data.subarray(SNAPSHOT_MAGIC.byteLength + 8)
  const length = rest.readUInt32BE(0)
  const plain = rest.byteLength === 4 + length
    ? open(key, rest.subarray(4), aad("snapshot", generation, 0))
    : undefined
  if (plain === undefined) throw new StateFileError(paths.snapshot, "corrupted (its checksum does not match)")
  return { generation, body: JSON.parse(plain.toString("utf8")) }
}

/** Writes a snapshot of `generation` by write-then-rename (with `fsync`, the directory fsync'ed after). @internal */
export const writeSnapshot = (paths: Paths, key: Uint8Array, generation: number, body: unknown, fsync: boolean): void => {
  const plain = Buffer.from(JSON.stringify(body), "utf8")
  writeAtomic(
    paths.snapshot,
    Buffer.concat([headerOf(SNAPSHOT_MAGIC, generation), seal(key, plain, aad("snapshot", generation, 0))]),
    fsync
  )
}

/** @internal */
export interface LogContents {
  readonly records: ReadonlyArray<unknown>
  /** Bytes at the end that were a record cut short (dropped). */
  readonly tornBytes: number
}

/** Reads the log of `generation`: none (or an older one, already in the snapshot) reads as empty. @internal */
export const readLog = (paths: Paths, key: Uint8Array, generation: number): LogContents => {
  if (!exists(paths.wal)) return { records: [], tornBytes: 0 }
  const data = Fs.readFileSync(paths.wal)
  const headerLength = WAL_MAGIC.byteLength + 8
  if (data.byteLength < headerLength || !data.subarray(0, WAL_MAGIC.byteLength).equals(WAL_MAGIC)) {
    throw new StateFileError(paths.wal, "not an emulator write-ahead log; move it away or use another --state-dir")
  }
  const logGeneration = Number(data.readBigUInt64BE(WAL_MAGIC.byteLength))
  // The snapshot of the next generation was written and the process stopped before the new log replaced this one.
  if (logGeneration < generation) return { records: [], tornBytes: 0 }
  if (logGeneration !== generation) {
    throw new StateFileError(paths.wal, `belongs to generation ${logGeneration}, the snapshot to ${generation}`)
  }
  const records: Array<unknown> = []
  let offset = headerLength
  while (offset < data.byteLength) {
    if (offset + 4 > data.byteLength) return { records, tornBytes: data.byteLength - offset }
    const length = data.readUInt32BE(offset)
    if (length > MAX_RECORD_BYTES || length < MIN_RECORD_BYTES) {
      throw new StateFileError(
        paths.wal,
        `record ${records.length + 1} at byte ${offset} is corrupted (its length field reads ${length} bytes, outside the ${MIN_RECORD_BYTES}..${MAX_RECORD_BYTES} a record can have)`
      )
    }
    const end = offset + 4 + length
    // Only the last append can be cut short: it ran past the end of the file.
    if (end > data.byteLength) return { records, tornBytes: data.byteLength - offset }
    const plain = open(key, data.subarray(offset + 4, end), aad("wal", generation, records.length))
    if (plain === undefined) {
      throw new StateFileError(paths.wal, `record ${records.length + 1} at byte ${offset} is corrupted (its checksum does not match)`)
    }
    records.push(JSON.parse(plain.toString("utf8")))
    offset = end
  }
  return { records, tornBytes: 0 }
}

/** An open log, appending records. @internal */
export interface LogWriter {
  /**
   * Appends the record and returns the log's size, or `undefined` (nothing written) when it would seal larger than
   * `MAX_RECORD_BYTES`. A failed write throws `StateFileError` with the log cut back to its size before the append
   * (the record can be appended again); when even that fails, `damaged` is true and the log must be replaced.
   */
  readonly append: (record: unknown) => number | undefined
  /** A failed append could not be undone: the log may end in a partial record, and nothing more is appended. */
  readonly damaged: () => boolean
  readonly size: () => number
  readonly close: () => void
}

/**
 * Starts a new, empty log of `generation` (write-then-rename; with `fsync`, the directory fsync'ed after, so the new
 * log replaces the old one across a power loss) and opens it for appending.
 *
 * @internal
 */
export const startLog = (paths: Paths, key: Uint8Array, generation: number, fsync: boolean): LogWriter => {
  writeAtomic(paths.wal, headerOf(WAL_MAGIC, generation), fsync)
  const fd = io.open(paths.wal, "a", 0o600)
  let sequence = 0
  let size = WAL_MAGIC.byteLength + 8
  let closed = false
  let damaged = false
  return {
    append: (record) => {
      if (damaged) throw new StateFileError(paths.wal, "a failed write could not be undone; the log must be replaced")
      const plain = Buffer.from(JSON.stringify(record), "utf8")
      if (plain.byteLength + MIN_RECORD_BYTES > MAX_RECORD_BYTES) return undefined
      const sealed = seal(key, plain, aad("wal", generation, sequence))
      // One write call per record: a kill leaves the page cache intact, so a returned write is durable against it.
      try {
        writeAll(fd, sealed)
        if (fsync) io.fsync(fd)
      } catch (cause) {
        // Part of the record may be in the file: left there, the next start would refuse the log as corrupted (or,
        // with records appended after it, read them as its body). Cut back to the last whole record; the file is
        // opened for appending, so the next record lands right there.
        try {
          io.truncate(fd, size)
          if (fsync) io.fsync(fd)
        } catch {
          damaged = true
        }
        throw new StateFileError(paths.wal, `could not append a record (${failureCode(cause)})`)
      }
      sequence++
      size += sealed.byteLength
      return size
    },
    damaged: () => damaged,
    size: () => size,
    close: () => {
      if (!closed) {
        closed = true
        io.close(fd)
      }
    }
  }
}
