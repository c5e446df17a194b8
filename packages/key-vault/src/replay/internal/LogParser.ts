/**
 * Access log parsing: JSON lines `{"t":<ms or ISO>,"op":"read","name":"x","version":"v"}` and CSV lines
 * `t,op,name[,version]`, mixed freely line by line. Blank lines and lines starting with `#` are skipped; a CSV header
 * (`t,op,name[,version]`) is allowed as the first line.
 *
 * Times are either all relative milliseconds (numbers) or all ISO-8601 instants (made relative to the earliest);
 * a log mixing both is refused, since there is no way to line them up.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Rules from "../../wire/Rules.js"

/** One parsed line. */
export interface ParsedEvent {
  readonly atMillis: number
  readonly op: "read" | "write"
  readonly name: string
  readonly version?: string | undefined
}

/** What went wrong, and where (1-based line number). */
export interface LineError {
  readonly line: number
  readonly message: string
}

type Time = { readonly _tag: "relative"; readonly millis: number } | { readonly _tag: "absolute"; readonly millis: number }

interface Raw {
  readonly time: Time
  readonly op: "read" | "write"
  readonly name: string
  readonly version: string | undefined
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/
const NUMBER = /^\d+(\.\d+)?$/
const VERSION_LABEL = /^[0-9A-Za-z._-]{1,64}$/

const time = (value: unknown): Either.Either<Time, string> => {
  if (typeof value === "number") {
    return Number.isFinite(value) && value >= 0
      ? Either.right({ _tag: "relative", millis: value })
      : Either.left("t must be a non-negative number of milliseconds or an ISO-8601 instant")
  }
  if (typeof value === "string") {
    if (NUMBER.test(value)) return Either.right({ _tag: "relative", millis: Number(value) })
    const millis = ISO.test(value) ? Date.parse(value) : Number.NaN
    if (!Number.isNaN(millis)) return Either.right({ _tag: "absolute", millis })
  }
  return Either.left(`t must be a non-negative number of milliseconds or an ISO-8601 instant, got ${describe(value)}`)
}

// Only the shape of a bad field is named, and short: a log line could carry something that should not be echoed.
const describe = (value: unknown): string => {
  if (typeof value === "string") return value.length > 40 ? `a ${value.length}-character string` : JSON.stringify(value)
  if (value === undefined) return "nothing"
  return typeof value === "object" ? (value === null ? "null" : "an object") : String(value)
}

const fields = (t: unknown, op: unknown, name: unknown, version: unknown): Either.Either<Raw, string> =>
  Either.gen(function*() {
    const at = yield* time(t)
    if (op !== "read" && op !== "write") return yield* Either.left(`op must be "read" or "write", got ${describe(op)}`)
    if (typeof name !== "string" || !Rules.NAME_PATTERN.test(name)) {
      return yield* Either.left(`name must match ${Rules.NAME_PATTERN.source}, got ${describe(name)}`)
    }
    if (version !== undefined && (typeof version !== "string" || !VERSION_LABEL.test(version))) {
      return yield* Either.left(`version must be a label of 1 to 64 letters, digits, '.', '_' or '-', got ${describe(version)}`)
    }
    return { time: at, op, name, version: version === "" ? undefined : version }
  })

const jsonLine = (text: string): Either.Either<Raw, string> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return Either.left("not valid JSON")
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return Either.left("a JSON line must be an object")
  const record = value as Record<string, unknown>
  const version = record["version"] === null ? undefined : record["version"]
  return fields(record["t"], record["op"], record["name"], version)
}

const unquote = (field: string): string => {
  const trimmed = field.trim()
  return trimmed.length >= 2 && trimmed.startsWith("\"") && trimmed.endsWith("\"") ? trimmed.slice(1, -1) : trimmed
}

const csvLine = (text: string): Either.Either<Raw, string> => {
  const parts = text.split(",").map(unquote)
  if (parts.length < 3 || parts.length > 4) {
    return Either.left(`expected 3 or 4 comma-separated fields (t,op,name[,version]), got ${parts.length}`)
  }
  const [t, op, name, version] = parts
  return fields(t, op, name, version === undefined || version === "" ? undefined : version)
}

const isHeader = (text: string): boolean => {
  const parts = text.split(",").map((p) => unquote(p).toLowerCase())
  return parts[0] === "t" && parts[1] === "op" && parts[2] === "name"
}

/** Parses a whole log. Events keep their file order among equal times (the replay sorts stably). */
export const parse = (text: string): Either.Either<Array<ParsedEvent>, LineError> => {
  const lines = text.split(/\r?\n/)
  const raws: Array<{ readonly raw: Raw; readonly line: number }> = []
  let seenData = false
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === "" || line.startsWith("#")) continue
    if (!seenData && !line.startsWith("{") && isHeader(line)) {
      seenData = true
      continue
    }
    seenData = true
    const parsed = line.startsWith("{") ? jsonLine(line) : csvLine(line)
    if (Either.isLeft(parsed)) return Either.left({ line: i + 1, message: parsed.left })
    const first = raws[0]
    if (first !== undefined && first.raw.time._tag !== parsed.right.time._tag) {
      return Either.left({
        line: i + 1,
        message: `mixes ${parsed.right.time._tag === "absolute" ? "an ISO-8601 instant" : "relative milliseconds"} with ` +
          `${first.raw.time._tag === "absolute" ? "ISO-8601 instants" : "relative milliseconds"} (line ${first.line})`
      })
    }
    raws.push({ raw: parsed.right, line: i + 1 })
  }
  let origin = 0
  if (raws[0]?.raw.time._tag === "absolute") {
    origin = Number.POSITIVE_INFINITY
    for (const { raw } of raws) origin = Math.min(origin, raw.time.millis)
  }
  return Either.right(raws.map(({ raw }) => ({
    atMillis: raw.time.millis - origin,
    op: raw.op,
    name: raw.name,
    ...(raw.version === undefined ? {} : { version: raw.version })
  })))
}
