/**
 * A request whose change the state directory cannot save (a full disk) gets the service's 500 with an error body,
 * not a defect; the emulator goes on, and a restart finds every acknowledged write. The failure is injected through
 * the persistence's internal file-system seam (`StateFiles.io`).
 */
import { afterEach, describe, expect, it, vi } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Emulator from "../src/Emulator.js"
import * as Files from "../src/persistence/internal/StateFiles.js"
import { call } from "./support.js"

afterEach(() => {
  vi.restoreAllMocks()
})

describe("a request whose change cannot be saved", () => {
  it.effect("is answered 500 with a Key Vault error body; the emulator goes on and loses nothing acknowledged", () =>
    Effect.gen(function*() {
      const stateDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-emu-handler-state-"))
      const first = yield* Emulator.open({ stateDir })
      expect((yield* call(first, "PUT", "/secrets/before", { body: { value: "1" } })).status).toBe(200)

      const realWrite = Files.io.write
      const write = vi.spyOn(Files.io, "write")
        .mockImplementationOnce((fd, data, offset) => realWrite(fd, data.subarray(0, offset + 10), offset))
        .mockImplementationOnce(() => {
          throw Object.assign(new Error("ENOSPC: injected"), { code: "ENOSPC" })
        })
      const failed = yield* call(first, "PUT", "/secrets/during", { body: { value: "failed-secret-value" } })
      expect(write).toHaveBeenCalledTimes(2)
      expect(failed.status).toBe(500)
      expect(failed.json.error.code).toBe("InternalServerError")
      expect(failed.text).not.toContain("failed-secret-value")
      write.mockRestore()

      expect((yield* call(first, "PUT", "/secrets/after", { body: { value: "3" } })).status).toBe(200)
      Fs.rmSync(Files.pathsFor(stateDir).lock)
      const second = yield* Emulator.open({ stateDir })
      for (const [name, value] of [["before", "1"], ["after", "3"]]) {
        const read = yield* call(second, "GET", `/secrets/${name}`)
        expect([name, read.status, read.json.value]).toEqual([name, 200, value])
      }
      yield* second.shutdown
      yield* first.shutdown
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }), 30_000)
})
