import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["@effect-azure/source"] },
  test: {
    name: "key-vault",
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
