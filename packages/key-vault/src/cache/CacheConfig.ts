/**
 * Cache settings: TTLs, bounds, refresh-ahead, stale-if-error, negative caching and encryption at rest. Built from
 * options or from `Config` (`AZURE_KEYVAULT_CACHE_*`).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { booleanText, durationText, orOff, refineText, textConfig } from "../config/KeyVaultConfig.js"

/**
 * What a user sets. Every field is optional; the defaults suit a typical service reading a few hundred secrets.
 *
 * @since 0.1.0
 * @category models
 */
export interface CacheOptions {
  /** Switch the cache off entirely (every read goes to the vault). Default true. */
  readonly enabled?: boolean | undefined
  /** How long a `latest` read stays fresh. Default 5 minutes. */
  readonly ttl?: Duration.DurationInput | undefined
  /** How long a read of a specific version stays fresh: versions never change, so longer. Default 1 hour. */
  readonly versionTtl?: Duration.DurationInput | undefined
  /**
   * Each entry's TTL is shortened by a random fraction up to this (0..0.5), so a fleet that started together does
   * not refresh in lockstep. Default 0.1.
   */
  readonly jitter?: number | undefined
  /** The most entries kept; the least recently used goes first. Default 10,000. */
  readonly maxEntries?: number | undefined
  /**
   * A read after this fraction of the TTL (0 < x < 1) returns the cached value at once and starts one background
   * refresh. `false` turns refresh-ahead off. Default 0.8.
   */
  readonly refreshAhead?: number | false | undefined
  /**
   * After expiry, how long the last good value may still be served when reloading fails with a transient error
   * (5xx, timeout, network, 429). 401, 403, 404 and disabled objects are never masked. `false` turns it off.
   * Default 5 minutes.
   */
  readonly staleIfError?: Duration.DurationInput | false | undefined
  /** How long a not-found answer is remembered. `false` turns negative caching off. Default 30 seconds. */
  readonly negativeTtl?: Duration.DurationInput | false | undefined
  /** The most not-found answers kept, in their own store. Default 1,000. */
  readonly maxNegativeEntries?: number | undefined
  /**
   * How many recently hit entries keep their decoded value, so that hits on them decode nothing; the others keep
   * only a compact form. Default 1,024; not used with encryption at rest.
   */
  readonly hotEntries?: number | undefined
  /**
   * Encrypt cached secret values with AES-256-GCM under a key held in memory only: generated per process, or the
   * 32-byte key given here (copied, and from then on held as `Redacted`: no printout of the cache shows it). Default
   * off.
   */
  readonly encryptAtRest?: boolean | { readonly key: Uint8Array | Redacted.Redacted<Uint8Array> } | undefined
}

/**
 * The resolved settings, in milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolvedCacheConfig {
  readonly enabled: boolean
  readonly ttlMillis: number
  readonly versionTtlMillis: number
  readonly jitter: number
  readonly maxEntries: number
  /** 0 when off. */
  readonly refreshAhead: number
  /** 0 when off. */
  readonly staleIfErrorMillis: number
  /** 0 when off. */
  readonly negativeTtlMillis: number
  readonly maxNegativeEntries: number
  readonly hotEntries: number
  /**
   * `undefined` when off; `"generate"` for a per-process key. A given key is `Redacted`, so printing, logging or
   * serialising this config (or the cache service holding it) never shows key bytes.
   */
  readonly encryptionKey: Redacted.Redacted<Uint8Array> | "generate" | undefined
}

const millis = (field: string, input: Duration.DurationInput): Either.Either<number, string> =>
  Option.match(Duration.decodeUnknown(input), {
    onNone: () => Either.left(`${field} is not a duration`),
    onSome: (d) =>
      Duration.isFinite(d) && Duration.toMillis(d) > 0
        ? Either.right(Duration.toMillis(d))
        : Either.left(`${field} must be a positive, finite duration`)
  })

const optionalMillis = (field: string, input: Duration.DurationInput | false): Either.Either<number, string> =>
  input === false
    ? Either.right(0)
    : Either.mapLeft(millis(field, input), (message) => `${message}, or false (off) to switch it off`)

const count = (field: string, input: number): Either.Either<number, string> =>
  Number.isInteger(input) && input >= 1 ? Either.right(input) : Either.left(`${field} must be a positive integer`)

// One check per option, used by `resolve` and, variable by variable, by `fromEnv`: a bad value is reported where
// it was read.
const checks = {
  ttl: (input: Duration.DurationInput) => millis("ttl", input),
  versionTtl: (input: Duration.DurationInput) => millis("versionTtl", input),
  jitter: (jitter: number): Either.Either<number, string> =>
    jitter >= 0 && jitter <= 0.5 ? Either.right(jitter) : Either.left("jitter must lie between 0 and 0.5"),
  maxEntries: (input: number) => count("maxEntries", input),
  refreshAhead: (input: number | false): Either.Either<number, string> =>
    input === false
      ? Either.right(0)
      : input > 0 && input < 1
      ? Either.right(input)
      : Either.left("refreshAhead must lie strictly between 0 and 1, or be false (off)"),
  staleIfError: (input: Duration.DurationInput | false) => optionalMillis("staleIfError", input),
  negativeTtl: (input: Duration.DurationInput | false) => optionalMillis("negativeTtl", input),
  maxNegativeEntries: (input: number) => count("maxNegativeEntries", input),
  hotEntries: (input: number): Either.Either<number, string> =>
    input === 0 ? Either.right(0) : Either.mapLeft(count("hotEntries", input), (message) => `${message}, or 0`)
}

interface Fault {
  readonly option: keyof CacheOptions
  readonly message: string
}

const at = (option: keyof CacheOptions) => <A>(result: Either.Either<A, string>): Either.Either<A, Fault> =>
  Either.mapLeft(result, (message) => ({ option, message }))

const check = (options: CacheOptions): Either.Either<ResolvedCacheConfig, Fault> =>
  Either.gen(function*() {
    const encrypt = options.encryptAtRest ?? false
    let encryptionKey: ResolvedCacheConfig["encryptionKey"]
    if (typeof encrypt === "object") {
      // A copy: the caller's array may be reused or wiped, and the copy is reachable only through `Redacted`.
      const key = Uint8Array.from(Redacted.isRedacted(encrypt.key) ? Redacted.value(encrypt.key) : encrypt.key)
      if (key.length !== 32) {
        return yield* Either.left({ option: "encryptAtRest" as const, message: "encryptAtRest.key must be 32 bytes (AES-256)" })
      }
      encryptionKey = Redacted.make(key)
    } else {
      encryptionKey = encrypt ? "generate" : undefined
    }
    return {
      enabled: options.enabled ?? true,
      ttlMillis: yield* at("ttl")(checks.ttl(options.ttl ?? "5 minutes")),
      versionTtlMillis: yield* at("versionTtl")(checks.versionTtl(options.versionTtl ?? "1 hour")),
      jitter: yield* at("jitter")(checks.jitter(options.jitter ?? 0.1)),
      maxEntries: yield* at("maxEntries")(checks.maxEntries(options.maxEntries ?? 10_000)),
      refreshAhead: yield* at("refreshAhead")(checks.refreshAhead(options.refreshAhead ?? 0.8)),
      staleIfErrorMillis: yield* at("staleIfError")(checks.staleIfError(options.staleIfError ?? "5 minutes")),
      negativeTtlMillis: yield* at("negativeTtl")(checks.negativeTtl(options.negativeTtl ?? "30 seconds")),
      maxNegativeEntries: yield* at("maxNegativeEntries")(checks.maxNegativeEntries(options.maxNegativeEntries ?? 1_000)),
      hotEntries: yield* at("hotEntries")(checks.hotEntries(options.hotEntries ?? 1_024)),
      encryptionKey
    }
  })

/**
 * Checks and normalises options. Messages name the option and never show key bytes.
 *
 * @since 0.1.0
 * @category config
 */
export const resolve = (options: CacheOptions = {}): Either.Either<ResolvedCacheConfig, string> =>
  Either.mapLeft(check(options), (f) => f.message)

/**
 * The environment variable behind each option `fromEnv` reads (`encryptAtRest` reads only `true` / `false`: a key
 * is never taken from the environment).
 *
 * @since 0.1.0
 * @category config
 */
export const ENV: { readonly [K in keyof CacheOptions]-?: string } = {
  enabled: "AZURE_KEYVAULT_CACHE_ENABLED",
  ttl: "AZURE_KEYVAULT_CACHE_TTL",
  versionTtl: "AZURE_KEYVAULT_CACHE_VERSION_TTL",
  jitter: "AZURE_KEYVAULT_CACHE_JITTER",
  maxEntries: "AZURE_KEYVAULT_CACHE_MAX_ENTRIES",
  refreshAhead: "AZURE_KEYVAULT_CACHE_REFRESH_AHEAD",
  staleIfError: "AZURE_KEYVAULT_CACHE_STALE_IF_ERROR",
  negativeTtl: "AZURE_KEYVAULT_CACHE_NEGATIVE_TTL",
  maxNegativeEntries: "AZURE_KEYVAULT_CACHE_MAX_NEGATIVE_ENTRIES",
  hotEntries: "AZURE_KEYVAULT_CACHE_HOT_ENTRIES",
  encryptAtRest: "AZURE_KEYVAULT_CACHE_ENCRYPT_AT_REST"
}

// Reads one variable, checked where it is read (so a refusal names the variable); absent: `undefined`, so that
// `resolve` applies the default.
const read = <A>(
  name: string,
  parse: (text: string) => Either.Either<A, string>,
  check: (value: A) => Either.Either<unknown, string>
): Config.Config<A | undefined> => Config.withDefault(textConfig(name, refineText(parse, check)), undefined)

const numberText = (what: string) => (text: string): Either.Either<number, string> => {
  const n = Number(text.trim())
  return text.trim() !== "" && Number.isFinite(n) ? Either.right(n) : Either.left(`expected ${what}; got ${JSON.stringify(text)}`)
}

const integerText = refineText(
  numberText("a whole number"),
  (n) => Number.isInteger(n) ? Either.right(n) : Either.left("expected a whole number")
)

const always = Either.right

/**
 * The `Config` reading `AZURE_KEYVAULT_CACHE_ENABLED`, `_TTL`, `_VERSION_TTL`, `_JITTER`, `_MAX_ENTRIES`,
 * `_REFRESH_AHEAD`, `_STALE_IF_ERROR`, `_NEGATIVE_TTL`, `_MAX_NEGATIVE_ENTRIES`, `_HOT_ENTRIES` and
 * `_ENCRYPT_AT_REST` (see `ENV`). Durations take the forms of `KeyVaultConfig.parseDuration` (`30s`, `5m`, `1h`,
 * `250ms`, `10 seconds`, a bare number of seconds); `off` or `false` (any case) switches off the cache (`_ENABLED`),
 * refresh-ahead, stale-if-error and negative caching. Every `ConfigError` names its variable.
 *
 * @since 0.1.0
 * @category config
 */
export const fromEnv: Config.Config<CacheOptions> = Config.all({
  enabled: read(ENV.enabled, booleanText, always),
  ttl: read(ENV.ttl, durationText, checks.ttl),
  versionTtl: read(ENV.versionTtl, durationText, checks.versionTtl),
  jitter: read(ENV.jitter, numberText("a fraction from 0 to 0.5"), checks.jitter),
  maxEntries: read(ENV.maxEntries, integerText, checks.maxEntries),
  refreshAhead: read(ENV.refreshAhead, orOff(numberText("a fraction strictly between 0 and 1")), checks.refreshAhead),
  staleIfError: read(ENV.staleIfError, orOff(durationText), checks.staleIfError),
  negativeTtl: read(ENV.negativeTtl, orOff(durationText), checks.negativeTtl),
  maxNegativeEntries: read(ENV.maxNegativeEntries, integerText, checks.maxNegativeEntries),
  hotEntries: read(ENV.hotEntries, integerText, checks.hotEntries),
  encryptAtRest: read(ENV.encryptAtRest, booleanText, always)
})

/**
 * `resolve` as a `Config` step: a refused value is a `ConfigError` at the option's name (`fromEnv` reports it
 * earlier, at its variable).
 *
 * @since 0.1.0
 * @category config
 */
export const resolveConfig = (config: Config.Config<CacheOptions>): Config.Config<ResolvedCacheConfig> =>
  Config.mapOrFail(config, (options) => Either.mapLeft(check(options), (f) => ConfigError.InvalidData([f.option], f.message)))
