/**
 * Socket tests: the client over real HTTPS to the emulator's server on loopback, with the emulator's local CA as the
 * only trust anchor.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/Emulator"
import * as HttpsServer from "@effect-azure/key-vault-emulator/server/HttpsServer"
import * as Tls from "@effect-azure/key-vault-emulator/server/Tls"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Dns from "node:dns"
import * as Fs from "node:fs"
import type * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as KeyVault from "../src/KeyVault.js"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { Secrets } from "../src/secrets/Secrets.js"

// Not every resolver maps `*.localhost` to loopback (RFC 6761 says it should); this one does.
const loopbackLookup: Net.LookupFunction = (hostname, options, callback) =>
  hostname.endsWith(".localhost")
    ? options.all === true
      ? callback(null, [{ address: "127.0.0.1", family: 4 }])
      : callback(null, "127.0.0.1", 4)
    : Dns.lookup(hostname, options, callback)

const stateDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-socket-"))

/** The emulator on an HTTPS loopback port, and the client trusting only its CA. */
const serverLayer = (options: { readonly verify: boolean }) =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const emulator = yield* Emulator.make()
    const tls = yield* Tls.ensureTlsMaterial({ stateDir })
    const server = yield* HttpsServer.serve({ handler: emulator.handler, tls: { cert: tls.certPem, key: tls.keyPem } })
    const http = NodeHttpClient.layerWithoutAgent.pipe(Layer.provide(NodeHttpClient.makeAgentLayer({ ca: tls.caCertPem })))
    return KeyVault.layer({ vaultUrl: server.url, disableChallengeResourceVerification: !options.verify }).pipe(
      Layer.provide(Layer.merge(http, TokenProvider.layerStatic()))
    )
  }))

describe("client over the HTTPS emulator", () => {
  it.live("runs set, get, list, delete, recover, backup, purge and restore over TLS", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const first = yield* secrets.set("socket-secret", "über-value", { tags: { via: "https" } })
      expect(first.properties.vaultUrl).toMatch(/^https:\/\/localhost:\d+$/)
      yield* secrets.set("socket-secret", "second")
      expect(Redacted.value((yield* secrets.get("socket-secret", { version: first.properties.version! })).value)).toBe("über-value")
      for (const n of ["s1", "s2", "s3"]) yield* secrets.set(n, n)
      const names = Chunk.toReadonlyArray(yield* Stream.runCollect(secrets.listProperties({ maxPageSize: 1 }))).map((p) => p.name)
      expect(names.sort()).toEqual(["s1", "s2", "s3", "socket-secret"])
      const blob = yield* secrets.backup("socket-secret")
      yield* secrets.delete("socket-secret")
      yield* secrets.recover("socket-secret")
      yield* secrets.delete("socket-secret")
      yield* secrets.purge("socket-secret")
      yield* secrets.restore(blob)
      expect(Redacted.value((yield* secrets.get("socket-secret")).value)).toBe("second")
    }).pipe(Effect.provide(serverLayer({ verify: false }))))

  it.live("passes resource verification when reached as <name>.vault.localhost", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets
      const secret = yield* secrets.set("verified", "v")
      expect(secret.properties.vaultUrl).toMatch(/^https:\/\/myvault\.vault\.localhost:\d+$/)
      expect(Redacted.value((yield* secrets.get("verified")).value)).toBe("v")
    }).pipe(Effect.provide(Layer.unwrapScoped(Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const tls = yield* Tls.ensureTlsMaterial({ stateDir })
      const server = yield* HttpsServer.serve({ handler: emulator.handler, tls: { cert: tls.certPem, key: tls.keyPem } })
      const http = NodeHttpClient.layerWithoutAgent.pipe(
        Layer.provide(NodeHttpClient.makeAgentLayer({ ca: tls.caCertPem, lookup: loopbackLookup }))
      )
      return KeyVault.layer({ vaultUrl: server.url.replace("//localhost:", "//myvault.vault.localhost:") }).pipe(
        Layer.provide(Layer.merge(http, TokenProvider.layerStatic()))
      )
    })))))

  it.live("refuses the localhost emulator's challenge while resource verification is on", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.flatMap(Secrets, (s) => s.get("anything")))
      expect(error._tag).toBe("AuthenticationError")
      expect(error.message).toContain("disableChallengeResourceVerification")
    }).pipe(Effect.provide(serverLayer({ verify: true }))))

  it.live("reports an untrusted certificate as a TransportError at once, without retrying", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.flatMap(Secrets, (s) => s.get("anything")))
      expect(error._tag === "TransportError" && error.reason).toBe("Tls")
    }).pipe(Effect.provide(Layer.unwrapScoped(Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const tls = yield* Tls.ensureTlsMaterial({ stateDir })
      const server = yield* HttpsServer.serve({ handler: emulator.handler, tls: { cert: tls.certPem, key: tls.keyPem } })
      return KeyVault.layer({ vaultUrl: server.url, disableChallengeResourceVerification: true }).pipe(
        Layer.provide(Layer.merge(NodeHttpClient.layer, TokenProvider.layerStatic()))
      )
    })))))
})
