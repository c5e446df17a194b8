/**
 * Local cryptography against node:crypto: node signs, the client verifies over the digest; the client encrypts,
 * node decrypts with the private key. Keys are generated once per file (RSA-4096 is slow).
 */
import { p256, p384, p521 } from "@noble/curves/nist.js"
import { secp256k1 } from "@noble/curves/secp256k1.js"
import { describe, expect, it } from "@effect/vitest"
import * as Crypto from "node:crypto"
import { maxPlaintextBytes } from "../src/crypto/Algorithms.js"
import * as LocalCrypto from "../src/crypto/LocalCrypto.js"
import { digestFor, nodeDecrypt, nodeSign, publicJwkOf } from "./crypto-support.js"

const RSA_SIZES = [2048, 3072, 4096] as const
const rsaKeys = new Map(RSA_SIZES.map((size) => [size, Crypto.generateKeyPairSync("rsa", { modulusLength: size })]))

const EC_CASES = [
  { alg: "ES256", curve: "P-256", noble: p256 },
  { alg: "ES384", curve: "P-384", noble: p384 },
  { alg: "ES512", curve: "P-521", noble: p521 },
  { alg: "ES256K", curve: "secp256k1", noble: secp256k1 }
] as const
const ecKeys = new Map(EC_CASES.map((c) => [c.alg, Crypto.generateKeyPairSync("ec", { namedCurve: c.curve })]))

const RSA_SIGNATURES = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] as const
const ENCRYPTIONS = ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"] as const

const localOf = (key: Crypto.KeyObject): LocalCrypto.LocalKey => {
  const local = LocalCrypto.fromJwk(publicJwkOf(key))
  if (local === undefined) throw new Error("not usable locally")
  return local
}

const rsaLocal = (size: number) => {
  const local = localOf(rsaKeys.get(size as 2048)!.publicKey)
  if (local.kind !== "RSA") throw new Error("not RSA")
  return local
}

const flip = (bytes: Uint8Array, at: number): Uint8Array => {
  const copy = Uint8Array.from(bytes)
  copy[at] = copy[at]! ^ 0x01
  return copy
}

const data = new TextEncoder().encode("the quick brown fox signs over the lazy digest")

describe("local RSA verification over a digest", () => {
  for (const size of RSA_SIZES) {
    for (const alg of RSA_SIGNATURES) {
      it(`${alg} with RSA-${size}: accepts node's signature, refuses tampered ones`, () => {
        const { privateKey } = rsaKeys.get(size)!
        const local = rsaLocal(size)
        const signature = nodeSign(privateKey, alg, data)
        const digest = digestFor(alg, data)
        expect(LocalCrypto.verify(local, alg, digest, signature)).toBe(true)
        expect(LocalCrypto.verify(local, alg, flip(digest, 0), signature)).toBe(false)
        expect(LocalCrypto.verify(local, alg, digest, flip(signature, signature.length - 1))).toBe(false)
        expect(LocalCrypto.verify(local, alg, digest, signature.subarray(1))).toBe(false)
        // Each padding refuses the other's signature.
        const other = (alg.startsWith("RS") ? "PS" : "RS") + alg.slice(2)
        expect(LocalCrypto.verify(local, other as typeof alg, digest, signature)).toBe(false)
      })
    }
  }

  it("verifies PSS with salt length = hash length only", () => {
    const { privateKey } = rsaKeys.get(2048)!
    const local = rsaLocal(2048)
    const digest = digestFor("PS256", data)
    for (const saltLength of [0, 20, 64]) {
      const signature = Crypto.sign("sha256", data, { key: privateKey, padding: Crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength })
      expect(LocalCrypto.verify(local, "PS256", digest, signature)).toBe(false)
    }
  })

  it("handles a modulus whose bit length leaves the encoded PSS message one byte short", () => {
    // 1025 bits: emBits = 1024, so EM is 128 bytes inside a 129-byte modulus.
    const { privateKey, publicKey } = Crypto.generateKeyPairSync("rsa", { modulusLength: 1025 })
    const local = localOf(publicKey)
    expect(local.kind === "RSA" && local.modulusBits).toBe(1025)
    const signature = nodeSign(privateKey, "PS256", data)
    expect(LocalCrypto.verify(local, "PS256", digestFor("PS256", data), signature)).toBe(true)
    expect(LocalCrypto.verify(local, "PS256", flip(digestFor("PS256", data), 5), signature)).toBe(false)
  })

  it("ignores a leading zero byte on n", () => {
    const { privateKey, publicKey } = rsaKeys.get(2048)!
    const jwk = publicJwkOf(publicKey)
    const padded = new Uint8Array(jwk.n!.length + 1)
    padded.set(jwk.n!, 1)
    const local = LocalCrypto.fromJwk({ ...jwk, n: padded })
    expect(local?.kind === "RSA" && local.modulusBytes).toBe(256)
    expect(LocalCrypto.verify(local!, "RS256", digestFor("RS256", data), nodeSign(privateKey, "RS256", data))).toBe(true)
  })
})

describe("local ECDSA verification over a digest", () => {
  for (const { alg, noble } of EC_CASES) {
    it(`${alg}: accepts node's r||s signature, also with high S, refuses tampered ones`, () => {
      const { privateKey, publicKey } = ecKeys.get(alg)!
      const local = localOf(publicKey)
      const signature = nodeSign(privateKey, alg, data)
      const digest = digestFor(alg, data)
      expect(LocalCrypto.verify(local, alg, digest, signature)).toBe(true)
      expect(LocalCrypto.verify(local, alg, flip(digest, 3), signature)).toBe(false)
      expect(LocalCrypto.verify(local, alg, digest, flip(signature, 7))).toBe(false)
      expect(LocalCrypto.verify(local, alg, digest, signature.subarray(0, signature.length - 1))).toBe(false)
      // The vault (like OpenSSL) does not normalise S: the other S of the pair is just as valid.
      const half = signature.length / 2
      const order = noble.Point.Fn.ORDER
      const s = BigInt(`0x${Buffer.from(signature.subarray(half)).toString("hex")}`)
      const otherS = Buffer.from((order - s).toString(16).padStart(half * 2, "0"), "hex")
      const mirrored = new Uint8Array([...signature.subarray(0, half), ...otherS])
      expect(LocalCrypto.verify(local, alg, digest, mirrored)).toBe(true)
    })
  }

  it("does not hash the digest again (a signature over the data as message fails)", () => {
    const { privateKey, publicKey } = ecKeys.get("ES256")!
    const local = localOf(publicKey)
    const overDigest = nodeSign(privateKey, "ES256", digestFor("ES256", data))
    expect(LocalCrypto.verify(local, "ES256", digestFor("ES256", data), overDigest)).toBe(false)
  })

  it("refuses a point that is not on the curve when preparing the key", () => {
    const jwk = publicJwkOf(ecKeys.get("ES256")!.publicKey)
    expect(LocalCrypto.fromJwk({ ...jwk, y: flip(jwk.y!, 31) })).toBeUndefined()
    expect(LocalCrypto.fromJwk({ ...jwk, crv: "P-999" })).toBeUndefined()
    expect(LocalCrypto.fromJwk({ ...jwk, kty: "oct" })).toBeUndefined()
  })
})

describe("local verifyData over the message", () => {
  for (const { alg } of EC_CASES) {
    it(`${alg}: node:crypto verifies node's signature over the data, with high S too, and refuses tampered ones`, () => {
      const { privateKey, publicKey } = ecKeys.get(alg)!
      const local = localOf(publicKey)
      const signature = nodeSign(privateKey, alg, data)
      expect(LocalCrypto.verifyData(local, alg, data, signature)).toBe(true)
      expect(LocalCrypto.verifyData(local, alg, flip(data, 0), signature)).toBe(false)
      expect(LocalCrypto.verifyData(local, alg, data, flip(signature, 5))).toBe(false)
      expect(LocalCrypto.verifyData(local, alg, data, signature.subarray(1))).toBe(false)
      expect(LocalCrypto.verifyData(local, alg, data, new Uint8Array(signature.length))).toBe(false)
    })
  }

  it("refuses an algorithm of another curve or family instead of throwing", () => {
    const es256 = ecKeys.get("ES256")!
    const local = localOf(es256.publicKey)
    const signature = nodeSign(es256.privateKey, "ES256", data)
    expect(LocalCrypto.verifyData(local, "ES256K", data, signature)).toBe(false)
    expect(LocalCrypto.verifyData(local, "RS256", data, signature)).toBe(false)
    expect(LocalCrypto.verifyData(rsaLocal(2048), "ES256", data, signature)).toBe(false)
  })

  for (const alg of RSA_SIGNATURES) {
    it(`${alg}: agrees with verify over the digest`, () => {
      const { privateKey } = rsaKeys.get(2048)!
      const signature = nodeSign(privateKey, alg, data)
      expect(LocalCrypto.verifyData(rsaLocal(2048), alg, data, signature)).toBe(true)
      expect(LocalCrypto.verifyData(rsaLocal(2048), alg, flip(data, 2), signature)).toBe(false)
    })
  }

  it("a key in long use (its multiplication table built) verifies exactly as before", () => {
    const { privateKey, publicKey } = ecKeys.get("ES256")!
    const jwk = publicJwkOf(publicKey)
    const local = LocalCrypto.fromEcPoint("P-256", jwk.x!, jwk.y!, { precomputeAfter: 2 })!
    const signature = nodeSign(privateKey, "ES256", data)
    const digest = digestFor("ES256", data)
    for (let i = 0; i < 4; i++) {
      expect(LocalCrypto.verify(local, "ES256", digest, signature)).toBe(true)
      expect(LocalCrypto.verify(local, "ES256", flip(digest, i), signature)).toBe(false)
    }
  })
})

describe("local RSA encryption", () => {
  for (const size of RSA_SIZES) {
    for (const alg of ENCRYPTIONS) {
      it(`${alg} with RSA-${size}: node decrypts what the client encrypted, up to the largest plaintext`, () => {
        const { privateKey } = rsaKeys.get(size)!
        const local = rsaLocal(size)
        for (const length of [1, 32, maxPlaintextBytes(alg, size / 8)]) {
          const plaintext = Crypto.randomBytes(length)
          const ciphertext = LocalCrypto.encrypt(local, alg, plaintext)
          expect(ciphertext.length).toBe(size / 8)
          expect(Buffer.from(nodeDecrypt(privateKey, alg, ciphertext)).equals(plaintext)).toBe(true)
        }
        // Randomised padding: the same plaintext never encrypts the same way twice.
        const again = new Uint8Array(16)
        expect(Buffer.from(LocalCrypto.encrypt(local, alg, again)).equals(LocalCrypto.encrypt(local, alg, again))).toBe(false)
      })
    }
  }

  it("uses SHA-1 for RSA-OAEP and SHA-256 for RSA-OAEP-256, not the other way round", () => {
    const { privateKey } = rsaKeys.get(2048)!
    const local = rsaLocal(2048)
    const sha1 = LocalCrypto.encrypt(local, "RSA-OAEP", new Uint8Array(16))
    expect(() => nodeDecrypt(privateKey, "RSA-OAEP-256", sha1)).toThrow()
    const sha256 = LocalCrypto.encrypt(local, "RSA-OAEP-256", new Uint8Array(16))
    expect(() => nodeDecrypt(privateKey, "RSA-OAEP", sha256)).toThrow()
  })
})
