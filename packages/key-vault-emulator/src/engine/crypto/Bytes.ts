/**
 * Byte-array helpers for the JWK encodings Key Vault uses: unsigned big-endian integers without leading zero bytes
 * (`n`, `e`) and fixed-width field elements (`x`, `y`, `d`).
 *
 * @since 0.1.0
 */

/**
 * The bytes without leading zero bytes (a zero value keeps one byte, as JWK has no empty integers).
 *
 * @since 0.1.0
 */
export const stripLeadingZeros = (bytes: Uint8Array): Uint8Array => {
  let start = 0
  while (start < bytes.length - 1 && bytes[start] === 0) start++
  return bytes.slice(start)
}

/**
 * Left-pads with zero bytes to `length`; undefined when the value (without leading zeros) does not fit.
 *
 * @since 0.1.0
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
 * Concatenation.
 *
 * @since 0.1.0
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
 * An unsigned big-endian integer.
 *
 * @since 0.1.0
 */
export const toBigInt = (bytes: Uint8Array): bigint => {
  let value = 0n
  for (const byte of bytes) value = (value << 8n) | BigInt(byte)
  return value
}

/**
 * Equality in time independent of where the arrays differ (lengths are not secret).
 *
 * @since 0.1.0
 */
export const constantTimeEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0)
  return diff === 0
}
