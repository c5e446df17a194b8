/**
 * The algorithm validator: pure checks that a cryptographic operation can succeed with a key, run before any request
 * (and before any local computation). Algorithm known for the operation; key family and curve fit the algorithm;
 * digest length matches the hash; the operation is in the key's `key_ops`; the key is enabled and `now` lies inside
 * its validity window; a plaintext fits the modulus.
 *
 * The checks that need no key (`checkAlgorithm`, `checkDigest`) are separate so that a bad algorithm or digest fails
 * before the key is even fetched. Messages name algorithms, lengths and dates, never the data.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { ValidationError } from "../errors/KeyVaultError.js"
import type { KeyVaultKey } from "../keys/Key.js"
import {
  ENCRYPTION,
  type EncryptionAlgorithm,
  type EncryptionSpec,
  familyOf,
  HASH_LENGTH,
  isEncryptionAlgorithm,
  isSignatureAlgorithm,
  maxPlaintextBytes,
  SIGNATURE,
  type SignatureAlgorithm,
  type SignatureSpec
} from "./Algorithms.js"
import * as Bytes from "./Bytes.js"

/**
 * The key operations a cryptography call performs, by their JWK `key_ops` names.
 *
 * @since 0.1.0
 * @category models
 */
export type CryptoOperation = "encrypt" | "decrypt" | "wrapKey" | "unwrapKey" | "sign" | "verify"

/**
 * An algorithm that passed `checkAlgorithm`, with its table entry.
 *
 * @since 0.1.0
 * @category models
 */
export type CheckedAlgorithm =
  | { readonly kind: "encryption"; readonly algorithm: EncryptionAlgorithm; readonly spec: EncryptionSpec }
  | { readonly kind: "signature"; readonly algorithm: SignatureAlgorithm; readonly spec: SignatureSpec }

/**
 * What the validator needs to know about a key.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyFacts {
  readonly keyType: string
  readonly curve: string | undefined
  /** Length of the RSA modulus in bytes (leading zero bytes not counted); undefined for other keys. */
  readonly modulusBytes: number | undefined
  readonly keyOperations: ReadonlyArray<string>
  readonly enabled: boolean | undefined
  readonly notBefore: Date | undefined
  readonly expiresOn: Date | undefined
}

/**
 * The length of an unsigned big-endian integer in bytes, ignoring leading zero bytes (some producers add one).
 *
 * @since 0.1.0
 * @category utils
 */
export const unsignedLength: (bytes: Uint8Array) => number = Bytes.unsignedLength

/**
 * The facts of a key as the vault describes it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const factsOf = (key: KeyVaultKey): KeyFacts => ({
  keyType: key.keyType,
  curve: key.key.crv,
  modulusBytes: key.key.n === undefined ? undefined : unsignedLength(key.key.n),
  keyOperations: key.keyOperations,
  enabled: key.properties.enabled,
  notBefore: key.properties.notBefore,
  expiresOn: key.properties.expiresOn
})

const invalid = (operation: string, field: string, message: string): Either.Either<never, ValidationError> =>
  Either.left(new ValidationError({ operation, field, message }))

const ENCRYPTION_OPERATIONS: ReadonlyArray<CryptoOperation> = ["encrypt", "decrypt", "wrapKey", "unwrapKey"]

const describe = (algorithm: unknown): string =>
  typeof algorithm === "string" ? JSON.stringify(algorithm.slice(0, 40)) : typeof algorithm

/**
 * The algorithm is a known one for this operation: RSA1_5 / RSA-OAEP / RSA-OAEP-256 for encrypt, decrypt, wrapKey and
 * unwrapKey; RS*, PS*, ES* for sign and verify.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkAlgorithm = (
  operation: string,
  op: CryptoOperation,
  algorithm: unknown
): Either.Either<CheckedAlgorithm, ValidationError> => {
  if (ENCRYPTION_OPERATIONS.includes(op)) {
    return typeof algorithm === "string" && isEncryptionAlgorithm(algorithm)
      ? Either.right({ kind: "encryption", algorithm, spec: ENCRYPTION[algorithm] })
      : invalid(
        operation,
        "algorithm",
        `unknown ${op} algorithm ${describe(algorithm)}; known: ${Object.keys(ENCRYPTION).join(", ")}`
      )
  }
  return typeof algorithm === "string" && isSignatureAlgorithm(algorithm)
    ? Either.right({ kind: "signature", algorithm, spec: SIGNATURE[algorithm] })
    : invalid(
      operation,
      "algorithm",
      `unknown signature algorithm ${describe(algorithm)}; known: ${Object.keys(SIGNATURE).join(", ")}`
    )
}

/**
 * A digest has exactly the length of the algorithm's hash (32, 48 or 64 bytes): the vault signs what it is given and
 * never hashes again, so a wrong length is always a caller's mistake.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkDigest = (
  operation: string,
  checked: CheckedAlgorithm,
  digest: Uint8Array
): Either.Either<Uint8Array, ValidationError> => {
  if (checked.kind !== "signature") return Either.right(digest)
  const expected = HASH_LENGTH[checked.spec.hash]
  return digest.length === expected
    ? Either.right(digest)
    : invalid(
      operation,
      "digest",
      `${checked.algorithm} signs a ${checked.spec.hash.toUpperCase()} digest of ${expected} bytes, got ${digest.length} bytes`
    )
}

/**
 * The key can perform this operation with this algorithm now: family and curve fit, the operation is in `key_ops`,
 * the key is enabled and inside its validity window, and (for encrypt / wrapKey) `inputLength` fits the modulus.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkKey = (
  operation: string,
  op: CryptoOperation,
  checked: CheckedAlgorithm,
  key: KeyFacts,
  nowMillis: number,
  inputLength: number
): Either.Either<void, ValidationError> => {
  const family = familyOf(key.keyType)
  const needed = checked.kind === "encryption" ? "RSA" : checked.spec.family
  if (family !== needed) {
    return invalid(operation, "algorithm", `${checked.algorithm} needs an ${needed} key; this key is ${key.keyType || "of unknown type"}`)
  }
  if (checked.kind === "signature" && checked.spec.family === "EC" && key.curve !== checked.spec.curve) {
    return invalid(
      operation,
      "algorithm",
      `${checked.algorithm} needs a key on curve ${checked.spec.curve}; this key is on ${key.curve ?? "an unknown curve"}`
    )
  }
  if (!key.keyOperations.includes(op)) {
    return invalid(
      operation,
      "keyOperations",
      `the key does not permit ${op}; its key_ops are [${key.keyOperations.join(", ")}]`
    )
  }
  if (key.enabled === false) return invalid(operation, "enabled", "the key is disabled")
  if (key.notBefore !== undefined && nowMillis < key.notBefore.getTime()) {
    return invalid(operation, "notBefore", `the key is not valid before ${key.notBefore.toISOString()}`)
  }
  if (key.expiresOn !== undefined && nowMillis >= key.expiresOn.getTime()) {
    return invalid(operation, "expiresOn", `the key expired at ${key.expiresOn.toISOString()}`)
  }
  if (checked.kind === "encryption" && (op === "encrypt" || op === "wrapKey") && key.modulusBytes !== undefined) {
    const max = maxPlaintextBytes(checked.algorithm, key.modulusBytes)
    if (inputLength > max) {
      const field = op === "encrypt" ? "plaintext" : "keyToWrap"
      return invalid(
        operation,
        field,
        `${field} is ${inputLength} bytes; ${checked.algorithm} with a ${key.modulusBytes * 8}-bit key takes at most ${max}`
      )
    }
  }
  return Either.right(undefined)
}

/**
 * Every check at once, for callers that already hold the key.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (input: {
  readonly operation: string
  readonly op: CryptoOperation
  readonly algorithm: unknown
  readonly key: KeyFacts
  readonly nowMillis: number
  /** The digest for sign / verify, the plaintext or ciphertext otherwise. */
  readonly payload: Uint8Array
}): Either.Either<CheckedAlgorithm, ValidationError> =>
  Either.flatMap(checkAlgorithm(input.operation, input.op, input.algorithm), (checked) =>
    Either.flatMap(checkDigest(input.operation, checked, input.payload), () =>
      Either.map(
        checkKey(input.operation, input.op, checked, input.key, input.nowMillis, input.payload.length),
        () => checked
      )))
