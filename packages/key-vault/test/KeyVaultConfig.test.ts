import { describe, expect, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as KeyVaultConfig from "../src/config/KeyVaultConfig.js"

const fromEnv = (env: Record<string, string>) =>
  Effect.flatMap(KeyVaultConfig.KeyVaultConfig, Effect.succeed).pipe(
    Effect.provide(KeyVaultConfig.layerConfig().pipe(
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
    ))
  )

describe("KeyVaultConfig", () => {
  it("normalises the vault URL to its origin and defaults the api-version", () => {
    expect(Either.getOrThrow(KeyVaultConfig.resolve({ vaultUrl: "https://MyVault.vault.azure.net/" }))).toMatchObject({
      vaultUrl: "https://myvault.vault.azure.net",
      vaultHost: "myvault.vault.azure.net",
      apiVersion: "2025-07-01",
      disableChallengeResourceVerification: false,
      requestTimeoutMillis: 60_000
    })
    expect(Either.getOrThrow(KeyVaultConfig.resolve({ vaultUrl: "https://localhost:8443" })).vaultHost).toBe("localhost:8443")
  })

  it("rejects what cannot be a vault URL or an api-version", () => {
    for (const vaultUrl of ["not a url", "ftp://vault", "https://user:pw@vault.azure.net"]) {
      expect(Either.isLeft(KeyVaultConfig.resolve({ vaultUrl }))).toBe(true)
    }
    expect(Either.isLeft(KeyVaultConfig.resolve({ vaultUrl: "https://v.vault.azure.net", apiVersion: "latest" }))).toBe(true)
    expect(Either.isRight(KeyVaultConfig.resolve({ vaultUrl: "https://v.vault.azure.net", apiVersion: "7.6-preview.2" }))).toBe(true)
  })

  it("refuses http: unless explicitly allowed, and then only on loopback", () => {
    expect(Either.isLeft(KeyVaultConfig.resolve({ vaultUrl: "http://myvault.vault.azure.net" }))).toBe(true)
    expect(Either.isLeft(KeyVaultConfig.resolve({ vaultUrl: "http://myvault.vault.azure.net", allowInsecureHttp: true }))).toBe(true)
    expect(Either.isLeft(KeyVaultConfig.resolve({ vaultUrl: "http://127.0.0.1:8080" }))).toBe(true)
    for (const vaultUrl of ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"]) {
      expect(Either.isRight(KeyVaultConfig.resolve({ vaultUrl, allowInsecureHttp: true }))).toBe(true)
    }
    // A name, even under .localhost, may be resolved through DNS: not a literal loopback host.
    expect(Either.isLeft(KeyVaultConfig.resolve({ vaultUrl: "http://v.localhost:8080", allowInsecureHttp: true }))).toBe(true)
  })

  it("takes a positive request timeout", () => {
    expect(Either.getOrThrow(KeyVaultConfig.resolve({ vaultUrl: "https://v.vault.azure.net", requestTimeout: "5 seconds" })).requestTimeoutMillis).toBe(5000)
    expect(Either.isLeft(KeyVaultConfig.resolve({ vaultUrl: "https://v.vault.azure.net", requestTimeout: 0 }))).toBe(true)
    expect(Either.isLeft(KeyVaultConfig.resolve({ vaultUrl: "https://v.vault.azure.net", requestTimeout: "forever" as unknown as Duration.DurationInput }))).toBe(true)
  })

  it.effect("reads AZURE_KEYVAULT_URL and friends through Config", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({
        AZURE_KEYVAULT_URL: "https://env.vault.azure.net",
        AZURE_KEYVAULT_API_VERSION: "7.5",
        AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: "true"
      })
      expect(config).toMatchObject({ vaultUrl: "https://env.vault.azure.net", apiVersion: "7.5", disableChallengeResourceVerification: true })
    }))

  it.effect("fails with a ConfigError when the URL is missing or invalid", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(fromEnv({}))
      expect(ConfigError.isMissingDataOnly(missing)).toBe(true)
      expect(String(missing)).toContain("AZURE_KEYVAULT_URL")
      const invalid = yield* Effect.flip(fromEnv({ AZURE_KEYVAULT_URL: "nope" }))
      expect(ConfigError.isMissingDataOnly(invalid)).toBe(false)
      expect(String(invalid)).toContain("vaultUrl is not a URL")
    }))
})

describe("KeyVaultConfig.layerConfig with a record of Configs (Config.Config.Wrap)", () => {
  const build = (config: Parameters<typeof KeyVaultConfig.layerConfig>[0], env: Record<string, string>) =>
    Effect.flatMap(KeyVaultConfig.KeyVaultConfig, Effect.succeed).pipe(
      Effect.provide(KeyVaultConfig.layerConfig(config).pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
      ))
    )

  it.effect("reads each option from its own Config, under names the application chooses", () =>
    Effect.gen(function*() {
      const resolved = yield* build(
        { vaultUrl: Config.string("MY_VAULT"), requestTimeout: Config.duration("MY_TIMEOUT") },
        { MY_VAULT: "https://Mine.vault.azure.net", MY_TIMEOUT: "5 seconds" }
      )
      expect(resolved.vaultUrl).toBe("https://mine.vault.azure.net")
      expect(resolved.requestTimeoutMillis).toBe(5000)
    }))

  it.effect("a refused value is a ConfigError at the option", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(build({ vaultUrl: Config.string("MY_VAULT") }, { MY_VAULT: "ftp://nope" }))
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("vaultUrl")
    }))
})
