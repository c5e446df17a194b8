/**
 * The expiry monitor: on a `Schedule` the application chooses (default: hourly, jittered), it scans the vault's
 * secrets, keys and certificates (their properties, never a value) and publishes to `RotationEvents`:
 *
 * - `NearExpiry` when the latest version expires within the window (default 30 days, as Event Grid):
 *   `exp - now <= window`, edges included;
 * - `Expired` once it is past its expiry: `now >= exp`, as the vault decides.
 *
 * Each (object, version, event type) is published once per process (per expiry: extending a version's expiry and
 * nearing the new one reports again), so a new version brings events for the new version only. Disabled objects and
 * objects without an expiry are skipped, and so are the secrets and keys that back certificates (the certificate is
 * reported instead).
 *
 * List items describe the latest version without naming it, so the first time an object is reported the monitor
 * reads its versions once to name the version; the answer is remembered with the item's creation, update and expiry
 * times, so later scans cost only the list pages. Memory is bounded (`memory` entries of each kind, least recently
 * seen forgotten first); a forgotten object is reported again, and `RotationEvents` deduplicates it too.
 *
 * A scan that fails (the vault throttles, the network fails: the transport has already retried it) is logged and
 * counted, the other object types are still scanned, and the monitor goes on at the next tick: it never stops on an
 * error. Requests go through the client's rate limiter, so a scan of a large vault stays within its budget.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { ObjectType } from "../cache/VaultCache.js"
import type { Certificates } from "../certificates/Certificates.js"
import type { Keys } from "../keys/Keys.js"
import type { Secrets } from "../secrets/Secrets.js"
import * as ExpirySource from "./ExpirySource.js"
import { BoundedMap } from "./internal/BoundedMap.js"
import { describeCause } from "./internal/Failure.js"
import { type EventKind, makeKeyVaultEvent } from "./RotationEvent.js"
import { RotationEvents } from "./RotationEvents.js"
import * as RotationMetrics from "./RotationMetrics.js"

/**
 * How the monitor scans.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExpiryMonitorOptions {
  /**
   * When to scan again after a scan, fed each scan's summary; default `defaultSchedule` (hourly, jittered). The first
   * scan runs when the monitor starts; the monitor stops when the schedule ends.
   */
  readonly schedule?: Schedule.Schedule<unknown, ScanSummary> | undefined
  /** How long before its expiry a version is near expiry. Default 30 days, as Event Grid. */
  readonly window?: Duration.DurationInput | undefined
  /** Objects remembered (as reported, and as version lookups). Default 100,000 each. */
  readonly memory?: number | undefined
}

/**
 * Options of `layer`: which object types to watch (default all three).
 *
 * @since 0.1.0
 * @category models
 */
export interface ExpiryMonitorLayerOptions extends ExpiryMonitorOptions {
  readonly objectTypes?: ReadonlyArray<ObjectType> | undefined
}

/**
 * A scan of one object type that failed; the message is the client error's (which never carries a value).
 *
 * @since 0.1.0
 * @category models
 */
export interface ScanFailure {
  readonly objectType: ObjectType
  readonly tag: string
  readonly message: string
}

/**
 * What one scan did.
 *
 * @since 0.1.0
 * @category models
 */
export interface ScanSummary {
  /** Objects listed. */
  readonly objects: number
  /** Events published (not counting duplicates `RotationEvents` dropped). */
  readonly published: number
  /** Disabled objects skipped. */
  readonly disabled: number
  /** Object types whose scan failed (the others were scanned). */
  readonly failures: ReadonlyArray<ScanFailure>
}

/**
 * The monitor.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExpiryMonitorService {
  /** Scans every source now and publishes what is due. Never fails: failures are in the summary. */
  readonly scan: Effect.Effect<ScanSummary>
  readonly window: Duration.Duration
}

/**
 * The monitor tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class ExpiryMonitor extends Context.Tag("@effect-azure/key-vault/ExpiryMonitor")<
  ExpiryMonitor,
  ExpiryMonitorService
>() {}

/**
 * The default cadence: a scan an hour, each wait jittered (× 0.8 to 1.2) so a fleet of instances spreads its scans.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultSchedule: Schedule.Schedule<number> = Schedule.spaced("1 hour").pipe(Schedule.jittered)

/**
 * The default near-expiry window: 30 days, as Event Grid.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_WINDOW: Duration.Duration = Duration.days(30)

const DEFAULT_MEMORY = 100_000

interface Tally {
  objects: number
  published: number
  disabled: number
}

/**
 * A monitor over `sources` that scans when `scan` runs (see `run` and `layer` for the schedule). Invalid options (a
 * negative window) are a programming error and die.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  sources: ReadonlyArray<ExpirySource.ExpirySource>,
  options: ExpiryMonitorOptions = {}
): Effect.Effect<ExpiryMonitorService, never, RotationEvents> =>
  Effect.gen(function*() {
    const events = yield* RotationEvents
    const window = Duration.decode(options.window ?? DEFAULT_WINDOW)
    if (Duration.toMillis(window) < 0) return yield* Effect.dieMessage("ExpiryMonitor: window must not be negative")
    const windowMillis = Duration.toMillis(window)
    const memory = options.memory ?? DEFAULT_MEMORY
    // (type, name, created, updated, exp) of a list item -> the version it describes.
    const named = new BoundedMap<string>(memory)
    // (type, name, version, kind, exp) already published.
    const reported = new BoundedMap<true>(memory)

    const kindAt = (nowMillis: number, expiresOn: Date): EventKind | undefined => {
      const left = expiresOn.getTime() - nowMillis
      return left <= 0 ? "Expired" : left <= windowMillis ? "NearExpiry" : undefined
    }

    const versionOf = (source: ExpirySource.ExpirySource, item: ExpirySource.ExpiryItem) => {
      if (item.version !== undefined) return Effect.succeed(item.version)
      const identity = [
        item.objectType,
        item.name.toLowerCase(),
        item.createdOn?.getTime(),
        item.updatedOn?.getTime(),
        item.expiresOn?.getTime()
      ].join("|")
      const known = named.get(identity)
      if (known !== undefined) return Effect.succeed(known)
      return Effect.map(Stream.runCollect(source.versions(item.name)), (versions) => {
        const version = ExpirySource.pickLatest(Chunk.toReadonlyArray(versions), item)?.version
        if (version !== undefined) named.set(identity, version)
        return version
      })
    }

    const consider = (
      source: ExpirySource.ExpirySource,
      item: ExpirySource.ExpiryItem,
      nowMillis: number,
      tally: Tally
    ) =>
      Effect.suspend(() => {
        tally.objects++
        if (item.enabled === false) {
          tally.disabled++
          return Effect.void
        }
        const expiresOn = item.expiresOn
        if (expiresOn === undefined) return Effect.void
        const kind = kindAt(nowMillis, expiresOn)
        if (kind === undefined) return Effect.void
        return Effect.flatMap(versionOf(source, item), (version) => {
          if (version === undefined) return Effect.void
          const key = [item.objectType, item.name.toLowerCase(), version.toLowerCase(), kind, expiresOn.getTime()].join("|")
          if (reported.has(key)) return Effect.void
          reported.set(key, true)
          const event = makeKeyVaultEvent(kind, { ...item, version }, new Date(nowMillis))
          return Effect.map(events.publish(event), (published) => {
            if (published) tally.published++
          })
        })
      })

    const scanSource = (source: ExpirySource.ExpirySource, nowMillis: number, tally: Tally) =>
      Stream.runForEach(source.list, (item) => consider(source, item, nowMillis, tally)).pipe(
        Effect.zipRight(Metric.increment(Metric.tagged(RotationMetrics.monitorScans, "outcome", "ok"))),
        Effect.as(undefined),
        Effect.catchAllCause((cause) => {
          if (Cause.isInterruptedOnly(cause)) return Effect.interrupt
          const failure = describeCause(cause)
          return Effect.logWarning("ExpiryMonitor: the scan failed; the monitor goes on at the next tick").pipe(
            Effect.annotateLogs({ objectType: source.objectType, error: failure.tag }),
            Effect.zipRight(Metric.increment(Metric.tagged(RotationMetrics.monitorScans, "outcome", "failed"))),
            Effect.as<ScanFailure>({ objectType: source.objectType, ...failure })
          )
        })
      )

    const scan: Effect.Effect<ScanSummary> = Effect.gen(function*() {
      const nowMillis = yield* Clock.currentTimeMillis
      const tally: Tally = { objects: 0, published: 0, disabled: 0 }
      const failures: Array<ScanFailure> = []
      for (const source of sources) {
        const failure = yield* scanSource(source, nowMillis, tally)
        if (failure !== undefined) failures.push(failure)
      }
      return { ...tally, failures }
    }).pipe(Effect.withSpan("ExpiryMonitor.scan"))

    return { scan, window }
  })

/**
 * Runs the monitor: a scan now, then one after each wait of `schedule`, until the schedule ends (forever with the
 * default) or the fiber is interrupted.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (
  monitor: ExpiryMonitorService,
  schedule: Schedule.Schedule<unknown, ScanSummary> = defaultSchedule
): Effect.Effect<void> => Effect.asVoid(Effect.repeat(monitor.scan, schedule))

/**
 * A monitor over `sources`, running in the Layer's scope: it starts with the Layer (a first scan at once) and stops
 * when the Layer's scope closes.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSources = (
  sources: ReadonlyArray<ExpirySource.ExpirySource>,
  options: ExpiryMonitorOptions = {}
): Layer.Layer<ExpiryMonitor, never, RotationEvents> =>
  Layer.scoped(
    ExpiryMonitor,
    Effect.tap(make(sources, options), (monitor) => Effect.forkScoped(run(monitor, options.schedule)))
  )

const sourceFor = {
  secret: ExpirySource.secrets,
  key: ExpirySource.keys,
  certificate: ExpirySource.certificates
} as const

/**
 * The monitor of the client's secrets, keys and certificates (or the `objectTypes` given), running in the Layer's
 * scope.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: ExpiryMonitorLayerOptions = {}
): Layer.Layer<ExpiryMonitor, never, RotationEvents | Secrets | Keys | Certificates> =>
  Layer.unwrapEffect(
    Effect.map(
      Effect.all((options.objectTypes ?? ["secret", "key", "certificate"]).map((type) => sourceFor[type])),
      (sources) => layerSources(sources, options)
    )
  )
