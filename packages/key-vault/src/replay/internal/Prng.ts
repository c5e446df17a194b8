/**
 * A small seeded pseudo-random generator (mulberry32) for workloads that must be reproducible from a seed alone.
 * Not for anything secret.
 *
 * @internal
 */

/** A generator of floats in [0, 1). */
export type Prng = () => number

/** mulberry32: 32 bits of state, fast, and good enough to draw workloads from. */
export const make = (seed: number): Prng => {
  let state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A seeded Fisher-Yates permutation of `0 .. n-1`. */
export const permutation = (n: number, random: Prng): Array<number> => {
  const order = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const swap = order[i]!
    order[i] = order[j]!
    order[j] = swap
  }
  return order
}
