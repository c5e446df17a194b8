/**
 * The negative store on its own: remembered not-founds with their own TTL and bound.
 */
import { describe, expect, it } from "@effect/vitest"
import { NegativeStore } from "../src/cache/internal/NegativeStore.js"

describe("NegativeStore", () => {
  it("remembers a not-found until its TTL, then forgets it", () => {
    const store = new NegativeStore(10, 30_000)
    store.remember("v:secret:a:latest", "v:secret:a:", "gone", 1_000)
    expect(store.get("v:secret:a:latest", 30_999)).toBe("gone")
    expect(store.get("v:secret:a:latest", 31_000)).toBeUndefined()
    expect(store.size).toBe(0)
  })

  it("is bounded on its own: the oldest remembered goes first", () => {
    const store = new NegativeStore(3, 30_000)
    for (let i = 0; i < 10; i++) store.remember(`k${i}`, `g${i}`, i, 0)
    expect(store.size).toBe(3)
    expect([0, 1, 6].map((i) => store.get(`k${i}`, 0))).toEqual([undefined, undefined, undefined])
    expect([7, 8, 9].map((i) => store.get(`k${i}`, 0))).toEqual([7, 8, 9])
    // Remembering a key again makes it the newest.
    store.remember("k7", "g7", "again", 0)
    store.remember("k10", "g10", 10, 0)
    expect(store.get("k8", 0)).toBeUndefined()
    expect(store.get("k7", 0)).toBe("again")
  })

  it("forgets every version of a name at once", () => {
    const store = new NegativeStore(10, 30_000)
    store.remember("v:secret:a:latest", "v:secret:a:", "x", 0)
    store.remember("v:secret:a:v1", "v:secret:a:", "x", 0)
    store.remember("v:secret:b:latest", "v:secret:b:", "y", 0)
    store.removeGroup("v:secret:a:")
    expect(store.get("v:secret:a:latest", 0)).toBeUndefined()
    expect(store.get("v:secret:a:v1", 0)).toBeUndefined()
    expect(store.get("v:secret:b:latest", 0)).toBe("y")
    expect(store.size).toBe(1)
  })

  it("remembers nothing when negative caching is off", () => {
    const store = new NegativeStore(10, 0)
    store.remember("k", "g", "x", 0)
    expect(store.get("k", 0)).toBeUndefined()
    expect(store.size).toBe(0)
  })
})
