// Runs the CLI from source (tsx, the source export condition), so the kill test needs no build.
import { main } from "../../src/cli/Cli.js"

main(process.argv.slice(2))
