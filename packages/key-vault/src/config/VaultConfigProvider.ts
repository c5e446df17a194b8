/**
 * Key Vault as an Effect `ConfigProvider`: `Config.redacted("DATABASE_PASSWORD")` (or a nested `Config.all`) is
 * answered from the vault's secrets, through the `Secrets` service and so its cache, with the environment as a
 * fallback.
 *
 * Names. A config path maps to a secret name by `secretName`: every segment in kebab case (`DATABASE_PASSWORD`,
 * `databasePassword` → `database-password`), segments joined by `--`, the nesting convention of the .NET
 * configuration provider (`Config.nested(Config.string("password"), "db")` and `db.password` → `db--password`), after
 * an optional application prefix (`myapp--database-password`). A function of the path may replace the mapping.
 *
 * Values. Every `Config` primitive decodes from the secret's value as Effect decodes an environment variable's
 * (numbers, integers, booleans, dates, durations, literals, URLs, ports, log levels; surrounding whitespace is ignored
 * for everything but text); `Config.redacted` keeps it `Redacted`. Arrays: one secret holding a JSON array
 * (`["a","b"]`, elements strings, numbers or booleans), or one secret per element named with its index
 * (`hosts--0`, `hosts--1`, as .NET). A value is never split at commas. A value that does not decode is a `ConfigError`
 * naming the secret and what was expected, never showing the value.
 *
 * Loading. `eager` (the default) lists the vault's names once when the provider is made (retried on a `Schedule`,
 * bounded by a timeout: an outage fails startup with a `VaultConfigUnavailableError`, never hangs); a name it did
 * not list is missing without a request. Each `load` of a `Config` first notes every secret the config may read,
 * fetches them concurrently (at most `concurrency` at once, under the client's rate limiter), then decodes. `lazy`
 * lists nothing at startup and reads each secret on first use. A missing (or disabled) secret falls through to the
 * next provider; a value that does not decode, or a vault that cannot be read, does not.
 *
 * Live values. Every `load` reads through the `Secrets` cache: a `Config` read again later sees a new version after the
 * cache's TTL, or at once after a NewVersionCreated event when `RotationEvents` is in the context (the provider
 * invalidates the name). `changes` is a `Stream` of a config's value for applications that must react to a rotation.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { type KeyVaultError, isTransient } from "../errors/KeyVaultError.js"
import { RotationEvents } from "../rotation/RotationEvents.js"
import { Secrets } from "../secrets/Secrets.js"
import * as Fallback from "./internal/fallback.js"
import * as Naming from "./internal/naming.js"
import * as Source from "./internal/source.js"
import { KeyVaultConfig } from "./KeyVaultConfig.js"

/**
 * The startup listing could not be done: the vault failed (after the retries, or at once for a failure that waiting
 * will not heal, such as a missing permission) or did not answer within the timeout. `cause` is the last failure.
 *
 * @since 0.1.0
 * @category errors
 */
export class VaultConfigUnavailableError extends Data.TaggedError("VaultConfigUnavailableError")<{
  readonly vaultUrl: string
  readonly reason: "Failed" | "Timeout"
  readonly attempts: number
  readonly message: string
  readonly cause?: KeyVaultError | undefined
}> {}

/**
 * True for a `VaultConfigUnavailableError` (by tag, so it holds across two installed copies).
 *
 * @since 0.1.0
 * @category guards
 */
export const isVaultConfigUnavailableError = (u: unknown): u is VaultConfigUnavailableError =>
  typeof u === "object" && u !== null && (u as { readonly _tag?: unknown })._tag === "VaultConfigUnavailableError"

/**
 * `eager`: list the vault's names at startup; `lazy`: read each secret on first use.
 *
 * @since 0.1.0
 * @category models
 */
export type Loading = "eager" | "lazy"

/**
 * Where the vault stands among the sources: first with the environment as fallback (`vault-first`), after the
 * environment (`environment-first`: a variable overrides a secret, handy in development), or alone.
 *
 * @since 0.1.0
 * @category models
 */
export type Order = "vault-first" | "environment-first" | "vault-only"

/**
 * Options of `make`.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultConfigProviderOptions {
  /** An application prefix: `myapp` reads `DATABASE_PASSWORD` from `myapp--database-password`. */
  readonly prefix?: string | undefined
  /** Replaces the mapping of a config path to a secret name (the prefix is then the function's business). */
  readonly secretName?: ((path: ReadonlyArray<string>) => string) | undefined
  /** Default `eager`. */
  readonly loading?: Loading | undefined
  /** Secrets one `load` fetches at once. Default 8. */
  readonly concurrency?: number | undefined
  /**
   * Retries of the startup listing (eager loading), fed its failures; only failures that may pass are retried
   * (`KeyVaultError.isTransient`). Default `DEFAULT_STARTUP_RETRY`.
   */
  readonly startupRetry?: Schedule.Schedule<unknown, unknown> | undefined
  /** The startup listing's bound, retries included. Default 60 seconds. */
  readonly startupTimeout?: Duration.DurationInput | undefined
}

/**
 * Options of `layer`: `make`'s, the order, and the other source (default `ConfigProvider.fromEnv()`).
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultConfigProviderLayerOptions extends VaultConfigProviderOptions {
  /** Default `vault-first`. */
  readonly order?: Order | undefined
  readonly environment?: ConfigProvider.ConfigProvider | undefined
}

/**
 * Options of `changes`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChangesOptions {
  /**
   * Also reload on this schedule, through the cache (so a change made without an event shows after the TTL).
   * Without it, only NewVersionCreated events of `RotationEvents` trigger a reload.
   */
  readonly poll?: Schedule.Schedule<unknown> | undefined
}

/**
 * The provider with what the application may need besides installing it.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultConfigProviderService {
  /** The provider (in `layer`: the one installed, with its fallback). */
  readonly provider: ConfigProvider.ConfigProvider
  readonly vaultUrl: string
  readonly loading: Loading
  /** The secret name a config path reads. */
  readonly secretName: (path: ReadonlyArray<string>) => string
  /** Reads a config through `provider` (as `Effect.withConfigProvider(config, provider)` would). */
  readonly load: <A>(config: Config.Config<A>) => Effect.Effect<A, ConfigError.ConfigError>
  /**
   * The config's value now, then again each time a secret it reads (or looked for and did not find) gets a new
   * version: on a NewVersionCreated event when `RotationEvents` was in the context the provider was made in, and on
   * every `poll` tick. Emits only when the versions behind the value changed. It fails if the first read fails; a
   * later reload that fails is logged (without values) and skipped, the last value standing.
   */
  readonly changes: <A>(config: Config.Config<A>, options?: ChangesOptions) => Stream.Stream<A, ConfigError.ConfigError>
}

/**
 * The provider's tag (`layer` provides it).
 *
 * @since 0.1.0
 * @category tags
 */
export class VaultConfigProvider extends Context.Tag("@effect-azure/key-vault/VaultConfigProvider")<
  VaultConfigProvider,
  VaultConfigProviderService
>() {}

interface Internal extends VaultConfigProviderService {
  readonly source: Source.VaultSource
}

/**
 * The default startup retry: up to 4 retries after about 1, 2, 4 and 8 seconds (jittered), on top of the transport's
 * own retries of each request.
 *
 * @since 0.1.0
 * @category constructors
 */
export const DEFAULT_STARTUP_RETRY: Schedule.Schedule<unknown> = Schedule.exponential("1 second").pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(4))
)

/**
 * The default bound of the startup listing.
 *
 * @since 0.1.0
 * @category constructors
 */
export const DEFAULT_STARTUP_TIMEOUT: Duration.Duration = Duration.seconds(60)

/**
 * Secrets one `load` fetches at once by default.
 *
 * @since 0.1.0
 * @category constructors
 */
export const DEFAULT_CONCURRENCY = 8

/**
 * The default mapping of a config path to a secret name: the prefix (lower case), then each segment in kebab case
 * (`DATABASE_PASSWORD` → `database-password`; a dot nests, `db.password` → `db--password`; an index `[0]` → `0`),
 * joined by `--`. `secretName(["db", "password"], "myapp")` is `myapp--db--password`.
 *
 * @since 0.1.0
 * @category utils
 */
export const secretName = (path: ReadonlyArray<string>, prefix?: string): string => Naming.defaultSecretName(prefix)(path)

/**
 * `first`, then `second` where `first` has no value. Unlike `ConfigProvider.orElse`, only a missing value falls
 * through: a value that does not decode, or a source that cannot be read, is an error, never silently replaced by
 * the other source's value. Both may be any providers; built on this module's providers, the result keeps their
 * concurrent fetch and their value-free errors.
 *
 * @since 0.1.0
 * @category combinators
 */
export const orElse = (
  first: ConfigProvider.ConfigProvider,
  second: ConfigProvider.ConfigProvider
): ConfigProvider.ConfigProvider => Fallback.tracked(Fallback.orElseMissing(first.flattened, second.flattened)).provider

const service = (
  source: Source.VaultSource,
  flat: ConfigProvider.ConfigProvider.Flat,
  info: { readonly vaultUrl: string; readonly loading: Loading }
): Internal => {
  const { loadServed, provider } = Fallback.tracked(flat)
  return {
    source,
    provider,
    vaultUrl: info.vaultUrl,
    loading: info.loading,
    secretName: source.secretName,
    load: provider.load,
    changes: (config, options) => Source.changes(source, loadServed, config, options?.poll)
  }
}

const rearranged = (self: VaultConfigProviderService, flat: ConfigProvider.ConfigProvider.Flat) => {
  const { source } = self as Internal
  return service(source, flat, self)
}

/**
 * The vault first, then `environment` (default `ConfigProvider.fromEnv()`) for what the vault does not have.
 *
 * @since 0.1.0
 * @category combinators
 */
export const vaultFirst = (
  self: VaultConfigProviderService,
  environment: ConfigProvider.ConfigProvider = ConfigProvider.fromEnv()
): VaultConfigProviderService =>
  rearranged(self, Fallback.orElseMissing((self as Internal).source.flat, environment.flattened))

/**
 * `environment` (default `ConfigProvider.fromEnv()`) first, then the vault: a variable overrides a secret.
 *
 * @since 0.1.0
 * @category combinators
 */
export const environmentFirst = (
  self: VaultConfigProviderService,
  environment: ConfigProvider.ConfigProvider = ConfigProvider.fromEnv()
): VaultConfigProviderService =>
  rearranged(self, Fallback.orElseMissing(environment.flattened, (self as Internal).source.flat))

const describe = (error: KeyVaultError): string => `${error._tag}: ${error.message}`

/**
 * The vault alone as a provider, built on `Secrets` (and `RotationEvents` when the context has it). With eager
 * loading it lists the vault's names now: retried on `startupRetry`, bounded by `startupTimeout`, and failing with a
 * `VaultConfigUnavailableError` that says why. The scope keeps its event subscription.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: VaultConfigProviderOptions = {}
): Effect.Effect<VaultConfigProviderService, VaultConfigUnavailableError, Secrets | KeyVaultConfig | Scope.Scope> =>
  Effect.gen(function*() {
    const { prefix } = options
    if (prefix !== undefined && !Naming.validPrefix(prefix)) {
      return yield* Effect.dieMessage(
        "VaultConfigProvider: prefix must be 1-127 characters of 0-9, a-z, A-Z and -, not ending in -"
      )
    }
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY
    if (!(Number.isSafeInteger(concurrency) && concurrency >= 1)) {
      return yield* Effect.dieMessage("VaultConfigProvider: concurrency must be a positive integer")
    }
    const loading = options.loading ?? "eager"
    const secrets = yield* Secrets
    const { vaultHost, vaultUrl } = yield* KeyVaultConfig
    const events = yield* Effect.serviceOption(RotationEvents)

    const listNames = secrets.listProperties().pipe(
      Stream.runFold(new Set<string>(), (names, p) => p.enabled === false ? names : names.add(p.name.toLowerCase()))
    )

    let names: ReadonlySet<string> | undefined = undefined
    if (loading === "eager") {
      const timeout = Duration.decode(options.startupTimeout ?? DEFAULT_STARTUP_TIMEOUT)
      const attempts = yield* Ref.make(0)
      const last = yield* Ref.make<KeyVaultError | undefined>(undefined)
      const unavailable = (reason: "Failed" | "Timeout") =>
        Effect.flatMap(Effect.zip(Ref.get(attempts), Ref.get(last)), ([n, cause]) => {
          const tried = `${n} attempt${n === 1 ? "" : "s"}`
          const lastFailure = cause === undefined ? "" : `; last failure: ${describe(cause)}`
          const message = reason === "Timeout"
            ? `VaultConfigProvider: ${vaultUrl} did not list its secrets within ${Duration.format(timeout)} at startup (${tried}${lastFailure})`
            : `VaultConfigProvider: ${vaultUrl} could not list its secrets at startup (${tried}${lastFailure}); ` +
              (cause !== undefined && isTransient(cause)
                ? "the vault stayed unavailable"
                : "check the vault URL and that the identity may list secrets")
          return Effect.fail(new VaultConfigUnavailableError({ vaultUrl, reason, attempts: n, message, cause }))
        })
      names = yield* Ref.update(attempts, (n) => n + 1).pipe(
        Effect.zipRight(listNames),
        Effect.tapError((error) => Ref.set(last, error)),
        Effect.retry({ schedule: options.startupRetry ?? DEFAULT_STARTUP_RETRY, while: isTransient }),
        Effect.timeout(timeout),
        Effect.catchAll((error) => unavailable(error._tag === "TimeoutException" ? "Timeout" : "Failed"))
      )
    }

    const source = yield* Source.make({
      secrets,
      vaultHost,
      secretName: options.secretName ?? Naming.defaultSecretName(prefix),
      loading,
      concurrency,
      names,
      listNames,
      events
    })
    return service(source, source.flat, { vaultUrl, loading })
  })

const arrange = (vault: VaultConfigProviderService, options: VaultConfigProviderLayerOptions) => {
  switch (options.order ?? "vault-first") {
    case "vault-first":
      return vaultFirst(vault, options.environment)
    case "environment-first":
      return environmentFirst(vault, options.environment)
    case "vault-only":
      return vault
  }
}

/**
 * Makes the provider (see `make`), arranges it with the environment per `order` (default `vault-first`), installs it
 * as the application's `ConfigProvider` (`Layer.setConfigProvider`) and provides `VaultConfigProvider`. Build it
 * on the client: `VaultConfigProvider.layer().pipe(Layer.provide(client))`; the client's own settings are read
 * before it is installed.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: VaultConfigProviderLayerOptions = {}
): Layer.Layer<VaultConfigProvider, VaultConfigUnavailableError, Secrets | KeyVaultConfig> =>
  Layer.unwrapScoped(
    Effect.map(make(options), (vault) => {
      const arranged = arrange(vault, options)
      return Layer.merge(Layer.succeed(VaultConfigProvider, arranged), Layer.setConfigProvider(arranged.provider))
    })
  )

/**
 * The settings `layerConfig` reads from `Config`.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultConfigProviderSettings {
  readonly prefix?: string | undefined
  readonly loading?: Loading | undefined
  readonly order?: Order | undefined
}

/**
 * The settings from the environment: `AZURE_KEYVAULT_CONFIG_PREFIX`, `AZURE_KEYVAULT_CONFIG_LOADING`
 * (`eager` / `lazy`), `AZURE_KEYVAULT_CONFIG_ORDER` (`vault-first` / `environment-first` / `vault-only`), each
 * optional.
 *
 * @since 0.1.0
 * @category config
 */
export const fromEnv: Config.Config<VaultConfigProviderSettings> = Config.all({
  prefix: Config.option(
    Config.mapOrFail(Config.string("AZURE_KEYVAULT_CONFIG_PREFIX"), (prefix) =>
      Naming.validPrefix(prefix)
        ? Either.right(prefix)
        : Either.left(
          ConfigError.InvalidData(
            ["AZURE_KEYVAULT_CONFIG_PREFIX"],
            "expected 1-127 characters of 0-9, a-z, A-Z and -, not ending in -"
          )
        ))
  ),
  loading: Config.option(Config.literal("eager", "lazy")("AZURE_KEYVAULT_CONFIG_LOADING")),
  order: Config.option(Config.literal("vault-first", "environment-first", "vault-only")("AZURE_KEYVAULT_CONFIG_ORDER"))
}).pipe(
  Config.map((settings) => ({
    prefix: Option.getOrUndefined(settings.prefix),
    loading: Option.getOrUndefined(settings.loading),
    order: Option.getOrUndefined(settings.order)
  }))
)

/**
 * `layer` with its settings from `Config` (default `fromEnv`; or a record with a `Config` per setting) and the rest
 * as plain options. A setting that does not read fails the Layer with a `ConfigError` naming it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<VaultConfigProviderSettings> = fromEnv,
  options: Omit<VaultConfigProviderLayerOptions, keyof VaultConfigProviderSettings> = {}
): Layer.Layer<
  VaultConfigProvider,
  VaultConfigUnavailableError | ConfigError.ConfigError,
  Secrets | KeyVaultConfig
> => Layer.unwrapEffect(Effect.map(Config.unwrap(config), (settings) => layer({ ...options, ...settings })))

/**
 * `changes` of the `VaultConfigProvider` in the context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const changes = <A>(
  config: Config.Config<A>,
  options?: ChangesOptions
): Stream.Stream<A, ConfigError.ConfigError, VaultConfigProvider> =>
  Stream.unwrap(Effect.map(VaultConfigProvider, (provider) => provider.changes(config, options)))
