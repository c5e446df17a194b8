/**
 * Every command the README names answers `--help` with its usage on stdout and exit code 0, and a bad argument with
 * a message on stderr and exit code 2. Runs the scripts as `npm run` does (node + tsx, source condition).
 */
import { describe, expect, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const packageDir = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")

const run = (script: string, args: ReadonlyArray<string>) =>
  ChildProcess.spawnSync(
    process.execPath,
    ["--conditions=@effect-azure/source", "--import", "tsx", Path.join(packageDir, "bench", script), ...args],
    { cwd: packageDir, encoding: "utf8", timeout: 60_000 }
  )

describe("command-line help", () => {
  it.each([
    ["bench", "run.ts", ["--help"], "npm run bench -- <crypto|cache|pipeline|monitor|telemetry|fleet>"],
    ["bench fleet", "run.ts", ["fleet", "--help"], "npm run bench -- fleet"],
    ["bench pipeline", "run.ts", ["pipeline", "--help"], "npm run bench -- pipeline"],
    ["bench monitor", "run.ts", ["monitor", "--help"], "npm run bench -- monitor"],
    ["bench cache", "run.ts", ["cache", "--help"], "npm run bench -- cache"],
    ["bench telemetry", "run.ts", ["telemetry", "--help"], "npm run bench -- telemetry"],
    ["bench crypto", "run.ts", ["crypto", "-h"], "npm run bench -- crypto"],
    ["replay", "replay-cli.ts", ["--help"], "npm run replay --"],
    ["soak", "soak.ts", ["--help"], "npm run soak --"]
  ] as const)("%s --help prints usage and exits 0", (_name, script, args, expected) => {
    const result = run(script, args)
    expect(result.stderr).toBe("")
    expect(result.stdout).toContain(expected)
    expect(result.status).toBe(0)
  })

  it.each([
    ["bench", "run.ts", ["no-such-suite"], "unknown suite no-such-suite"],
    ["replay", "replay-cli.ts", ["--no-such-flag"], "unknown option --no-such-flag"],
    ["soak", "soak.ts", ["--no-such-flag"], "unknown flag --no-such-flag"],
    ["bench", "run.ts", ["--no-such-flag"], "unknown option --no-such-flag"],
    ["bench pipeline", "run.ts", ["pipeline", "--rounds", "zero"], "--rounds must be a positive integer, got zero"],
    ["bench monitor", "run.ts", ["monitor", "--near-percent", "101"], "--near-percent must be an integer from 0 to 100, got 101"],
    ["bench telemetry", "run.ts", ["telemetry", "--hits", "1.5"], "--hits must be a positive integer, got 1.5"],
    ["bench telemetry", "run.ts", ["telemetry", "--no-such-flag"], "unknown option --no-such-flag"],
    ["replay", "replay-cli.ts", ["--zipf", "--ttl"], "--ttl needs a value"],
    ["soak", "soak.ts", ["--count", "many"], "--count needs a number"]
  ] as const)("%s with a bad argument says why on stderr and exits 2", (_name, script, args, expected) => {
    const result = run(script, args)
    expect(result.stderr).toContain(expected)
    expect(result.stdout).toBe("")
    expect(result.status).toBe(2)
  })
})
