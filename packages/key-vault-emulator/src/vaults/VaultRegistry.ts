/**
 * The vaults of one emulator: the default vault (served on the bare host, as the single vault always was) and any
 * number of named vaults, each with its own objects, settings (soft-delete retention, validity enforcement,
 * throttling, faults) and request journal.
 *
 * A request reaches a named vault by its host (`https://<vault>.vault.azure.net` in-process,
 * `https://<vault>.vault.localhost:<port>` where `*.localhost` resolves) or by a port bound to the vault
 * (`https://localhost:<vault-port>`, which needs no name resolution at all); anything else reaches the default vault.
 * A vault's `port` setting binds it when it is created; a server that serves the registry (`VaultListeners`, the CLI)
 * then opens a listener on that port, and closes it when the vault is removed.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Engine from "../engine/VaultEngine.js"
import * as Faults from "../faults/Faults.js"
import type { FaultRule } from "../faults/FaultRule.js"
import * as Throttle from "../faults/Throttle.js"
import type { EmulatorHandler } from "../http/Protocol.js"
import * as Journal from "../journal/Journal.js"

/**
 * A vault's settings. All optional; the defaults are the single vault's: 90 days of retention, validity enforced,
 * no throttling, no faults. `purgeProtection` refuses purges (403), as a vault with purge protection does.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultSettings {
  readonly recoverableDays?: number | undefined
  readonly purgeProtection?: boolean | undefined
  readonly enforceValidityPeriod?: boolean | undefined
  readonly throttle?: boolean | Throttle.ThrottleOptions | undefined
  readonly faults?: ReadonlyArray<FaultRule> | undefined
  /**
   * A port of its own, 1..65535 (named vaults only): requests sent to it reach this vault whatever their host, and a
   * server serving the registry (`VaultListeners`, the CLI) listens there too, so `https://localhost:<port>` is the
   * vault's URL. Kept with the vault's settings across restarts; no two vaults share one.
   */
  readonly port?: number | undefined
}

/**
 * One vault.
 *
 * @since 0.1.0
 * @category models
 */
export interface Vault {
  /** Key Vault's rules: 3 to 24 characters of `a-z`, `0-9` and `-`, a letter first, no `--`, no `-` last. */
  readonly name: string
  readonly settings: VaultSettings
  readonly engine: Engine.VaultEngine
  /** This vault's requests (the default vault's journal also records Event Grid deliveries). */
  readonly journal: Journal.Journal
  readonly faults: Faults.Faults
  /** The vault's throttle: always present, switched off unless its settings turn it on (`update` switches it). */
  readonly throttle: Throttle.Throttle
  /** The vault's request handler (challenge, journal, faults, throttle, app). */
  readonly handler: EmulatorHandler
  /** Whether this is the default vault. */
  readonly isDefault: boolean
}

/**
 * No vault of that name.
 *
 * @since 0.1.0
 * @category errors
 */
export class VaultNotFound extends Data.TaggedError("VaultNotFound")<{ readonly name: string }> {
  override get message(): string {
    return `No vault named '${this.name}'.`
  }
}

/**
 * A vault of that name exists already.
 *
 * @since 0.1.0
 * @category errors
 */
export class VaultAlreadyExists extends Data.TaggedError("VaultAlreadyExists")<{ readonly name: string }> {
  override get message(): string {
    return `A vault named '${this.name}' exists already.`
  }
}

/**
 * An invalid vault name or settings; `field` names what is wrong (`name`, `settings.recoverableDays`, ...).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidVaultSettings extends Data.TaggedError("InvalidVaultSettings")<{
  readonly name: string
  readonly field: string
  readonly reason: string
}> {
  override get message(): string {
    return `Invalid vault '${this.name}': ${this.field}: ${this.reason}`
  }
}

/**
 * A change to the set of vaults, as `subscribe` reports it (after the change).
 *
 * @since 0.1.0
 * @category models
 */
export type RegistryChange =
  | { readonly _tag: "Created"; readonly vault: Vault }
  | { readonly _tag: "Removed"; readonly name: string }
  | { readonly _tag: "Reset"; readonly vault: Vault }
  /** `bindPort` bound a port to an existing vault (replacing the one it had, if any). */
  | { readonly _tag: "PortBound"; readonly name: string; readonly port: number }

/**
 * The vaults of one emulator.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultRegistry {
  /** The vault served on the bare host (the single vault of earlier versions). */
  readonly defaultVault: Vault
  /** Every vault, the default first, then by name. */
  readonly list: Effect.Effect<ReadonlyArray<Vault>>
  /** A vault by name (any case; the default vault by its name too). */
  readonly get: (name: string) => Effect.Effect<Vault, VaultNotFound>
  readonly create: (
    name: string,
    settings?: VaultSettings
  ) => Effect.Effect<Vault, VaultAlreadyExists | InvalidVaultSettings>
  /** Removes a named vault and everything in it (the default vault cannot be removed: `VaultNotFound`). */
  readonly remove: (name: string) => Effect.Effect<void, VaultNotFound>
  /** Empties a vault's objects, deleted bins and journal; its settings, faults and throttle stay. */
  readonly reset: (name: string) => Effect.Effect<void, VaultNotFound>
  /**
   * The vault URL clients use, given the origin the emulator is reached at (`https://localhost:8443`,
   * `https://emulator.vault.azure.net`): the origin itself for the default vault; `https://localhost:<port>` for a
   * vault bound to a port (on a loopback or `localhost` origin); otherwise its host-name form (see `urlsFor`).
   */
  readonly urlFor: (name: string, origin: string) => string
  /**
   * Every URL that reaches the vault from `origin`, the one needing nothing from the machine first: the origin for
   * the default vault; for a named vault `https://localhost:<port>` when it has a port (on a loopback origin), then
   * its host-name form: on a Key Vault DNS suffix the vault's name in place of the first label
   * (`https://<vault>.vault.azure.net`), on `localhost` or an address `https://<vault>.vault.localhost:<origin-port>`
   * (the server certificate covers `*.vault.localhost`; Node refuses a wildcard right under `localhost`; it needs a
   * resolver that maps `*.localhost` to loopback), else the name in front of the origin's host.
   */
  readonly urlsFor: (name: string, origin: string) => ReadonlyArray<string>
  /** The vault a request reaches: by host label, then by the port it arrived on (`localPort`, from a server; else the URL's), then the default vault. */
  readonly unsafeResolve: (url: URL, localPort?: number | undefined) => Vault
  /**
   * Binds a port to a named vault for this run (its settings are not changed): requests to that port reach it
   * whatever their host. A port it had before is released; a port another vault had is taken from it.
   */
  readonly bindPort: (name: string, port: number) => Effect.Effect<void, VaultNotFound>
  /** The ports bound to vaults, by vault name. */
  readonly ports: Effect.Effect<ReadonlyMap<string, number>>
  /** Tells `listener` about every later change; returns the function that stops it. */
  readonly subscribe: (listener: (change: RegistryChange) => void) => () => void
}

/**
 * Everything a vault is made of, for the caller that serves it.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultParts {
  readonly name: string
  readonly engine: Engine.VaultEngine
  readonly journal: Journal.Journal
  readonly faults: Faults.Faults
  /** Always present; switched off unless the vault's settings turn it on. */
  readonly throttle: Throttle.Throttle
}

/**
 * How the registry builds vaults.
 *
 * @since 0.1.0
 * @category models
 */
export interface RegistryOptions {
  /** The default vault's name; default `DEFAULT_VAULT_NAME`. */
  readonly defaultName?: string | undefined
  /** The default vault's settings. */
  readonly defaultSettings?: VaultSettings | undefined
  /** The default vault's engine observer (Event Grid). */
  readonly defaultObserver?: Engine.VaultObserver | undefined
  /** The engine observer of a named vault (Event Grid's events naming it); default none. */
  readonly observerFor?: ((vault: string) => Engine.VaultObserver) | undefined
  /** The default vault's journal, when the caller built it already (Event Grid records into it). */
  readonly defaultJournal?: Journal.Journal | undefined
  /** Entries each vault's journal keeps; default `Journal.DEFAULT_CAPACITY`. */
  readonly journalCapacity?: number | undefined
  /** Seed of the fault rules' probabilities. */
  readonly faultSeed?: number | undefined
  readonly certificateIssuanceDelayMillis?: number | undefined
  /** The engine maps of a vault (persistence supplies recorded ones); default plain `Map`s. */
  readonly mapsFor?: ((vault: string) => Engine.MapFactory) | undefined
  /** Builds a vault's request handler from its parts. */
  readonly serve: (parts: VaultParts) => EmulatorHandler
  /** Told every runtime change of a vault's throttle (`throttle.update`), with the new settings (persistence). */
  readonly throttleChanged?: ((vault: string, settings: Throttle.ThrottleSettings) => void) | undefined
}

/**
 * The name of the default vault.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_VAULT_NAME = "default"

const VAULT_NAME = /^[a-z](?:[a-z0-9]|-(?!-)){1,22}[a-z0-9]$/

/**
 * Why a vault name is invalid, or `undefined` when it is valid (Key Vault's rules, lower case).
 *
 * @since 0.1.0
 * @category validation
 */
export const vaultNameProblem = (name: string): string | undefined =>
  VAULT_NAME.test(name)
    ? undefined
    : "a vault name is 3 to 24 characters of a-z, 0-9 and '-', starting with a letter, ending with a letter or " +
      "digit, without '--'"

const KEY_VAULT_SUFFIXES = [".vault.azure.net", ".vault.azure.cn", ".vault.usgovcloudapi.net", ".vault.microsoftazure.de"]

const isIpAddress = (hostname: string): boolean => /^[\d.]+$/.test(hostname) || hostname.startsWith("[")

const validateSettings = (name: string, settings: VaultSettings): InvalidVaultSettings | undefined => {
  const problem = (field: string, reason: string) => new InvalidVaultSettings({ name, field, reason })
  const days = settings.recoverableDays
  if (days !== undefined && (!Number.isSafeInteger(days) || days < 1)) {
    return problem("recoverableDays", "must be a whole number of days >= 1 (the service allows 7 to 90)")
  }
  const port = settings.port
  if (port !== undefined && (!Number.isSafeInteger(port) || port < 1 || port > 65535)) {
    return problem("port", "must be a whole number from 1 to 65535")
  }
  for (const field of ["purgeProtection", "enforceValidityPeriod"] as const) {
    const value = settings[field]
    if (value !== undefined && typeof value !== "boolean") return problem(field, "must be true or false")
  }
  if (settings.faults !== undefined && !Array.isArray(settings.faults)) {
    return problem("faults", "must be a list of fault rules")
  }
  const throttle = settings.throttle
  if (throttle !== undefined && typeof throttle !== "boolean" && (typeof throttle !== "object" || throttle === null)) {
    return problem("throttle", "must be true, false or throttle settings")
  }
  return undefined
}

/**
 * Builds one vault; invalid settings fail with `InvalidVaultSettings`.
 */
const makeVault = (
  name: string,
  settings: VaultSettings,
  options: RegistryOptions,
  isDefault: boolean
): Effect.Effect<Vault, InvalidVaultSettings> =>
  Effect.gen(function*() {
    const invalid = validateSettings(name, settings)
    if (invalid !== undefined) return yield* Effect.fail(invalid)
    const journal = isDefault && options.defaultJournal !== undefined
      ? options.defaultJournal
      : yield* Journal.make(options.journalCapacity)
    const faults = yield* Faults.make({ seed: options.faultSeed })
    for (const [index, rule] of (settings.faults ?? []).entries()) {
      yield* Effect.mapError(
        faults.add(rule),
        (error) => new InvalidVaultSettings({ name, field: `faults[${index}]`, reason: error.message })
      )
    }
    const throttleOption = settings.throttle
    const throttleChanged = options.throttleChanged
    const onChange = throttleChanged === undefined
      ? undefined
      : (current: Throttle.ThrottleSettings) => throttleChanged(name, current)
    // Every vault has a throttle, switched off unless its settings ask for one, so the admin API can switch it on
    // at runtime.
    const throttle = yield* Throttle.make({
      ...(throttleOption === undefined || throttleOption === false
        ? { enabled: false }
        : throttleOption === true
        ? {}
        : throttleOption),
      onChange
    }).pipe(
        Effect.catchAllDefect((defect) =>
          Effect.fail(
            new InvalidVaultSettings({
              name,
              field: "throttle",
              reason: defect instanceof Error ? defect.message : "invalid throttle settings"
            })
          )
        )
      )
    const engine = yield* Engine.make({
      recoverableDays: settings.recoverableDays,
      enforceValidityPeriod: settings.enforceValidityPeriod,
      purgeProtection: settings.purgeProtection,
      certificateIssuanceDelayMillis: options.certificateIssuanceDelayMillis,
      observer: isDefault ? options.defaultObserver : options.observerFor?.(name),
      maps: options.mapsFor?.(name)
    })
    const handler = options.serve({ name, engine, journal, faults, throttle })
    return { name, settings, engine, journal, faults, throttle, handler, isDefault }
  })

/**
 * A registry with only the default vault. Invalid default settings die (a programming error, as for
 * `Emulator.make`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: RegistryOptions): Effect.Effect<VaultRegistry> =>
  Effect.gen(function*() {
    const defaultName = options.defaultName ?? DEFAULT_VAULT_NAME
    if (options.defaultSettings?.port !== undefined) {
      return yield* Effect.dieMessage("the default vault has no port of its own (it is served on the server's port)")
    }
    const defaultVault = yield* Effect.orDieWith(
      makeVault(defaultName, options.defaultSettings ?? {}, options, true),
      (error) => new Error(error.message)
    )
    // Plain maps: every operation below is one synchronous step, so no fiber sees a half-made change.
    const vaults = new Map<string, Vault>()
    const portsByVault = new Map<string, number>()
    const vaultsByPort = new Map<number, Vault>()
    const listeners = new Set<(change: RegistryChange) => void>()
    const notify = (change: RegistryChange): void => {
      for (const listener of listeners) listener(change)
    }
    const lookup = (name: string): Vault | undefined => {
      const key = name.toLowerCase()
      return key === defaultVault.name ? defaultVault : vaults.get(key)
    }
    const find = (name: string): Effect.Effect<Vault, VaultNotFound> =>
      Effect.suspend(() => {
        const vault = lookup(name)
        return vault === undefined ? Effect.fail(new VaultNotFound({ name })) : Effect.succeed(vault)
      })
    const findNamed = (name: string): Effect.Effect<Vault, VaultNotFound> =>
      Effect.flatMap(find(name), (vault) => vault.isDefault ? Effect.fail(new VaultNotFound({ name })) : Effect.succeed(vault))
    const unbind = (name: string): void => {
      const port = portsByVault.get(name)
      if (port === undefined) return
      portsByVault.delete(name)
      vaultsByPort.delete(port)
    }
    const bind = (vault: Vault, port: number): void => {
      unbind(vault.name)
      const holder = vaultsByPort.get(port)
      if (holder !== undefined) portsByVault.delete(holder.name)
      portsByVault.set(vault.name, port)
      vaultsByPort.set(port, vault)
    }
    const portTaken = (name: string, port: number | undefined): InvalidVaultSettings | undefined => {
      const holder = port === undefined ? undefined : vaultsByPort.get(port)
      return holder === undefined
        ? undefined
        : new InvalidVaultSettings({ name, field: "port", reason: `port ${port} belongs to vault '${holder.name}'` })
    }
    const hostNameUrl = (key: string, url: URL): string => {
      const hostname = url.hostname.toLowerCase()
      // A Key Vault DNS suffix (`emulator.vault.azure.net`): the vault name replaces the first label.
      if (KEY_VAULT_SUFFIXES.some((suffix) => hostname.endsWith(suffix)) && hostname.indexOf(".") > 0) {
        return `${url.protocol}//${key}${url.host.slice(url.host.indexOf("."))}`
      }
      // The server certificate covers `*.vault.localhost`; an address has no name to put the vault's in front of.
      if (hostname === "localhost" || isIpAddress(hostname)) {
        return `${url.protocol}//${key}.vault.localhost${url.port === "" ? "" : `:${url.port}`}`
      }
      return `${url.protocol}//${key}.${url.host}`
    }
    const urlsFor = (name: string, origin: string): ReadonlyArray<string> => {
      const url = new URL(origin)
      const vault = lookup(name)
      if (vault?.isDefault === true) return [url.origin]
      const key = name.toLowerCase()
      const port = portsByVault.get(key)
      const hostname = url.hostname.toLowerCase()
      const byPort = port !== undefined && (hostname === "localhost" || isIpAddress(hostname))
        ? [`${url.protocol}//${url.hostname}:${port}`]
        : []
      return [...byPort, hostNameUrl(key, url)]
    }

    const registry: VaultRegistry = {
      defaultVault,
      list: Effect.sync(() => [
        defaultVault,
        ...[...vaults.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, vault]) => vault)
      ]),
      get: find,
      create: (rawName, settings = {}) =>
        Effect.suspend((): Effect.Effect<Vault, VaultAlreadyExists | InvalidVaultSettings> => {
          const name = typeof rawName === "string" ? rawName.toLowerCase() : ""
          const problem = vaultNameProblem(name)
          if (problem !== undefined) {
            return Effect.fail(new InvalidVaultSettings({ name: String(rawName), field: "name", reason: problem }))
          }
          if (lookup(name) !== undefined) return Effect.fail(new VaultAlreadyExists({ name }))
          const taken = portTaken(name, settings.port)
          if (taken !== undefined) return Effect.fail(taken)
          return Effect.flatMap(makeVault(name, settings, options, false), (vault) =>
            Effect.suspend((): Effect.Effect<Vault, VaultAlreadyExists | InvalidVaultSettings> => {
              // Another fiber may have created it (or taken its port) while this one built its engine.
              if (lookup(name) !== undefined) return Effect.fail(new VaultAlreadyExists({ name }))
              const takenNow = portTaken(name, settings.port)
              if (takenNow !== undefined) return Effect.fail(takenNow)
              vaults.set(name, vault)
              if (settings.port !== undefined) bind(vault, settings.port)
              notify({ _tag: "Created", vault })
              return Effect.succeed(vault)
            }))
        }),
      remove: (name) =>
        Effect.flatMap(findNamed(name), (vault) =>
          Effect.sync(() => {
            vaults.delete(vault.name)
            unbind(vault.name)
            vault.engine.unsafeClear()
            notify({ _tag: "Removed", name: vault.name })
          })),
      reset: (name) =>
        Effect.flatMap(find(name), (vault) =>
          Effect.zipRight(
            Effect.sync(() => vault.engine.unsafeClear()),
            Effect.zipRight(vault.journal.clear, Effect.sync(() => notify({ _tag: "Reset", vault })))
          )),
      urlFor: (name, origin) => urlsFor(name, origin)[0]!,
      urlsFor,
      unsafeResolve: (url, localPort) => {
        if (vaults.size === 0) return defaultVault
        const hostname = url.hostname
        const dot = hostname.indexOf(".")
        if (dot > 0 && !isIpAddress(hostname)) {
          const named = vaults.get(hostname.slice(0, dot).toLowerCase())
          if (named !== undefined) return named
        }
        // By the port the request arrived on when a server says so (not the `Host` header's); in process, the URL's.
        const port = localPort ?? (url.port === "" ? undefined : Number(url.port))
        if (vaultsByPort.size > 0 && port !== undefined) {
          const byPort = vaultsByPort.get(port)
          if (byPort !== undefined) return byPort
        }
        return defaultVault
      },
      bindPort: (name, port) =>
        Effect.flatMap(findNamed(name), (vault) =>
          Effect.sync(() => {
            if (portsByVault.get(vault.name) === port) return
            bind(vault, port)
            notify({ _tag: "PortBound", name: vault.name, port })
          })),
      ports: Effect.sync(() => new Map(portsByVault)),
      subscribe: (listener) => {
        listeners.add(listener)
        return () => {
          listeners.delete(listener)
        }
      }
    }
    return registry
  })
