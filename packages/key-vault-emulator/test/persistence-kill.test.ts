import { describe, expect, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const here = Path.dirname(fileURLToPath(import.meta.url))
const repoRoot = Path.resolve(here, "../../..")
const script = Path.join(here, "support", "persistence-cli.ts")

const start = async (stateDir: string) => {
  const child = ChildProcess.spawn(
    process.execPath,
    ["--conditions=@effect-azure/source", "--import", "tsx", script, "--http", "--port", "0", "--state-dir", stateDir],
    { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] }
  )
  let stdout = ""
  let stderr = ""
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no startup line; stderr: ${stderr}`)), 20_000)
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      const end = stdout.indexOf("\n")
      if (end !== -1) {
        clearTimeout(timer)
        resolve(stdout.slice(0, end))
      }
    })
    child.on("exit", () => {
      clearTimeout(timer)
      reject(new Error(`exited before starting; stderr: ${stderr}`))
    })
  })
  const info = JSON.parse(line) as { port: number }
  return { child, base: `http://localhost:${info.port}`, exited: new Promise((resolve) => child.on("exit", resolve)) }
}

const put = (base: string, name: string, value: string) =>
  fetch(`${base}/secrets/${name}?api-version=7.5`, {
    method: "PUT",
    headers: { authorization: "Bearer t", "content-type": "application/json" },
    body: JSON.stringify({ value })
  })

describe("persistence across kill -9", () => {
  it("finds every acknowledged write after SIGKILL mid-stream, and nothing half-written", async () => {
    const stateDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-emu-kill-"))
    const first = await start(stateDir)
    const acknowledged: Array<number> = []
    let killed = false
    // Eight writers in parallel; the kill lands while requests are in flight.
    const writer = async (lane: number) => {
      for (let i = 0; !killed; i++) {
        const n = lane * 100_000 + i
        try {
          const response = await put(first.base, `s-${n}`, `value-${n}`)
          if (response.status === 200) acknowledged.push(n)
        } catch {
          return
        }
      }
    }
    const lanes = Array.from({ length: 8 }, (_, lane) => writer(lane))
    while (acknowledged.length < 150) await new Promise((resolve) => setImmediate(resolve))
    first.child.kill("SIGKILL")
    killed = true
    await Promise.all(lanes)
    await first.exited

    const second = await start(stateDir)
    try {
      for (const n of acknowledged) {
        const response = await fetch(`${second.base}/secrets/s-${n}/?api-version=7.5`, {
          headers: { authorization: "Bearer t" }
        })
        expect(response.status).toBe(200)
        expect(((await response.json()) as { value: string }).value).toBe(`value-${n}`)
      }
      // Whatever else survived (written, not yet acknowledged) is whole: every listed secret reads its own value.
      let next: string | null = `${second.base}/secrets?api-version=7.5&maxresults=25`
      let listed = 0
      while (next !== null) {
        const page = (await (await fetch(next, { headers: { authorization: "Bearer t" } })).json()) as {
          value: Array<{ id: string }>
          nextLink: string | null
        }
        for (const item of page.value) {
          const name = item.id.split("/").pop()!
          const got = (await (await fetch(`${second.base}/secrets/${name}/?api-version=7.5`, {
            headers: { authorization: "Bearer t" }
          })).json()) as { value: string }
          expect(got.value).toBe(`value-${name.slice(2)}`)
          listed++
        }
        next = page.nextLink
      }
      expect(listed).toBeGreaterThanOrEqual(acknowledged.length)
    } finally {
      second.child.kill("SIGKILL")
      await second.exited
      Fs.rmSync(stateDir, { recursive: true, force: true })
    }
  }, 60_000)
})
