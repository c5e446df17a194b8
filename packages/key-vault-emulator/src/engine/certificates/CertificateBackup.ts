/**
 * The payload of a certificate backup blob: the certificate's name, policy (in wire form) and every issued version
 * with its chain, plus the backup blobs of its managed key and secret (the formats `KeyBackup` and `SecretBackup`
 * already define, with their checks). Pending versions and the pending operation are not backed up.
 *
 * A blob comes from outside, so restore checks everything a create or import would: the policy's rules, the chain,
 * and that every version's key and secret exist, are managed, and that the key is the certificate's. Errors never
 * describe the content (the blob holds private keys).
 *
 * @since 0.1.0
 */
import { Base64UrlBytes, Tags, UnixSeconds } from "@effect-azure/key-vault/wire/Common"
import { CertificatePolicy as WirePolicy } from "@effect-azure/key-vault/wire/CertificateWire"
import { NAME_PATTERN, VERSION_PATTERN } from "@effect-azure/key-vault/wire/Rules"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Backup from "../Backup.js"
import * as KeyBackup from "../KeyBackup.js"
import type { KeyVersion } from "../KeyVersion.js"
import type { StoredObject } from "../ObjectStore.js"
import * as ObjectStore from "../ObjectStore.js"
import * as SecretBackup from "../SecretBackup.js"
import type { SecretVersion } from "../SecretVersion.js"
import { BadParameter } from "../VaultError.js"
import type { CertificateVersion } from "./CertificateVersion.js"
import type { CertificatePolicy } from "./Policy.js"
import * as Policy from "./Policy.js"
import * as X509 from "./X509.js"

const VersionPayload = Schema.Struct({
  version: Schema.String.pipe(Schema.pattern(VERSION_PATTERN)),
  created: UnixSeconds,
  updated: UnixSeconds,
  enabled: Schema.Boolean,
  nbf: Schema.optional(UnixSeconds),
  exp: Schema.optional(UnixSeconds),
  tags: Schema.optional(Tags),
  chain: Schema.Array(Base64UrlBytes).pipe(Schema.minItems(1)),
  contentType: Schema.Literal(Policy.PKCS12, Policy.PEM),
  preserveCertOrder: Schema.optional(Schema.Boolean)
})

const Payload = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(NAME_PATTERN)),
  policy: WirePolicy,
  versions: Schema.Array(VersionPayload).pipe(Schema.minItems(1)),
  key: Base64UrlBytes,
  secret: Base64UrlBytes
})

/**
 * A certificate as a backup holds it: its issued versions, policy, and the managed key and secret.
 *
 * @since 0.1.0
 * @category models
 */
export interface BackedUpCertificate {
  readonly certificate: StoredObject<CertificateVersion>
  readonly policy: CertificatePolicy
  readonly key: StoredObject<KeyVersion>
  readonly secret: StoredObject<SecretVersion>
}

/**
 * Serialises a certificate (issued versions only) with its policy, key and secret.
 *
 * @since 0.1.0
 * @category utils
 */
export const encode = ({ certificate, key, policy, secret }: BackedUpCertificate): Uint8Array =>
  Backup.encode(
    "certificate",
    Schema.encodeSync(Payload)({
      name: certificate.name,
      policy: Policy.toWire(policy),
      versions: certificate.versions.flatMap((v) =>
        v.chain === undefined ? [] : [{
          version: v.version,
          created: v.created,
          updated: v.updated,
          enabled: v.enabled,
          nbf: v.notBefore,
          exp: v.expires,
          tags: v.tags,
          chain: v.chain,
          contentType: v.contentType,
          preserveCertOrder: v.preserveCertOrder
        }]
      ),
      key: KeyBackup.encode({ object: key, rotationPolicy: undefined }),
      secret: SecretBackup.encode(secret)
    })
  )

const malformed = (): BadParameter => new BadParameter({ message: "The certificate backup blob is malformed." })

/**
 * Reads a blob back, with every check described above; `at` stamps a policy that carries no dates.
 *
 * @since 0.1.0
 * @category parsing
 */
export const decode = (blob: Uint8Array, at: Date): Either.Either<BackedUpCertificate, BadParameter> =>
  Either.flatMap(Backup.decode("certificate", blob), (raw) => {
    const decoded = Schema.decodeUnknownEither(Payload)(raw)
    if (Either.isLeft(decoded)) return Either.left(malformed())
    const payload = decoded.right
    const resolved = Policy.resolve(payload.policy, undefined, at)
    if (Either.isLeft(resolved)) {
      return Either.left(new BadParameter({ message: `The certificate backup blob is invalid: ${resolved.left}` }))
    }
    const policy: CertificatePolicy = {
      ...resolved.right,
      created: payload.policy.attributes?.created ?? at,
      updated: payload.policy.attributes?.updated ?? at
    }
    const key = KeyBackup.decode(payload.key)
    const secret = SecretBackup.decode(payload.secret)
    if (Either.isLeft(key) || Either.isLeft(secret)) return Either.left(malformed())
    const keyObject = key.right.object
    const secretObject = secret.right
    const sameName = (other: string) => ObjectStore.nameKey(other) === ObjectStore.nameKey(payload.name)
    if (
      !sameName(keyObject.name) || !sameName(secretObject.name) ||
      !keyObject.versions.every((v) => v.managed) || !secretObject.versions.every((v) => v.managed) ||
      new Set(payload.versions.map((v) => v.version)).size !== payload.versions.length
    ) {
      return Either.left(malformed())
    }
    const versions: Array<CertificateVersion> = []
    for (const v of payload.versions) {
      const keyVersion = ObjectStore.findVersion(keyObject, v.version)
      const secretVersion = ObjectStore.findVersion(secretObject, v.version)
      if (keyVersion === undefined || secretVersion === undefined) return Either.left(malformed())
      const chain: Array<X509.ParsedCertificate> = []
      for (const der of v.chain) {
        const parsed = X509.parseDer(der)
        if (Either.isLeft(parsed)) return Either.left(malformed())
        chain.push(parsed.right)
      }
      const leaf = chain[0]!
      if (!X509.matchesKey(leaf.certificate, keyVersion.material)) return Either.left(malformed())
      versions.push({
        version: v.version,
        created: v.created,
        updated: v.updated,
        enabled: v.enabled,
        notBefore: v.nbf,
        expires: v.exp,
        tags: v.tags,
        chain: chain.map((c) => c.der),
        thumbprint: X509.thumbprint(leaf.der),
        contentType: v.contentType,
        preserveCertOrder: v.preserveCertOrder
      })
    }
    return Either.right({
      certificate: { name: payload.name, versions },
      policy,
      key: { name: payload.name, versions: keyObject.versions },
      secret: { name: payload.name, versions: secretObject.versions }
    })
  })
