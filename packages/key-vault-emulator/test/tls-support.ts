/**
 * Certificates the emulator would never make, for tests of its CA: a leaf signed with the CA's key for any name, and
 * a CA in the shape of one made before name constraints existed.
 */
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import * as NodeCrypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"

const crypto = NodeCrypto.webcrypto
// @peculiar/x509 types its provider with the DOM `Crypto`; Node's webcrypto implements it (as in src/server/Tls.ts).
const provider = crypto as unknown as Parameters<typeof x509.X509CertificateGenerator.create>[1]
const EC_KEY = { name: "ECDSA", namedCurve: "P-256" }
const EC_SIGNATURE = { name: "ECDSA", hash: "SHA-256" }
const DAY_MS = 24 * 3600 * 1000

export const NAME_CONSTRAINTS_OID = "2.5.29.30"

const privateKeyPem = async (key: NodeCrypto.webcrypto.CryptoKey): Promise<string> =>
  NodeCrypto.createPrivateKey({ key: Buffer.from(await crypto.subtle.exportKey("pkcs8", key)), format: "der", type: "pkcs8" })
    .export({ format: "pem", type: "pkcs8" })
    .toString()

const serial = (): string => `01${NodeCrypto.randomBytes(8).toString("hex")}`

export interface Pem {
  readonly certPem: string
  readonly keyPem: string
}

/** A server certificate for `names` (DNS names or addresses), signed with the CA's own key. */
export const signLeaf = async (ca: Pem, names: ReadonlyArray<string>): Promise<Pem> => {
  const caCert = new x509.X509Certificate(ca.certPem)
  const der = NodeCrypto.createPrivateKey(ca.keyPem).export({ format: "der", type: "pkcs8" })
  const signingKey = await crypto.subtle.importKey("pkcs8", der, EC_KEY, false, ["sign"])
  const keys = await crypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"])
  const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${names[0]}`,
    issuer: caCert.subject,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + DAY_MS),
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: EC_SIGNATURE,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((name) => ({ type: /^[\d.]+$|:/.test(name) ? "ip" : "dns", value: name }))
      ),
      ...(caKeyId === undefined ? [] : [new x509.AuthorityKeyIdentifierExtension(caKeyId)])
    ]
  }, provider)
  return { certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) }
}

/**
 * Writes a CA without name constraints (otherwise like the emulator's: EC P-256, CA:TRUE pathlen 0, keyCertSign, SKI)
 * and a `localhost` leaf it signed into `stateDir`, as an emulator of an earlier version left them.
 */
export const writeUnconstrainedCa = async (stateDir: string): Promise<{ readonly ca: Pem; readonly leaf: Pem }> => {
  const keys = await crypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"])
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: "CN=effect-azure Key Vault Emulator Local CA, O=effect-azure",
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 3650 * DAY_MS),
    keys,
    signingAlgorithm: EC_SIGNATURE,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, provider)
    ]
  }, provider)
  const ca = { certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) }
  const leaf = await signLeaf(ca, ["localhost", "*.localhost", "*.vault.localhost", "127.0.0.1", "::1"])
  Fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 })
  const write = (file: string, text: string) => Fs.writeFileSync(Path.join(stateDir, file), text, { mode: 0o600 })
  write("ca.pem", ca.certPem)
  write("ca-key.pem", ca.keyPem)
  write("server.pem", leaf.certPem)
  write("server-key.pem", leaf.keyPem)
  return { ca, leaf }
}

/** The Name Constraints extension of a certificate, if any. */
export const nameConstraintsOf = (certPem: string): x509.Extension | undefined =>
  new x509.X509Certificate(certPem).extensions.find((extension) => extension.type === NAME_CONSTRAINTS_OID)
