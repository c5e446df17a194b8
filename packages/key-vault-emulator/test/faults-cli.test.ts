import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Cli from "../src/cli/Cli.js"

const tempFile = (content: string): string => {
  const file = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-emulator-faults-cli-")), "faults.json")
  Fs.writeFileSync(file, content)
  return file
}

const usage = (argv: ReadonlyArray<string>): string =>
  Either.match(Cli.parseArgs(argv), { onLeft: (error) => error.message, onRight: () => "parsed" })

const get = (url: string): Effect.Effect<{ readonly status: number; readonly headers: Http.IncomingHttpHeaders }, Error> =>
  Effect.async((resume) => {
    const req = Http.request(url, { headers: { authorization: "Bearer t" }, agent: false }, (res) => {
      res.resume()
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers })))
    })
    req.on("error", (error) => resume(Effect.fail(error)))
    req.end()
  })

describe("CLI fault flags", () => {
  it("reads repeated --fault rules, --faults-file paths, --seed and the throttle switches", () => {
    const parsed = Cli.parseArgs([
      "--fault",
      "{\"operation\":\"getSecret\",\"times\":2,\"fault\":{\"_tag\":\"Status\",\"status\":503}}",
      "--fault={\"name\":\"/^db-/i\",\"probability\":0.25,\"fault\":{\"_tag\":\"Reset\"}}",
      "--faults-file",
      "a.json",
      "--faults-file=b.json",
      "--seed",
      "4294967295",
      "--throttle",
      "--throttle-retry-after"
    ])
    expect(Either.getOrThrow(parsed)).toMatchObject({
      faults: [
        { operation: "getSecret", times: 2, fault: { _tag: "Status", status: 503 } },
        { name: "/^db-/i", probability: 0.25, fault: { _tag: "Reset" } }
      ],
      faultsFiles: ["a.json", "b.json"],
      seed: 4294967295,
      throttle: true,
      throttleRetryAfter: true
    })
    expect(Either.getOrThrow(Cli.parseArgs(["--throttle", "--throttle-retry-after=off"])).throttleRetryAfter).toBe(false)
    // Without the new flags, nothing new appears in the options.
    expect(Either.getOrThrow(Cli.parseArgs([])).faults).toBeUndefined()
  })

  it("refuses invalid rules and values with a message (the command exits 2)", () => {
    expect([
      usage(["--fault", "{not json"]),
      usage(["--fault", "{\"fault\":{\"_tag\":\"Status\",\"status\":700}}"]),
      usage(["--fault", "{\"operation\":\"getSecrets\",\"fault\":{\"_tag\":\"Reset\"}}"]),
      usage(["--fault", "{\"fault\":{\"_tag\":\"Reset\"},\"operations\":[\"getSecret\"]}"]),
      usage(["--seed", "-1"]),
      usage(["--throttle=yes"]),
      usage(["--throttle", "--throttle-retry-after=maybe"]),
      usage(["--throttle-retry-after"])
    ]).toEqual([
      expect.stringMatching(/^--fault: invalid fault rule: /),
      expect.stringMatching(/^--fault: invalid fault rule: fault\.status: /),
      expect.stringContaining("--fault: invalid fault rule: operation: unknown operation \"getSecrets\""),
      expect.stringMatching(/^--fault: invalid fault rule: operations: /),
      "--seed expects an integer from 0 to 4294967295, got \"-1\"",
      "--throttle does not take a value",
      "--throttle-retry-after expects on or off, got \"maybe\"",
      "--throttle-retry-after needs --throttle"
    ])
  })

  it("documents the flags in --help", () => {
    for (const flag of ["--fault <json>", "--faults-file <path>", "--seed <n>", "--throttle", "--throttle-retry-after"]) {
      expect(Cli.USAGE).toContain(flag)
    }
  })

  it.effect("reads --faults-file arrays in order; a missing file or an invalid rule is a usage error", () =>
    Effect.gen(function*() {
      const good = tempFile(JSON.stringify([
        { operation: "getSecret", fault: { _tag: "Status", status: 503 } },
        { fault: { _tag: "Latency", millis: 10 } }
      ]))
      const rules = yield* Cli.readFaultsFiles([good, good])
      expect(rules.map((r) => r.fault._tag)).toEqual(["Status", "Latency", "Status", "Latency"])

      const missing = yield* Effect.flip(Cli.readFaultsFiles(["/nonexistent/faults.json"]))
      expect(missing).toMatchObject({ _tag: "UsageError" })
      expect(missing.message).toContain("--faults-file /nonexistent/faults.json: cannot read it")

      const notArray = tempFile(JSON.stringify({ fault: { _tag: "Reset" } }))
      const invalid = yield* Effect.flip(Cli.readFaultsFiles([notArray]))
      expect(invalid.message).toMatch(/^--faults-file .*: invalid fault rules: /)

      const run = yield* Effect.flip(Cli.run(["--http", "--faults-file", notArray]))
      expect(run._tag).toBe("UsageError")
    }))

  it.scopedLive("starts with file and inline rules and throttling, and serves them", () =>
    Effect.gen(function*() {
      const file = tempFile(JSON.stringify([{ name: "from-file", fault: { _tag: "Status", status: 502 } }]))
      const options = Either.getOrThrow(Cli.parseArgs([
        "--http",
        "--faults-file",
        file,
        "--fault",
        "{\"name\":\"inline\",\"fault\":{\"_tag\":\"Status\",\"status\":504}}",
        "--throttle",
        "--throttle-retry-after"
      ]))
      const info = yield* Cli.start(options)
      const url = (name: string) => `${info.vaultUrl}/secrets/${name}?api-version=2025-07-01`
      expect((yield* get(url("from-file"))).status).toBe(502)
      expect((yield* get(url("inline"))).status).toBe(504)
      expect((yield* get(url("other"))).status).toBe(404)
    }))
})
