/**
 * Real X.509 for the certificate engine, on `@peculiar/x509` (certificates and PKCS#10 requests, signed with WebCrypto)
 * and `node:crypto` (parsing, thumbprints, key matching): self-signed issuance, certificate signing requests, and the
 * reading of certificates a caller imports or merges. Keys come from the key engine's material (`node:crypto`).
 *
 * `@peculiar/x509` needs the `reflect-metadata` polyfill; both load on first use, so a vault that never issues a
 * certificate never loads them.
 *
 * @since 0.1.0
 */
import type * as X509Lib from "@peculiar/x509"
import * as PeculiarX509 from "../../internal/PeculiarX509.js"
import { toBase64Url } from "@effect-azure/key-vault/crypto/Bytes"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as NodeCrypto from "node:crypto"
import type { KeyMaterial } from "../crypto/KeyMaterial.js"
import * as Material from "../crypto/KeyMaterial.js"
import * as DistinguishedName from "./DistinguishedName.js"
import type { CertificatePolicy, KeyUsage, SubjectAlternativeNames } from "./Policy.js"
import { KEY_USAGES } from "./Policy.js"

type CryptoKey = NodeCrypto.webcrypto.CryptoKey

const webcrypto = NodeCrypto.webcrypto
// @peculiar/x509 types its provider with the DOM `Crypto`; Node's webcrypto implements it (as in server/Tls.ts).
const provider = webcrypto as unknown as Parameters<typeof X509Lib.X509CertificateGenerator.create>[1]

const loadX509: Effect.Effect<typeof X509Lib> = Effect.promise(PeculiarX509.loadX509)

/**
 * What the engine reads from a certificate: the DER, its SHA-1 thumbprint, validity, and the public key (SPKI DER).
 *
 * @since 0.1.0
 * @category models
 */
export interface ParsedCertificate {
  readonly der: Uint8Array
  readonly certificate: NodeCrypto.X509Certificate
  readonly notBefore: Date
  readonly notAfter: Date
}

/**
 * The X.509 properties of a certificate in the policy's terms (what an imported certificate's policy reports).
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificateDescription {
  readonly subject: string
  readonly sans: SubjectAlternativeNames
  readonly ekus: ReadonlyArray<string>
  readonly keyUsage: ReadonlyArray<KeyUsage>
}

/**
 * The SHA-1 thumbprint of a DER certificate (`x5t`, base64url on the wire).
 *
 * @since 0.1.0
 * @category utils
 */
export const thumbprint = (der: Uint8Array): Uint8Array => new Uint8Array(NodeCrypto.createHash("sha1").update(der).digest())

/**
 * Parses one DER certificate; the error is a `BadParameter` message that never quotes the input.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseDer = (der: Uint8Array): Either.Either<ParsedCertificate, string> => {
  try {
    const certificate = new NodeCrypto.X509Certificate(der)
    const notBefore = new Date(certificate.validFrom)
    const notAfter = new Date(certificate.validTo)
    if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
      return Either.left("The X.509 certificate has an unreadable validity period.")
    }
    // The DER node re-encodes is the input itself; keep the caller's bytes.
    return Either.right({ der: new Uint8Array(certificate.raw), certificate, notBefore, notAfter })
  } catch {
    return Either.left("The X.509 certificate content is not a valid DER certificate.")
  }
}

/**
 * The private key of the material as a `node:crypto` `KeyObject`.
 *
 * @since 0.1.0
 * @category utils
 */
export const privateKeyObject = (material: KeyMaterial): NodeCrypto.KeyObject => {
  if (material._tag === "RSA") return material.privateKey
  return NodeCrypto.createPrivateKey({
    format: "jwk",
    key: {
      kty: "EC",
      crv: material.curve === "P-256K" ? "secp256k1" : material.curve,
      x: toBase64Url(material.x),
      y: toBase64Url(material.y),
      d: toBase64Url(Redacted.value(material.d))
    }
  })
}

/**
 * The private key of the material as unencrypted PKCS#8 DER (for PKCS#12 and PEM secrets).
 *
 * @since 0.1.0
 * @category utils
 */
export const pkcs8 = (material: KeyMaterial): Uint8Array =>
  new Uint8Array(privateKeyObject(material).export({ format: "der", type: "pkcs8" }))

/**
 * Whether a certificate's public key is the material's.
 *
 * @since 0.1.0
 * @category guards
 */
export const matchesKey = (certificate: NodeCrypto.X509Certificate, material: KeyMaterial): boolean => {
  try {
    return certificate.checkPrivateKey(privateKeyObject(material))
  } catch {
    return false
  }
}

/**
 * Key material from a private key a caller imported (PEM or PKCS#12), through the checks of a key import
 * (`KeyMaterial.fromJwk`). The error is a `BadParameter` message.
 *
 * @since 0.1.0
 * @category constructors
 */
export const materialFromPrivateKey = (key: NodeCrypto.KeyObject): Either.Either<KeyMaterial, string> => {
  const jwk = key.export({ format: "jwk" })
  const bytes = (member: string | undefined): Uint8Array => new Uint8Array(Buffer.from(member ?? "", "base64url"))
  const secret = (member: string | undefined) => Redacted.make(bytes(member))
  if (jwk.kty === "RSA") {
    return Material.fromJwk({
      kty: "RSA",
      n: bytes(jwk.n),
      e: bytes(jwk.e),
      d: secret(jwk.d),
      p: secret(jwk.p),
      q: secret(jwk.q),
      dp: secret(jwk.dp),
      dq: secret(jwk.dq),
      qi: secret(jwk.qi)
    })
  }
  if (jwk.kty === "EC") {
    const crv = jwk.crv === "secp256k1" ? "P-256K" : jwk.crv ?? ""
    return Material.fromJwk({ kty: "EC", crv, x: bytes(jwk.x), y: bytes(jwk.y), d: secret(jwk.d) })
  }
  return Either.left("the private key must be an RSA or EC key")
}

interface SigningSetup {
  readonly privateKey: CryptoKey
  readonly publicKey: CryptoKey
  readonly algorithm: NodeCrypto.webcrypto.RsaHashedImportParams | NodeCrypto.webcrypto.EcdsaParams
}

const HASH_FOR_CURVE: Readonly<Record<string, string>> = { "P-256": "SHA-256", "P-384": "SHA-384", "P-521": "SHA-512" }

const signingSetup = (material: KeyMaterial): Effect.Effect<SigningSetup> =>
  Effect.promise(async () => {
    const privateKey = privateKeyObject(material)
    const pkcs8Der = privateKey.export({ format: "der", type: "pkcs8" })
    const spkiDer = NodeCrypto.createPublicKey(privateKey).export({ format: "der", type: "spki" })
    if (material._tag === "RSA") {
      const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }
      return {
        algorithm,
        privateKey: await webcrypto.subtle.importKey("pkcs8", pkcs8Der, algorithm, false, ["sign"]),
        publicKey: await webcrypto.subtle.importKey("spki", spkiDer, algorithm, true, ["verify"])
      }
    }
    const importParams = { name: "ECDSA", namedCurve: material.curve }
    return {
      algorithm: { name: "ECDSA", hash: HASH_FOR_CURVE[material.curve] ?? "SHA-256" },
      privateKey: await webcrypto.subtle.importKey("pkcs8", pkcs8Der, importParams, false, ["sign"]),
      publicKey: await webcrypto.subtle.importKey("spki", spkiDer, importParams, true, ["verify"])
    }
  })

const USAGE_FLAGS = (x509: typeof X509Lib): Readonly<Record<KeyUsage, number>> => ({
  digitalSignature: x509.KeyUsageFlags.digitalSignature,
  nonRepudiation: x509.KeyUsageFlags.nonRepudiation,
  keyEncipherment: x509.KeyUsageFlags.keyEncipherment,
  dataEncipherment: x509.KeyUsageFlags.dataEncipherment,
  keyAgreement: x509.KeyUsageFlags.keyAgreement,
  keyCertSign: x509.KeyUsageFlags.keyCertSign,
  cRLSign: x509.KeyUsageFlags.cRLSign,
  encipherOnly: x509.KeyUsageFlags.encipherOnly,
  decipherOnly: x509.KeyUsageFlags.decipherOnly
})

const nameOf = (x509: typeof X509Lib, subject: string): X509Lib.Name =>
  // The policy was validated with the same parser, so this cannot fail here.
  new x509.Name(DistinguishedName.toJson(Either.getOrElse(DistinguishedName.parse(subject), () => [])))

/** The extensions a policy asks for, in the order the service writes them. */
const policyExtensions = (
  x509: typeof X509Lib,
  policy: CertificatePolicy,
  emptySubject: boolean
): Array<X509Lib.Extension> => {
  const extensions: Array<X509Lib.Extension> = []
  if (policy.keyUsage.length > 0) {
    const flags = USAGE_FLAGS(x509)
    extensions.push(new x509.KeyUsagesExtension(policy.keyUsage.reduce((all, u) => all | flags[u], 0), true))
  }
  extensions.push(new x509.BasicConstraintsExtension(false, undefined, false))
  if (policy.ekus.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension([...policy.ekus], false))
  const names: Array<X509Lib.JsonGeneralName> = [
    ...policy.sans.dnsNames.map((value) => ({ type: "dns" as const, value })),
    ...policy.sans.emails.map((value) => ({ type: "email" as const, value })),
    ...policy.sans.upns.map((value) => ({ type: "upn" as const, value })),
    ...policy.sans.uris.map((value) => ({ type: "url" as const, value })),
    ...policy.sans.ipAddresses.map((value) => ({ type: "ip" as const, value }))
  ]
  // RFC 5280 4.2.1.6: with an empty subject the SAN extension must be critical.
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, emptySubject))
  return extensions
}

const serialNumber = (): string => {
  const bytes = NodeCrypto.randomBytes(16)
  // Positive and without a leading zero octet, so the DER INTEGER is exactly 16 bytes, as the service's are.
  bytes[0] = (bytes[0]! & 0x7f) | 0x40
  return bytes.toString("hex")
}

/**
 * A self-signed certificate for the policy and key, valid from `notBefore` to `notAfter` (DER).
 *
 * @since 0.1.0
 * @category constructors
 */
export const selfSigned = (
  material: KeyMaterial,
  policy: CertificatePolicy,
  notBefore: Date,
  notAfter: Date
): Effect.Effect<Uint8Array> =>
  Effect.gen(function*() {
    const x509 = yield* loadX509
    const keys = yield* signingSetup(material)
    const name = nameOf(x509, policy.subject)
    const keyId = yield* Effect.promise(() => x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, provider))
    const certificate = yield* Effect.promise(() =>
      x509.X509CertificateGenerator.create({
        serialNumber: serialNumber(),
        subject: name,
        issuer: name,
        notBefore,
        notAfter,
        publicKey: keys.publicKey,
        signingKey: keys.privateKey,
        signingAlgorithm: keys.algorithm,
        extensions: [
          ...policyExtensions(x509, policy, policy.subject.trim() === ""),
          new x509.AuthorityKeyIdentifierExtension(keyId.keyId, false),
          keyId
        ]
      }, provider)
    )
    return new Uint8Array(certificate.rawData)
  })

/**
 * A PKCS#10 certificate signing request for the policy, signed with the key (DER): what issuer `Unknown` hands out
 * for an external CA to sign.
 *
 * @since 0.1.0
 * @category constructors
 */
export const certificateRequest = (material: KeyMaterial, policy: CertificatePolicy): Effect.Effect<Uint8Array> =>
  Effect.gen(function*() {
    const x509 = yield* loadX509
    const keys = yield* signingSetup(material)
    const request = yield* Effect.promise(() =>
      x509.Pkcs10CertificateRequestGenerator.create({
        name: nameOf(x509, policy.subject),
        keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
        signingAlgorithm: keys.algorithm,
        extensions: policyExtensions(x509, policy, policy.subject.trim() === "")
      }, provider)
    )
    return new Uint8Array(request.rawData)
  })

/**
 * Reads a certificate's subject, subject alternative names, EKUs and key usage (what an imported certificate's policy
 * reports).
 *
 * @since 0.1.0
 * @category parsing
 */
export const describe = (der: Uint8Array): Effect.Effect<CertificateDescription> =>
  Effect.map(loadX509, (x509) => {
    const certificate = new x509.X509Certificate(der)
    const names = certificate.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON() ?? []
    const pick = (type: string) => names.filter((n) => n.type === type).map((n) => n.value)
    const flags = certificate.getExtension(x509.KeyUsagesExtension)?.usages ?? 0
    const usageFlags = USAGE_FLAGS(x509)
    return {
      subject: certificate.subject,
      sans: {
        dnsNames: pick("dns"),
        emails: pick("email"),
        upns: pick("upn"),
        uris: pick("url"),
        ipAddresses: pick("ip")
      },
      ekus: (certificate.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? []).map(String),
      keyUsage: KEY_USAGES.filter((usage) => (flags & usageFlags[usage]) !== 0)
    }
  })
