import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Emulator from "../src/Emulator.js"
import * as Seed from "../src/vaults/Seed.js"

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-emu-state-"))

const document = {
  vaults: [
    {
      name: "default",
      secrets: [{ name: "plain", value: "top-secret-value", contentType: "text/plain", tags: { a: "b" } }],
      keys: [{ name: "rsa", kty: "RSA", keySize: 2048 }, { name: "ec", kty: "EC", curve: "P-256" }],
      certificates: [{ name: "cert" }]
    },
    { name: "second", settings: { recoverableDays: 7 }, secrets: [{ name: "other", value: "2" }] }
  ]
}

describe("persistence", () => {
  it.effect("a restart keeps vaults, every object kind, deleted bins, key material and the clock offset", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const first = yield* Emulator.open({ stateDir, seedDocument: document })
      expect(first.seeded?.keys).toBe(2)
      yield* first.engine.secrets.set("gone", { value: Redacted.make("x") })
      yield* first.engine.secrets.delete("gone")
      yield* first.clock.advance("1 hour")
      const before = yield* Seed.exportState(first.vaults, { includeValues: true })
      yield* first.shutdown

      // Files are private and hold no value in the clear.
      const dir = Path.join(stateDir, "vaults")
      expect(Fs.statSync(dir).mode & 0o777).toBe(0o700)
      for (const file of Fs.readdirSync(dir)) {
        expect(Fs.statSync(Path.join(dir, file)).mode & 0o777).toBe(0o600)
        expect(Fs.readFileSync(Path.join(dir, file)).includes("top-secret-value")).toBe(false)
      }

      const second = yield* Emulator.open({ stateDir, seedDocument: document })
      expect(second.seeded).toBeUndefined()
      const after = yield* Seed.exportState(second.vaults, { includeValues: true })
      expect(after).toEqual(before)
      const deleted = yield* second.engine.secrets.getDeleted("gone")
      expect(deleted.name).toBe("gone")
      expect(yield* second.clock.offsetMillis).toBeGreaterThanOrEqual(3_600_000)
      yield* second.shutdown
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }), 60_000)

  it.effect("a corrupted or foreign state file is an error at start and is left as it was", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const first = yield* Emulator.open({ stateDir })
      yield* first.engine.secrets.set("s", { value: Redacted.make("v") })
      yield* Effect.yieldNow()
      yield* first.shutdown
      const wal = Path.join(stateDir, "vaults", "wal.bin")
      const bytes = Fs.readFileSync(wal)
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 3) ^ 0xff, bytes.length - 3)
      Fs.writeFileSync(wal, bytes)
      // Now the last record is complete but corrupt: an error, not a silent drop... add a record after it.
      Fs.appendFileSync(wal, Buffer.from([0, 0, 0, 40, ...new Array(40).fill(1)]))
      const error = yield* Effect.flip(Emulator.open({ stateDir }))
      expect(error.message).toContain("corrupted")
      expect(Fs.readFileSync(wal).byteLength).toBe(bytes.byteLength + 44)

      const foreign = tempDir()
      Fs.mkdirSync(Path.join(foreign, "vaults"))
      Fs.writeFileSync(Path.join(foreign, "vaults", "state.json"), "{\"hello\":1}")
      const foreignError = yield* Effect.flip(Emulator.open({ stateDir: foreign }))
      expect(foreignError.message).toContain("not an emulator state file")
      expect(Fs.readFileSync(Path.join(foreign, "vaults", "state.json"), "utf8")).toBe("{\"hello\":1}")

      const wrongKey = yield* Effect.flip(Emulator.open({ stateDir, stateKey: new Uint8Array(32) }))
      expect(wrongKey.message).toContain("key")
      Fs.rmSync(stateDir, { recursive: true, force: true })
      Fs.rmSync(foreign, { recursive: true, force: true })
    }))
})

describe("seed", () => {
  it.effect("export then seed round-trips; without values, secrets are left out of the values", () =>
    Effect.gen(function*() {
      const first = yield* Emulator.open({ seedDocument: document })
      const exported = yield* Seed.exportState(first.vaults, { includeValues: true })
      const second = yield* Emulator.open({ seedDocument: JSON.parse(JSON.stringify(exported)) })
      const again = yield* Seed.exportState(second.vaults, { includeValues: true })
      // A PFX is re-sealed on import (new salt), so certificates compare by their certificate, not the bundle bytes.
      const thumbprints = (emulator: Emulator.Emulator) =>
        Effect.map(emulator.engine.certificates.list(false), (all) =>
          all.map(({ certificate }) => Buffer.from(certificate.thumbprint!).toString("hex")))
      expect(yield* thumbprints(second)).toEqual(yield* thumbprints(first))
      const withoutBundles = (doc: Seed.SeedDocument) =>
        JSON.parse(JSON.stringify(doc, (key, value) => key === "value" && typeof value === "string" && value.startsWith("MII") ? "<pfx>" : value))
      expect(withoutBundles(again)).toEqual(withoutBundles(exported))
      const bare = yield* Seed.exportState(first.vaults, { includeValues: false })
      expect(JSON.stringify(bare)).not.toContain("top-secret-value")
      expect(JSON.stringify(bare)).not.toContain("\"d\"")
    }), 60_000)

  it.effect("a bad seed document names the entry and field", () =>
    Effect.gen(function*() {
      const wrongType = yield* Effect.flip(
        Emulator.open({ seedDocument: { vaults: [{ name: "default", secrets: [{ name: "a", value: 1 }] }] } })
      )
      expect(wrongType.message).toBe("seed vaults[0].secrets[0].value: must be a string")
      const badKey = yield* Effect.flip(
        Emulator.open({ seedDocument: { vaults: [{ name: "v1x", keys: [{ name: "k", kty: "RSA", keySize: 1000 }] }] } })
      )
      expect(badKey.message).toMatch(/^seed vaults\[0\]\.keys\[0\]: /)
      const badVault = yield* Effect.flip(Emulator.open({ seedDocument: { vaults: [{ name: "A_B" }] } }))
      expect(badVault.message).toMatch(/^seed vaults\[0\]\.name: /)
    }))
})
