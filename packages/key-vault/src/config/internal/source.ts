/**
 * The flat provider over `Secrets`, and the change stream of a config read through it.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { NotFoundError, RequestError, ValidationError } from "../../errors/KeyVaultError.js"
import { isForbiddenError, isNotFoundError, isValidationError } from "../../errors/KeyVaultError.js"
import { isNewVersionCreated, type RotationEvent, vaultHostOf } from "../../rotation/RotationEvent.js"
import type { RotationEventsService } from "../../rotation/RotationEvents.js"
import type { Secret } from "../../secrets/Secret.js"
import type { SecretsService } from "../../secrets/Secrets.js"
import { currentLoad, invalidMessage, type LoadContext, pathKey, type Served, type Source } from "./fallback.js"
import { arrayElements, childrenOf, validName } from "./naming.js"

type ReadError = ValidationError | NotFoundError | RequestError

/** The vault side of the provider. */
export interface VaultSource extends Source {
  readonly flat: ConfigProvider.ConfigProvider.Flat
  readonly vaultHost: string
  readonly secretName: (path: ReadonlyArray<string>) => string
  /** Notes a NewVersionCreated event of this vault's secret: the name exists, its cached value is stale. */
  readonly observe: (event: RotationEvent) => Effect.Effect<Option.Option<string>>
  readonly events: Option.Option<RotationEventsService>
}

export interface SourceOptions {
  readonly secrets: SecretsService
  readonly vaultHost: string
  readonly secretName: (path: ReadonlyArray<string>) => string
  readonly loading: "eager" | "lazy"
  readonly concurrency: number
  /** The names (lower case) listed at startup, eager loading only. */
  readonly names: ReadonlySet<string> | undefined
  readonly listNames: Effect.Effect<ReadonlySet<string>, ReadError>
  readonly events: Option.Option<RotationEventsService>
}

const describe = (error: ReadError): string => `${error._tag}: ${error.message}`

export const make = (options: SourceOptions): Effect.Effect<VaultSource, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { secrets, secretName, vaultHost } = options
    const host = vaultHost.toLowerCase()
    const eager = options.loading === "eager"
    // Eager: the names listed at startup, kept current by NewVersionCreated events. Lazy: listed when first
    // enumerated (a hash map, or an array of one secret per element), then kept current the same way.
    const names = yield* Ref.make<ReadonlySet<string> | undefined>(options.names)
    const fetchKey = (lower: string) => `${host}|${lower}`

    const knownNames = (path: ReadonlyArray<string>): Effect.Effect<ReadonlySet<string>, ConfigError.ConfigError> =>
      Effect.flatMap(Ref.get(names), (known) =>
        known !== undefined
          ? Effect.succeed(known)
          : options.listNames.pipe(
            Effect.tap((listed) => Ref.set(names, listed)),
            Effect.mapError((error) =>
              ConfigError.SourceUnavailable(
                [...path],
                `the secrets of ${vaultHost} could not be listed: ${describe(error)}`,
                Cause.fail(error)
              )
            )
          ))

    // Eager loading answers "missing" for a name it did not list, without a request.
    const listedMissing = (lower: string): Effect.Effect<boolean> =>
      eager ? Effect.map(Ref.get(names), (known) => known !== undefined && !known.has(lower)) : Effect.succeed(false)

    const toConfigError = (path: ReadonlyArray<string>, name: string) => (error: ReadError): ConfigError.ConfigError => {
      if (isNotFoundError(error) || isValidationError(error)) {
        return ConfigError.MissingData([...path], `no secret "${name}" in ${vaultHost}`)
      }
      if (isForbiddenError(error) && error.isDisabled) {
        return ConfigError.MissingData([...path], `secret "${name}" in ${vaultHost} is disabled`)
      }
      return ConfigError.SourceUnavailable(
        [...path],
        `secret "${name}" in ${vaultHost} could not be read: ${describe(error)}`,
        Cause.fail(error)
      )
    }

    const parse = <A>(
      primitive: Config.Config.Primitive<A>,
      text: string
    ): Either.Either<A, ConfigError.ConfigError> => {
      const first = primitive.parse(text)
      // A value stored from a file often ends in a newline: numbers, booleans, dates and the like read it trimmed.
      const trimmed = text.trim()
      return Either.isLeft(first) && trimmed !== text ? primitive.parse(trimmed) : first
    }

    const decode = <A>(
      path: ReadonlyArray<string>,
      primitive: Config.Config.Primitive<A>,
      split: boolean,
      secret: Secret,
      context: LoadContext | undefined
    ): Effect.Effect<Array<A>, ConfigError.ConfigError> => {
      const text = Redacted.value(secret.value)
      const served: Served = {
        secretName: secret.name,
        vaultHost,
        version: secret.properties.version,
        text
      }
      context?.served.set(pathKey(path), served)
      const elements = split ? arrayElements(text) : [text]
      const values: Array<A> = []
      for (const element of elements) {
        const parsed = parse(primitive, element)
        // Effect's parse messages quote the value: this one names the secret and the expected kind only.
        if (Either.isLeft(parsed)) {
          context?.served.set(pathKey(path), { ...served, expected: primitive.description })
          return Effect.fail(ConfigError.InvalidData([...path], invalidMessage(served, primitive.description)))
        }
        values.push(parsed.right)
      }
      return Effect.succeed(values)
    }

    const load = <A>(
      path: ReadonlyArray<string>,
      primitive: Config.Config.Primitive<A>,
      split: boolean = true
    ): Effect.Effect<Array<A>, ConfigError.ConfigError> =>
      Effect.flatMap(FiberRef.get(currentLoad), (context) => {
        const name = secretName(path)
        if (!validName(name)) {
          return Effect.fail(
            ConfigError.MissingData([...path], `"${name}" cannot be a Key Vault secret name, so the vault has none`)
          )
        }
        const lower = name.toLowerCase()
        if (context?.phase === "record") {
          const wanted = context.wanted.get(source) ?? new Set<string>()
          context.wanted.set(source, wanted.add(lower))
          return Effect.fail(ConfigError.MissingData([...path], "recording the names a config reads"))
        }
        return Effect.flatMap(listedMissing(lower), (missing) => {
          if (missing) return Effect.fail(ConfigError.MissingData([...path], `no secret "${name}" in ${vaultHost}`))
          const prefetched = context?.fetched.get(fetchKey(lower)) as Exit.Exit<Secret, ReadError> | undefined
          const read = prefetched ?? secrets.get(name)
          return read.pipe(
            Effect.mapError(toConfigError(path, name)),
            Effect.flatMap((secret) => decode(path, primitive, split, secret, context))
          )
        })
      })

    const enumerateChildren = (
      path: ReadonlyArray<string>
    ): Effect.Effect<HashSet.HashSet<string>, ConfigError.ConfigError> =>
      Effect.map(knownNames(path), (known) => HashSet.fromIterable(childrenOf(known, secretName(path))))

    const prefetch = (wanted: ReadonlySet<string>, context: LoadContext): Effect.Effect<void> =>
      Effect.forEach(
        wanted,
        (lower) =>
          Effect.flatMap(listedMissing(lower), (missing) =>
            missing || context.fetched.has(fetchKey(lower))
              ? Effect.void
              : Effect.map(Effect.exit(secrets.get(lower)), (exit) => {
                context.fetched.set(fetchKey(lower), exit)
              })),
        { concurrency: options.concurrency, discard: true }
      )

    const observe = (event: RotationEvent): Effect.Effect<Option.Option<string>> => {
      if (!isNewVersionCreated(event) || event.data.ObjectType === "Key") return Effect.succeed(Option.none())
      if (vaultHostOf(event) !== host) return Effect.succeed(Option.none())
      const lower = event.data.ObjectName.toLowerCase()
      return Ref.update(names, (known) => known === undefined || known.has(lower) ? known : new Set([...known, lower])).pipe(
        Effect.zipRight(secrets.invalidate(event.data.ObjectName)),
        Effect.as(Option.some(lower))
      )
    }

    const source: VaultSource = {
      flat: ConfigProvider.makeFlat({ load, enumerateChildren, patch: { _tag: "Empty" } }),
      vaultHost,
      secretName,
      prefetch,
      observe,
      events: options.events
    }

    // Keep names and the cache current for the source's lifetime (the stream ends with the events' scope).
    if (Option.isSome(options.events)) {
      const stream = yield* options.events.value.subscribe
      yield* Effect.forkScoped(Stream.runForEach(stream, observe))
    }
    return source
  })

// ---------------------------------------------------------------------------------------------------------------
// Changes
// ---------------------------------------------------------------------------------------------------------------

const fingerprint = (context: LoadContext): string =>
  [...new Set([...context.served.values()].map((s) => `${s.vaultHost}|${s.secretName.toLowerCase()}@${s.version ?? ""}`))]
    .sort()
    .join(",")

const relevant = (source: VaultSource, context: LoadContext): ReadonlySet<string> => {
  const names = new Set(context.wanted.get(source) ?? [])
  for (const s of context.served.values()) if (s.vaultHost === source.vaultHost) names.add(s.secretName.toLowerCase())
  return names
}

/**
 * The config's value now, then again each time a secret it reads (or asked for and did not find) gets a new
 * version: on a NewVersionCreated event of this vault, and at every `poll` tick (through the cache, so a change seen
 * after the TTL). A value is emitted only when the versions behind it changed. A reload that fails after the first
 * is logged and skipped: the last value stands.
 */
export const changes = <A>(
  source: VaultSource,
  loadServed: (config: Config.Config<A>) => Effect.Effect<readonly [A, LoadContext], ConfigError.ConfigError>,
  config: Config.Config<A>,
  poll: Schedule.Schedule<unknown> | undefined
): Stream.Stream<A, ConfigError.ConfigError> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    // Subscribe before the first read, so a change made meanwhile is not missed.
    const events = Option.isSome(source.events)
      ? yield* source.events.value.subscribe
      : Stream.empty
    const [first, context] = yield* loadServed(config)
    const state = yield* Ref.make({ names: relevant(source, context), fingerprint: fingerprint(context) })

    const fromEvents = events.pipe(
      Stream.mapEffect((event) =>
        Effect.flatMap(source.observe(event), (name) =>
          Effect.map(Ref.get(state), (s) => Option.isSome(name) && s.names.has(name.value)))
      ),
      Stream.filter((hit) => hit)
    )
    const ticks = poll === undefined ? Stream.empty : Stream.fromSchedule(poll)
    const reloads = Stream.merge(fromEvents, ticks).pipe(
      Stream.mapEffect(() =>
        loadServed(config).pipe(
          Effect.flatMap(([value, context]) =>
            Ref.modify(state, (s) => {
              const next = { names: relevant(source, context), fingerprint: fingerprint(context) }
              return [next.fingerprint === s.fingerprint ? Option.none() : Option.some(value), next] as const
            })
          ),
          Effect.catchAll((error) =>
            Effect.as(
              Effect.logWarning(`VaultConfigProvider.changes: reload failed, keeping the last value: ${error}`),
              Option.none<A>()
            )
          )
        )
      ),
      Stream.filterMap((value) => value)
    )
    return Stream.concat(Stream.succeed(first), reloads)
  }))
