/**
 * EMSA-PSS (RFC 8017 §9.1) over a digest, with MGF1 on the same hash and salt length = hash length, as Key Vault
 * signs PS256/PS384/PS512. Node signs and verifies PSS only over a message it hashes itself, and Key Vault hands over
 * a digest, so the encoding is done here around a raw RSA operation: the emulator encodes before its private-key
 * operation, the client (and the emulator's verify) decode after the public-key one.
 *
 * @since 0.1.0
 */
import { createHash, randomBytes } from "node:crypto"
import { HASH_LENGTH, type HashName } from "./Algorithms.js"
import { concat, constantTimeEqual } from "./Bytes.js"

const hash = (name: HashName, ...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const h = createHash(name)
  for (const part of parts) h.update(part)
  return new Uint8Array(h.digest())
}

/**
 * MGF1 (RFC 8017 appendix B.2.1).
 *
 * @since 0.1.0
 * @category utils
 */
export const mgf1 = (name: HashName, seed: Uint8Array, length: number): Uint8Array => {
  const out = new Uint8Array(length)
  const counter = new Uint8Array(4)
  const view = new DataView(counter.buffer)
  for (let offset = 0, c = 0; offset < length; c++) {
    view.setUint32(0, c)
    const block = hash(name, seed, counter)
    out.set(block.subarray(0, Math.min(block.length, length - offset)), offset)
    offset += block.length
  }
  return out
}

const ZEROS_8 = new Uint8Array(8)

/** The mask clearing the bits of the first byte above `emBits`. */
const topByteMask = (emLen: number, emBits: number): number => 0xff >> (8 * emLen - emBits)

/**
 * EMSA-PSS-ENCODE for a digest `mHash`; `emBits` is the modulus length in bits minus one. `undefined` when the digest
 * has the wrong length or the modulus is too small for the hash and salt (never for the key sizes Key Vault creates).
 * `salt` is for known-answer tests; by default a fresh random salt of hash length.
 *
 * @since 0.1.0
 * @category utils
 */
export const encode = (
  name: HashName,
  mHash: Uint8Array,
  emBits: number,
  salt: Uint8Array = new Uint8Array(randomBytes(HASH_LENGTH[name]))
): Uint8Array | undefined => {
  const hLen = HASH_LENGTH[name]
  const sLen = salt.length
  const emLen = Math.ceil(emBits / 8)
  if (mHash.length !== hLen || emLen < hLen + sLen + 2) return undefined
  const h = hash(name, ZEROS_8, mHash, salt)
  const db = new Uint8Array(emLen - hLen - 1)
  db[emLen - sLen - hLen - 2] = 0x01
  db.set(salt, emLen - sLen - hLen - 1)
  const mask = mgf1(name, h, db.length)
  for (let i = 0; i < db.length; i++) db[i] = db[i]! ^ mask[i]!
  db[0] = db[0]! & topByteMask(emLen, emBits)
  return concat(db, h, Uint8Array.of(0xbc))
}

/**
 * EMSA-PSS-VERIFY for a digest `mHash` and an encoded message `em` of exactly `ceil(emBits / 8)` bytes, with salt
 * length = hash length.
 *
 * @since 0.1.0
 * @category utils
 */
export const verify = (name: HashName, mHash: Uint8Array, em: Uint8Array, emBits: number): boolean => {
  const hLen = HASH_LENGTH[name]
  const sLen = hLen
  const emLen = Math.ceil(emBits / 8)
  if (mHash.length !== hLen || em.length !== emLen || emLen < hLen + sLen + 2) return false
  if (em[emLen - 1] !== 0xbc) return false
  const maskedDb = em.subarray(0, emLen - hLen - 1)
  const h = em.subarray(emLen - hLen - 1, emLen - 1)
  const topMask = topByteMask(emLen, emBits)
  if ((maskedDb[0]! & ~topMask & 0xff) !== 0) return false
  const mask = mgf1(name, h, maskedDb.length)
  const db = new Uint8Array(maskedDb.length)
  for (let i = 0; i < db.length; i++) db[i] = maskedDb[i]! ^ mask[i]!
  db[0] = db[0]! & topMask
  const separator = emLen - hLen - sLen - 2
  for (let i = 0; i < separator; i++) {
    if (db[i] !== 0) return false
  }
  if (db[separator] !== 0x01) return false
  const salt = db.subarray(db.length - sLen)
  return constantTimeEqual(hash(name, ZEROS_8, mHash, salt), h)
}

/**
 * Verifies a PSS signature from the raw RSA result `m = s^e mod n` (RSAVP1, `modulusBytes` long): the bytes above
 * `emLen` must be zero (when `modBits - 1` is a multiple of 8 the encoded message is one byte shorter than the
 * modulus), the rest is EMSA-PSS-VERIFY.
 *
 * @since 0.1.0
 * @category utils
 */
export const verifyRecovered = (
  name: HashName,
  mHash: Uint8Array,
  m: Uint8Array,
  modulusBits: number
): boolean => {
  const emBits = modulusBits - 1
  const emLen = Math.ceil(emBits / 8)
  if (m.length < emLen) return false
  let high = 0
  for (let i = 0; i < m.length - emLen; i++) high |= m[i]!
  return high === 0 && verify(name, mHash, m.subarray(m.length - emLen), emBits)
}
