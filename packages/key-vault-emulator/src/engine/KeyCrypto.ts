/**
 * The cryptographic operations of a key version, with the service's input checks: the algorithm must be known and fit
 * the key type (and curve), a digest must have the hash's length, a plaintext must fit the padding. Every failure is a
 * `BadParameter` whose message names the algorithm and the rule, never data.
 *
 * @since 0.1.0
 */
import type { EncryptionAlgorithm, SignatureSpec } from "@effect-azure/key-vault/crypto/Algorithms"
import {
  HASH_LENGTH,
  isEncryptionAlgorithm,
  isSignatureAlgorithm,
  maxPlaintextBytes,
  SIGNATURE
} from "@effect-azure/key-vault/crypto/Algorithms"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Ecdsa from "./crypto/Ecdsa.js"
import type { RsaMaterial } from "./crypto/KeyMaterial.js"
import * as Rsa from "./crypto/Rsa.js"
import type { KeyVersion } from "./KeyVersion.js"
import { BadParameter } from "./VaultError.js"

const MAX_ECHOED_ALGORITHM_LENGTH = 32

const shown = (alg: string): string =>
  alg.length > MAX_ECHOED_ALGORITHM_LENGTH ? `${alg.slice(0, MAX_ECHOED_ALGORITHM_LENGTH)}...` : alg

const bad = (message: string): Either.Either<never, BadParameter> => Either.left(new BadParameter({ message }))

const encryptionSetup = (
  key: KeyVersion,
  alg: string
): Either.Either<{ readonly algorithm: EncryptionAlgorithm; readonly material: RsaMaterial }, BadParameter> => {
  if (!isEncryptionAlgorithm(alg)) {
    return bad(`The algorithm '${shown(alg)}' is not supported for a key of type ${key.kty}.`)
  }
  if (key.material._tag !== "RSA") return bad(`The algorithm ${alg} needs an RSA key; this key is of type ${key.kty}.`)
  return Either.right({ algorithm: alg, material: key.material })
}

const modulusBytes = (material: RsaMaterial): number => Math.ceil(Rsa.modulusBits(material.publicKey) / 8)

/**
 * Encrypts (or wraps) with RSA1_5, RSA-OAEP or RSA-OAEP-256.
 *
 * @since 0.1.0
 * @category utils
 */
export const encrypt = (key: KeyVersion, alg: string, plaintext: Uint8Array): Either.Either<Uint8Array, BadParameter> =>
  Either.flatMap(encryptionSetup(key, alg), ({ algorithm, material }) => {
    const limit = maxPlaintextBytes(algorithm, modulusBytes(material))
    if (plaintext.length > limit) {
      return bad(`The plaintext is longer than ${limit} bytes, the most ${algorithm} can encrypt with this key.`)
    }
    return Either.right(Rsa.encrypt(material.publicKey, algorithm, plaintext))
  })

/**
 * Decrypts (or unwraps); a ciphertext that does not decrypt is a `BadParameter` without further detail.
 *
 * @since 0.1.0
 * @category utils
 */
export const decrypt = (key: KeyVersion, alg: string, ciphertext: Uint8Array): Either.Either<Uint8Array, BadParameter> =>
  Either.flatMap(encryptionSetup(key, alg), ({ algorithm, material }) => {
    const plaintext = Rsa.decrypt(material.privateKey, algorithm, ciphertext)
    return plaintext === undefined
      ? bad(`The ciphertext could not be decrypted with this key and algorithm ${algorithm}.`)
      : Either.right(plaintext)
  })

const signatureSetup = (key: KeyVersion, alg: string, digest: Uint8Array): Either.Either<SignatureSpec, BadParameter> => {
  if (!isSignatureAlgorithm(alg)) {
    return bad(`The algorithm '${shown(alg)}' is not a signature algorithm supported for a key of type ${key.kty}.`)
  }
  const spec = SIGNATURE[alg]
  const material = key.material
  if (spec.family !== material._tag) {
    return bad(`The algorithm ${alg} needs an ${spec.family} key; this key is of type ${key.kty}.`)
  }
  if (spec.family === "EC" && material._tag === "EC" && spec.curve !== material.curve) {
    return bad(`The algorithm ${alg} needs a key on curve ${spec.curve}; this key is on ${material.curve}.`)
  }
  const expected = HASH_LENGTH[spec.hash]
  if (digest.length !== expected) {
    return bad(`The digest for ${alg} must be ${expected} bytes long, not ${digest.length}.`)
  }
  // PSS needs room for the hash and an equally long salt: an imported 1024-bit key cannot do PS512.
  if (spec.family === "RSA" && spec.padding === "pss" && material._tag === "RSA") {
    const emLen = Math.ceil((Rsa.modulusBits(material.publicKey) - 1) / 8)
    if (emLen < 2 * expected + 2) return bad(`The key is too small for ${alg}.`)
  }
  return Either.right(spec)
}

/**
 * Signs a digest (never hashed again): RS* and PS* over RSA, ES* as raw `r || s`.
 *
 * @since 0.1.0
 * @category utils
 */
export const sign = (key: KeyVersion, alg: string, digest: Uint8Array): Either.Either<Uint8Array, BadParameter> =>
  Either.map(signatureSetup(key, alg, digest), (spec) => {
    const material = key.material
    return material._tag === "RSA"
      ? Rsa.signDigest(material.privateKey, spec.family === "RSA" ? spec.padding : "pkcs1", spec.hash, digest)
      : Ecdsa.signDigest(material.curve, Redacted.value(material.d), digest)
  })

/**
 * Verifies a signature over a digest. A wrong signature is `false`; a wrong algorithm or digest length is an error.
 *
 * @since 0.1.0
 * @category utils
 */
export const verify = (
  key: KeyVersion,
  alg: string,
  digest: Uint8Array,
  signature: Uint8Array
): Either.Either<boolean, BadParameter> =>
  Either.map(signatureSetup(key, alg, digest), (spec) => {
    const material = key.material
    return material._tag === "RSA"
      ? Rsa.verifyDigest(material.publicKey, spec.family === "RSA" ? spec.padding : "pkcs1", spec.hash, digest, signature)
      : Ecdsa.verifyDigest(material.curve, material.x, material.y, digest, signature)
  })
