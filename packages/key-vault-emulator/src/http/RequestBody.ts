/**
 * Decoding request bodies with the shared wire schemas. Errors name the offending path and never quote the input:
 * a `ParseError` message prints the actual value, and request bodies carry secret values.
 *
 * @since 0.1.0
 */
import { exceedsJsonDepth, MAX_JSON_DEPTH } from "@effect-azure/key-vault/wire/Common"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { MAX_REQUEST_BODY_BYTES } from "./Protocol.js"

const describePath = (path: ReadonlyArray<PropertyKey>): string => path.map((p) => String(p)).join(".")

/**
 * Parses and decodes a JSON body; the error is a `BadParameter` message that is safe to return and to log.
 *
 * @since 0.1.0
 * @category parsing
 */
export const decode = <A, I>(schema: Schema.Schema<A, I>, body: Uint8Array): Either.Either<A, string> => {
  if (body.length === 0) return Either.left("The request body is missing.")
  if (body.length > MAX_REQUEST_BODY_BYTES) {
    return Either.left(`The request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes.`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body))
  } catch {
    return Either.left("The request body is not valid JSON.")
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return Either.left("The request body must be a JSON object.")
  }
  // Before the schema sees it: decoding and formatting a parse error recurse once per level, and a body of a few
  // kilobytes of `[` would overflow the stack (a 500 instead of a 400).
  if (exceedsJsonDepth(parsed)) {
    return Either.left(`The request body nests deeper than ${MAX_JSON_DEPTH} levels.`)
  }
  return Either.mapLeft(Schema.decodeUnknownEither(schema)(parsed), (error) => {
    const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
    if (issue === undefined) return "The request body is invalid."
    const path = describePath(issue.path)
    if (issue._tag === "Missing") return `The request body is missing the required property '${path}'.`
    return path === "" ? "The request body is invalid." : `The request body has an invalid value at '${path}'.`
  })
}
