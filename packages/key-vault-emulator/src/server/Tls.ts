/**
 * TLS material for the emulator's HTTPS server: a long-lived local CA (the thing a user trusts once, with
 * `NODE_EXTRA_CA_CERTS`) and a shorter-lived `localhost` leaf signed by it. Both are persisted as PEM in a state
 * directory; the CA is kept across leaf renewals so a trust decision made once keeps working.
 *
 * @since 0.1.0
 */
import type * as X509 from "@peculiar/x509"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as NodeCrypto from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Path from "node:path"

/**
 * Raised when the TLS material cannot be read, generated or written.
 *
 * @since 0.1.0
 */
export class TlsError extends Data.TaggedError("TlsError")<{
  readonly operation: string
  readonly path?: string | undefined
  readonly cause?: unknown
}> {
  override get message(): string {
    const detail = this.cause instanceof Error ? `: ${this.cause.message}` : ""
    return `TLS ${this.operation} failed${this.path === undefined ? "" : ` (${this.path})`}${detail}`
  }
}

/**
 * Where the material lives and which extra names the server certificate must cover.
 *
 * @since 0.1.0
 */
export interface TlsOptions {
  /** Directory for `ca.pem`, `ca-key.pem`, `server.pem`, `server-key.pem`; created when missing. */
  readonly stateDir: string
  /** Host names or IP addresses added to the leaf's subjectAltName besides the loopback defaults. */
  readonly hostNames?: ReadonlyArray<string> | undefined
}

/**
 * The PEM material for `https.createServer` and the path a client trusts.
 *
 * @since 0.1.0
 */
export interface TlsMaterial {
  /** Absolute path of the CA certificate: the value for `NODE_EXTRA_CA_CERTS`. */
  readonly caCertPath: string
  readonly caCertPem: string
  /** The server (leaf) certificate. */
  readonly certPem: string
  /** The server's private key (PKCS#8). */
  readonly keyPem: string
  /** True when this call generated a new CA, i.e. clients must (re-)trust `caCertPath`. */
  readonly caCreated: boolean
  /** True when this call generated a new server certificate. */
  readonly certCreated: boolean
}

/**
 * Common name of the generated CA, so users can find (and remove) it in a trust store.
 *
 * @since 0.1.0
 */
export const CA_COMMON_NAME: string = "effect-azure Key Vault Emulator Local CA"

/**
 * Names every server certificate covers: what a local client can use to reach a loopback listener.
 *
 * @since 0.1.0
 */
export const DEFAULT_HOST_NAMES: ReadonlyArray<string> = ["localhost", "*.localhost", "*.vault.localhost", "127.0.0.1", "::1"]

const CA_FILE = "ca.pem"
const CA_KEY_FILE = "ca-key.pem"
const CERT_FILE = "server.pem"
const CERT_KEY_FILE = "server-key.pem"

const DAY_MS = 24 * 60 * 60 * 1000
const CA_LIFETIME_MS = 10 * 365 * DAY_MS
const LEAF_LIFETIME_MS = 365 * DAY_MS
// Renew a little ahead of expiry so a long-running emulator started near the deadline does not stop working mid-run.
const RENEW_BEFORE_MS = 7 * DAY_MS
// Backdate notBefore: a client whose clock runs slightly behind would otherwise reject a brand-new certificate.
const BACKDATE_MS = 5 * 60 * 1000

const CA_RENEW_BEFORE_MS = 30 * DAY_MS

const EC_KEY: NodeCrypto.webcrypto.EcKeyImportParams = { name: "ECDSA", namedCurve: "P-256" }
const EC_SIGNATURE: NodeCrypto.webcrypto.EcdsaParams = { name: "ECDSA", hash: "SHA-256" }

type CryptoKey = NodeCrypto.webcrypto.CryptoKey
type CryptoKeyPair = NodeCrypto.webcrypto.CryptoKeyPair

const crypto = NodeCrypto.webcrypto
// @peculiar/x509 types its provider parameter with the DOM `Crypto`; Node's webcrypto implements the same interface.
// Passed explicitly to every call instead of `cryptoProvider.set`, so a provider set by other code is left alone.
const x509Crypto = crypto as unknown as Parameters<typeof X509.X509CertificateGenerator.create>[1]

let x509Module: Promise<typeof X509> | undefined
// @peculiar/x509 registers its algorithms through tsyringe, which refuses to load without the `reflect-metadata`
// polyfill; both are loaded on first use only, so importing this module costs nothing until certificates are needed.
const loadX509 = (): Promise<typeof X509> => {
  if (x509Module === undefined) {
    x509Module = import("reflect-metadata").then(() => import("@peculiar/x509"))
  }
  return x509Module
}

/**
 * Loads the CA and server certificate from `stateDir`, generating whatever is missing, expired, unreadable or not
 * covering the requested names. A valid CA is always kept: only the leaf is replaced then.
 *
 * @since 0.1.0
 */
export const ensureTlsMaterial = (options: TlsOptions): Effect.Effect<TlsMaterial, TlsError> =>
  Effect.gen(function*() {
    const stateDir = Path.resolve(options.stateDir)
    const names = yield* normalizeNames([...DEFAULT_HOST_NAMES, ...(options.hostNames ?? [])])
    const now = yield* Clock.currentTimeMillis
    yield* tryFs("create state directory", stateDir, () => Fs.mkdir(stateDir, { recursive: true, mode: 0o700 }))
    yield* protectStateDir(stateDir)

    const paths = {
      ca: Path.join(stateDir, CA_FILE),
      caKey: Path.join(stateDir, CA_KEY_FILE),
      cert: Path.join(stateDir, CERT_FILE),
      certKey: Path.join(stateDir, CERT_KEY_FILE)
    }

    const existingCa = yield* loadCa(paths.ca, paths.caKey, now)
    const ca = Option.isSome(existingCa) ? existingCa.value : yield* createCa(now)
    const caCreated = Option.isNone(existingCa)
    if (caCreated) {
      // Key first: a crash between the two writes then leaves a CA without its key, which is regenerated next time,
      // never a certificate whose key is lost.
      yield* writePem(paths.caKey, ca.keyPem, 0o600)
      yield* writePem(paths.ca, ca.certPem, 0o644)
    }

    const existingLeaf = caCreated ? Option.none() : yield* loadLeaf(paths.cert, paths.certKey, ca.cert, names, now)
    const leaf = Option.isSome(existingLeaf) ? existingLeaf.value : yield* createLeaf(ca, names, now)
    const certCreated = Option.isNone(existingLeaf)
    if (certCreated) {
      yield* writePem(paths.certKey, leaf.keyPem, 0o600)
      yield* writePem(paths.cert, leaf.certPem, 0o644)
    }

    return {
      caCertPath: paths.ca,
      caCertPem: ca.certPem,
      certPem: leaf.certPem,
      keyPem: leaf.keyPem,
      caCreated,
      certCreated
    }
  })

// --- names ------------------------------------------------------------------------------------------------------

type SanName = { readonly type: "dns"; readonly value: string } | { readonly type: "ip"; readonly value: string }

const DNS_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/

const normalizeNames = (input: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<SanName>, TlsError> =>
  Effect.gen(function*() {
    const seen = new Set<string>()
    const names: Array<SanName> = []
    for (const raw of input) {
      const trimmed = raw.trim().toLowerCase()
      const unbracketed = trimmed.startsWith("[") && trimmed.endsWith("]") ? trimmed.slice(1, -1) : trimmed
      let name: SanName
      if (Net.isIP(unbracketed) !== 0) {
        name = { type: "ip", value: unbracketed }
      } else if (DNS_NAME.test(trimmed) && trimmed.length <= 253) {
        name = { type: "dns", value: trimmed }
      } else {
        return yield* new TlsError({ operation: "name validation", cause: new Error(`not a host name: ${raw}`) })
      }
      const key = `${name.type}:${name.value}`
      if (!seen.has(key)) {
        seen.add(key)
        names.push(name)
      }
    }
    return names
  })

const coversNames = (cert: NodeCrypto.X509Certificate, names: ReadonlyArray<SanName>): boolean => {
  const dnsNames = new Set(
    (cert.subjectAltName ?? "").split(", ").filter((entry) => entry.startsWith("DNS:")).map((entry) =>
      entry.slice(4).toLowerCase()
    )
  )
  // checkIP compares addresses, not spellings, so `::1` matches however the SAN was encoded.
  return names.every((name) => name.type === "dns" ? dnsNames.has(name.value) : cert.checkIP(name.value) !== undefined)
}

// --- loading ----------------------------------------------------------------------------------------------------

interface CaMaterial {
  readonly cert: NodeCrypto.X509Certificate
  readonly name: X509.Name
  readonly certPem: string
  readonly keyPem: string
  readonly signingKey: CryptoKey
  readonly keyId: string
}

interface LeafMaterial {
  readonly certPem: string
  readonly keyPem: string
}

const isCurrent = (cert: NodeCrypto.X509Certificate, now: number, margin: number): boolean =>
  Date.parse(cert.validFrom) <= now && Date.parse(cert.validTo) - margin > now

// Anything unreadable or inconsistent is "absent": the caller regenerates. Only I/O errors other than ENOENT fail,
// because silently replacing a CA we could not read (permissions) would break users who trusted it.
const loadCa = (certPath: string, keyPath: string, now: number): Effect.Effect<Option.Option<CaMaterial>, TlsError> =>
  Effect.gen(function*() {
    const certPem = yield* readOptional(certPath)
    const keyPem = yield* readOptional(keyPath)
    if (Option.isNone(certPem) || Option.isNone(keyPem)) return Option.none()
    return yield* Effect.tryPromise(async (): Promise<Option.Option<CaMaterial>> => {
      const cert = new NodeCrypto.X509Certificate(certPem.value)
      const privateKey = NodeCrypto.createPrivateKey(keyPem.value)
      if (!cert.ca || !isCurrent(cert, now, CA_RENEW_BEFORE_MS) || !cert.checkPrivateKey(privateKey)) {
        return Option.none()
      }
      const pkcs8 = privateKey.export({ format: "der", type: "pkcs8" })
      const signingKey = await crypto.subtle.importKey("pkcs8", pkcs8, EC_KEY, false, ["sign"])
      const x509 = await loadX509()
      const parsed = new x509.X509Certificate(certPem.value)
      const keyId = parsed.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId
      if (keyId === undefined) return Option.none()
      return Option.some({
        cert,
        name: parsed.subjectName,
        certPem: certPem.value,
        keyPem: keyPem.value,
        signingKey,
        keyId
      })
    }).pipe(Effect.orElseSucceed(() => Option.none<CaMaterial>()))
  })

const loadLeaf = (
  certPath: string,
  keyPath: string,
  ca: NodeCrypto.X509Certificate,
  names: ReadonlyArray<SanName>,
  now: number
): Effect.Effect<Option.Option<LeafMaterial>, TlsError> =>
  Effect.gen(function*() {
    const certPem = yield* readOptional(certPath)
    const keyPem = yield* readOptional(keyPath)
    if (Option.isNone(certPem) || Option.isNone(keyPem)) return Option.none()
    return yield* Effect.try((): Option.Option<LeafMaterial> => {
      const cert = new NodeCrypto.X509Certificate(certPem.value)
      const valid = cert.checkIssued(ca) &&
        cert.verify(ca.publicKey) &&
        isCurrent(cert, now, RENEW_BEFORE_MS) &&
        cert.checkPrivateKey(NodeCrypto.createPrivateKey(keyPem.value)) &&
        coversNames(cert, names)
      return valid ? Option.some({ certPem: certPem.value, keyPem: keyPem.value }) : Option.none()
    }).pipe(Effect.orElseSucceed(() => Option.none<LeafMaterial>()))
  })

// --- generation -------------------------------------------------------------------------------------------------

const generateKeyPair = (): Promise<CryptoKeyPair> => crypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"])

const privateKeyPem = async (key: CryptoKey): Promise<string> => {
  const der = await crypto.subtle.exportKey("pkcs8", key)
  return NodeCrypto.createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" })
    .export({ format: "pem", type: "pkcs8" })
    .toString()
}

// Positive (high bit clear) and non-zero, as RFC 5280 asks of serial numbers.
const serialNumber = (): string => {
  const bytes = NodeCrypto.randomBytes(16)
  bytes[0] = (bytes[0]! & 0x7f) | 0x01
  return bytes.toString("hex")
}

const createCa = (now: number): Effect.Effect<CaMaterial, TlsError> =>
  Effect.tryPromise({
    try: async () => {
      const x509 = await loadX509()
      const keys = await generateKeyPair()
      const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, x509Crypto)
      const generated = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serialNumber(),
        name: `CN=${CA_COMMON_NAME}, O=effect-azure`,
        notBefore: new Date(now - BACKDATE_MS),
        notAfter: new Date(now + CA_LIFETIME_MS),
        keys,
        signingAlgorithm: EC_SIGNATURE,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          ski
        ]
      }, x509Crypto)
      const certPem = generated.toString("pem")
      return {
        cert: new NodeCrypto.X509Certificate(certPem),
        name: generated.subjectName,
        certPem,
        keyPem: await privateKeyPem(keys.privateKey),
        signingKey: keys.privateKey,
        keyId: ski.keyId
      }
    },
    catch: (cause) => new TlsError({ operation: "CA generation", cause })
  })

const createLeaf = (
  ca: CaMaterial,
  names: ReadonlyArray<SanName>,
  now: number
): Effect.Effect<LeafMaterial, TlsError> =>
  Effect.tryPromise({
    try: async () => {
      const x509 = await loadX509()
      const keys = await generateKeyPair()
      const generated = await x509.X509CertificateGenerator.create({
        serialNumber: serialNumber(),
        subject: "CN=localhost, O=effect-azure Key Vault Emulator",
        issuer: ca.name,
        notBefore: new Date(now - BACKDATE_MS),
        // A leaf must not outlive its CA, or clients reject it once the CA expires anyway.
        notAfter: new Date(Math.min(now + LEAF_LIFETIME_MS, Date.parse(ca.cert.validTo))),
        publicKey: keys.publicKey,
        signingKey: ca.signingKey,
        signingAlgorithm: EC_SIGNATURE,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.SubjectAlternativeNameExtension(names.map((name) => ({ type: name.type, value: name.value }))),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, x509Crypto),
          new x509.AuthorityKeyIdentifierExtension(ca.keyId)
        ]
      }, x509Crypto)
      return { certPem: generated.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) }
    },
    catch: (cause) => new TlsError({ operation: "server certificate generation", cause })
  })

// --- files ------------------------------------------------------------------------------------------------------

const tryFs = <A>(operation: string, path: string, f: () => Promise<A>): Effect.Effect<A, TlsError> =>
  Effect.tryPromise({ try: f, catch: (cause) => new TlsError({ operation, path, cause }) })

const isNotFound = (cause: unknown): boolean =>
  typeof cause === "object" && cause !== null && "code" in cause && cause.code === "ENOENT"

const readOptional = (path: string): Effect.Effect<Option.Option<string>, TlsError> =>
  Effect.tryPromise({
    try: async () => {
      try {
        return Option.some(await Fs.readFile(path, "utf8"))
      } catch (cause) {
        if (isNotFound(cause)) return Option.none<string>()
        throw cause
      }
    },
    catch: (cause) => new TlsError({ operation: "read", path, cause })
  })

// Write-then-rename so a concurrent reader (another emulator starting) never sees half a PEM file.
const writePem = (path: string, contents: string, mode: number): Effect.Effect<void, TlsError> =>
  tryFs("write", path, async () => {
    const temporary = `${path}.${process.pid}.${NodeCrypto.randomBytes(4).toString("hex")}.tmp`
    try {
      await Fs.writeFile(temporary, contents, { mode, flag: "wx" })
      await Fs.chmod(temporary, mode)
      await Fs.rename(temporary, path)
    } catch (cause) {
      await Fs.rm(temporary, { force: true })
      throw cause
    }
  })

// The directory holds a CA private key: keep it out of version control even where nobody ignored it explicitly.
const protectStateDir = (stateDir: string): Effect.Effect<void, TlsError> => {
  const path = Path.join(stateDir, ".gitignore")
  return tryFs("write", path, async () => {
    try {
      await Fs.writeFile(path, "# Generated by key-vault-emulator: contains private keys.\n*\n", { flag: "wx" })
    } catch (cause) {
      if (!(typeof cause === "object" && cause !== null && "code" in cause && cause.code === "EEXIST")) throw cause
    }
  })
}
