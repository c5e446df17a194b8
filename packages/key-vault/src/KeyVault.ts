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
import type * as CacheConfig from "./cache/CacheConfig.js"
import * as VaultCache from "./cache/VaultCache.js"
import * as Certificates from "./certificates/Certificates.js"
import * as KeyVaultConfig from "./config/KeyVaultConfig.js"
import type { ValidationError } from "./errors/KeyVaultError.js"
import * as Cryptography from "./crypto/Cryptography.js"
import * as KeyMaterialCache from "./keys/KeyMaterialCache.js"
import * as Keys from "./keys/Keys.js"
import * as Secrets from "./secrets/Secrets.js"
import * as Transport from "./transport/Transport.js"
import * as VaultState from "./transport/VaultState.js"
import * as VersionWrites from "./internal/VersionWrites.js"

/**
 * What the client layer provides.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyVaultServices =
  | Secrets.Secrets
  | Keys.Keys
  | Cryptography.Cryptography
  | Certificates.Certificates
  | VaultCache.VaultCache
  | Transport.KeyVaultTransport
  | KeyVaultConfig.KeyVaultConfig
  | VersionWrites.VersionWrites

const fromConfig = <E1, E2>(
  config: Layer.Layer<KeyVaultConfig.KeyVaultConfig, E1>,
  cache: Layer.Layer<VaultCache.VaultCache, E2>,
  cryptography: Cryptography.CryptographyOptions
): Layer.Layer<KeyVaultServices, E1 | E2, HttpClient.HttpClient | TokenProvider> => {
  // Every constant layer is made `fresh`: a layer value is built once per layer graph, so without it two clients for
  // two vaults in one application would share one transport, one key cache, one secrets service.
  // The per-vault state registry is the one exception: `VaultState.layerInherit` is one Layer value, built once per
  // graph, so every client of one application shares challenge, breaker and limiter per vault, while a separately
  // built application gets its own (or the registry its edge provides).
  // The new versions this client writes, announced for a `RotationEvents` built on it (and nobody else).
  const transport = Layer.fresh(Transport.layer).pipe(
    Layer.provide(VaultState.layerInherit),
    Layer.provideMerge(config),
    Layer.provideMerge(cache),
    Layer.provideMerge(Layer.fresh(VersionWrites.layer))
  )
  // One secrets service: the application's, and the one Certificates reads (and forgets) certificate secrets through.
  const secrets = Layer.fresh(Secrets.layer)
  // One key material cache (the cache's `key` namespace) shared by all three: Cryptography fills it, Keys and
  // Certificates (whose keys share the certificate's name) invalidate it.
  const keys = Layer.mergeAll(
    Layer.fresh(Keys.layer),
    Cryptography.layer(cryptography),
    Layer.fresh(Certificates.layer).pipe(Layer.provide(secrets))
  ).pipe(Layer.provide(Layer.fresh(KeyMaterialCache.layerVaultCache)))
  return Layer.merge(secrets, keys).pipe(Layer.provideMerge(transport))
}

/**
 * Client options: the vault, plus the cache (on by default; `cache: { enabled: false }` switches it off), plus
 * `localCryptography` (`auto` by default: public-key operations run locally once the key is known).
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyVaultClientOptions extends KeyVaultConfig.KeyVaultOptions, Cryptography.CryptographyOptions {
  readonly cache?: CacheConfig.CacheOptions | undefined
}

/**
 * The client for one vault, from options. It reads no `Config`, so it raises no `ConfigError`: options it refuses
 * (a vault URL with a path, a negative cache TTL, ...) fail it with a `ValidationError` naming the option, before any
 * request. `layerConfig` reads the same settings from the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: KeyVaultClientOptions
): Layer.Layer<KeyVaultServices, ValidationError, HttpClient.HttpClient | TokenProvider> =>
  fromConfig(KeyVaultConfig.layer(options), VaultCache.layer(options.cache), {
    localCryptography: options.localCryptography
  })

/**
 * The client for one vault, from `Config` (default: `AZURE_KEYVAULT_URL` and friends, and `AZURE_KEYVAULT_CACHE_*`);
 * `cryptography` options are plain values. A missing or refused value is a `ConfigError` naming the variable.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config?: Config.Config<KeyVaultConfig.KeyVaultOptions>,
  cacheConfig?: Config.Config<CacheConfig.CacheOptions>,
  cryptography: Cryptography.CryptographyOptions = {}
): Layer.Layer<KeyVaultServices, ConfigError.ConfigError, HttpClient.HttpClient | TokenProvider> =>
  fromConfig(KeyVaultConfig.layerConfig(config), VaultCache.layerConfig(cacheConfig), cryptography)
