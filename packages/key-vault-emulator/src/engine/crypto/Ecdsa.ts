/**
 * ECDSA over a digest with `@noble/curves` on P-256, P-384, P-521 and P-256K (secp256k1). Node's `crypto.sign`
 * hashes its input, and Key Vault signs a digest the caller computed, so signatures are computed here with the
 * prehash switched off. Signatures are raw `r || s`, each padded to the curve's coordinate size.
 *
 * @since 0.1.0
 */
import type { CurveName } from "@effect-azure/key-vault/crypto/Algorithms"
import { CURVE_BYTES } from "@effect-azure/key-vault/crypto/Algorithms"
import * as LocalCrypto from "@effect-azure/key-vault/crypto/LocalCrypto"
import type { ECDSA } from "@noble/curves/abstract/weierstrass.js"
import { p256, p384, p521 } from "@noble/curves/nist.js"
import { secp256k1 } from "@noble/curves/secp256k1.js"

const CURVES: Readonly<Record<CurveName, ECDSA>> = {
  "P-256": p256,
  "P-384": p384,
  "P-521": p521,
  "P-256K": secp256k1
}

/**
 * An EC key: private scalar `d` and public point `(x, y)`, each exactly `CURVE_BYTES[curve]` long.
 *
 * @since 0.1.0
 * @category models
 */
export interface EcKeyBytes {
  readonly d: Uint8Array
  readonly x: Uint8Array
  readonly y: Uint8Array
}

const splitPoint = (curve: CurveName, uncompressed: Uint8Array): { readonly x: Uint8Array; readonly y: Uint8Array } => {
  const size = CURVE_BYTES[curve]
  return { x: uncompressed.slice(1, 1 + size), y: uncompressed.slice(1 + size, 1 + 2 * size) }
}

/**
 * A fresh random key.
 *
 * @since 0.1.0
 * @category constructors
 */
export const generate = (curve: CurveName): EcKeyBytes => {
  const ecdsa = CURVES[curve]
  const d = new Uint8Array(ecdsa.utils.randomSecretKey())
  return { d, ...splitPoint(curve, new Uint8Array(ecdsa.getPublicKey(d, false))) }
}

/**
 * The public point of a private scalar (`CURVE_BYTES` long); undefined when the scalar is not a valid key.
 *
 * @since 0.1.0
 * @category utils
 */
export const publicPoint = (
  curve: CurveName,
  d: Uint8Array
): { readonly x: Uint8Array; readonly y: Uint8Array } | undefined => {
  const ecdsa = CURVES[curve]
  if (d.length !== CURVE_BYTES[curve] || !ecdsa.utils.isValidSecretKey(d)) return undefined
  return splitPoint(curve, new Uint8Array(ecdsa.getPublicKey(d, false)))
}

/**
 * Signs a digest; the answer is `r || s`, `2 × CURVE_BYTES` long. Low-S normalisation is not applied: Key Vault
 * does not require it and verifiers (ours included) accept both halves.
 *
 * @since 0.1.0
 * @category utils
 */
export const signDigest = (curve: CurveName, d: Uint8Array, digest: Uint8Array): Uint8Array =>
  new Uint8Array(CURVES[curve].sign(digest, d, { prehash: false, lowS: false, format: "compact" }))

/**
 * Verifies an `r || s` signature over a digest; false for any malformed signature or point. The client's local
 * verification does the work, so the emulator and the client can never disagree about a signature. The point is
 * parsed per call and gets no multiplication table: the emulator keeps no per-key state for it.
 *
 * @since 0.1.0
 * @category utils
 */
export const verifyDigest = (
  curve: CurveName,
  x: Uint8Array,
  y: Uint8Array,
  digest: Uint8Array,
  signature: Uint8Array
): boolean => {
  const key = LocalCrypto.fromEcPoint(curve, x, y, { precomputeAfter: Number.POSITIVE_INFINITY })
  return key !== undefined && LocalCrypto.verifyEcdsa(key, digest, signature)
}
