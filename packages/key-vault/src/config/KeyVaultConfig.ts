/**
 * Where the vault is and how to talk to it. Built from options (`layer`) or from `Config` (`layerConfig`, reading
 * `AZURE_KEYVAULT_URL` and friends by default).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import {
  resolve as resolveResilience,
  type ResilienceOptions,
  type ResolvedResilience
} from "../resilience/ResilienceConfig.js"
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
  /** How long one attempt may take before it fails with a `TransportError` of reason `Timeout`. Default 60 s. */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /**
   * Allow an `http:` vault URL. Only honoured for loopback hosts (an emulator run with `--http`): a bearer token
   * must never cross a network in clear text.
   */
  readonly allowInsecureHttp?: boolean | undefined
  /** Retries, circuit breaker and rate limiter; each on by default, each switchable off with `false`. */
  readonly resilience?: ResilienceOptions | undefined
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
  readonly requestTimeoutMillis: number
  readonly resilience: ResolvedResilience
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
  if (url.protocol === "http:") {
    if (options.allowInsecureHttp !== true) {
      return Either.left("vaultUrl must be an https URL (allowInsecureHttp permits http: for a loopback emulator)")
    }
    if (!isLoopback(url.hostname)) return Either.left(`allowInsecureHttp only applies to loopback hosts, not ${url.hostname}`)
  } else if (url.protocol !== "https:") {
    return Either.left(`vaultUrl must be an https URL, got ${url.protocol}`)
  }
  const resilienceOrError = resolveResilience(options.resilience)
  if (Either.isLeft(resilienceOrError)) return Either.left(resilienceOrError.left)
  const resilience = resilienceOrError.right
  const timeout = Duration.decodeUnknown(options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT)
  if (Option.isNone(timeout) || !Duration.isFinite(timeout.value) || Duration.toMillis(timeout.value) <= 0) {
    return Either.left("requestTimeout must be a positive, finite duration")
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
    disableChallengeResourceVerification: options.disableChallengeResourceVerification ?? false,
    requestTimeoutMillis: Duration.toMillis(timeout.value),
    resilience
  })
}

const DEFAULT_REQUEST_TIMEOUT: Duration.DurationInput = "60 seconds"

const isLoopback = (hostname: string): boolean =>
  hostname === "localhost" || hostname.endsWith(".localhost") || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname)

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
  ),
  requestTimeout: Config.duration("AZURE_KEYVAULT_REQUEST_TIMEOUT").pipe(Config.withDefault(Duration.decode(DEFAULT_REQUEST_TIMEOUT))),
  allowInsecureHttp: Config.boolean("AZURE_KEYVAULT_ALLOW_INSECURE_HTTP").pipe(Config.withDefault(false))
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
