/**
 * The algorithm validator on its own: pure checks, no key fetching, no requests.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { maxPlaintextBytes } from "../src/crypto/Algorithms.js"
import * as V from "../src/crypto/AlgorithmValidator.js"

const NOW = Date.parse("2030-06-01T00:00:00Z")

const rsa = (overrides: Partial<V.KeyFacts> = {}): V.KeyFacts => ({
  keyType: "RSA",
  curve: undefined,
  modulusBytes: 256,
  keyOperations: ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
  enabled: true,
  notBefore: undefined,
  expiresOn: undefined,
  ...overrides
})

const ec = (curve: string, overrides: Partial<V.KeyFacts> = {}): V.KeyFacts => ({
  keyType: "EC",
  curve,
  modulusBytes: undefined,
  keyOperations: ["sign", "verify"],
  enabled: true,
  notBefore: undefined,
  expiresOn: undefined,
  ...overrides
})

const run = (
  op: V.CryptoOperation,
  algorithm: unknown,
  key: V.KeyFacts,
  payload: Uint8Array,
  nowMillis = NOW
) => V.validate({ operation: `Cryptography.${op}`, op, algorithm, key, nowMillis, payload })

/** The failure's field, or "ok". */
const outcome = (result: Either.Either<unknown, { readonly field: string }>): string =>
  Either.match(result, { onLeft: (e) => e.field, onRight: () => "ok" })

const bytes = (n: number) => new Uint8Array(n)

describe("AlgorithmValidator", () => {
  it("accepts every algorithm on a key that fits it", () => {
    for (const alg of ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"]) {
      for (const op of ["encrypt", "decrypt", "wrapKey", "unwrapKey"] as const) {
        expect(outcome(run(op, alg, rsa(), bytes(32)))).toBe("ok")
      }
    }
    for (const [alg, len] of [["RS256", 32], ["RS384", 48], ["RS512", 64], ["PS256", 32], ["PS384", 48], ["PS512", 64]] as const) {
      expect(outcome(run("sign", alg, rsa(), bytes(len)))).toBe("ok")
      expect(outcome(run("verify", alg, rsa({ keyType: "RSA-HSM" }), bytes(len)))).toBe("ok")
    }
    for (const [alg, crv, len] of [["ES256", "P-256", 32], ["ES384", "P-384", 48], ["ES512", "P-521", 64], ["ES256K", "P-256K", 32]] as const) {
      expect(outcome(run("sign", alg, ec(crv), bytes(len)))).toBe("ok")
      expect(outcome(run("verify", alg, ec(crv, { keyType: "EC-HSM" }), bytes(len)))).toBe("ok")
    }
  })

  it("refuses unknown algorithms, and algorithms of the other operation family", () => {
    expect(outcome(run("encrypt", "RSA-OAEP-512", rsa(), bytes(8)))).toBe("algorithm")
    expect(outcome(run("encrypt", "RS256", rsa(), bytes(8)))).toBe("algorithm")
    expect(outcome(run("sign", "RSA-OAEP", rsa(), bytes(32)))).toBe("algorithm")
    expect(outcome(run("sign", "HS256", rsa(), bytes(32)))).toBe("algorithm")
    expect(outcome(run("verify", 42, rsa(), bytes(32)))).toBe("algorithm")
    expect(outcome(run("sign", "es256", ec("P-256"), bytes(32)))).toBe("algorithm")
  })

  it("refuses RSA algorithms on EC keys and ES algorithms on RSA keys", () => {
    expect(outcome(run("sign", "RS256", ec("P-256"), bytes(32)))).toBe("algorithm")
    expect(outcome(run("encrypt", "RSA-OAEP", ec("P-256", { keyOperations: ["encrypt"] }), bytes(8)))).toBe("algorithm")
    expect(outcome(run("sign", "ES256", rsa(), bytes(32)))).toBe("algorithm")
    expect(outcome(run("sign", "RS256", rsa({ keyType: "oct" }), bytes(32)))).toBe("algorithm")
  })

  it("refuses an ES algorithm on a key of another curve", () => {
    expect(outcome(run("sign", "ES384", ec("P-256"), bytes(48)))).toBe("algorithm")
    expect(outcome(run("verify", "ES256", ec("P-256K"), bytes(32)))).toBe("algorithm")
    expect(outcome(run("verify", "ES256K", ec("P-256"), bytes(32)))).toBe("algorithm")
    expect(outcome(run("sign", "ES512", ec("P-384"), bytes(64)))).toBe("algorithm")
    const message = Either.match(run("sign", "ES384", ec("P-256"), bytes(48)), { onLeft: (e) => e.message, onRight: () => "" })
    expect(message).toContain("P-384")
    expect(message).toContain("P-256")
  })

  it("requires the digest length of the algorithm's hash, for signatures only", () => {
    expect(outcome(run("sign", "RS256", rsa(), bytes(48)))).toBe("digest")
    expect(outcome(run("verify", "PS512", rsa(), bytes(32)))).toBe("digest")
    expect(outcome(run("sign", "ES256", ec("P-256"), bytes(31)))).toBe("digest")
    expect(outcome(run("sign", "ES512", ec("P-521"), bytes(66)))).toBe("digest")
    // Plaintexts have no fixed length.
    expect(outcome(run("encrypt", "RSA-OAEP", rsa(), bytes(33)))).toBe("ok")
  })

  it("requires the operation in the key's key_ops", () => {
    const verifyOnly = rsa({ keyOperations: ["verify"] })
    expect(outcome(run("verify", "RS256", verifyOnly, bytes(32)))).toBe("ok")
    expect(outcome(run("sign", "RS256", verifyOnly, bytes(32)))).toBe("keyOperations")
    expect(outcome(run("encrypt", "RSA-OAEP", verifyOnly, bytes(8)))).toBe("keyOperations")
    expect(outcome(run("wrapKey", "RSA-OAEP", rsa({ keyOperations: ["encrypt"] }), bytes(8)))).toBe("keyOperations")
    expect(outcome(run("unwrapKey", "RSA-OAEP", rsa({ keyOperations: [] }), bytes(8)))).toBe("keyOperations")
  })

  it("requires the key enabled and now inside notBefore..expiresOn", () => {
    expect(outcome(run("sign", "RS256", rsa({ enabled: false }), bytes(32)))).toBe("enabled")
    const window = rsa({ notBefore: new Date(NOW), expiresOn: new Date(NOW + 60_000) })
    expect(outcome(run("sign", "RS256", window, bytes(32), NOW - 1))).toBe("notBefore")
    expect(outcome(run("sign", "RS256", window, bytes(32), NOW))).toBe("ok")
    expect(outcome(run("sign", "RS256", window, bytes(32), NOW + 59_999))).toBe("ok")
    expect(outcome(run("sign", "RS256", window, bytes(32), NOW + 60_000))).toBe("expiresOn")
    expect(outcome(run("verify", "RS256", window, bytes(32), NOW + 86_400_000))).toBe("expiresOn")
  })

  it("limits plaintexts and keys to wrap to what the padding leaves of the modulus", () => {
    for (const modulusBytes of [256, 384, 512]) {
      for (const alg of ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"] as const) {
        const max = maxPlaintextBytes(alg, modulusBytes)
        expect(outcome(run("encrypt", alg, rsa({ modulusBytes }), bytes(max)))).toBe("ok")
        expect(outcome(run("encrypt", alg, rsa({ modulusBytes }), bytes(max + 1)))).toBe("plaintext")
        expect(outcome(run("wrapKey", alg, rsa({ modulusBytes }), bytes(max + 1)))).toBe("keyToWrap")
        // Decrypt takes a ciphertext of the modulus length: no plaintext limit applies.
        expect(outcome(run("decrypt", alg, rsa({ modulusBytes }), bytes(modulusBytes)))).toBe("ok")
      }
    }
    expect(maxPlaintextBytes("RSA1_5", 256)).toBe(245)
    expect(maxPlaintextBytes("RSA-OAEP", 256)).toBe(214)
    expect(maxPlaintextBytes("RSA-OAEP-256", 256)).toBe(190)
  })

  it("checks the static parts before the key: a bad algorithm wins over a bad key", () => {
    const hopeless = ec("P-256", { enabled: false, keyOperations: [] })
    expect(outcome(run("sign", "XX999", hopeless, bytes(32)))).toBe("algorithm")
    expect(outcome(run("sign", "ES256", hopeless, bytes(7)))).toBe("digest")
  })

  it("counts the modulus without leading zero bytes", () => {
    expect(V.unsignedLength(Uint8Array.from([0, 0, 1, 2]))).toBe(2)
    expect(V.unsignedLength(Uint8Array.from([0x80, 0]))).toBe(2)
    expect(V.unsignedLength(new Uint8Array(0))).toBe(0)
  })
})
