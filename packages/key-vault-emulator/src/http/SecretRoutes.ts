/**
 * The secret operations of the REST app: decode the body with the shared schemas, validate with the shared rules, call
 * the engine, encode the answer with the shared schemas.
 *
 * The secret behind a certificate answers a get with its `kid` (the certificate's key) and honours `outContentType`
 * (2025-07-01): `application/x-pem-file` turns a PKCS#12 certificate secret into PEM on the way out (and
 * `application/x-pkcs12` a PEM one into PKCS#12); other secrets are answered as stored.
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
import { format } from "@effect-azure/key-vault/wire/Identifier"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { isSecretContentType, type SecretContentType } from "../engine/certificates/Policy.js"
import * as SecretContent from "../engine/certificates/SecretContent.js"
import type { Secret } from "../engine/SecretVersion.js"
import type { VaultError } from "../engine/VaultError.js"
import * as CertificateValidation from "./CertificateValidation.js"
import * as Paging from "./Paging.js"
import type { EmulatorResponse } from "./Protocol.js"
import * as Responses from "./Responses.js"
import { ok, okEncoded, respond, type RouteRequest, versionOrderKey, withBody, withPage } from "./RouteSupport.js"
import type { SecretRoute } from "./Router.js"
import * as SecretValidation from "./SecretValidation.js"
import * as SecretViews from "./SecretViews.js"

/**
 * What a secret operation needs besides its route.
 *
 * @since 0.1.0
 * @category models
 */
export type SecretRequest = RouteRequest

const versionKey = ({ secret }: Secret): string => versionOrderKey(secret.created, secret.version)

/** A certificate's secret in the content type asked for, when it is one it can be converted to. */
const withContentType = (
  secret: Secret,
  wanted: SecretContentType | undefined
): Effect.Effect<Secret, VaultError> => {
  const stored = secret.secret.contentType
  if (wanted === undefined || !secret.secret.managed || stored === undefined || !isSecretContentType(stored)) {
    return Effect.succeed(secret)
  }
  return Effect.map(
    SecretContent.convert(Redacted.value(secret.secret.value), stored, wanted),
    (value) => ({ ...secret, secret: { ...secret.secret, value: Redacted.make(value), contentType: wanted } })
  )
}

/**
 * Runs one secret route.
 *
 * @since 0.1.0
 * @category routes
 */
export const handle = (
  route: SecretRoute,
  secretRequest: SecretRequest
): Effect.Effect<EmulatorResponse> => {
  const { apiVersion, engine, request } = secretRequest
  const context: SecretViews.ViewContext = { origin: request.url.origin, engine }
  // The secret behind a certificate names its key, as the service answers it.
  const kid = (secret: Secret) =>
    secret.secret.managed ? { kid: format(context.origin, "keys", secret.name, secret.secret.version) } : {}
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
          (secret) =>
            okEncoded(
              SecretViews.encodedBundle(context, secret, true),
              SecretBundle,
              () => SecretViews.bundle(context, secret, true)
            )
        ))
    case "GetSecret":
      return Either.match(CertificateValidation.outContentType(request.url), {
        onLeft: (message) => Effect.succeed(Responses.badParameter(message)),
        onRight: (wanted) =>
          respond(
            Effect.flatMap(secrets.get(route.name, route.version), (secret) => withContentType(secret, wanted)),
            (secret) => {
              const encoded = SecretViews.encodedBundle(context, secret, true)
              return okEncoded(
                encoded === undefined ? undefined : { ...encoded, ...kid(secret) },
                SecretBundle,
                () => ({ ...SecretViews.bundle(context, secret, true), ...kid(secret) })
              )
            }
          )
      })
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
