/**
 * Benchmark runner: `npm run bench -- <suite> [options]`. Each suite prints what it measures as it goes and ends with
 * one JSON object on its last line.
 *
 * Exit codes: 0 done (or help), 1 the suite failed, 2 bad arguments.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import * as Args from "./Args.js"

interface Suite {
  readonly usage: string
  readonly main: (argv: ReadonlyArray<string>) => Promise<void>
}

const suites: Record<string, () => Promise<Suite>> = {
  crypto: () => import("./crypto.js"),
  cache: () => import("./cache.js"),
  pipeline: () => import("./pipeline.js"),
  monitor: () => import("./monitor.js"),
  telemetry: () => import("./telemetry.js"),
  fleet: () => import("./fleet.js")
}

const USAGE = `usage: npm run bench -- <${Object.keys(suites).join("|")}> [options]
       npm run bench -- <suite> --help   the suite's options`

const HELP_OPTION = { help: { type: "boolean", short: "h" } } as const

const usageError = (message: string, usage: string = USAGE): never => {
  console.error(`bench: ${message}\n${usage}`)
  process.exit(2)
}

const argv = process.argv.slice(2)
// Options before the suite name are the runner's; everything after it belongs to the suite.
const at = argv.findIndex((arg) => !arg.startsWith("-"))
const own = at === -1 ? argv : argv.slice(0, at)
const name = at === -1 ? undefined : argv[at]
const rest = at === -1 ? [] : argv.slice(at + 1)

let help = false
try {
  help = Args.parse(own, HELP_OPTION).values.help === true
} catch (error) {
  usageError(error instanceof Error ? error.message : String(error))
}
if (help || name === "help") {
  console.log(USAGE)
  process.exit(0)
}
const load = name === undefined ? undefined : suites[name]
if (load === undefined) {
  if (name === undefined) {
    console.error(USAGE)
    process.exit(2)
  }
  usageError(`unknown suite ${name}`)
}
// `--help` anywhere after the suite name asks for the suite's usage; its other options are left to the suite.
const suiteHelp = parseArgs({ args: rest, options: HELP_OPTION, strict: false, allowPositionals: true }).values.help === true

// Suites that measure the client's speed run the built packages (`dist/`, what an application runs, as the official
// SDK runs its compiled JavaScript) unless `--from source` asks for the TypeScript sources through tsx: the runner
// starts itself again without the `@effect-azure/source` condition (their package imports then resolve to `dist/`).
const DIST_SUITES: ReadonlySet<string> = new Set(["pipeline", "telemetry"])
const fromAt = rest.indexOf("--from")
const fromInline = rest.find((arg) => arg.startsWith("--from="))
const from = fromInline !== undefined ? fromInline.slice("--from=".length) : fromAt === -1 ? "dist" : rest[fromAt + 1]
const suiteArgs = rest.filter((arg, i) => arg !== fromInline && i !== fromAt && (fromAt === -1 || i !== fromAt + 1))
if (!suiteHelp && DIST_SUITES.has(name!)) {
  if (from !== "dist" && from !== "source") usageError(`--from must be dist or source, got ${from ?? "nothing"}`)
  const sourceCondition = process.execArgv.some((arg) => arg.startsWith("--conditions"))
  if (from === "dist" && sourceCondition) {
    const built = ["../dist/KeyVault.js", "../../key-vault-emulator/dist/Emulator.js"]
      .every((path) => Fs.existsSync(new URL(path, import.meta.url)))
    if (!built) usageError("the built packages are missing: run `npm run build` first (or pass --from source)")
    const child = ChildProcess.spawnSync(
      process.execPath,
      [...process.execArgv.filter((arg) => !arg.startsWith("--conditions")), fileURLToPath(import.meta.url), name!, ...suiteArgs],
      { stdio: "inherit" }
    )
    process.exit(child.status ?? 1)
  }
}

load!()
  .then((suite) => {
    if (suiteHelp) {
      console.log(suite.usage)
      return
    }
    return Promise.resolve().then(() => suite.main(DIST_SUITES.has(name!) ? suiteArgs : rest)).catch((error: unknown) => {
      // A suite's own argument check (bench/pipeline.ts) throws a `UsageError`.
      if (error instanceof Args.UsageError) usageError(error.message, suite.usage)
      throw error
    })
  })
  .then(() => process.exit(0), (error: unknown) => {
    console.error(error)
    process.exit(1)
  })
