/**
 * Many vaults through the real clients: the official `SecretClient` / `KeyClient` and our client (`KeyVault.layer` +
 * `Secrets`) against two named vaults of one emulator, over HTTPS (one listener per vault port, the local CA trusted)
 * and in-process (`HttpClientLayer`, `makeAzureHttpClient`). The same names hold different values per vault, a delete
 * in one vault leaves the other alone, and each vault's journal sees only its own requests.
 */
import type { TokenCredential } from "@azure/core-auth"
import { KeyClient } from "@azure/keyvault-keys"
import { SecretClient } from "@azure/keyvault-secrets"
import * as KeyVault from "@effect-azure/key-vault/KeyVault"
import * as TokenProvider from "@effect-azure/key-vault/auth/TokenProvider"
import { Secrets } from "@effect-azure/key-vault/secrets/Secrets"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Dns from "node:dns"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Emulator from "../src/Emulator.js"
import * as HttpsServer from "../src/server/HttpsServer.js"
import * as Tls from "../src/server/Tls.js"
import * as VaultListeners from "../src/server/VaultListeners.js"
import { makeAzureHttpClient } from "../src/testing/AzureSdkTransport.js"
import * as HttpClientLayer from "../src/testing/HttpClientLayer.js"
import { poll, restError } from "./sdk-support.js"

const credential: TokenCredential = {
  getToken: async () => ({ token: "emulator", expiresOnTimestamp: Date.now() + 3600_000 })
}

const stateDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-vaults-isolation-"))
const suiteScope = Effect.runSync(Scope.make())
afterAll(() => Effect.runPromise(Scope.close(suiteScope, Exit.void)))

/** A port nothing listens on right now (the OS picks it; it is free again once this returns). */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

// glibc does not map `*.localhost` to loopback; this lookup does, as RFC 6761 asks.
const loopbackLookup: Net.LookupFunction = (hostname, options, callback) =>
  hostname.endsWith(".localhost")
    ? options.all === true
      ? callback(null, [{ address: "127.0.0.1", family: 4 }])
      : callback(null, "127.0.0.1", 4)
    : Dns.lookup(hostname, options, callback)

/** What each transport gives the tests: vault URLs, and clients for a URL. */
interface Harness {
  readonly name: string
  readonly emulator: Emulator.Emulator
  readonly urls: { readonly alpha: string; readonly beta: string }
  readonly secretClient: (url: string) => SecretClient
  readonly keyClient: (url: string) => KeyClient
  /** Our client's `HttpClient` and whether it must relax the challenge-resource check for this URL. */
  readonly http: Layer.Layer<HttpClient.HttpClient>
  readonly relaxResourceCheck: boolean
}

const twoVaults = (emulator: Emulator.Emulator, ports: { readonly alpha?: number; readonly beta?: number }) =>
  Effect.gen(function*() {
    yield* emulator.vaults.create("alpha", ports.alpha === undefined ? {} : { port: ports.alpha })
    yield* emulator.vaults.create("beta", ports.beta === undefined ? {} : { port: ports.beta })
  })

const overHttps = async (): Promise<Harness> => {
  const ports = { alpha: await freePort(), beta: await freePort() }
  return Effect.runPromise(Effect.gen(function*() {
    const emulator = yield* Emulator.make()
    yield* twoVaults(emulator, ports)
    const tls = yield* Tls.ensureTlsMaterial({ stateDir })
    const credentials = { cert: tls.certPem, key: tls.keyPem }
    const server = yield* Scope.extend(HttpsServer.serve({ handler: emulator.handler, tls: credentials }), suiteScope)
    yield* Scope.extend(VaultListeners.make({ vaults: emulator.vaults, handler: emulator.handler, tls: credentials }), suiteScope)
    const options = { disableChallengeResourceVerification: true, tlsOptions: { ca: tls.caCertPem } }
    return {
      name: "HTTPS, one port per vault",
      emulator,
      urls: {
        alpha: emulator.vaults.urlFor("alpha", server.url),
        beta: emulator.vaults.urlFor("beta", server.url)
      },
      secretClient: (url: string) => new SecretClient(url, credential, options),
      keyClient: (url: string) => new KeyClient(url, credential, options),
      http: NodeHttpClient.layerWithoutAgent.pipe(Layer.provide(NodeHttpClient.makeAgentLayer({ ca: tls.caCertPem }))),
      relaxResourceCheck: true
    }
  }))
}

const inProcess = async (): Promise<Harness> => {
  const emulator = Effect.runSync(Emulator.make())
  Effect.runSync(twoVaults(emulator, {}))
  const httpClient = makeAzureHttpClient(emulator)
  return {
    name: "in-process",
    emulator,
    urls: { alpha: "https://alpha.vault.azure.net", beta: "https://beta.vault.azure.net" },
    secretClient: (url: string) => new SecretClient(url, credential, { httpClient }),
    keyClient: (url: string) => new KeyClient(url, credential, { httpClient }),
    http: HttpClientLayer.layer(emulator),
    relaxResourceCheck: false
  }
}

const journalOf = (emulator: Emulator.Emulator, vault: string) =>
  Effect.runPromise(Effect.flatMap(emulator.vaults.get(vault), (v) => v.journal.entries))

describe.each([
  { name: "HTTPS, one port per vault", make: overHttps },
  { name: "in-process", make: inProcess }
])("two vaults through the real clients ($name)", ({ make }) => {
  it("SecretClient: same name, a value per vault; a delete in one leaves the other; journals stay apart", async () => {
    const harness = await make()
    const alpha = harness.secretClient(harness.urls.alpha)
    const beta = harness.secretClient(harness.urls.beta)
    await alpha.setSecret("shared", "alpha-value")
    await beta.setSecret("shared", "beta-value")
    expect((await alpha.getSecret("shared")).value).toBe("alpha-value")
    expect((await beta.getSecret("shared")).value).toBe("beta-value")
    // Identifiers name the vault URL the client used.
    expect((await alpha.getSecret("shared")).properties.vaultUrl).toBe(harness.urls.alpha)

    await (await alpha.beginDeleteSecret("shared", poll)).pollUntilDone()
    expect((await restError(alpha.getSecret("shared"))).statusCode).toBe(404)
    expect((await alpha.getDeletedSecret("shared")).name).toBe("shared")
    expect((await beta.getSecret("shared")).value).toBe("beta-value")
    expect((await restError(beta.getDeletedSecret("shared"))).statusCode).toBe(404)

    const alphaOps = (await journalOf(harness.emulator, "alpha")).map((entry) => entry.operation)
    const betaOps = (await journalOf(harness.emulator, "beta")).map((entry) => entry.operation)
    expect(alphaOps).toContain("deleteSecret")
    expect(betaOps).not.toContain("deleteSecret")
    // One write each reached the engine (the SDK's first, token-less request only met the challenge).
    const writes = async (vault: string) =>
      (await journalOf(harness.emulator, vault)).filter((entry) => entry.operation === "setSecret" && entry.reachedEngine)
    expect((await writes("alpha")).map((entry) => entry.status)).toEqual([200])
    expect((await writes("beta")).map((entry) => entry.status)).toEqual([200])
    // Nothing reached the default vault.
    expect(await Effect.runPromise(harness.emulator.journal.entries)).toEqual([])
  })

  it("KeyClient: the same key name holds different key material per vault; delete is per vault", async () => {
    const harness = await make()
    const alpha = harness.keyClient(harness.urls.alpha)
    const beta = harness.keyClient(harness.urls.beta)
    const a = await alpha.createEcKey("signing", { curve: "P-256" })
    const b = await beta.createEcKey("signing", { curve: "P-256" })
    expect(a.id?.startsWith(`${harness.urls.alpha}/keys/signing/`)).toBe(true)
    expect(b.id?.startsWith(`${harness.urls.beta}/keys/signing/`)).toBe(true)
    expect(Buffer.from(a.key!.x!).equals(Buffer.from(b.key!.x!))).toBe(false)

    await (await beta.beginDeleteKey("signing", poll)).pollUntilDone()
    expect((await restError(beta.getKey("signing"))).statusCode).toBe(404)
    expect(Buffer.from((await alpha.getKey("signing")).key!.x!).equals(Buffer.from(a.key!.x!))).toBe(true)
    const betaOps = (await journalOf(harness.emulator, "beta")).map((entry) => entry.operation)
    const alphaOps = (await journalOf(harness.emulator, "alpha")).map((entry) => entry.operation)
    expect(betaOps).toContain("deleteKey")
    expect(alphaOps).not.toContain("deleteKey")
  })

  it("our client: one KeyVault layer per vault, isolated values, deletes and journals", async () => {
    const harness = await make()
    const clientFor = (vaultUrl: string) =>
      KeyVault.layer({
        vaultUrl,
        disableChallengeResourceVerification: harness.relaxResourceCheck,
        // The cache is off so every read below asks the vault.
        cache: { enabled: false }
      }).pipe(Layer.provide(Layer.merge(harness.http, TokenProvider.layerStatic())))
    const inAlpha = <A, E>(effect: Effect.Effect<A, E, Secrets>) => Effect.provide(effect, clientFor(harness.urls.alpha))
    const inBeta = <A, E>(effect: Effect.Effect<A, E, Secrets>) => Effect.provide(effect, clientFor(harness.urls.beta))
    const value = (name: string) => Effect.map(Effect.flatMap(Secrets, (s) => s.get(name)), (s) => Redacted.value(s.value))

    await Effect.runPromise(Effect.gen(function*() {
      yield* inAlpha(Effect.flatMap(Secrets, (s) => s.set("db-password", "alpha-pw")))
      yield* inBeta(Effect.flatMap(Secrets, (s) => s.set("db-password", "beta-pw")))
      expect(yield* inAlpha(value("db-password"))).toBe("alpha-pw")
      expect(yield* inBeta(value("db-password"))).toBe("beta-pw")

      yield* inAlpha(Effect.flatMap(Secrets, (s) => s.delete("db-password")))
      const gone = yield* Effect.flip(inAlpha(value("db-password")))
      expect(gone._tag).toBe("NotFoundError")
      expect(yield* inBeta(value("db-password"))).toBe("beta-pw")
      const deletedInBeta = yield* inBeta(Effect.flatMap(Secrets, (s) => Stream.runCollect(s.listDeleted())))
      expect(deletedInBeta.length).toBe(0)
    }))

    const alphaOps = (await journalOf(harness.emulator, "alpha")).map((entry) => entry.operation)
    const betaOps = (await journalOf(harness.emulator, "beta")).map((entry) => entry.operation)
    expect(alphaOps).toContain("deleteSecret")
    expect(betaOps).not.toContain("deleteSecret")
    expect(betaOps).toContain("listDeletedSecrets")
    expect(alphaOps).not.toContain("listDeletedSecrets")
    expect(await Effect.runPromise(harness.emulator.journal.entries)).toEqual([])
  })
})

describe("a vault's host-name URL over HTTPS", () => {
  it("our client reaches https://<vault>.vault.localhost:<port> with challenge-resource verification on", async () => {
    const result = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* twoVaults(emulator, {})
      const tls = yield* Tls.ensureTlsMaterial({ stateDir })
      const server = yield* HttpsServer.serve({ handler: emulator.handler, tls: { cert: tls.certPem, key: tls.keyPem } })
      const urls = emulator.vaults.urlsFor("beta", server.url)
      const http = NodeHttpClient.layerWithoutAgent.pipe(
        Layer.provide(NodeHttpClient.makeAgentLayer({ ca: tls.caCertPem, lookup: loopbackLookup }))
      )
      const client = KeyVault.layer({ vaultUrl: urls[0]!, cache: { enabled: false } }).pipe(
        Layer.provide(Layer.merge(http, TokenProvider.layerStatic()))
      )
      yield* Effect.provide(Effect.flatMap(Secrets, (s) => s.set("named", "by-host")), client)
      const stored = yield* Effect.flatMap(emulator.vaults.get("beta"), (vault) => vault.engine.secrets.get("named"))
      return { urls, port: server.port, value: Redacted.value(stored.secret.value) }
    })))
    expect(result.urls).toEqual([`https://beta.vault.localhost:${result.port}`])
    expect(result.value).toBe("by-host")
  })
})
