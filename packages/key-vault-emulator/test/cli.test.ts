import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Cli from "../src/cli/Cli.js"

const packageDir = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const repoRoot = Path.resolve(packageDir, "../..")
const bin = Path.join(packageDir, "bin", "key-vault-emulator.js")

const tempDir = (): string => Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-emulator-cli-"))

interface Running {
  readonly child: ChildProcess.ChildProcess
  readonly info: Cli.StartupInfo
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exited: Promise<number | null>
}

const spawnCli = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}): ChildProcess.ChildProcess =>
  ChildProcess.spawn(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })

const collect = (child: ChildProcess.ChildProcess) => {
  let stdout = ""
  let stderr = ""
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { stdout: () => stdout, stderr: () => stderr, exited }
}

// Resolves once the single JSON line is out, which the CLI prints only after the socket is listening, and the
// guidance on stderr has arrived too (it ends with "Stop with Ctrl+C."; the two pipes arrive in either order).
const startCli = async (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}): Promise<Running> => {
  const child = spawnCli(args, env)
  const output = collect(child)
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no startup line; stderr: ${output.stderr()}`)), 15_000)
    const check = () => {
      const end = output.stdout().indexOf("\n")
      if (end !== -1 && output.stderr().includes("Stop with Ctrl+C.\n")) {
        clearTimeout(timer)
        resolve(output.stdout().slice(0, end))
      }
    }
    child.stdout?.on("data", check)
    child.stderr?.on("data", check)
    void output.exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`exited before starting; stderr: ${output.stderr()}`))
    })
  })
  return { child, info: JSON.parse(line) as Cli.StartupInfo, ...output }
}

const runToExit = async (args: ReadonlyArray<string>) => {
  const child = spawnCli(args)
  const output = collect(child)
  const code = await output.exited
  return { code, stdout: output.stdout(), stderr: output.stderr() }
}

const get = (url: string, ca?: string, headers: Http.OutgoingHttpHeaders = {}) =>
  new Promise<{ status: number; headers: Record<string, string | Array<string> | undefined> }>((resolve, reject) => {
    const target = new URL(url)
    const send = target.protocol === "https:" ? Https.request : Http.request
    const req = send(target, { agent: false, headers, ...(ca === undefined ? {} : { ca }) }, (res) => {
      res.resume()
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }))
    })
    req.on("error", reject)
    req.end()
  })

// The official SecretClient in its own process (NODE_EXTRA_CA_CERTS is read at start), with a credential returning
// `token`: what it read back, or the status of the error it failed with.
const sdkRoundTrip = (info: Cli.StartupInfo, token: string) => {
  const script = `
    import { SecretClient } from "@azure/keyvault-secrets"
    const credential = { getToken: async () => ({ token: process.env.TOKEN, expiresOnTimestamp: Date.now() + 3600000 }) }
    const client = new SecretClient(process.env.VAULT_URL, credential, { disableChallengeResourceVerification: true })
    try {
      await client.setSecret("db-password", "s3cret")
      const got = await client.getSecret("db-password")
      process.stdout.write(JSON.stringify({ value: got.value }))
    } catch (error) {
      process.stdout.write(JSON.stringify({ status: error.statusCode, code: error.code }))
    }
  `
  const result = ChildProcess.spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: repoRoot,
    env: { ...process.env, NODE_EXTRA_CA_CERTS: info.caCertPath!, VAULT_URL: info.vaultUrl, TOKEN: token },
    encoding: "utf8",
    timeout: 15_000
  })
  expect(result.stderr).toBe("")
  return JSON.parse(result.stdout) as { value?: string; status?: number; code?: string }
}

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = Net.createServer()
    probe.once("error", () => resolve(false))
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)))
  })

beforeAll(async () => {
  // The bin runs compiled JS: bring dist up to date (incremental, so a fresh build costs a second or two).
  ChildProcess.execFileSync("npx", ["tsc", "-b", "tsconfig.build.json"], { cwd: repoRoot, stdio: "inherit" })
}, 120_000)

describe("parseArgs", () => {
  it("reads every flag in both spellings", () => {
    const parsed = Cli.parseArgs([
      "--host",
      "0.0.0.0",
      "--port=8443",
      "--http",
      "--state-dir",
      "/tmp/x",
      "--tenant-id=72F988BF-86F1-41AF-91AB-2D7CD011DB47",
      "--recoverable-days",
      "7",
      "--certificate-issuance-delay=2500"
    ])
    expect(parsed).toEqual(Either.right({
      host: "0.0.0.0",
      port: 8443,
      http: true,
      stateDir: "/tmp/x",
      tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
      recoverableDays: 7,
      certificateIssuanceDelayMillis: 2500,
      help: false
    }))
  })

  it("reads the access token (kept Redacted), the token file and repeated names", () => {
    const parsed = Either.getOrThrow(Cli.parseArgs(["--token=t0k3n-value", "--name", "kv.internal", "--name=10.0.0.5"]))
    expect(Redacted.isRedacted(parsed.token)).toBe(true)
    expect(Redacted.value(parsed.token!)).toBe("t0k3n-value")
    expect(String(parsed.token)).not.toContain("t0k3n-value")
    expect(parsed.names).toEqual(["kv.internal", "10.0.0.5"])
    expect(Either.getOrThrow(Cli.parseArgs(["--token-file", "/run/secrets/kv"])).tokenFile).toBe("/run/secrets/kv")
    expect(Either.getOrThrow(Cli.parseArgs(["-h"])).help).toBe(true)
  })

  it("reads the start time and repeated Event Grid webhooks with their schema", () => {
    const parsed = Either.getOrThrow(Cli.parseArgs([
      "--start-time",
      "2030-01-01T00:00:00Z",
      "--event-grid-webhook",
      "https://hooks.example/kv?code=s3cret",
      "--event-grid-webhook=http://127.0.0.1:7071/api/events",
      "--event-grid-schema",
      "CloudEvents"
    ]))
    expect(parsed.startTime).toEqual(new Date("2030-01-01T00:00:00Z"))
    expect(parsed.eventGridWebhooks).toEqual(["https://hooks.example/kv?code=s3cret", "http://127.0.0.1:7071/api/events"])
    expect(parsed.eventGridSchema).toBe("CloudEvents")
    expect(Either.getOrThrow(Cli.parseArgs(["--start-time=2030-06-01"])).startTime).toEqual(new Date("2030-06-01T00:00:00Z"))
    expect(Cli.USAGE).toContain("--start-time <ISO date>")
    expect(Cli.USAGE).toContain("--event-grid-webhook <url>")
    expect(Cli.USAGE).toContain("POST /admin/clock")
  })

  it("refuses unknown flags, missing values and bad numbers", () => {
    const messages = [
      ["--verbose"],
      ["extra"],
      ["--port"],
      ["--port", "--http"],
      ["--port", "65536"],
      ["--port", "12ab"],
      ["--recoverable-days", "3"],
      ["--certificate-issuance-delay", "-5"],
      ["--tenant-id", "not-a-guid"],
      ["--http=yes"],
      ["--token", "two words"],
      ["--token", "a", "--token-file", "f"],
      ["--name", "not a/name"],
      ["--start-time", "next tuesday"],
      ["--event-grid-webhook", "ftp://hooks.example/x?code=s3cret"],
      ["--event-grid-schema", "Xml", "--event-grid-webhook", "https://h.example"],
      ["--event-grid-schema", "CloudEvents"]
    ].map((argv) => Either.getLeft(Cli.parseArgs(argv)).pipe((o) => o._tag === "Some" ? o.value.message : "parsed"))
    expect(messages).toEqual([
      "unknown option --verbose",
      `unexpected argument "extra"`,
      "--port needs a value",
      "--port needs a value",
      `--port expects an integer from 0 to 65535, got "65536"`,
      `--port expects an integer from 0 to 65535, got "12ab"`,
      `--recoverable-days expects an integer from 7 to 90, got "3"`,
      `--certificate-issuance-delay expects an integer from 0 to 3600000, got "-5"`,
      `--tenant-id expects a GUID, got "not-a-guid"`,
      "--http does not take a value",
      // Never quotes the value: it is a credential.
      "--token expects 1 to 4096 visible ASCII characters (no spaces)",
      "--token and --token-file exclude each other",
      `--name expects a host name or IP address, got "not a/name"`,
      `--start-time expects an ISO 8601 date, got "next tuesday"`,
      // Never quotes the URL: its query may hold the webhook's secret.
      "--event-grid-webhook expects an absolute http: or https: URL",
      `--event-grid-schema expects EventGrid or CloudEvents, got "Xml"`,
      "--event-grid-schema needs --event-grid-webhook"
    ])
  })
})

describe("parseArgs edge cases", () => {
  it("keeps the command's messages for forms node:util parseArgs treats differently", () => {
    const message = (argv: ReadonlyArray<string>) =>
      Either.match(Cli.parseArgs(argv), { onLeft: (error) => error.message, onRight: () => "parsed" })
    expect([
      message(["--port="]),
      message(["-x"]),
      message(["--"]),
      message(["--help=yes"]),
      message(["--host", "-weird-but-a-value"]),
      message(["--port", "1", "--port", "2"])
    ]).toEqual([
      "--port needs a value",
      "unknown option -x",
      "unknown option --",
      "--help does not take a value",
      "parsed",
      "parsed"
    ])
    // The last repetition wins; repeatable flags accumulate.
    expect(Either.getOrThrow(Cli.parseArgs(["--port", "1", "--port=2"])).port).toBe(2)
    expect(Either.getOrThrow(Cli.parseArgs(["--host", "-weird-but-a-value"])).host).toBe("-weird-but-a-value")
  })
})

describe("exposureWarning", () => {
  it("is silent for loopback listeners and names who can reach any other, suggesting --token", () => {
    const warn = (host: string, token = false, tls = true) => Cli.exposureWarning({ host, port: 8443, tls, token })
    for (const host of ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost", "LOCALHOST", "kv.localhost", "::ffff:127.0.0.1"]) {
      expect([host, warn(host)]).toEqual([host, undefined])
    }
    for (const host of ["0.0.0.0", "::", "192.168.1.20", "10.0.0.5", "fd00::1", "::ffff:10.0.0.1", "myhost.lan"]) {
      expect([host, warn(host)?.startsWith(`WARNING: listening on ${host}`)]).toEqual([host, true])
    }
    expect(warn("0.0.0.0")).toContain("(every network interface), port 8443")
    expect(warn("0.0.0.0")).toContain("Any bearer token is accepted")
    expect(warn("0.0.0.0")).toContain("--token-file <path> (or --token <value>)")
    expect(warn("192.168.1.20", true)).toContain("Requests need the configured bearer token")
    expect(warn("192.168.1.20", true)).not.toContain("clear text")
    expect(warn("192.168.1.20", true, false)).toContain("clear text")
  })
})

describe("key-vault-emulator command", () => {
  it("prints one JSON line, answers over trusted HTTPS with the challenge, and exits 0 on SIGTERM", async () => {
    const stateDir = tempDir()
    const tenantId = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    const running = await startCli(["--port", "0", "--state-dir", stateDir, "--tenant-id", tenantId])
    try {
      expect(running.info).toEqual({
        vaultUrl: `https://localhost:${running.info.port}`,
        caCertPath: Path.join(stateDir, "ca.pem"),
        host: "127.0.0.1",
        port: running.info.port,
        tls: true
      })
      const reply = await get(`${running.info.vaultUrl}/secrets?api-version=2025-07-01`, Fs.readFileSync(running.info.caCertPath!, "utf8"))
      expect(reply.status).toBe(401)
      expect(reply.headers["www-authenticate"]).toContain(`https://login.microsoftonline.com/${tenantId}`)
      expect(running.stderr()).toContain(`NODE_EXTRA_CA_CERTS=${running.info.caCertPath}`)
      expect(running.stderr()).toContain("disableChallengeResourceVerification: true")
      // Loopback: nothing to warn about.
      expect(running.stderr()).not.toContain("WARNING")
    } finally {
      running.child.kill("SIGTERM")
    }
    expect(await running.exited).toBe(0)
    expect(running.stdout().trimEnd().split("\n")).toHaveLength(1)
    expect(await canBind(running.info.port)).toBe(true)
  })

  it("works with the official SecretClient trusting the CA through NODE_EXTRA_CA_CERTS", async () => {
    const stateDir = tempDir()
    // No --state-dir: the environment variable names the directory.
    const running = await startCli(["--port", "0"], { KEY_VAULT_EMULATOR_STATE_DIR: stateDir })
    try {
      expect(running.info.caCertPath).toBe(Path.join(stateDir, "ca.pem"))
      const script = `
        import { SecretClient } from "@azure/keyvault-secrets"
        const credential = { getToken: async () => ({ token: "emulator", expiresOnTimestamp: Date.now() + 3600000 }) }
        const client = new SecretClient(process.env.VAULT_URL, credential, { disableChallengeResourceVerification: true })
        const set = await client.setSecret("db-password", "s3cret", { contentType: "text/plain" })
        const got = await client.getSecret("db-password")
        const names = []
        for await (const props of client.listPropertiesOfSecrets()) names.push(props.name)
        process.stdout.write(JSON.stringify({ version: set.properties.version, value: got.value, contentType: got.properties.contentType, names }))
      `
      const result = ChildProcess.spawnSync(process.execPath, ["--input-type=module", "-e", script], {
        cwd: repoRoot,
        env: { ...process.env, NODE_EXTRA_CA_CERTS: running.info.caCertPath!, VAULT_URL: running.info.vaultUrl },
        encoding: "utf8",
        timeout: 15_000
      })
      expect(result.stderr).toBe("")
      const output = JSON.parse(result.stdout) as { version: string; value: string; contentType: string; names: Array<string> }
      expect(output.value).toBe("s3cret")
      expect(output.contentType).toBe("text/plain")
      expect(output.version).toMatch(/^[0-9a-f]{32}$/)
      expect(output.names).toEqual(["db-password"])
    } finally {
      running.child.kill("SIGINT")
    }
    expect(await running.exited).toBe(0)
  })

  it("serves plain HTTP with --http and reports no CA", async () => {
    const running = await startCli(["--http", "--port", "0"])
    try {
      expect(running.info).toEqual({
        vaultUrl: `http://127.0.0.1:${running.info.port}`,
        caCertPath: null,
        host: "127.0.0.1",
        port: running.info.port,
        tls: false
      })
      expect((await get(`${running.info.vaultUrl}/secrets`)).status).toBe(401)
    } finally {
      running.child.kill("SIGTERM")
    }
    expect(await running.exited).toBe(0)
  })

  it("--help and -h print the usage with every flag on stdout and exit 0", async () => {
    for (const flag of ["--help", "-h"]) {
      const help = await runToExit([flag])
      expect(help.code).toBe(0)
      expect(help.stderr).toBe("")
      expect(help.stdout).toBe(Cli.USAGE)
      for (
        const option of [
          "--host",
          "--port",
          "--token <value>",
          "--token-file <path>",
          "--name <host>",
          "--http",
          "--state-dir",
          "--tenant-id",
          "--recoverable-days",
          "--fault <json>",
          "--faults-file",
          "--seed",
          "--throttle",
          "--throttle-retry-after",
          "-h, --help"
        ]
      ) expect(help.stdout).toContain(option)
    }
  })

  it("with --token-file, the official SecretClient works with that token and gets 401 with another", async () => {
    const dir = tempDir()
    const tokenFile = Path.join(dir, "token")
    const token = "cli-access-token-9b71"
    Fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 })
    const running = await startCli(["--port", "0", "--state-dir", Path.join(dir, "state"), "--token-file", tokenFile])
    try {
      expect(sdkRoundTrip(running.info, token)).toEqual({ value: "s3cret" })
      expect(sdkRoundTrip(running.info, "emulator")).toEqual({ status: 401, code: "Unauthorized" })
      expect(running.stderr()).toContain("Only the configured bearer token is accepted")
    } finally {
      running.child.kill("SIGTERM")
    }
    expect(await running.exited).toBe(0)
    expect(`${running.stdout()}${running.stderr()}`).not.toContain(token)

    const unreadable = await runToExit(["--token-file", Path.join(dir, "missing")])
    expect(unreadable.code).toBe(2)
    expect(unreadable.stderr).toContain(`--token-file ${Path.join(dir, "missing")}: cannot read it`)
  })

  it("warns on stderr for a non-loopback address; over --http refuses a foreign Host; one stdout line", async () => {
    const running = await startCli(["--http", "--host", "0.0.0.0", "--port", "0", "--name", "kv.internal"])
    try {
      expect(running.stderr()).toContain(`WARNING: listening on 0.0.0.0 (every network interface), port ${running.info.port}`)
      expect(running.stderr()).toContain("other machines that can reach this one on that port can connect too")
      expect(running.stderr()).toContain("--token-file <path>")
      const url = `http://127.0.0.1:${running.info.port}/secrets`
      expect((await get(url)).status).toBe(401)
      expect((await get(url, undefined, { host: `kv.internal:${running.info.port}` })).status).toBe(401)
      // What a DNS-rebinding page would send: its own name, resolved to this machine.
      expect((await get(url, undefined, { host: `attacker.example:${running.info.port}` })).status).toBe(403)
    } finally {
      running.child.kill("SIGTERM")
    }
    expect(await running.exited).toBe(0)
    expect(running.stdout().trimEnd().split("\n")).toHaveLength(1)

    const tokenFile = Path.join(tempDir(), "token")
    Fs.writeFileSync(tokenFile, "t")
    const guarded = await startCli(["--http", "--host", "0.0.0.0", "--port", "0", "--token-file", tokenFile])
    try {
      expect(guarded.stderr()).toContain("WARNING: listening on 0.0.0.0")
      expect(guarded.stderr()).toContain("Requests need the configured bearer token")
      expect(guarded.stderr()).toContain("clear text")
    } finally {
      guarded.child.kill("SIGTERM")
    }
    expect(await guarded.exited).toBe(0)
  })

  it("logs go to stderr: a run that logs a warning still prints exactly one line on stdout", async () => {
    // A state directory others can read: the emulator tightens it and logs a warning about it.
    const stateDir = tempDir()
    Fs.chmodSync(stateDir, 0o755)
    const running = await startCli(["--port", "0", "--state-dir", stateDir])
    try {
      expect(running.stderr()).toContain(`${stateDir} was accessible to other users (mode 0755); now 0700`)
      expect(Fs.statSync(stateDir).mode & 0o777).toBe(0o700)
    } finally {
      running.child.kill("SIGTERM")
    }
    expect(await running.exited).toBe(0)
    expect(running.stdout().trimEnd().split("\n")).toEqual([JSON.stringify(running.info)])
  })

  it("exits 2 with a message on stderr for a bad flag, 1 when the port is taken", async () => {
    const bad = await runToExit(["--port", "eighty"])
    expect(bad.code).toBe(2)
    expect(bad.stdout).toBe("")
    expect(bad.stderr).toContain(`--port expects an integer from 0 to 65535, got "eighty"`)

    const unknown = await runToExit(["--verbose"])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("unknown option --verbose")

    const blocker = Net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve))
    const port = (blocker.address() as Net.AddressInfo).port
    try {
      const taken = await runToExit(["--http", "--port", String(port)])
      expect(taken.code).toBe(1)
      expect(taken.stdout).toBe("")
      expect(taken.stderr).toContain("EADDRINUSE")
    } finally {
      blocker.close()
    }
  })
})
