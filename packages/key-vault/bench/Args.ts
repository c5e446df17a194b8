/**
 * Command-line parsing shared by the bench scripts: `node:util` `parseArgs` (strict) with its errors turned into the
 * scripts' short usage messages. A `UsageError` makes a script exit 2.
 */
import { parseArgs, type ParseArgsConfig } from "node:util"

/** The `options` of a `parseArgs` call. */
export type OptionsConfig = NonNullable<ParseArgsConfig["options"]>

/** A bad argument: the script prints the message and its usage and exits 2. */
export class UsageError extends Error {}

const quoted = (message: string): string | undefined => /'([^']+)'/.exec(message)?.[1]

// `parseArgs` names an option as '--count <value>' or '-c, --count': keep the long flag.
const flagOf = (message: string): string => {
  const named = quoted(message) ?? ""
  const long = /--[^\s,<]+/.exec(named)?.[0]
  return long ?? named.split(/[\s,]/)[0] ?? named
}

/**
 * The usage message for a `parseArgs` error: `unknown <word> --x`, `--x needs a value`, `--x does not take a value`,
 * `unexpected argument "x"`.
 */
export const describe = (error: unknown, unknownWord = "option"): string => {
  const message = error instanceof Error ? error.message : String(error)
  const code = typeof error === "object" && error !== null && "code" in error ? error.code : undefined
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown ${unknownWord} ${quoted(message) ?? message}`
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument "${quoted(message) ?? message}"`
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const flag = flagOf(message)
      if (message.includes("does not take an argument")) return `${flag} does not take a value`
      if (message.includes("ambiguous")) return `${flag} needs a value (one starting with "-" is written ${flag}=-1)`
      return `${flag} needs a value`
    }
    default:
      return message
  }
}

/** `parseArgs` in strict mode over `argv`; a bad argument throws a `UsageError` with a short message. */
export const parse = <const O extends OptionsConfig>(
  argv: ReadonlyArray<string>,
  options: O,
  settings: { readonly allowPositionals?: boolean; readonly unknownWord?: string } = {}
): ReturnType<typeof parseArgs<{ args: Array<string>; options: O; strict: true; allowPositionals: boolean }>> => {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: settings.allowPositionals ?? false })
  } catch (error) {
    throw new UsageError(describe(error, settings.unknownWord))
  }
}
