/**
 * PKCS#12 (PFX) for certificate secrets and imports.
 *
 * Writing follows what the service produces: the certificate chain in one unencrypted SafeContents (leaf first), the
 * private key in a `pkcs8ShroudedKeyBag` encrypted with `pbeWithSHAAnd3-KeyTripleDES-CBC`, a SHA-1 HMAC over the
 * whole, and an empty password by default; OpenSSL 3 (Node's `tls`) and .NET load it. The structure is built with
 * `@peculiar/asn1-pfx` (and the `asn1-cms` / `asn1-rsa` / `asn1-x509` types it rests on); the PKCS#12 key derivation
 * and the key encryption come from `node-forge`, the HMAC from `node:crypto`.
 *
 * Reading uses `node-forge`, which verifies the MAC and decrypts every PBE scheme in use (PKCS#12 3DES and RC2,
 * PBES2 with AES, as OpenSSL 3 writes by default). Failures are `BadParameter`s that never quote the content.
 *
 * The libraries load on first use (together they take a few hundred milliseconds to load).
 *
 * @since 0.1.0
 */
import type * as AsnCms from "@peculiar/asn1-cms"
import type * as AsnPfx from "@peculiar/asn1-pfx"
import type * as AsnRsa from "@peculiar/asn1-rsa"
import type * as AsnSchema from "@peculiar/asn1-schema"
import type * as AsnX509 from "@peculiar/asn1-x509"
import * as Effect from "effect/Effect"
import * as NodeCrypto from "node:crypto"
import type * as Forge from "node-forge"
import { BadParameter } from "../VaultError.js"

interface Libraries {
  readonly forge: typeof Forge
  readonly schema: typeof AsnSchema
  readonly pfx: typeof AsnPfx
  readonly cms: typeof AsnCms
  readonly rsa: typeof AsnRsa
  readonly x509: typeof AsnX509
}

// node-forge is CommonJS: under Node's ESM loader its API is the default export, under other loaders the namespace.
const commonJs = <A>(module: A): A => (module as { readonly default?: A }).default ?? module

let libraries: Promise<Libraries> | undefined
const load: Effect.Effect<Libraries> = Effect.promise(() => {
  if (libraries === undefined) {
    libraries = Promise.all([
      import("node-forge"),
      import("@peculiar/asn1-schema"),
      import("@peculiar/asn1-pfx"),
      import("@peculiar/asn1-cms"),
      import("@peculiar/asn1-rsa"),
      import("@peculiar/asn1-x509")
    ]).then(([forge, schema, pfx, cms, rsa, x509]) => ({ forge: commonJs(forge), schema, pfx, cms, rsa, x509 }))
  }
  return libraries
})

const SHA1_OID = "1.3.14.3.2.26"
const LOCAL_KEY_ID_OID = "1.2.840.113549.1.9.21"
const ITERATIONS = 2048
const SALT_BYTES = 8

/**
 * What a PFX holds: the private key (when it has one) and the certificates in the order they appear.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pkcs12Content {
  readonly privateKey: NodeCrypto.KeyObject | undefined
  readonly certificates: ReadonlyArray<Uint8Array>
}

const binary = (bytes: Uint8Array): string => Buffer.from(bytes).toString("binary")
const fromBinary = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "binary"))
const arrayBuffer = (bytes: Uint8Array): ArrayBuffer =>
  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer

/**
 * Writes a PFX: the chain (leaf first) and, when given, the private key (unencrypted PKCS#8 DER), protected by
 * `password` (the service's secrets use the empty password).
 *
 * @since 0.1.0
 * @category utils
 */
export const encode = (
  content: { readonly privateKey: Uint8Array | undefined; readonly chain: ReadonlyArray<Uint8Array> },
  password: string = ""
): Effect.Effect<Uint8Array> =>
  Effect.map(load, ({ cms, forge, pfx, rsa, schema, x509 }) => {
    const { AsnConvert, OctetString } = schema
    const serialize = (value: unknown): ArrayBuffer => AsnConvert.serialize(value)
    const data = (der: ArrayBuffer) =>
      new cms.ContentInfo({ contentType: cms.id_data, content: serialize(new OctetString(der)) })

    const leaf = content.chain[0]
    const localKeyId = leaf === undefined
      ? undefined
      : (() => {
        // The constructor of PKCS12Attribute ignores its parameters; set the fields.
        const attribute = new pfx.PKCS12Attribute()
        attribute.attrId = LOCAL_KEY_ID_OID
        attribute.attrValues = [serialize(new OctetString(NodeCrypto.createHash("sha1").update(leaf).digest()))]
        return attribute
      })()
    const withKeyId = content.privateKey !== undefined && localKeyId !== undefined ? [localKeyId] : undefined

    const certBags = content.chain.map((der, i) =>
      new pfx.SafeBag({
        bagId: pfx.id_certBag,
        bagValue: serialize(
          new pfx.CertBag({ certId: pfx.id_x509Certificate, certValue: serialize(new OctetString(arrayBuffer(der))) })
        ),
        ...(i === 0 && withKeyId !== undefined ? { bagAttributes: withKeyId } : {})
      })
    )
    const contents = [data(serialize(new pfx.SafeContents(certBags)))]

    if (content.privateKey !== undefined) {
      const encrypted = forge.pki.encryptPrivateKeyInfo(
        forge.asn1.fromDer(binary(content.privateKey)),
        password,
        { algorithm: "3des", count: ITERATIONS, saltSize: SALT_BYTES }
      )
      const keyBag = new pfx.SafeBag({
        bagId: pfx.id_pkcs8ShroudedKeyBag,
        bagValue: arrayBuffer(fromBinary(forge.asn1.toDer(encrypted).getBytes())),
        ...(withKeyId !== undefined ? { bagAttributes: withKeyId } : {})
      })
      contents.push(data(serialize(new pfx.SafeContents([keyBag]))))
    }

    const authenticatedSafe = serialize(new pfx.AuthenticatedSafe(contents))
    const salt = NodeCrypto.randomBytes(SALT_BYTES)
    const macKey = forge.pkcs12.generateKey(
      password,
      forge.util.createBuffer(binary(salt)),
      3,
      ITERATIONS,
      20,
      forge.md.sha1.create()
    )
    const mac = NodeCrypto.createHmac("sha1", fromBinary(macKey.getBytes()))
      .update(new Uint8Array(authenticatedSafe))
      .digest()
    const pfxValue = new pfx.PFX({
      version: 3,
      authSafe: data(authenticatedSafe),
      macData: new pfx.MacData({
        mac: new rsa.DigestInfo({
          digestAlgorithm: new x509.AlgorithmIdentifier({ algorithm: SHA1_OID, parameters: null }),
          digest: new OctetString(arrayBuffer(mac))
        }),
        macSalt: new OctetString(arrayBuffer(salt)),
        iterations: ITERATIONS
      })
    })
    return new Uint8Array(serialize(pfxValue))
  })

const unreadable = (): BadParameter =>
  new BadParameter({
    message: "The specified PKCS#12 content cannot be read: it is malformed, or the password is not correct."
  })

/**
 * Reads a PFX with `password` (absent: the empty password, then none, as OpenSSL tries them). A wrong password, a
 * failing MAC or a malformed structure is one `BadParameter`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const decode = (bytes: Uint8Array, password: string | undefined): Effect.Effect<Pkcs12Content, BadParameter> =>
  Effect.flatMap(load, ({ forge }) =>
    Effect.suspend(() => {
      const candidates: ReadonlyArray<string | undefined> = password === undefined ? ["", undefined] : [password]
      for (const candidate of candidates) {
        try {
          const parsed = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(binary(bytes), true), false, candidate)
          return Effect.succeed(readContent(forge, parsed))
        } catch {
          // Try the next candidate; the error text can quote content, so it is not kept.
        }
      }
      return Effect.fail(unreadable())
    }))

const readContent = (forge: typeof Forge, parsed: Forge.pkcs12.Pkcs12Pfx): Pkcs12Content => {
  const certificates: Array<Uint8Array> = []
  let privateKey: NodeCrypto.KeyObject | undefined
  for (const contents of parsed.safeContents) {
    for (const bag of contents.safeBags) {
      if (bag.type === forge.pki.oids.certBag) {
        // An RSA certificate is parsed by forge (its DER is rebuilt from the parsed TBS); any other stays ASN.1.
        const asn1 = bag.cert !== undefined && bag.cert !== null ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1
        certificates.push(fromBinary(forge.asn1.toDer(asn1).getBytes()))
      } else if (
        privateKey === undefined &&
        (bag.type === forge.pki.oids.keyBag || bag.type === forge.pki.oids.pkcs8ShroudedKeyBag)
      ) {
        const info = bag.key !== undefined && bag.key !== null
          ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key))
          : bag.asn1
        privateKey = NodeCrypto.createPrivateKey({
          key: Buffer.from(forge.asn1.toDer(info).getBytes(), "binary"),
          format: "der",
          type: "pkcs8"
        })
      }
    }
  }
  return { privateKey, certificates }
}
