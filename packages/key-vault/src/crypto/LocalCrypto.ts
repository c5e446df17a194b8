/**
 * Public-key cryptography the client can do on its own once it holds a key's public JWK: RSA encryption (all three
 * paddings) and signature verification over a *digest* (RS* as PKCS#1 v1.5 over DigestInfo, PS* as real EMSA-PSS
 * with salt length = hash length, ES* as raw `r||s` ECDSA). Nothing here hashes a digest again.
 *
 * Every function is synchronous and pure apart from `node:crypto`; the `Cryptography` service wraps them in Effects.
 *
 * @since 0.1.0
 */
import { p256, p384, p521 } from "@noble/curves/nist.js"
import { secp256k1 } from "@noble/curves/secp256k1.js"
import * as Crypto from "node:crypto"
import type { PublicJsonWebKey } from "../keys/Key.js"
import {
  CURVE_BYTES,
  type CurveName,
  DIGEST_INFO_PREFIX,
  ENCRYPTION,
  type EncryptionAlgorithm,
  familyOf,
  HASH_LENGTH,
  type HashName,
  isCurveName,
  SIGNATURE,
  type SignatureAlgorithm
} from "./Algorithms.js"
import { unsignedLength } from "./AlgorithmValidator.js"

/**
 * A public key ready for local use.
 *
 * @since 0.1.0
 */
export type LocalKey =
  | {
    readonly kind: "RSA"
    readonly publicKey: Crypto.KeyObject
    /** Modulus length in bits and bytes (`k` of RFC 8017). */
    readonly modulusBits: number
    readonly modulusBytes: number
  }
  | {
    readonly kind: "EC"
    readonly curve: CurveName
    /** The uncompressed SEC1 point `04 || x || y`. */
    readonly point: Uint8Array
  }

const stripLeadingZeros = (bytes: Uint8Array): Uint8Array => bytes.subarray(bytes.length - unsignedLength(bytes))

const leftPad = (bytes: Uint8Array, length: number): Uint8Array | undefined => {
  const value = stripLeadingZeros(bytes)
  if (value.length > length) return undefined
  const out = new Uint8Array(length)
  out.set(value, length - value.length)
  return out
}

/**
 * Prepares a public JWK for local use; `undefined` when the JWK is not an RSA or EC public key this module can use
 * (then every operation goes to the vault).
 *
 * @since 0.1.0
 */
export const fromJwk = (jwk: PublicJsonWebKey): LocalKey | undefined => {
  const family = familyOf(jwk.kty)
  if (family === "RSA" && jwk.n !== undefined && jwk.e !== undefined) {
    const n = stripLeadingZeros(jwk.n)
    if (n.length === 0) return undefined
    try {
      const publicKey = Crypto.createPublicKey({
        key: {
          kty: "RSA",
          n: Buffer.from(n).toString("base64url"),
          e: Buffer.from(stripLeadingZeros(jwk.e)).toString("base64url")
        },
        format: "jwk"
      })
      const modulusBits = (n.length - 1) * 8 + (32 - Math.clz32(n[0]!))
      return { kind: "RSA", publicKey, modulusBits, modulusBytes: n.length }
    } catch {
      return undefined
    }
  }
  if (family === "EC" && jwk.crv !== undefined && isCurveName(jwk.crv) && jwk.x !== undefined && jwk.y !== undefined) {
    const size = CURVE_BYTES[jwk.crv]
    const x = leftPad(jwk.x, size)
    const y = leftPad(jwk.y, size)
    if (x === undefined || y === undefined) return undefined
    const point = new Uint8Array(1 + 2 * size)
    point[0] = 0x04
    point.set(x, 1)
    point.set(y, 1 + size)
    try {
      // Reject points off the curve now rather than answering "invalid signature" for every verify later.
      curveOf(jwk.crv).Point.fromBytes(point).assertValidity()
    } catch {
      return undefined
    }
    return { kind: "EC", curve: jwk.crv, point }
  }
  return undefined
}

const curveOf = (curve: CurveName) =>
  curve === "P-256" ? p256 : curve === "P-384" ? p384 : curve === "P-521" ? p521 : secp256k1

/**
 * Hashes data with one of the signature hashes (for `signData` / `verifyData`).
 *
 * @since 0.1.0
 */
export const hash = (name: HashName, data: Uint8Array): Uint8Array =>
  new Uint8Array(Crypto.createHash(name).update(data).digest())

/**
 * RSA encryption with the algorithm's padding. Throws only when the plaintext does not fit the modulus, which the
 * validator rules out beforehand.
 *
 * @since 0.1.0
 */
export const encrypt = (
  key: Extract<LocalKey, { readonly kind: "RSA" }>,
  algorithm: EncryptionAlgorithm,
  plaintext: Uint8Array
): Uint8Array => {
  const spec = ENCRYPTION[algorithm]
  const options: Crypto.RsaPublicKey & { oaepHash?: string } = spec.padding === "pkcs1"
    ? { key: key.publicKey, padding: Crypto.constants.RSA_PKCS1_PADDING }
    : { key: key.publicKey, padding: Crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: spec.oaepHash! }
  return new Uint8Array(Crypto.publicEncrypt(options, plaintext))
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && Crypto.timingSafeEqual(a, b)

/** RSAVP1: `s^e mod n`, as `k` bytes; undefined when `s` is not below `n`. */
const rsaPublicRaw = (key: Extract<LocalKey, { readonly kind: "RSA" }>, signature: Uint8Array): Uint8Array | undefined => {
  try {
    return new Uint8Array(Crypto.publicDecrypt({ key: key.publicKey, padding: Crypto.constants.RSA_NO_PADDING }, signature))
  } catch {
    return undefined
  }
}

/** RSASSA-PKCS1-v1_5 verification over a digest: the recovered block must be `DigestInfo(hash) || digest`. */
const verifyPkcs1 = (
  key: Extract<LocalKey, { readonly kind: "RSA" }>,
  hashName: "sha256" | "sha384" | "sha512",
  digest: Uint8Array,
  signature: Uint8Array
): boolean => {
  if (signature.length !== key.modulusBytes) return false
  let recovered: Uint8Array
  try {
    // OpenSSL checks the 00 01 FF..FF 00 block and hands back what follows it.
    recovered = new Uint8Array(
      Crypto.publicDecrypt({ key: key.publicKey, padding: Crypto.constants.RSA_PKCS1_PADDING }, signature)
    )
  } catch {
    return false
  }
  const prefix = DIGEST_INFO_PREFIX[hashName]
  const expected = new Uint8Array(prefix.length + digest.length)
  expected.set(prefix)
  expected.set(digest, prefix.length)
  return equalBytes(recovered, expected)
}

/** MGF1 (RFC 8017 B.2.1) with `hashName`. */
const mgf1 = (hashName: HashName, seed: Uint8Array, length: number): Uint8Array => {
  const out = new Uint8Array(length)
  const counter = new Uint8Array(4)
  let offset = 0
  for (let i = 0; offset < length; i++) {
    new DataView(counter.buffer).setUint32(0, i)
    const block = Crypto.createHash(hashName).update(seed).update(counter).digest()
    out.set(block.subarray(0, Math.min(block.length, length - offset)), offset)
    offset += block.length
  }
  return out
}

/**
 * RSASSA-PSS verification over a digest (RFC 8017 §8.1.2 with EMSA-PSS-VERIFY, §9.1.2), MGF1 with the same hash and
 * salt length = hash length, as Key Vault signs. Done by hand on the raw RSA result because Node only verifies PSS
 * over a message it hashes itself.
 *
 * @since 0.1.0
 */
export const verifyPss = (
  key: Extract<LocalKey, { readonly kind: "RSA" }>,
  hashName: HashName,
  digest: Uint8Array,
  signature: Uint8Array
): boolean => {
  const hLen = HASH_LENGTH[hashName]
  const sLen = hLen
  if (signature.length !== key.modulusBytes || digest.length !== hLen) return false
  const m = rsaPublicRaw(key, signature)
  if (m === undefined || m.length !== key.modulusBytes) return false
  const emBits = key.modulusBits - 1
  const emLen = Math.ceil(emBits / 8)
  // When modBits - 1 is a multiple of 8 the encoded message is one byte shorter than the modulus: that byte is zero.
  for (let i = 0; i < m.length - emLen; i++) if (m[i] !== 0) return false
  const em = m.subarray(m.length - emLen)
  if (emLen < hLen + sLen + 2 || em[emLen - 1] !== 0xbc) return false
  const maskedDb = em.subarray(0, emLen - hLen - 1)
  const h = em.subarray(emLen - hLen - 1, emLen - 1)
  const unusedBits = 8 * emLen - emBits
  const topMask = 0xff >> unusedBits
  if ((maskedDb[0]! & ~topMask & 0xff) !== 0) return false
  const dbMask = mgf1(hashName, h, maskedDb.length)
  const db = new Uint8Array(maskedDb.length)
  for (let i = 0; i < db.length; i++) db[i] = maskedDb[i]! ^ dbMask[i]!
  db[0] = db[0]! & topMask
  const padLength = emLen - hLen - sLen - 2
  for (let i = 0; i < padLength; i++) if (db[i] !== 0) return false
  if (db[padLength] !== 0x01) return false
  const salt = db.subarray(db.length - sLen)
  const hPrime = Crypto.createHash(hashName).update(new Uint8Array(8)).update(digest).update(salt).digest()
  return equalBytes(h, hPrime)
}

/**
 * ECDSA verification of a raw `r||s` signature over a digest, with no further hashing and high-S signatures accepted
 * (OpenSSL and the vault do not normalise S).
 *
 * @since 0.1.0
 */
export const verifyEcdsa = (
  key: Extract<LocalKey, { readonly kind: "EC" }>,
  digest: Uint8Array,
  signature: Uint8Array
): boolean => {
  if (signature.length !== 2 * CURVE_BYTES[key.curve]) return false
  try {
    return curveOf(key.curve).verify(signature, digest, key.point, { prehash: false, lowS: false })
  } catch {
    return false
  }
}

/**
 * Verifies a signature over a digest with the algorithm's scheme. The key must fit the algorithm (the validator
 * checks that first); a key of the wrong kind verifies nothing.
 *
 * @since 0.1.0
 */
export const verify = (
  key: LocalKey,
  algorithm: SignatureAlgorithm,
  digest: Uint8Array,
  signature: Uint8Array
): boolean => {
  const spec = SIGNATURE[algorithm]
  if (spec.family === "EC") return key.kind === "EC" && key.curve === spec.curve && verifyEcdsa(key, digest, signature)
  if (key.kind !== "RSA" || spec.hash === "sha1") return false
  return spec.padding === "pss"
    ? verifyPss(key, spec.hash, digest, signature)
    : verifyPkcs1(key, spec.hash, digest, signature)
}
