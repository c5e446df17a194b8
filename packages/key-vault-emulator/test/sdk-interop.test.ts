/**
 * The official `SecretClient` (@azure/keyvault-secrets 4.12) against the emulator, every method, two ways:
 * - through the in-process transport, with the real vault URL and challenge-resource verification left on;
 * - over real HTTPS to the emulator's server on loopback, trusting its local CA (`tlsOptions.ca`); the SDK reaches
 *   it as `https://localhost:<port>`, so it needs `disableChallengeResourceVerification`.
 */
import type { TokenCredential } from "@azure/core-auth"
import type { SecretProperties } from "@azure/keyvault-secrets"
import { SecretClient } from "@azure/keyvault-secrets"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Emulator from "../src/Emulator.js"
import * as HttpsServer from "../src/server/HttpsServer.js"
import * as Tls from "../src/server/Tls.js"
import { makeAzureHttpClient } from "../src/testing/AzureSdkTransport.js"
import { collect, poll, restError } from "./sdk-support.js"

const credential: TokenCredential = {
  getToken: async () => ({ token: "emulator", expiresOnTimestamp: Date.now() + 3600_000 })
}

interface Harness {
  readonly name: string
  /** A client on a fresh, empty emulator, and the vault URL it uses. */
  readonly make: () => Promise<{ readonly client: SecretClient; readonly vaultUrl: string }>
}

const inProcess: Harness = {
  name: "in-process transport",
  make: async () => {
    const vaultUrl = "https://myvault.vault.azure.net"
    const emulator = Effect.runSync(Emulator.make())
    return { vaultUrl, client: new SecretClient(vaultUrl, credential, { httpClient: makeAzureHttpClient(emulator) }) }
  }
}

// Servers started by the HTTPS harness live in one scope, closed after the suite.
const serverScope = Effect.runSync(Scope.make())
afterAll(() => Effect.runPromise(Scope.close(serverScope, Exit.void)))
const stateDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-sdk-https-"))

const overHttps: Harness = {
  name: "HTTPS server",
  make: () =>
    Effect.runPromise(Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const tls = yield* Tls.ensureTlsMaterial({ stateDir })
      const server = yield* Scope.extend(
        HttpsServer.serve({ handler: emulator.handler, tls: { cert: tls.certPem, key: tls.keyPem } }),
        serverScope
      )
      const client = new SecretClient(server.url, credential, {
        disableChallengeResourceVerification: true,
        tlsOptions: { ca: tls.caCertPem }
      })
      return { vaultUrl: server.url, client }
    }))
}


describe.each([inProcess, overHttps])("SecretClient against the emulator ($name)", ({ make }) => {
  it("sets and gets secrets with every property, values round-tripping exactly", async () => {
    const { client, vaultUrl } = await make()
    const notBefore = new Date("2020-01-01T00:00:00Z")
    // Before 2038: the SDK truncates timestamps with `| 0` (32-bit), so later dates go out negative.
    const expiresOn = new Date("2037-12-31T00:00:00Z")
    const set = await client.setSecret("Sdk-Secret", "first value", {
      contentType: "text/plain",
      tags: { env: "test", owner: "me" },
      enabled: true,
      notBefore,
      expiresOn
    })
    expect(set.value).toBe("first value")
    expect(set.name).toBe("Sdk-Secret")
    expect(set.properties).toMatchObject({
      contentType: "text/plain",
      tags: { env: "test", owner: "me" },
      enabled: true,
      notBefore,
      expiresOn,
      recoveryLevel: "Recoverable+Purgeable",
      recoverableDays: 90,
      vaultUrl: vaultUrl
    })
    expect(set.properties.version).toMatch(/^[0-9a-f]{32}$/)
    expect(set.properties.createdOn).toBeInstanceOf(Date)

    for (const value of ["", "unicode ✓ 🔐 日本語 \u00e9\u0301", "line\nbreaks\tand \"quotes\" \\ /"]) {
      await client.setSecret("round-trip", value)
      expect((await client.getSecret("round-trip")).value).toBe(value)
    }

    const second = await client.setSecret("sdk-secret", "second value")
    expect((await client.getSecret("SDK-SECRET")).value).toBe("second value")
    const old = await client.getSecret("sdk-secret", { version: set.properties.version! })
    expect(old.value).toBe("first value")
    expect(old.properties.version).toBe(set.properties.version)
    expect(second.properties.version).not.toBe(set.properties.version)
  })

  it("updates properties, and reports disabled and missing secrets as RestErrors", async () => {
    const { client } = await make()
    const set = await client.setSecret("updatable", "v")
    const updated = await client.updateSecretProperties("updatable", set.properties.version!, {
      contentType: "application/json",
      tags: { a: "b" },
      enabled: false
    })
    expect(updated).toMatchObject({ contentType: "application/json", tags: { a: "b" }, enabled: false })
    const disabled = await restError(client.getSecret("updatable"))
    expect(disabled.statusCode).toBe(403)
    expect(disabled.code).toBe("Forbidden")

    await client.updateSecretProperties("updatable", "", { enabled: true })
    expect((await client.getSecret("updatable")).value).toBe("v")

    const missing = await restError(client.getSecret("does-not-exist"))
    expect(missing.statusCode).toBe(404)
    expect(missing.code).toBe("SecretNotFound")
  })

  it("lists secrets, versions and deleted secrets, also page by page", async () => {
    const { client, vaultUrl } = await make()
    for (const name of ["s1", "s2", "s3", "s4", "s5"]) await client.setSecret(name, `value of ${name}`)
    for (let i = 0; i < 4; i++) await client.setSecret("versioned", `v${i}`)

    const all: Array<SecretProperties> = await collect(client.listPropertiesOfSecrets())
    expect(all.map((p) => p.name)).toEqual(["s1", "s2", "s3", "s4", "s5", "versioned"])
    expect(all.every((p) => p.version === undefined)).toBe(true)

    const pages = await collect(client.listPropertiesOfSecrets().byPage({ maxPageSize: 2 }))
    expect(pages.map((page) => page.length)).toEqual([2, 2, 2])

    const versions = await collect(client.listPropertiesOfSecretVersions("versioned"))
    expect(versions).toHaveLength(4)
    expect(new Set(versions.map((v) => v.version)).size).toBe(4)
    const versionPages = await collect(client.listPropertiesOfSecretVersions("versioned").byPage({ maxPageSize: 3 }))
    expect(versionPages.map((page) => page.length)).toEqual([3, 1])

    for (const name of ["s1", "s2", "s3"]) await (await client.beginDeleteSecret(name, poll)).pollUntilDone()
    const deleted = await collect(client.listDeletedSecrets())
    expect(deleted.map((d) => d.name)).toEqual(["s1", "s2", "s3"])
    expect(deleted[0]?.properties.recoveryId).toBe(`${vaultUrl}/deletedsecrets/s1`)
    const deletedPages = await collect(client.listDeletedSecrets().byPage({ maxPageSize: 2 }))
    expect(deletedPages.map((page) => page.length)).toEqual([2, 1])
  })

  it("deletes, gets deleted, recovers, purges, and refuses a deleted name with 409", async () => {
    const { client, vaultUrl } = await make()
    await client.setSecret("lifecycle", "keep me", { contentType: "text/plain" })
    const deletePoller = await client.beginDeleteSecret("lifecycle", poll)
    const deleted = await deletePoller.pollUntilDone()
    expect(deleted.name).toBe("lifecycle")
    expect(deleted.properties.recoveryId).toBe(`${vaultUrl}/deletedsecrets/lifecycle`)
    expect(deleted.properties.deletedOn).toBeInstanceOf(Date)
    expect(deleted.properties.scheduledPurgeDate).toBeInstanceOf(Date)

    const conflict = await restError(client.setSecret("lifecycle", "new"))
    expect(conflict.statusCode).toBe(409)
    expect(conflict.code).toBe("Conflict")

    const gotDeleted = await client.getDeletedSecret("lifecycle")
    expect(gotDeleted.properties.contentType).toBe("text/plain")

    const recoverPoller = await client.beginRecoverDeletedSecret("lifecycle", poll)
    const recovered = await recoverPoller.pollUntilDone()
    expect(recovered.name).toBe("lifecycle")
    expect((await client.getSecret("lifecycle")).value).toBe("keep me")

    await (await client.beginDeleteSecret("lifecycle", poll)).pollUntilDone()
    await client.purgeDeletedSecret("lifecycle")
    const purgedAgain = await restError(client.purgeDeletedSecret("lifecycle"))
    expect(purgedAgain.statusCode).toBe(404)
    expect(purgedAgain.code).toBe("SecretNotFound")
    expect((await restError(client.getDeletedSecret("lifecycle"))).statusCode).toBe(404)
  })

  it("backs up and restores, into another emulator too", async () => {
    const { client } = await make()
    await client.setSecret("backed-up", "version one")
    await client.setSecret("backed-up", "version two ✓")
    const backup = await client.backupSecret("backed-up")
    expect(backup).toBeInstanceOf(Uint8Array)

    const conflict = await restError(client.restoreSecretBackup(backup!))
    expect(conflict.statusCode).toBe(409)

    await (await client.beginDeleteSecret("backed-up", poll)).pollUntilDone()
    await client.purgeDeletedSecret("backed-up")
    const restored = await client.restoreSecretBackup(backup!)
    expect(restored.name).toBe("backed-up")
    expect((await client.getSecret("backed-up")).value).toBe("version two ✓")

    const { client: other } = await make()
    await other.restoreSecretBackup(backup!)
    expect(await collect(other.listPropertiesOfSecretVersions("backed-up"))).toHaveLength(2)
    expect((await other.getSecret("backed-up")).value).toBe("version two ✓")

    const malformed = await restError(other.restoreSecretBackup(new Uint8Array([1, 2, 3])))
    expect(malformed.statusCode).toBe(400)
    expect(malformed.code).toBe("BadParameter")
  })
})
