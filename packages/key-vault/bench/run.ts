/**
 * Benchmark runner: `npm run bench -- <suite> [options]`. Each suite prints what it measures as it goes and ends with
 * one JSON object on its last line.
 */
const suites: Record<string, () => Promise<{ readonly main: (argv: ReadonlyArray<string>) => Promise<void> }>> = {
  crypto: () => import("./crypto.js"),
  cache: () => import("./cache.js")
}

const [name, ...rest] = process.argv.slice(2)
const load = name === undefined ? undefined : suites[name]
if (load === undefined) {
  console.error(`usage: npm run bench -- <${Object.keys(suites).join("|")}> [options]`)
  process.exit(2)
}
load()
  .then((suite) => suite.main(rest))
  .then(() => process.exit(0), (error: unknown) => {
    console.error(error)
    process.exit(1)
  })
