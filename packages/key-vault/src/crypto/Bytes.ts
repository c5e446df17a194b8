/**
 * Byte helpers shared by the client's local cryptography and the emulator's engine: base64url without padding (every
 * binary field on the wire), unsigned big-endian integers as JWK carries them (`n`, `e` without leading zero bytes;
 * `x`, `y`, `d` padded to the curve size), concatenation, and constant-time comparison.
 *
 * One copy for both packages, so a JWK the emulator writes and the client reads go through the same rules.
 *
 * @since 0.1.0
 */
import { timingSafeEqual } from "node:crypto"

/**
 * Base64url without padding, as Key Vault writes binary fields.
 *
 * @since 0.1.0
 * @category utils
 */
export const toBase64Url = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url")

/**
 * Decodes base64url (padding and the standard alphabet are tolerated, as Node's decoder does); `undefined` decodes to
 * no bytes.
 *
 * @since 0.1.0
 * @category utils
 */
export const fromBase64Url = (text: string | undefined): Uint8Array => new Uint8Array(Buffer.from(text ?? "", "base64url"))

/**
 * Concatenation.
 *
 * @since 0.1.0
 * @category utils
 */
export const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/**
 * The length of an unsigned big-endian integer in bytes, ignoring leading zero bytes (some producers add one).
 *
 * @since 0.1.0
 * @category utils
 */
export const unsignedLength = (bytes: Uint8Array): number => {
  let start = 0
  while (start < bytes.length && bytes[start] === 0) start++
  return bytes.length - start
}

/**
 * The bit length of an unsigned big-endian integer (0 for zero).
 *
 * @since 0.1.0
 * @category utils
 */
export const bitLength = (bytes: Uint8Array): number => {
  const length = unsignedLength(bytes)
  return length === 0 ? 0 : (length - 1) * 8 + (32 - Math.clz32(bytes[bytes.length - length] ?? 0))
}

/**
 * The bytes without leading zero bytes; a zero value keeps one byte (JWK has no empty integers), an empty input stays
 * empty. A fresh copy, never a view.
 *
 * @since 0.1.0
 * @category utils
 */
export const stripLeadingZeros = (bytes: Uint8Array): Uint8Array => {
  let start = 0
  while (start < bytes.length - 1 && bytes[start] === 0) start++
  return bytes.slice(start)
}

/**
 * Left-pads with zero bytes to `length` (after dropping leading zeros); `undefined` when the value does not fit.
 *
 * @since 0.1.0
 * @category utils
 */
export const leftPad = (bytes: Uint8Array, length: number): Uint8Array | undefined => {
  const value = stripLeadingZeros(bytes)
  if (value.length > length) return undefined
  if (value.length === length) return value
  const padded = new Uint8Array(length)
  padded.set(value, length - value.length)
  return padded
}

/**
 * An unsigned big-endian integer as a `bigint`.
 *
 * @since 0.1.0
 * @category utils
 */
export const toBigInt = (bytes: Uint8Array): bigint => {
  let value = 0n
  for (const byte of bytes) value = (value << 8n) | BigInt(byte)
  return value
}

/**
 * Equality whose time does not depend on where the arrays differ (lengths are not secret). Uses `crypto.timingSafeEqual`
 * rather than a hand-written loop that a JIT is free to shortcut.
 *
 * @since 0.1.0
 * @category utils
 */
export const constantTimeEqual = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && timingSafeEqual(a, b)
