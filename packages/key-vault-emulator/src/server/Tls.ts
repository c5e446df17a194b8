/**
 * TLS material for the emulator's HTTPS server: a long-lived local CA (the thing a user trusts once, with
 * `NODE_EXTRA_CA_CERTS`) and a shorter-lived `localhost` leaf signed by it. Both are persisted as PEM in a state
 * directory; the CA is kept across leaf renewals so a trust decision made once keeps working.
 *
 * Trusting a CA whose key sits in a file is a risk, so the CA is name-constrained (a critical X.509 Name Constraints
 * extension): it can only vouch for `localhost` and its subdomains, loopback addresses and the names the emulator was
 * configured with, never for `example.com`. The state directory is kept private to its owner (0700, files 0600).
 *
 * @since 0.1.0
 */
import type * as X509 from "@peculiar/x509"
import { loadX509 } from "../internal/PeculiarX509.js"
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
 * @category errors
 */
export class TlsError extends Data.TaggedError("TlsError")<{
  readonly operation: string
  readonly path?: string | undefined
  readonly cause?: unknown
  /** What went wrong and what to do about it, when the cause alone does not say. */
  readonly reason?: string | undefined
}> {
  override get message(): string {
    const detail = this.reason !== undefined
      ? `: ${this.reason}`
      : this.cause instanceof Error
      ? `: ${this.cause.message}`
      : ""
    return `TLS ${this.operation} failed${this.path === undefined ? "" : ` (${this.path})`}${detail}`
  }
}

/**
 * Where the material lives and which extra names the server certificate must cover.
 *
 * @since 0.1.0
 * @category models
 */
export interface TlsOptions {
  /** Directory for `ca.pem`, `ca-key.pem`, `server.pem`, `server-key.pem`; created when missing. */
  readonly stateDir: string
  /**
   * Host names (`*.` wildcards allowed) or IP addresses added to the leaf's subjectAltName besides the loopback
   * defaults. The CA's name constraints must cover them: a CA that does not is replaced (`caCreated`).
   */
  readonly hostNames?: ReadonlyArray<string> | undefined
}

/**
 * The PEM material for `https.createServer` and the path a client trusts.
 *
 * @since 0.1.0
 * @category models
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
  /** The CA's permitted name subtrees, e.g. `["localhost", "127.0.0.0/8", "::1/128"]`: all it can vouch for. */
  readonly nameConstraints: ReadonlyArray<string>
}

/**
 * Common name of the generated CA, so users can find (and remove) it in a trust store.
 *
 * @since 0.1.0
 * @category constants
 */
export const CA_COMMON_NAME: string = "effect-azure Key Vault Emulator Local CA"

/**
 * Names every server certificate covers: what a local client can use to reach a loopback listener.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_HOST_NAMES: ReadonlyArray<string> = ["localhost", "*.localhost", "*.vault.localhost", "127.0.0.1", "::1"]

const CA_FILE = "ca.pem"
const CA_KEY_FILE = "ca-key.pem"
const CERT_FILE = "server.pem"
const CERT_KEY_FILE = "server-key.pem"
const GITIGNORE_FILE = ".gitignore"

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

/**
 * Loads the CA and server certificate from `stateDir`, generating whatever is missing, expired, unreadable or not
 * covering the requested names. A valid CA whose name constraints cover the names is kept (only the leaf is replaced
 * then); one without constraints, or constrained to other names, is replaced, and `caCreated` says clients must trust
 * the new one. First the state directory is made private: created 0700, or an existing one owned by the current user
 * tightened to 0700 (its files to 0600) with a warning on the log; one owned by someone else, or that cannot be
 * tightened, is refused with a `TlsError` saying what to do.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ensureTlsMaterial = (options: TlsOptions): Effect.Effect<TlsMaterial, TlsError> =>
  Effect.gen(function*() {
    const stateDir = Path.resolve(options.stateDir)
    const names = yield* normalizeNames([...DEFAULT_HOST_NAMES, ...(options.hostNames ?? [])])
    const constraints = permittedSubtrees(names)
    const now = yield* Clock.currentTimeMillis
    yield* secureStateDir(stateDir, [CA_FILE, CA_KEY_FILE, CERT_FILE, CERT_KEY_FILE, GITIGNORE_FILE])
    yield* protectStateDir(stateDir)

    const paths = {
      ca: Path.join(stateDir, CA_FILE),
      caKey: Path.join(stateDir, CA_KEY_FILE),
      cert: Path.join(stateDir, CERT_FILE),
      certKey: Path.join(stateDir, CERT_KEY_FILE)
    }

    const existingCa = yield* loadCa(paths.ca, paths.caKey, names, now)
    const ca = Option.isSome(existingCa) ? existingCa.value : yield* createCa(constraints, now)
    const caCreated = Option.isNone(existingCa)
    if (caCreated) {
      // Key first: a crash between the two writes then leaves a CA without its key, which is regenerated next time,
      // never a certificate whose key is lost.
      yield* writePem(paths.caKey, ca.keyPem)
      yield* writePem(paths.ca, ca.certPem)
    }

    const existingLeaf = caCreated ? Option.none() : yield* loadLeaf(paths.cert, paths.certKey, ca.cert, names, now)
    const leaf = Option.isSome(existingLeaf) ? existingLeaf.value : yield* createLeaf(ca, names, now)
    const certCreated = Option.isNone(existingLeaf)
    if (certCreated) {
      yield* writePem(paths.certKey, leaf.keyPem)
      yield* writePem(paths.cert, leaf.certPem)
    }

    return {
      caCertPath: paths.ca,
      caCertPem: ca.certPem,
      certPem: leaf.certPem,
      keyPem: leaf.keyPem,
      caCreated,
      certCreated,
      nameConstraints: ca.constraints.map(formatSubtree)
    }
  })

// --- names ------------------------------------------------------------------------------------------------------

type SanName = { readonly type: "dns"; readonly value: string } | { readonly type: "ip"; readonly value: string }

const DNS_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/

const parseName = (raw: string): SanName | undefined => {
  const trimmed = raw.trim().toLowerCase()
  const unbracketed = trimmed.startsWith("[") && trimmed.endsWith("]") ? trimmed.slice(1, -1) : trimmed
  // A zone index (`fe80::1%eth0`) names an interface, not an address a certificate can carry.
  if (Net.isIP(unbracketed) !== 0 && !unbracketed.includes("%")) return { type: "ip", value: unbracketed }
  if (DNS_NAME.test(trimmed) && trimmed.length <= 253) return { type: "dns", value: trimmed }
  return undefined
}

/**
 * Whether `name` can go into the server certificate and the CA's name constraints: a DNS name (optionally `*.`
 * wildcard) or an IPv4 / IPv6 address (brackets allowed).
 *
 * @since 0.1.0
 * @category guards
 */
export const isHostName = (name: string): boolean => parseName(name) !== undefined

const normalizeNames = (input: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<SanName>, TlsError> =>
  Effect.gen(function*() {
    const seen = new Set<string>()
    const names: Array<SanName> = []
    for (const raw of input) {
      const name = parseName(raw)
      if (name === undefined) {
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

// --- name constraints -------------------------------------------------------------------------------------------

// RFC 5280 4.2.1.10. A dNSName subtree `localhost` permits `localhost` and every name below it; an iPAddress subtree
// is an address and a mask. Only permitted subtrees are written: whatever a subtree does not cover, the CA cannot sign
// for (for clients that enforce the extension: OpenSSL and so Node, Go, Chromium, Firefox).
type Subtree =
  | { readonly type: "dns"; readonly base: string }
  | { readonly type: "ip"; readonly address: Uint8Array; readonly mask: Uint8Array }

const NAME_CONSTRAINTS_OID = "2.5.29.30"

const ipv4Bytes = (text: string): Array<number> => text.split(".").map(Number)

const ipBytes = (text: string): Uint8Array => {
  if (Net.isIPv4(text)) return Uint8Array.from(ipv4Bytes(text))
  const groups = (part: string): Array<number> =>
    part === ""
      ? []
      : part.split(":").flatMap((group) => {
        if (!group.includes(".")) return [Number.parseInt(group, 16)]
        const [a, b, c, d] = ipv4Bytes(group) as [number, number, number, number]
        return [(a << 8) | b, (c << 8) | d]
      })
  const gap = text.indexOf("::")
  const head = groups(gap === -1 ? text : text.slice(0, gap))
  const tail = gap === -1 ? [] : groups(text.slice(gap + 2))
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]
  return Uint8Array.from(all.flatMap((group) => [group >> 8, group & 0xff]))
}

const fullMask = (length: number): Uint8Array => new Uint8Array(length).fill(0xff)

// 127.0.0.0/8 is loopback as a whole: one subtree covers 127.0.0.1 and any other loopback address a user binds.
const LOOPBACK_V4: Subtree = {
  type: "ip",
  address: Uint8Array.from([127, 0, 0, 0]),
  mask: Uint8Array.from([255, 0, 0, 0])
}

const inSubnet = (address: Uint8Array, subtree: { readonly address: Uint8Array; readonly mask: Uint8Array }) =>
  address.length === subtree.address.length &&
  address.every((byte, i) => (byte & subtree.mask[i]!) === (subtree.address[i]! & subtree.mask[i]!))

const dnsWithin = (name: string, base: string): boolean => name === base || name.endsWith(`.${base}`)

// Whether every name `inner` permits is also permitted by `outer`.
const subtreeCovers = (outer: Subtree, inner: Subtree): boolean => {
  if (outer.type === "dns") return inner.type === "dns" && dnsWithin(inner.base, outer.base)
  return inner.type === "ip" && inSubnet(inner.address, outer) &&
    outer.mask.every((byte, i) => (byte & inner.mask[i]!) === byte)
}

const nameCovered = (subtrees: ReadonlyArray<Subtree>, name: SanName): boolean => {
  if (name.type === "dns") {
    return subtrees.some((subtree) => subtree.type === "dns" && dnsWithin(name.value, subtree.base))
  }
  const address = ipBytes(name.value)
  return subtrees.some((subtree) => subtree.type === "ip" && inSubnet(address, subtree))
}

// The fewest subtrees covering every name: a wildcard's parent domain, the loopback /8, single other addresses.
const permittedSubtrees = (names: ReadonlyArray<SanName>): ReadonlyArray<Subtree> => {
  let subtrees: Array<Subtree> = []
  for (const name of names) {
    const candidate: Subtree = name.type === "dns"
      ? { type: "dns", base: name.value.startsWith("*.") ? name.value.slice(2) : name.value }
      : inSubnet(ipBytes(name.value), LOOPBACK_V4)
      ? LOOPBACK_V4
      : { type: "ip", address: ipBytes(name.value), mask: fullMask(ipBytes(name.value).length) }
    if (subtrees.some((subtree) => subtreeCovers(subtree, candidate))) continue
    subtrees = [...subtrees.filter((subtree) => !subtreeCovers(candidate, subtree)), candidate]
  }
  return subtrees
}

const formatSubtree = (subtree: Subtree): string => {
  if (subtree.type === "dns") return subtree.base
  const prefix = subtree.mask.reduce((bits, byte) => bits + byte.toString(2).replaceAll("0", "").length, 0)
  if (subtree.address.length === 4) return `${Array.from(subtree.address).join(".")}/${prefix}`
  const groups = Array.from(
    { length: 8 },
    (_, i) => ((subtree.address[2 * i]! << 8) | subtree.address[2 * i + 1]!).toString(16)
  )
  // The URL parser writes the canonical (RFC 5952) form of an IPv6 address.
  return `${new URL(`http://[${groups.join(":")}]`).hostname.slice(1, -1)}/${prefix}`
}

const derLength = (length: number): Array<number> =>
  length < 0x80 ? [length] : length < 0x100 ? [0x81, length] : [0x82, length >> 8, length & 0xff]

const tlv = (tag: number, content: Uint8Array): Uint8Array =>
  Buffer.concat([Uint8Array.from([tag, ...derLength(content.length)]), content])

// NameConstraints ::= SEQUENCE { permittedSubtrees [0] IMPLICIT SEQUENCE OF GeneralSubtree }, each
// GeneralSubtree ::= SEQUENCE { base GeneralName } with dNSName [2] IA5String or iPAddress [7] address || mask.
const encodeNameConstraints = (subtrees: ReadonlyArray<Subtree>): Uint8Array =>
  tlv(
    0x30,
    tlv(
      0xa0,
      Buffer.concat(subtrees.map((subtree) =>
        tlv(
          0x30,
          subtree.type === "dns"
            ? tlv(0x82, Buffer.from(subtree.base, "ascii"))
            : tlv(0x87, Buffer.concat([subtree.address, subtree.mask]))
        )
      ))
    )
  )

interface Tlv {
  readonly tag: number
  readonly content: Uint8Array
  readonly next: number
}

// One DER element at `offset` (definite lengths up to two bytes, all this extension needs); undefined if malformed.
const readTlv = (bytes: Uint8Array, offset: number): Tlv | undefined => {
  if (offset + 2 > bytes.length) return undefined
  const tag = bytes[offset]!
  let length = bytes[offset + 1]!
  let start = offset + 2
  if ((length & 0x80) !== 0) {
    const count = length & 0x7f
    if (count === 0 || count > 2 || start + count > bytes.length) return undefined
    length = 0
    for (let i = 0; i < count; i++) length = (length << 8) | bytes[start + i]!
    start += count
  }
  if (start + length > bytes.length) return undefined
  return { tag, content: bytes.subarray(start, start + length), next: start + length }
}

const readAll = (bytes: Uint8Array): ReadonlyArray<Tlv> | undefined => {
  const items: Array<Tlv> = []
  for (let offset = 0; offset < bytes.length;) {
    const item = readTlv(bytes, offset)
    if (item === undefined) return undefined
    items.push(item)
    offset = item.next
  }
  return items
}

// The permitted subtrees of a Name Constraints extension this module could have written; anything else (excluded
// subtrees, other name types, minimum / maximum) is undefined, and the CA is replaced.
const decodeNameConstraints = (der: Uint8Array): ReadonlyArray<Subtree> | undefined => {
  const outer = readTlv(der, 0)
  if (outer === undefined || outer.tag !== 0x30 || outer.next !== der.length) return undefined
  const parts = readAll(outer.content)
  if (parts === undefined || parts.length !== 1 || parts[0]!.tag !== 0xa0) return undefined
  const entries = readAll(parts[0]!.content)
  if (entries === undefined || entries.length === 0) return undefined
  const subtrees: Array<Subtree> = []
  for (const entry of entries) {
    const inner = entry.tag === 0x30 ? readAll(entry.content) : undefined
    if (inner === undefined || inner.length !== 1) return undefined
    const name = inner[0]!
    if (name.tag === 0x82) {
      subtrees.push({ type: "dns", base: Buffer.from(name.content).toString("ascii").toLowerCase() })
    } else if (name.tag === 0x87 && (name.content.length === 8 || name.content.length === 32)) {
      const half = name.content.length / 2
      subtrees.push({ type: "ip", address: name.content.slice(0, half), mask: name.content.slice(half) })
    } else {
      return undefined
    }
  }
  return subtrees
}

// --- loading ----------------------------------------------------------------------------------------------------

interface CaMaterial {
  readonly cert: NodeCrypto.X509Certificate
  readonly name: X509.Name
  readonly certPem: string
  readonly keyPem: string
  readonly signingKey: CryptoKey
  readonly keyId: string
  readonly constraints: ReadonlyArray<Subtree>
}

interface LeafMaterial {
  readonly certPem: string
  readonly keyPem: string
}

const isCurrent = (cert: NodeCrypto.X509Certificate, now: number, margin: number): boolean =>
  Date.parse(cert.validFrom) <= now && Date.parse(cert.validTo) - margin > now

// Anything unreadable or inconsistent is "absent": the caller regenerates. So is a CA without a critical Name
// Constraints extension covering `names` (one made before constraints existed, or for other names): trusting it would
// let its key vouch for any name. Only I/O errors other than ENOENT fail, because silently replacing a CA we could
// not read (permissions) would break users who trusted it.
const loadCa = (
  certPath: string,
  keyPath: string,
  names: ReadonlyArray<SanName>,
  now: number
): Effect.Effect<Option.Option<CaMaterial>, TlsError> =>
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
      const extension = parsed.extensions.find((candidate) => candidate.type === NAME_CONSTRAINTS_OID)
      const constraints = extension?.critical === true
        ? decodeNameConstraints(new Uint8Array(extension.value))
        : undefined
      if (constraints === undefined || !names.every((name) => nameCovered(constraints, name))) return Option.none()
      return Option.some({
        cert,
        name: parsed.subjectName,
        certPem: certPem.value,
        keyPem: keyPem.value,
        signingKey,
        keyId,
        constraints
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

const createCa = (constraints: ReadonlyArray<Subtree>, now: number): Effect.Effect<CaMaterial, TlsError> =>
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
          ski,
          // Critical, as RFC 5280 requires: a client that cannot enforce the constraints must refuse the CA.
          new x509.Extension(NAME_CONSTRAINTS_OID, true, encodeNameConstraints(constraints))
        ]
      }, x509Crypto)
      const certPem = generated.toString("pem")
      return {
        cert: new NodeCrypto.X509Certificate(certPem),
        name: generated.subjectName,
        certPem,
        keyPem: await privateKeyPem(keys.privateKey),
        signingKey: keys.privateKey,
        keyId: ski.keyId,
        constraints
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

const hasCode = (cause: unknown, code: string): boolean =>
  typeof cause === "object" && cause !== null && "code" in cause && cause.code === code

const isNotFound = (cause: unknown): boolean => hasCode(cause, "ENOENT")

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

// Write-then-rename so a concurrent reader (another emulator starting) never sees half a PEM file. Owner-only, the
// certificates too: the directory is private anyway, and one mode for everything is one thing to check.
const writePem = (path: string, contents: string, mode: number = 0o600): Effect.Effect<void, TlsError> =>
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
      const contents = "# Generated by key-vault-emulator: contains private keys.\n*\n"
      await Fs.writeFile(path, contents, { flag: "wx", mode: 0o600 })
    } catch (cause) {
      if (!hasCode(cause, "EEXIST")) throw cause
    }
  })
}

const modeText = (mode: number): string => `0${(mode & 0o777).toString(8)}`

// The directory holds the CA key: a CA others can read is a CA others can sign with, and one others can write is
// one they can swap. POSIX only: Windows has ACLs, not mode bits (a new directory inherits its parent's ACL).
const secureStateDir = (stateDir: string, files: ReadonlyArray<string>): Effect.Effect<void, TlsError> =>
  Effect.gen(function*() {
    yield* tryFs("create state directory", stateDir, async () => {
      // Parents get the usual mode; only the state directory itself has to be private.
      await Fs.mkdir(Path.dirname(stateDir), { recursive: true })
      try {
        await Fs.mkdir(stateDir, { mode: 0o700 })
      } catch (cause) {
        if (!hasCode(cause, "EEXIST")) throw cause
      }
    })
    if (process.platform === "win32") return
    yield* securePath(stateDir, 0o700, true)
    for (const file of files) yield* securePath(Path.join(stateDir, file), 0o600, false)
  })

const refuseStateDir = (path: string, reason: string): TlsError =>
  new TlsError({ operation: "state directory check", path, reason })

// Owned by the current user, with no group or other permission bits; loose modes are tightened (with a warning on
// the log), anything that cannot be fixed is refused with what to do about it.
const securePath = (path: string, privateMode: number, directory: boolean): Effect.Effect<void, TlsError> =>
  Effect.gen(function*() {
    const stat = yield* tryFs("state directory check", path, async () => {
      try {
        return await Fs.stat(path)
      } catch (cause) {
        if (isNotFound(cause)) return undefined
        throw cause
      }
    })
    if (stat === undefined) return
    if (directory && !stat.isDirectory()) return yield* refuseStateDir(path, "it is not a directory")
    const uid = process.getuid?.()
    if (uid !== undefined && stat.uid !== uid) {
      return yield* refuseStateDir(
        path,
        `it belongs to user id ${stat.uid}, not to the user running the emulator (${uid}), and its owner could ` +
          `read or replace the CA key. Use a directory of your own (--state-dir) or change its owner.`
      )
    }
    if ((stat.mode & 0o077) === 0) return
    yield* Effect.tryPromise({
      try: () => Fs.chmod(path, privateMode),
      catch: (cause) =>
        refuseStateDir(
          path,
          `other users can access it (mode ${modeText(stat.mode)}) and making it private failed` +
            `${cause instanceof Error ? ` (${cause.message})` : ""}. Run chmod ${modeText(privateMode)} on it or ` +
            `use another --state-dir.`
        )
    })
    yield* Effect.logWarning(
      `key-vault-emulator: ${path} was accessible to other users (mode ${modeText(stat.mode)}); now ` +
        `${modeText(privateMode)}. If others could read the keys in it, delete the state directory to get new ones.`
    )
  })
