/**
 * The `key-vault-emulator` command: parses flags, prepares TLS material, starts the emulator behind the HTTPS
 * server, announces where it listens (one JSON line on stdout, for scripts) and runs until SIGINT / SIGTERM.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Util from "node:util"
import * as AdminRoutes from "../internal/AdminRoutes.js"
import * as Emulator from "../Emulator.js"
import type * as EventGrid from "../events/EventGrid.js"
import * as FaultRule from "../faults/FaultRule.js"
import * as Challenge from "../http/Challenge.js"
import * as StateFiles from "../persistence/internal/StateFiles.js"
import * as HttpsServer from "../server/HttpsServer.js"
import * as Tls from "../server/Tls.js"
import * as VaultListeners from "../server/VaultListeners.js"
import * as VaultRegistry from "../vaults/VaultRegistry.js"

/**
 * Raised for an unknown flag, a missing value or a value out of range; the command exits with code 2.
 *
 * @since 0.1.0
 * @category errors
 */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/**
 * Parsed command line.
 *
 * @since 0.1.0
 * @category models
 */
export interface CliOptions {
  readonly host: string
  readonly port: number
  readonly http: boolean
  readonly stateDir: string | undefined
  readonly tenantId: string | undefined
  readonly recoverableDays: number | undefined
  readonly help: boolean
  /** `--fault` rules, in order (applied after the rules of `--faults-file`). */
  readonly faults?: ReadonlyArray<FaultRule.FaultRule> | undefined
  /** `--faults-file` paths, in order; read when the command starts. */
  readonly faultsFiles?: ReadonlyArray<string> | undefined
  /** `--seed`: the fault rules' probability seed. */
  readonly seed?: number | undefined
  /** `--throttle`: throttling mode. */
  readonly throttle?: boolean | undefined
  /** `--throttle-retry-after[=on|off]`: send `Retry-After` with throttling 429s. */
  readonly throttleRetryAfter?: boolean | undefined
  /** `--token`: the only bearer token the emulator accepts. */
  readonly token?: Redacted.Redacted<string> | undefined
  /** `--token-file`: a file holding that token; read when the command starts. */
  readonly tokenFile?: string | undefined
  /** `--name` (repeatable): more names clients use for the server (certificate, CA constraints, Host check). */
  readonly names?: ReadonlyArray<string> | undefined
  /** `--certificate-issuance-delay`: milliseconds a `Self` certificate stays pending before it is issued. */
  readonly certificateIssuanceDelayMillis?: number | undefined
  /** `--start-time`: the emulator's time when it starts (its clock runs on from there). */
  readonly startTime?: Date | undefined
  /** `--event-grid-webhook` (repeatable): webhooks subscribed to the vault's Event Grid events once it listens. */
  readonly eventGridWebhooks?: ReadonlyArray<string> | undefined
  /** `--event-grid-schema`: the schema of those webhooks' deliveries; default `EventGrid`. */
  readonly eventGridSchema?: EventGrid.EventSchema | undefined
  /** `--seed-file`: a seed document (`Seed`) applied at start (when the saved state is new). */
  readonly seedFile?: string | undefined
  /** `--state-key-file`: a file of 32 bytes (raw, or 64 hex / 44 base64 characters), the state's AES-256 key. */
  readonly stateKeyFile?: string | undefined
  /** `--vault name[=port]` (repeatable): named vaults to create; with a port, served on their own listener too. */
  readonly vaults?: ReadonlyArray<{ readonly name: string; readonly port: number | undefined }> | undefined
}

/**
 * What the command prints on stdout once the server accepts connections.
 *
 * @since 0.1.0
 * @category models
 */
export interface StartupInfo {
  readonly vaultUrl: string
  /** `null` for `--http`. */
  readonly caCertPath: string | null
  readonly host: string
  readonly port: number
  readonly tls: boolean
}

/**
 * The `--help` text.
 *
 * @since 0.1.0
 * @category constants
 */
export const USAGE: string = `Usage: key-vault-emulator [options]

Runs an Azure Key Vault emulator over HTTPS with a locally generated CA.

Options:
  --host <address>          listening address (default 127.0.0.1, loopback only; anything else
                            lets other machines connect: use --token then)
  --port <number>           listening port, 0 = any free port (default 0)
  --token <value>           accept only this bearer token (401 for any other); default: any token
  --token-file <path>       read that token from a file (not visible in the process list)
  --name <host>             another name clients use for the server (repeatable): added to the
                            certificate and its CA's name constraints, and accepted in Host
  --http                    serve plain HTTP instead of HTTPS; requests must then address the
                            server as localhost, a loopback address or a --name (DNS-rebinding guard)
  --state-dir <dir>         where the CA and server certificate are kept, owner-only (0700)
                            (default $KEY_VAULT_EMULATOR_STATE_DIR or ./.emulator); when given (flag or
                            variable), every vault's contents are kept there too, across restarts
  --state-key-file <path>   the 32-byte AES-256 key the vault state is encrypted under (raw, hex or
                            base64); default one generated into <state-dir>/vaults/state.key
  --seed-file <path>        create vaults and objects at start from a seed document (JSON); with a
                            kept state, only when it is new
  --vault <name>[=<port>]   a named vault (repeatable); with a port it also listens there, so
                            https://localhost:<port> reaches it with no name resolution (a vault
                            created later with a port setting gets its listener too)
  --tenant-id <guid>        tenant announced in the authentication challenge
  --recoverable-days <n>    soft-delete retention in days, 7..90 (default 90)
  --certificate-issuance-delay <ms>
                            how long a self-signed certificate stays pending, 0..3600000 (default 0)
  --start-time <ISO date>   the emulator's time at start, e.g. 2030-01-01T00:00:00Z; it runs on from
                            there (move it later with POST /admin/clock)
  --event-grid-webhook <url>
                            deliver the vault's Event Grid events to this webhook (repeatable); it must
                            pass the validation handshake when the emulator starts
  --event-grid-schema <EventGrid|CloudEvents>
                            the webhooks' delivery schema (default EventGrid)
  --fault <json>            a fault rule (repeatable), e.g.
                            '{"operation":"getSecret","times":2,"fault":{"_tag":"Status","status":503}}'
  --faults-file <path>      a JSON array of fault rules (repeatable; applied before --fault rules)
  --seed <n>                seed of fault probabilities, 0..4294967295 (default 0: runs repeat)
  --throttle                enforce the service's per-vault limits per 10 s window (429 Throttled)
  --throttle-retry-after[=on|off]
                            send Retry-After with throttling 429s (default off, like the service often)
  -h, --help                show this help

Fault rule: {"operation"?: name or [names], "name"?: glob or "/regexp/flags", "probability"?: 0..1,
  "times"?: n, "phase"?: "before" | "after", "fault": action}. Actions: {"_tag":"Status","status":503,
  "retryAfter"?:{"_tag":"Seconds"|"HttpDate","seconds":n} | {"_tag":"RetryAfterMs"|"XMsRetryAfterMs","millis":n}},
  {"_tag":"Latency","millis":n}, {"_tag":"Reset"}, {"_tag":"Stall"}, {"_tag":"Truncate","bytes"?:n},
  {"_tag":"MalformedJson"}. An invalid rule exits with code 2.

Admin API (same origin, same bearer token as the vault, no api-version; the README documents every route):
  /admin/vaults[/<vault>[/reset|/objects|/faults|/throttle]]   vaults, their objects, faults, throttling
  /admin/clock                           read, advance, set, reset the emulator's time
  /admin/journal[/stream]                query or clear the request journal; live as server-sent events
  /admin/seed, /admin/export             seed documents in and out (values only with ?includeValues=true)
  /admin/eventgrid/...                   Event Grid webhook subscriptions and the latest events
  GET /admin/dashboard                   the dashboard page (give it the token as #token=... once)

On start, one JSON line is printed on stdout:
  {"vaultUrl":"https://localhost:PORT","caCertPath":"...","host":"127.0.0.1","port":PORT,"tls":true}
Everything else goes to stderr, every vault with its URLs among it. Stop with Ctrl+C or SIGTERM.
`

const DEFAULTS: CliOptions = {
  host: "127.0.0.1",
  port: 0,
  http: false,
  stateDir: undefined,
  tenantId: undefined,
  recoverableDays: undefined,
  help: false
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const parseInteger = (flag: string, value: string, min: number, max: number): Either.Either<number, UsageError> => {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN
  return Number.isSafeInteger(n) && n >= min && n <= max
    ? Either.right(n)
    : Either.left(new UsageError({ message: `${flag} expects an integer from ${min} to ${max}, got "${value}"` }))
}

// Every flag, for `node:util` `parseArgs`. It runs non-strict with tokens: the messages, the order in which problems
// are reported, and a few forms its strict mode refuses (`--seed -1` reaches the range check) stay the command's own.
const OPTIONS = {
  host: { type: "string" },
  port: { type: "string" },
  "state-dir": { type: "string" },
  "tenant-id": { type: "string" },
  "recoverable-days": { type: "string" },
  "certificate-issuance-delay": { type: "string" },
  "start-time": { type: "string" },
  "event-grid-webhook": { type: "string", multiple: true },
  "event-grid-schema": { type: "string" },
  "seed-file": { type: "string" },
  "state-key-file": { type: "string" },
  vault: { type: "string", multiple: true },
  fault: { type: "string", multiple: true },
  "faults-file": { type: "string", multiple: true },
  seed: { type: "string" },
  token: { type: "string" },
  "token-file": { type: "string" },
  name: { type: "string", multiple: true },
  http: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  throttle: { type: "boolean" },
  "throttle-retry-after": { type: "boolean" }
} as const satisfies NonNullable<Util.ParseArgsConfig["options"]>

type OptionName = keyof typeof OPTIONS

const isOptionName = (name: string): name is OptionName => Object.hasOwn(OPTIONS, name)

/**
 * Parses the arguments after the program name. Accepts `--flag value` and `--flag=value`; the last repetition wins.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseArgs = (argv: ReadonlyArray<string>): Either.Either<CliOptions, UsageError> => {
  const { tokens } = Util.parseArgs({
    args: [...argv],
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true
  })
  let options: CliOptions = DEFAULTS
  for (const token of tokens) {
    if (token.kind === "positional") {
      return Either.left(new UsageError({ message: `unexpected argument "${token.value}"` }))
    }
    if (token.kind === "option-terminator" || !isOptionName(token.name)) {
      return Either.left(new UsageError({ message: `unknown option ${token.kind === "option" ? token.rawName : "--"}` }))
    }
    const flag = token.rawName
    const inline = token.inlineValue === true ? token.value : undefined
    const applied = OPTIONS[token.name].type === "boolean"
      ? applySwitch(token.name, flag, inline, options)
      : applyValue(token.name, flag, token.inlineValue === true, token.value, options)
    if (Either.isLeft(applied)) return Either.left(applied.left)
    options = applied.right
  }
  if (options.throttleRetryAfter !== undefined && options.throttle !== true) {
    return Either.left(new UsageError({ message: "--throttle-retry-after needs --throttle" }))
  }
  if (options.eventGridSchema !== undefined && (options.eventGridWebhooks ?? []).length === 0) {
    return Either.left(new UsageError({ message: "--event-grid-schema needs --event-grid-webhook" }))
  }
  if (options.token !== undefined && options.tokenFile !== undefined) {
    return Either.left(new UsageError({ message: "--token and --token-file exclude each other" }))
  }
  return Either.right(options)
}

const applySwitch = (
  name: OptionName,
  flag: string,
  value: string | undefined,
  options: CliOptions
): Either.Either<CliOptions, UsageError> => {
  if (name === "throttle" || name === "throttle-retry-after") {
    return parseThrottleSwitch(name === "throttle" ? "--throttle" : "--throttle-retry-after", value, options)
  }
  if (value !== undefined) return Either.left(new UsageError({ message: `${flag} does not take a value` }))
  return Either.right(name === "http" ? { ...options, http: true } : { ...options, help: true })
}

const applyValue = (
  name: OptionName,
  flag: string,
  inline: boolean,
  raw: string | undefined,
  options: CliOptions
): Either.Either<CliOptions, UsageError> => {
  // Non-strict `parseArgs` takes the next argument whatever it is; a flag there means this one has no value.
  if (raw === undefined || raw === "" || (!inline && raw.startsWith("--"))) {
    return Either.left(new UsageError({ message: `${flag} needs a value` }))
  }
  const value = raw
  switch (name) {
    case "host":
      return Either.right({ ...options, host: value })
    case "port":
      return Either.map(parseInteger(flag, value, 0, 65535), (port) => ({ ...options, port }))
    case "state-dir":
      return Either.right({ ...options, stateDir: value })
    case "seed-file":
      return Either.right({ ...options, seedFile: value })
    case "state-key-file":
      return Either.right({ ...options, stateKeyFile: value })
    case "vault": {
      const match = /^([^=]+)(?:=(\d+))?$/.exec(value)
      const name = match?.[1]?.toLowerCase() ?? ""
      const problem = VaultRegistry.vaultNameProblem(name)
      if (match === null || problem !== undefined) {
        return Either.left(new UsageError({ message: `--vault expects name[=port] (${problem ?? "bad form"}), got "${value}"` }))
      }
      const port = match[2] === undefined ? undefined : Number(match[2])
      if (port !== undefined && (port < 1 || port > 65535)) {
        return Either.left(new UsageError({ message: `--vault ${name}: the port must be from 1 to 65535` }))
      }
      return Either.right({ ...options, vaults: [...(options.vaults ?? []), { name, port }] })
    }
    case "tenant-id":
      return GUID.test(value)
        ? Either.right({ ...options, tenantId: value.toLowerCase() })
        : Either.left(new UsageError({ message: `--tenant-id expects a GUID, got "${value}"` }))
    case "recoverable-days":
      // The service's soft-delete retention range.
      return Either.map(parseInteger(flag, value, 7, 90), (days) => ({ ...options, recoverableDays: days }))
    case "certificate-issuance-delay":
      return Either.map(
        parseInteger(flag, value, 0, 3_600_000),
        (millis) => ({ ...options, certificateIssuanceDelayMillis: millis })
      )
    case "start-time": {
      const date = AdminRoutes.parseIsoDate(value)
      return date === undefined
        ? Either.left(new UsageError({ message: `--start-time expects an ISO 8601 date, got "${value}"` }))
        : Either.right({ ...options, startTime: date })
    }
    case "event-grid-webhook":
      return isWebhookUrl(value)
        ? Either.right({ ...options, eventGridWebhooks: [...(options.eventGridWebhooks ?? []), value] })
        : Either.left(new UsageError({ message: "--event-grid-webhook expects an absolute http: or https: URL" }))
    case "event-grid-schema":
      return value === "EventGrid" || value === "CloudEvents"
        ? Either.right({ ...options, eventGridSchema: value })
        : Either.left(new UsageError({ message: `--event-grid-schema expects EventGrid or CloudEvents, got "${value}"` }))
    case "fault":
      return Either.match(FaultRule.fromJson(value), {
        onLeft: (error) => Either.left(new UsageError({ message: `--fault: ${error.message}` })),
        onRight: (rule) => Either.right({ ...options, faults: [...(options.faults ?? []), rule] })
      })
    case "faults-file":
      return Either.right({ ...options, faultsFiles: [...(options.faultsFiles ?? []), value] })
    case "seed":
      return Either.map(parseInteger(flag, value, 0, 0xffffffff), (seed) => ({ ...options, seed }))
    case "token":
      // The message never repeats the value: it is a credential.
      return Challenge.isValidAccessToken(value)
        ? Either.right({ ...options, token: Redacted.make(value) })
        : Either.left(new UsageError({ message: TOKEN_SHAPE }))
    case "token-file":
      return Either.right({ ...options, tokenFile: value })
    case "name":
      return Tls.isHostName(value)
        ? Either.right({ ...options, names: [...(options.names ?? []), value] })
        : Either.left(new UsageError({ message: `--name expects a host name or IP address, got "${value}"` }))
    default:
      return Either.left(new UsageError({ message: `unknown option ${flag}` }))
  }
}

// The URL is never repeated in a message: its query may hold the webhook's shared secret.
const isWebhookUrl = (value: string): boolean => {
  try {
    const url = new URL(value)
    return url.protocol === "http:" || url.protocol === "https:"
  } catch {
    return false
  }
}

const TOKEN_SHAPE = "--token expects 1 to 4096 visible ASCII characters (no spaces)"

/**
 * Reads the token of `--token-file`: the file's text without surrounding whitespace (a trailing newline is normal).
 * Errors name the file, never its contents.
 *
 * @since 0.1.0
 * @category cli
 */
export const readTokenFile = (path: string): Effect.Effect<Redacted.Redacted<string>, UsageError> =>
  Effect.try({
    try: () => Fs.readFileSync(path, "utf8").trim(),
    catch: (cause) =>
      new UsageError({
        message: `--token-file ${path}: cannot read it${cause instanceof Error ? ` (${cause.message})` : ""}`
      })
  }).pipe(
    Effect.filterOrFail(
      Challenge.isValidAccessToken,
      () =>
        new UsageError({
          message: `--token-file ${path}: the file must hold one token of 1 to 4096 visible ASCII characters`
        })
    ),
    Effect.map(Redacted.make)
  )

// `--throttle` takes no value; `--throttle-retry-after` alone means on, or takes `=on` / `=off`.
const parseThrottleSwitch = (
  flag: "--throttle" | "--throttle-retry-after",
  value: string | undefined,
  options: CliOptions
): Either.Either<CliOptions, UsageError> => {
  if (flag === "--throttle") {
    return value === undefined
      ? Either.right({ ...options, throttle: true })
      : Either.left(new UsageError({ message: "--throttle does not take a value" }))
  }
  if (value === undefined || value === "on") return Either.right({ ...options, throttleRetryAfter: true })
  if (value === "off") return Either.right({ ...options, throttleRetryAfter: false })
  return Either.left(new UsageError({ message: `--throttle-retry-after expects on or off, got "${value}"` }))
}

/**
 * Reads the rules of every `--faults-file`, in order; an unreadable file or invalid rules are a usage error.
 *
 * @since 0.1.0
 * @category cli
 */
export const readFaultsFiles = (
  paths: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<FaultRule.FaultRule>, UsageError> =>
  Effect.forEach(paths, (path) =>
    Effect.try({
      try: () => Fs.readFileSync(path, "utf8"),
      catch: (cause) =>
        new UsageError({
          message: `--faults-file ${path}: cannot read it${cause instanceof Error ? ` (${cause.message})` : ""}`
        })
    }).pipe(
      Effect.flatMap((text) =>
        Either.mapLeft(FaultRule.arrayFromJson(text), (error) =>
          new UsageError({ message: `--faults-file ${path}: ${error.message}` }))
      )
    )).pipe(Effect.map((lists) => lists.flat()))

const isUnspecified = (host: string): boolean => host === "0.0.0.0" || host === "::"

/**
 * The warning for a listener other machines may reach, or `undefined` for a loopback one.
 *
 * @since 0.1.0
 * @category cli
 */
export const exposureWarning = (options: {
  readonly host: string
  readonly port: number
  readonly tls: boolean
  readonly token: boolean
}): string | undefined => {
  if (HttpsServer.isLoopback(options.host)) return undefined
  const where = isUnspecified(options.host) ? `${options.host} (every network interface)` : options.host
  const lines = [
    `WARNING: listening on ${where}, port ${options.port}, which is not a loopback address:`,
    `  other machines that can reach this one on that port can connect too.`
  ]
  if (options.token) {
    lines.push(`  Requests need the configured bearer token (--token / --token-file).`)
    if (!options.tls) {
      lines.push(`  Over plain HTTP (--http) the token and every secret cross the network in clear text.`)
    }
  } else {
    lines.push(
      `  Any bearer token is accepted: whoever connects can read, change and delete every secret and key here.`,
      `  Require a token with --token-file <path> (or --token <value>), or listen on 127.0.0.1.`
    )
  }
  return `${lines.join("\n")}\n`
}

// Vault state is kept only in a directory the user chose (flag or variable): the default `./.emulator` keeps the TLS
// material only, so a plain start still begins with empty vaults, as it always did.
const explicitStateDir = (flag: string | undefined): Effect.Effect<string | undefined> =>
  flag !== undefined
    ? Effect.succeed(Path.resolve(flag))
    : Config.option(Config.nonEmptyString("KEY_VAULT_EMULATOR_STATE_DIR")).pipe(
      Effect.orElseSucceed(() => Option.none<string>()),
      Effect.map((dir) => Option.isSome(dir) ? Path.resolve(dir.value) : undefined)
    )

const readJsonFile = (flag: string, path: string): Effect.Effect<unknown, UsageError> =>
  Effect.try({
    try: () => JSON.parse(Fs.readFileSync(path, "utf8")) as unknown,
    catch: (cause) =>
      new UsageError({
        message: `${flag} ${path}: ${cause instanceof SyntaxError ? "not valid JSON" : "cannot read it"}`
      })
  })

// Read as the state directory's own key is: refused when group or others have access to it (never quoting it).
const readStateKeyFile = (path: string): Effect.Effect<Redacted.Redacted<Uint8Array>, UsageError> =>
  Effect.try({
    try: () => StateFiles.readPrivateFile(path),
    catch: (cause) =>
      new UsageError({
        message: cause instanceof StateFiles.StateFileError
          ? `--state-key-file ${path}: ${cause.detail}`
          : `--state-key-file ${path}: cannot read it`
      })
  }).pipe(
    Effect.flatMap((raw) => {
      const text = raw.toString("latin1").trim()
      const key = raw.byteLength === 32
        ? raw
        : /^[0-9a-fA-F]{64}$/.test(text)
        ? Buffer.from(text, "hex")
        : /^[A-Za-z0-9+/]{43}=$/.test(text)
        ? Buffer.from(text, "base64")
        : undefined
      return key === undefined || key.byteLength !== 32
        ? Effect.fail(new UsageError({ message: `--state-key-file ${path}: must hold 32 bytes (raw, hex or base64)` }))
        : Effect.succeed(Redacted.make(new Uint8Array(key)))
    })
  )

const resolveStateDir = (flag: string | undefined): Effect.Effect<string> =>
  flag !== undefined
    ? Effect.succeed(Path.resolve(flag))
    : Config.option(Config.nonEmptyString("KEY_VAULT_EMULATOR_STATE_DIR")).pipe(
      Effect.orElseSucceed(() => Option.none<string>()),
      Effect.map((dir) => Path.resolve(Option.getOrElse(dir, () => ".emulator")))
    )

interface Started {
  readonly info: StartupInfo
  readonly vaults: ReadonlyArray<VaultUrls>
  readonly material: Tls.TlsMaterial | undefined
  readonly token: boolean
}

const startDetailed = (
  options: CliOptions
): Effect.Effect<Started, UsageError | Tls.TlsError | HttpsServer.ServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const fileRules = yield* readFaultsFiles(options.faultsFiles ?? [])
    const token = options.tokenFile === undefined ? options.token : yield* readTokenFile(options.tokenFile)
    const keptStateDir = yield* explicitStateDir(options.stateDir)
    const seedDocument = options.seedFile === undefined ? undefined : yield* readJsonFile("--seed-file", options.seedFile)
    const stateKey = options.stateKeyFile === undefined ? undefined : yield* readStateKeyFile(options.stateKeyFile)
    if (stateKey !== undefined && keptStateDir === undefined) {
      return yield* Effect.fail(new UsageError({ message: "--state-key-file needs --state-dir" }))
    }
    const emulator = yield* Effect.mapError(Emulator.open({
      ...(keptStateDir === undefined ? {} : { stateDir: keptStateDir }),
      ...(stateKey === undefined ? {} : { stateKey }),
      ...(seedDocument === undefined ? {} : { seedDocument }),
      ...(options.tenantId === undefined ? {} : { tenantId: options.tenantId }),
      ...(options.recoverableDays === undefined ? {} : { recoverableDays: options.recoverableDays }),
      ...(options.certificateIssuanceDelayMillis === undefined
        ? {}
        : { certificateIssuanceDelayMillis: options.certificateIssuanceDelayMillis }),
      faults: [...fileRules, ...(options.faults ?? [])],
      seed: options.seed,
      throttle: options.throttle === true ? { retryAfter: options.throttleRetryAfter } : undefined,
      token,
      startTime: options.startTime
    }), (error) => new UsageError({ message: error.message }))
    yield* Effect.addFinalizer(() => emulator.shutdown)
    // A new vault keeps its port in its settings (and in a kept state); an existing one is bound to it for this run.
    for (const vault of options.vaults ?? []) {
      const exists = yield* Effect.option(emulator.vaults.get(vault.name))
      if (exists._tag === "None") {
        yield* Effect.mapError(
          emulator.vaults.create(vault.name, vault.port === undefined ? {} : { port: vault.port }),
          (error) => new UsageError({ message: `--vault ${vault.name}: ${error.message}` })
        )
      } else if (vault.port !== undefined) {
        yield* emulator.vaults.bindPort(vault.name, vault.port).pipe(Effect.orDie)
      }
    }
    const names = options.names ?? []
    const material = options.http
      ? undefined
      : yield* Tls.ensureTlsMaterial({
        stateDir: yield* resolveStateDir(options.stateDir),
        // Clients reach the server by its listening address, so the certificate must name it (duplicates of the
        // loopback defaults are dropped); a wildcard address is nothing a client can connect to.
        hostNames: [...(isUnspecified(options.host) ? [] : [options.host]), ...names]
      })
    const server = yield* HttpsServer.serve({
      handler: emulator.handler,
      host: options.host,
      port: options.port,
      tls: material === undefined ? undefined : { cert: material.certPem, key: material.keyPem },
      hostNames: names
    })
    // A vault with its own port gets its own listener on the same handler (the request's port selects the vault),
    // now and whenever one is created, rebound or removed later (admin API, seed, in-process).
    yield* VaultListeners.make({
      vaults: emulator.vaults,
      handler: emulator.handler,
      host: options.host,
      tls: material === undefined ? undefined : { cert: material.certPem, key: material.keyPem },
      hostNames: names
    })
    for (const endpoint of options.eventGridWebhooks ?? []) {
      yield* emulator.eventGrid.subscribe({ endpoint, schema: options.eventGridSchema }).pipe(
        Effect.mapError((cause) => new HttpsServer.ServerError({ operation: "Event Grid subscription", cause }))
      )
    }
    const vaults = yield* emulator.vaults.list
    return {
      vaults: vaults.map((vault) => ({
        name: vault.name,
        isDefault: vault.isDefault,
        urls: emulator.vaults.urlsFor(vault.name, server.url)
      })),
      info: {
        vaultUrl: server.url,
        caCertPath: material?.caCertPath ?? null,
        host: server.host,
        port: server.port,
        tls: server.tls
      },
      material,
      token: token !== undefined
    }
  })

/**
 * Starts the emulator and its server for the given options and returns where it listens; both stop when the
 * scope closes.
 *
 * @since 0.1.0
 * @category cli
 */
export const start = (
  options: CliOptions
): Effect.Effect<StartupInfo, UsageError | Tls.TlsError | HttpsServer.ServerError, Scope.Scope> =>
  Effect.map(startDetailed(options), (started) => started.info)

// The command's only console output, kept in one place: stdout carries exactly the machine-readable line.
const writeStdout = (text: string): Effect.Effect<void> => Effect.sync(() => void process.stdout.write(text))
const writeStderr = (text: string): Effect.Effect<void> => Effect.sync(() => void process.stderr.write(text))

/**
 * A vault and the URLs that reach it, as the command lists them at start.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultUrls {
  readonly name: string
  readonly isDefault: boolean
  /** The first needs nothing from the machine; a `*.vault.localhost` one needs a resolver mapping it to loopback. */
  readonly urls: ReadonlyArray<string>
}

/**
 * The startup lines listing every vault and its URLs (on stderr, with the rest of the guidance).
 *
 * @since 0.1.0
 * @category cli
 */
export const vaultLines = (vaults: ReadonlyArray<VaultUrls>): ReadonlyArray<string> => {
  const width = Math.max(...vaults.map((vault) => vault.name.length + (vault.isDefault ? 10 : 0)))
  return [
    `Vaults (${vaults.length}):`,
    ...vaults.map((vault) => {
      const label = vault.isDefault ? `${vault.name} (default)` : vault.name
      const [first = "", ...more] = vault.urls
      const also = more.length === 0 ? "" : `  (also ${more.join(", ")} where *.localhost resolves to loopback)`
      return `  ${label.padEnd(width)}  ${first}${also}`
    })
  ]
}

const guidance = (started: Started): string => {
  const { info, material } = started
  const lines = [
    `Azure Key Vault emulator listening on ${info.vaultUrl}`,
    ...vaultLines(started.vaults),
    `Dashboard: ${info.vaultUrl}/admin/dashboard`
  ]
  if (material !== undefined) {
    if (material.caCreated) {
      lines.push(
        `Generated a new local CA; clients that trusted an earlier one must trust this one.`,
        `It can only vouch for: ${material.nameConstraints.join(", ")} (X.509 name constraints).`
      )
    }
    lines.push(
      `Trust its local CA for Node clients (the variable is read at process start):`,
      `  NODE_EXTRA_CA_CERTS=${material.caCertPath} node your-app.js`,
      `Azure SDK clients need the resource check relaxed, since the vault is not under vault.azure.net:`,
      `  new SecretClient("${info.vaultUrl}", credential, { disableChallengeResourceVerification: true })`
    )
  } else {
    lines.push(
      `Plain HTTP: the Azure SDK clients refuse it; use it with clients that accept http:// vault URLs.`,
      `Requests must address it as localhost, a loopback address or a --name, with port ${info.port}.`
    )
  }
  lines.push(
    started.token
      ? `Only the configured bearer token is accepted (--token / --token-file); other tokens get 401.`
      : `Any bearer token is accepted; the credential only has to return one. --token-file <path> requires one.`,
    `Stop with Ctrl+C.`,
    ``
  )
  return lines.join("\n")
}

/**
 * The whole command: parse, start, announce, wait for interruption (SIGINT / SIGTERM through `main`).
 *
 * @since 0.1.0
 * @category cli
 */
export const run = (
  argv: ReadonlyArray<string>
): Effect.Effect<void, UsageError | Tls.TlsError | HttpsServer.ServerError> =>
  Effect.gen(function*() {
    const options = yield* parseArgs(argv)
    if (options.help) return yield* writeStdout(USAGE)
    yield* Effect.scoped(Effect.gen(function*() {
      const started = yield* startDetailed(options)
      yield* writeStdout(`${JSON.stringify(started.info)}\n`)
      const warning = exposureWarning({
        host: options.host,
        port: started.info.port,
        tls: started.info.tls,
        token: started.token
      })
      yield* writeStderr(`${warning ?? ""}${guidance(started)}`)
      return yield* Effect.never
    }))
  })

const exitCode = <E, A>(exit: Exit.Exit<A, E>): number => {
  if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return 0
  const failure = Cause.failureOption(exit.cause)
  return Option.isSome(failure) && failure.value instanceof UsageError ? 2 : 1
}

/**
 * Runs the command as the process's main program and sets the exit code: 0 after SIGINT / SIGTERM or `--help`,
 * 2 for a usage error, 1 when the server cannot start.
 *
 * @since 0.1.0
 * @category cli
 */
export const main = (argv: ReadonlyArray<string>): void => {
  const program = run(argv).pipe(
    Effect.tapErrorCause((cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.void
      const failure = Cause.failureOption(cause)
      if (Option.isNone(failure)) return writeStderr(`key-vault-emulator: ${Cause.pretty(cause)}\n`)
      const error = failure.value
      return error._tag === "UsageError"
        ? writeStderr(`key-vault-emulator: ${error.message}\nTry --help.\n`)
        : writeStderr(`key-vault-emulator: ${error.message}\n`)
    })
  )
  NodeRuntime.runMain(program.pipe(Effect.provide(stderrLogger)), {
    disableErrorReporting: true,
    // runMain's own pretty logger writes to stdout, which carries only the startup line.
    disablePrettyLogger: true,
    teardown: (exit, onExit) => {
      onExit(exitCode(exit))
    }
  })
}

/**
 * The command's logger: Effect's pretty format, on stderr (every log: warnings, errors, defects), so stdout carries
 * only the startup JSON line.
 *
 * @since 0.1.0
 * @category layers
 */
export const stderrLogger: Layer.Layer<never> = Logger.replace(
  Logger.defaultLogger,
  Logger.prettyLogger({ stderr: true, colors: process.stderr.isTTY === true })
)
