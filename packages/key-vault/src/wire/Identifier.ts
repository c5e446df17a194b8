/**
 * Key Vault object identifiers: `https://{vault}[:port]/{collection}/{name}[/{version}]`.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import { NAME_PATTERN } from "./Rules.js"

/**
 * The collections an identifier can point into.
 *
 * @since 0.1.0
 * @category models
 */
export type Collection =
  | "secrets"
  | "keys"
  | "certificates"
  | "deletedsecrets"
  | "deletedkeys"
  | "deletedcertificates"

const collections: ReadonlySet<string> = new Set<Collection>([
  "secrets",
  "keys",
  "certificates",
  "deletedsecrets",
  "deletedkeys",
  "deletedcertificates"
])

/**
 * A parsed identifier.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyVaultIdentifier {
  /** The identifier as given. */
  readonly sourceId: string
  /** The vault origin, `https://myvault.vault.azure.net` (with a port when one was given). */
  readonly vaultUrl: string
  readonly collection: Collection
  readonly name: string
  /** Absent for version-less identifiers (list items, deleted objects). */
  readonly version: string | undefined
}

/**
 * Parses an identifier; `None` when it is not one.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (id: string): Option.Option<KeyVaultIdentifier> => {
  const canonical = CANONICAL.exec(id)
  if (canonical !== null) {
    const [, scheme, host, port, collection, name, version] = canonical
    // Punycode labels (`xn--`) go through `URL`, which checks them.
    if ((port === undefined || !isDefaultOrInvalidPort(scheme!, port)) && !host!.includes("xn--")) {
      return collections.has(collection!) && NAME_PATTERN.test(name!)
        ? Option.some({
          sourceId: id,
          vaultUrl: port === undefined ? `${scheme}://${host}` : `${scheme}://${host}:${port}`,
          collection: collection as Collection,
          name: name!,
          version: version === undefined || version === "" ? undefined : version
        })
        : Option.none()
    }
  }
  return parseUrl(id)
}

// The spelling the service sends (`https://myvault.vault.azure.net/secrets/name/version`), already in the form `URL`
// would print: a lower-case host whose last label starts with a letter (so never an IPv4 address `URL` rewrites), a
// port without leading zeros, a lower-case collection, plain name and version characters. Read without `URL`, which
// was about 1.5 us of every model built from a vault answer; anything else goes through `URL` (`parseUrl`).
const CANONICAL =
  /^(https?):\/\/((?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*)(?::([1-9][0-9]{0,4}))?\/([a-z]+)\/([0-9A-Za-z-]+)(?:\/([0-9A-Za-z]*))?$/

// `URL` drops a scheme's default port and refuses one past 65535: such ids take the `URL` path.
const isDefaultOrInvalidPort = (scheme: string, port: string): boolean => {
  const n = Number(port)
  return n > 65535 || (scheme === "https" ? n === 443 : n === 80)
}

const parseUrl = (id: string): Option.Option<KeyVaultIdentifier> => {
  let url: URL
  try {
    url = new URL(id)
  } catch {
    return Option.none()
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return Option.none()
  const segments = url.pathname.split("/").filter((s, i, all) => s.length > 0 || i < all.length - 1).slice(1)
  const [collection, name, version, ...rest] = segments
  if (collection === undefined || name === undefined || rest.length > 0) return Option.none()
  const lower = collection.toLowerCase()
  if (!collections.has(lower) || !NAME_PATTERN.test(name)) return Option.none()
  return Option.some({
    sourceId: id,
    vaultUrl: url.origin,
    collection: lower as Collection,
    name,
    version: version === undefined || version === "" ? undefined : version
  })
}

/**
 * Builds the identifier of an object (the inverse of `parse`).
 *
 * @since 0.1.0
 * @category utils
 */
export const format = (vaultUrl: string, collection: Collection, name: string, version?: string): string =>
  `${vaultUrl.replace(/\/+$/, "")}/${collection}/${name}${version === undefined ? "" : `/${version}`}`
