/**
 * The payload of a secret backup blob: the secret's name and every version with its value and attributes.
 * Validated on restore with a schema and with the limits of a set (`SecretValidation`), because a blob comes from
 * outside.
 *
 * @since 0.1.0
 */
import { Tags, UnixSeconds } from "@effect-azure/key-vault/wire/Common"
import { NAME_PATTERN, VERSION_PATTERN } from "@effect-azure/key-vault/wire/Rules"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as SecretValidation from "../http/SecretValidation.js"
import * as Backup from "./Backup.js"
import type { StoredObject } from "./ObjectStore.js"
import type { SecretVersion } from "./SecretVersion.js"
import { BadParameter } from "./VaultError.js"

const VersionPayload = Schema.Struct({
  version: Schema.String.pipe(Schema.pattern(VERSION_PATTERN)),
  value: Schema.Redacted(Schema.String),
  contentType: Schema.optional(Schema.String),
  tags: Schema.optional(Tags),
  enabled: Schema.Boolean,
  nbf: Schema.optional(UnixSeconds),
  exp: Schema.optional(UnixSeconds),
  created: UnixSeconds,
  updated: UnixSeconds,
  managed: Schema.optional(Schema.Boolean)
})

const Payload = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(NAME_PATTERN)),
  versions: Schema.Array(VersionPayload).pipe(Schema.minItems(1))
})

/**
 * Serialises a secret with all its versions into a blob.
 *
 * @since 0.1.0
 * @category utils
 */
export const encode = (object: StoredObject<SecretVersion>): Uint8Array =>
  Backup.encode(
    "secret",
    Schema.encodeSync(Payload)({
      name: object.name,
      versions: object.versions.map((v) => ({
        version: v.version,
        value: v.value,
        contentType: v.contentType,
        tags: v.tags,
        enabled: v.enabled,
        nbf: v.notBefore,
        exp: v.expires,
        created: v.created,
        updated: v.updated,
        managed: v.managed
      }))
    })
  )

/**
 * Reads a blob back into a secret. The error never describes the content: the blob holds secret values, and a schema
 * error message would print them.
 *
 * @since 0.1.0
 * @category parsing
 */
export const decode = (blob: Uint8Array): Either.Either<StoredObject<SecretVersion>, BadParameter> =>
  Either.flatMap(Backup.decode("secret", blob), (payload) => {
    const decoded = Schema.decodeUnknownEither(Payload)(payload)
    if (Either.isLeft(decoded)) {
      return Either.left(new BadParameter({ message: "The secret backup blob is malformed." }))
    }
    const { name, versions } = decoded.right
    if (new Set(versions.map((v) => v.version)).size !== versions.length) {
      return Either.left(new BadParameter({ message: "The secret backup blob is malformed." }))
    }
    // A crafted blob must not store what a set would refuse: the same checks, answered the same way (a problem
    // description gives sizes and limits, never a value).
    for (const v of versions) {
      const problem = SecretValidation.validateSet({
        value: v.value,
        contentType: v.contentType,
        tags: v.tags,
        attributes: { nbf: v.nbf, exp: v.exp }
      })
      if (problem !== undefined) {
        return Either.left(new BadParameter({ message: `The secret backup blob is invalid: ${problem}.` }))
      }
    }
    return Either.right({
      name,
      versions: versions.map((v): SecretVersion => ({
        version: v.version,
        value: v.value,
        contentType: v.contentType,
        tags: v.tags,
        enabled: v.enabled,
        notBefore: v.nbf,
        expires: v.exp,
        created: v.created,
        updated: v.updated,
        managed: v.managed ?? false
      }))
    })
  })
