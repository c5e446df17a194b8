/**
 * The Key Vault algorithm table: which key type and curve each algorithm needs, which hash and digest length a
 * signature algorithm uses, which padding an encryption algorithm uses. The client's validator and local
 * cryptography and the emulator's real cryptography all read this one table.
 *
 * @since 0.1.0
 */

/**
 * Key types Key Vault creates for standard vaults (HSM variants need a Premium vault or Managed HSM).
 *
 * @since 0.1.0
 * @category models
 */
export type KeyType = "RSA" | "RSA-HSM" | "EC" | "EC-HSM" | "oct" | "oct-HSM"

/**
 * Curves, by their Key Vault names.
 *
 * @since 0.1.0
 * @category models
 */
export type CurveName = "P-256" | "P-384" | "P-521" | "P-256K"

/**
 * JSON web key operations.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyOperation = "encrypt" | "decrypt" | "sign" | "verify" | "wrapKey" | "unwrapKey" | "import" | "export"

/**
 * Every JSON web key operation.
 *
 * @since 0.1.0
 * @category constants
 */
export const KEY_OPERATIONS: ReadonlyArray<KeyOperation> = [
  "encrypt",
  "decrypt",
  "sign",
  "verify",
  "wrapKey",
  "unwrapKey",
  "import",
  "export"
]

/**
 * Hash functions by Node's names.
 *
 * @since 0.1.0
 * @category models
 */
export type HashName = "sha1" | "sha256" | "sha384" | "sha512"

/**
 * The digest length of each hash, in bytes.
 *
 * @since 0.1.0
 * @category constants
 */
export const HASH_LENGTH: Readonly<Record<HashName, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 }

/**
 * RSA encryption / key-wrap algorithms.
 *
 * @since 0.1.0
 * @category models
 */
export type EncryptionAlgorithm = "RSA1_5" | "RSA-OAEP" | "RSA-OAEP-256"

/**
 * How an encryption algorithm pads: PKCS#1 v1.5, or OAEP with one hash for both the label hash and MGF1.
 *
 * @since 0.1.0
 * @category models
 */
export interface EncryptionSpec {
  readonly padding: "pkcs1" | "oaep"
  /** OAEP hash (also used by MGF1); absent for PKCS#1 v1.5. */
  readonly oaepHash: HashName | undefined
}

/**
 * The padding (and OAEP hash) of each encryption algorithm.
 *
 * @since 0.1.0
 * @category constants
 */
export const ENCRYPTION: Readonly<Record<EncryptionAlgorithm, EncryptionSpec>> = {
  "RSA1_5": { padding: "pkcs1", oaepHash: undefined },
  "RSA-OAEP": { padding: "oaep", oaepHash: "sha1" },
  "RSA-OAEP-256": { padding: "oaep", oaepHash: "sha256" }
}

/**
 * The largest plaintext an encryption algorithm accepts for a modulus of `modulusBytes` bytes.
 *
 * @since 0.1.0
 * @category utils
 */
export const maxPlaintextBytes = (algorithm: EncryptionAlgorithm, modulusBytes: number): number => {
  const spec = ENCRYPTION[algorithm]
  return spec.oaepHash === undefined ? modulusBytes - 11 : modulusBytes - 2 * HASH_LENGTH[spec.oaepHash] - 2
}

/**
 * Signature algorithms. Each signs a *digest*; the vault never hashes again.
 *
 * @since 0.1.0
 * @category models
 */
export type SignatureAlgorithm =
  | "RS256"
  | "RS384"
  | "RS512"
  | "PS256"
  | "PS384"
  | "PS512"
  | "ES256"
  | "ES384"
  | "ES512"
  | "ES256K"

/**
 * What a signature algorithm needs: RSA with PKCS#1 v1.5 or PSS (salt length = hash length), or ECDSA on one curve
 * with raw `r||s` signatures of `2 × coordinateBytes`.
 *
 * @since 0.1.0
 * @category models
 */
export type SignatureSpec =
  | { readonly family: "RSA"; readonly padding: "pkcs1" | "pss"; readonly hash: HashName }
  | { readonly family: "EC"; readonly curve: CurveName; readonly hash: HashName }

/**
 * The key family, padding or curve, and hash of each signature algorithm.
 *
 * @since 0.1.0
 * @category constants
 */
export const SIGNATURE: Readonly<Record<SignatureAlgorithm, SignatureSpec>> = {
  RS256: { family: "RSA", padding: "pkcs1", hash: "sha256" },
  RS384: { family: "RSA", padding: "pkcs1", hash: "sha384" },
  RS512: { family: "RSA", padding: "pkcs1", hash: "sha512" },
  PS256: { family: "RSA", padding: "pss", hash: "sha256" },
  PS384: { family: "RSA", padding: "pss", hash: "sha384" },
  PS512: { family: "RSA", padding: "pss", hash: "sha512" },
  ES256: { family: "EC", curve: "P-256", hash: "sha256" },
  ES384: { family: "EC", curve: "P-384", hash: "sha384" },
  ES512: { family: "EC", curve: "P-521", hash: "sha512" },
  ES256K: { family: "EC", curve: "P-256K", hash: "sha256" }
}

/**
 * Coordinate (and private scalar) size of each curve in bytes: JWK `x`/`y` are padded to it, and an ES* signature
 * is twice as long.
 *
 * @since 0.1.0
 * @category constants
 */
export const CURVE_BYTES: Readonly<Record<CurveName, number>> = { "P-256": 32, "P-384": 48, "P-521": 66, "P-256K": 32 }

/**
 * Node's names for the curves (JWK `crv` in Node uses `secp256k1` where Key Vault says `P-256K`).
 *
 * @since 0.1.0
 * @category constants
 */
export const NODE_CURVE: Readonly<Record<CurveName, string>> = {
  "P-256": "P-256",
  "P-384": "P-384",
  "P-521": "P-521",
  "P-256K": "secp256k1"
}

/**
 * RSA key sizes Key Vault creates.
 *
 * @since 0.1.0
 * @category constants
 */
export const RSA_KEY_SIZES: ReadonlyArray<number> = [2048, 3072, 4096]

/**
 * The DER DigestInfo prefix of each hash: RS* signatures are PKCS#1 v1.5 over `prefix || digest`.
 *
 * @since 0.1.0
 * @category constants
 */
export const DIGEST_INFO_PREFIX: Readonly<Record<"sha256" | "sha384" | "sha512", Uint8Array>> = {
  sha256: Uint8Array.from([0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]),
  sha384: Uint8Array.from([0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30]),
  sha512: Uint8Array.from([0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40])
}

/**
 * Whether `alg` names an encryption / key-wrap algorithm of the table.
 *
 * @since 0.1.0
 * @category guards
 */
export const isEncryptionAlgorithm = (alg: string): alg is EncryptionAlgorithm => Object.hasOwn(ENCRYPTION, alg)

/**
 * Whether `alg` names a signature algorithm of the table.
 *
 * @since 0.1.0
 * @category guards
 */
export const isSignatureAlgorithm = (alg: string): alg is SignatureAlgorithm => Object.hasOwn(SIGNATURE, alg)

/**
 * Whether `crv` names a curve Key Vault knows (by its Key Vault name).
 *
 * @since 0.1.0
 * @category guards
 */
export const isCurveName = (crv: string): crv is CurveName => Object.hasOwn(CURVE_BYTES, crv)

/**
 * The family of a key type: `RSA-HSM` is RSA, `EC-HSM` is EC.
 *
 * @since 0.1.0
 * @category utils
 */
export const familyOf = (kty: string): "RSA" | "EC" | "oct" | undefined =>
  kty === "RSA" || kty === "RSA-HSM" ? "RSA" : kty === "EC" || kty === "EC-HSM" ? "EC" : kty === "oct" || kty === "oct-HSM" ? "oct" : undefined
