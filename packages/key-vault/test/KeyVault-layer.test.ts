/**
 * `KeyVault.layer` (plain options) and `KeyVault.layerConfig` (Config): only the latter can raise a ConfigError, and
 * the types say so; refused plain options are a typed ValidationError naming the option.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import * as KeyVault from "../src/KeyVault.js"
import type * as KeyVaultConfig from "../src/config/KeyVaultConfig.js"
import type { ValidationError } from "../src/errors/KeyVaultError.js"
import { Secrets } from "../src/secrets/Secrets.js"

const VAULT = "https://myvault.vault.azure.net"
const edge = Layer.merge(Emulator.layerFresh(), TokenProvider.layerStatic())

describe("KeyVault.layer error types", () => {
  it("layer from plain options can only raise a ValidationError; layerConfig's is ConfigError", () => {
    expectTypeOf<Layer.Layer.Error<ReturnType<typeof KeyVault.layer>>>().toEqualTypeOf<ValidationError>()
    expectTypeOf<Layer.Layer.Error<ReturnType<typeof KeyVault.layerConfig>>>().toEqualTypeOf<ConfigError.ConfigError>()
    expectTypeOf<Layer.Layer.Error<ReturnType<typeof KeyVaultConfig.layer>>>().toEqualTypeOf<ValidationError>()
    expectTypeOf<Layer.Layer.Error<ReturnType<typeof KeyVaultConfig.layerConfig>>>().toEqualTypeOf<ConfigError.ConfigError>()
    // A program built on the options layer has no ConfigError to handle: this assignment compiles only when the
    // layer's error channel is exactly ValidationError.
    const layer: Layer.Layer<KeyVault.KeyVaultServices, ValidationError, HttpClient.HttpClient | TokenProvider.TokenProvider> =
      KeyVault.layer({ vaultUrl: VAULT })
    expect(Layer.isLayer(layer)).toBe(true)
  })

  it.effect("a client from plain options builds and works, with nothing to catch", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* secrets.set("plain", "value")
      expect(Redacted.value((yield* secrets.get("plain")).value)).toBe("value")
    }).pipe(Effect.provide(KeyVault.layer({ vaultUrl: VAULT, cache: { ttl: "1 minute" } }).pipe(Layer.provide(edge)))))

  it.effect("refused plain options are a ValidationError naming the option, never a ConfigError or a defect", () =>
    Effect.gen(function*() {
      const cases: Array<[KeyVault.KeyVaultClientOptions, string, string]> = [
        [{ vaultUrl: `${VAULT}/secrets` }, "vaultUrl", "vaultUrl must be the vault's origin"],
        [{ vaultUrl: VAULT, cache: { ttl: -1 } }, "cache", "ttl must be a positive"],
        [{ vaultUrl: VAULT, requestTimeout: 0 }, "requestTimeout", "requestTimeout"]
      ]
      for (const [options, field, expected] of cases) {
        const error = yield* Effect.flip(Effect.scoped(Layer.build(KeyVault.layer(options).pipe(Layer.provide(edge)))))
        expect(error._tag).toBe("ValidationError")
        expect(error.field).toBe(field)
        expect(error.message).toContain(expected)
      }
    }))

  it.effect("layerConfig fails with a ConfigError naming the variable", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(KeyVault.layerConfig().pipe(
        Layer.provide(edge),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([
          ["AZURE_KEYVAULT_URL", VAULT],
          ["AZURE_KEYVAULT_CACHE_TTL", "soon"]
        ]))))
      ))))
      expect(ConfigError.isConfigError(error) && error._op).toBe("InvalidData")
      expect(String(error)).toContain("AZURE_KEYVAULT_CACHE_TTL")
    }))
})
