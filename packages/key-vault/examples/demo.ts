/**
 * A tour of every secret operation through the Effect client, then of settings read with `Config` from the vault
 * (VaultConfigProvider), then of rotation (a secret near expiry rotated by the expiry monitor and a handler), then of
 * certificates (create self-signed, download as
 * PEM, parse, serve TLS with it, rotate by creating a new version).
 *
 * With no configuration it starts the Key Vault emulator on a loopback HTTPS port (with its own local CA) and talks
 * to it exactly as it would to Azure: TLS, the 401 challenge with resource verification left on, Unix-second
 * timestamps, paging. With `AZURE_KEYVAULT_URL` (and `AZURE_KEYVAULT_TOKEN`) it runs the same tour against that vault.
 *
 *   npm run demo
 */
import * as Cli from "@effect-azure/key-vault-emulator/cli/Cli"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Dns from "node:dns"
import * as Fs from "node:fs"
import type * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Tls from "node:tls"
import * as Undici from "undici"
import * as KeyVault from "../src/KeyVault.js"
import * as AzureIdentity from "../src/auth/AzureIdentity.js"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import * as UndiciHttpClient from "../src/transport/UndiciHttpClient.js"
import { Certificates } from "../src/certificates/Certificates.js"
import * as VaultConfigProvider from "../src/config/VaultConfigProvider.js"
import * as Rotation from "../src/rotation/Rotation.js"
import * as RotationEvents from "../src/rotation/RotationEvents.js"
import * as RotationHandler from "../src/rotation/RotationHandler.js"
import { Secrets } from "../src/secrets/Secrets.js"

const say = (line: string) => Effect.sync(() => console.log(line))
const step = (title: string) => say(`\n== ${title}`)

// The tour itself: nothing here knows whether the vault is the emulator or Azure.
const tour = Effect.gen(function*() {
  const secrets = yield* Secrets
  const run = Date.now().toString(36)
  const name = `effect-demo-${run}`

  yield* step("set: store a secret (the value travels as Redacted and prints as <redacted>)")
  const v1 = yield* secrets.set(name, "correct horse battery staple", {
    contentType: "text/plain",
    tags: { owner: "demo", purpose: "tour" },
    expiresOn: new Date(Date.now() + 90 * 24 * 3600 * 1000)
  })
  yield* say(`stored ${v1.name} version ${v1.properties.version}, value ${v1.value}`)
  yield* say(`  created ${v1.properties.createdOn?.toISOString()}, expires ${v1.properties.expiresOn?.toISOString()}`)

  yield* step("get: read the latest version (revealing this demo value on purpose)")
  const latest = yield* secrets.get(name)
  yield* say(`${latest.name} = ${JSON.stringify(Redacted.value(latest.value))}`)

  yield* step("set again: a new version; both stay readable")
  const v2 = yield* secrets.set(name, "Tr0ub4dor&3", { contentType: "text/plain" })
  yield* say(`new version ${v2.properties.version}`)
  const old = yield* secrets.get(name, { version: v1.properties.version! })
  yield* say(`version ${old.properties.version} still reads ${JSON.stringify(Redacted.value(old.value))}`)

  yield* step("listVersions: every version, metadata only")
  const versions = yield* secrets.listVersions(name).pipe(Stream.runCollect)
  for (const p of versions) yield* say(`  ${p.version} enabled=${p.enabled} created=${p.createdOn?.toISOString()}`)

  yield* step("updateProperties: disable the old version; reading it is now refused with a typed error")
  yield* secrets.updateProperties(name, { version: v1.properties.version, enabled: false, tags: { owner: "demo", state: "retired" } })
  const refused = yield* Effect.flip(secrets.get(name, { version: v1.properties.version! }))
  yield* say(`get old version -> ${refused._tag}${refused._tag === "ForbiddenError" ? ` (${refused.innerCode})` : ""}`)

  yield* step("listProperties: a Stream over nextLink pages (page size 2), never carrying values")
  for (const suffix of ["a", "b", "c"]) yield* secrets.set(`${name}-${suffix}`, `value-${suffix}`)
  const listed = yield* secrets.listProperties({ maxPageSize: 2 }).pipe(
    Stream.filter((p) => p.name.startsWith(name)),
    Stream.runCollect
  )
  yield* say(`found ${Chunk.size(listed)} secrets of this run: ${Chunk.toReadonlyArray(listed).map((p) => p.name).join(", ")}`)

  yield* step("validation: bad input fails before any request, with a typed error")
  const invalid = yield* Effect.flip(secrets.set("not a valid name!", "x"))
  yield* say(`set("not a valid name!") -> ${invalid._tag}: ${invalid.message}`)
  const tooBig = yield* Effect.flip(secrets.set(name, "x".repeat(26_000)))
  yield* say(`set(26,000 bytes) -> ${tooBig._tag}: ${tooBig.message}`)

  yield* step("backup: an opaque blob with every version")
  const blob = yield* secrets.backup(name)
  yield* say(`backup is ${blob.length} bytes`)

  yield* step("delete: soft delete into the deleted bin")
  const deleted = yield* secrets.delete(name)
  yield* say(`deleted; recoveryId ${deleted.recoveryId}, purge scheduled ${deleted.scheduledPurgeDate?.toISOString()}`)
  const deletedView = yield* waitForDeleted(name)
  yield* say(`getDeleted: ${deletedView.name} deleted on ${deletedView.deletedOn?.toISOString()}`)
  const inBin = yield* secrets.listDeleted().pipe(Stream.filter((d) => d.name === name), Stream.runCollect)
  yield* say(`listDeleted shows it: ${Chunk.size(inBin) === 1}`)
  const reuse = yield* Effect.flip(secrets.set(name, "again"))
  yield* say(`set on a deleted name -> ${reuse._tag}${reuse._tag === "ConflictError" ? ` (${reuse.innerCode})` : ""}`)

  yield* step("recover: back with all its versions")
  yield* secrets.recover(name)
  const back = yield* retryWhileNotFound(secrets.get(name))
  yield* say(`${back.name} is back at version ${back.properties.version}`)

  yield* step("purge + restore: delete for good, then restore from the backup")
  yield* secrets.delete(name)
  yield* waitForDeleted(name)
  yield* secrets.purge(name)
  yield* say(`purged; get now -> ${(yield* Effect.flip(secrets.get(name)))._tag}`)
  const restored = yield* retryWhileConflict(secrets.restore(blob))
  yield* say(`restored ${restored.name}; latest reads ${JSON.stringify(Redacted.value((yield* secrets.get(name)).value))}`)

  yield* step("clean up")
  for (const n of [name, `${name}-a`, `${name}-b`, `${name}-c`]) {
    yield* secrets.delete(n)
    yield* waitForDeleted(n)
    yield* secrets.purge(n).pipe(
      Effect.catchTag("ForbiddenError", (e) => say(`  purge of ${n} refused (${e.code}); it stays in the deleted bin`))
    )
  }
  yield* say("done: every secret operation ran through the Effect client")
})

// Settings: the demo reads its own settings with `Config`, answered by the vault (the environment as fallback).
const DemoSettings = Config.all({
  greeting: Config.string("GREETING"),
  retries: Config.integer("RETRIES"),
  apiKey: Config.redacted("API_KEY"),
  pageSize: Config.integer("PAGE_SIZE").pipe(Config.withDefault(25))
})

const configTour = Effect.gen(function*() {
  const secrets = yield* Secrets
  const prefix = `effect-demo-cfg-${Date.now().toString(36)}`
  yield* step("config: Key Vault as an Effect ConfigProvider, under an application prefix")
  const stored = { greeting: "hello from the vault", retries: "3", "api-key": "demo-api-key" }
  for (const [name, value] of Object.entries(stored)) yield* secrets.set(`${prefix}--${name}`, value)
  const settings = yield* Effect.provide(DemoSettings, VaultConfigProvider.layer({ prefix }))
  yield* say(`Config.all read ${prefix}--greeting, --retries, --api-key: ${JSON.stringify(settings.greeting)}, retries ${settings.retries}, api key ${settings.apiKey}, page size ${settings.pageSize} (not in the vault: its default)`)
  for (const name of Object.keys(stored)) {
    yield* secrets.delete(`${prefix}--${name}`)
    yield* waitForDeleted(`${prefix}--${name}`)
    yield* secrets.purge(`${prefix}--${name}`).pipe(Effect.catchTag("ForbiddenError", () => Effect.void))
  }
})

// Rotation: a secret 10 days from expiry, found by the expiry monitor and rotated by its handler, in one Layer.
const rotationTour = Effect.gen(function*() {
  const secrets = yield* Secrets
  const name = `effect-demo-rotate-${Date.now().toString(36)}`
  yield* step("rotation: a secret that expires in 10 days, a handler for it, the monitor and rotation in one Layer")
  const before = yield* secrets.set(name, "initial-password", { expiresOn: new Date(Date.now() + 10 * 86_400_000) })
  const handlers = [
    RotationHandler.secret({
      name,
      produce: () => Effect.sync(() => Redacted.make(Crypto.randomBytes(24).toString("base64url"))),
      expiry: "90 days"
    })
  ]
  yield* Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(Rotation.layerWithMonitor(handlers, { monitor: { objectTypes: ["secret"] } }))
    const events = Context.get(context, RotationEvents.RotationEvents)
    const after = yield* secrets.get(name).pipe(
      Effect.filterOrFail((s) => s.properties.version !== before.properties.version, () => "not rotated yet"),
      Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 600 })
    )
    const stats = yield* events.stats
    yield* say(`rotated: version ${after.properties.version} (was ${before.properties.version}), expires ${after.properties.expiresOn?.toISOString()}`)
    yield* say(`  events published: ${stats.published} (NearExpiry, RotationStarted, SecretNewVersionCreated, RotationSucceeded)`)
  }))
  yield* secrets.delete(name)
  yield* waitForDeleted(name)
  yield* secrets.purge(name).pipe(Effect.catchTag("ForbiddenError", () => Effect.void))
  yield* say("done: the secret was rotated before it expired")
})

// Certificates: what a service does with its TLS certificate.
const certificatesTour = Effect.gen(function*() {
  const certificates = yield* Certificates
  const name = `effect-demo-cert-${Date.now().toString(36)}`
  const policy = {
    issuerName: "Self",
    subject: "CN=demo.contoso.test",
    subjectAlternativeNames: { dnsNames: ["demo.contoso.test"] },
    keyType: "EC",
    keyCurveName: "P-256",
    contentType: "application/x-pem-file",
    validityInMonths: 12
  } as const

  yield* step("certificates: create a self-signed certificate (a long-running operation, polled on a Schedule)")
  const first = yield* certificates.create(name, policy)
  yield* say(`issued ${first.properties.name} version ${first.properties.version}, thumbprint ${first.properties.x509ThumbprintHex}`)

  yield* step("certificates: parse the public certificate")
  const details = yield* certificates.getDetails(name)
  yield* say(`subject ${details.subject}, SANs ${details.subjectAlternativeNames.dnsNames.join(", ")}`)
  yield* say(`  ${details.keyType} ${details.keyCurveName ?? details.keySize}, valid ${details.notBefore.toISOString()} .. ${details.notAfter.toISOString()}`)

  yield* step("certificates: download it with its private key as PEM (Redacted) and load it into node:tls")
  const pem = yield* certificates.downloadPem(name)
  yield* say(`downloaded ${pem} (prints redacted); TLS context built: ${Tls.createSecureContext({ cert: Redacted.value(pem), key: Redacted.value(pem) }) !== undefined}`)

  yield* step("certificates: rotate by creating a new version from the same policy")
  const second = yield* certificates.create(name, policy)
  const versions = yield* certificates.listVersions(name).pipe(Stream.runCollect)
  yield* say(`new version ${second.properties.version}; ${Chunk.size(versions)} versions in all`)

  yield* step("certificates: clean up")
  yield* certificates.delete(name)
  yield* Effect.flatMap(Certificates, (c) => c.getDeleted(name)).pipe(
    Effect.retry({ schedule: visibility, while: (e) => e._tag === "NotFoundError" })
  )
  yield* certificates.purge(name).pipe(
    Effect.catchTag("ForbiddenError", (e) => say(`  purge refused (${e.code}); it stays in the deleted bin`))
  )
  yield* say("done: a certificate created, parsed, served and rotated through the Effect client")
})

// A real vault makes deletion and recovery visible after a moment; the emulator does it at once.
const visibility = Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(30)))
const waitForDeleted = (name: string) =>
  Effect.flatMap(Secrets, (s) => s.getDeleted(name)).pipe(
    Effect.retry({ schedule: visibility, while: (e) => e._tag === "NotFoundError" })
  )
const retryWhileNotFound = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.retry(effect, { schedule: visibility, while: (e) => e._tag === "NotFoundError" })
const retryWhileConflict = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.retry(effect, { schedule: visibility, while: (e) => e._tag === "ConflictError" })

// `*.localhost` names loopback by definition (RFC 6761), but not every resolver knows it; answering it here lets the
// demo use `https://demo.vault.localhost:<port>`, whose challenge resource (`https://vault.localhost:<port>`) passes
// the same resource-domain check a real vault does, so verification stays on.
const loopbackLookup: Net.LookupFunction = (hostname, options, callback) =>
  hostname === "localhost" || hostname.endsWith(".localhost")
    ? options.all === true
      ? callback(null, [{ address: "127.0.0.1", family: 4 }])
      : callback(null, "127.0.0.1", 4)
    : Dns.lookup(hostname, options, callback)

const emulatorLayer: Layer.Layer<KeyVault.KeyVaultServices, unknown> = Layer.unwrapScoped(
  Effect.gen(function*() {
    const stateDir = Path.join(Os.tmpdir(), "effect-azure-key-vault-demo")
    const options = yield* Either.match(Cli.parseArgs(["--port", "0", "--state-dir", stateDir]), {
      onLeft: Effect.die,
      onRight: Effect.succeed
    })
    const info = yield* Cli.start(options)
    const vaultUrl = info.vaultUrl.replace("//localhost:", "//demo.vault.localhost:")
    yield* say(`Key Vault emulator started on ${info.vaultUrl} (TLS with a local CA at ${info.caCertPath})`)
    yield* say(`the client uses ${vaultUrl}; challenge resource verification stays on`)
    const ca = Fs.readFileSync(info.caCertPath!, "utf8")
    // `UndiciHttpClient`, as in production: it measured faster than the official SDK's transport and than the
    // platform's HTTP clients (`npm run bench -- pipeline`). Its dispatcher trusts the emulator's CA and resolves
    // `*.localhost` to loopback.
    const dispatcher = yield* Effect.acquireRelease(
      Effect.sync(() => new Undici.Agent({ connect: { ca, lookup: loopbackLookup } })),
      (agent) => Effect.promise(() => agent.close())
    )
    const http: Layer.Layer<HttpClient.HttpClient> = Layer.succeed(HttpClient.HttpClient, UndiciHttpClient.make(dispatcher))
    return KeyVault.layer({ vaultUrl }).pipe(Layer.provide(Layer.merge(http, TokenProvider.layerStatic())))
  })
)

// A real vault: the default Azure credential chain (environment, workload identity, managed identity, Azure CLI,
// ...), or a bearer token from AZURE_KEYVAULT_TOKEN when one is given.
const azureLayer = (vaultUrl: string): Layer.Layer<KeyVault.KeyVaultServices, unknown> =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      const token = yield* Config.option(Config.redacted("AZURE_KEYVAULT_TOKEN"))
      yield* say(`using the vault at ${vaultUrl} with ${Option.isSome(token) ? "the token in AZURE_KEYVAULT_TOKEN" : "DefaultAzureCredential"}`)
      const tokens = Option.match(token, { onNone: () => AzureIdentity.layer(), onSome: TokenProvider.layerStatic })
      return KeyVault.layer({ vaultUrl }).pipe(Layer.provide(Layer.merge(UndiciHttpClient.layer(), tokens)))
    })
  )

const main = Effect.gen(function*() {
  const vaultUrl = yield* Config.option(Config.nonEmptyString("AZURE_KEYVAULT_URL"))
  const layer = Option.match(vaultUrl, { onNone: () => emulatorLayer, onSome: azureLayer })
  yield* Effect.provide(Effect.zipRight(Effect.zipRight(Effect.zipRight(tour, configTour), rotationTour), certificatesTour), layer)
})

Effect.runPromiseExit(main).then((exit) => {
  if (exit._tag === "Failure") {
    console.error("demo failed:", String(exit.cause))
    process.exit(1)
  }
  process.exit(0)
})
