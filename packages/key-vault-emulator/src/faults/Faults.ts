/**
 * The fault-rule registry of one emulator: rules are added, removed and cleared at runtime, and for each request the
 * first rule (in the order added) that matches and fires decides its fault. One fault per request keeps outcomes
 * easy to predict.
 *
 * Probabilities draw from a small seeded PRNG per rule (seeded from the emulator's seed and the rule's position in
 * the order of additions), so the same seed, the same rules and the same requests give the same faults, and one
 * rule's traffic does not shift another rule's sequence.
 *
 * @since 0.1.0
 */
import * as Prng from "@effect-azure/key-vault/replay/Prng"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { Classified } from "../journal/Operation.js"
import type { FaultAction, FaultPhase, FaultRule, InvalidFaultRule } from "./FaultRule.js"
import { compileNamePattern, validate } from "./FaultRule.js"

/**
 * The seed when none is given: fixed, so that runs repeat unless asked otherwise.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_SEED = 0

/**
 * A rule as registered, with what it has done so far.
 *
 * @since 0.1.0
 * @category models
 */
export interface RegisteredRule {
  readonly id: string
  readonly rule: FaultRule
  /** How many requests it has faulted. */
  readonly fired: number
  /** Firings left before it goes quiet; `null` when unlimited. */
  readonly remaining: number | null
}

/**
 * The fault chosen for a request.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultDecision {
  readonly ruleId: string
  readonly phase: FaultPhase
  readonly action: FaultAction
}

/**
 * The registry.
 *
 * @since 0.1.0
 * @category models
 */
export interface Faults {
  readonly seed: number
  /** Registers a rule and returns its id. */
  readonly add: (rule: FaultRule) => Effect.Effect<string, InvalidFaultRule>
  /** Unregisters a rule; false when there was no such id. */
  readonly remove: (id: string) => Effect.Effect<boolean>
  /** Unregisters every rule (ids keep counting up, so a re-added rule gets a fresh id and seed). */
  readonly clear: Effect.Effect<void>
  readonly rules: Effect.Effect<ReadonlyArray<RegisteredRule>>
  /** Picks the fault, if any, for an authenticated request among the rules acting in `phase`; counts the firing. */
  readonly decide: (request: Classified, phase: FaultPhase) => Effect.Effect<Option.Option<FaultDecision>>
  /**
   * `decide` without the Effect, for the request pipeline's hot path: `undefined` when no rule fires. Must be called
   * from inside an Effect (it counts the firing).
   */
  readonly unsafeDecide: (request: Classified, phase: FaultPhase) => FaultDecision | undefined
}

interface Entry {
  readonly id: string
  readonly rule: FaultRule
  readonly phase: FaultPhase
  readonly operations: ReadonlySet<string> | undefined
  readonly pattern: RegExp | undefined
  readonly random: () => number
  fired: number
}

/**
 * The project's seeded generator (mulberry32, shared with the client's replay), started from exactly `seed`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const prng = (seed: number): () => number => Prng.mulberry32(seed)

// Spreads (seed, serial) so neighbouring serials start far apart in the generator's sequence.
const ruleSeed = (seed: number, serial: number): number => {
  let h = (seed ^ Math.imul(serial, 0x9e3779b9)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

const phaseOf = (rule: FaultRule): FaultPhase => rule.fault._tag === "Truncate" ? "after" : rule.phase ?? "before"

const matchesRequest = (entry: Entry, request: Classified): boolean => {
  if (entry.operations !== undefined && !entry.operations.has(request.operation)) return false
  if (entry.pattern !== undefined) {
    if (request.name === undefined) return false
    entry.pattern.lastIndex = 0
    if (!entry.pattern.test(request.name)) return false
  }
  return true
}

/**
 * A registry holding `initial` rules. `seed` must be an integer in 0..2^32-1; invalid initial rules or seed are a
 * programming error and die (the CLI validates before it gets here).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: { readonly seed?: number | undefined; readonly rules?: ReadonlyArray<FaultRule> | undefined } = {}
): Effect.Effect<Faults> =>
  Effect.suspend(() => {
    const seed = options.seed ?? DEFAULT_SEED
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
      return Effect.dieMessage(`fault seed must be an integer from 0 to 4294967295, got ${seed}`)
    }
    let entries: Array<Entry> = []
    let serial = 0

    const addSync = (rule: FaultRule): Either.Either<string, InvalidFaultRule> =>
      Either.map(validate(rule), (valid) => {
        serial += 1
        const id = `fault-${serial}`
        const operation = valid.operation
        entries.push({
          id,
          rule: valid,
          phase: phaseOf(valid),
          operations: operation === undefined
            ? undefined
            : new Set(typeof operation === "string" ? [operation] : operation),
          pattern: valid.name === undefined ? undefined : compileNamePattern(valid.name),
          random: prng(ruleSeed(seed, serial)),
          fired: 0
        })
        return id
      })

    for (const rule of options.rules ?? []) {
      const added = addSync(rule)
      if (Either.isLeft(added)) return Effect.die(added.left)
    }

    // Synchronous end to end: concurrent requests cannot interleave between the match, the draw and the count.
    const unsafeDecide = (request: Classified, phase: FaultPhase): FaultDecision | undefined => {
      for (const entry of entries) {
        if (entry.phase !== phase) continue
        if (entry.rule.times !== undefined && entry.fired >= entry.rule.times) continue
        if (!matchesRequest(entry, request)) continue
        const probability = entry.rule.probability
        if (probability !== undefined && !(entry.random() < probability)) continue
        entry.fired += 1
        return { ruleId: entry.id, phase, action: entry.rule.fault }
      }
      return undefined
    }

    const faults: Faults = {
      seed,
      add: (rule) => Effect.suspend(() => addSync(rule)),
      remove: (id) =>
        Effect.sync(() => {
          const before = entries.length
          entries = entries.filter((entry) => entry.id !== id)
          return entries.length !== before
        }),
      clear: Effect.sync(() => {
        entries = []
      }),
      rules: Effect.sync(() =>
        entries.map((entry): RegisteredRule => ({
          id: entry.id,
          rule: entry.rule,
          fired: entry.fired,
          remaining: entry.rule.times === undefined ? null : Math.max(0, entry.rule.times - entry.fired)
        }))
      ),
      decide: (request, phase) => Effect.sync(() => Option.fromNullable(unsafeDecide(request, phase))),
      unsafeDecide
    }
    return Effect.succeed(faults)
  })
