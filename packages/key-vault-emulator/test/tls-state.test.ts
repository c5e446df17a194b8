/**
 * The state directory holds the CA key: private to its owner, tightened when an earlier run left it loose, refused
 * when it belongs to someone else; and a CA from before name constraints is replaced.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as NodeCrypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Tls from "../src/server/Tls.js"
import { nameConstraintsOf, writeUnconstrainedCa } from "./tls-support.js"

const tempDir = (): string => Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-emulator-state-"))

const FILES = ["ca.pem", "ca-key.pem", "server.pem", "server-key.pem", ".gitignore"]

const modeOf = (path: string): number => Fs.statSync(path).mode & 0o777

const captureLogs = () => {
  const messages: Array<string> = []
  const logger = Logger.make(({ message }) => {
    messages.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
  })
  return { messages, layer: Logger.replace(Logger.defaultLogger, logger) }
}

const isRoot = process.getuid?.() === 0
const posix = process.platform !== "win32"

describe("the local CA", () => {
  it.live("an existing CA without name constraints is replaced, and the leaf it signed with it", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const old = yield* Effect.promise(() => writeUnconstrainedCa(stateDir))
      expect(nameConstraintsOf(old.ca.certPem)).toBeUndefined()

      const tls = yield* Tls.ensureTlsMaterial({ stateDir })
      expect([tls.caCreated, tls.certCreated]).toEqual([true, true])
      expect(tls.caCertPem).not.toBe(old.ca.certPem)
      expect(tls.certPem).not.toBe(old.leaf.certPem)
      expect(nameConstraintsOf(tls.caCertPem)?.critical).toBe(true)
      expect(Fs.readFileSync(Path.join(stateDir, "ca.pem"), "utf8")).toBe(tls.caCertPem)
      const leaf = new NodeCrypto.X509Certificate(tls.certPem)
      expect(leaf.checkIssued(new NodeCrypto.X509Certificate(tls.caCertPem))).toBe(true)
      expect(leaf.checkIssued(new NodeCrypto.X509Certificate(old.ca.certPem))).toBe(false)

      // The replacement is kept from then on.
      const next = yield* Tls.ensureTlsMaterial({ stateDir })
      expect([next.caCreated, next.certCreated, next.caCertPem]).toEqual([false, false, tls.caCertPem])
    }))
})

describe.runIf(posix)("the state directory", () => {
  it.live("is created 0700 with 0600 files; its parents keep the usual mode", () =>
    Effect.gen(function*() {
      const parent = tempDir()
      const stateDir = Path.join(parent, "nested", "state")
      yield* Tls.ensureTlsMaterial({ stateDir })
      expect(modeOf(stateDir)).toBe(0o700)
      for (const file of FILES) expect([file, modeOf(Path.join(stateDir, file))]).toEqual([file, 0o600])
      const umask = process.umask()
      expect(modeOf(Path.join(parent, "nested"))).toBe(0o777 & ~umask)
    }))

  it.live("left loose by an earlier run, is tightened (0700, files 0600) with a warning, and its CA kept", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const first = yield* Tls.ensureTlsMaterial({ stateDir })
      Fs.chmodSync(stateDir, 0o755)
      Fs.chmodSync(Path.join(stateDir, "ca-key.pem"), 0o666)
      Fs.chmodSync(Path.join(stateDir, "server-key.pem"), 0o640)
      Fs.chmodSync(Path.join(stateDir, "ca.pem"), 0o644)

      const logs = captureLogs()
      const second = yield* Tls.ensureTlsMaterial({ stateDir }).pipe(Effect.provide(logs.layer))
      expect(modeOf(stateDir)).toBe(0o700)
      for (const file of FILES) expect([file, modeOf(Path.join(stateDir, file))]).toEqual([file, 0o600])
      expect([second.caCreated, second.certCreated, second.caCertPem]).toEqual([false, false, first.caCertPem])

      expect(logs.messages).toHaveLength(4)
      expect(logs.messages[0]).toContain(`${stateDir} was accessible to other users (mode 0755); now 0700`)
      expect(logs.messages.some((m) => m.includes(`ca-key.pem was accessible to other users (mode 0666)`))).toBe(true)
      // Private material never reaches the log, only paths and modes.
      expect(logs.messages.join("\n")).not.toContain("PRIVATE KEY")

      const quiet = captureLogs()
      yield* Tls.ensureTlsMaterial({ stateDir }).pipe(Effect.provide(quiet.layer))
      expect(quiet.messages).toEqual([])
    }))

  it.live.runIf(isRoot)("owned by another user, is refused with what to do, and left untouched", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      Fs.chmodSync(stateDir, 0o755)
      Fs.chownSync(stateDir, 65534, 65534)
      const exit = yield* Effect.exit(Tls.ensureTlsMaterial({ stateDir }))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? exit.cause : undefined
      const message = error?._tag === "Fail" ? error.error.message : ""
      expect(message).toContain(`(${stateDir})`)
      expect(message).toContain("belongs to user id 65534")
      expect(message).toContain("--state-dir")
      expect(modeOf(stateDir)).toBe(0o755)
      expect(Fs.readdirSync(stateDir)).toEqual([])
    }))

  it.live.runIf(isRoot)("with a key file owned by another user, is refused", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      yield* Tls.ensureTlsMaterial({ stateDir })
      Fs.chownSync(Path.join(stateDir, "ca-key.pem"), 65534, 65534)
      const error = yield* Effect.flip(Tls.ensureTlsMaterial({ stateDir }))
      expect(error.message).toContain(`(${Path.join(stateDir, "ca-key.pem")})`)
      expect(error.message).toContain("belongs to user id 65534")
    }))

  it.live.runIf(posix && !isRoot)("owned by another user (here: root), is refused before anything is written", () =>
    Effect.gen(function*() {
      // `/` belongs to root; as anyone else, the ownership check must refuse it before any chmod or write.
      const error = yield* Effect.flip(Tls.ensureTlsMaterial({ stateDir: "/" }))
      expect(error.message).toContain("belongs to user id 0")
    }))
})
