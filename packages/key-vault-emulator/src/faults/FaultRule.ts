/**
 * Fault rules: which requests misbehave and how. One shape serves the in-process API and the CLI's JSON
 * (`--fault`, `--faults-file`), validated by one schema, so a rule that works in a test works on the command line.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { isOperationName, OPERATIONS } from "../journal/Operation.js"
import type { OperationName } from "../journal/Operation.js"

/**
 * A retry hint on an injected error, in each form clients meet: `Retry-After` in seconds, `Retry-After` as an HTTP
 * date (the emulator's clock plus `seconds`), `retry-after-ms`, `x-ms-retry-after-ms`.
 *
 * @since 0.1.0
 * @category models
 */
export type RetryAfter =
  | { readonly _tag: "Seconds"; readonly seconds: number }
  | { readonly _tag: "HttpDate"; readonly seconds: number }
  | { readonly _tag: "RetryAfterMs"; readonly millis: number }
  | { readonly _tag: "XMsRetryAfterMs"; readonly millis: number }

/**
 * What a firing rule does.
 *
 * - `Status`: answer `status` (400..599) with a Key Vault error body (`code` / `message` default per status; 429 gets
 *   the service's `Throttled` body) and the given retry hints.
 * - `Latency`: wait `millis` (Effect `Clock`, so a `TestClock` drives it in process), then serve normally.
 * - `Reset`: drop the connection without an answer.
 * - `Stall`: never answer (until the client gives up or the server closes).
 * - `Truncate`: send the real response but only its first `bytes` body bytes (default half, always fewer than all),
 *   then drop the connection. It always reaches the engine: there is nothing to truncate otherwise.
 * - `MalformedJson`: answer 200 with a JSON content type and a body that is not JSON.
 *
 * @since 0.1.0
 * @category models
 */
export type FaultAction =
  | {
    readonly _tag: "Status"
    readonly status: number
    readonly code?: string | undefined
    readonly message?: string | undefined
    readonly retryAfter?: RetryAfter | ReadonlyArray<RetryAfter> | undefined
  }
  | { readonly _tag: "Latency"; readonly millis: number }
  | { readonly _tag: "Reset" }
  | { readonly _tag: "Stall" }
  | { readonly _tag: "Truncate"; readonly bytes?: number | undefined }
  | { readonly _tag: "MalformedJson" }

/**
 * When a rule acts: `before` the app (the engine never sees the request: nothing is written) or `after` it (the
 * write was applied, then the client is told otherwise, the real-world case that makes blind retries unsafe).
 *
 * @since 0.1.0
 * @category models
 */
export type FaultPhase = "before" | "after"

/**
 * A fault rule. Matching requests are authenticated ones (the 401 challenge is never faulted) whose operation and
 * object name match. Without `probability` and `times` it fires on every match; with `times` on the next `times`
 * matches; with `probability` on each match with that chance (seeded, so runs repeat), at most `times` times if both.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultRule {
  /** Operation name(s) as in the journal (`getSecret`, `createKey`, `sign`, ...); default: every operation. */
  readonly operation?: OperationName | ReadonlyArray<OperationName> | undefined
  /**
   * Object name: a glob (`*`, `?`; case-insensitive, as vault names are), a RegExp, or a string `/source/flags`
   * read as a RegExp (object names cannot contain `/`). Requests without a name (lists, rng) never match a pattern.
   */
  readonly name?: string | RegExp | undefined
  /** Chance, 0..1, that a matching request fires the rule. */
  readonly probability?: number | undefined
  /** Fire at most this many times (>= 1). */
  readonly times?: number | undefined
  /** Default `before`. `Truncate` always acts after the app. */
  readonly phase?: FaultPhase | undefined
  readonly fault: FaultAction
}

/**
 * A rule that does not validate (a status out of range, an unknown operation, a bad pattern, a malformed JSON file).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidFaultRule extends Data.TaggedError("InvalidFaultRule")<{ readonly message: string }> {}

// --- schema ---------------------------------------------------------------------------------------------------------

const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())

// Bounded so a typo cannot stall a test run for days (a stall fault is the way to never answer).
const MAX_DELAY_MILLIS = 24 * 60 * 60 * 1000

const RetryAfterSchema = Schema.Union(
  Schema.Struct({ _tag: Schema.Literal("Seconds"), seconds: NonNegativeInt }),
  Schema.Struct({ _tag: Schema.Literal("HttpDate"), seconds: NonNegativeInt }),
  Schema.Struct({ _tag: Schema.Literal("RetryAfterMs"), millis: NonNegativeInt }),
  Schema.Struct({ _tag: Schema.Literal("XMsRetryAfterMs"), millis: NonNegativeInt })
)

const FaultActionSchema = Schema.Union(
  Schema.Struct({
    _tag: Schema.Literal("Status"),
    status: Schema.Int.pipe(Schema.between(400, 599)),
    code: Schema.optional(Schema.NonEmptyString),
    message: Schema.optional(Schema.String),
    retryAfter: Schema.optional(Schema.Union(RetryAfterSchema, Schema.Array(RetryAfterSchema)))
  }),
  Schema.Struct({ _tag: Schema.Literal("Latency"), millis: NonNegativeInt.pipe(Schema.lessThanOrEqualTo(MAX_DELAY_MILLIS)) }),
  Schema.Struct({ _tag: Schema.Literal("Reset") }),
  Schema.Struct({ _tag: Schema.Literal("Stall") }),
  Schema.Struct({ _tag: Schema.Literal("Truncate"), bytes: Schema.optional(NonNegativeInt) }),
  Schema.Struct({ _tag: Schema.Literal("MalformedJson") })
)

const OperationSchema = Schema.String.pipe(
  Schema.filter((name): name is OperationName => isOperationName(name), {
    message: (issue) => `unknown operation ${JSON.stringify(issue.actual)}; one of ${OPERATIONS.join(", ")}`
  })
)

const REGEXP_LITERAL = /^\/(.+)\/([a-z]*)$/s

const PatternString = Schema.String.pipe(
  Schema.filter((pattern) => {
    const literal = REGEXP_LITERAL.exec(pattern)
    if (literal === null) return pattern.length > 0 || "a name pattern must not be empty"
    try {
      new RegExp(literal[1]!, literal[2])
      return true
    } catch {
      return `invalid regular expression ${pattern}`
    }
  })
)

const FaultRuleStruct = Schema.Struct({
  operation: Schema.optional(Schema.Union(OperationSchema, Schema.Array(OperationSchema))),
  name: Schema.optional(Schema.Union(PatternString, Schema.instanceOf(RegExp))),
  probability: Schema.optional(Schema.Number.pipe(Schema.between(0, 1))),
  times: Schema.optional(Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))),
  phase: Schema.optional(Schema.Literal("before", "after")),
  fault: FaultActionSchema
})

/**
 * A rule as JSON carries it (operation names as plain strings).
 *
 * @since 0.1.0
 * @category models
 */
export type FaultRuleEncoded = Schema.Schema.Encoded<typeof FaultRuleStruct>

/**
 * The schema of a rule. In JSON, `name` is a string (a glob or `/source/flags`); in process it may be a RegExp.
 * Unknown fields are refused, so a misspelt option is an error rather than a rule that silently matches everything.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FaultRuleSchema: Schema.Schema<FaultRule, FaultRuleEncoded> = FaultRuleStruct

const parseOptions = { onExcessProperty: "error", errors: "first" } as const

const describe = (error: ParseResult.ParseError): string => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  if (issue === undefined) return "invalid fault rule"
  const path = issue.path.map(String).join(".")
  return path === "" ? issue.message : `${path}: ${issue.message}`
}

/**
 * Checks a rule built in code (TypeScript cannot check ranges or patterns).
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (rule: FaultRule): Either.Either<FaultRule, InvalidFaultRule> =>
  Schema.validateEither(FaultRuleSchema, parseOptions)(rule).pipe(
    Either.mapLeft((error) => new InvalidFaultRule({ message: `invalid fault rule: ${describe(error)}` }))
  )

const decodeOne = Schema.decodeUnknownEither(Schema.parseJson(FaultRuleSchema), parseOptions)
const decodeMany = Schema.decodeUnknownEither(Schema.parseJson(Schema.Array(FaultRuleSchema)), parseOptions)

/**
 * Reads one rule from JSON text (`--fault`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const fromJson = (text: string): Either.Either<FaultRule, InvalidFaultRule> =>
  decodeOne(text).pipe(
    Either.mapLeft((error) => new InvalidFaultRule({ message: `invalid fault rule: ${describe(error)}` }))
  )

/**
 * Reads a JSON array of rules (`--faults-file`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const arrayFromJson = (text: string): Either.Either<ReadonlyArray<FaultRule>, InvalidFaultRule> =>
  decodeMany(text).pipe(
    Either.mapLeft((error) => new InvalidFaultRule({ message: `invalid fault rules: ${describe(error)}` }))
  )

// --- matching -------------------------------------------------------------------------------------------------------

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * Compiles a name pattern: a RegExp as is (its lastIndex reset before each use by the caller), `/source/flags` as a
 * RegExp, anything else as a case-insensitive, anchored glob.
 *
 * @since 0.1.0
 * @category utils
 */
export const compileNamePattern = (pattern: string | RegExp): RegExp => {
  if (pattern instanceof RegExp) return pattern
  const literal = REGEXP_LITERAL.exec(pattern)
  if (literal !== null) return new RegExp(literal[1]!, literal[2])
  const source = pattern.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : escapeRegExp(c))).join("")
  return new RegExp(`^${source}$`, "i")
}
