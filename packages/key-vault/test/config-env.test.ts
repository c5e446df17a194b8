/**
 * Configuration from the environment: cache features switched off with `off` / `false`, durations in the forms
 * people write, and every ConfigError naming its variable. Cache behaviour is driven by TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as CacheConfig from "../src/cache/CacheConfig.js"
import * as VaultCache from "../src/cache/VaultCache.js"
import * as KeyVaultConfig from "../src/config/KeyVaultConfig.js"
import { NotFoundError, ServiceError } from "../src/errors/KeyVaultError.js"

const provider = (env: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(env)))

/** Runs `effect` with the cache built by `VaultCache.layerConfig()` from `env`. */
const withCacheEnv = (env: Record<string, string>) =>
  Effect.provide(VaultCache.layerConfig().pipe(Layer.provide(Layer.setConfigProvider(provider(env)))))

const readVaultConfig = (env: Record<string, string>) =>
  Effect.provide(KeyVaultConfig.KeyVaultConfig, KeyVaultConfig.layerConfig().pipe(Layer.provide(Layer.setConfigProvider(provider(env)))))

const readCacheConfig = (env: Record<string, string>) =>
  Effect.withConfigProvider(CacheConfig.resolveConfig(CacheConfig.fromEnv), provider(env))

const fields = { code: "X", innerCode: undefined, message: "m", requestId: undefined }

/** A fake vault with one secret `a`; `down` makes it answer 503; `calls` counts loads. */
const makeVault = () => {
  const state = { value: "v1", down: false, calls: 0 }
  const load = (name: string) =>
    Effect.suspend((): Effect.Effect<string, ServiceError | NotFoundError> => {
      state.calls++
      if (state.down) return Effect.fail(new ServiceError({ ...fields, status: 503, transient: true }))
      return name === "a"
        ? Effect.succeed(state.value)
        : Effect.fail(new NotFoundError({ ...fields, status: 404, code: "SecretNotFound" }))
    })
  return { state, load }
}

const secrets = Effect.map(VaultCache.VaultCache, (cache) => cache.namespace("v.vault.azure.net", "secret"))

describe("cache features switched off from the environment", () => {
  it.effect("AZURE_KEYVAULT_CACHE_ENABLED=Off sends every read to the vault", () =>
    Effect.gen(function*() {
      const cache = yield* secrets
      const vault = makeVault()
      yield* cache.get("a", undefined, vault.load)
      yield* cache.get("a", undefined, vault.load)
      expect(vault.state.calls).toBe(2)
    }).pipe(withCacheEnv({ AZURE_KEYVAULT_CACHE_ENABLED: "Off" })))

  it.effect("AZURE_KEYVAULT_CACHE_REFRESH_AHEAD=off: a hit late in the TTL starts no background refresh", () =>
    Effect.gen(function*() {
      const cache = yield* secrets
      const vault = makeVault()
      yield* cache.get("a", undefined, vault.load)
      yield* TestClock.adjust("95 seconds")
      expect(yield* cache.get("a", undefined, vault.load)).toBe("v1")
      yield* Effect.yieldNow()
      yield* Effect.yieldNow()
      expect(vault.state.calls).toBe(1)
    }).pipe(withCacheEnv({
      AZURE_KEYVAULT_CACHE_TTL: "100s",
      AZURE_KEYVAULT_CACHE_JITTER: "0",
      AZURE_KEYVAULT_CACHE_REFRESH_AHEAD: "off"
    })))

  it.effect("(the same read with refresh-ahead left on does refresh, so the test above can fail)", () =>
    Effect.gen(function*() {
      const cache = yield* secrets
      const vault = makeVault()
      yield* cache.get("a", undefined, vault.load)
      yield* TestClock.adjust("95 seconds")
      yield* cache.get("a", undefined, vault.load)
      yield* Effect.yieldNow()
      yield* Effect.yieldNow()
      expect(vault.state.calls).toBe(2)
    }).pipe(withCacheEnv({ AZURE_KEYVAULT_CACHE_TTL: "100s", AZURE_KEYVAULT_CACHE_JITTER: "0" })))

  it.effect("AZURE_KEYVAULT_CACHE_STALE_IF_ERROR=FALSE: an outage after expiry shows instead of a stale value", () =>
    Effect.gen(function*() {
      const cache = yield* secrets
      const vault = makeVault()
      yield* cache.get("a", undefined, vault.load)
      yield* TestClock.adjust("31 seconds")
      vault.state.down = true
      expect((yield* Effect.flip(cache.get("a", undefined, vault.load)))._tag).toBe("ServiceError")
    }).pipe(withCacheEnv({
      AZURE_KEYVAULT_CACHE_TTL: "30s",
      AZURE_KEYVAULT_CACHE_REFRESH_AHEAD: "off",
      AZURE_KEYVAULT_CACHE_STALE_IF_ERROR: "FALSE"
    })))

  it.effect("AZURE_KEYVAULT_CACHE_STALE_IF_ERROR=2m keeps serving the last good value through an outage", () =>
    Effect.gen(function*() {
      const cache = yield* secrets
      const vault = makeVault()
      yield* cache.get("a", undefined, vault.load)
      yield* TestClock.adjust("31 seconds")
      vault.state.down = true
      expect(yield* cache.get("a", undefined, vault.load)).toBe("v1")
    }).pipe(withCacheEnv({
      AZURE_KEYVAULT_CACHE_TTL: "30s",
      AZURE_KEYVAULT_CACHE_REFRESH_AHEAD: "off",
      AZURE_KEYVAULT_CACHE_STALE_IF_ERROR: "2m"
    })))

  it.effect("AZURE_KEYVAULT_CACHE_NEGATIVE_TTL=off: every read of a missing name asks the vault", () =>
    Effect.gen(function*() {
      const cache = yield* secrets
      const vault = makeVault()
      for (let i = 0; i < 3; i++) expect((yield* Effect.flip(cache.get("missing", undefined, vault.load)))._tag).toBe("NotFoundError")
      expect(vault.state.calls).toBe(3)
    }).pipe(withCacheEnv({ AZURE_KEYVAULT_CACHE_NEGATIVE_TTL: "off" })))

  it.effect("AZURE_KEYVAULT_CACHE_NEGATIVE_TTL=10 seconds remembers a not-found for 10 s", () =>
    Effect.gen(function*() {
      const cache = yield* secrets
      const vault = makeVault()
      yield* Effect.flip(cache.get("missing", undefined, vault.load))
      yield* TestClock.adjust("9 seconds")
      yield* Effect.flip(cache.get("missing", undefined, vault.load))
      expect(vault.state.calls).toBe(1)
      yield* TestClock.adjust("2 seconds")
      yield* Effect.flip(cache.get("missing", undefined, vault.load))
      expect(vault.state.calls).toBe(2)
    }).pipe(withCacheEnv({ AZURE_KEYVAULT_CACHE_NEGATIVE_TTL: "10 seconds" })))
})

describe("durations from the environment", () => {
  it("parses 30s, 5m, 10 seconds, 250ms, 1h and a bare number of seconds", () => {
    const millis = (text: string) => Option.map(KeyVaultConfig.parseDuration(text), Duration.toMillis)
    expect(millis("30s")).toEqual(Option.some(30_000))
    expect(millis("5m")).toEqual(Option.some(300_000))
    expect(millis("10 seconds")).toEqual(Option.some(10_000))
    expect(millis("250ms")).toEqual(Option.some(250))
    expect(millis("1h")).toEqual(Option.some(3_600_000))
    expect(millis("45")).toEqual(Option.some(45_000))
    expect(millis(" 1.5 MINUTES ")).toEqual(Option.some(90_000))
    for (const bad of ["", "soon", "5 parsecs", "1e3", "-5s", "5 m s"]) expect(Option.isNone(KeyVaultConfig.parseDuration(bad))).toBe(true)
  })

  it.effect("every cache duration variable reads those forms", () =>
    Effect.gen(function*() {
      const config = yield* readCacheConfig({
        AZURE_KEYVAULT_CACHE_TTL: "30s",
        AZURE_KEYVAULT_CACHE_VERSION_TTL: "1h",
        AZURE_KEYVAULT_CACHE_STALE_IF_ERROR: "90",
        AZURE_KEYVAULT_CACHE_NEGATIVE_TTL: "250ms"
      })
      expect(config).toMatchObject({
        ttlMillis: 30_000,
        versionTtlMillis: 3_600_000,
        staleIfErrorMillis: 90_000,
        negativeTtlMillis: 250
      })
    }))

  it.effect("AZURE_KEYVAULT_CACHE_TTL=30s gives entries a 30-second life", () =>
    Effect.gen(function*() {
      const cache = yield* secrets
      const vault = makeVault()
      yield* cache.get("a", undefined, vault.load)
      yield* TestClock.adjust("29 seconds")
      yield* cache.get("a", undefined, vault.load)
      expect(vault.state.calls).toBe(1)
      yield* TestClock.adjust("2 seconds")
      yield* cache.get("a", undefined, vault.load)
      expect(vault.state.calls).toBe(2)
    }).pipe(withCacheEnv({
      AZURE_KEYVAULT_CACHE_TTL: "30s",
      AZURE_KEYVAULT_CACHE_JITTER: "0",
      AZURE_KEYVAULT_CACHE_REFRESH_AHEAD: "off"
    })))

  it.effect("AZURE_KEYVAULT_REQUEST_TIMEOUT reads the same forms", () =>
    Effect.gen(function*() {
      const base = { AZURE_KEYVAULT_URL: "https://env.vault.azure.net" }
      expect((yield* readVaultConfig({ ...base, AZURE_KEYVAULT_REQUEST_TIMEOUT: "5m" })).requestTimeoutMillis).toBe(300_000)
      expect((yield* readVaultConfig({ ...base, AZURE_KEYVAULT_REQUEST_TIMEOUT: "250ms" })).requestTimeoutMillis).toBe(250)
      expect((yield* readVaultConfig({ ...base, AZURE_KEYVAULT_REQUEST_TIMEOUT: "20" })).requestTimeoutMillis).toBe(20_000)
    }))

  it.effect("a duration that does not parse is a ConfigError naming the variable and the accepted forms", () =>
    Effect.gen(function*() {
      const cacheError = yield* Effect.flip(readCacheConfig({ AZURE_KEYVAULT_CACHE_TTL: "a while" }))
      expect(String(cacheError)).toContain("AZURE_KEYVAULT_CACHE_TTL")
      expect(String(cacheError)).toContain("30s, 5m, 1h, 250ms or 10 seconds, or a bare number of seconds")
      const offError = yield* Effect.flip(readCacheConfig({ AZURE_KEYVAULT_CACHE_NEGATIVE_TTL: "never" }))
      expect(String(offError)).toContain("AZURE_KEYVAULT_CACHE_NEGATIVE_TTL")
      expect(String(offError)).toContain("off / false")
      const timeoutError = yield* Effect.flip(readVaultConfig({
        AZURE_KEYVAULT_URL: "https://env.vault.azure.net",
        AZURE_KEYVAULT_REQUEST_TIMEOUT: "1 fortnight"
      }))
      expect(String(timeoutError)).toContain("AZURE_KEYVAULT_REQUEST_TIMEOUT")
      expect(String(timeoutError)).toContain("a bare number of seconds")
    }))

  it.effect("the shared reader works for any variable name", () =>
    Effect.gen(function*() {
      const read = Effect.withConfigProvider(KeyVaultConfig.durationConfig("MY_TIMEOUT"), provider({ MY_TIMEOUT: "2h" }))
      expect(Duration.toMillis(yield* read)).toBe(7_200_000)
      const nested = Effect.withConfigProvider(
        Config.nested(KeyVaultConfig.durationConfig("TIMEOUT"), "APP"),
        ConfigProvider.fromMap(new Map([["APP.TIMEOUT", "x"]]))
      )
      expect(String(yield* Effect.flip(nested))).toContain("APP.TIMEOUT")
    }))
})

describe("ConfigErrors name the variable", () => {
  it.effect("AZURE_KEYVAULT_URL=not-a-url is reported at AZURE_KEYVAULT_URL, not at an empty path", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(readVaultConfig({ AZURE_KEYVAULT_URL: "not-a-url" }))
      expect(String(error)).toContain("Invalid data at AZURE_KEYVAULT_URL")
      expect(String(error)).not.toContain("at :")
    }))

  it.effect("each refused vault variable names itself", () =>
    Effect.gen(function*() {
      const base = { AZURE_KEYVAULT_URL: "https://env.vault.azure.net" }
      const cases: Array<[Record<string, string>, string]> = [
        [{ AZURE_KEYVAULT_URL: "https://env.vault.azure.net/secrets" }, "AZURE_KEYVAULT_URL"],
        [{ AZURE_KEYVAULT_URL: "http://env.vault.azure.net" }, "AZURE_KEYVAULT_URL"],
        [{ ...base, AZURE_KEYVAULT_API_VERSION: "latest" }, "AZURE_KEYVAULT_API_VERSION"],
        [{ ...base, AZURE_KEYVAULT_REQUEST_TIMEOUT: "0" }, "AZURE_KEYVAULT_REQUEST_TIMEOUT"],
        [{ ...base, AZURE_KEYVAULT_ALLOW_INSECURE_HTTP: "maybe" }, "AZURE_KEYVAULT_ALLOW_INSECURE_HTTP"],
        [{ ...base, AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: "sure" }, "AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION"]
      ]
      for (const [env, variable] of cases) {
        const error = yield* Effect.flip(readVaultConfig(env))
        expect(ConfigError.isMissingDataOnly(error)).toBe(false)
        expect(String(error)).toContain(`Invalid data at ${variable}:`)
      }
    }))

  it.effect("each refused cache variable names itself", () =>
    Effect.gen(function*() {
      const cases: Array<[string, string]> = [
        ["AZURE_KEYVAULT_CACHE_ENABLED", "perhaps"],
        ["AZURE_KEYVAULT_CACHE_TTL", "0"],
        ["AZURE_KEYVAULT_CACHE_VERSION_TTL", "forever"],
        ["AZURE_KEYVAULT_CACHE_JITTER", "0.9"],
        ["AZURE_KEYVAULT_CACHE_MAX_ENTRIES", "0"],
        ["AZURE_KEYVAULT_CACHE_REFRESH_AHEAD", "1.5"],
        ["AZURE_KEYVAULT_CACHE_REFRESH_AHEAD", "later"],
        ["AZURE_KEYVAULT_CACHE_STALE_IF_ERROR", "-1s"],
        ["AZURE_KEYVAULT_CACHE_MAX_NEGATIVE_ENTRIES", "none"],
        ["AZURE_KEYVAULT_CACHE_HOT_ENTRIES", "-3"],
        ["AZURE_KEYVAULT_CACHE_ENCRYPT_AT_REST", "aes"]
      ]
      for (const [variable, value] of cases) {
        const error = yield* Effect.flip(readCacheConfig({ [variable]: value }))
        expect(String(error)).toContain(`Invalid data at ${variable}:`)
      }
    }))

  it.effect("a refused value from a hand-made Config is reported at the option's name", () =>
    Effect.gen(function*() {
      const config = Config.map(Config.string("MY_VAULT"), (vaultUrl) => ({ vaultUrl, allowInsecureHttp: false }))
      const error = yield* Effect.flip(
        Effect.provide(KeyVaultConfig.KeyVaultConfig, KeyVaultConfig.layerConfig(config)).pipe(
          Effect.withConfigProvider(provider({ MY_VAULT: "http://v.vault.azure.net" }))
        )
      )
      expect(String(error)).toContain("Invalid data at vaultUrl:")
      const cacheError = yield* Effect.flip(
        CacheConfig.resolveConfig(Config.succeed({ ttl: -1 })).pipe(Effect.withConfigProvider(provider({})))
      )
      expect(String(cacheError)).toContain("Invalid data at ttl:")
    }))

  it.effect("case does not matter for yes/no variables", () =>
    Effect.gen(function*() {
      const config = yield* readVaultConfig({
        AZURE_KEYVAULT_URL: "https://env.vault.azure.net",
        AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: "TRUE"
      })
      expect(config.disableChallengeResourceVerification).toBe(true)
      const cache = yield* readCacheConfig({ AZURE_KEYVAULT_CACHE_ENCRYPT_AT_REST: "On", AZURE_KEYVAULT_CACHE_ENABLED: "FALSE" })
      expect(cache).toMatchObject({ encryptionKey: "generate", enabled: false })
    }))
})
