/**
 * Encryption at rest for cached values: AES-256-GCM under a key that lives in this process's memory only, with a
 * fresh 96-bit IV per value. A heap dump or a shared tier holds ciphertext; a tampered entry fails authentication and
 * is dropped, never served.
 *
 * @since 0.1.0
 */
import * as NodeCrypto from "node:crypto"

/**
 * A sealed value.
 *
 * @since 0.1.0
 */
export interface Sealed {
  readonly iv: Uint8Array
  readonly ciphertext: Uint8Array
  readonly tag: Uint8Array
}

/**
 * Seals and opens strings.
 *
 * @since 0.1.0
 */
export interface AtRestCipher {
  readonly seal: (plaintext: string) => Sealed
  /** `undefined` when the value fails authentication (tampered, or sealed under another key). */
  readonly open: (sealed: Sealed) => string | undefined
}

/**
 * A cipher under `key` (32 bytes), or under a key generated now.
 *
 * @since 0.1.0
 */
export const make = (key: Uint8Array | "generate"): AtRestCipher => {
  const secretKey = NodeCrypto.createSecretKey(key === "generate" ? NodeCrypto.randomBytes(32) : Buffer.from(key))
  return {
    seal: (plaintext) => {
      const iv = NodeCrypto.randomBytes(12)
      const cipher = NodeCrypto.createCipheriv("aes-256-gcm", secretKey, iv)
      const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()])
      return { iv, ciphertext, tag: cipher.getAuthTag() }
    },
    open: (sealed) => {
      try {
        const decipher = NodeCrypto.createDecipheriv("aes-256-gcm", secretKey, sealed.iv)
        decipher.setAuthTag(sealed.tag)
        return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString("utf8")
      } catch {
        return undefined
      }
    }
  }
}
