/**
 * The project's one seeded pseudo-random generator (mulberry32): the replay draws its workloads from it and the
 * emulator its fault probabilities, so a seed means the same thing everywhere. Not for anything secret.
 *
 * Published as `@effect-azure/key-vault/replay/Prng` for the emulator (and for tests that want reproducible draws).
 *
 * @since 0.1.0
 */

/**
 * A generator of floats in [0, 1).
 *
 * @since 0.1.0
 * @category models
 */
export type Prng = () => number

/**
 * mulberry32 started from exactly `state` (its low 32 bits): 32 bits of state, fast, good enough spread for
 * workloads and fault dice, and trivially reproducible.
 *
 * @since 0.1.0
 * @category constructors
 */
export const mulberry32 = (state: number): Prng => {
  let s = state >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A generator for a user-facing seed (`--seed`, `seed:` options). The seed is mixed with a constant first, so that
 * seed 0 does not start from mulberry32's all-zero state.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (seed: number): Prng => mulberry32(Math.trunc(seed) ^ 0x9e3779b9)

/**
 * A seeded Fisher-Yates permutation of `0 .. n-1`.
 *
 * @since 0.1.0
 * @category combinators
 */
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
