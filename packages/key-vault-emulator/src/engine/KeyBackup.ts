/**
 * The payload of a key backup blob: the key's name, every version with its private key material (as a private JWK)
 * and attributes, and the stored rotation policy. Validated on restore, the key material included, with the checks of
 * an import (`KeyValidation` here, key operations and exportability in the engine), because a blob comes from outside.
 * Blobs are not encrypted (see `Backup`): they hold private keys.
 *
 * @since 0.1.0
 */
import { KEY_OPERATIONS } from "@effect-azure/key-vault/crypto/Algorithms"
import { Tags, UnixSeconds } from "@effect-azure/key-vault/wire/Common"
import { JsonWebKey, KeyReleasePolicy } from "@effect-azure/key-vault/wire/KeyWire"
import { NAME_PATTERN, VERSION_PATTERN } from "@effect-azure/key-vault/wire/Rules"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as KeyValidation from "../http/KeyValidation.js"
import * as Backup from "./Backup.js"
import * as KeyMaterial from "./crypto/KeyMaterial.js"
import type { RotationPolicy } from "./KeyRotationPolicy.js"
import * as KeyRotationPolicy from "./KeyRotationPolicy.js"
import type { KeyVersion } from "./KeyVersion.js"
import type { StoredObject } from "./ObjectStore.js"
import { BadParameter } from "./VaultError.js"

const VersionPayload = Schema.Struct({
  version: Schema.String.pipe(Schema.pattern(VERSION_PATTERN)),
  kty: Schema.Literal("RSA", "RSA-HSM", "EC", "EC-HSM"),
  key_ops: Schema.Array(Schema.Literal(...KEY_OPERATIONS)),
  key: JsonWebKey,
  tags: Schema.optional(Tags),
  enabled: Schema.Boolean,
  nbf: Schema.optional(UnixSeconds),
  exp: Schema.optional(UnixSeconds),
  created: UnixSeconds,
  updated: UnixSeconds,
  exportable: Schema.Boolean,
  release_policy: Schema.optional(KeyReleasePolicy),
  managed: Schema.Boolean
})

const PolicyPayload = Schema.Struct({
  lifetimeActions: Schema.Array(Schema.Struct({
    type: Schema.Literal("Rotate", "Notify"),
    timeAfterCreate: Schema.optional(Schema.String),
    timeBeforeExpiry: Schema.optional(Schema.String)
  })),
  expiryTime: Schema.optional(Schema.String),
  created: Schema.optional(UnixSeconds),
  updated: Schema.optional(UnixSeconds)
})

const Payload = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(NAME_PATTERN)),
  versions: Schema.Array(VersionPayload).pipe(Schema.minItems(1)),
  rotationPolicy: Schema.optional(PolicyPayload)
})

/**
 * A key as a backup holds it: the object with its versions, and the rotation policy when one was set.
 *
 * @since 0.1.0
 * @category models
 */
export interface BackedUpKey {
  readonly object: StoredObject<KeyVersion>
  readonly rotationPolicy: RotationPolicy | undefined
}

/**
 * Serialises a key with all its versions and its rotation policy into a blob.
 *
 * @since 0.1.0
 * @category utils
 */
export const encode = ({ object, rotationPolicy }: BackedUpKey): Uint8Array =>
  Backup.encode(
    "key",
    Schema.encodeSync(Payload)({
      name: object.name,
      versions: object.versions.map((v) => ({
        version: v.version,
        kty: v.kty,
        key_ops: v.keyOps,
        key: KeyMaterial.privateJwk(v.material),
        tags: v.tags,
        enabled: v.enabled,
        nbf: v.notBefore,
        exp: v.expires,
        created: v.created,
        updated: v.updated,
        exportable: v.exportable,
        release_policy: v.releasePolicy,
        managed: v.managed
      })),
      rotationPolicy: rotationPolicy === undefined ? undefined : {
        lifetimeActions: rotationPolicy.lifetimeActions.map((a) => ({
          type: a.type,
          timeAfterCreate: a.timeAfterCreate,
          timeBeforeExpiry: a.timeBeforeExpiry
        })),
        expiryTime: rotationPolicy.expiryTime,
        created: rotationPolicy.created,
        updated: rotationPolicy.updated
      }
    })
  )

const malformed = (): BadParameter => new BadParameter({ message: "The key backup blob is malformed." })

/**
 * Reads a blob back into a key. Errors never describe the content: the blob holds private key material.
 *
 * @since 0.1.0
 * @category parsing
 */
export const decode = (blob: Uint8Array): Either.Either<BackedUpKey, BadParameter> =>
  Either.flatMap(Backup.decode("key", blob), (raw) => {
    const decoded = Schema.decodeUnknownEither(Payload)(raw)
    if (Either.isLeft(decoded)) return Either.left(malformed())
    const { name, rotationPolicy, versions } = decoded.right
    if (new Set(versions.map((v) => v.version)).size !== versions.length) return Either.left(malformed())
    const restored: Array<KeyVersion> = []
    for (const v of versions) {
      // The metadata limits of an import (tags, validity window); the engine adds import's own checks on restore.
      const problem = KeyValidation.validateMetadata({ tags: v.tags, attributes: { nbf: v.nbf, exp: v.exp } })
      if (problem !== undefined) {
        return Either.left(new BadParameter({ message: `The key backup blob is invalid: ${problem}.` }))
      }
      const material = KeyMaterial.fromJwk(v.key)
      if (Either.isLeft(material) || KeyMaterial.familyMatches(v.kty, material.right) === false) {
        return Either.left(malformed())
      }
      restored.push({
        version: v.version,
        kty: v.kty,
        keyOps: v.key_ops,
        material: material.right,
        tags: v.tags,
        enabled: v.enabled,
        notBefore: v.nbf,
        expires: v.exp,
        created: v.created,
        updated: v.updated,
        exportable: v.exportable,
        releasePolicy: KeyValidation.releasePolicy(v.release_policy),
        managed: v.managed
      })
    }
    let policy: RotationPolicy | undefined
    if (rotationPolicy !== undefined) {
      const checked = KeyRotationPolicy.validate({
        lifetimeActions: rotationPolicy.lifetimeActions.map((a) => ({
          action: { type: a.type },
          trigger: { timeAfterCreate: a.timeAfterCreate, timeBeforeExpiry: a.timeBeforeExpiry }
        })),
        expiryTime: rotationPolicy.expiryTime
      })
      if (Either.isLeft(checked)) return Either.left(malformed())
      policy = { ...checked.right, created: rotationPolicy.created, updated: rotationPolicy.updated }
    }
    return Either.right({ object: { name, versions: restored }, rotationPolicy: policy })
  })
