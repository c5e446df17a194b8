#!/usr/bin/env node
// Runs the compiled CLI; `npm run build` (tsc -b) produces ../dist.
import { main } from "../dist/cli/Cli.js"

main(process.argv.slice(2))
