/**
 * The key operations of the REST app (and `POST /rng`): decode the body with the shared schemas, call the engine,
 * encode the answer with the shared schemas. Engine failures become responses in `Responses.fromVaultError`.
 *
 * @since 0.1.0
 */
import {
  BackupKeyResult,
  DeletedKeyBundle,
  DeletedKeyListResult,
  GetRandomBytesRequest,
  KeyBundle,
  KeyCreateParameters,
  KeyImportParameters,
  KeyListResult,
  KeyOperationResult,
  KeyOperationsParameters,
  KeyRestoreParameters,
  KeyRotationPolicy,
  KeySignParameters,
  KeyUpdateParameters,
  KeyVerifyParameters,
  KeyVerifyResult,
  RandomBytes
} from "@effect-azure/key-vault/wire/KeyWire"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as KeyMaterial from "../engine/crypto/KeyMaterial.js"
import type { KeyOperationError, KeyOperationOutcome } from "../engine/KeyEngine.js"
import type { Key } from "../engine/KeyVersion.js"
import * as KeyValidation from "./KeyValidation.js"
import * as KeyViews from "./KeyViews.js"
import * as Paging from "./Paging.js"
import type { EmulatorResponse } from "./Protocol.js"
import * as Responses from "./Responses.js"
import { ok, respond, type RouteRequest, versionOrderKey, withBody, withPage } from "./RouteSupport.js"
import type { KeyCryptoOperation, KeyRoute } from "./Router.js"

/**
 * What a key operation needs besides its route.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyRequest = RouteRequest

const noCheck = (): undefined => undefined

const versionKey = ({ key }: Key): string => versionOrderKey(key.created, key.version)

const invalidJwk = (reason: string): EmulatorResponse =>
  Responses.badParameter(`The property "key" must be a valid JsonWebKey object: ${reason}.`)

const cryptoResult = (
  context: KeyViews.ViewContext,
  effect: Effect.Effect<KeyOperationOutcome<Uint8Array>, KeyOperationError>
): Effect.Effect<EmulatorResponse> =>
  respond(effect, (outcome) => ok(KeyOperationResult, { kid: KeyViews.kid(context, outcome.key), value: outcome.value }))

const keyOperation = (
  context: KeyViews.ViewContext,
  { engine, request }: KeyRequest,
  name: string,
  version: string | undefined,
  operation: KeyCryptoOperation
): Effect.Effect<EmulatorResponse> => {
  const keys = engine.keys
  switch (operation) {
    case "encrypt":
    case "decrypt":
    case "wrapKey":
    case "unwrapKey":
      // iv, aad and tag belong to the AES algorithms of Managed HSM; RSA ignores them.
      return withBody(KeyOperationsParameters, request.body, noCheck, (input) =>
        cryptoResult(context, keys[operation](name, version, input.alg, input.value)))
    case "sign":
      return withBody(KeySignParameters, request.body, noCheck, (input) =>
        cryptoResult(context, keys.sign(name, version, input.alg, input.value)))
    case "verify":
      return withBody(KeyVerifyParameters, request.body, noCheck, (input) =>
        respond(
          keys.verify(name, version, input.alg, input.digest, input.value),
          (outcome) => ok(KeyVerifyResult, { value: outcome.value })
        ))
  }
}

/**
 * Runs one key route.
 *
 * @since 0.1.0
 * @category routes
 */
export const handle = (route: KeyRoute, keyRequest: KeyRequest): Effect.Effect<EmulatorResponse> => {
  const { apiVersion, engine, request } = keyRequest
  const context: KeyViews.ViewContext = { origin: request.url.origin, engine }
  const keys = engine.keys
  const keyBundle = (key: Key) => ok(KeyBundle, KeyViews.bundle(context, key))
  switch (route._tag) {
    case "CreateKey":
      return withBody(KeyCreateParameters, request.body, KeyValidation.validateMetadata, (input) =>
        respond(
          keys.create(route.name, {
            kty: input.kty,
            keySize: input.key_size,
            publicExponent: input.public_exponent,
            curve: input.crv,
            keyOps: input.key_ops,
            tags: input.tags,
            enabled: input.attributes?.enabled,
            notBefore: input.attributes?.nbf,
            expires: input.attributes?.exp,
            exportable: input.attributes?.exportable,
            releasePolicy: KeyValidation.releasePolicy(input.release_policy)
          }),
          keyBundle
        ))
    case "ImportKey":
      return withBody(KeyImportParameters, request.body, KeyValidation.validateMetadata, (input) =>
        Either.match(KeyMaterial.fromJwk(input.key), {
          onLeft: (reason) => Effect.succeed(invalidJwk(reason)),
          onRight: (material) =>
            respond(
              keys.import(route.name, {
                material,
                hsm: input.Hsm === true || input.key.kty?.endsWith("-HSM") === true,
                keyOps: input.key.key_ops,
                tags: input.tags,
                enabled: input.attributes?.enabled,
                notBefore: input.attributes?.nbf,
                expires: input.attributes?.exp,
                exportable: input.attributes?.exportable,
                releasePolicy: KeyValidation.releasePolicy(input.release_policy)
              }),
              keyBundle
            )
        }))
    case "GetKey":
      return respond(keys.get(route.name, route.version), keyBundle)
    case "UpdateKey":
      return withBody(KeyUpdateParameters, request.body, KeyValidation.validateMetadata, (input) =>
        respond(
          keys.update(route.name, route.version, {
            keyOps: input.key_ops,
            tags: input.tags,
            enabled: input.attributes?.enabled,
            notBefore: input.attributes?.nbf,
            expires: input.attributes?.exp,
            releasePolicy: KeyValidation.releasePolicy(input.release_policy)
          }),
          keyBundle
        ))
    case "DeleteKey":
      return respond(keys.delete(route.name), (deleted) => ok(DeletedKeyBundle, KeyViews.deletedBundle(context, deleted)))
    case "GetDeletedKey":
      return respond(
        keys.getDeleted(route.name),
        (deleted) => ok(DeletedKeyBundle, KeyViews.deletedBundle(context, deleted))
      )
    case "RecoverDeletedKey":
      return respond(keys.recover(route.name), keyBundle)
    case "PurgeDeletedKey":
      return respond(keys.purge(route.name), () => Effect.succeed(Responses.empty(204)))
    case "BackupKey":
      return respond(keys.backup(route.name), (blob) => ok(BackupKeyResult, { value: blob }))
    case "RestoreKey":
      return withBody(KeyRestoreParameters, request.body, noCheck, (input) => respond(keys.restore(input.value), keyBundle))
    case "RotateKey":
      return respond(keys.rotate(route.name), keyBundle)
    case "GetKeyRotationPolicy":
      return respond(
        keys.getRotationPolicy(route.name),
        ({ name, policy }) => ok(KeyRotationPolicy, KeyViews.rotationPolicy(context, name, policy))
      )
    case "UpdateKeyRotationPolicy":
      return withBody(KeyRotationPolicy, request.body, noCheck, (input) =>
        respond(
          keys.setRotationPolicy(route.name, {
            lifetimeActions: input.lifetimeActions,
            expiryTime: input.attributes?.expiryTime
          }),
          ({ name, policy }) => ok(KeyRotationPolicy, KeyViews.rotationPolicy(context, name, policy))
        ))
    case "KeyOperation":
      return keyOperation(context, keyRequest, route.name, route.version, route.operation)
    case "ReleaseKey":
      // Secure key release needs an attestation service and a Managed HSM or Premium vault; the emulator keeps the
      // release policy but answers release itself with a clear refusal.
      return respond(keys.get(route.name, route.version), () =>
        Effect.succeed(
          Responses.badParameter("Key release is not supported by the emulator: it needs an attestation service.")
        ))
    case "GetKeyAttestation":
      return respond(keys.get(route.name, route.version), () =>
        Effect.succeed(Responses.badParameter("Key attestation is only available for keys in a Managed HSM.")))
    case "ListKeys":
      return withPage(request.url, (pageRequest) =>
        Effect.flatMap(keys.list, (all) => {
          const page = Paging.paginate(all, (k) => k.name.toLowerCase(), pageRequest, request.url, apiVersion)
          return ok(KeyListResult, {
            value: page.items.map((k) => KeyViews.item(context, k, false)),
            nextLink: page.nextLink
          })
        }))
    case "ListKeyVersions":
      return withPage(request.url, (pageRequest) =>
        Effect.flatMap(keys.listVersions(route.name), (all) => {
          const page = Paging.paginate(all, versionKey, pageRequest, request.url, apiVersion)
          return ok(KeyListResult, {
            value: page.items.map((k) => KeyViews.item(context, k, true)),
            nextLink: page.nextLink
          })
        }))
    case "ListDeletedKeys":
      return withPage(request.url, (pageRequest) =>
        Effect.flatMap(keys.listDeleted, (all) => {
          const page = Paging.paginate(all, (d) => d.name.toLowerCase(), pageRequest, request.url, apiVersion)
          return ok(DeletedKeyListResult, {
            value: page.items.map((d) => KeyViews.deletedItem(context, d)),
            nextLink: page.nextLink
          })
        }))
    case "GetRandomBytes":
      return withBody(GetRandomBytesRequest, request.body, noCheck, (input) =>
        respond(keys.randomBytes(input.count), (bytes) => ok(RandomBytes, { value: bytes })))
  }
}
