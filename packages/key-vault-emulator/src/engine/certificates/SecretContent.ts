/**
 * The value of a certificate's secret, both ways: rendering a key and chain as the secret's content type (base64
 * PKCS#12 without line breaks and with the empty password, or PEM: the PKCS#8 private key, then the chain leaf first),
 * and reading what a caller imports (PEM with the blocks in any order, or base64 PKCS#12 with or without a password).
 * Every failure is a `BadParameter` that describes the problem, never the content.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as NodeCrypto from "node:crypto"
import { BadParameter } from "../VaultError.js"
import * as Pkcs12 from "./Pkcs12.js"
import type { SecretContentType } from "./Policy.js"
import { PEM, PKCS12 } from "./Policy.js"
import * as X509 from "./X509.js"

/**
 * A private key with its certificate chain, leaf first, as read from an import.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyAndChain {
  readonly privateKey: NodeCrypto.KeyObject
  readonly chain: ReadonlyArray<X509.ParsedCertificate>
  /** The form the value came in. */
  readonly format: SecretContentType
}

const bad = (message: string): BadParameter => new BadParameter({ message })

/**
 * Renders a secret value. `privateKey` is unencrypted PKCS#8 DER, absent for a certificate whose key is not
 * exportable (the secret then holds the chain only).
 *
 * @since 0.1.0
 * @category utils
 */
export const render = (
  contentType: SecretContentType,
  privateKey: Uint8Array | undefined,
  chain: ReadonlyArray<Uint8Array>
): Effect.Effect<string> =>
  contentType === PKCS12
    ? Effect.map(Pkcs12.encode({ privateKey, chain }), (pfx) => Buffer.from(pfx).toString("base64"))
    : Effect.sync(() =>
      [
        ...(privateKey === undefined ? [] : [
          NodeCrypto.createPrivateKey({ key: Buffer.from(privateKey), format: "der", type: "pkcs8" })
            .export({ format: "pem", type: "pkcs8" })
            .toString()
        ]),
        ...chain.map((der) => new NodeCrypto.X509Certificate(der).toString())
      ].join("")
    )

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]{1,40})-----([\s\S]*?)-----END \1-----/g
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

const readPem = (text: string, password: string | undefined): Either.Either<
  { readonly key: NodeCrypto.KeyObject | undefined; readonly certificates: ReadonlyArray<Uint8Array> },
  BadParameter
> => {
  let key: NodeCrypto.KeyObject | undefined
  const certificates: Array<Uint8Array> = []
  for (const match of text.matchAll(PEM_BLOCK)) {
    const [block, label, body] = match
    switch (label) {
      case "CERTIFICATE": {
        const base64 = (body ?? "").replace(/\s+/g, "")
        if (!BASE64.test(base64)) return Either.left(bad("A CERTIFICATE block of the PEM content is not base64."))
        certificates.push(new Uint8Array(Buffer.from(base64, "base64")))
        break
      }
      case "PRIVATE KEY":
      case "ENCRYPTED PRIVATE KEY": {
        if (key !== undefined) return Either.left(bad("The PEM content has more than one private key."))
        try {
          key = NodeCrypto.createPrivateKey({
            key: block,
            format: "pem",
            ...(label === "ENCRYPTED PRIVATE KEY" ? { passphrase: password ?? "" } : {})
          })
        } catch {
          return Either.left(bad(
            label === "ENCRYPTED PRIVATE KEY"
              ? "The encrypted private key of the PEM content cannot be decrypted with the given password."
              : "The private key of the PEM content cannot be read."
          ))
        }
        break
      }
      case "RSA PRIVATE KEY":
      case "EC PRIVATE KEY":
        return Either.left(bad("Key Vault only accepts a private key in PKCS#8 format (BEGIN PRIVATE KEY)."))
      default:
        return Either.left(bad("The PEM content has a block that is neither a certificate nor a private key."))
    }
  }
  if (certificates.length === 0) {
    return Either.left(bad("The specified PEM X.509 certificate content is in an unexpected format: no certificate."))
  }
  return Either.right({ key, certificates })
}

/**
 * Reads an import's `value`: PEM when it carries PEM blocks, base64 PKCS#12 otherwise. The private key must be
 * present and belong to one of the certificates, which becomes the leaf; the others follow in the order given.
 *
 * @since 0.1.0
 * @category parsing
 */
export const readImport = (value: string, password: string | undefined): Effect.Effect<KeyAndChain, BadParameter> =>
  Effect.gen(function*() {
    const isPem = value.includes("-----BEGIN")
    let key: NodeCrypto.KeyObject | undefined
    let certificates: ReadonlyArray<Uint8Array>
    if (isPem) {
      const read = yield* readPem(value, password)
      key = read.key
      certificates = read.certificates
    } else {
      const base64 = value.replace(/\s+/g, "")
      if (base64.length === 0 || !BASE64.test(base64)) {
        return yield* Effect.fail(bad("The certificate content is neither PEM nor base64-encoded PKCS#12."))
      }
      const content = yield* Pkcs12.decode(new Uint8Array(Buffer.from(base64, "base64")), password)
      key = content.privateKey
      certificates = content.certificates
      if (certificates.length === 0) return yield* Effect.fail(bad("The PKCS#12 content holds no certificate."))
    }
    if (key === undefined) {
      return yield* Effect.fail(bad(
        "Private key is not specified in the certificate content; import needs the certificate with its private key."
      ))
    }
    const parsed: Array<X509.ParsedCertificate> = []
    for (const der of certificates) parsed.push(yield* Either.mapLeft(X509.parseDer(der), bad))
    const privateKey = key
    const leafIndex = parsed.findIndex((c) => {
      try {
        return c.certificate.checkPrivateKey(privateKey)
      } catch {
        return false
      }
    })
    if (leafIndex < 0) {
      return yield* Effect.fail(bad("The private key does not match the public key of any certificate in the content."))
    }
    const chain = [parsed[leafIndex]!, ...parsed.filter((_, i) => i !== leafIndex)]
    return { privateKey, chain, format: isPem ? PEM : PKCS12 }
  })

/**
 * A certificate secret's value in the other content type (`outContentType`): base64 PKCS#12 to PEM, or PEM to base64
 * PKCS#12. The value was written by this engine, so it reads with the empty password.
 *
 * @since 0.1.0
 * @category utils
 */
export const convert = (value: string, from: SecretContentType, to: SecretContentType): Effect.Effect<string, BadParameter> => {
  if (from === to) return Effect.succeed(value)
  const read: Effect.Effect<Pkcs12.Pkcs12Content, BadParameter> = from === PKCS12
    ? Pkcs12.decode(new Uint8Array(Buffer.from(value, "base64")), "")
    : Effect.map(readPem(value, undefined), (pem) => ({ privateKey: pem.key, certificates: pem.certificates }))
  return Effect.flatMap(read, (content) =>
    render(
      to,
      content.privateKey === undefined
        ? undefined
        : new Uint8Array(content.privateKey.export({ format: "der", type: "pkcs8" })),
      content.certificates
    ))
}
