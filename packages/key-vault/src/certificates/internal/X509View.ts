/**
 * The parsed view of a certificate, read with node:crypto's `X509Certificate` (OpenSSL's parser). Not public: the
 * model is `CertificateDetails` in `Certificate.ts`.
 *
 * @since 0.1.0
 * @internal
 */
import { X509Certificate } from "node:crypto"
import * as Either from "effect/Either"
import type { CertificateDetails, CertificateSubjectAlternativeNames } from "../Certificate.js"

// OpenSSL's curve names to Key Vault's.
const CURVES: Readonly<Record<string, string>> = {
  prime256v1: "P-256",
  secp256r1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
  secp256k1: "P-256K"
}

const hex = (fingerprint: string): string => fingerprint.replace(/:/g, "").toUpperCase()

// Node prints a name one attribute a line, specials already escaped (`O=Org\, Inc`): joined with ", " it is the
// usual one-line form.
const oneLine = (name: string): string => name.split("\n").filter((line) => line.length > 0).join(", ")

/**
 * Splits Node's `subjectAltName` (`DNS:a.example, IP Address:10.0.0.1, URI:"https://x/a\u002cb"`): entries are
 * separated by ", ", and a value with a separator or quote in it is a JSON string.
 *
 * @since 0.1.0
 * @internal
 */
export const parseSubjectAltName = (text: string | undefined): CertificateSubjectAlternativeNames => {
  const dnsNames: Array<string> = []
  const emails: Array<string> = []
  const ipAddresses: Array<string> = []
  const uris: Array<string> = []
  const others: Array<string> = []
  let i = 0
  const input = text ?? ""
  while (i < input.length) {
    const colon = input.indexOf(":", i)
    if (colon === -1) break
    const kind = input.slice(i, colon).trim()
    let value: string
    let next: number
    if (input[colon + 1] === "\"") {
      // A JSON string: find its closing quote, skipping escapes.
      let j = colon + 2
      while (j < input.length && input[j] !== "\"") j += input[j] === "\\" ? 2 : 1
      const literal = input.slice(colon + 1, j + 1)
      try {
        value = JSON.parse(literal) as string
      } catch {
        value = literal
      }
      next = input.indexOf(", ", j + 1)
    } else {
      next = input.indexOf(", ", colon + 1)
      value = input.slice(colon + 1, next === -1 ? undefined : next)
    }
    switch (kind) {
      case "DNS":
        dnsNames.push(value)
        break
      case "email":
        emails.push(value)
        break
      case "IP Address":
        ipAddresses.push(value)
        break
      case "URI":
        uris.push(value)
        break
      default:
        others.push(`${kind}:${value}`)
    }
    if (next === -1) break
    i = next + 2
  }
  return { dnsNames, emails, ipAddresses, uris, others }
}

/**
 * Parses a DER (or PEM) certificate; `Left` with what went wrong when it is not one.
 *
 * @since 0.1.0
 * @internal
 */
export const parse = (certificate: Uint8Array | string): Either.Either<CertificateDetails, string> => {
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(typeof certificate === "string" ? certificate : Buffer.from(certificate))
  } catch {
    return Either.left("the certificate is not a well-formed X.509 certificate")
  }
  const key = x509.publicKey
  const details = key.asymmetricKeyDetails ?? {}
  const type = key.asymmetricKeyType
  const namedCurve = details.namedCurve
  return Either.right({
    subject: oneLine(x509.subject),
    issuer: oneLine(x509.issuer),
    serialNumber: x509.serialNumber.toUpperCase(),
    sha1Thumbprint: hex(x509.fingerprint),
    sha256Thumbprint: hex(x509.fingerprint256),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    subjectAlternativeNames: parseSubjectAltName(x509.subjectAltName),
    keyType: type === "rsa" || type === "rsa-pss" ? "RSA" : type === "ec" ? "EC" : (type ?? "unknown"),
    keySize: details.modulusLength,
    keyCurveName: namedCurve === undefined ? undefined : (CURVES[namedCurve] ?? namedCurve),
    isCertificateAuthority: x509.ca,
    selfIssued: x509.subject === x509.issuer,
    der: new Uint8Array(x509.raw)
  })
}
