/**
 * EMSA-PSS encoding and verification (RFC 8017 §9.1) over a precomputed digest, with MGF1 on the same hash and a salt
 * as long as the hash, which is what Key Vault's PS256/PS384/PS512 use. Node's `crypto.sign` would hash the input
 * again, so the vault builds the encoded message itself and applies the raw RSA operation.
 *
 * @since 0.1.0
 */
import type { HashName } from "@effect-azure/key-vault/crypto/Algorithms"
import { HASH_LENGTH } from "@effect-azure/key-vault/crypto/Algorithms"
import { createHash, randomBytes } from "node:crypto"
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
 */
export const mgf1 = (name: HashName, seed: Uint8Array, length: number): Uint8Array => {
  const out = new Uint8Array(length)
  const counter = new Uint8Array(4)
  for (let offset = 0, c = 0; offset < length; c++) {
    new DataView(counter.buffer).setUint32(0, c)
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
 * EMSA-PSS-ENCODE for a digest `mHash`; `emBits` is the modulus length in bits minus one. Undefined when the modulus
 * is too small for the hash (never for the key sizes Key Vault creates).
 *
 * @since 0.1.0
 */
export const encode = (name: HashName, mHash: Uint8Array, emBits: number): Uint8Array | undefined => {
  const hLen = HASH_LENGTH[name]
  const sLen = hLen
  const emLen = Math.ceil(emBits / 8)
  if (mHash.length !== hLen || emLen < hLen + sLen + 2) return undefined
  const salt = new Uint8Array(randomBytes(sLen))
  const h = hash(name, ZEROS_8, mHash, salt)
  const db = new Uint8Array(emLen - hLen - 1)
  db[emLen - sLen - hLen - 2] = 0x01
  db.set(salt, emLen - sLen - hLen - 1)
  const mask = mgf1(name, h, db.length)
  for (let i = 0; i < db.length; i++) db[i] = (db[i] ?? 0) ^ (mask[i] ?? 0)
  db[0] = (db[0] ?? 0) & topByteMask(emLen, emBits)
  return concat(db, h, Uint8Array.of(0xbc))
}

/**
 * EMSA-PSS-VERIFY for a digest `mHash` and an encoded message of `ceil(emBits / 8)` bytes.
 *
 * @since 0.1.0
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
  if (((maskedDb[0] ?? 0) & ~topMask & 0xff) !== 0) return false
  const mask = mgf1(name, h, maskedDb.length)
  const db = new Uint8Array(maskedDb.length)
  for (let i = 0; i < db.length; i++) db[i] = (maskedDb[i] ?? 0) ^ (mask[i] ?? 0)
  db[0] = (db[0] ?? 0) & topMask
  const separator = emLen - hLen - sLen - 2
  for (let i = 0; i < separator; i++) {
    if (db[i] !== 0) return false
  }
  if (db[separator] !== 0x01) return false
  const salt = db.subarray(db.length - sLen)
  return constantTimeEqual(hash(name, ZEROS_8, mHash, salt), h)
}
