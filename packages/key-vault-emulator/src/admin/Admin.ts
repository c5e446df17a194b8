/**
 * The emulator's control side as Effects: vaults (create, list, delete, reset, their objects, a secret's value on
 * explicit request), fault rules and throttling per vault, the clock, the request journal (query, clear, live) and
 * seeding / export. The HTTP admin API (`/admin/...`), the dashboard and the CLI all call these same operations, so
 * the three surfaces cannot drift apart.
 *
 * Every operation that names a vault takes its name last and optionally: without it, the default vault.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { EmulatorClock } from "../clock/EmulatorClock.js"
import type { RegisteredRule } from "../faults/Faults.js"
import type { FaultRule } from "../faults/FaultRule.js"
import type { ThrottleSettings, ThrottleUpdate } from "../faults/Throttle.js"
import * as Seed from "../vaults/Seed.js"
import type { Vault, VaultRegistry, VaultSettings } from "../vaults/VaultRegistry.js"
import * as Objects from "./internal/Objects.js"
import * as VaultJournal from "./internal/VaultJournal.js"

/**
 * Why an admin operation was refused. `reason` decides the HTTP status (`NotFound` 404, `Conflict` 409,
 * `BadRequest` 400); `code` is the machine-readable name the HTTP API puts in `{"error":{"code","message"}}`.
 * Messages name what is wrong and never quote a secret value.
 *
 * @since 0.1.0
 * @category errors
 */
export class AdminError extends Data.TaggedError("AdminError")<{
  readonly reason: "NotFound" | "Conflict" | "BadRequest"
  readonly code: string
  readonly message: string
}> {
  /** The HTTP status the admin API answers with. */
  get status(): number {
    return this.reason === "NotFound" ? 404 : this.reason === "Conflict" ? 409 : 400
  }
}

/**
 * Whether `u` is an `AdminError`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isAdminError = (u: unknown): u is AdminError =>
  typeof u === "object" && u !== null && "_tag" in u && u._tag === "AdminError"

/**
 * A vault as the admin API shows it.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultView {
  readonly name: string
  readonly isDefault: boolean
  readonly settings: {
    readonly recoverableDays: number
    readonly purgeProtection: boolean
    readonly enforceValidityPeriod: boolean
    /** The port of the vault's own HTTPS listener, when it has one. */
    readonly port?: number | undefined
  }
  readonly throttle: ThrottleSettings
  /** Fault rules registered now. */
  readonly faults: number
  /** Live objects (latest versions; the secrets and keys behind certificates included). */
  readonly objects: { readonly secrets: number; readonly keys: number; readonly certificates: number }
  readonly journal: { readonly entries: number; readonly dropped: number }
}

/**
 * A vault's objects, without any value: names, versions, attributes, and the soft-delete bins.
 *
 * @since 0.1.0
 * @category models
 */
export type VaultObjects = Objects.VaultObjects

/**
 * A secret's value, read on explicit request.
 *
 * @since 0.1.0
 * @category models
 */
export interface RevealedSecret {
  readonly vault: string
  readonly name: string
  readonly version: string
  readonly value: Redacted.Redacted<string>
}

/**
 * The emulator's time.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClockView {
  readonly now: Date
  /** How far the emulator's time is ahead of the host's (negative: behind). */
  readonly offsetMillis: number
}

/**
 * A journal entry with the vault that served it.
 *
 * @since 0.1.0
 * @category models
 */
export type VaultJournalEntry = VaultJournal.VaultJournalEntry

/**
 * A journal query over one, some or all vaults: every given field must match. `limit` keeps the most recent
 * entries. Entries come oldest first, across vaults by arrival time.
 *
 * @since 0.1.0
 * @category models
 */
export type JournalQuery = VaultJournal.JournalQuery

/**
 * A batch of journal entries after a cursor, and the cursor to read on from (see `Admin.journal.poll`).
 *
 * @since 0.1.0
 * @category models
 */
export type JournalBatch = VaultJournal.JournalBatch

/**
 * Where a poll starts and how long it waits.
 *
 * @since 0.1.0
 * @category models
 */
export type PollOptions = VaultJournal.PollOptions

/**
 * What a live journal stream (`Admin.journal.stream`) emits: `Entry` (a matching entry and the cursor just after
 * it), `CaughtUp` (the backlog is read; the cursor past it), `Dropped` (the reader fell more than its buffer behind
 * and `count` unread entries were let go; they stay in the journal, after the cursor given), `KeepAlive` (nothing
 * for `keepAliveMillis`).
 *
 * @since 0.1.0
 * @category models
 */
export type JournalStreamItem = VaultJournal.LiveItem

/**
 * Where a live journal stream starts and how much it holds for a slow reader.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamOptions {
  /** Go on after this cursor (an `Entry`'s `cursor`; the admin API's `Last-Event-ID`). Unreadable: start now. */
  readonly cursor?: string | undefined
  /** Without a cursor: start this many matching entries back (0..1,000). Default 0. */
  readonly backlog?: number | undefined
  /** Unread entries held for a slow reader before the oldest go; default `Journal.LIVE_BUFFER`, 1..100,000. */
  readonly bufferSize?: number | undefined
  /** Emit `KeepAlive` after this long without anything else (the admin API sends a comment line); default never. */
  readonly keepAliveMillis?: number | undefined
}

/**
 * A journal query's answer: the entries, and how many each vault's journal dropped because it was full.
 *
 * @since 0.1.0
 * @category models
 */
export interface JournalPage {
  readonly value: ReadonlyArray<VaultJournalEntry>
  readonly dropped: Readonly<Record<string, number>>
}

/**
 * A vault to create: its name and settings (`VaultRegistry.VaultSettings`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateVault {
  readonly name: string
  readonly settings?: VaultSettings | undefined
}

/**
 * What an export includes: secret values, private keys and certificate bundles only with `includeValues`; `vaults`
 * limits it to these vaults (default all).
 *
 * @since 0.1.0
 * @category models
 */
export interface ExportOptions {
  readonly includeValues?: boolean | undefined
  readonly vaults?: ReadonlyArray<string> | undefined
}

/**
 * The admin operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface Admin {
  readonly vaults: {
    readonly list: Effect.Effect<ReadonlyArray<VaultView>>
    readonly get: (name: string) => Effect.Effect<VaultView, AdminError>
    readonly create: (input: CreateVault) => Effect.Effect<VaultView, AdminError>
    /** Removes a named vault and everything in it; the default vault cannot be deleted (`Conflict`). */
    readonly delete: (name: string) => Effect.Effect<void, AdminError>
    /** Empties a vault's objects, deleted bins and journal; its settings, faults and throttle stay. */
    readonly reset: (name: string) => Effect.Effect<VaultView, AdminError>
    /** Names, versions and attributes of every object and deleted object; never a value. */
    readonly objects: (vault?: string) => Effect.Effect<VaultObjects, AdminError>
    /**
     * A secret's value (the latest version unless `version` is given), disabled or outside its validity window
     * included: this is the operator's view, not a client's.
     */
    readonly revealSecret: (
      name: string,
      options?: { readonly version?: string | undefined; readonly vault?: string | undefined }
    ) => Effect.Effect<RevealedSecret, AdminError>
  }
  readonly faults: {
    readonly list: (vault?: string) => Effect.Effect<ReadonlyArray<RegisteredRule>, AdminError>
    /** Validates and registers a rule; answers it as registered (with its id). */
    readonly add: (rule: FaultRule, vault?: string) => Effect.Effect<RegisteredRule, AdminError>
    readonly remove: (id: string, vault?: string) => Effect.Effect<void, AdminError>
    readonly clear: (vault?: string) => Effect.Effect<void, AdminError>
  }
  readonly throttle: {
    readonly status: (vault?: string) => Effect.Effect<ThrottleSettings, AdminError>
    /**
     * Switches throttling on or off and changes its settings (only the fields given); windows start afresh. Every
     * vault has a throttle (off unless its settings turned it on), so this works for any vault. With a state
     * directory the new settings are kept: after a restart the vault's throttle is the one last set here.
     */
    readonly update: (change: ThrottleUpdate, vault?: string) => Effect.Effect<ThrottleSettings, AdminError>
  }
  readonly clock: {
    readonly get: Effect.Effect<ClockView>
    /** Moves the emulator's time forward (a finite duration >= 0, at most 100 years). */
    readonly advance: (duration: Duration.DurationInput) => Effect.Effect<ClockView, AdminError>
    readonly set: (date: Date) => Effect.Effect<ClockView, AdminError>
    readonly reset: Effect.Effect<ClockView>
  }
  readonly journal: {
    readonly query: (query?: JournalQuery) => Effect.Effect<JournalPage, AdminError>
    readonly clear: (vault?: string) => Effect.Effect<void, AdminError>
    /**
     * Matching entries as they are recorded, as a Stream, from when this effect completes until the scope closes, for
     * the vaults that exist then (or those named). With `limit`, the stream ends after that many. A slow consumer
     * loses the oldest unread entries beyond `Journal.LIVE_BUFFER` per vault.
     */
    readonly subscribe: (
      query?: JournalQuery
    ) => Effect.Effect<Stream.Stream<VaultJournalEntry>, AdminError, Scope.Scope>
    /**
     * The matching entries after `options.cursor` (at most `VaultJournal.MAX_BATCH`); when there are none, waits up to
     * `waitMillis` for the first. Without a cursor it starts now, or `backlog` matching entries back. The answer's
     * `cursor` is where the next poll starts: the admin API's server-sent events are successive polls.
     */
    readonly poll: (query: JournalQuery, options: PollOptions) => Effect.Effect<JournalBatch, AdminError>
    /**
     * The matching entries after a cursor (or `backlog` back from now), then every matching entry as it is recorded,
     * from all vaults (vaults created meanwhile join) or those named; the stream ends only when interrupted (or
     * after `query.limit` entries). The starting point is fixed when this effect completes; the stream subscribes
     * when it runs and reads what was recorded in between first. This is the admin API's
     * `GET /admin/journal/stream`.
     */
    readonly stream: (
      query?: JournalQuery,
      options?: StreamOptions
    ) => Effect.Effect<Stream.Stream<JournalStreamItem>, AdminError>
  }
  /**
   * Creates the vaults and objects of a seed document (`Seed.SeedDocument`, or its JSON as parsed). A bad document
   * fails with a `BadRequest` naming the entry and field; entries before the bad one stay applied.
   */
  readonly seed: (document: unknown) => Effect.Effect<Seed.SeedReport, AdminError>
  /** The vaults' state as a seed document; values only with `includeValues: true`. */
  readonly export: (options?: ExportOptions) => Effect.Effect<Seed.SeedDocument, AdminError>
}

/**
 * What the admin operations act on.
 *
 * @since 0.1.0
 * @category models
 */
export interface AdminOptions {
  readonly vaults: VaultRegistry
  readonly clock: EmulatorClock
  /**
   * Runs after every operation that changes vault state (vaults created, deleted or reset, seeding, clock moves,
   * throttle changes), whether it succeeded or not: the emulator writes the change to its state directory there, at
   * once rather than with the next request.
   */
  readonly persist?: Effect.Effect<void> | undefined
}

const MAX_ADVANCE_MILLIS = 100 * 365 * 24 * 60 * 60 * 1000
const MAX_BACKLOG = 1_000
const MAX_WAIT_MILLIS = 60_000
const MAX_STREAM_BUFFER = 100_000

/**
 * `AdminError` for a vault that does not exist.
 *
 * @since 0.1.0
 * @category errors
 */
export const vaultNotFound = (name: string): AdminError =>
  new AdminError({ reason: "NotFound", code: "VaultNotFound", message: `No vault named '${name}'.` })

/**
 * `AdminError` for invalid input; `message` names the field.
 *
 * @since 0.1.0
 * @category errors
 */
export const badRequest = (message: string): AdminError =>
  new AdminError({ reason: "BadRequest", code: "BadParameter", message })

/**
 * The admin operations over an emulator's vaults and clock.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: AdminOptions): Admin => {
  const { clock, vaults: registry } = options
  const persist = options.persist
  // A change made here is handed to persistence as soon as it is made (entries a failed seed applied included).
  const written = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    persist === undefined ? effect : Effect.ensuring(effect, persist)

  const vaultOf = (name: string | undefined): Effect.Effect<Vault, AdminError> =>
    name === undefined
      ? Effect.succeed(registry.defaultVault)
      : Effect.mapError(registry.get(name), () => vaultNotFound(name))

  const view = (vault: Vault): Effect.Effect<VaultView> =>
    Effect.all({
      objects: clock.provide(Objects.counts(vault.engine)),
      rules: vault.faults.rules,
      entries: vault.journal.entries,
      dropped: vault.journal.dropped,
      throttle: throttleSettings(vault)
    }).pipe(Effect.map(({ dropped, entries, objects, rules, throttle }) => ({
      name: vault.name,
      isDefault: vault.isDefault,
      settings: {
        recoverableDays: vault.engine.recoverableDays,
        purgeProtection: vault.settings.purgeProtection ?? false,
        enforceValidityPeriod: vault.settings.enforceValidityPeriod ?? true,
        ...(vault.settings.port === undefined ? {} : { port: vault.settings.port })
      },
      throttle,
      faults: rules.length,
      objects,
      journal: { entries: entries.length, dropped }
    })))

  const clockView: Effect.Effect<ClockView> = Effect.zipWith(
    clock.now,
    clock.offsetMillis,
    (now, offsetMillis) => ({ now, offsetMillis })
  )

  const selectedVaults = (names: string | ReadonlyArray<string> | undefined) =>
    names === undefined
      ? registry.list
      : Effect.forEach(typeof names === "string" ? [names] : names, (name) => vaultOf(name))

  return {
    vaults: {
      list: Effect.flatMap(registry.list, (all) => Effect.forEach(all, view)),
      get: (name) => Effect.flatMap(vaultOf(name), view),
      create: (input) =>
        written(registry.create(input.name, input.settings ?? {})).pipe(
          Effect.mapError((error) => {
            switch (error._tag) {
              case "VaultAlreadyExists":
                return new AdminError({ reason: "Conflict", code: "VaultAlreadyExists", message: error.message })
              case "InvalidVaultSettings":
                return badRequest(error.message)
            }
          }),
          Effect.flatMap(view)
        ),
      delete: (name) =>
        Effect.flatMap(vaultOf(name), (vault) =>
          vault.isDefault
            ? Effect.fail(
              new AdminError({ reason: "Conflict", code: "Conflict", message: "The default vault cannot be deleted." })
            )
            : Effect.mapError(written(registry.remove(vault.name)), () => vaultNotFound(name))),
      reset: (name) =>
        Effect.flatMap(vaultOf(name), (vault) =>
          Effect.zipRight(Effect.mapError(written(registry.reset(vault.name)), () => vaultNotFound(name)), view(vault))),
      objects: (name) => Effect.flatMap(vaultOf(name), (vault) => clock.provide(Objects.list(vault.name, vault.engine))),
      revealSecret: (name, revealOptions) =>
        Effect.flatMap(vaultOf(revealOptions?.vault), (vault) =>
          clock.provide(Objects.reveal(vault.engine, name, revealOptions?.version)).pipe(
            Effect.flatMap((found) =>
              found === undefined
                ? Effect.fail(
                  new AdminError({
                    reason: "NotFound",
                    code: "SecretNotFound",
                    message: revealOptions?.version === undefined
                      ? `No secret named '${name}' in vault '${vault.name}'.`
                      : `No version '${revealOptions.version}' of secret '${name}' in vault '${vault.name}'.`
                  })
                )
                : Effect.succeed({ vault: vault.name, name: found.name, version: found.version, value: found.value })
            )
          ))
    },
    faults: {
      list: (name) => Effect.flatMap(vaultOf(name), (vault) => vault.faults.rules),
      add: (rule, name) =>
        Effect.flatMap(vaultOf(name), (vault) =>
          vault.faults.add(rule).pipe(
            Effect.mapError((error) => badRequest(error.message)),
            Effect.flatMap((id) =>
              Effect.map(vault.faults.rules, (rules) => rules.find((registered) => registered.id === id)!)
            )
          )),
      remove: (id, name) =>
        Effect.flatMap(vaultOf(name), (vault) =>
          Effect.flatMap(vault.faults.remove(id), (removed) =>
            removed
              ? Effect.void
              : Effect.fail(
                new AdminError({
                  reason: "NotFound",
                  code: "FaultNotFound",
                  message: `No fault rule '${id}' in vault '${vault.name}'.`
                })
              ))),
      clear: (name) => Effect.flatMap(vaultOf(name), (vault) => vault.faults.clear)
    },
    throttle: {
      status: (name) => Effect.flatMap(vaultOf(name), throttleSettings),
      update: (change, name) =>
        Effect.flatMap(
          vaultOf(name),
          (vault) => Effect.mapError(written(vault.throttle.update(change)), (error) => badRequest(error.message))
        )
    },
    clock: {
      get: clockView,
      advance: (duration) =>
        Effect.suspend(() => {
          const decoded = Duration.decodeUnknown(duration)
          const millis = decoded._tag === "Some" ? Duration.toMillis(decoded.value) : Number.NaN
          if (!Number.isFinite(millis) || millis < 0 || millis > MAX_ADVANCE_MILLIS) {
            return Effect.fail(badRequest("The clock advances by a finite duration from 0 to 100 years."))
          }
          return Effect.zipRight(written(clock.advance(millis)), clockView)
        }),
      set: (date) =>
        date instanceof Date && Number.isFinite(date.getTime())
          ? Effect.zipRight(written(clock.set(date)), clockView)
          : Effect.fail(badRequest("The clock is set to a valid date.")),
      reset: Effect.zipRight(written(clock.reset), clockView)
    },
    seed: (document) =>
      written(clock.provide(Seed.seed(registry, document))).pipe(
        Effect.mapError((error) => new AdminError({ reason: "BadRequest", code: "InvalidSeed", message: error.message }))
      ),
    export: (exportOptions = {}) =>
      Effect.zipRight(
        // Unknown names are an error, not an export that silently leaves a vault out.
        Effect.forEach(exportOptions.vaults ?? [], vaultOf, { discard: true }),
        clock.provide(Seed.exportState(registry, {
          includeValues: exportOptions.includeValues ?? false,
          vaults: exportOptions.vaults
        }))
      ),
    journal: {
      query: (query = {}) =>
        Effect.zipRight(
          checkLimit(query.limit),
          Effect.flatMap(selectedVaults(query.vault), (vaults) => VaultJournal.query(vaults, query))
        ),
      clear: (name) =>
        name === undefined
          ? Effect.flatMap(registry.list, (all) => Effect.forEach(all, (vault) => vault.journal.clear, { discard: true }))
          : Effect.flatMap(vaultOf(name), (vault) => vault.journal.clear),
      subscribe: (query = {}) =>
        Effect.zipRight(
          checkLimit(query.limit),
          Effect.flatMap(selectedVaults(query.vault), (vaults) => VaultJournal.subscribe(vaults, query))
        ),
      poll: (query, pollOptions) => {
        const backlog = pollOptions.backlog ?? 0
        const waitMillis = pollOptions.waitMillis ?? 0
        if (!Number.isSafeInteger(backlog) || backlog < 0 || backlog > MAX_BACKLOG) {
          return Effect.fail(badRequest(`backlog must be a whole number from 0 to ${MAX_BACKLOG}.`))
        }
        if (!Number.isFinite(waitMillis) || waitMillis < 0 || waitMillis > MAX_WAIT_MILLIS) {
          return Effect.fail(badRequest(`The wait must be from 0 to ${MAX_WAIT_MILLIS / 1000} seconds.`))
        }
        return Effect.flatMap(selectedVaults(query.vault), (vaults) => VaultJournal.poll(vaults, query, pollOptions))
      },
      stream: (query = {}, streamOptions = {}) => {
        const backlog = streamOptions.backlog ?? 0
        const bufferSize = streamOptions.bufferSize
        if (!Number.isSafeInteger(backlog) || backlog < 0 || backlog > MAX_BACKLOG) {
          return Effect.fail(badRequest(`backlog must be a whole number from 0 to ${MAX_BACKLOG}.`))
        }
        if (bufferSize !== undefined && (!Number.isSafeInteger(bufferSize) || bufferSize < 1 || bufferSize > MAX_STREAM_BUFFER)) {
          return Effect.fail(badRequest(`buffer must be a whole number from 1 to ${MAX_STREAM_BUFFER}.`))
        }
        const keepAlive = streamOptions.keepAliveMillis
        if (keepAlive !== undefined && !(Number.isFinite(keepAlive) && keepAlive > 0)) {
          return Effect.fail(badRequest("keepAliveMillis must be a number of milliseconds > 0."))
        }
        return Effect.zipRight(
          checkLimit(query.limit),
          Effect.flatMap(selectedVaults(query.vault), (vaults) =>
            Effect.map(
              VaultJournal.startingPoint(vaults, query, streamOptions.cursor, backlog),
              (from) =>
                VaultJournal.live(vaults, query, {
                  from,
                  bufferSize,
                  keepAliveMillis: streamOptions.keepAliveMillis,
                  // Without a vault filter, the stream follows every vault, those created later too.
                  watchCreated: query.vault === undefined
                    ? (listener) => registry.subscribe((change) => {
                      if (change._tag === "Created") listener(change.vault)
                    })
                    : undefined
                })
            ))
        )
      }
    }
  }
}

const checkLimit = (limit: number | undefined): Effect.Effect<void, AdminError> =>
  limit === undefined || (Number.isSafeInteger(limit) && limit >= 1)
    ? Effect.void
    : Effect.fail(badRequest("limit must be a whole number >= 1."))

const throttleSettings = (vault: Vault): Effect.Effect<ThrottleSettings> => vault.throttle.settings
