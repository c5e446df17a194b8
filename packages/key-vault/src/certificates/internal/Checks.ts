/**
 * Pure checks of the strings a certificate policy and the contacts carry: X.500 names, DNS names, email addresses,
 * UPNs, URIs, IP addresses, OIDs. Each answers `undefined` when the input is fine, otherwise what is wrong, without
 * quoting the input. Not public.
 *
 * @since 0.1.0
 * @internal
 */
import { isIP } from "node:net"

/**
 * The attribute keywords an X.500 name may use (case-insensitive): RFC 4514's and the ones Key Vault (and Windows'
 * name parser behind it) accept.
 *
 * @since 0.1.0
 * @internal
 */
export const X500_KEYWORDS: ReadonlySet<string> = new Set([
  "CN", "C", "L", "S", "ST", "O", "OU", "T", "TITLE", "STREET", "DC", "UID", "E", "EMAIL", "EMAILADDRESS", "SN",
  "SURNAME", "SERIALNUMBER", "G", "GN", "GIVENNAME", "I", "INITIALS", "POSTALCODE", "PHONE", "DESCRIPTION",
  "PSEUDONYM", "DNQUALIFIER", "GENERATIONQUALIFIER", "Q", "NAME", "BUSINESSCATEGORY", "POSTALADDRESS",
  "POSTOFFICEBOX", "UNSTRUCTUREDNAME", "UNSTRUCTUREDADDRESS"
])

const OID = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))+$/

/**
 * An object identifier in dotted form (`1.3.6.1.5.5.7.3.1`).
 *
 * @since 0.1.0
 * @internal
 */
export const checkOid = (input: string): string | undefined =>
  OID.test(input) ? undefined : "is not an object identifier in dotted form such as 1.3.6.1.5.5.7.3.1"

const HEX = /^[0-9a-fA-F]{2}$/
// Characters that must be escaped in an RFC 4514 value (when not in a quoted string).
const SPECIAL = new Set([",", "+", "\"", "\\", "<", ">", ";", "=", "#"])

/**
 * An X.500 distinguished name as a string, `CN=name, O=org, C=NL`: relative names separated by `,` (or `;`),
 * multi-valued ones joined with `+`; each `type=value`, the type a known keyword or a dotted OID; values may be quoted
 * (`O="Org, Inc"`), escape specials with `\` (`O=Org\, Inc`) or be `#` and hex (BER). Whitespace around separators is
 * ignored.
 *
 * @since 0.1.0
 * @internal
 */
export const checkX500Name = (input: string): string | undefined => {
  if (input.trim().length === 0) return "is empty; an X.500 name such as CN=example.com is expected"
  let i = 0
  const n = input.length
  let component = 0
  const skipSpaces = () => {
    while (i < n && input[i] === " ") i++
  }
  while (i < n) {
    component++
    skipSpaces()
    // The attribute type.
    const typeStart = i
    while (i < n && input[i] !== "=" && input[i] !== "," && input[i] !== ";" && input[i] !== "+") i++
    if (i >= n || input[i] !== "=") return `component ${component} has no "=" between attribute type and value`
    const type = input.slice(typeStart, i).trim()
    const bare = type.toUpperCase().startsWith("OID.") ? type.slice(4) : type
    if (type.length === 0) return `component ${component} has no attribute type`
    if (!X500_KEYWORDS.has(type.toUpperCase()) && !OID.test(bare)) {
      return `component ${component} has an attribute type that is neither a known keyword (CN, O, OU, L, ST, C, ...) nor an OID`
    }
    i++ // "="
    skipSpaces()
    // The value.
    if (input[i] === "\"") {
      i++
      let closed = false
      while (i < n) {
        if (input[i] === "\\") {
          i += 2
          continue
        }
        if (input[i] === "\"") {
          closed = true
          i++
          break
        }
        i++
      }
      if (!closed) return `component ${component} has a quoted value without its closing quote`
      skipSpaces()
    } else if (input[i] === "#") {
      const start = ++i
      while (i < n && /[0-9a-fA-F]/.test(input[i]!)) i++
      if (i === start || (i - start) % 2 !== 0) return `component ${component} has a # value that is not hex octets`
      skipSpaces()
    } else {
      let length = 0
      while (i < n && input[i] !== "," && input[i] !== ";" && input[i] !== "+") {
        const c = input[i]!
        if (c === "\\") {
          const next = input[i + 1]
          if (next !== undefined && (SPECIAL.has(next) || next === " ")) {
            i += 2
          } else if (HEX.test(input.slice(i + 1, i + 3))) {
            i += 3
          } else {
            return `component ${component} has a "\\" that escapes nothing`
          }
          length++
          continue
        }
        if (c === "\"" || c === "<" || c === ">") {
          return `component ${component} has ${JSON.stringify(c)} in its value; quote or escape it`
        }
        if (c !== " ") length++
        i++
      }
      if (length === 0) return `component ${component} has an empty value`
    }
    if (i < n) {
      const separator = input[i]
      if (separator !== "," && separator !== ";" && separator !== "+") {
        return `component ${component} is followed by text after its value`
      }
      i++
      if (input.slice(i).trim().length === 0) return `the name ends with ${JSON.stringify(separator)}`
    }
  }
  return undefined
}

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

/**
 * A DNS name: labels of letters, digits and inner hyphens (1-63 characters), at most 253 characters in all; the first
 * label may be `*` (a wildcard). Internationalised names must be given in their ASCII (punycode) form.
 *
 * @since 0.1.0
 * @internal
 */
export const checkDnsName = (input: string, options: { readonly wildcard: boolean } = { wildcard: true }): string | undefined => {
  if (input.length === 0) return "is empty"
  if (input.length > 253) return `is ${input.length} characters; DNS names are at most 253`
  const labels = input.split(".")
  for (const [i, label] of labels.entries()) {
    if (i === 0 && label === "*" && options.wildcard && labels.length > 1) continue
    if (label.length === 0) return "has an empty label (two dots in a row, or a leading or trailing dot)"
    if (!LABEL.test(label)) {
      return `has a label that is not 1-63 letters, digits and inner hyphens (label ${i + 1})`
    }
  }
  return undefined
}

const ATEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/

/**
 * An email address, `local@domain`: a dot-atom local part of at most 64 characters and a DNS name as domain.
 *
 * @since 0.1.0
 * @internal
 */
export const checkEmail = (input: string): string | undefined => {
  const at = input.lastIndexOf("@")
  if (at <= 0 || at === input.length - 1) return "is not of the form local@domain"
  const local = input.slice(0, at)
  if (local.length > 64) return `has a local part of ${local.length} characters; at most 64`
  if (!local.split(".").every((atom) => ATEXT.test(atom))) {
    return "has a local part with a character not allowed, or an empty dot-separated part"
  }
  const domain = checkDnsName(input.slice(at + 1), { wildcard: false })
  return domain === undefined ? undefined : `has a domain that ${domain}`
}

/**
 * A user principal name, `user@domain`: the same form as an email address.
 *
 * @since 0.1.0
 * @internal
 */
export const checkUpn = checkEmail

/**
 * An absolute URI with a scheme (`https://example.com/path`, `spiffe://trust/workload`, `urn:example:a`).
 *
 * @since 0.1.0
 * @internal
 */
export const checkUri = (input: string): string | undefined => {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(input)) return "is not an absolute URI with a scheme"
  try {
    new URL(input)
    return undefined
  } catch {
    return "is not an absolute URI with a scheme"
  }
}

/**
 * An IPv4 or IPv6 address.
 *
 * @since 0.1.0
 * @internal
 */
export const checkIpAddress = (input: string): string | undefined =>
  isIP(input) === 0 ? "is not an IPv4 or IPv6 address" : undefined
