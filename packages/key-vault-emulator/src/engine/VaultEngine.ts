/**
 * The vault engine: the in-memory state of one vault, as collections of versioned objects with a soft-delete bin:
 * secrets, keys and certificates. A certificate's key and secret live in the key and secret collections (marked
 * `managed`), so the three share their stores, and every operation of any collection first completes the certificate
 * issuances that are due.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as CertificateEngine from "./CertificateEngine.js"
import * as KeyEngine from "./KeyEngine.js"
import { type CertificateVersion, isIssued } from "./certificates/CertificateVersion.js"
import type { KeyVersion } from "./KeyVersion.js"
import * as ObjectStore from "./ObjectStore.js"
import * as SecretEngine from "./SecretEngine.js"
import type { SecretVersion } from "./SecretVersion.js"

/**
 * The object types of a vault.
 *
 * @since 0.1.0
 * @category models
 */
export type VaultObjectType = "secret" | "key" | "certificate"

/**
 * What an observer learns about one version: enough to publish Event Grid's events for it, never a value.
 *
 * @since 0.1.0
 * @category models
 */
export interface VersionFacts {
  readonly objectType: VaultObjectType
  /** The object's name, in the case of its first creation. */
  readonly name: string
  readonly version: string
  readonly enabled: boolean
  readonly notBefore: Date | undefined
  readonly expires: Date | undefined
  /** When the version was created, or last changed, on the engine's clock. */
  readonly updated: Date
}

/**
 * A change an observer is told about. `NewVersion`: a version was created (set, create, import, rotate; a certificate
 * version once it is issued). `VersionChanged`: a version's attributes changed, or it came back with its object
 * (restore, recover), or it was there already when the engine was built over saved state (`maps` pre-filled).
 * `ObjectDeleted`: an object went to the soft-delete bin with all its versions. Versions of the key and secret behind
 * a certificate are not reported (the certificate's are).
 *
 * @since 0.1.0
 * @category models
 */
export type VaultChange =
  | { readonly _tag: "NewVersion"; readonly facts: VersionFacts }
  | { readonly _tag: "VersionChanged"; readonly facts: VersionFacts }
  | { readonly _tag: "ObjectDeleted"; readonly objectType: VaultObjectType; readonly name: string }

/**
 * Hooks the emulator's Event Grid uses. Both run synchronously inside the engine's operations: keep them cheap and
 * never let them throw.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultObserver {
  readonly onChange: (change: VaultChange) => void
  /** Runs at the start of every operation of every collection, with the operation's time. */
  readonly onOperation: (now: Date) => void
}

/**
 * Engine settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultEngineOptions {
  /**
   * Days a deleted object stays recoverable before it is purged (lazily, on the next operation after the date).
   * A whole number >= 1; default 90.
   */
  readonly recoverableDays?: number | undefined
  /**
   * Refuse to return a secret value before `nbf` or from `exp` on (403 `SecretNotYetValid` / `SecretExpired`).
   * Default true. The real service is lenient about secret validity; turn this off to mimic it. The secret behind a
   * certificate is never refused for its validity (the certificate's), as in the service.
   */
  readonly enforceValidityPeriod?: boolean | undefined
  /**
   * Milliseconds, on the engine's clock, from a certificate create with issuer `Self` to its completion. Default 0:
   * the create still answers `inProgress` (as the service does), and the next request finds it completed.
   */
  readonly certificateIssuanceDelayMillis?: number | undefined
  /** Told about every new or changed version and every operation (the emulator's Event Grid). */
  readonly observer?: VaultObserver | undefined
  /** Purges are refused (403), as in a vault with purge protection. Default false. */
  readonly purgeProtection?: boolean | undefined
  /** Where the engine keeps its state (persistence passes recorded, maybe pre-filled maps); default plain maps. */
  readonly maps?: MapFactory | undefined
}

/**
 * Makes the maps an engine keeps its state in (see `ObjectStore.MapFactory`).
 *
 * @since 0.1.0
 * @category models
 */
export type MapFactory = ObjectStore.MapFactory

/**
 * One vault's state and operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultEngine {
  /** Days a deleted object stays recoverable. */
  readonly recoverableDays: number
  /** The deletion recovery level reported in attributes (`Recoverable+Purgeable` at 90 days). */
  readonly recoveryLevel: string
  readonly secrets: SecretEngine.SecretEngine
  readonly keys: KeyEngine.KeyEngine
  readonly certificates: CertificateEngine.CertificateEngine
  /** Whether purges are refused (purge protection). */
  readonly purgeProtection: boolean
  /** Empties every collection, deleted bin, policy, issuer and the contacts, at once (a vault reset). */
  readonly unsafeClear: () => void
}

/**
 * The default soft-delete retention, as in the service.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_RECOVERABLE_DAYS = 90

/**
 * The recovery level the service reports for a vault with soft delete and purge enabled and this retention.
 *
 * @since 0.1.0
 * @category utils
 */
export const recoveryLevelFor = (recoverableDays: number): string =>
  recoverableDays >= DEFAULT_RECOVERABLE_DAYS ? "Recoverable+Purgeable" : "CustomizedRecoverable+Purgeable"

/**
 * A new, empty vault. Invalid options are a programming error and die with a message.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: VaultEngineOptions = {}): Effect.Effect<VaultEngine> =>
  Effect.suspend(() => {
    const recoverableDays = options.recoverableDays ?? DEFAULT_RECOVERABLE_DAYS
    if (!Number.isInteger(recoverableDays) || recoverableDays < 1) {
      return Effect.dieMessage(`recoverableDays must be a whole number >= 1, got ${String(recoverableDays)}`)
    }
    const issuanceDelayMillis = options.certificateIssuanceDelayMillis ?? 0
    if (!Number.isFinite(issuanceDelayMillis) || issuanceDelayMillis < 0) {
      return Effect.dieMessage(
        `certificateIssuanceDelayMillis must be a number >= 0, got ${String(issuanceDelayMillis)}`
      )
    }
    const observer = options.observer
    const created: Array<Map<string, unknown>> = []
    const baseMaps = options.maps ?? ObjectStore.plainMaps
    const maps: MapFactory = <A>(id: string) => {
      const map = baseMaps<A>(id)
      created.push(map as Map<string, unknown>)
      return map
    }
    const secretStore = observed(ObjectStore.make<SecretVersion>(maps, "secrets"), "secret", (v) => !v.managed, observer)
    const keyStore = observed(ObjectStore.make<KeyVersion>(maps, "keys"), "key", (v) => !v.managed, observer)
    const certificates = CertificateEngine.make({
      maps,
      recoverableDays,
      issuanceDelayMillis,
      keys: keyStore,
      secrets: secretStore,
      store: observed(ObjectStore.make<CertificateVersion>(maps, "certificates"), "certificate", isIssued, observer),
      beforeOperation: observer?.onOperation
    })
    const beforeOperation = observer === undefined ? certificates.completeDue : (at: Date) => {
      certificates.completeDue(at)
      observer.onOperation(at)
    }
    const engine: VaultEngine = {
      recoverableDays,
      recoveryLevel: recoveryLevelFor(recoverableDays),
      secrets: SecretEngine.make({
        recoverableDays,
        enforceValidityPeriod: options.enforceValidityPeriod ?? true,
        store: secretStore,
        beforeOperation
      }),
      keys: KeyEngine.make({ recoverableDays, store: keyStore, beforeOperation, maps }),
      certificates,
      purgeProtection: options.purgeProtection ?? false,
      unsafeClear: () => {
        for (const map of created) map.clear()
      }
    }
    return Effect.succeed(engine)
  })

interface ObservableVersion extends ObjectStore.Versioned {
  readonly enabled: boolean
  readonly notBefore: Date | undefined
  readonly expires: Date | undefined
  readonly updated: Date
}

// Reports a collection's changes to the observer, for the versions `reported` selects (not the managed key and secret
// of a certificate, not a pending certificate version).
const observed = <V extends ObservableVersion>(
  store: ObjectStore.ObjectStore<V>,
  objectType: VaultObjectType,
  reported: (version: V) => boolean,
  observer: VaultObserver | undefined
): ObjectStore.ObjectStore<V> => {
  if (observer === undefined) return store
  const facts = (name: string, version: V): VersionFacts => ({
    objectType,
    name,
    version: version.version,
    enabled: version.enabled,
    notBefore: version.notBefore,
    expires: version.expires,
    updated: version.updated
  })
  // Versions loaded from saved state were reported before the restart, not to this observer: report them as they
  // are now, so their expiry events are scheduled as after a write (an event published then is not published again).
  for (const object of store.listActive()) {
    for (const version of object.versions) {
      if (reported(version)) observer.onChange({ _tag: "VersionChanged", facts: facts(object.name, version) })
    }
  }
  return ObjectStore.observe(store, (change) => {
    switch (change._tag) {
      case "Added":
        if (reported(change.version)) observer.onChange({ _tag: "NewVersion", facts: facts(change.name, change.version) })
        return
      case "Replaced":
        if (!reported(change.version)) return
        // A certificate version becomes a version when it is issued (its pending record is replaced).
        observer.onChange({
          _tag: reported(change.previous) ? "VersionChanged" : "NewVersion",
          facts: facts(change.name, change.version)
        })
        return
      case "Restored":
        for (const version of change.object.versions) {
          if (reported(version)) {
            observer.onChange({ _tag: "VersionChanged", facts: facts(change.object.name, version) })
          }
        }
        return
      case "Deleted":
        observer.onChange({ _tag: "ObjectDeleted", objectType, name: change.name })
        return
    }
  })
}
