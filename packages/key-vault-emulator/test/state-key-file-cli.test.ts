/**
 * `--state-key-file`: the operator's key is read as the state directory's own `state.key` is, refused (a usage error
 * naming the file and its mode, never the key) when group or others have access to it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Cli from "../src/cli/Cli.js"

const KEY_HEX = "3f".repeat(32)

describe("--state-key-file", () => {
  it.effect("is refused when others can read it, with its mode and without the key", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-emu-keyfile-"))
      const keyFile = Path.join(dir, "state.key")
      Fs.writeFileSync(keyFile, KEY_HEX, { mode: 0o644 })
      Fs.chmodSync(keyFile, 0o644)
      const refused = yield* Effect.flip(
        Cli.run(["--http", "--state-dir", Path.join(dir, "state"), "--state-key-file", keyFile])
      )
      expect(refused._tag).toBe("UsageError")
      expect(refused.message).toContain(`--state-key-file ${keyFile}`)
      expect(refused.message).toContain("0644")
      expect(refused.message).not.toContain(KEY_HEX)
      expect(Fs.existsSync(Path.join(dir, "state", "vaults"))).toBe(false)
      Fs.rmSync(dir, { recursive: true, force: true })
    }))
})
