/**
 * Benchmark runner: `npm run bench -- <suite> [options]`. Each suite prints what it measures as it goes and ends with
 * one JSON object on its last line.
 */
interface Suite {
  readonly usage: string
  readonly main: (argv: ReadonlyArray<string>) => Promise<void>
}

const suites: Record<string, () => Promise<Suite>> = {
  crypto: () => import("./crypto.js"),
  cache: () => import("./cache.js")
}

const USAGE = `usage: npm run bench -- <${Object.keys(suites).join("|")}> [options]
       npm run bench -- <suite> --help   the suite's options`

const isHelp = (arg: string | undefined): boolean => arg === "--help" || arg === "-h" || arg === "help"

const [name, ...rest] = process.argv.slice(2)
if (isHelp(name)) {
  console.log(USAGE)
  process.exit(0)
}
const load = name === undefined ? undefined : suites[name]
if (load === undefined) {
  console.error(name === undefined ? USAGE : `bench: unknown suite ${name}\n${USAGE}`)
  process.exit(2)
}
load()
  .then((suite) => {
    if (rest.some(isHelp)) {
      console.log(suite.usage)
      return
    }
    return suite.main(rest)
  })
  .then(() => process.exit(0), (error: unknown) => {
    console.error(error)
    process.exit(1)
  })
