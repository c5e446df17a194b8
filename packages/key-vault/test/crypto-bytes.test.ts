/**
 * The byte helpers and EMSA-PSS that the client and the emulator share: JWK integer rules, base64url, constant-time
 * comparison, and PSS encode/verify as a round trip and against node:crypto's own PSS signatures.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Crypto from "node:crypto"
import * as Bytes from "../src/crypto/Bytes.js"
import * as Pss from "../src/crypto/Pss.js"

describe("Bytes", () => {
  it("strips leading zeros down to one byte, pads to a width or refuses what does not fit", () => {
    expect([...Bytes.stripLeadingZeros(Uint8Array.of(0, 0, 1, 2))]).toEqual([1, 2])
    expect([...Bytes.stripLeadingZeros(Uint8Array.of(0, 0))]).toEqual([0])
    expect([...Bytes.leftPad(Uint8Array.of(0, 7), 3)!]).toEqual([0, 0, 7])
    expect(Bytes.leftPad(Uint8Array.of(1, 2, 3), 2)).toBeUndefined()
    expect(Bytes.unsignedLength(Uint8Array.of(0, 0, 9))).toBe(1)
    expect(Bytes.bitLength(Uint8Array.of(0, 0x01, 0xff))).toBe(9)
    expect(Bytes.bitLength(Uint8Array.of(0, 0))).toBe(0)
    expect(Bytes.toBigInt(Uint8Array.of(1, 0))).toBe(256n)
  })

  it("encodes base64url without padding, also for a view into a larger buffer", () => {
    const backing = Uint8Array.of(9, 0xfb, 0xff, 9)
    expect(Bytes.toBase64Url(backing.subarray(1, 3))).toBe("-_8")
    expect([...Bytes.fromBase64Url("-_8")]).toEqual([0xfb, 0xff])
    expect(Bytes.fromBase64Url(undefined).length).toBe(0)
    expect([...Bytes.concat(Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3))]).toEqual([1, 2, 3])
  })

  it("compares in constant time and never throws on different lengths", () => {
    expect(Bytes.constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true)
    expect(Bytes.constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false)
    expect(Bytes.constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1))).toBe(false)
  })
})

describe("Pss", () => {
  const { privateKey, publicKey } = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
  const raw = (signature: Uint8Array) =>
    new Uint8Array(Crypto.publicDecrypt({ key: publicKey, padding: Crypto.constants.RSA_NO_PADDING }, signature))

  it("verifies node's PSS signatures (salt = hash length) from the raw RSA result, refuses other salts", () => {
    const data = new TextEncoder().encode("pss")
    const digest = new Uint8Array(Crypto.createHash("sha256").update(data).digest())
    const sign = (saltLength: number) =>
      new Uint8Array(Crypto.sign("sha256", data, { key: privateKey, padding: Crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength }))
    expect(Pss.verifyRecovered("sha256", digest, raw(sign(32)), 2048)).toBe(true)
    expect(Pss.verifyRecovered("sha256", digest, raw(sign(20)), 2048)).toBe(false)
  })

  it("encodes what node verifies, and what it encodes it verifies", () => {
    const digest = new Uint8Array(Crypto.createHash("sha384").update("x").digest())
    const em = Pss.encode("sha384", digest, 2047)!
    expect(Pss.verify("sha384", digest, em, 2047)).toBe(true)
    const signature = Crypto.privateEncrypt({ key: privateKey, padding: Crypto.constants.RSA_NO_PADDING }, Bytes.leftPad(em, 256)!)
    expect(Crypto.verify("sha384", Buffer.from("x"), { key: publicKey, padding: Crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, signature)).toBe(true)
    expect(Pss.encode("sha384", digest.subarray(1), 2047)).toBeUndefined()
  })
})
