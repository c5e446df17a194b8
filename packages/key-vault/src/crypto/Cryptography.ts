/**
 * The `Cryptography` service: encrypt, decrypt, sign, verify, wrap and unwrap with a vault key, addressed by name
 * (and optional version) or by key identifier.
 *
 * Before any request, every call is checked by the algorithm validator against the key's public JWK and attributes,
 * which the service fetches once per key (and keeps in the `KeyMaterialCache` until `Keys` changes the key). With the
 * public key at hand, encrypt, wrapKey and verify run locally (mode `auto`, the default); decrypt, unwrapKey and sign
 * always go to the vault, which alone holds the private key.
 *
 * Spans carry the vault host, key name, operation, algorithm and `keyvault.crypto_location` (`local` / `remote`),
 * never plaintexts, unwrapped keys or signatures.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { NotFoundError, RequestError, ValidationError } from "../errors/KeyVaultError.js"
import type { KeyVaultKey } from "../keys/Key.js"
import { keyFromWire } from "../keys/Key.js"
import { KeyMaterialCache } from "../keys/KeyMaterialCache.js"
import { decode, KeyVaultTransport } from "../transport/Transport.js"
import * as Operation from "../internal/Operation.js"
import * as Validation from "../validation/Validation.js"
import * as KeyWire from "../wire/KeyWire.js"
import { type EncryptionAlgorithm, HASH_LENGTH, type SignatureAlgorithm } from "./Algorithms.js"
import * as AlgorithmValidator from "./AlgorithmValidator.js"
import * as LocalCrypto from "./LocalCrypto.js"
import * as RateLimiter from "../resilience/RateLimiter.js"

/**
 * A key to work with: its identifier (`https://{vault}/keys/{name}[/{version}]`, which must be on this client's
 * vault), or its name with an optional version. Without a version the latest version does the work.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyReference = string | { readonly name: string; readonly version?: string | undefined }

/**
 * `auto` (default): public-key operations (encrypt, wrapKey, verify) run locally once the public key is known.
 * `remote-only`: every operation goes to the vault (the key is still fetched once, for validation).
 *
 * @since 0.1.0
 * @category models
 */
export type LocalCryptographyMode = "auto" | "remote-only"

/**
 * Options of the service.
 *
 * @since 0.1.0
 * @category models
 */
export interface CryptographyOptions {
  readonly localCryptography?: LocalCryptographyMode | undefined
}

/**
 * The outcome of encrypt, decrypt, wrapKey, unwrapKey, sign and signData.
 *
 * @since 0.1.0
 * @category models
 */
export interface CryptographyResult<A extends string = string> {
  readonly result: Uint8Array
  /** The identifier (with version) of the key that did the work. */
  readonly keyId: string
  readonly algorithm: A
}

/**
 * The outcome of verify and verifyData.
 *
 * @since 0.1.0
 * @category models
 */
export interface VerifyResult<A extends string = string> {
  readonly isValid: boolean
  /** The identifier (with version) of the key that checked the signature. */
  readonly keyId: string
  readonly algorithm: A
}

/**
 * What any cryptography call can raise: input refused (also when the key does not permit the operation, is disabled or
 * outside its validity window), the key or version missing, or a request error.
 *
 * @since 0.1.0
 * @category errors
 */
export type CryptographyError = ValidationError | NotFoundError | RequestError

/**
 * The cryptography service.
 *
 * @since 0.1.0
 * @category services
 */
export interface CryptographyService {
  /** Encrypts a short plaintext (at most `maxPlaintextBytes` for the modulus) with an RSA key. */
  readonly encrypt: (
    key: KeyReference,
    algorithm: EncryptionAlgorithm,
    plaintext: Uint8Array
  ) => Effect.Effect<CryptographyResult<EncryptionAlgorithm>, CryptographyError>
  /** Decrypts in the vault. */
  readonly decrypt: (
    key: KeyReference,
    algorithm: EncryptionAlgorithm,
    ciphertext: Uint8Array
  ) => Effect.Effect<CryptographyResult<EncryptionAlgorithm>, CryptographyError>
  /** Wraps (encrypts) a symmetric key with an RSA key. */
  readonly wrapKey: (
    key: KeyReference,
    algorithm: EncryptionAlgorithm,
    keyToWrap: Uint8Array
  ) => Effect.Effect<CryptographyResult<EncryptionAlgorithm>, CryptographyError>
  /** Unwraps in the vault. */
  readonly unwrapKey: (
    key: KeyReference,
    algorithm: EncryptionAlgorithm,
    wrappedKey: Uint8Array
  ) => Effect.Effect<CryptographyResult<EncryptionAlgorithm>, CryptographyError>
  /** Signs a digest (of the algorithm's hash length) in the vault. */
  readonly sign: (
    key: KeyReference,
    algorithm: SignatureAlgorithm,
    digest: Uint8Array
  ) => Effect.Effect<CryptographyResult<SignatureAlgorithm>, CryptographyError>
  /** Verifies a signature over a digest. */
  readonly verify: (
    key: KeyReference,
    algorithm: SignatureAlgorithm,
    digest: Uint8Array,
    signature: Uint8Array
  ) => Effect.Effect<VerifyResult<SignatureAlgorithm>, CryptographyError>
  /** Hashes `data` locally with the algorithm's hash, then signs the digest in the vault. */
  readonly signData: (
    key: KeyReference,
    algorithm: SignatureAlgorithm,
    data: Uint8Array
  ) => Effect.Effect<CryptographyResult<SignatureAlgorithm>, CryptographyError>
  /** Hashes `data` locally with the algorithm's hash, then verifies the signature over the digest. */
  readonly verifyData: (
    key: KeyReference,
    algorithm: SignatureAlgorithm,
    data: Uint8Array,
    signature: Uint8Array
  ) => Effect.Effect<VerifyResult<SignatureAlgorithm>, CryptographyError>
}

/**
 * The cryptography service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class Cryptography extends Context.Tag("@effect-azure/key-vault/Cryptography")<
  Cryptography,
  CryptographyService
>() {}

const encodeOperation = Schema.encodeSync(KeyWire.KeyOperationsParameters)
const encodeSign = Schema.encodeSync(KeyWire.KeySignParameters)
const encodeVerify = Schema.encodeSync(KeyWire.KeyVerifyParameters)

/** Path segments of the remote operations: the service spells the key-wrap ones in lower case. */
const SEGMENT: Readonly<Record<AlgorithmValidator.CryptoOperation, string>> = {
  encrypt: "encrypt",
  decrypt: "decrypt",
  wrapKey: "wrapkey",
  unwrapKey: "unwrapkey",
  sign: "sign",
  verify: "verify"
}

/** What the caller passes, in the field name a validation message should use. */
const PAYLOAD_FIELD: Readonly<Record<string, string>> = {
  encrypt: "plaintext",
  decrypt: "ciphertext",
  wrapKey: "keyToWrap",
  unwrapKey: "wrappedKey",
  sign: "digest",
  verify: "digest",
  signData: "data",
  verifyData: "data"
}

type PublicOperation = "encrypt" | "decrypt" | "wrapKey" | "unwrapKey" | "sign" | "verify" | "signData" | "verifyData"

interface Resolved {
  readonly name: string
  readonly version: string | undefined
}

// Cryptography counts against the key class's own budget (HSM and large RSA keys have far lower limits than the
// vault's 4,000 operations per 10 s), and against the vault-wide budget as every request does.
const rateClassOf = (key: KeyVaultKey): RateLimiter.RateClass => {
  const facts = AlgorithmValidator.factsOf(key)
  return RateLimiter.keyOperation({
    kty: facts.keyType,
    keySize: facts.modulusBytes === undefined ? undefined : facts.modulusBytes * 8,
    curve: facts.curve
  })
}

interface Prepared {
  readonly target: Resolved
  readonly checked: AlgorithmValidator.CheckedAlgorithm
  readonly key: KeyVaultKey
  /**
   * The digest for sign / verify (computed for the *Data forms, once, on first use: a local EC `verifyData` hashes
   * natively and never needs it), the caller's bytes otherwise.
   */
  readonly payload: () => Uint8Array
  /** The caller's validated bytes (the data of the *Data forms). */
  readonly input: Uint8Array
  readonly local: LocalCrypto.LocalKey | undefined
}

// The vault's answer to encrypt, decrypt, wrap, unwrap and sign: its bytes, and the version that did the work.
const resultOf = <Alg extends EncryptionAlgorithm | SignatureAlgorithm>(
  answer: KeyWire.KeyOperationResult,
  prepared: Prepared
): CryptographyResult<Alg> => ({
  result: answer.value,
  keyId: answer.kid ?? prepared.key.id,
  algorithm: prepared.checked.algorithm as Alg
})

/**
 * Builds the service on a transport and a key material cache.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: CryptographyOptions = {}
): Effect.Effect<CryptographyService, never, KeyVaultTransport | KeyMaterialCache> =>
  Effect.gen(function*() {
    const transport = yield* KeyVaultTransport
    const cache = yield* KeyMaterialCache
    const { vaultUrl } = transport.config
    const mode: LocalCryptographyMode = options.localCryptography ?? "auto"
    // Preparing a public key costs more than a verify; keep one per fetched key object, released with it.
    const localKeys = new WeakMap<KeyVaultKey, LocalCrypto.LocalKey | null>()

    const localKeyOf = (key: KeyVaultKey): LocalCrypto.LocalKey | undefined => {
      const known = localKeys.get(key)
      if (known !== undefined) return known ?? undefined
      const prepared = LocalCrypto.fromJwk(key.key)
      localKeys.set(key, prepared ?? null)
      return prepared
    }

    const resolve = (operation: string, ref: KeyReference): Effect.Effect<Resolved, ValidationError> =>
      typeof ref === "object" && ref !== null
        ? Validation.struct({ name: Validation.name(operation, ref.name), version: Validation.version(operation, ref.version) })
        : Validation.keyIdentifier(operation, ref, vaultUrl)

    const decoders = new Map<string, ReturnType<typeof decodeKey>>()
    const decodeKey = (operation: string) => decode(operation, KeyWire.KeyBundle)
    const load = (operation: string, target: Resolved) => {
      let decoder = decoders.get(operation)
      if (decoder === undefined) decoders.set(operation, decoder = decodeKey(operation))
      return Effect.flatMap(
        transport.send({
          operation,
          method: "GET",
          path: `/keys/${target.name}/${target.version ?? ""}`,
          expected: { notFound: true }
        }),
        decoder
      ).pipe(Effect.map((bundle) => keyFromWire(bundle, { vaultUrl, name: target.name })))
    }

    /**
     * Everything before the actual operation: reference, bytes, algorithm and digest checked without the key; then
     * the key (cached or fetched) and the checks that need it, at the time the `Clock` gives.
     */
    const prepare = (
      publicOperation: PublicOperation,
      op: AlgorithmValidator.CryptoOperation,
      ref: KeyReference,
      algorithm: unknown,
      input: Uint8Array
    ): Effect.Effect<Prepared, CryptographyError> =>
      Effect.gen(function*() {
        const operation = `Cryptography.${publicOperation}`
        const target = yield* resolve(operation, ref)
        yield* Operation.annotate("keyvault.name", target.name)
        const bytes = yield* Validation.bytes(operation, PAYLOAD_FIELD[publicOperation]!, input, { allowEmpty: false })
        const checked = yield* AlgorithmValidator.checkAlgorithm(operation, op, algorithm)
        yield* Operation.annotate("keyvault.algorithm", checked.algorithm)
        // The *Data forms hash the caller's data themselves: their digest has the hash's length by construction.
        const hashed = checked.kind === "signature" && (publicOperation === "signData" || publicOperation === "verifyData")
        if (!hashed) yield* AlgorithmValidator.checkDigest(operation, checked, bytes)
        const key = yield* cache.getOrLoad(target.name, target.version, load(operation, target))
        const now = yield* Clock.currentTimeMillis
        const payloadLength = hashed ? HASH_LENGTH[checked.spec.hash] : bytes.length
        yield* AlgorithmValidator.checkKey(operation, op, checked, AlgorithmValidator.factsOf(key), now, payloadLength)
        let digest: Uint8Array | undefined
        const payload = hashed ? () => digest ??= LocalCrypto.hash(checked.spec.hash, bytes) : () => bytes
        return { target, checked, key, payload, input: bytes, local: localKeyOf(key) }
      })

    const client: Operation.Client = { transport, objectType: "key", invalidate: cache.invalidate }
    const located = (location: "local" | "remote") => Operation.annotate("keyvault.crypto_location", location)
    const remote = located("remote")

    const pathOf = (target: Resolved, op: AlgorithmValidator.CryptoOperation) =>
      `/keys/${target.name}/${target.version ?? ""}/${SEGMENT[op]}`

    // Prepared input, with the name the template puts on the span (after `prepare` has checked it).
    const named = (prepared: Prepared) => ({ ...prepared, name: prepared.target.name })

    const encryption = (publicOperation: "encrypt" | "decrypt" | "wrapKey" | "unwrapKey") =>
      Operation.operation(client, `Cryptography.${publicOperation}`, {
        validate: (ref: KeyReference, algorithm: EncryptionAlgorithm, input: Uint8Array) =>
          Effect.map(prepare(publicOperation, publicOperation, ref, algorithm, input), named),
        local: (prepared): Effect.Effect<CryptographyResult<EncryptionAlgorithm>> | undefined => {
          const local = prepared.local
          if (mode !== "auto" || (publicOperation !== "encrypt" && publicOperation !== "wrapKey") || local?.kind !== "RSA") {
            return undefined
          }
          const alg = prepared.checked.algorithm as EncryptionAlgorithm
          const ciphertext = Either.try(() => LocalCrypto.encrypt(local, alg, prepared.payload()))
          // The validator rules out every failure we know of; should OpenSSL still refuse, the vault decides.
          return Either.isRight(ciphertext)
            ? Effect.as(located("local"), { result: ciphertext.right, keyId: prepared.key.id, algorithm: alg })
            : undefined
        },
        sending: remote,
        current: true,
        request: (prepared) => ({
          method: "POST",
          path: pathOf(prepared.target, publicOperation),
          // A cryptographic operation changes nothing in the vault: safe to repeat.
          idempotent: true,
          rateClass: rateClassOf(prepared.key),
          body: encodeOperation({ alg: prepared.checked.algorithm as EncryptionAlgorithm, value: prepared.payload() }),
          expected: { notFound: true }
        }),
        response: KeyWire.KeyOperationResult,
        model: resultOf<EncryptionAlgorithm>
      })

    const signWith = (publicOperation: "sign" | "signData") =>
      Operation.operation(client, `Cryptography.${publicOperation}`, {
        validate: (ref: KeyReference, algorithm: SignatureAlgorithm, input: Uint8Array) =>
          Effect.map(prepare(publicOperation, "sign", ref, algorithm, input), named),
        sending: remote,
        current: true,
        request: (prepared) => ({
          method: "POST",
          path: pathOf(prepared.target, "sign"),
          idempotent: true,
          rateClass: rateClassOf(prepared.key),
          body: encodeSign({ alg: prepared.checked.algorithm as SignatureAlgorithm, value: prepared.payload() }),
          expected: { notFound: true }
        }),
        response: KeyWire.KeyOperationResult,
        model: resultOf<SignatureAlgorithm>
      })

    const verifyWith = (publicOperation: "verify" | "verifyData") =>
      Operation.operation(client, `Cryptography.${publicOperation}`, {
        validate: (ref: KeyReference, algorithm: SignatureAlgorithm, input: Uint8Array, signature: Uint8Array) =>
          Effect.flatMap(
            Validation.bytes(`Cryptography.${publicOperation}`, "signature", signature, { allowEmpty: false }),
            (sig) =>
              Effect.map(prepare(publicOperation, "verify", ref, algorithm, input), (prepared) => ({ ...named(prepared), sig }))
          ),
        local: (prepared): Effect.Effect<VerifyResult<SignatureAlgorithm>> | undefined => {
          const local = prepared.local
          if (mode !== "auto" || local === undefined) return undefined
          const alg = prepared.checked.algorithm as SignatureAlgorithm
          return Effect.as(located("local"), {
            // EC over the data: node:crypto hashes and verifies natively (P1363), far cheaper than ECDSA over a digest
            // in JavaScript; every other case verifies the digest.
            isValid: publicOperation === "verifyData" && local.kind === "EC"
              ? LocalCrypto.verifyData(local, alg, prepared.input, prepared.sig)
              : LocalCrypto.verify(local, alg, prepared.payload(), prepared.sig),
            keyId: prepared.key.id,
            algorithm: alg
          })
        },
        sending: remote,
        current: true,
        request: (prepared) => ({
          method: "POST",
          path: pathOf(prepared.target, "verify"),
          idempotent: true,
          rateClass: rateClassOf(prepared.key),
          body: encodeVerify({
            alg: prepared.checked.algorithm as SignatureAlgorithm,
            digest: prepared.payload(),
            value: prepared.sig
          }),
          expected: { notFound: true }
        }),
        response: KeyWire.KeyVerifyResult,
        model: (answer, prepared): VerifyResult<SignatureAlgorithm> => ({
          isValid: answer.value,
          keyId: prepared.key.id,
          algorithm: prepared.checked.algorithm as SignatureAlgorithm
        })
      })

    return {
      encrypt: encryption("encrypt"),
      decrypt: encryption("decrypt"),
      wrapKey: encryption("wrapKey"),
      unwrapKey: encryption("unwrapKey"),
      sign: signWith("sign"),
      verify: verifyWith("verify"),
      signData: signWith("signData"),
      verifyData: verifyWith("verifyData")
    }
  })

/**
 * The cryptography layer, on a transport and a key material cache (shared with `Keys`, which invalidates it).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: CryptographyOptions = {}
): Layer.Layer<Cryptography, never, KeyVaultTransport | KeyMaterialCache> => Layer.effect(Cryptography, make(options))
