/**
 * Wire primitives shared by every Key Vault object type: Unix-seconds timestamps, base64url bytes, tags,
 * recovery levels. The emulator encodes its responses with these same schemas, so client and emulator
 * cannot drift apart.
 *
 * @since 0.1.0
 */
import * as Encoding from "effect/Encoding"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { MAX_TIMESTAMP_SECONDS } from "./Rules.js"

/**
 * A Key Vault timestamp: an integer count of Unix *seconds* on the wire, a `Date` in code.
 * ISO strings break the official SDKs, so the encoder always floors to whole seconds.
 *
 * @since 0.1.0
 * @category schemas
 */
export const UnixSeconds: Schema.Schema<Date, number> = Schema.transform(
  // Outside 1970..9999 a Date is invalid or the vault could not have produced it; refusing it here keeps an
  // `Invalid Date` out of every model, on the client and in the emulator's stores alike.
  Schema.Number.pipe(Schema.between(0, MAX_TIMESTAMP_SECONDS)),
  Schema.ValidDateFromSelf,
  {
    strict: true,
    decode: (seconds) => new Date(Math.trunc(seconds) * 1000),
    encode: (date) => Math.floor(date.getTime() / 1000)
  }
).annotations({ identifier: "UnixSeconds" })

/**
 * Binary data as base64url without padding on the wire (backup blobs, JWK members, crypto values).
 * Decoding accepts padded input too, because some clients pad.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Base64UrlBytes: Schema.Schema<Uint8Array, string> = Schema.transformOrFail(
  Schema.String,
  Schema.Uint8ArrayFromSelf,
  {
    strict: true,
    decode: (s, _, ast) =>
      /^[A-Za-z0-9_-]*={0,2}$/.test(s)
        ? Either.mapLeft(
          Encoding.decodeBase64Url(s.replace(/=+$/, "")),
          () => new ParseResult.Type(ast, s, "not base64url")
        )
        : ParseResult.fail(new ParseResult.Type(ast, s, "not base64url")),
    encode: (bytes) => ParseResult.succeed(Encoding.encodeBase64Url(bytes))
  }
).annotations({ identifier: "Base64UrlBytes" })

/**
 * Application metadata attached to an object: string keys to string values.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Tags: Schema.Record$<typeof Schema.String, typeof Schema.String> = Schema.Record({
  key: Schema.String,
  value: Schema.String
})

/**
 * The deletion recovery level reported by the vault. Kept open (any string) so a new level never breaks decoding.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DeletionRecoveryLevel: Schema.Schema<string> = Schema.String.annotations({
  identifier: "DeletionRecoveryLevel",
  examples: ["Recoverable+Purgeable", "CustomizedRecoverable+Purgeable", "Purgeable"]
})

/**
 * Fields every object's attributes share (secrets, keys, certificates). `created` / `updated` are read-only.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BaseAttributesFields = {
  enabled: Schema.optional(Schema.Boolean),
  nbf: Schema.optional(UnixSeconds),
  exp: Schema.optional(UnixSeconds),
  created: Schema.optional(UnixSeconds),
  updated: Schema.optional(UnixSeconds),
  recoverableDays: Schema.optional(Schema.Number),
  recoveryLevel: Schema.optional(DeletionRecoveryLevel)
}

/**
 * A paged list envelope: `{ value: [...], nextLink: absolute URL | null }`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ListResult = <A, I, R>(
  item: Schema.Schema<A, I, R>
): Schema.Struct<{
  value: Schema.optionalWith<Schema.Array$<Schema.Schema<A, I, R>>, { default: () => ReadonlyArray<A> }>
  nextLink: Schema.optional<Schema.NullOr<typeof Schema.String>>
}> =>
  Schema.Struct({
    value: Schema.optionalWith(Schema.Array(item), { default: (): ReadonlyArray<A> => [] }),
    nextLink: Schema.optional(Schema.NullOr(Schema.String))
  })

/**
 * The deepest nesting of arrays and objects a Key Vault body may have. Real bodies stay under ten levels (a list page
 * of items with attributes and tags, a certificate policy, an error with a few inner errors); the bound only needs to
 * keep Effect Schema's decoding of recursive schemas and its formatting of parse errors, both recursive, far from the
 * stack limit, which a body of a few kilobytes of `[` reaches.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_JSON_DEPTH = 64

/**
 * Whether a parsed JSON value nests arrays and objects more than `limit` levels deep (a scalar is level 0, `[]` and
 * `{}` level 1). Iterative, so the check itself cannot overflow; it stops at the first container past the limit.
 * Run it on every parsed body before decoding it with a schema.
 *
 * @since 0.1.0
 * @category utils
 */
export const exceedsJsonDepth = (value: unknown, limit: number = MAX_JSON_DEPTH): boolean => {
  if (typeof value !== "object" || value === null) return false
  // Two parallel stacks rather than one of pairs: no tuple allocated per visited container.
  const pending: Array<object> = [value]
  const depths: Array<number> = [1]
  while (pending.length > 0) {
    const current = pending.pop()!
    const depth = depths.pop()!
    if (depth > limit) return true
    // Own members only (`Object.values`, not `for...in`): a polluted prototype must not make every body "deep".
    for (const item of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof item === "object" && item !== null) {
        pending.push(item)
        depths.push(depth + 1)
      }
    }
  }
  return false
}
