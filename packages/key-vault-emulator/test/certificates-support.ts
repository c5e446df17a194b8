/**
 * Certificates made outside the emulator, for its certificate tests: a test CA that signs the emulator's CSRs
 * (`@peculiar/x509`), self-signed certificates with their keys to import (keys from node:crypto), and PKCS#12 files
 * written by node-forge (an implementation independent of the emulator's).
 */
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import * as Crypto from "node:crypto"
import forge from "node-forge"

const webcrypto = Crypto.webcrypto
// @peculiar/x509 types its provider with the DOM `Crypto`; Node's webcrypto implements it.
export const provider = webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.create>[1]
const EC_KEY = { name: "ECDSA", namedCurve: "P-256" }
const EC_SIGNATURE = { name: "ECDSA", hash: "SHA-256" }
const DAY_MS = 24 * 3600 * 1000

export interface TestCa {
  readonly certificate: x509.X509Certificate
  readonly der: Uint8Array
  readonly privateKey: Crypto.webcrypto.CryptoKey
}

export const makeCa = async (name = "CN=Emulator Test CA"): Promise<TestCa> => {
  const keys = await webcrypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"])
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 3650 * DAY_MS),
    keys,
    signingAlgorithm: EC_SIGNATURE,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)
    ]
  }, provider)
  return { certificate, der: new Uint8Array(certificate.rawData), privateKey: keys.privateKey }
}

/** Signs a PKCS#10 request (DER) with the CA: the leaf carries the request's subject, public key and SANs. */
export const signCsr = async (ca: TestCa, csrDer: Uint8Array): Promise<Uint8Array> => {
  const request = new x509.Pkcs10CertificateRequest(csrDer)
  if (!(await request.verify(provider))) throw new Error("the CSR's signature does not verify")
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: "0a1b2c",
    subject: request.subject,
    issuer: ca.certificate.subject,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 90 * DAY_MS),
    publicKey: request.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: EC_SIGNATURE,
    extensions: [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      ...request.extensions.filter((extension) => extension instanceof x509.SubjectAlternativeNameExtension)
    ]
  }, provider)
  return new Uint8Array(leaf.rawData)
}

export interface KeyAndCertificate {
  readonly der: Uint8Array
  readonly certPem: string
  /** PKCS#8 PEM. */
  readonly keyPem: string
  readonly privateKey: Crypto.KeyObject
}

const RSA_SIGNATURE = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }

/** A self-signed certificate for `subject` over a fresh node:crypto key (EC P-256 or RSA 2048). */
export const selfSigned = async (
  kind: "EC" | "RSA",
  subject: string,
  dnsNames: ReadonlyArray<string> = []
): Promise<KeyAndCertificate> => {
  const pair = kind === "EC"
    ? Crypto.generateKeyPairSync("ec", { namedCurve: "P-256" })
    : Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
  const algorithm = kind === "EC" ? EC_KEY : RSA_SIGNATURE
  const privateKey = await webcrypto.subtle.importKey(
    "pkcs8",
    pair.privateKey.export({ format: "der", type: "pkcs8" }),
    algorithm,
    false,
    ["sign"]
  )
  const publicKey = await webcrypto.subtle.importKey(
    "spki",
    pair.publicKey.export({ format: "der", type: "spki" }),
    algorithm,
    true,
    ["verify"]
  )
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "77",
    name: subject,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 365 * DAY_MS),
    keys: { privateKey, publicKey },
    signingAlgorithm: kind === "EC" ? EC_SIGNATURE : RSA_SIGNATURE,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ...(dnsNames.length === 0
        ? []
        : [new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: "dns" as const, value })))])
    ]
  }, provider)
  return {
    der: new Uint8Array(certificate.rawData),
    certPem: certificate.toString("pem"),
    keyPem: pair.privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    privateKey: pair.privateKey
  }
}

/** A password-protected PKCS#12 (base64) written by node-forge (RSA only, as forge supports). */
export const forgePfx = (rsa: KeyAndCertificate, password: string): string => {
  const asn1 = forge.pkcs12.toPkcs12Asn1(
    forge.pki.privateKeyFromPem(rsa.keyPem),
    [forge.pki.certificateFromPem(rsa.certPem)],
    password,
    { algorithm: "3des" }
  )
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), "binary").toString("base64")
}

export const sha1Base64Url = (der: Uint8Array): string => Crypto.createHash("sha1").update(der).digest("base64url")

export const pemOf = (der: Uint8Array): string => new Crypto.X509Certificate(der).toString()
