/**
 * Where the vault is and how to talk to it. Built from options (`layer`) or from `Config` (`layerConfig`, reading
 * `AZURE_KEYVAULT_URL` and friends by default).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { API_VERSION_PATTERN, DEFAULT_API_VERSION } from "../wire/Rules.js"

/**
 * Options a user passes.
 *
 * @since 0.1.0
 */
export interface KeyVaultOptions {
  /** The vault URL, `https://myvault.vault.azure.net`. Paths and trailing slashes are dropped. */
  readonly vaultUrl: string
  /** Data-plane api-version; default `2025-07-01`. */
  readonly apiVersion?: string | undefined
  /**
   * Skip the check that the challenge's resource matches the vault host. Needed only for emulators reached as
   * `https://localhost:<port>`; never turn it off for a real vault.
   */
  readonly disableChallengeResourceVerification?: boolean | undefined
}

/**
 * The resolved configuration.
 *
 * @since 0.1.0
 */
export interface ResolvedKeyVaultConfig {
  /** The vault origin, no trailing slash. */
  readonly vaultUrl: string
  /** The vault host (with port when one was given): the key of caches, breakers and spans. */
  readonly vaultHost: string
  readonly apiVersion: string
  readonly disableChallengeResourceVerification: boolean
}

/**
 * The configuration service.
 *
 * @since 0.1.0
 */
export class KeyVaultConfig extends Context.Tag("@effect-azure/key-vault/KeyVaultConfig")<
  KeyVaultConfig,
  ResolvedKeyVaultConfig
>() {}

/**
 * Checks and normalises options. Fails with a message naming the bad option.
 *
 * @since 0.1.0
 */
export const resolve = (options: KeyVaultOptions): Either.Either<ResolvedKeyVaultConfig, string> => {
  let url: URL
  try {
    url = new URL(options.vaultUrl)
  } catch {
    return Either.left(`vaultUrl is not a URL: ${JSON.stringify(options.vaultUrl)}`)
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return Either.left(`vaultUrl must be an https URL, got ${url.protocol}`)
  }
  if (url.username !== "" || url.password !== "") return Either.left("vaultUrl must not carry credentials")
  const apiVersion = options.apiVersion ?? DEFAULT_API_VERSION
  if (!API_VERSION_PATTERN.test(apiVersion)) {
    return Either.left(`apiVersion is not a Key Vault api-version: ${JSON.stringify(apiVersion)}`)
  }
  return Either.right({
    vaultUrl: url.origin,
    vaultHost: url.host,
    apiVersion,
    disableChallengeResourceVerification: options.disableChallengeResourceVerification ?? false
  })
}

/**
 * A configuration layer from options. Invalid options fail the layer with a `ConfigError` naming the option.
 *
 * @since 0.1.0
 */
export const layer = (options: KeyVaultOptions): Layer.Layer<KeyVaultConfig, ConfigError.ConfigError> =>
  Layer.effect(
    KeyVaultConfig,
    Either.match(resolve(options), {
      onLeft: (message) => Either.left(ConfigError.InvalidData([], message)),
      onRight: Either.right
    })
  )

/**
 * The `Config` that reads `AZURE_KEYVAULT_URL`, `AZURE_KEYVAULT_API_VERSION` and
 * `AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION`.
 *
 * @since 0.1.0
 */
export const fromEnv: Config.Config<KeyVaultOptions> = Config.all({
  vaultUrl: Config.string("AZURE_KEYVAULT_URL"),
  apiVersion: Config.string("AZURE_KEYVAULT_API_VERSION").pipe(Config.withDefault(DEFAULT_API_VERSION)),
  disableChallengeResourceVerification: Config.boolean("AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION").pipe(
    Config.withDefault(false)
  )
})

/**
 * A configuration layer from `Config` (default: `fromEnv`).
 *
 * @since 0.1.0
 */
export const layerConfig = (
  config: Config.Config<KeyVaultOptions> = fromEnv
): Layer.Layer<KeyVaultConfig, ConfigError.ConfigError> =>
  Layer.effect(
    KeyVaultConfig,
    Config.mapOrFail(config, (options) =>
      Either.mapLeft(resolve(options), (message) => ConfigError.InvalidData([], message)))
  )
