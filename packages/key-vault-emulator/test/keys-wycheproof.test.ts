/**
 * The emulator's cryptography against Project Wycheproof (the trimmed vectors in the client package's
 * `test/fixtures/wycheproof/`, Apache 2.0): RS*, PS* and ES* verification in the engine, and RSA-OAEP, RSA-OAEP-256
 * and RSA1_5 (the emulator removes PKCS#1 v1.5 padding itself, Node 20 refuses to) decryption through the REST app
 * with the vector's private key imported. Valid vectors verify (or decrypt to the
 * message); invalid ones answer `false` (or a 400 BadParameter that says nothing about why); Wycheproof's
 * `acceptable` vectors may go either way.
 *
 * Key Vault's decrypt has no OAEP label, so vectors encrypted with a non-empty label must fail to decrypt.
 */
import type { SignatureAlgorithm } from "@effect-azure/key-vault/crypto/Algorithms"
import { SIGNATURE } from "@effect-azure/key-vault/crypto/Algorithms"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import * as Ecdsa from "../src/engine/crypto/Ecdsa.js"
import * as Rsa from "../src/engine/crypto/Rsa.js"
import * as Emulator from "../src/Emulator.js"
import {
  agrees,
  describeCase,
  hex,
  hexToB64u as b64u,
  KEY_VAULT_CURVE as CURVE,
  load,
  SIGNATURE_FILES
} from "../../key-vault/test/wycheproof-support.js"
import { call } from "./support.js"

/** Pure-JavaScript P-521 arithmetic takes seconds for 300 cases, more on a loaded CI machine. */
const TIMEOUT = 120_000

describe("emulator verify against Wycheproof", () => {
  for (const file of SIGNATURE_FILES) {
    const vectors = load(file)
    const algorithm = vectors.keyVaultAlgorithm as SignatureAlgorithm
    const spec = SIGNATURE[algorithm]
    it(`${algorithm}: ${file} (${vectors.keptTests} cases)`, () => {
      const found: Array<string> = []
      let cases = 0
      for (const group of vectors.testGroups) {
        const key = group.publicKey!
        const verify: (digest: Uint8Array, sig: Uint8Array) => boolean = spec.family === "EC"
          ? (digest, sig) => Ecdsa.verifyDigest(CURVE[key.curve!]!, hex(key.wx), hex(key.wy), digest, sig)
          : (() => {
            const publicKey = Crypto.createPublicKey({
              key: { kty: "RSA", n: b64u(key.modulus), e: b64u(key.publicExponent) },
              format: "jwk"
            })
            return (digest, sig) => Rsa.verifyDigest(publicKey, spec.padding, spec.hash, digest, sig)
          })()
        for (const c of group.tests) {
          cases++
          const digest = new Uint8Array(Crypto.createHash(spec.hash).update(hex(c.msg)).digest())
          const accepted = verify(digest, hex(c.sig))
          if (!agrees(c.result, accepted)) found.push(describeCase(file, c, accepted))
        }
      }
      expect(cases).toBe(vectors.keptTests)
      expect(found).toEqual([])
    }, TIMEOUT)
  }
})

describe("emulator decrypt against Wycheproof", () => {
  for (const file of ["rsa_oaep_2048_sha1_mgf1sha1_test", "rsa_oaep_2048_sha256_mgf1sha256_test", "rsa_pkcs1_2048_test"]) {
    const vectors = load(file)
    const algorithm = vectors.keyVaultAlgorithm
    it.effect(`${algorithm}: ${file} (${vectors.keptTests} cases), through the REST app`, () =>
      Effect.gen(function*() {
        const emulator = yield* Emulator.make()
        const found: Array<string> = []
        let cases = 0
        for (const [index, group] of vectors.testGroups.entries()) {
          const name = `wycheproof-${index}`
          const imported = yield* call(emulator, "PUT", `/keys/${name}`, {
            body: { key: { ...group.privateKeyJwk, key_ops: ["encrypt", "decrypt"] } }
          })
          expect(imported.status, imported.text).toBe(200)
          for (const c of group.tests) {
            cases++
            const answer = yield* call(emulator, "POST", `/keys/${name}//decrypt`, { body: { alg: algorithm, value: b64u(c.ct) } })
            // Key Vault decrypts with the empty label: a ciphertext made with another label must not decrypt.
            const expected = c.label === undefined || c.label === "" ? c.result : "invalid"
            const decrypted = answer.status === 200
            if (!agrees(expected, decrypted)) found.push(describeCase(file, c, decrypted))
            if (decrypted && answer.json.value !== b64u(c.msg)) found.push(`${describeCase(file, c, true)}: wrong plaintext`)
            if (!decrypted && (answer.status !== 400 || answer.json.error.code !== "BadParameter")) {
              found.push(`${describeCase(file, c, false)}: answered ${answer.status}, not a BadParameter`)
            }
          }
        }
        expect(cases).toBe(vectors.keptTests)
        expect(found).toEqual([])
      }), TIMEOUT)
  }
})
