/**
 * The emulator: one vault engine (secrets, and keys with real cryptography) and the Key Vault REST app over it. Serve
 * `handler` any way you like (HTTPS server, in-process `HttpClient` Layer, Azure SDK transport); inspect or drive
 * `engine` directly in tests.
 *
 * Every request runs under the emulator's `clock` (the caller's `Clock`, so a `TestClock` in-process, plus an offset
 * that `clock.advance` / `clock.set` move), and the vault publishes Event Grid's events (`eventGrid`, `events`).
 * The same controls are served over HTTP under `/admin/` (protected like the vault: bearer token, 401 challenge):
 * `GET|POST /admin/clock` (`{"advanceSeconds": n}`, `{"set": "<ISO date>"}`, `{"reset": true}`),
 * `GET|POST /admin/eventgrid/subscriptions` (`{"endpoint": url, "schema"?: "EventGrid" | "CloudEvents"}`),
 * `DELETE /admin/eventgrid/subscriptions/{id}`, `GET /admin/eventgrid/events`.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type { KeyVaultEvent } from "@effect-azure/key-vault/rotation/RotationEvent"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Stream from "effect/Stream"
import * as Admin from "./admin/Admin.js"
import * as AdminRoutes from "./internal/AdminRoutes.js"
import * as EmulatorClock from "./clock/EmulatorClock.js"
import type * as Engine from "./engine/VaultEngine.js"
import * as EventGrid from "./events/EventGrid.js"
import type * as Faults from "./faults/Faults.js"
import type { FaultRule } from "./faults/FaultRule.js"
import * as RequestPipeline from "./faults/RequestPipeline.js"
import type * as Throttle from "./faults/Throttle.js"
import * as App from "./http/App.js"
import * as Challenge from "./http/Challenge.js"
import type { EmulatorHandler, EmulatorRequest, EmulatorResponse } from "./http/Protocol.js"
import * as Responses from "./http/Responses.js"
import * as Journal from "./journal/Journal.js"
import { classify } from "./journal/Operation.js"
import * as VaultState from "./persistence/VaultState.js"
import * as Seed from "./vaults/Seed.js"
import * as VaultRegistry from "./vaults/VaultRegistry.js"

/**
 * The tenant named in the challenge when none is configured: the all-zero GUID, recognisably not a real tenant.
 * Credentials receive it as `tenantId` in `getToken` options; the emulator accepts any token unless `token` is set.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_TENANT_ID = "00000000-0000-0000-0000-000000000000"

/**
 * Emulator settings. All optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmulatorOptions {
  /** Tenant in the challenge's `authorization` URL. Default `DEFAULT_TENANT_ID`. */
  readonly tenantId?: string
  /**
   * Challenge resource (the token audience). Default: derived from each request's host: `https://vault.azure.net` for
   * `*.vault.azure.net` (and the sovereign-cloud equivalents); for another multi-label host such as
   * `myvault.localhost:8443`, the scheme + the host without its first label + the port (`https://localhost:8443`);
   * otherwise the request origin. The SDKs check that the vault host ends with `"." + resource host`.
   */
  readonly resource?: string
  /** Days a deleted object stays recoverable before it is purged. Default 90. */
  readonly recoverableDays?: number
  /**
   * Refuse to return a secret value before its `nbf` or from its `exp` on (403 `Forbidden`, inner `SecretNotYetValid`
   * / `SecretExpired`). Default true, which is stricter than the real service (it is lenient about secret validity);
   * set false to mimic it. Keys always enforce their window as the service does: encrypt, wrapKey and sign are refused
   * outside nbf..exp (403 `KeyNotYetValid` / `KeyExpired`), decrypt, unwrapKey and verify are not.
   */
  readonly enforceValidityPeriod?: boolean
  /** Fault rules active from the start (more can be added at runtime through `faults`). Invalid rules die. */
  readonly faults?: ReadonlyArray<FaultRule> | undefined
  /** Seed of the fault rules' probabilities, 0..2^32-1; default `Faults.DEFAULT_SEED`, so runs repeat. */
  readonly seed?: number | undefined
  /**
   * Throttling mode: the service's per-vault limits per 10-second window, answered with its 429 `Throttled` body.
   * `true` for the defaults, or settings; off by default.
   */
  readonly throttle?: boolean | Throttle.ThrottleOptions | undefined
  /**
   * How long, on the emulator's clock, a certificate issued by `Self` stays pending before it completes (as the real
   * service's issuance takes a moment). Default 0: the next request sees it issued. `Unknown` issuance completes on
   * merge only.
   */
  readonly certificateIssuanceDelayMillis?: number | undefined
  /** Entries the request journal keeps (the oldest go first); default 10,000, 0 keeps none. */
  readonly journalCapacity?: number | undefined
  /**
   * Access token: when set, only requests with `Authorization: Bearer <token>` are served; any other token gets the
   * service's 401 `Unauthorized` with the usual challenge (no token at all still gets the plain challenge first).
   * Compared in constant time; never written to the journal, logs or errors. 1 to 4,096 visible ASCII characters
   * (a bad value is a programming error and dies, without quoting it). Default: any bearer token is accepted.
   */
  readonly token?: string | Redacted.Redacted<string> | undefined
  /** The emulator's time when it starts (its clock then runs on from there); default the caller's `Clock`. */
  readonly startTime?: Date | undefined
  /**
   * The default vault's URL in Event Grid events (`Id`, `VaultName`, `topic`); default the origin of the latest
   * request it served. A named vault's events use the origin of its own latest request, else its URL derived from
   * this one (`VaultRegistry.urlFor`), and its name as `VaultName`.
   */
  readonly eventsVaultUrl?: string | undefined
  /** The client for outgoing webhook calls (handshakes, deliveries); default `FetchHttpClient`. */
  readonly webhookClient?: HttpClient.HttpClient | undefined
  /** The default vault's name (it is served on the bare host and on any host no named vault claims). */
  readonly defaultVaultName?: string | undefined
  /** Purges are refused in the default vault (403), as with purge protection. Default false. */
  readonly purgeProtection?: boolean | undefined
  /**
   * Keep every vault's state in `<stateDir>/vaults/` across restarts (see `VaultState`). A state that cannot be used
   * fails `open` with `StateError` (and `make` dies with its message); nothing is overwritten.
   */
  readonly stateDir?: string | undefined
  /** The AES-256 key (32 bytes) the state is encrypted under; default one generated into the state directory. */
  readonly stateKey?: Uint8Array | Redacted.Redacted<Uint8Array> | undefined
  /** fsync every state log record (survives power loss too). Default false: a killed process loses nothing. */
  readonly stateFsync?: boolean | undefined
  /**
   * Vaults and objects to create at start, in the `Seed` format (`Seed.SeedDocument`, or its JSON as parsed). With
   * `stateDir`, applied only when the state is new. (`seed` is the fault rules' random seed.)
   */
  readonly seedDocument?: unknown
}

/**
 * A running emulator.
 *
 * @since 0.1.0
 * @category models
 */
export interface Emulator {
  readonly handler: EmulatorHandler
  /** Every vault; the fields below are the default vault's. */
  readonly vaults: VaultRegistry.VaultRegistry
  /**
   * The control side in process: vaults, faults and throttling per vault, the clock, the journal of every vault
   * (query, clear, live), seed and export; the operations the admin API (`/admin/...`) serves over HTTP.
   */
  readonly admin: Admin.Admin
  readonly engine: Engine.VaultEngine
  /** Every request served by the default vault, for tests to assert on. */
  readonly journal: Journal.Journal
  /** The default vault's fault rules: `add(rule)` returns an id, `remove(id)`, `clear`. */
  readonly faults: Faults.Faults
  /** The default vault's throttle: off unless `throttle` was given, and switchable at runtime (`update`). */
  readonly throttle: Throttle.Throttle
  /** What seeding at start created (`undefined` without `seedDocument`, or when a saved state was reopened). */
  readonly seeded: Seed.SeedReport | undefined
  /**
   * The emulator's time: `advance(duration)`, `set(date)`, `reset`, `now`; moving it publishes the Event Grid events
   * that fall due. `clock.provide(effect)` runs an effect (say, direct `engine` calls) under the emulator's time.
   */
  readonly clock: EmulatorClock.EmulatorClock
  /** Event Grid: the event stream, webhook subscriptions (`subscribe`), due-event checks. */
  readonly eventGrid: EventGrid.EventGrid
  /** Every Event Grid event published while the stream runs (`eventGrid.events`). */
  readonly events: Stream.Stream<KeyVaultEvent>
  /** Stops webhook deliveries and closes the state log; the vault keeps serving (without persisting). */
  readonly shutdown: Effect.Effect<void>
}

/**
 * The vault engine type, re-exported for callers that only import this module.
 *
 * @since 0.1.0
 * @category models
 */
export type VaultEngine = Engine.VaultEngine

/**
 * A new emulator with an empty default vault (or the saved state of `stateDir`, and the `seedDocument`). Invalid
 * options (e.g. `recoverableDays: 0`), an unusable state or a bad seed document die with a message; `open` fails
 * with them instead.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: EmulatorOptions = {}): Effect.Effect<Emulator> =>
  Effect.orDieWith(open(options), (error) => new Error(error.message))

/**
 * A new emulator, as `make`, failing with `StateError` when the saved state cannot be used (foreign or corrupted
 * files, a wrong key) and with `SeedError` for a bad seed document.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open = (
  options: EmulatorOptions = {}
): Effect.Effect<Emulator, VaultState.StateError | Seed.SeedError> =>
  Effect.gen(function*() {
    const state = options.stateDir === undefined ? undefined : yield* VaultState.open({
      stateDir: options.stateDir,
      key: options.stateKey === undefined
        ? undefined
        : Redacted.isRedacted(options.stateKey)
        ? options.stateKey
        : Redacted.make(options.stateKey),
      fsync: options.stateFsync
    })
    const journal = yield* Journal.make(options.journalCapacity)
    // The clock publishes due events after it moves; Event Grid journals under the clock's time.
    let checkDue: Effect.Effect<unknown> = Effect.void
    // Set once saved time is restored: moving the clock before that is not a change to record.
    const clockRef: { current?: EmulatorClock.EmulatorClock } = {}
    const registryRef: { current?: VaultRegistry.VaultRegistry } = {}
    const clock = yield* EmulatorClock.make({
      startTime: options.startTime,
      // With persistence, the new offset and the events the move published are written before the move returns.
      afterChange: Effect.asVoid(Effect.suspend(() =>
        state === undefined
          ? checkDue
          : Effect.zipRight(
            clockRef.current === undefined
              ? Effect.void
              : Effect.map(clockRef.current.offsetMillis, (offset) => state.clockMoved(offset)),
            Effect.tap(checkDue, () => state.flush())
          )
      ))
    })
    const eventGrid = yield* EventGrid.make({
      vaultUrl: options.eventsVaultUrl,
      httpClient: options.webhookClient,
      journal,
      provideClock: clock.provide,
      defaultVaultName: options.defaultVaultName ?? VaultRegistry.DEFAULT_VAULT_NAME,
      // Resolved lazily: the registry is built after Event Grid (its default vault reports to it).
      vaultUrlFor: (vault, defaultVaultUrl) => registryRef.current?.urlFor(vault, defaultVaultUrl) ?? defaultVaultUrl,
      publishedBefore: state?.publishedEvents,
      onPublished: state?.eventPublished
    })
    checkDue = eventGrid.checkDue
    const token = options.token === undefined
      ? undefined
      : Redacted.isRedacted(options.token)
      ? options.token
      : Redacted.make(options.token)
    if (token !== undefined && !Challenge.isValidAccessToken(Redacted.value(token))) {
      return yield* Effect.dieMessage("the emulator's access token must be 1 to 4,096 visible ASCII characters")
    }
    const tenantId = options.tenantId ?? DEFAULT_TENANT_ID
    const verifyToken = token === undefined ? undefined : Challenge.tokenVerifier(token)
    const vaults = yield* VaultRegistry.make({
      defaultName: options.defaultVaultName,
      defaultSettings: {
        recoverableDays: options.recoverableDays,
        enforceValidityPeriod: options.enforceValidityPeriod,
        purgeProtection: options.purgeProtection,
        throttle: options.throttle,
        faults: options.faults
      },
      defaultObserver: eventGrid.observer,
      observerFor: eventGrid.observerFor,
      defaultJournal: journal,
      journalCapacity: options.journalCapacity,
      faultSeed: options.seed,
      certificateIssuanceDelayMillis: options.certificateIssuanceDelayMillis,
      mapsFor: state?.mapsFor,
      throttleChanged: state?.throttleChanged,
      // The token is checked once, in front of each vault's pipeline; the app behind it needs no second check.
      serve: (parts) => {
        const app = App.make({ engine: parts.engine, tenantId, resource: options.resource })
        const pipeline = RequestPipeline.wrap(app, {
          journal: parts.journal,
          faults: parts.faults,
          throttle: parts.throttle
        })
        return verifyToken === undefined
          ? pipeline
          : refuseOtherTokens(verifyToken, (request) =>
            Challenge.invalidToken(tenantId, options.resource ?? Challenge.resourceFor(request.url)), parts.journal, pipeline)
      }
    })
    registryRef.current = vaults
    // A vault emptied or removed publishes no more expiry events for what it held.
    vaults.subscribe((change) => {
      if (change._tag === "Reset") eventGrid.forgetVault(change.vault.name)
      else if (change._tag === "Removed") eventGrid.forgetVault(change.name)
    })
    let seeded: Seed.SeedReport | undefined
    if (state !== undefined) {
      // Rebuild the saved vaults and time without recording them again, then record every later change.
      state.restoring = true
      for (const saved of state.savedVaults) {
        yield* Effect.orDieWith(vaults.create(saved.name, saved.settings), (error) => new Error(error.message))
      }
      // A throttle changed at runtime comes back as it was last set (over the vault's creation settings).
      for (const [name, settings] of state.savedThrottles) {
        const vault = yield* Effect.option(vaults.get(name))
        if (vault._tag === "Some") yield* Effect.orDie(vault.value.throttle.update(settings))
      }
      state.restoring = false
      if (state.clockOffsetMillis !== undefined) {
        const offset = state.clockOffsetMillis
        yield* Effect.flatMap(Clock.currentTimeMillis, (now) => clock.set(new Date(now + offset)))
      }
      // A vault created, removed or reset outside a request (the admin API in process, direct registry calls) is
      // written at once, not with the next request.
      vaults.subscribe((change) => {
        if (change._tag === "Created") state.vaultCreated(change.vault.name, change.vault.settings)
        else if (change._tag === "Removed") state.vaultRemoved(change.name)
        // A listener has nobody to tell of a failed write: the next flush (the request's, the admin's) reports it.
        state.flushOrKeep()
      })
    }
    clockRef.current = clock
    if (options.seedDocument !== undefined && (state === undefined || state.fresh)) {
      seeded = yield* clock.provide(Seed.seed(vaults, options.seedDocument))
      state?.flush()
    }
    const admin = Admin.make({
      vaults,
      clock,
      persist: state === undefined ? undefined : Effect.sync(() => state.flush())
    })
    const served = AdminRoutes.wrap((request) => {
      const vault = vaults.unsafeResolve(request.url, request.localPort)
      eventGrid.noteOrigin(request.url.origin, vault.name)
      return vault.handler(request)
    }, { clock, eventGrid, tenantId, resource: options.resource, verifyToken, vaults, admin })
    const defaultVault = vaults.defaultVault
    return {
      vaults,
      admin,
      engine: defaultVault.engine,
      journal,
      faults: defaultVault.faults,
      throttle: defaultVault.throttle,
      seeded,
      clock,
      eventGrid,
      events: eventGrid.events,
      shutdown: Effect.zipRight(eventGrid.shutdown, Effect.sync(() => state?.close())),
      // Every request runs under the emulator's time. Due events are published after every request too, so a write
      // that is already due (an expiry inside the window, a recovered object) is reported without waiting for the
      // next request. With persistence, the request's changes are written before its response is returned.
      handler: (request) =>
        Effect.clockWith((caller) => {
          const time = clock.unsafeClockFor(caller)
          const answered = Effect.flatMap(served(request), (response) => {
            eventGrid.unsafeCheckDue(time.unsafeCurrentTimeMillis())
            return state === undefined ? Effect.succeed(response) : saved(state, response)
          })
          return time === caller ? answered : Effect.withClock(answered, time)
        })
    }
  })

// A change the state directory could not save is not acknowledged: the caller gets the service's 500 (which clients
// retry) instead of the response, and the emulator goes on; the change is written with the next one. The log names
// the state file and the errno code, never a value.
const saved = (state: VaultState.VaultState, response: EmulatorResponse): Effect.Effect<EmulatorResponse> => {
  try {
    state.flush()
    return Effect.succeed(response)
  } catch (cause) {
    if (!(cause instanceof VaultState.StateWriteError)) return Effect.die(cause)
    return Effect.as(
      Effect.logError(`key-vault-emulator: ${cause.message}`),
      Responses.error(500, "InternalServerError", "The emulator could not save the change to its state directory.")
    )
  }
}

// A wrong token is answered before the fault rules and the throttle, like a missing one: an unauthenticated caller
// must not use up a rule's `times` or the throttle's budget. It gets the service's 401 for an invalid token, and the
// journal records it as a request that carried a token and never reached the engine.
const refuseOtherTokens = (
  verifyToken: Challenge.TokenVerifier,
  refusal: (request: EmulatorRequest) => EmulatorResponse,
  journal: Journal.Journal,
  pipeline: EmulatorHandler
): EmulatorHandler =>
(request: EmulatorRequest): Effect.Effect<EmulatorResponse> => {
  if (!Challenge.hasBearerToken(request) || verifyToken(request)) return pipeline(request)
  return Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const response = refusal(request)
    const end = yield* Clock.currentTimeMillis
    const classified = classify(request.method, request.url.pathname)
    yield* journal.record({
      timeMillis: start,
      method: request.method,
      path: request.url.pathname,
      operation: classified.operation,
      name: classified.name ?? null,
      status: response.status,
      tokenPresent: true,
      reachedEngine: false,
      fault: null,
      durationMillis: end - start
    })
    return response
  })
}

/**
 * Access to the emulator behind a Layer (for example `HttpClientLayer.layerFresh`), so tests can inspect its engine,
 * read its journal and inject faults.
 *
 * @since 0.1.0
 * @category tags
 */
export class EmulatorService extends Context.Tag("@effect-azure/key-vault-emulator/Emulator")<
  EmulatorService,
  Emulator
>() {}
