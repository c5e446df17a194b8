/**
 * RSA with `node:crypto`, over digests: encryption and key wrapping (RSA1_5, RSA-OAEP, RSA-OAEP-256) and signatures
 * (RS* = PKCS#1 v1.5 over `DigestInfo || digest`, PS* = PSS with salt length = hash length). Key Vault signs a
 * digest the caller computed, so nothing here hashes its input.
 *
 * Node 20 refuses `RSA_PKCS1_PADDING` in `privateDecrypt` (CVE-2023-46809, the Marvin attack), so RSA1_5 decryption
 * removes the PKCS#1 v1.5 padding itself after a raw RSA operation, without branching on where the padding is wrong.
 *
 * @since 0.1.0
 */
import type { EncryptionAlgorithm, HashName } from "@effect-azure/key-vault/crypto/Algorithms"
import { DIGEST_INFO_PREFIX, ENCRYPTION } from "@effect-azure/key-vault/crypto/Algorithms"
import { concat, leftPad } from "@effect-azure/key-vault/crypto/Bytes"
import * as LocalCrypto from "@effect-azure/key-vault/crypto/LocalCrypto"
import * as Pss from "@effect-azure/key-vault/crypto/Pss"
import * as Effect from "effect/Effect"
import type { KeyObject } from "node:crypto"
import { constants, generateKeyPair, privateDecrypt, privateEncrypt, publicEncrypt } from "node:crypto"

/**
 * A generated RSA key pair.
 *
 * @since 0.1.0
 * @category models
 */
export interface RsaKeyPair {
  readonly publicKey: KeyObject
  readonly privateKey: KeyObject
}

/**
 * Generates a key pair on libuv's thread pool, so a 4096-bit generation does not block other fibers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const generate = (modulusLength: number, publicExponent: number): Effect.Effect<RsaKeyPair> =>
  Effect.async<RsaKeyPair>((resume) => {
    generateKeyPair("rsa", { modulusLength, publicExponent }, (error, publicKey, privateKey) => {
      resume(error === null ? Effect.succeed({ publicKey, privateKey }) : Effect.die(error))
    })
  })

/**
 * The modulus length in bits.
 *
 * @since 0.1.0
 * @category utils
 */
export const modulusBits = (key: KeyObject): number => key.asymmetricKeyDetails?.modulusLength ?? 0

const modulusBytes = (key: KeyObject): number => Math.ceil(modulusBits(key) / 8)

const oaepOptions = (algorithm: EncryptionAlgorithm) => {
  const spec = ENCRYPTION[algorithm]
  return spec.oaepHash === undefined
    ? { padding: constants.RSA_PKCS1_PADDING }
    : { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: spec.oaepHash }
}

/**
 * Encrypts (or wraps) `plaintext`; the caller has checked its length against `maxPlaintextBytes`.
 *
 * @since 0.1.0
 * @category utils
 */
export const encrypt = (publicKey: KeyObject, algorithm: EncryptionAlgorithm, plaintext: Uint8Array): Uint8Array =>
  new Uint8Array(publicEncrypt({ key: publicKey, ...oaepOptions(algorithm) }, plaintext))

/**
 * Removes PKCS#1 v1.5 type-2 padding (`00 02 PS 00 M`, PS at least 8 non-zero bytes). The scan always covers the
 * whole block and accumulates its verdict with bit operations, so its timing does not reveal where the padding failed.
 */
const unpadPkcs1Type2 = (em: Uint8Array): Uint8Array | undefined => {
  let good = ((em[0] ?? 1) === 0 ? 1 : 0) & ((em[1] ?? 0) === 2 ? 1 : 0)
  let separator = 0
  let found = 0
  for (let i = 2; i < em.length; i++) {
    const isZero = (em[i] ?? 1) === 0 ? 1 : 0
    const first = isZero & (found ^ 1)
    separator = first === 1 ? i : separator
    found |= isZero
  }
  good &= found & (separator >= 10 ? 1 : 0)
  return good === 1 ? em.slice(separator + 1) : undefined
}

/**
 * Decrypts (or unwraps) `ciphertext`; undefined when it is not a valid ciphertext for this key and algorithm. The
 * reason is deliberately not reported (a padding oracle).
 *
 * @since 0.1.0
 * @category utils
 */
export const decrypt = (
  privateKey: KeyObject,
  algorithm: EncryptionAlgorithm,
  ciphertext: Uint8Array
): Uint8Array | undefined => {
  if (ciphertext.length !== modulusBytes(privateKey)) return undefined
  try {
    if (ENCRYPTION[algorithm].oaepHash === undefined) {
      const em = new Uint8Array(privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, ciphertext))
      return unpadPkcs1Type2(em)
    }
    return new Uint8Array(privateDecrypt({ key: privateKey, ...oaepOptions(algorithm) }, ciphertext))
  } catch {
    // OpenSSL throws for a ciphertext >= n or bad OAEP padding.
    return undefined
  }
}

/**
 * RSA padding of a signature algorithm.
 *
 * @since 0.1.0
 * @category models
 */
export type SignaturePadding = "pkcs1" | "pss"

const digestInfo = (hash: HashName, digest: Uint8Array): Uint8Array | undefined =>
  hash === "sha1" ? undefined : concat(DIGEST_INFO_PREFIX[hash], digest)

/**
 * Signs a digest (its length already checked against the hash).
 *
 * @since 0.1.0
 * @category utils
 */
export const signDigest = (
  privateKey: KeyObject,
  padding: SignaturePadding,
  hash: HashName,
  digest: Uint8Array
): Uint8Array => {
  if (padding === "pkcs1") {
    const message = digestInfo(hash, digest)
    if (message === undefined) throw new Error(`no DigestInfo for ${hash}`)
    // privateEncrypt with PKCS#1 padding applies block type 1, the signature padding.
    return new Uint8Array(privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, message))
  }
  const bits = modulusBits(privateKey)
  const em = Pss.encode(hash, digest, bits - 1)
  const block = em === undefined ? undefined : leftPad(em, modulusBytes(privateKey))
  if (block === undefined) throw new Error("modulus too small for PSS with this hash")
  return new Uint8Array(privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, block))
}

/**
 * Verifies a signature over a digest; false for any malformed signature. The client's local verification does the
 * work, so the emulator and the client can never disagree about a signature.
 *
 * @since 0.1.0
 * @category utils
 */
export const verifyDigest = (
  publicKey: KeyObject,
  padding: SignaturePadding,
  hash: HashName,
  digest: Uint8Array,
  signature: Uint8Array
): boolean => {
  const key = LocalCrypto.fromRsaPublicKey(publicKey)
  if (key === undefined) return false
  return padding === "pkcs1"
    ? LocalCrypto.verifyPkcs1(key, hash, digest, signature)
    : LocalCrypto.verifyPss(key, hash, digest, signature)
}
