/**
 * The secret operations of the REST app: decode the body with the shared schemas, validate with the shared rules, call
 * the engine, encode the answer with the shared schemas.
 *
 * @since 0.1.0
 */
import {
  BackupSecretResult,
  DeletedSecretBundle,
  DeletedSecretListResult,
  SecretBundle,
  SecretListResult,
  SecretRestoreParameters,
  SecretSetParameters,
  SecretUpdateParameters
} from "@effect-azure/key-vault/wire/SecretWire"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { Secret } from "../engine/SecretVersion.js"
import type { VaultEngine } from "../engine/VaultEngine.js"
import type { VaultError } from "../engine/VaultError.js"
import * as Paging from "./Paging.js"
import type { EmulatorRequest, EmulatorResponse } from "./Protocol.js"
import * as RequestBody from "./RequestBody.js"
import * as Responses from "./Responses.js"
import type { SecretRoute } from "./Router.js"
import * as SecretValidation from "./SecretValidation.js"
import * as SecretViews from "./SecretViews.js"

/**
 * What a secret operation needs besides its route.
 *
 * @since 0.1.0
 */
export interface SecretRequest {
  readonly engine: VaultEngine
  readonly request: EmulatorRequest
  readonly apiVersion: string
}

/** Encoding our own values cannot fail; if it does, it is a bug and becomes a 500 upstream. */
const ok = <A, I>(schema: Schema.Schema<A, I>, value: A): Effect.Effect<EmulatorResponse> =>
  Effect.map(Effect.orDie(Schema.encode(schema)(value)), (body) => Responses.json(200, body))

const respond = <A>(
  effect: Effect.Effect<A, VaultError>,
  onSuccess: (a: A) => Effect.Effect<EmulatorResponse>
): Effect.Effect<EmulatorResponse> =>
  Effect.matchEffect(effect, {
    onFailure: (error) => Effect.succeed(Responses.fromVaultError(error)),
    onSuccess
  })

const withBody = <A, I>(
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

const withPage = (
  url: URL,
  f: (page: Paging.PageRequest) => Effect.Effect<EmulatorResponse>
): Effect.Effect<EmulatorResponse> =>
  Either.match(Paging.parse(url), { onLeft: (message) => Effect.succeed(Responses.badParameter(message)), onRight: f })

/** Version lists are ordered by creation time then id; the skip token compares this key as a string. */
const versionKey = ({ secret }: Secret): string =>
  `${String(Math.max(0, secret.created.getTime())).padStart(16, "0")}:${secret.version}`

/**
 * Runs one secret route.
 *
 * @since 0.1.0
 */
export const handle = (route: SecretRoute, { apiVersion, engine, request }: SecretRequest): Effect.Effect<EmulatorResponse> => {
  const context: SecretViews.ViewContext = { origin: request.url.origin, engine }
  const secrets = engine.secrets
  switch (route._tag) {
    case "SetSecret":
      return withBody(SecretSetParameters, request.body, SecretValidation.validateSet, (input) =>
        respond(
          secrets.set(route.name, {
            value: input.value,
            contentType: input.contentType,
            tags: input.tags,
            enabled: input.attributes?.enabled,
            notBefore: input.attributes?.nbf,
            expires: input.attributes?.exp
          }),
          (secret) => ok(SecretBundle, SecretViews.bundle(context, secret, true))
        ))
    case "GetSecret":
      // `outContentType` only converts certificate secrets (PFX to PEM); it is accepted and ignored for others.
      return respond(
        secrets.get(route.name, route.version),
        (secret) => ok(SecretBundle, SecretViews.bundle(context, secret, true))
      )
    case "UpdateSecret":
      return withBody(SecretUpdateParameters, request.body, SecretValidation.validateUpdate, (input) =>
        respond(
          secrets.update(route.name, route.version, {
            contentType: input.contentType,
            tags: input.tags,
            enabled: input.attributes?.enabled,
            notBefore: input.attributes?.nbf,
            expires: input.attributes?.exp
          }),
          (secret) => ok(SecretBundle, SecretViews.bundle(context, secret, false))
        ))
    case "DeleteSecret":
      return respond(
        secrets.delete(route.name),
        (deleted) => ok(DeletedSecretBundle, SecretViews.deletedBundle(context, deleted))
      )
    case "GetDeletedSecret":
      return respond(
        secrets.getDeleted(route.name),
        (deleted) => ok(DeletedSecretBundle, SecretViews.deletedBundle(context, deleted))
      )
    case "RecoverDeletedSecret":
      return respond(
        secrets.recover(route.name),
        (secret) => ok(SecretBundle, SecretViews.bundle(context, secret, false))
      )
    case "PurgeDeletedSecret":
      return respond(secrets.purge(route.name), () => Effect.succeed(Responses.empty(204)))
    case "BackupSecret":
      return respond(secrets.backup(route.name), (blob) => ok(BackupSecretResult, { value: blob }))
    case "RestoreSecret":
      return withBody(SecretRestoreParameters, request.body, () => undefined, (input) =>
        respond(
          secrets.restore(input.value),
          (secret) => ok(SecretBundle, SecretViews.bundle(context, secret, false))
        ))
    case "ListSecrets":
      return withPage(request.url, (pageRequest) =>
        Effect.flatMap(secrets.list, (all) => {
          const page = Paging.paginate(all, (s) => s.name.toLowerCase(), pageRequest, request.url, apiVersion)
          return ok(SecretListResult, {
            value: page.items.map((s) => SecretViews.item(context, s, false)),
            nextLink: page.nextLink
          })
        }))
    case "ListSecretVersions":
      return withPage(request.url, (pageRequest) =>
        Effect.flatMap(secrets.listVersions(route.name), (all) => {
          const page = Paging.paginate(all, versionKey, pageRequest, request.url, apiVersion)
          return ok(SecretListResult, {
            value: page.items.map((s) => SecretViews.item(context, s, true)),
            nextLink: page.nextLink
          })
        }))
    case "ListDeletedSecrets":
      return withPage(request.url, (pageRequest) =>
        Effect.flatMap(secrets.listDeleted, (all) => {
          const page = Paging.paginate(all, (d) => d.name.toLowerCase(), pageRequest, request.url, apiVersion)
          return ok(DeletedSecretListResult, {
            value: page.items.map((d) => SecretViews.deletedItem(context, d)),
            nextLink: page.nextLink
          })
        }))
  }
}
