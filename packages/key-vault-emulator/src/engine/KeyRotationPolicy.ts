/**
 * Key rotation policies: the model the engine stores, the service's default, validation of a submitted policy, and
 * ISO 8601 durations (`P90D`, `P1Y6M`, `PT48H`).
 *
 * Rules (from the service's documentation and behaviour): action types `Rotate` and `Notify` (matched without regard
 * to case, answered in this case), at most one of each; every action has exactly one trigger, `timeAfterCreate` or
 * `timeBeforeExpiry`; `Notify` only triggers before expiry; `expiryTime` is at least 28 days; rotation triggers are at
 * least 7 days and, with an `expiryTime`, at most `expiryTime` minus 7 days; rotating before expiry needs an
 * `expiryTime`. The emulator stores the policy and applies `expiryTime` to versions made by `rotate`; it does not run
 * the actions on a schedule.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"

/**
 * What a lifetime action does: `Rotate` the key, or `Notify` that it is about to expire.
 *
 * @since 0.1.0
 * @category models
 */
export type LifetimeActionType = "Rotate" | "Notify"

/**
 * One action and its trigger (exactly one of the two durations is set).
 *
 * @since 0.1.0
 * @category models
 */
export interface LifetimeAction {
  readonly type: LifetimeActionType
  readonly timeAfterCreate: string | undefined
  readonly timeBeforeExpiry: string | undefined
}

/**
 * A key's rotation policy. `created` / `updated` are absent for the default policy (never set).
 *
 * @since 0.1.0
 * @category models
 */
export interface RotationPolicy {
  readonly lifetimeActions: ReadonlyArray<LifetimeAction>
  readonly expiryTime: string | undefined
  readonly created: Date | undefined
  readonly updated: Date | undefined
}

/**
 * What a key without a stored policy reports: notify 30 days before expiry, no expiry time.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_POLICY: RotationPolicy = {
  lifetimeActions: [{ type: "Notify", timeAfterCreate: undefined, timeBeforeExpiry: "P30D" }],
  expiryTime: undefined,
  created: undefined,
  updated: undefined
}

/**
 * A parsed ISO 8601 duration (date and time parts; weeks count as 7 days).
 *
 * @since 0.1.0
 * @category models
 */
export interface Duration {
  readonly years: number
  readonly months: number
  readonly days: number
  readonly hours: number
  readonly minutes: number
  readonly seconds: number
}

const DURATION_PATTERN = /^P(?:(\d{1,4})Y)?(?:(\d{1,5})M)?(?:(\d{1,5})W)?(?:(\d{1,6})D)?(?:T(?:(\d{1,7})H)?(?:(\d{1,9})M)?(?:(\d{1,10})S)?)?$/

/**
 * Parses a duration; undefined when it is not one (or is empty, like `P` or `PT`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseDuration = (text: string): Duration | undefined => {
  const match = DURATION_PATTERN.exec(text)
  if (match === null || text === "P" || text.endsWith("T")) return undefined
  const [, y, mo, w, d, h, mi, s] = match.map((part) => (part === undefined ? 0 : Number(part)))
  return {
    years: y ?? 0,
    months: mo ?? 0,
    days: (d ?? 0) + 7 * (w ?? 0),
    hours: h ?? 0,
    minutes: mi ?? 0,
    seconds: s ?? 0
  }
}

/**
 * The nominal length in days (a year is 365 days, a month 30), for the service's minimum-length rules.
 *
 * @since 0.1.0
 * @category utils
 */
export const nominalDays = (duration: Duration): number =>
  duration.years * 365 + duration.months * 30 + duration.days +
  (duration.hours + (duration.minutes + duration.seconds / 60) / 60) / 24

/**
 * `date` plus `duration` in calendar terms (UTC), as an expiry computed from a policy.
 *
 * @since 0.1.0
 * @category utils
 */
export const addDuration = (date: Date, duration: Duration): Date => {
  const result = new Date(date.getTime())
  result.setUTCFullYear(result.getUTCFullYear() + duration.years, result.getUTCMonth() + duration.months)
  result.setUTCDate(result.getUTCDate() + duration.days)
  return new Date(result.getTime() + ((duration.hours * 60 + duration.minutes) * 60 + duration.seconds) * 1000)
}

/**
 * A policy as submitted (the decoded wire body).
 *
 * @since 0.1.0
 * @category models
 */
export interface PolicyInput {
  readonly lifetimeActions?: ReadonlyArray<{
    readonly trigger?: { readonly timeAfterCreate?: string | undefined; readonly timeBeforeExpiry?: string | undefined } | undefined
    readonly action?: { readonly type?: string | undefined } | undefined
  }> | undefined
  readonly expiryTime?: string | undefined
}

const MIN_EXPIRY_DAYS = 28
const MIN_ROTATION_DAYS = 7

const actionType = (type: string | undefined): LifetimeActionType | undefined => {
  const lower = type?.toLowerCase()
  return lower === "rotate" ? "Rotate" : lower === "notify" ? "Notify" : undefined
}

/**
 * Validates a submitted policy; the error is a `BadParameter` message. An absent or empty `lifetimeActions` keeps
 * the default action (notify 30 days before expiry), as the service resets to it.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (
  input: PolicyInput
): Either.Either<Pick<RotationPolicy, "lifetimeActions" | "expiryTime">, string> => {
  let expiryDays: number | undefined
  if (input.expiryTime !== undefined) {
    const expiry = parseDuration(input.expiryTime)
    if (expiry === undefined) return Either.left("The rotation policy's expiryTime must be an ISO 8601 duration.")
    expiryDays = nominalDays(expiry)
    if (expiryDays < MIN_EXPIRY_DAYS) {
      return Either.left(`The rotation policy's expiryTime must be at least ${MIN_EXPIRY_DAYS} days (P${MIN_EXPIRY_DAYS}D).`)
    }
  }
  const submitted = input.lifetimeActions ?? []
  const actions: Array<LifetimeAction> = []
  for (const [index, raw] of submitted.entries()) {
    const where = `lifetimeActions[${index}]`
    const type = actionType(raw.action?.type)
    if (type === undefined) return Either.left(`The action type of ${where} must be Rotate or Notify.`)
    if (actions.some((a) => a.type === type)) return Either.left(`A rotation policy may have only one ${type} action.`)
    const after = raw.trigger?.timeAfterCreate
    const before = raw.trigger?.timeBeforeExpiry
    if ((after === undefined) === (before === undefined)) {
      return Either.left(`The trigger of ${where} needs exactly one of timeAfterCreate and timeBeforeExpiry.`)
    }
    const text = after ?? before ?? ""
    const duration = parseDuration(text)
    if (duration === undefined) return Either.left(`The trigger of ${where} must be an ISO 8601 duration.`)
    const days = nominalDays(duration)
    if (type === "Notify" && after !== undefined) {
      return Either.left("A Notify action can only be triggered by timeBeforeExpiry.")
    }
    if (type === "Rotate") {
      if (days < MIN_ROTATION_DAYS) {
        return Either.left(`The rotation trigger must be at least ${MIN_ROTATION_DAYS} days (P${MIN_ROTATION_DAYS}D).`)
      }
      if (before !== undefined && expiryDays === undefined) {
        return Either.left("Rotating before expiry needs the rotation policy's expiryTime.")
      }
      if (expiryDays !== undefined && days > expiryDays - MIN_ROTATION_DAYS) {
        return Either.left(`The rotation trigger must be at least ${MIN_ROTATION_DAYS} days shorter than expiryTime.`)
      }
    }
    actions.push({ type, timeAfterCreate: after, timeBeforeExpiry: before })
  }
  return Either.right({
    lifetimeActions: actions.length === 0 ? DEFAULT_POLICY.lifetimeActions : actions,
    expiryTime: input.expiryTime
  })
}
