/**
 * The counters of one cache instance, each bumped together with its Effect `Metric` (which aggregates every instance).
 * Metrics are updated with `unsafeUpdate`, so counting a hit costs no Effect.
 *
 * @internal
 */
import * as Metric from "effect/Metric"
import * as CacheMetrics from "../CacheMetrics.js"
import type { CacheStats, ObjectType } from "../VaultCache.js"

const OBJECT_TYPES: ReadonlyArray<ObjectType> = ["secret", "key", "certificate"]

type PerType = Readonly<Record<ObjectType, Metric.Metric.Counter<number>>>

const tagged = (metric: Metric.Metric.Counter<number>): PerType =>
  Object.fromEntries(OBJECT_TYPES.map((t) => [t, Metric.tagged(metric, "object_type", t)])) as Record<
    ObjectType,
    Metric.Metric.Counter<number>
  >

const hits = tagged(CacheMetrics.hits)
const misses = tagged(CacheMetrics.misses)
const coalesced = tagged(CacheMetrics.coalesced)
const staleServed = tagged(CacheMetrics.staleServed)
const negativeHits = tagged(CacheMetrics.negativeHits)
const refreshOk = Metric.tagged(CacheMetrics.refreshes, "outcome", "ok")
const refreshFailed = Metric.tagged(CacheMetrics.refreshes, "outcome", "failed")
const refreshDropped = Metric.tagged(CacheMetrics.refreshes, "outcome", "dropped")
const noTags: ReadonlyArray<never> = []

/**
 * @internal
 */
export class Counters {
  // Plain numbers rather than `Ref`s: `hit` runs on every cache hit, which the bench holds to <= 1 us (about
  // 0.4-0.6 us measured); a `Ref.update` there would add an Effect step to each hit for no gain, since every bump
  // is a synchronous step of the reading fiber.
  hits = 0
  misses = 0
  coalesced = 0
  staleServed = 0
  negativeHits = 0
  refreshesOk = 0
  refreshesFailed = 0
  refreshesDropped = 0
  evictions = 0
  tamperedDropped = 0

  hit(type: ObjectType): void {
    this.hits++
    hits[type].unsafeUpdate(1, noTags)
  }
  miss(type: ObjectType): void {
    this.misses++
    misses[type].unsafeUpdate(1, noTags)
  }
  coalesce(type: ObjectType): void {
    this.coalesced++
    coalesced[type].unsafeUpdate(1, noTags)
  }
  stale(type: ObjectType): void {
    this.staleServed++
    staleServed[type].unsafeUpdate(1, noTags)
  }
  negativeHit(type: ObjectType): void {
    this.negativeHits++
    negativeHits[type].unsafeUpdate(1, noTags)
  }
  refreshed(outcome: "ok" | "failed" | "dropped"): void {
    if (outcome === "ok") {
      this.refreshesOk++
      refreshOk.unsafeUpdate(1, noTags)
    } else if (outcome === "failed") {
      this.refreshesFailed++
      refreshFailed.unsafeUpdate(1, noTags)
    } else {
      this.refreshesDropped++
      refreshDropped.unsafeUpdate(1, noTags)
    }
  }
  evicted(count: number): void {
    if (count === 0) return
    this.evictions += count
    CacheMetrics.evictions.unsafeUpdate(count, noTags)
  }
  tampered(): void {
    this.tamperedDropped++
  }

  snapshot(size: number, negativeSize: number): CacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      coalesced: this.coalesced,
      staleServed: this.staleServed,
      negativeHits: this.negativeHits,
      refreshesOk: this.refreshesOk,
      refreshesFailed: this.refreshesFailed,
      refreshesDropped: this.refreshesDropped,
      evictions: this.evictions,
      tamperedDropped: this.tamperedDropped,
      size,
      negativeSize
    }
  }
}

/**
 * Sets the size gauge.
 *
 * @internal
 */
export const reportSize = (size: number): void => CacheMetrics.size.unsafeUpdate(size, noTags)
