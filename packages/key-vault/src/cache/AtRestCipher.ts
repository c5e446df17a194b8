/**
 * Encryption at rest for cached values: AES-256-GCM under a key that lives in this process's memory only, with a
 * fresh 96-bit IV per value. A heap dump or a shared tier holds ciphertext; a tampered entry fails authentication and
 * is dropped, never served.
 *
 * @since 0.1.0
 */
import * as Redacted from "effect/Redacted"
import * as NodeCrypto from "node:crypto"

/**
 * A sealed value.
 *
 * @since 0.1.0
 * @category models
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
 * @category models
 */
export interface AtRestCipher {
  /** `context` (e.g. the cache key) is authenticated with the value: a sealed value moved to another entry fails. */
  readonly seal: (plaintext: string, context?: string) => Sealed
  /** `undefined` when the value fails authentication (tampered, moved, or sealed under another key). */
  readonly open: (sealed: Sealed, context?: string) => string | undefined
}

/**
 * A cipher under `key` (32 bytes), or under a key generated now. The key is held only as a `KeyObject` inside the
 * cipher's closures: the returned object has no field that prints, logs or serialises it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (key: Uint8Array | Redacted.Redacted<Uint8Array> | "generate"): AtRestCipher => {
  const bytes = key === "generate"
    ? NodeCrypto.randomBytes(32)
    : Buffer.from(Redacted.isRedacted(key) ? Redacted.value(key) : key)
  const secretKey = NodeCrypto.createSecretKey(bytes)
  // The KeyObject holds its own copy; the temporary one is wiped rather than left for the collector.
  bytes.fill(0)
  return {
    seal: (plaintext, context) => {
      const iv = NodeCrypto.randomBytes(12)
      const cipher = NodeCrypto.createCipheriv("aes-256-gcm", secretKey, iv)
      if (context !== undefined) cipher.setAAD(Buffer.from(context, "utf8"))
      const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()])
      return { iv, ciphertext, tag: cipher.getAuthTag() }
    },
    open: (sealed, context) => {
      try {
        const decipher = NodeCrypto.createDecipheriv("aes-256-gcm", secretKey, sealed.iv)
        if (context !== undefined) decipher.setAAD(Buffer.from(context, "utf8"))
        decipher.setAuthTag(sealed.tag)
        return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString("utf8")
      } catch {
        return undefined
      }
    }
  }
}
