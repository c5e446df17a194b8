#!/usr/bin/env bash
# Runs the unit and interop test tiers on other Node majors (default: 22 and 24) with the Node binaries that the npm
# registry ships (the node-<platform>-<arch> packages, which the `node` package itself installs), so no download from
# anywhere but the registry. Each run writes build/vitest-node<major>.json for the closing tally.
#   bash .ci/other-nodes.sh [major ...]
set -euo pipefail
cd "$(dirname "$0")/.."

majors=("$@")
[ ${#majors[@]} -eq 0 ] && majors=(22 24)
platform=$(node -p 'process.platform + "-" + process.arch')

for major in "${majors[@]}"; do
  dir="build/node-$major"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-$platform@$major"
  bin="$PWD/$dir/node_modules/node-$platform/bin"
  printf '\n==> Node %s: unit and interop tiers\n' "$("$bin/node" --version)"
  # Child processes the tests start (the CLI, tsc) find this Node first on PATH.
  PATH="$bin:$PATH" "$bin/node" node_modules/vitest/vitest.mjs run --project unit --project interop \
    --reporter=default --reporter=json --outputFile="build/vitest-node$major.json"
done
