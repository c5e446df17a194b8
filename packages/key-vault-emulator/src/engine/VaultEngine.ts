/**
 * The vault engine: the in-memory state of one vault, as collections of versioned objects with a soft-delete bin.
 * Secrets and keys now; certificates join as a further collection built on the same `ObjectStore`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as KeyEngine from "./KeyEngine.js"
import * as SecretEngine from "./SecretEngine.js"

/**
 * Engine settings.
 *
 * @since 0.1.0
 */
export interface VaultEngineOptions {
  /**
   * Days a deleted object stays recoverable before it is purged (lazily, on the next operation after the date).
   * A whole number >= 1; default 90.
   */
  readonly recoverableDays?: number | undefined
  /**
   * Refuse to return a secret value before `nbf` or from `exp` on (403 `SecretNotYetValid` / `SecretExpired`).
   * Default true. The real service is lenient about secret validity; turn this off to mimic it.
   */
  readonly enforceValidityPeriod?: boolean | undefined
}

/**
 * One vault's state and operations.
 *
 * @since 0.1.0
 */
export interface VaultEngine {
  /** Days a deleted object stays recoverable. */
  readonly recoverableDays: number
  /** The deletion recovery level reported in attributes (`Recoverable+Purgeable` at 90 days). */
  readonly recoveryLevel: string
  readonly secrets: SecretEngine.SecretEngine
  readonly keys: KeyEngine.KeyEngine
}

/**
 * The default soft-delete retention, as in the service.
 *
 * @since 0.1.0
 */
export const DEFAULT_RECOVERABLE_DAYS = 90

/**
 * The recovery level the service reports for a vault with soft delete and purge enabled and this retention.
 *
 * @since 0.1.0
 */
export const recoveryLevelFor = (recoverableDays: number): string =>
  recoverableDays >= DEFAULT_RECOVERABLE_DAYS ? "Recoverable+Purgeable" : "CustomizedRecoverable+Purgeable"

/**
 * A new, empty vault. Invalid options are a programming error and die with a message.
 *
 * @since 0.1.0
 */
export const make = (options: VaultEngineOptions = {}): Effect.Effect<VaultEngine> =>
  Effect.suspend(() => {
    const recoverableDays = options.recoverableDays ?? DEFAULT_RECOVERABLE_DAYS
    if (!Number.isInteger(recoverableDays) || recoverableDays < 1) {
      return Effect.dieMessage(`recoverableDays must be a whole number >= 1, got ${String(recoverableDays)}`)
    }
    const engine: VaultEngine = {
      recoverableDays,
      recoveryLevel: recoveryLevelFor(recoverableDays),
      secrets: SecretEngine.make({
        recoverableDays,
        enforceValidityPeriod: options.enforceValidityPeriod ?? true
      }),
      keys: KeyEngine.make({ recoverableDays })
    }
    return Effect.succeed(engine)
  })
