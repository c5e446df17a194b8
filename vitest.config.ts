import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

/**
 * Three tiers, one command: `npm test` runs them all; `npm test -- --project unit` runs the fast tier alone.
 *
 * - unit: in-process only (no socket, no child process, no official SDK).
 * - interop: real sockets, the CLI as a child process, and the official `@azure/keyvault-*` clients as the oracle.
 * - tools: the repository's own scripts (bench, replay, soak) as a developer runs them.
 * - e2e: a real vault; opt-in with KEYVAULT_E2E_TESTS=true, reported as skipped otherwise.
 *
 * A new test file lands in `unit` unless it is listed below: list it here when it opens a socket, spawns a process
 * or imports an `@azure/*` package.
 */
const interop = [
  "packages/key-vault/test/socket.test.ts",
  "packages/key-vault/test/undici-client.test.ts",
  "packages/key-vault/test/fleet-redis.test.ts",
  "packages/key-vault/test/fleet-replay-redis.test.ts",
  "packages/key-vault-emulator/test/certificates-sdk-interop.test.ts",
  "packages/key-vault-emulator/test/certificates-tls.test.ts",
  "packages/key-vault-emulator/test/cli.test.ts",
  "packages/key-vault-emulator/test/dashboard-browser.test.ts",
  "packages/key-vault-emulator/test/event-grid-interop.test.ts",
  "packages/key-vault-emulator/test/faults-cli.test.ts",
  "packages/key-vault-emulator/test/faults-sdk.test.ts",
  "packages/key-vault-emulator/test/faults-server.test.ts",
  "packages/key-vault-emulator/test/journal-stream-server.test.ts",
  "packages/key-vault-emulator/test/keys-sdk-interop.test.ts",
  "packages/key-vault-emulator/test/sdk-interop.test.ts",
  "packages/key-vault-emulator/test/server.test.ts",
  "packages/key-vault-emulator/test/throttle-switch-sdk.test.ts",
  "packages/key-vault-emulator/test/vaults-cli.test.ts",
  "packages/key-vault-emulator/test/vaults-isolation.test.ts",
  "packages/key-vault-emulator/test/vaults-port-routing.test.ts"
]
const tools = ["packages/key-vault/test/cli-help.test.ts"]
const e2e = ["packages/key-vault/test/e2e.test.ts"]

// Tests resolve the workspace packages to their TypeScript sources (the project-scoped export condition).
const resolve = { conditions: ["@effect-azure/source"] }
const timeouts = { testTimeout: 30_000, hookTimeout: 30_000 }

export default defineConfig({
  test: {
    // Vitest's default (cores - 1) leaves one worker on a 2-core machine; most tests wait on I/O or a child process, so
    // two workers there take the suite from ~125 s to ~80 s (measured on the CI machine kind).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      { resolve, test: { name: "unit", include: ["packages/*/test/**/*.test.ts"], exclude: [...interop, ...tools, ...e2e], ...timeouts } },
      { resolve, test: { name: "interop", include: interop, ...timeouts } },
      { resolve, test: { name: "tools", include: tools, ...timeouts } },
      { resolve, test: { name: "e2e", include: e2e, ...timeouts } }
    ]
  }
})
