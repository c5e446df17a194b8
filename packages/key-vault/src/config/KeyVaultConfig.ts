/**
 * Where the vault is and how to talk to it. Built from options (`layer`) or from `Config` (`layerConfig`, reading
 * `AZURE_KEYVAULT_URL` and friends by default). Also home of the readers every `AZURE_KEYVAULT_*` variable goes
 * through (`textConfig` with `durationText`, `booleanText`, `orOff`), so one spelling works for all of them.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import {
  resolve as resolveResilience,
  type ResilienceOptions,
  type ResolvedResilience
} from "../resilience/ResilienceConfig.js"
import { API_VERSION_PATTERN, DEFAULT_API_VERSION } from "../wire/Rules.js"
import { ValidationError } from "../errors/KeyVaultError.js"

// ---------------------------------------------------------------------------------------------------------------
// Environment readers, shared by every `AZURE_KEYVAULT_*` variable
// ---------------------------------------------------------------------------------------------------------------

/**
 * The duration forms an environment variable accepts, as error messages and the README quote them.
 *
 * @since 0.1.0
 * @category config
 */
export const DURATION_FORMS: string = "a duration such as 30s, 5m, 1h, 250ms or 10 seconds, or a bare number of seconds"

const UNIT_MILLIS: ReadonlyMap<string, number> = new Map([
  ["", 1000],
  ...["ms", "milli", "millis", "millisecond", "milliseconds"].map((u) => [u, 1] as const),
  ...["s", "sec", "secs", "second", "seconds"].map((u) => [u, 1000] as const),
  ...["m", "min", "mins", "minute", "minutes"].map((u) => [u, 60_000] as const),
  ...["h", "hr", "hrs", "hour", "hours"].map((u) => [u, 3_600_000] as const),
  ...["d", "day", "days"].map((u) => [u, 86_400_000] as const),
  ...["w", "week", "weeks"].map((u) => [u, 604_800_000] as const)
])

const DURATION_TEXT = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/

/**
 * Parses a duration as people write it in an environment: `30s`, `5m`, `1h`, `250ms`, `10 seconds`, `2 days`, or a
 * bare number meaning seconds (case and surrounding spaces do not matter). Effect's own spellings (`500 nanos`) are
 * accepted too. `None` for anything else.
 *
 * @since 0.1.0
 * @category config
 */
export const parseDuration = (text: string): Option.Option<Duration.Duration> => {
  const trimmed = text.trim()
  const match = DURATION_TEXT.exec(trimmed.toLowerCase())
  const factor = match === null ? undefined : UNIT_MILLIS.get(match[2]!)
  if (match !== null && factor !== undefined) return Option.some(Duration.millis(Number(match[1]) * factor))
  return Duration.decodeUnknown(trimmed)
}

/**
 * A `Config` of one variable parsed by `parse`. A failure is a `ConfigError` at the variable's name (also under
 * `Config.nested`), carrying the parser's message. Every `AZURE_KEYVAULT_*` variable is read through it.
 *
 * @since 0.1.0
 * @category config
 */
export const textConfig = <A>(name: string, parse: (text: string) => Either.Either<A, string>): Config.Config<A> =>
  // The name goes outermost: a `ConfigError` raised inside `Config.nested(.., name)` carries the name in its path,
  // one raised by a step around it would carry an empty path.
  Config.nested(
    Config.mapOrFail(Config.string(), (text) => Either.mapLeft(parse(text), (message) => ConfigError.InvalidData([], message))),
    name
  )

/**
 * `parse`, then `check` on what it read: for a variable with a range (`check` answers the reason it refuses).
 *
 * @since 0.1.0
 * @category config
 */
export const refineText = <A>(
  parse: (text: string) => Either.Either<A, string>,
  check: (value: A) => Either.Either<unknown, string>
) =>
(text: string): Either.Either<A, string> => Either.flatMap(parse(text), (value) => Either.map(check(value), () => value))

/**
 * Reads a duration (see `parseDuration`); the message of a failure lists the accepted forms.
 *
 * @since 0.1.0
 * @category config
 */
export const durationText = (text: string): Either.Either<Duration.Duration, string> =>
  Either.fromOption(parseDuration(text), () => `expected ${DURATION_FORMS}; got ${JSON.stringify(text)}`)

/**
 * Reads a yes/no value: `true`, `on`, `yes`, `1` or `false`, `off`, `no`, `0`, in any case.
 *
 * @since 0.1.0
 * @category config
 */
export const booleanText = (text: string): Either.Either<boolean, string> => {
  const value = text.trim().toLowerCase()
  if (value === "true" || value === "on" || value === "yes" || value === "1") return Either.right(true)
  if (value === "false" || value === "off" || value === "no" || value === "0") return Either.right(false)
  return Either.left(`expected true or false (also on / off, yes / no, 1 / 0); got ${JSON.stringify(text)}`)
}

/**
 * `off` or `false`, in any case: the one spelling that switches a feature off from the environment.
 *
 * @since 0.1.0
 * @category config
 */
export const isOff = (text: string): boolean => /^\s*(off|false)\s*$/i.test(text)

/**
 * `parse`, except that `off` or `false` (any case) reads as `false`: for a feature that can be switched off.
 *
 * @since 0.1.0
 * @category config
 */
export const orOff = <A>(parse: (text: string) => Either.Either<A, string>) =>
(text: string): Either.Either<A | false, string> =>
  isOff(text) ? Either.right(false) : Either.mapLeft(parse(text), (message) => `${message}, or off / false`)

/**
 * A duration variable (see `parseDuration`); anything else is a `ConfigError` naming the variable and the forms.
 *
 * @since 0.1.0
 * @category config
 */
export const durationConfig = (name: string): Config.Config<Duration.Duration> => textConfig(name, durationText)

/**
 * A duration variable that `off` or `false` switches off.
 *
 * @since 0.1.0
 * @category config
 */
export const durationOrOffConfig = (name: string): Config.Config<Duration.Duration | false> =>
  textConfig(name, orOff(durationText))

/**
 * A yes/no variable (see `booleanText`).
 *
 * @since 0.1.0
 * @category config
 */
export const booleanConfig = (name: string): Config.Config<boolean> => textConfig(name, booleanText)

// ---------------------------------------------------------------------------------------------------------------
// The vault configuration
// ---------------------------------------------------------------------------------------------------------------

/**
 * Options a user passes.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyVaultOptions {
  /**
   * The vault URL, its origin only: `https://myvault.vault.azure.net` (a trailing `/` is fine). A path, query,
   * fragment or `user:password@` is refused.
   */
  readonly vaultUrl: string
  /** Data-plane api-version; default `2025-07-01`. */
  readonly apiVersion?: string | undefined
  /**
   * Skip the check that the challenge's resource matches the vault host. Needed only for emulators reached as
   * `https://localhost:<port>`; never turn it off for a real vault. Env: `AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION=true`.
   */
  readonly disableChallengeResourceVerification?: boolean | undefined
  /** How long one attempt may take before it fails with a `TransportError` of reason `Timeout`. Default 60 s. */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /**
   * Allow an `http:` vault URL. Only honoured for literal loopback hosts (`localhost`, `127.0.0.0/8`, `[::1]`; an
   * emulator run with `--http`): a bearer token must never cross a network in clear text. Env:
   * `AZURE_KEYVAULT_ALLOW_INSECURE_HTTP=true`.
   */
  readonly allowInsecureHttp?: boolean | undefined
  /** Retries, circuit breaker and rate limiter; each on by default, each switchable off with `false`. */
  readonly resilience?: ResilienceOptions | undefined
}

/**
 * The resolved configuration.
 *
 * @since 0.1.0
 * @category models
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
 * @category tags
 */
export class KeyVaultConfig extends Context.Tag("@effect-azure/key-vault/KeyVaultConfig")<
  KeyVaultConfig,
  ResolvedKeyVaultConfig
>() {}

/**
 * The environment variable behind each option `fromEnv` reads.
 *
 * @since 0.1.0
 * @category config
 */
export const ENV: {
  readonly vaultUrl: "AZURE_KEYVAULT_URL"
  readonly apiVersion: "AZURE_KEYVAULT_API_VERSION"
  readonly disableChallengeResourceVerification: "AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION"
  readonly requestTimeout: "AZURE_KEYVAULT_REQUEST_TIMEOUT"
  readonly allowInsecureHttp: "AZURE_KEYVAULT_ALLOW_INSECURE_HTTP"
} = {
  vaultUrl: "AZURE_KEYVAULT_URL",
  apiVersion: "AZURE_KEYVAULT_API_VERSION",
  disableChallengeResourceVerification: "AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION",
  requestTimeout: "AZURE_KEYVAULT_REQUEST_TIMEOUT",
  allowInsecureHttp: "AZURE_KEYVAULT_ALLOW_INSECURE_HTTP"
}

/**
 * `text` with any `user:password@` removed, for quoting a URL (or what was meant as one) in a message. Everything up
 * to the last `@` goes: over-cutting a malformed URL is better than echoing a password.
 *
 * @since 0.1.0
 * @category utils
 */
export const withoutUserinfo = (text: string): string =>
  text.replace(/^([A-Za-z][A-Za-z0-9+.-]*:[/\\]{2})?[\s\S]*@/, (_, scheme: string | undefined) => scheme ?? "")

const ORIGIN_ONLY = "vaultUrl must be the vault's origin, e.g. https://myvault.vault.azure.net"
const INSECURE_HINT = "allowInsecureHttp: true (AZURE_KEYVAULT_ALLOW_INSECURE_HTTP=true)"

// The checks that need the URL alone; whether http: is allowed depends on a second option, see `check`.
const parseVaultUrl = (input: string): Either.Either<URL, string> => {
  let url: URL
  try {
    url = new URL(input)
  } catch {
    return Either.left(`vaultUrl is not a URL: ${JSON.stringify(withoutUserinfo(input))}`)
  }
  if (url.username !== "" || url.password !== "") {
    url.username = ""
    url.password = ""
    return Either.left(`vaultUrl must not carry credentials (user:password@); got ${JSON.stringify(url.href)}`)
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    // Quoted whole but without userinfo: `admin:pw@host` parses with the scheme `admin:`.
    return Either.left(`vaultUrl must be an https URL; got ${JSON.stringify(withoutUserinfo(url.href))}`)
  }
  if (url.pathname !== "/") return Either.left(`${ORIGIN_ONLY}; got a path ${JSON.stringify(url.pathname)}`)
  // `href` keeps an empty `?` or `#`, which `search` and `hash` report as "". The query is not quoted: a SAS-style
  // signature may sit there.
  if (url.href.includes("?")) return Either.left(`${ORIGIN_ONLY}; got a query string`)
  if (url.href.includes("#")) return Either.left(`${ORIGIN_ONLY}; got a fragment`)
  return Either.right(url)
}

// Literal loopback addresses only: any name (even `*.localhost`) may be answered by a resolver that sends it off
// the machine, and a bearer token over http: would go with it in clear text.
const isLoopback = (hostname: string): boolean => {
  if (hostname === "localhost" || hostname === "[::1]") return true
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname)
  return octets !== null && octets.slice(1).every((o) => Number(o) <= 255)
}

const checkRequestTimeout = (input: Duration.DurationInput): Either.Either<number, string> => {
  const timeout = Duration.decodeUnknown(input)
  return Option.isSome(timeout) && Duration.isFinite(timeout.value) && Duration.toMillis(timeout.value) > 0
    ? Either.right(Duration.toMillis(timeout.value))
    : Either.left("requestTimeout must be a positive, finite duration")
}

const checkApiVersion = (apiVersion: string): Either.Either<string, string> =>
  API_VERSION_PATTERN.test(apiVersion)
    ? Either.right(apiVersion)
    : Either.left(`apiVersion is not a Key Vault api-version (such as 2025-07-01 or 7.6): ${JSON.stringify(apiVersion)}`)

interface Fault {
  readonly option: keyof KeyVaultOptions
  readonly message: string
}

const fault = (option: keyof KeyVaultOptions) => (message: string): Fault => ({ option, message })

const check = (options: KeyVaultOptions): Either.Either<ResolvedKeyVaultConfig, Fault> =>
  Either.gen(function*() {
    const url = yield* Either.mapLeft(parseVaultUrl(options.vaultUrl), fault("vaultUrl"))
    if (url.protocol === "http:") {
      if (options.allowInsecureHttp !== true) {
        return yield* Either.left(fault("vaultUrl")(
          `vaultUrl must be an https URL; http: is allowed only for an emulator on a loopback address, with ${INSECURE_HINT}`
        ))
      }
      if (!isLoopback(url.hostname)) {
        return yield* Either.left(fault("vaultUrl")(
          `allowInsecureHttp (AZURE_KEYVAULT_ALLOW_INSECURE_HTTP) applies only to literal loopback hosts (localhost, ` +
            `127.0.0.0/8, [::1]), not ${url.hostname}: a name may be resolved through DNS, and the bearer token ` +
            "would then cross the network in clear text"
        ))
      }
    }
    const resilience = yield* Either.mapLeft(resolveResilience(options.resilience), fault("resilience"))
    const requestTimeoutMillis = yield* Either.mapLeft(
      checkRequestTimeout(options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT),
      fault("requestTimeout")
    )
    const apiVersion = yield* Either.mapLeft(checkApiVersion(options.apiVersion ?? DEFAULT_API_VERSION), fault("apiVersion"))
    return {
      vaultUrl: url.origin,
      vaultHost: url.host,
      apiVersion,
      disableChallengeResourceVerification: options.disableChallengeResourceVerification ?? false,
      requestTimeoutMillis,
      resilience
    }
  })

/**
 * Checks and normalises options. Fails with a message naming the bad option; a URL is never quoted with its
 * `user:password@`.
 *
 * @since 0.1.0
 * @category config
 */
export const resolve = (options: KeyVaultOptions): Either.Either<ResolvedKeyVaultConfig, string> =>
  Either.mapLeft(check(options), (f) => f.message)

const DEFAULT_REQUEST_TIMEOUT: Duration.DurationInput = "60 seconds"

/**
 * A configuration layer from options. It reads no `Config`, so it raises no `ConfigError`: options it refuses (a
 * vault URL with a path, http: for a remote host, ...) fail it with a `ValidationError` naming the option.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: KeyVaultOptions): Layer.Layer<KeyVaultConfig, ValidationError> =>
  Layer.effect(KeyVaultConfig, Effect.suspend(() => validate("KeyVaultConfig.layer", options)))

/**
 * Checks options as `layer` does: the resolved configuration, or a `ValidationError` naming the option.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (operation: string, options: KeyVaultOptions): Effect.Effect<ResolvedKeyVaultConfig, ValidationError> =>
  Either.match(check(options), {
    onLeft: (f) => Effect.fail(new ValidationError({ operation, field: f.option, message: f.message })),
    onRight: Effect.succeed
  })

const optional = <A>(config: Config.Config<A>): Config.Config<A | undefined> => Config.withDefault(config, undefined)

const text = (input: string): Either.Either<string, string> => Either.right(input)

/**
 * The `Config` that reads `AZURE_KEYVAULT_URL`, `AZURE_KEYVAULT_API_VERSION`,
 * `AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION`, `AZURE_KEYVAULT_REQUEST_TIMEOUT` (see `DURATION_FORMS`)
 * and `AZURE_KEYVAULT_ALLOW_INSECURE_HTTP`. Every `ConfigError` it raises names the variable.
 *
 * @since 0.1.0
 * @category config
 */
export const fromEnv: Config.Config<KeyVaultOptions> = Config.mapOrFail(
  Config.all({
    vaultUrl: textConfig(ENV.vaultUrl, refineText(text, parseVaultUrl)),
    apiVersion: optional(textConfig(ENV.apiVersion, refineText(text, checkApiVersion))),
    disableChallengeResourceVerification: optional(booleanConfig(ENV.disableChallengeResourceVerification)),
    requestTimeout: optional(textConfig(ENV.requestTimeout, refineText(durationText, checkRequestTimeout))),
    allowInsecureHttp: optional(booleanConfig(ENV.allowInsecureHttp))
  }),
  // What only shows with two variables together (http: and AZURE_KEYVAULT_ALLOW_INSECURE_HTTP) is reported at the URL.
  (options) =>
    Either.match(check(options), {
      onLeft: (f) =>
        Either.left(ConfigError.InvalidData([f.option in ENV ? ENV[f.option as keyof typeof ENV] : f.option], f.message)),
      onRight: () => Either.right(options)
    })
)

/**
 * A configuration layer from `Config` (default: `fromEnv`): one `Config` of the options, or a record with a `Config`
 * per option (`Config.Config.Wrap`), as `@effect/sql-pg`'s `layerConfig` takes. A value `resolve` refuses is a
 * `ConfigError` at the option's name (`fromEnv` reports it at the variable's).
 *
 * @example
 * ```ts
 * import * as KeyVaultConfig from "@effect-azure/key-vault/config/KeyVaultConfig"
 * import * as Config from "effect/Config"
 *
 * const layer = KeyVaultConfig.layerConfig({
 *   vaultUrl: Config.string("MY_VAULT_URL"),
 *   requestTimeout: Config.duration("MY_VAULT_TIMEOUT")
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<KeyVaultOptions> = fromEnv
): Layer.Layer<KeyVaultConfig, ConfigError.ConfigError> =>
  Layer.effect(
    KeyVaultConfig,
    Config.mapOrFail(Config.unwrap(config), (options) => Either.mapLeft(check(options), (f) => ConfigError.InvalidData([f.option], f.message)))
  )
