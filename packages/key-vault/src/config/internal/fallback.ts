/**
 * A fallback between two flat providers that moves on only when the first has no value, and the per-load context
 * that lets one `Config` read fetch its secrets concurrently and keep their values out of every error.
 *
 * @internal
 */
import * as ConfigError from "effect/ConfigError"
import type * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import type * as PathPatch from "effect/ConfigProviderPathPatch"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"

// Effect applies a flat provider's patch inside `fromFlat` and `orElse` with a function it does not export; this is
// that function, for the patch values `ConfigProviderPathPatch` builds.
const applyPatch = (
  path: ReadonlyArray<string>,
  patch: PathPatch.PathPatch
): Either.Either<ReadonlyArray<string>, ConfigError.ConfigError> => {
  let output = path
  const pending: Array<PathPatch.PathPatch> = [patch]
  while (pending.length > 0) {
    const next = pending.shift()!
    switch (next._tag) {
      case "Empty":
        break
      case "AndThen":
        pending.unshift(next.first, next.second)
        break
      case "MapName":
        output = output.map(next.f)
        break
      case "Nested":
        output = [next.name, ...output]
        break
      case "Unnested":
        if (output[0] !== next.name) {
          return Either.left(
            ConfigError.MissingData([...output], `Expected ${next.name} to be in path in ConfigProvider#unnested`)
          )
        }
        output = output.slice(1)
        break
    }
  }
  return Either.right(output)
}

const patched = <A, E, R>(
  flat: ConfigProvider.ConfigProvider.Flat,
  path: ReadonlyArray<string>,
  f: (path: ReadonlyArray<string>) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | ConfigError.ConfigError, R> =>
  Either.match(applyPatch(path, flat.patch), { onLeft: Effect.fail, onRight: f })

/**
 * `first`, and `second` where `first` has no value (a `MissingData` only). Unlike `ConfigProvider.orElse`, a value
 * that does not decode, or a source that cannot be read, is an error and never replaced by the other's value.
 * Children are the union of both (as `orElse`); a source that cannot list its children (an outage, not a missing
 * path) fails the listing rather than leaving its children out.
 */
export const orElseMissing = (
  first: ConfigProvider.ConfigProvider.Flat,
  second: ConfigProvider.ConfigProvider.Flat
): ConfigProvider.ConfigProvider.Flat =>
  ConfigProvider.makeFlat({
    load: (path, config, split) =>
      patched(first, path, (p) => first.load(p, config, split)).pipe(
        Effect.catchAll((error1) =>
          ConfigError.isMissingDataOnly(error1)
            ? patched(second, path, (p) => second.load(p, config, split)).pipe(
              Effect.mapError((error2) => ConfigError.Or(error1, error2))
            )
            : Effect.fail(error1)
        )
      ),
    enumerateChildren: (path) =>
      Effect.zipWith(
        Effect.either(patched(first, path, first.enumerateChildren)),
        Effect.either(patched(second, path, second.enumerateChildren)),
        (left, right) => {
          const unreadable = [left, right].flatMap((side) =>
            Either.isLeft(side) && !ConfigError.isMissingDataOnly(side.left) ? [side.left] : []
          )
          if (unreadable.length > 0) {
            return Either.left(unreadable.length === 1 ? unreadable[0]! : ConfigError.And(unreadable[0]!, unreadable[1]!))
          }
          return Either.isLeft(left) && Either.isLeft(right)
            ? Either.left(ConfigError.And(left.left, right.left))
            : Either.right(HashSet.union(Either.getOrElse(left, HashSet.empty), Either.getOrElse(right, HashSet.empty)))
        }
      ).pipe(Effect.flatten),
    patch: { _tag: "Empty" }
  })

// ---------------------------------------------------------------------------------------------------------------
// The context of one `load`
// ---------------------------------------------------------------------------------------------------------------

/** A secret whose value answered a path during a load. */
export interface Served {
  readonly secretName: string
  readonly vaultHost: string
  readonly version: string | undefined
  /** Kept only for the duration of the load, to find it in error messages. */
  readonly text: string
  /** What the config expected, when the value did not decode as a primitive. */
  readonly expected?: string | undefined
}

/** A vault source taking part in a load: it is told which names the config asks for before the real pass. */
export interface Source {
  readonly prefetch: (names: ReadonlySet<string>, context: LoadContext) => Effect.Effect<void>
}

/** What one `load` of a `Config` knows: the names it asked for, what was fetched for it, what answered it. */
export interface LoadContext {
  readonly phase: "record" | "load"
  readonly wanted: Map<Source, Set<string>>
  readonly fetched: Map<string, Exit.Exit<unknown, unknown>>
  readonly served: Map<string, Served>
}

/** The load running in this fiber, if a tracked provider started it. */
export const currentLoad: FiberRef.FiberRef<LoadContext | undefined> = FiberRef.unsafeMake<LoadContext | undefined>(
  undefined
)

/** The key of a path in `served` (the path the flat provider was asked for). */
export const pathKey = (path: ReadonlyArray<string>): string => path.join("\u0000")

const EXPECTED = /^Expected (.*?) but received /s

/** The message of a value that does not decode: names the secret and what was expected, never the value. */
export const invalidMessage = (served: Pick<Served, "secretName" | "vaultHost">, expected: string | undefined): string =>
  `secret "${served.secretName}" in ${served.vaultHost} does not hold ${expected ?? "a valid value for this config"} (value not shown)`

const WITHHELD = "(message withheld: it would show a secret value)"

const rebuild = (error: ConfigError.ConfigError, message: string): ConfigError.ConfigError => {
  switch (error._op) {
    case "InvalidData":
      return ConfigError.InvalidData(error.path, message)
    case "MissingData":
      return ConfigError.MissingData(error.path, message)
    case "SourceUnavailable":
      return ConfigError.SourceUnavailable(error.path, message, error.cause)
    case "Unsupported":
      return ConfigError.Unsupported(error.path, message)
    default:
      return error
  }
}

/**
 * The error with every message that came from a secret's value rewritten: an invalid value at a path a secret
 * answered names the secret and what was expected (Effect's own mapped configs, `Config.duration` for one, quote the
 * value they refuse; `Config.redacted` hides which secret it was); an invalid value anywhere else (a `mapAttempt` or
 * validation over several values, whose message may quote part of one: `JSON.parse` quotes the first characters) is
 * withheld whole once a secret answered the load; any other message quoting a served value is withheld.
 */
export const scrub = (context: LoadContext) => (error: ConfigError.ConfigError): ConfigError.ConfigError => {
  if (context.served.size === 0) return error
  const texts = [...context.served.values()].map((s) => s.text).filter((text) => text.length > 0)
  const go = (e: ConfigError.ConfigError): ConfigError.ConfigError => {
    switch (e._op) {
      case "And":
        return ConfigError.And(go(e.left), go(e.right))
      case "Or":
        return ConfigError.Or(go(e.left), go(e.right))
      default: {
        const served = context.served.get(pathKey(e.path))
        if (e._op === "InvalidData" && served !== undefined) {
          const own = invalidMessage(served, undefined).split(" does not hold ")[0]!
          if (e.message.startsWith(own) && !texts.some((t) => e.message.includes(t))) return e
          return rebuild(e, invalidMessage(served, EXPECTED.exec(e.message)?.[1] ?? served.expected))
        }
        if (e._op === "InvalidData") return rebuild(e, WITHHELD)
        return texts.some((t) => e.message.includes(t)) ? rebuild(e, WITHHELD) : e
      }
    }
  }
  return go(error)
}

/**
 * A provider over `flat` whose `load` runs in two passes: a recording pass (every vault read answers "missing", so
 * every branch of the config is visited and every secret name it may read is noted), the fetch of those names,
 * concurrently, then the real pass over the fetched values. Errors are scrubbed of values.
 */
export const tracked = (flat: ConfigProvider.ConfigProvider.Flat): {
  readonly provider: ConfigProvider.ConfigProvider
  readonly loadServed: <A>(config: Config.Config<A>) => Effect.Effect<readonly [A, LoadContext], ConfigError.ConfigError>
} => {
  const inner = ConfigProvider.fromFlat(flat)
  const loadServed = <A>(config: Config.Config<A>) =>
    Effect.suspend(() => {
      const recording: LoadContext = { phase: "record", wanted: new Map(), fetched: new Map(), served: new Map() }
      const loading: LoadContext = { ...recording, phase: "load" }
      return Effect.locally(Effect.ignore(inner.load(config)), currentLoad, recording).pipe(
        Effect.zipRight(
          Effect.forEach(recording.wanted, ([source, names]) => source.prefetch(names, loading), {
            concurrency: "unbounded",
            discard: true
          })
        ),
        Effect.zipRight(Effect.locally(inner.load(config), currentLoad, loading)),
        Effect.mapBoth({ onFailure: scrub(loading), onSuccess: (value) => [value, loading] as const })
      )
    })
  const provider = ConfigProvider.make({
    load: (config) => Effect.map(loadServed(config), ([value]) => value),
    flattened: flat
  })
  return { provider, loadServed }
}
