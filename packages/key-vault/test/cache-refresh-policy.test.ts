/**
 * The refresh policy on its own: lifetimes, when refresh-ahead starts, and what a failed load or a refresh result
 * does to an entry. Stale-if-error is only for transient failures; 401, 403, 404 and disabled are never masked.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as CacheConfig from "../src/cache/CacheConfig.js"
import { classify, RefreshPolicy, StaleHolds } from "../src/cache/internal/RefreshPolicy.js"
import { AuthenticationError, ForbiddenError, NotFoundError, ServiceError } from "../src/errors/KeyVaultError.js"

const policyOf = (options: CacheConfig.CacheOptions = {}) =>
  new RefreshPolicy(Either.getOrThrow(CacheConfig.resolve(options)))

const fields = { code: "X", innerCode: undefined, message: "m", requestId: undefined }
const unavailable = new ServiceError({ ...fields, status: 503, transient: true })
const notFound = new NotFoundError({ ...fields, status: 404, code: "SecretNotFound" })
const disabled = new ForbiddenError({ ...fields, status: 403, innerCode: "SecretDisabled" })
const forbidden = new ForbiddenError({ ...fields, status: 403 })
const unauthorized = new AuthenticationError({ message: "refused", status: 401 })

describe("RefreshPolicy", () => {
  it.prop(
    "shortens each lifetime by at most the jitter fraction",
    [FastCheck.double({ min: 0, max: 0.5, noNaN: true }), FastCheck.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })],
    ([jitter, r]) => {
      const policy = policyOf({ ttl: "100 seconds", versionTtl: "1 hour", jitter })
      const latest = policy.lifetime(undefined, r)
      expect(latest).toBeLessThanOrEqual(100_000)
      expect(latest).toBeGreaterThanOrEqual(Math.floor(100_000 * (1 - jitter)))
      expect(policy.lifetime("v1", r)).toBeGreaterThanOrEqual(Math.floor(3_600_000 * (1 - jitter)))
    }
  )

  it("starts refresh-ahead at the configured fraction of the TTL, and never when it is off", () => {
    const policy = policyOf({ ttl: "100 seconds", versionTtl: "1000 seconds", refreshAhead: 0.8 })
    // An entry that expires at 100 s: due from 80 s (the lead is floored to whole milliseconds, so within 1 ms).
    expect(policy.refreshDue(100_000, undefined, 79_998)).toBe(false)
    expect(policy.refreshDue(100_000, undefined, 80_001)).toBe(true)
    // A version entry uses its own TTL: due 200 s before expiry.
    expect(policy.refreshDue(1_000_000, "v1", 799_998)).toBe(false)
    expect(policy.refreshDue(1_000_000, "v1", 800_001)).toBe(true)
    const off = policyOf({ ttl: "100 seconds", refreshAhead: false })
    expect(off.refreshDue(100_000, undefined, 99_999)).toBe(false)
  })

  it("serves stale only for a transient failure, within the bound past expiry, and with a retry hold-off", () => {
    const policy = policyOf({ ttl: "100 seconds", staleIfError: "1 minute" })
    const transient = classify(Cause.fail(unavailable))
    expect(policy.afterLoadFailure(transient, true, 100_000, 159_999)._tag).toBe("ServeStale")
    expect(policy.afterLoadFailure(transient, true, 100_000, 160_000)).toMatchObject({ _tag: "Fail", dropPrevious: false })
    // No previous value, or a load detached by an invalidation: nothing to serve.
    expect(policy.afterLoadFailure(transient, true, undefined, 100_001)._tag).toBe("Fail")
    expect(policy.afterLoadFailure(transient, false, 100_000, 100_001)._tag).toBe("Fail")
    // The hold-off is a tenth of the TTL, at most 30 s.
    expect(policy.retryHoldMillis).toBe(10_000)
    expect(policyOf({ ttl: "1 hour" }).retryHoldMillis).toBe(30_000)
    const off = policyOf({ ttl: "100 seconds", staleIfError: false })
    expect(off.afterLoadFailure(transient, true, 100_000, 100_001)._tag).toBe("Fail")
  })

  it("never masks 401, 403, 404 or a disabled object: the entry goes, and a 404 is remembered", () => {
    const policy = policyOf({ ttl: "100 seconds", staleIfError: "1 hour" })
    for (const error of [unauthorized, forbidden, disabled]) {
      expect(policy.afterLoadFailure(classify(Cause.fail(error)), true, 100_000, 100_001)).toEqual({
        _tag: "Fail",
        dropPrevious: true,
        remember: undefined
      })
    }
    expect(policy.afterLoadFailure(classify(Cause.fail(notFound)), true, 100_000, 100_001)).toEqual({
      _tag: "Fail",
      dropPrevious: true,
      remember: notFound
    })
    // A defect or an interruption says nothing about the object: the cache is left as it is.
    expect(policy.afterLoadFailure(classify(Cause.die("bug")), true, 100_000, 100_001)).toMatchObject({
      _tag: "Fail",
      dropPrevious: false
    })
  })

  it("drops a refresh result when its entry changed meanwhile, and removes a revoked entry at once", () => {
    const policy = policyOf()
    expect(policy.afterRefresh(Exit.succeed("v"), true)._tag).toBe("Store")
    expect(policy.afterRefresh(Exit.succeed("v"), false)._tag).toBe("Drop")
    expect(policy.afterRefresh(Exit.fail(unavailable), true)).toEqual({ _tag: "Failed", remove: false, remember: undefined })
    expect(policy.afterRefresh(Exit.fail(disabled), true)).toEqual({ _tag: "Failed", remove: true, remember: undefined })
    expect(policy.afterRefresh(Exit.fail(notFound), true)).toEqual({ _tag: "Failed", remove: true, remember: notFound })
    // The entry was replaced meanwhile: a revocation learnt by an old refresh does not touch the new entry.
    expect(policy.afterRefresh(Exit.fail(notFound), false)).toEqual({ _tag: "Failed", remove: false, remember: undefined })
  })
})

describe("StaleHolds", () => {
  it("holds an expired entry until the given time", () => {
    const holds = new StaleHolds<object>()
    const entry = {}
    expect(holds.holds(entry, 0)).toBe(false)
    holds.hold(entry, 10_000)
    expect(holds.holds(entry, 9_999)).toBe(true)
    expect(holds.holds(entry, 10_000)).toBe(false)
  })
})
