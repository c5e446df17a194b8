/**
 * When an entry is refreshed, and what a load or refresh result does to it. Pure decisions on numbers and
 * outcomes; the cache carries them out.
 *
 * - Lifetime: the TTL (latest or version), shortened by a random fraction up to `jitter`.
 * - Refresh-ahead: after `refreshAhead` × TTL a hit starts one background refresh. The lead is computed from the
 *   nominal TTL, so an entry needs to store only its expiry.
 * - Drop-if-changed: a refresh result is dropped when its entry was written, invalidated or evicted meanwhile.
 * - Stale-if-error: only for a transient failure (5xx, timeout, network, 429), only within `staleIfError` past
 *   expiry, and then with a hold-off before the next attempt. A 401, 403, 404 or disabled object is never masked:
 *   it drops the entry (and a 404 is remembered).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { isTransient, NotFoundError } from "../../errors/KeyVaultError.js"
import type * as CacheConfig from "../CacheConfig.js"

/**
 * How a load failed, as far as the cache cares.
 *
 * @internal
 */
export type Failure =
  /** Worth serving the last good value for. */
  | { readonly _tag: "Transient" }
  /** 401, 403, disabled, ...: the cached value must go. */
  | { readonly _tag: "Revoked" }
  /** The object is gone: the cached value must go, and the not-found is remembered. */
  | { readonly _tag: "NotFound"; readonly error: NotFoundError }
  /** A defect or an interruption: says nothing about the object, so the cache is left as it is. */
  | { readonly _tag: "Other" }

const transient: Failure = { _tag: "Transient" }
const revoked: Failure = { _tag: "Revoked" }
const other: Failure = { _tag: "Other" }

/**
 * @internal
 */
export const classify = (cause: Cause.Cause<unknown>): Failure => {
  const error = Cause.failureOption(cause)
  if (Option.isNone(error)) return other
  if (isTransient(error.value)) return transient
  return error.value instanceof NotFoundError ? { _tag: "NotFound", error: error.value } : revoked
}

/**
 * What a miss's load does when it fails, given the entry it reloads (`previous`, if it is still current).
 *
 * @internal
 */
export type LoadFailureAction =
  | { readonly _tag: "ServeStale" }
  | { readonly _tag: "Fail"; readonly dropPrevious: boolean; readonly remember: NotFoundError | undefined }

/**
 * What a background refresh's result does to its entry.
 *
 * @internal
 */
export type RefreshAction =
  | { readonly _tag: "Store" }
  /** Succeeded, but the entry changed meanwhile. */
  | { readonly _tag: "Drop" }
  | { readonly _tag: "Failed"; readonly remove: boolean; readonly remember: NotFoundError | undefined }

const failKeep: LoadFailureAction = { _tag: "Fail", dropPrevious: false, remember: undefined }
const serveStale: LoadFailureAction = { _tag: "ServeStale" }
const store: RefreshAction = { _tag: "Store" }
const drop: RefreshAction = { _tag: "Drop" }
const failedKeep: RefreshAction = { _tag: "Failed", remove: false, remember: undefined }

/**
 * The policy of one cache's settings.
 *
 * @internal
 */
export class RefreshPolicy {
  /** How long before expiry refresh-ahead starts (the TTL's last 1 - refreshAhead). */
  private readonly lead: number
  private readonly versionLead: number
  /** While serving stale after a failed reload: how long before the next attempt, so an outage is not hammered. */
  readonly retryHoldMillis: number

  constructor(readonly config: CacheConfig.ResolvedCacheConfig) {
    this.lead = Math.floor(config.ttlMillis * (1 - config.refreshAhead))
    this.versionLead = Math.floor(config.versionTtlMillis * (1 - config.refreshAhead))
    this.retryHoldMillis = Math.floor(Math.min(config.ttlMillis / 10, 30_000))
  }

  /** An entry's lifetime, given a uniform random `r` in [0, 1). */
  lifetime(version: string | undefined, r: number): number {
    const ttl = version === undefined ? this.config.ttlMillis : this.config.versionTtlMillis
    return Math.floor(ttl * (1 - this.config.jitter * r))
  }

  /** Whether a hit at `now` on a fresh entry should start a background refresh. */
  refreshDue(expiresAt: number, version: string | undefined, now: number): boolean {
    return this.config.refreshAhead > 0 && now >= expiresAt - (version === undefined ? this.lead : this.versionLead)
  }

  /**
   * A miss's load failed. `attached`: the load still speaks for its key (no invalidation meanwhile). `previous`: the
   * expiry of the entry it reloads, if that entry is still current.
   */
  afterLoadFailure(
    failure: Failure,
    attached: boolean,
    previousExpiresAt: number | undefined,
    now: number
  ): LoadFailureAction {
    if (!attached) return failKeep
    switch (failure._tag) {
      case "Transient":
        return previousExpiresAt !== undefined && this.config.staleIfErrorMillis > 0 &&
            now < previousExpiresAt + this.config.staleIfErrorMillis
          ? serveStale
          : failKeep
      case "Revoked":
        return { _tag: "Fail", dropPrevious: true, remember: undefined }
      case "NotFound":
        return { _tag: "Fail", dropPrevious: true, remember: failure.error }
      case "Other":
        return failKeep
    }
  }

  /** A background refresh ended. `unchanged`: its entry is still the one filed under its key. */
  afterRefresh(exit: Exit.Exit<unknown, unknown>, unchanged: boolean): RefreshAction {
    if (Exit.isSuccess(exit)) return unchanged ? store : drop
    if (!unchanged) return failedKeep
    // A transient failure leaves the (still fresh) entry alone; a revocation removes it at once.
    const failure = classify(exit.cause)
    switch (failure._tag) {
      case "Revoked":
        return { _tag: "Failed", remove: true, remember: undefined }
      case "NotFound":
        return { _tag: "Failed", remove: true, remember: failure.error }
      default:
        return failedKeep
    }
  }
}

/**
 * Entries being served stale after a failed reload, with the time before which no new attempt is made. Rare, so kept
 * beside the entries rather than in each of them; weak, so a dropped entry takes its mark with it.
 *
 * @internal
 */
export class StaleHolds<K extends object> {
  private readonly until = new WeakMap<K, number>()

  hold(entry: K, until: number): void {
    this.until.set(entry, until)
  }

  /** Whether an expired entry may still be served at `now` without a new attempt. */
  holds(entry: K, now: number): boolean {
    return now < (this.until.get(entry) ?? 0)
  }
}
