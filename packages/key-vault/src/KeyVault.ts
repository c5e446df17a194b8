/**
 * The client assembled: configuration, transport and services in one Layer. It needs an `HttpClient` and a
 * `TokenProvider`, which the application provides at its edge (the emulator's in-process layer and a static token in
 * tests; `@effect/platform-node`'s client and the Azure identity chain in production).
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Layer from "effect/Layer"
import type { TokenProvider } from "./auth/TokenProvider.js"
import * as KeyVaultConfig from "./config/KeyVaultConfig.js"
import * as Secrets from "./secrets/Secrets.js"
import * as Transport from "./transport/Transport.js"

/**
 * What the client layer provides.
 *
 * @since 0.1.0
 */
export type KeyVaultServices = Secrets.Secrets | Transport.KeyVaultTransport | KeyVaultConfig.KeyVaultConfig

const fromConfig = <E>(
  config: Layer.Layer<KeyVaultConfig.KeyVaultConfig, E>
): Layer.Layer<KeyVaultServices, E, HttpClient.HttpClient | TokenProvider> => {
  const transport = Transport.layer.pipe(Layer.provideMerge(config))
  return Secrets.layer.pipe(Layer.provideMerge(transport))
}

/**
 * The client for one vault, from options.
 *
 * @since 0.1.0
 */
export const layer = (
  options: KeyVaultConfig.KeyVaultOptions
): Layer.Layer<KeyVaultServices, ConfigError.ConfigError, HttpClient.HttpClient | TokenProvider> =>
  fromConfig(KeyVaultConfig.layer(options))

/**
 * The client for one vault, from `Config` (default: `AZURE_KEYVAULT_URL` and friends).
 *
 * @since 0.1.0
 */
export const layerConfig = (
  config?: Config.Config<KeyVaultConfig.KeyVaultOptions>
): Layer.Layer<KeyVaultServices, ConfigError.ConfigError, HttpClient.HttpClient | TokenProvider> =>
  fromConfig(KeyVaultConfig.layerConfig(config))
