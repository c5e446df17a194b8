/**
 * The private key material of one key version, and its conversions: generation, the public JWK members a response
 * may show, the private JWK a backup blob carries, and validation of an imported (or restored) JWK.
 *
 * Private material lives in `node:crypto` `KeyObject`s (RSA) or a `Redacted` scalar (EC), so printing or logging a
 * stored key never shows it. Validation messages describe what is wrong, never a value.
 *
 * @since 0.1.0
 */
import type { CurveName } from "@effect-azure/key-vault/crypto/Algorithms"
import { CURVE_BYTES, familyOf, isCurveName } from "@effect-azure/key-vault/crypto/Algorithms"
import type { JsonWebKey } from "@effect-azure/key-vault/wire/KeyWire"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import type { KeyObject } from "node:crypto"
import { constants, createPrivateKey, createPublicKey, privateDecrypt, publicEncrypt, randomBytes } from "node:crypto"
import {
  concat,
  constantTimeEqual,
  fromBase64Url,
  leftPad,
  stripLeadingZeros,
  toBase64Url,
  toBigInt
} from "@effect-azure/key-vault/crypto/Bytes"
import * as Ecdsa from "./Ecdsa.js"
import * as Rsa from "./Rsa.js"

/**
 * An RSA key: the private and public `KeyObject`s, and the public JWK integers (unsigned big-endian, no leading zero
 * byte).
 *
 * @since 0.1.0
 * @category models
 */
export interface RsaMaterial {
  readonly _tag: "RSA"
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  readonly n: Uint8Array
  readonly e: Uint8Array
}

/**
 * An EC key: curve, private scalar and public point, each `CURVE_BYTES[curve]` long.
 *
 * @since 0.1.0
 * @category models
 */
export interface EcMaterial {
  readonly _tag: "EC"
  readonly curve: CurveName
  readonly d: Redacted.Redacted<Uint8Array>
  readonly x: Uint8Array
  readonly y: Uint8Array
}

/**
 * The key material of a key version: RSA or EC.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyMaterial = RsaMaterial | EcMaterial

/**
 * Smallest and largest RSA moduli accepted on import. Key Vault creates 2048, 3072 and 4096 bits; older imported
 * keys may be smaller, and anything above 4096 bits would make every operation slow for no test value.
 *
 * @since 0.1.0
 * @category constants
 */
export const MIN_IMPORT_RSA_BITS = 1024

/**
 * The largest RSA modulus accepted on import, in bits (see `MIN_IMPORT_RSA_BITS`).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_IMPORT_RSA_BITS = 4096


const rsaFromKeyObjects = (privateKey: KeyObject, publicKey: KeyObject): RsaMaterial => {
  const jwk = publicKey.export({ format: "jwk" })
  return {
    _tag: "RSA",
    privateKey,
    publicKey,
    n: stripLeadingZeros(fromBase64Url(jwk.n)),
    e: stripLeadingZeros(fromBase64Url(jwk.e))
  }
}

/**
 * A new RSA key (generated off the main thread).
 *
 * @since 0.1.0
 * @category constructors
 */
export const generateRsa = (modulusLength: number, publicExponent: number): Effect.Effect<RsaMaterial> =>
  Effect.map(Rsa.generate(modulusLength, publicExponent), (pair) => rsaFromKeyObjects(pair.privateKey, pair.publicKey))

/**
 * A new EC key.
 *
 * @since 0.1.0
 * @category constructors
 */
export const generateEc = (curve: CurveName): EcMaterial => {
  const key = Ecdsa.generate(curve)
  return { _tag: "EC", curve, d: Redacted.make(key.d), x: key.x, y: key.y }
}

/**
 * The RSA modulus length in bits.
 *
 * @since 0.1.0
 * @category utils
 */
export const rsaModulusBits = (material: RsaMaterial): number => Rsa.modulusBits(material.publicKey)

const DEFAULT_PUBLIC_EXPONENT = 65537

/**
 * New material of the same shape (RSA size and public exponent, or EC curve): what rotation generates.
 *
 * @since 0.1.0
 * @category constructors
 */
export const regenerate = (material: KeyMaterial): Effect.Effect<KeyMaterial> => {
  if (material._tag === "EC") return Effect.sync(() => generateEc(material.curve))
  const e = toBigInt(material.e)
  // An imported key may carry an exponent Node cannot generate with; the service's default is the sensible stand-in.
  const exponent = e <= 0x7fffffffn && e % 2n === 1n && e > 1n ? Number(e) : DEFAULT_PUBLIC_EXPONENT
  return generateRsa(rsaModulusBits(material), exponent)
}

/**
 * The public members of the JWK (`n`/`e`, or `crv`/`x`/`y`).
 *
 * @since 0.1.0
 * @category utils
 */
export const publicJwk = (
  material: KeyMaterial
): Pick<JsonWebKey, "n" | "e" | "crv" | "x" | "y"> =>
  material._tag === "RSA"
    ? { n: material.n, e: material.e }
    : { crv: material.curve, x: material.x, y: material.y }

const redactedBytes = (s: string | undefined): Redacted.Redacted<Uint8Array> => Redacted.make(fromBase64Url(s))

/**
 * The full private JWK, for backup blobs only (never for a response).
 *
 * @since 0.1.0
 * @category utils
 */
export const privateJwk = (material: KeyMaterial): JsonWebKey => {
  if (material._tag === "EC") {
    return { kty: "EC", crv: material.curve, x: material.x, y: material.y, d: material.d }
  }
  const jwk = material.privateKey.export({ format: "jwk" })
  return {
    kty: "RSA",
    n: material.n,
    e: material.e,
    d: redactedBytes(jwk.d),
    p: redactedBytes(jwk.p),
    q: redactedBytes(jwk.q),
    dp: redactedBytes(jwk.dp),
    dq: redactedBytes(jwk.dq),
    qi: redactedBytes(jwk.qi)
  }
}

const RSA_PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi"] as const

const gcd = (a: bigint, b: bigint): bigint => {
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}

const modPow = (base: bigint, exponent: bigint, modulus: bigint): bigint => {
  let result = 1n
  let b = base % modulus
  let e = exponent
  while (e > 0n) {
    if ((e & 1n) === 1n) result = (result * b) % modulus
    b = (b * b) % modulus
    e >>= 1n
  }
  return result
}

/** The arithmetic relations between the RSA members; OpenSSL does not check them when it loads a JWK. */
const rsaConsistent = (
  n: Uint8Array,
  e: Uint8Array,
  parts: Readonly<Record<(typeof RSA_PRIVATE_MEMBERS)[number], Uint8Array>>
): boolean => {
  const N = toBigInt(n)
  const E = toBigInt(e)
  const D = toBigInt(parts.d)
  const P = toBigInt(parts.p)
  const Q = toBigInt(parts.q)
  const DP = toBigInt(parts.dp)
  const DQ = toBigInt(parts.dq)
  const QI = toBigInt(parts.qi)
  if (P < 3n || Q < 3n || P * Q !== N || E < 3n || E % 2n === 0n) return false
  const lambda = ((P - 1n) * (Q - 1n)) / gcd(P - 1n, Q - 1n)
  if ((D * E) % lambda !== 1n % lambda) return false
  if (DP !== D % (P - 1n) || DQ !== D % (Q - 1n) || (QI * Q) % P !== 1n) return false
  // A Fermat check of both primes to base 2 catches a composite "prime" that the relations above would miss.
  return modPow(2n, P - 1n, P) === 1n && modPow(2n, Q - 1n, Q) === 1n
}

/** A raw RSA round trip through both keys, as a last check that OpenSSL uses them consistently. */
const rsaPairwise = (privateKey: KeyObject, publicKey: KeyObject, modulusBytes: number): boolean => {
  const message = concat(Uint8Array.of(0), new Uint8Array(randomBytes(modulusBytes - 1)))
  const encrypted = publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, message)
  const decrypted = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, encrypted)
  return constantTimeEqual(new Uint8Array(decrypted), message)
}

const rsaFromJwk = (jwk: JsonWebKey): Either.Either<RsaMaterial, string> => {
  if (jwk.n === undefined || jwk.e === undefined) return Either.left("an RSA key needs the members 'n' and 'e'")
  const parts: Partial<Record<(typeof RSA_PRIVATE_MEMBERS)[number], Uint8Array>> = {}
  const missing: Array<string> = []
  for (const member of RSA_PRIVATE_MEMBERS) {
    const value = jwk[member]
    if (value === undefined) missing.push(member)
    else parts[member] = Redacted.value(value)
  }
  if (missing.length === RSA_PRIVATE_MEMBERS.length) {
    return Either.left("the key has no private key material; import needs the private members d, p, q, dp, dq, qi")
  }
  if (missing.length > 0) return Either.left(`the private members ${missing.join(", ")} are missing`)
  const complete = parts as Record<(typeof RSA_PRIVATE_MEMBERS)[number], Uint8Array>
  const n = stripLeadingZeros(jwk.n)
  const bits = n.length === 0 ? 0 : (n.length - 1) * 8 + (32 - Math.clz32(n[0] ?? 0))
  if (bits < MIN_IMPORT_RSA_BITS || bits > MAX_IMPORT_RSA_BITS) {
    return Either.left(`RSA keys must be ${MIN_IMPORT_RSA_BITS} to ${MAX_IMPORT_RSA_BITS} bits long`)
  }
  if (!rsaConsistent(n, jwk.e, complete)) return Either.left("the RSA key members are not consistent")
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey({
      format: "jwk",
      key: {
        kty: "RSA",
        n: toBase64Url(n),
        e: toBase64Url(stripLeadingZeros(jwk.e)),
        d: toBase64Url(complete.d),
        p: toBase64Url(complete.p),
        q: toBase64Url(complete.q),
        dp: toBase64Url(complete.dp),
        dq: toBase64Url(complete.dq),
        qi: toBase64Url(complete.qi)
      }
    })
  } catch {
    return Either.left("the RSA key could not be loaded")
  }
  const publicKey = createPublicKey(privateKey)
  if (!rsaPairwise(privateKey, publicKey, Math.ceil(bits / 8))) {
    return Either.left("the RSA key members are not consistent")
  }
  return Either.right(rsaFromKeyObjects(privateKey, publicKey))
}

const ecFromJwk = (jwk: JsonWebKey): Either.Either<EcMaterial, string> => {
  if (jwk.crv === undefined) return Either.left("an EC key needs the member 'crv'")
  if (!isCurveName(jwk.crv)) return Either.left("the curve must be one of P-256, P-384, P-521, P-256K")
  const curve = jwk.crv
  if (jwk.d === undefined) return Either.left("the key has no private key material; import needs the private member d")
  if (jwk.x === undefined || jwk.y === undefined) return Either.left("an EC key needs the members 'x' and 'y'")
  const size = CURVE_BYTES[curve]
  const d = leftPad(Redacted.value(jwk.d), size)
  const x = leftPad(jwk.x, size)
  const y = leftPad(jwk.y, size)
  if (d === undefined || x === undefined || y === undefined) {
    return Either.left(`the members of a ${curve} key are at most ${size} bytes long`)
  }
  const point = Ecdsa.publicPoint(curve, d)
  if (point === undefined) return Either.left("the private scalar is not valid for the curve")
  if (!constantTimeEqual(point.x, x) || !constantTimeEqual(point.y, y)) {
    return Either.left("the public point does not match the private scalar")
  }
  return Either.right({ _tag: "EC", curve, d: Redacted.make(d), x, y })
}

/**
 * Validates a JWK with private members (an import, or a backup being restored) into key material. The error is the
 * reason, fit for a `BadParameter` message: it names members and rules, never values.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromJwk = (jwk: JsonWebKey): Either.Either<KeyMaterial, string> => {
  if (jwk.kty === undefined) return Either.left("the member 'kty' is missing")
  if (jwk.key_hsm !== undefined) return Either.left("BYOK transfer blobs ('key_hsm') are not supported")
  switch (familyOf(jwk.kty)) {
    case "RSA":
      return rsaFromJwk(jwk)
    case "EC":
      return ecFromJwk(jwk)
    case "oct":
      return Either.left("symmetric (oct) keys are only supported by Managed HSM")
    case undefined:
      return Either.left("the key type must be RSA, RSA-HSM, EC or EC-HSM")
  }
}

/**
 * Whether a key type names the material's family (`RSA-HSM` holds RSA material).
 *
 * @since 0.1.0
 * @category guards
 */
export const familyMatches = (kty: string, material: KeyMaterial): boolean => familyOf(kty) === material._tag
