/**
 * X.500 distinguished names as a policy's `subject` gives them (`CN=www.contoso.com, O=Contoso, C=US`): parsed into
 * relative distinguished names with canonical attribute types, so `cn=MyCert` (the SDKs' default) and `CN=MyCert` name
 * the same thing. Attribute types are matched case-insensitively; values keep their case. Separators are `,` or `;`
 * between RDNs and `+` inside one; a value may be quoted (`CN="a, b"`) or use backslash escapes (`CN=a\, b`).
 *
 * The ASN.1 encoding is left to `@peculiar/x509` (see `X509`); this module only reads the string.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"

/**
 * One attribute of a relative distinguished name: its type (a short name such as `CN`, or a dotted OID) and value.
 *
 * @since 0.1.0
 * @category models
 */
export interface NameAttribute {
  readonly type: string
  readonly value: string
}

/**
 * A parsed name: relative distinguished names in the order written, each with one or more attributes.
 *
 * @since 0.1.0
 * @category models
 */
export type DistinguishedName = ReadonlyArray<ReadonlyArray<NameAttribute>>

// Short names `@peculiar/x509` encodes itself, and aliases for them; other known names map to their OIDs.
const TYPES: Readonly<Record<string, string>> = {
  CN: "CN",
  COMMONNAME: "CN",
  L: "L",
  LOCALITY: "L",
  ST: "ST",
  S: "ST",
  STATE: "ST",
  O: "O",
  ORGANIZATION: "O",
  OU: "OU",
  ORGANIZATIONALUNIT: "OU",
  C: "C",
  COUNTRY: "C",
  DC: "DC",
  E: "E",
  EMAIL: "E",
  EMAILADDRESS: "E",
  G: "G",
  GIVENNAME: "G",
  I: "I",
  INITIALS: "I",
  SN: "SN",
  SURNAME: "SN",
  T: "T",
  TITLE: "T",
  STREET: "2.5.4.9",
  SERIALNUMBER: "2.5.4.5",
  UID: "0.9.2342.19200300.100.1.1",
  POSTALCODE: "2.5.4.17"
}

const OID = /^[0-2](\.\d+)+$/

/**
 * The longest subject accepted (the service keeps names far shorter; this only bounds the work).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_SUBJECT_LENGTH = 1024

const MAX_ECHOED = 32
const shown = (text: string): string => (text.length > MAX_ECHOED ? `${text.slice(0, MAX_ECHOED)}...` : text)

const isSpace = (c: string | undefined): boolean => c === " " || c === "\t"

/**
 * Parses a subject. The error is a `BadParameter` message: it names the rule and at most the attribute type, never a
 * whole value.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (subject: string): Either.Either<DistinguishedName, string> => {
  if (subject.length > MAX_SUBJECT_LENGTH) {
    return Either.left(`The subject is longer than ${MAX_SUBJECT_LENGTH} characters.`)
  }
  const rdns: Array<Array<NameAttribute>> = []
  let current: Array<NameAttribute> = []
  let i = 0
  const n = subject.length
  const skipSpaces = () => {
    while (isSpace(subject[i])) i++
  }
  skipSpaces()
  if (i === n) return Either.right([])
  for (;;) {
    skipSpaces()
    const typeStart = i
    while (i < n && subject[i] !== "=" && subject[i] !== "," && subject[i] !== ";" && subject[i] !== "+") i++
    const rawType = subject.slice(typeStart, i).trim()
    if (subject[i] !== "=" || rawType === "") {
      return Either.left("The subject must be a distinguished name of TYPE=value parts, such as CN=www.contoso.com.")
    }
    const type = OID.test(rawType) ? rawType : TYPES[rawType.toUpperCase()]
    if (type === undefined) {
      return Either.left(`The subject has an unknown attribute type '${shown(rawType)}'.`)
    }
    i++ // "="
    skipSpaces()
    let value = ""
    if (subject[i] === "\"") {
      i++
      while (i < n && subject[i] !== "\"") {
        if (subject[i] === "\\" && i + 1 < n) i++
        value += subject[i]
        i++
      }
      if (subject[i] !== "\"") return Either.left("The subject has an unterminated quoted value.")
      i++
      skipSpaces()
    } else {
      let trailingSpaces = 0
      while (i < n && subject[i] !== "," && subject[i] !== ";" && subject[i] !== "+") {
        const c = subject[i]!
        if (c === "\\") {
          const next = subject.slice(i + 1, i + 3)
          if (/^[0-9a-fA-F]{2}$/.test(next)) {
            value += String.fromCharCode(parseInt(next, 16))
            i += 3
          } else if (i + 1 < n) {
            value += subject[i + 1]
            i += 2
          } else {
            return Either.left("The subject ends with a lone backslash.")
          }
          trailingSpaces = 0
          continue
        }
        value += c
        trailingSpaces = isSpace(c) ? trailingSpaces + 1 : 0
        i++
      }
      value = value.slice(0, value.length - trailingSpaces)
    }
    if (value === "") return Either.left(`The subject attribute ${shown(rawType)} has an empty value.`)
    if (type === "C" && !/^[A-Za-z]{2}$/.test(value)) {
      return Either.left("The subject's country (C) must be a two-letter code.")
    }
    current.push({ type, value })
    if (i >= n) break
    const separator = subject[i]
    i++
    if (separator === "+") continue
    if (separator !== "," && separator !== ";") {
      return Either.left("The subject must separate its parts with commas.")
    }
    rdns.push(current)
    current = []
  }
  rdns.push(current)
  return Either.right(rdns)
}

/**
 * The name in the JSON form `@peculiar/x509`'s `Name` takes: one object per RDN, attribute types to values.
 *
 * @since 0.1.0
 * @category utils
 */
export const toJson = (name: DistinguishedName): Array<Record<string, Array<string>>> =>
  name.map((rdn) => {
    const entry: Record<string, Array<string>> = {}
    for (const { type, value } of rdn) (entry[type] ??= []).push(value)
    return entry
  })
