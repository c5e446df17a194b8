#!/usr/bin/env node
// The install contract, checked the way a user meets it:
//
// 1. `npm pack` both packages (run `npm run build` first) and install the tarballs into fresh temporary projects.
// 2. "minimal": only the packages and their required peers (effect, @effect/platform). Every public subpath but the two
//    that need optional peers type-checks (strict, skipLibCheck false) and imports at run time; internal modules and
//    TypeScript sources are not importable.
// 3. "readme": the packages, their peers, and what the READMEs' examples use (@effect/platform-node, the official
//    @azure/keyvault-* clients, @azure/identity). Every ```ts block of the three READMEs is compiled (strict,
//    skipLibCheck false) and run: a block is a complete program, started with the emulator's CLI from the tarball
//    serving HTTPS, and must exit 0.
//
// Exits non-zero on the first failure. `npm run test:consumer`; `--keep` leaves the temporary folder.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Readline from "node:readline"
import { fileURLToPath } from "node:url"

const repo = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const keep = process.argv.includes("--keep")
const work = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-consumer-"))
const readmes = ["README.md", "packages/key-vault/README.md", "packages/key-vault-emulator/README.md"]
const started = Date.now()

const log = (line) => process.stdout.write(`[consumer] ${line}\n`)
let emulator
const fail = (message) => {
  emulator?.kill("SIGTERM")
  process.stderr.write(`[consumer] FAILED: ${message}\n[consumer] work folder: ${work}\n`)
  process.exit(1)
}

const run = (command, args, options = {}) => {
  const result = ChildProcess.spawnSync(command, args, { encoding: "utf8", ...options })
  if (result.status !== 0) {
    fail(`${command} ${args.join(" ")} exited ${result.status ?? result.signal}\n${result.stdout ?? ""}${result.stderr ?? ""}`)
  }
  return result.stdout
}

// Versions the repository is tested with, so the consumer resolves the same line from the npm cache.
const installed = (name) => JSON.parse(Fs.readFileSync(Path.join(repo, "node_modules", name, "package.json"), "utf8")).version

// 1. Pack.
const packDir = Path.join(work, "tarballs")
Fs.mkdirSync(packDir)
const packed = JSON.parse(
  run("npm", ["pack", "--json", "--workspace=packages/key-vault", "--workspace=packages/key-vault-emulator", `--pack-destination=${packDir}`], { cwd: repo })
)
const tarball = Object.fromEntries(packed.map((p) => [p.name, Path.join(packDir, p.filename)]))
for (const p of packed) {
  const files = p.files.map((f) => f.path)
  if (!files.includes("dist/index.js") || !files.includes("dist/index.d.ts")) fail(`${p.name}: the tarball has no dist/index.js (run npm run build first)`)
  log(`packed ${p.name}@${p.version}: ${files.length} files, ${p.size} bytes`)
}

const pkgJson = (name, dependencies) => ({ name, private: true, type: "module", dependencies })
const tsconfig = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    lib: ["ES2022", "DOM"],
    types: ["node"],
    strict: true,
    skipLibCheck: false,
    outDir: "out",
    rootDir: "src"
  },
  include: ["src"]
}

const project = (name, dependencies) => {
  const dir = Path.join(work, name)
  Fs.mkdirSync(Path.join(dir, "src"), { recursive: true })
  Fs.writeFileSync(Path.join(dir, "package.json"), JSON.stringify(pkgJson(`consumer-${name}`, dependencies), null, 2))
  Fs.writeFileSync(Path.join(dir, "tsconfig.json"), JSON.stringify(tsconfig, null, 2))
  log(`${name}: npm install ${Object.keys(dependencies).join(" ")}`)
  run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", "--engine-strict=false"], { cwd: dir })
  return dir
}

const tools = { typescript: installed("typescript"), "@types/node": installed("@types/node") }
const core = {
  "@effect-azure/key-vault": `file:${tarball["@effect-azure/key-vault"]}`,
  "@effect-azure/key-vault-emulator": `file:${tarball["@effect-azure/key-vault-emulator"]}`,
  effect: installed("effect"),
  "@effect/platform": installed("@effect/platform")
}
const tsc = (dir) => run(process.execPath, [Path.join(dir, "node_modules/typescript/bin/tsc"), "-p", dir], { cwd: dir })

// 2. Minimal: no optional peers.
{
  const dir = project("minimal", { ...core, ...tools })
  const exported = (name) =>
    Object.keys(JSON.parse(Fs.readFileSync(Path.join(dir, "node_modules", name, "package.json"), "utf8")).exports)
      .filter((key) => key !== "./package.json")
      .map((key) => (key === "." ? name : `${name}/${key.slice(2)}`))
  const needsOptionalPeer = new Set(["@effect-azure/key-vault/auth/AzureIdentity", "@effect-azure/key-vault/telemetry/OpenTelemetry", "@effect-azure/key-vault/fleet/FleetCache", "@effect-azure/key-vault-emulator/testing/AzureSdkTransport"])
  const subpaths = [...exported("@effect-azure/key-vault"), ...exported("@effect-azure/key-vault-emulator")]
  const typed = subpaths.filter((s) => !needsOptionalPeer.has(s))
  Fs.writeFileSync(
    Path.join(dir, "src", "imports.ts"),
    typed.map((s, i) => `import * as M${i} from "${s}"`).join("\n") + `\nexport const modules = [${typed.map((_, i) => `M${i}`).join(", ")}]\n`
  )
  const peerAtImport = { "@effect-azure/key-vault/telemetry/OpenTelemetry": "@effect/opentelemetry", "@effect-azure/key-vault/fleet/FleetCache": "ioredis" }
  const internal = [
    "@effect-azure/key-vault/replay/internal/Runner",
    "@effect-azure/key-vault/dist/index.js",
    "@effect-azure/key-vault/src/index.ts",
    "@effect-azure/key-vault-emulator/engine/KeyVersion",
    "@effect-azure/key-vault-emulator/http/Router"
  ]
  Fs.writeFileSync(
    Path.join(dir, "src", "check.ts"),
    `const subpaths: ReadonlyArray<string> = ${JSON.stringify(subpaths)}
const internal: ReadonlyArray<string> = ${JSON.stringify(internal)}
// Modules that load an optional peer when imported: without it they must fail to load naming that peer (the readme
// project, which has the peers, imports and runs them).
const peerAtImport: Record<string, string> = ${JSON.stringify(peerAtImport)}
for (const s of subpaths) {
  const peer = peerAtImport[s]
  if (peer !== undefined) {
    const error = await import(s).then(() => undefined, (e: { code?: string; message?: string }) => e)
    if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes(peer)) {
      throw new Error(s + " should fail to load without " + peer)
    }
    continue
  }
  const m: Record<string, unknown> = await import(s)
  if (Object.keys(m).length === 0) throw new Error(s + " exports nothing")
}
for (const s of internal) {
  const code = await import(s).then(() => "imported", (e: { code?: string }) => e.code)
  if (code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw new Error(s + " should not be importable, got " + code)
}
const { KeyVault, Secrets } = await import("@effect-azure/key-vault")
if (typeof KeyVault.layer !== "function" || typeof Secrets.Secrets !== "function") throw new Error("root exports missing")
console.log("minimal: " + (subpaths.length - Object.keys(peerAtImport).length) + " public subpaths import, " + Object.keys(peerAtImport).length + " refused for want of its optional peer, " + internal.length + " internal paths refused")
`
  )
  tsc(dir)
  log(`minimal: ${typed.length} public subpaths type-check without @azure/identity, @azure/core-auth, @azure/core-rest-pipeline`)
  log(run(process.execPath, ["out/check.js"], { cwd: dir }).trim())
}

// 3. The READMEs' examples.
const blocks = readmes.flatMap((file) => {
  const text = Fs.readFileSync(Path.join(repo, file), "utf8")
  const found = []
  const fence = /^```(ts|typescript)[^\n]*\n([\s\S]*?)^```\s*$/gm
  for (let m = fence.exec(text); m !== null; m = fence.exec(text)) {
    const line = text.slice(0, m.index).split("\n").length
    found.push({ file, line, code: m[2] })
  }
  return found
})
if (blocks.length === 0) fail("no ```ts blocks found in the READMEs")

const readmeDir = project("readme", {
  ...core,
  ...tools,
  "@effect/platform-node": installed("@effect/platform-node"),
  "@azure/core-auth": installed("@azure/core-auth"),
  "@azure/core-rest-pipeline": installed("@azure/core-rest-pipeline"),
  "@azure/identity": installed("@azure/identity"),
  "@azure/keyvault-keys": installed("@azure/keyvault-keys"),
  "@azure/keyvault-secrets": installed("@azure/keyvault-secrets"),
  "@azure/keyvault-certificates": installed("@azure/keyvault-certificates"),
  // The README's fleet cache program (it runs with or without a Redis server).
  ioredis: installed("ioredis"),
  // The HTTP client the READMEs recommend (`transport/UndiciHttpClient`).
  undici: installed("undici"),
  // The README's telemetry program: @effect/opentelemetry and the OpenTelemetry SDK packages it needs.
  ...Object.fromEntries([
    "@effect/opentelemetry",
    "@opentelemetry/api",
    "@opentelemetry/api-logs",
    "@opentelemetry/resources",
    "@opentelemetry/sdk-logs",
    "@opentelemetry/sdk-metrics",
    "@opentelemetry/sdk-trace-base",
    "@opentelemetry/sdk-trace-node",
    "@opentelemetry/sdk-trace-web",
    "@opentelemetry/semantic-conventions"
  ].map((name) => [name, installed(name)]))
})
const slug = (file) => file.replace(/\/?README\.md$/, "").replace(/^packages\//, "").replace(/\W+/g, "-") || "root"
const programs = blocks.map((b) => ({ ...b, name: `${slug(b.file)}-line${b.line}` }))
for (const p of programs) Fs.writeFileSync(Path.join(readmeDir, "src", `${p.name}.ts`), `${p.code}\nexport {}\n`)
tsc(readmeDir)
log(`readme: ${programs.length} code blocks type-check (strict, skipLibCheck false)`)

// The emulator's CLI, from the tarball, serving HTTPS with a CA of its own.
emulator = ChildProcess.spawn(Path.join(readmeDir, "node_modules/.bin/key-vault-emulator"), ["--port", "0", "--state-dir", Path.join(work, "state")], {
  cwd: readmeDir,
  stdio: ["ignore", "pipe", "pipe"]
})
let emulatorLog = ""
emulator.stderr.on("data", (chunk) => (emulatorLog += chunk))
const info = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("the emulator printed no startup line in 30 s")), 30_000)
  Readline.createInterface({ input: emulator.stdout }).once("line", (line) => {
    clearTimeout(timer)
    resolve(JSON.parse(line))
  })
  emulator.once("exit", (code) => reject(new Error(`the emulator exited ${code}`)))
}).catch((e) => fail(`${e.message}\n${emulatorLog}`))
log(`emulator CLI from the tarball on ${info.vaultUrl}`)

const env = {
  ...process.env,
  AZURE_KEYVAULT_URL: info.vaultUrl,
  AZURE_KEYVAULT_TOKEN: "consumer-test-token",
  AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: "true",
  NODE_EXTRA_CA_CERTS: info.caCertPath
}
try {
  for (const p of programs) {
    const t0 = Date.now()
    const result = ChildProcess.spawnSync(process.execPath, [`out/${p.name}.js`], { cwd: readmeDir, env, encoding: "utf8", timeout: 60_000 })
    if (result.status !== 0) {
      fail(`${p.file}:${p.line} exited ${result.status ?? result.signal}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}\n--- emulator\n${emulatorLog}`)
    }
    const said = result.stdout.trim().split("\n").at(-1) ?? ""
    log(`ran ${p.file}:${p.line} in ${Date.now() - t0} ms: ${said.slice(0, 160)}`)
  }
} finally {
  emulator.kill("SIGTERM")
}

log(`ok: ${programs.length} README programs compiled and ran, both tarballs checked, in ${((Date.now() - started) / 1000).toFixed(1)} s`)
if (!keep) Fs.rmSync(work, { recursive: true, force: true })
