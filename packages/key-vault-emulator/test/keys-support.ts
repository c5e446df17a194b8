/**
 * Helpers for the key tests: base64url, digests, reference keys made with node:crypto (one per RSA size and curve per
 * test file, generated in parallel off the main thread and reused), and JWK conversions between Key Vault's names
 * and Node's.
 */
import type { JsonWebKey as NodeJwk, KeyObject } from "node:crypto"
import * as Crypto from "node:crypto"

export const b64u = (bytes: Uint8Array | Buffer): string => Buffer.from(bytes).toString("base64url")
export const fromB64u = (s: string): Buffer => Buffer.from(s, "base64url")

export type Hash = "sha256" | "sha384" | "sha512"
export const digestOf = (hash: Hash, data: Uint8Array | string): Buffer => Crypto.createHash(hash).update(data).digest()

export const RSA_SIZES = [2048, 3072, 4096] as const
export type RsaSize = (typeof RSA_SIZES)[number]
export const CURVES = ["P-256", "P-384", "P-521", "P-256K"] as const
export type Curve = (typeof CURVES)[number]
const NODE_CURVE: Record<Curve, string> = { "P-256": "P-256", "P-384": "P-384", "P-521": "P-521", "P-256K": "secp256k1" }

export interface KeyPair {
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
}

const rsaCache = new Map<number, Promise<KeyPair>>()

/** One RSA pair per size per test file (the module is loaded once per file). */
export const rsaPair = (size: number): Promise<KeyPair> => {
  let pair = rsaCache.get(size)
  if (pair === undefined) {
    pair = new Promise((resolve, reject) =>
      Crypto.generateKeyPair("rsa", { modulusLength: size }, (error, publicKey, privateKey) =>
        error === null ? resolve({ publicKey, privateKey }) : reject(error))
    )
    rsaCache.set(size, pair)
  }
  return pair
}

export const ecPair = (curve: Curve): KeyPair => Crypto.generateKeyPairSync("ec", { namedCurve: NODE_CURVE[curve] })

/** A private key as an import body's `key` (Key Vault names: `P-256K`, not `secp256k1`). */
export const importJwk = (privateKey: KeyObject): Record<string, unknown> => {
  const jwk = privateKey.export({ format: "jwk" })
  return jwk.crv === "secp256k1" ? { ...jwk, crv: "P-256K" } : { ...jwk }
}

/** A public KeyObject from a JWK the emulator answered with. */
export const publicKeyOf = (jwk: { kty: string; n?: string; e?: string; crv?: string; x?: string; y?: string }): KeyObject => {
  const key: NodeJwk = jwk.kty.startsWith("RSA")
    ? { kty: "RSA", n: jwk.n ?? "", e: jwk.e ?? "" }
    : { kty: "EC", crv: NODE_CURVE[jwk.crv as Curve], x: jwk.x ?? "", y: jwk.y ?? "" }
  return Crypto.createPublicKey({ key, format: "jwk" })
}

/**
 * RSA1_5 decryption for the tests, written independently of the emulator's: Node 20 refuses PKCS#1 v1.5 in
 * privateDecrypt, so unpad a raw RSA result.
 */
export const pkcs1Decrypt = (privateKey: KeyObject, ciphertext: Uint8Array): Buffer => {
  const block = Crypto.privateDecrypt({ key: privateKey, padding: Crypto.constants.RSA_NO_PADDING }, ciphertext)
  if (block[0] !== 0 || block[1] !== 2) throw new Error("bad padding")
  const separator = block.indexOf(0, 2)
  if (separator < 10) throw new Error("bad padding")
  return block.subarray(separator + 1)
}

export const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k"] as const

/** Whether a response body carries any private JWK member anywhere. */
export const hasPrivateMembers = (value: unknown): boolean => {
  if (Array.isArray(value)) return value.some(hasPrivateMembers)
  if (typeof value !== "object" || value === null) return false
  return Object.entries(value).some(([k, v]) =>
    (PRIVATE_MEMBERS as ReadonlyArray<string>).includes(k) || hasPrivateMembers(v)
  )
}
