/**
 * Sealed values for the shared tier: AES-256-GCM under a key derived (HKDF-SHA-256) from the tier key, with a fresh
 * 96-bit IV per value and the slot's identity (vault host, object type, name, version) as additional authenticated
 * data, so a value copied under another name, version or vault does not open.
 *
 * Layout: `[1 byte format version = 1][4 bytes key id][12 bytes IV][16 bytes tag][ciphertext]`. The key id (derived
 * from the key, not the key) picks the key at once when a previous key is still accepted for reads (rotation).
 *
 * Names in Redis key names may be hashed: HMAC-SHA-256 under a second derived key, so Redis shows neither names nor
 * values. Each key of the ring has its own name key; while a previous key is configured, a name has one location per
 * key and invalidations reach both.
 *
 * @internal
 */
import * as NodeCrypto from "node:crypto"

const FORMAT = 1
const HEADER = 1 + 4 + 12 + 16

/** One tier key, as derived keys only. @internal */
export interface KeySlot {
  readonly id: Buffer
  readonly enc: NodeCrypto.KeyObject
  readonly names: NodeCrypto.KeyObject
}

/** The key for writes and, during a rotation, the previous one (reads only). @internal */
export interface Keyring {
  readonly current: KeySlot
  readonly previous: KeySlot | undefined
}

const derive = (master: Buffer, info: string, length: number): Buffer =>
  Buffer.from(NodeCrypto.hkdfSync("sha256", master, Buffer.alloc(0), `effect-azure/key-vault/fleet/${info}`, length))

/**
 * A key slot from the tier key's base64 text (32 bytes). `undefined` when it is not 32 bytes of base64; the message
 * never shows the text.
 *
 * @internal
 */
export const slot = (base64: string): KeySlot | undefined => {
  const text = base64.trim()
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return undefined
  const master = Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64")
  if (master.length !== 32) {
    master.fill(0)
    return undefined
  }
  const enc = derive(master, "values", 32)
  const names = derive(master, "names", 32)
  const id = derive(master, "key-id", 4)
  master.fill(0)
  const result = { id, enc: NodeCrypto.createSecretKey(enc), names: NodeCrypto.createSecretKey(names) }
  enc.fill(0)
  names.fill(0)
  return result
}

/** Seals `plaintext` under the current key, bound to `aad`. @internal */
export const seal = (ring: Keyring, aad: string, plaintext: Buffer): Buffer => {
  const iv = NodeCrypto.randomBytes(12)
  const cipher = NodeCrypto.createCipheriv("aes-256-gcm", ring.current.enc, iv)
  cipher.setAAD(Buffer.from(aad, "utf8"))
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([Buffer.of(FORMAT), ring.current.id, iv, cipher.getAuthTag(), body])
}

/**
 * Opens a sealed value; `undefined` for anything that is not a value sealed by a key of the ring for `aad`, and
 * `"unknown-key"` for a well-formed value sealed under a key this ring does not hold (an instance a rotation has not
 * reached yet sees the new key's entries so): a miss, not damage.
 *
 * @internal
 */
export const open = (ring: Keyring, aad: string, sealed: Buffer): Buffer | "unknown-key" | undefined => {
  if (sealed.length < HEADER || sealed[0] !== FORMAT) return undefined
  const id = sealed.subarray(1, 5)
  const key = id.equals(ring.current.id)
    ? ring.current
    : ring.previous !== undefined && id.equals(ring.previous.id)
    ? ring.previous
    : undefined
  if (key === undefined) return "unknown-key"
  try {
    const decipher = NodeCrypto.createDecipheriv("aes-256-gcm", key.enc, sealed.subarray(5, 17))
    decipher.setAAD(Buffer.from(aad, "utf8"))
    decipher.setAuthTag(sealed.subarray(17, HEADER))
    return Buffer.concat([decipher.update(sealed.subarray(HEADER)), decipher.final()])
  } catch {
    return undefined
  }
}

/** The hashed form of a name for Redis key names (27 base64url characters, 160 bits). @internal */
export const hashName = (key: KeySlot, vaultHost: string, objectType: string, name: string): string =>
  NodeCrypto.createHmac("sha256", key.names).update(`${vaultHost}\u0000${objectType}\u0000${name}`).digest("base64url")
    .slice(0, 27)
