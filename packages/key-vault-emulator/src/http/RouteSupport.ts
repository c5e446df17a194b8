/**
 * What every route module needs to turn engine results into responses: encoding, error mapping, body decoding with
 * validation, and paging parameters. One copy for secrets, keys and what comes next.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { VaultEngine } from "../engine/VaultEngine.js"
import type { VaultError } from "../engine/VaultError.js"
import * as Paging from "./Paging.js"
import type { EmulatorRequest, EmulatorResponse } from "./Protocol.js"
import * as RequestBody from "./RequestBody.js"
import * as Responses from "./Responses.js"

/**
 * What an operation needs besides its route.
 *
 * @since 0.1.0
 * @category models
 */
export interface RouteRequest {
  readonly engine: VaultEngine
  readonly request: EmulatorRequest
  readonly apiVersion: string
}

/**
 * A 200 with `value` encoded by `schema`. Encoding our own values cannot fail; if it does, it is a bug and becomes a
 * 500 upstream.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ok = <A, I>(schema: Schema.Schema<A, I>, value: A): Effect.Effect<EmulatorResponse> =>
  Effect.map(Effect.orDie(Schema.encode(schema)(value)), (body) => Responses.json(200, body))

/**
 * A 200 with a body already in wire form (see `SecretViews.encodedBundle`), or `ok(schema, value())` when there is
 * none.
 *
 * @since 0.1.0
 * @category constructors
 */
export const okEncoded = <A, I>(
  encoded: unknown,
  schema: Schema.Schema<A, I>,
  value: () => A
): Effect.Effect<EmulatorResponse> =>
  encoded === undefined ? ok(schema, value()) : Effect.succeed(Responses.json(200, encoded))

/**
 * Answers an engine failure with its Key Vault error, a success with `onSuccess`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const respond = <A>(
  effect: Effect.Effect<A, VaultError>,
  onSuccess: (a: A) => Effect.Effect<EmulatorResponse>
): Effect.Effect<EmulatorResponse> =>
  Effect.matchEffect(effect, {
    onFailure: (error) => Effect.succeed(Responses.fromVaultError(error)),
    onSuccess
  })

/**
 * Decodes and validates a body; a 400 `BadParameter` (naming the problem, never the value) when either fails.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withBody = <A, I>(
  schema: Schema.Schema<A, I>,
  body: Uint8Array,
  validate: (a: A) => string | undefined,
  f: (a: A) => Effect.Effect<EmulatorResponse>
): Effect.Effect<EmulatorResponse> => {
  const decoded = RequestBody.decode(schema, body)
  if (Either.isLeft(decoded)) return Effect.succeed(Responses.badParameter(decoded.left))
  const invalid = validate(decoded.right)
  return invalid === undefined ? f(decoded.right) : Effect.succeed(Responses.badParameter(invalid))
}

/**
 * Reads `maxresults` and the skip token; a 400 when they are malformed.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withPage = (
  url: URL,
  f: (page: Paging.PageRequest) => Effect.Effect<EmulatorResponse>
): Effect.Effect<EmulatorResponse> =>
  Either.match(Paging.parse(url), { onLeft: (message) => Effect.succeed(Responses.badParameter(message)), onRight: f })

/**
 * The order of version lists: creation time, then version id; skip tokens compare this key as a string.
 *
 * @since 0.1.0
 * @category utils
 */
export const versionOrderKey = (created: Date, version: string): string =>
  `${String(Math.max(0, created.getTime())).padStart(16, "0")}:${version}`
