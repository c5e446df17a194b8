/**
 * PEM armour: base64 between `-----BEGIN X-----` and `-----END X-----` lines (RFC 7468). Only the armour is handled
 * here; what is inside is parsed by node:crypto. Not public.
 *
 * @since 0.1.0
 * @internal
 */

/**
 * One PEM block: its label (`CERTIFICATE`, `PRIVATE KEY`, ...) and the DER bytes.
 *
 * @since 0.1.0
 * @internal
 */
export interface PemBlock {
  readonly label: string
  readonly der: Uint8Array
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g

/**
 * Every well-formed block of `text`, in order. A block whose body is not base64 is left out.
 *
 * @since 0.1.0
 * @internal
 */
export const blocks = (text: string): ReadonlyArray<PemBlock> => {
  const found: Array<PemBlock> = []
  for (const match of text.matchAll(BLOCK)) {
    const body = match[2]!.replace(/\s+/g, "")
    if (body.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) continue
    found.push({ label: match[1]!, der: new Uint8Array(Buffer.from(body, "base64")) })
  }
  return found
}

/**
 * Whether `text` holds at least one `BEGIN` line of the label (`CERTIFICATE`), or of any label ending with it
 * (`PRIVATE KEY` also finds `ENCRYPTED PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`).
 *
 * @since 0.1.0
 * @internal
 */
export const hasLabel = (text: string, label: string): boolean =>
  new RegExp(`-----BEGIN ([A-Z0-9]+ )*${label}-----`).test(text)

/**
 * DER bytes armoured as PEM, 64 characters a line.
 *
 * @since 0.1.0
 * @internal
 */
export const encode = (label: string, der: Uint8Array): string => {
  const body = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("base64")
  const lines = body.match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`
}
