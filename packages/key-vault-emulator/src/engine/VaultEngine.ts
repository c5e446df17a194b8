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
import type { KeyVersion } from "./KeyVersion.js"
import * as ObjectStore from "./ObjectStore.js"
import * as SecretEngine from "./SecretEngine.js"
import type { SecretVersion } from "./SecretVersion.js"

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
}

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
    const secretStore = ObjectStore.make<SecretVersion>()
    const keyStore = ObjectStore.make<KeyVersion>()
    const certificates = CertificateEngine.make({
      recoverableDays,
      issuanceDelayMillis,
      keys: keyStore,
      secrets: secretStore
    })
    const engine: VaultEngine = {
      recoverableDays,
      recoveryLevel: recoveryLevelFor(recoverableDays),
      secrets: SecretEngine.make({
        recoverableDays,
        enforceValidityPeriod: options.enforceValidityPeriod ?? true,
        store: secretStore,
        beforeOperation: certificates.completeDue
      }),
      keys: KeyEngine.make({ recoverableDays, store: keyStore, beforeOperation: certificates.completeDue }),
      certificates
    }
    return Effect.succeed(engine)
  })
