/**
 * Config paths to secret names, and back for enumeration.
 *
 * @internal
 */
import { NAME_PATTERN } from "../../wire/Rules.js"

/** Key Vault's section separator, as the .NET configuration provider reads it (`Db--Password` is `Db:Password`). */
export const NESTING = "--"

const INDEX = /^\[(\d+)\]$/

// The splitting of Effect's own `kebabCase` path patch (camel humps and acronyms), then every run of characters a
// secret name cannot hold becomes one dash.
const kebab = (text: string): string =>
  text
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1-$2")
    .replace(/[^A-Za-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .toLowerCase()

/**
 * One path segment as a part of a secret name: `DATABASE_PASSWORD`, `databasePassword` and `database-password` all
 * become `database-password`; a dot nests (`db.password` is `db--password`); a sequence index `[0]` is `0`.
 */
export const segmentName = (segment: string): string => {
  const index = INDEX.exec(segment)
  if (index !== null) return index[1]!
  return segment.split(".").map(kebab).filter((part) => part.length > 0).join(NESTING)
}

/** The default mapping: the prefix, then every segment, joined by `--`. */
export const defaultSecretName = (prefix: string | undefined) => (path: ReadonlyArray<string>): string =>
  [...(prefix === undefined || prefix === "" ? [] : [prefix.toLowerCase()]), ...path.map(segmentName)]
    .filter((part) => part.length > 0)
    .join(NESTING)

/** Whether a prefix can begin a secret name (and so end in `--` before the rest). */
export const validPrefix = (prefix: string): boolean => NAME_PATTERN.test(prefix) && !prefix.endsWith("-")

/** Whether a name can be a secret's (anything else can never be found in a vault). */
export const validName = (name: string): boolean => NAME_PATTERN.test(name)

/**
 * The children of `base` among `names` (all lower case): the next `--` segment of every name under `base--`, a
 * segment of digits as a sequence index (`[0]`), so Effect's sequence and hash map readers find them.
 */
export const childrenOf = (names: Iterable<string>, base: string): ReadonlyArray<string> => {
  const lower = base.toLowerCase()
  const start = lower === "" ? "" : lower + NESTING
  const children = new Set<string>()
  for (const name of names) {
    if (!name.startsWith(start) || name.length === start.length) continue
    const rest = name.slice(start.length)
    const end = rest.indexOf(NESTING)
    const segment = end === -1 ? rest : rest.slice(0, end)
    if (segment === "") continue
    children.add(/^\d+$/.test(segment) ? `[${segment}]` : segment)
  }
  return [...children]
}

/**
 * The elements of an array stored in one secret: a JSON array of strings, numbers and booleans. Any other value is a
 * single element (values are never split at commas: a password may hold one).
 */
export const arrayElements = (text: string): ReadonlyArray<string> => {
  const trimmed = text.trim()
  if (!trimmed.startsWith("[") || !trimmed.endsWith("]")) return [text]
  let parsed: unknown
  try {
    parsed = JSON.parse(trimmed)
  } catch {
    return [text]
  }
  if (!Array.isArray(parsed)) return [text]
  const elements: Array<string> = []
  for (const element of parsed) {
    if (typeof element === "string") elements.push(element)
    else if (typeof element === "number" || typeof element === "boolean") elements.push(String(element))
    else return [text]
  }
  return elements
}
