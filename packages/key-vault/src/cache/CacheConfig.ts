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

/**
 * What a user sets. Every field is optional; the defaults suit a typical service reading a few hundred secrets.
 *
 * @since 0.1.0
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
   * 32-byte key given here. Default off.
   */
  readonly encryptAtRest?: boolean | { readonly key: Uint8Array } | undefined
}

/**
 * The resolved settings, in milliseconds.
 *
 * @since 0.1.0
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
  /** `undefined` when off; `"generate"` for a per-process key. */
  readonly encryptionKey: Uint8Array | "generate" | undefined
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
  input === false ? Either.right(0) : millis(field, input)

const count = (field: string, input: number): Either.Either<number, string> =>
  Number.isInteger(input) && input >= 1 ? Either.right(input) : Either.left(`${field} must be a positive integer`)

/**
 * Checks and normalises options.
 *
 * @since 0.1.0
 */
export const resolve = (options: CacheOptions = {}): Either.Either<ResolvedCacheConfig, string> =>
  Either.gen(function*() {
    const jitter = options.jitter ?? 0.1
    if (!(jitter >= 0 && jitter <= 0.5)) return yield* Either.left("jitter must lie between 0 and 0.5")
    const refreshAhead = options.refreshAhead ?? 0.8
    if (refreshAhead !== false && !(refreshAhead > 0 && refreshAhead < 1)) {
      return yield* Either.left("refreshAhead must lie strictly between 0 and 1, or be false")
    }
    const encrypt = options.encryptAtRest ?? false
    if (typeof encrypt === "object" && encrypt.key.length !== 32) {
      return yield* Either.left("encryptAtRest.key must be 32 bytes (AES-256)")
    }
    return {
      enabled: options.enabled ?? true,
      ttlMillis: yield* millis("ttl", options.ttl ?? "5 minutes"),
      versionTtlMillis: yield* millis("versionTtl", options.versionTtl ?? "1 hour"),
      jitter,
      maxEntries: yield* count("maxEntries", options.maxEntries ?? 10_000),
      refreshAhead: refreshAhead === false ? 0 : refreshAhead,
      staleIfErrorMillis: yield* optionalMillis("staleIfError", options.staleIfError ?? "5 minutes"),
      negativeTtlMillis: yield* optionalMillis("negativeTtl", options.negativeTtl ?? "30 seconds"),
      maxNegativeEntries: yield* count("maxNegativeEntries", options.maxNegativeEntries ?? 1_000),
      hotEntries: options.hotEntries === 0 ? 0 : yield* count("hotEntries", options.hotEntries ?? 1_024),
      encryptionKey: encrypt === false ? undefined : encrypt === true ? "generate" : encrypt.key
    }
  })

/**
 * The `Config` reading `AZURE_KEYVAULT_CACHE_ENABLED`, `_TTL`, `_VERSION_TTL`, `_MAX_ENTRIES`, `_REFRESH_AHEAD`,
 * `_STALE_IF_ERROR`, `_NEGATIVE_TTL` and `_ENCRYPT_AT_REST` (durations like `5 minutes`).
 *
 * @since 0.1.0
 */
export const fromEnv: Config.Config<CacheOptions> = Config.all({
  enabled: Config.withDefault(Config.boolean("AZURE_KEYVAULT_CACHE_ENABLED"), true),
  ttl: Config.withDefault(Config.duration("AZURE_KEYVAULT_CACHE_TTL"), Duration.minutes(5)),
  versionTtl: Config.withDefault(Config.duration("AZURE_KEYVAULT_CACHE_VERSION_TTL"), Duration.hours(1)),
  maxEntries: Config.withDefault(Config.integer("AZURE_KEYVAULT_CACHE_MAX_ENTRIES"), 10_000),
  refreshAhead: Config.withDefault(Config.number("AZURE_KEYVAULT_CACHE_REFRESH_AHEAD"), 0.8),
  staleIfError: Config.withDefault(Config.duration("AZURE_KEYVAULT_CACHE_STALE_IF_ERROR"), Duration.minutes(5)),
  negativeTtl: Config.withDefault(Config.duration("AZURE_KEYVAULT_CACHE_NEGATIVE_TTL"), Duration.seconds(30)),
  encryptAtRest: Config.withDefault(Config.boolean("AZURE_KEYVAULT_CACHE_ENCRYPT_AT_REST"), false)
})

/**
 * `resolve` as a `Config` step.
 *
 * @since 0.1.0
 */
export const resolveConfig = (config: Config.Config<CacheOptions>): Config.Config<ResolvedCacheConfig> =>
  Config.mapOrFail(config, (options) => Either.mapLeft(resolve(options), (message) => ConfigError.InvalidData([], message)))
