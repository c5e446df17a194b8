/**
 * The client's local verification against Project Wycheproof: every RS*, PS* and ES* vector (RSA 2048/4096, P-256,
 * P-384, P-521, secp256k1) through `LocalCrypto.verify` over the digest and `LocalCrypto.verifyData` over the message
 * must give Wycheproof's verdict. `acceptable` vectors may go either way (see `agrees`).
 */
import { describe, expect, it } from "@effect/vitest"
import type { SignatureAlgorithm } from "../src/crypto/Algorithms.js"
import { SIGNATURE } from "../src/crypto/Algorithms.js"
import * as LocalCrypto from "../src/crypto/LocalCrypto.js"
import type { PublicJsonWebKey } from "../src/keys/Key.js"
import { agrees, describeCase, hex, KEY_VAULT_CURVE, load, SIGNATURE_FILES } from "./wycheproof-support.js"

const jwkOf = (group: ReturnType<typeof load>["testGroups"][number]): PublicJsonWebKey => {
  const key = group.publicKey!
  return key.curve === undefined
    ? {
      kid: undefined,
      kty: "RSA",
      keyOps: ["verify"],
      n: hex(key.modulus),
      e: hex(key.publicExponent),
      crv: undefined,
      x: undefined,
      y: undefined
    }
    : {
      kid: undefined,
      kty: "EC",
      keyOps: ["verify"],
      n: undefined,
      e: undefined,
      crv: KEY_VAULT_CURVE[key.curve]!,
      x: hex(key.wx),
      y: hex(key.wy)
    }
}

type Group = ReturnType<typeof load>["testGroups"][number]

/** Runs every case of `groups` through `verify` and answers the disagreements with Wycheproof. */
const disagreements = (
  file: string,
  groups: ReadonlyArray<Group>,
  keyOf: (group: Group) => LocalCrypto.LocalKey | undefined,
  check: (key: LocalCrypto.LocalKey, msg: Uint8Array, sig: Uint8Array) => boolean
): { readonly cases: number; readonly found: ReadonlyArray<string> } => {
  const found: Array<string> = []
  let cases = 0
  for (const group of groups) {
    const key = keyOf(group)
    if (key === undefined) {
      found.push(`${file}: the key of a group of ${group.tests.length} cases was refused`)
      continue
    }
    for (const c of group.tests) {
      cases++
      const accepted = check(key, hex(c.msg), hex(c.sig))
      if (!agrees(c.result, accepted)) found.push(describeCase(file, c, accepted))
    }
  }
  return { cases, found }
}

/** Pure-JavaScript P-521 arithmetic takes seconds for 300 cases, more on a loaded CI machine. */
const DIGEST_TIMEOUT = 120_000

describe("LocalCrypto against Wycheproof", () => {
  for (const file of SIGNATURE_FILES) {
    const vectors = load(file)
    const algorithm = vectors.keyVaultAlgorithm as SignatureAlgorithm
    const hashName = SIGNATURE[algorithm].hash
    const fromJwk = (group: Group) => LocalCrypto.fromJwk(jwkOf(group))

    it(`${algorithm} verify over the digest: ${file} (${vectors.keptTests} cases)`, () => {
      const result = disagreements(file, vectors.testGroups, fromJwk, (key, msg, sig) =>
        LocalCrypto.verify(key, algorithm, LocalCrypto.hash(hashName, msg), sig))
      expect(result.cases).toBe(vectors.keptTests)
      expect(result.found).toEqual([])
    }, DIGEST_TIMEOUT)

    it(`${algorithm} verifyData over the message: ${file} (${vectors.keptTests} cases)`, () => {
      const result = disagreements(file, vectors.testGroups, fromJwk, (key, msg, sig) =>
        LocalCrypto.verifyData(key, algorithm, msg, sig))
      expect(result.cases).toBe(vectors.keptTests)
      expect(result.found).toEqual([])
    })

    if (algorithm.startsWith("ES")) {
      // A key in long use verifies through its multiplication table: the largest group, with the table from the start.
      it(`${algorithm} verify over the digest with a precomputed key: largest group of ${file}`, () => {
        const largest = [...vectors.testGroups].sort((a, b) => b.tests.length - a.tests.length)[0]!
        const result = disagreements(file, [largest], (group) => {
          const key = group.publicKey!
          return LocalCrypto.fromEcPoint(KEY_VAULT_CURVE[key.curve!]!, hex(key.wx), hex(key.wy), { precomputeAfter: 1 })
        }, (key, msg, sig) => LocalCrypto.verify(key, algorithm, LocalCrypto.hash(hashName, msg), sig))
        expect(result.cases).toBe(largest.tests.length)
        expect(result.found).toEqual([])
      })
    }
  }
})
