import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as ChildProcess from "node:child_process"
import * as NodeCrypto from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import type { EmulatorHandler, EmulatorRequest } from "../src/http/Protocol.js"
import { MAX_REQUEST_BODY_BYTES } from "../src/http/Protocol.js"
import * as Emulator from "../src/Emulator.js"
import * as HttpsServer from "../src/server/HttpsServer.js"
import * as Tls from "../src/server/Tls.js"
import { nameConstraintsOf, signLeaf } from "./tls-support.js"

const tempDir = (): string => Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-emulator-tls-"))

interface Reply {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

interface RequestOptions {
  readonly method?: string
  readonly headers?: Http.OutgoingHttpHeaders
  readonly body?: Uint8Array | string
  readonly ca?: string
  readonly agent?: Http.Agent | false
  /** TLS server name; Node otherwise takes it from a `host` header. */
  readonly servername?: string
}

const request = (url: string, options: RequestOptions = {}): Effect.Effect<Reply, Error> =>
  Effect.async<Reply, Error>((resume) => {
    const target = new URL(url)
    const send = target.protocol === "https:" ? Https.request : Http.request
    const req = send(target, {
      method: options.method ?? "GET",
      headers: options.headers ?? {},
      agent: options.agent ?? false,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...(options.servername === undefined ? {} : { servername: options.servername })
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () =>
        resume(Effect.succeed({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8")
        })))
    })
    req.on("error", (error) => resume(Effect.fail(error)))
    req.end(options.body)
  })

// Records what reached the app and echoes a small JSON answer, like the real handler would.
const recordingHandler = (): { readonly handler: EmulatorHandler; readonly seen: Array<EmulatorRequest> } => {
  const seen: Array<EmulatorRequest> = []
  const handler: EmulatorHandler = (req) =>
    Effect.sync(() => {
      seen.push(req)
      return {
        status: 200,
        headers: { "content-type": "application/json; charset=utf-8", "x-ms-request-id": "stub" },
        body: new TextEncoder().encode(JSON.stringify({ ok: true, bytes: req.body.byteLength }))
      }
    })
  return { handler, seen }
}

// One CA + leaf for all socket tests; generating is cheap, but the tests are about the server here.
let sharedMaterial: Tls.TlsMaterial | undefined
const material = Effect.suspend(() =>
  sharedMaterial !== undefined
    ? Effect.succeed(sharedMaterial)
    : Tls.ensureTlsMaterial({ stateDir: tempDir() }).pipe(Effect.tap((m) => Effect.sync(() => (sharedMaterial = m))))
)

const hasOpenssl = ChildProcess.spawnSync("openssl", ["version"], { encoding: "utf8" }).status === 0

const openssl = (args: ReadonlyArray<string>) => ChildProcess.spawnSync("openssl", args, { encoding: "utf8" })

const serveTls = (handler: EmulatorHandler) =>
  Effect.gen(function*() {
    const tls = yield* material
    const server = yield* HttpsServer.serve({ handler, tls: { cert: tls.certPem, key: tls.keyPem } })
    return { server, ca: tls.caCertPem }
  })

describe("Tls", () => {
  it.live("generates a CA and a localhost leaf it has signed, with private keys kept private", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const tls = yield* Tls.ensureTlsMaterial({ stateDir })
      expect(tls.caCreated).toBe(true)
      expect(tls.certCreated).toBe(true)
      expect(tls.caCertPath).toBe(Path.join(stateDir, "ca.pem"))
      expect(Fs.readFileSync(tls.caCertPath, "utf8")).toBe(tls.caCertPem)
      expect(Fs.statSync(stateDir).mode & 0o777).toBe(0o700)
      for (const file of ["ca-key.pem", "server-key.pem", "ca.pem", "server.pem", ".gitignore"]) {
        expect([file, Fs.statSync(Path.join(stateDir, file)).mode & 0o777]).toEqual([file, 0o600])
      }
      expect(Fs.readFileSync(Path.join(stateDir, "server.pem"), "utf8")).toBe(tls.certPem)

      const ca = new NodeCrypto.X509Certificate(tls.caCertPem)
      const leaf = new NodeCrypto.X509Certificate(tls.certPem)
      expect(ca.ca).toBe(true)
      expect(ca.subject).toContain(`CN=${Tls.CA_COMMON_NAME}`)
      expect(leaf.ca).toBe(false)
      expect(leaf.checkIssued(ca)).toBe(true)
      expect(leaf.verify(ca.publicKey)).toBe(true)
      expect(leaf.checkPrivateKey(NodeCrypto.createPrivateKey(tls.keyPem))).toBe(true)
      expect(leaf.checkHost("localhost")).toBe("localhost")
      // Present for clients that accept it; Node and OpenSSL refuse wildcards directly under a top-level label.
      expect(leaf.subjectAltName).toContain("DNS:*.localhost")
      expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1")
      expect(leaf.checkIP("::1")).toBeDefined()
      expect(leaf.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"])
      const caYears = (Date.parse(ca.validTo) - Date.now()) / (365 * 24 * 3600 * 1000)
      expect(caYears).toBeGreaterThan(9.9)
    }))

  it.live("reuses valid material; more names within the CA's constraints replace the leaf, others the CA too", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const first = yield* Tls.ensureTlsMaterial({ stateDir })
      const second = yield* Tls.ensureTlsMaterial({ stateDir })
      expect(second).toEqual({ ...first, caCreated: false, certCreated: false })
      expect(first.nameConstraints).toEqual(["localhost", "127.0.0.0/8", "::1/128"])

      const within = yield* Tls.ensureTlsMaterial({ stateDir, hostNames: ["myvault.localhost", "127.0.0.2"] })
      expect(within.caCreated).toBe(false)
      expect(within.certCreated).toBe(true)
      expect(within.caCertPem).toBe(first.caCertPem)
      expect(new NodeCrypto.X509Certificate(within.certPem).checkIP("127.0.0.2")).toBe("127.0.0.2")

      // A CA constrained to loopback names cannot sign for emulator.test: a new CA, which users must trust anew.
      const beyond = yield* Tls.ensureTlsMaterial({ stateDir, hostNames: ["emulator.test", "10.1.2.3"] })
      expect(beyond.caCreated).toBe(true)
      expect(beyond.certCreated).toBe(true)
      expect(beyond.caCertPem).not.toBe(first.caCertPem)
      expect(beyond.nameConstraints).toEqual(["localhost", "127.0.0.0/8", "::1/128", "emulator.test", "10.1.2.3/32"])
      const leaf = new NodeCrypto.X509Certificate(beyond.certPem)
      expect(leaf.checkHost("emulator.test")).toBe("emulator.test")
      expect(leaf.checkIP("10.1.2.3")).toBe("10.1.2.3")
      expect(leaf.checkIssued(new NodeCrypto.X509Certificate(beyond.caCertPem))).toBe(true)
      // ...and it keeps covering them on the next start.
      const again = yield* Tls.ensureTlsMaterial({ stateDir, hostNames: ["emulator.test", "10.1.2.3"] })
      expect([again.caCreated, again.certCreated]).toEqual([false, false])
    }))

  it.effect("renews the leaf before it expires but keeps the CA users already trust", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.now())
      const stateDir = tempDir()
      const first = yield* Tls.ensureTlsMaterial({ stateDir })
      yield* TestClock.adjust("360 days")
      const renewed = yield* Tls.ensureTlsMaterial({ stateDir })
      expect(renewed.caCreated).toBe(false)
      expect(renewed.certCreated).toBe(true)
      expect(renewed.caCertPem).toBe(first.caCertPem)
      yield* TestClock.adjust(`${10 * 365} days`)
      const replaced = yield* Tls.ensureTlsMaterial({ stateDir })
      expect(replaced.caCreated).toBe(true)
      expect(replaced.caCertPem).not.toBe(first.caCertPem)
    }))

  it.live("regenerates unreadable files instead of failing", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const first = yield* Tls.ensureTlsMaterial({ stateDir })
      Fs.writeFileSync(Path.join(stateDir, "server.pem"), "not a certificate")
      const repaired = yield* Tls.ensureTlsMaterial({ stateDir })
      expect(repaired.caCertPem).toBe(first.caCertPem)
      expect(repaired.certCreated).toBe(true)
      expect(new NodeCrypto.X509Certificate(repaired.certPem).checkIssued(new NodeCrypto.X509Certificate(first.caCertPem)))
        .toBe(true)
    }))

  it.scopedLive("the CA is name-constrained: Node refuses a leaf it signed for another name, accepts one within", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const tls = yield* Tls.ensureTlsMaterial({ stateDir, hostNames: ["kv.internal"] })
      const extension = nameConstraintsOf(tls.caCertPem)
      expect(extension?.critical).toBe(true)
      expect(tls.nameConstraints).toEqual(["localhost", "127.0.0.0/8", "::1/128", "kv.internal"])

      // Whoever reads the CA key (it is on disk) can sign anything; the constraints make that worthless beyond
      // the emulator's own names, for every client that trusts the CA.
      const ca = { certPem: tls.caCertPem, keyPem: Fs.readFileSync(Path.join(stateDir, "ca-key.pem"), "utf8") }
      const handshake = (names: ReadonlyArray<string>, servername: string) =>
        Effect.gen(function*() {
          const leaf = yield* Effect.promise(() => signLeaf(ca, names))
          const server = yield* HttpsServer.serve({
            handler: recordingHandler().handler,
            tls: { cert: leaf.certPem, key: leaf.keyPem }
          })
          return yield* Effect.either(request(`https://127.0.0.1:${server.port}/`, { ca: tls.caCertPem, servername }))
        })
      const outside = yield* handshake(["www.example.com"], "www.example.com")
      expect(outside._tag === "Left" && outside.left.message).toMatch(/permitted subtree violation/)
      const outsideIp = yield* handshake(["www.example.com", "192.0.2.1"], "www.example.com")
      expect(outsideIp._tag === "Left" && outsideIp.left.message).toMatch(/permitted subtree violation/)
      const within = yield* handshake(["other.localhost"], "other.localhost")
      expect(within._tag === "Right" && within.right.status).toBe(200)
      const configured = yield* handshake(["kv.internal"], "kv.internal")
      expect(configured._tag === "Right" && configured.right.status).toBe(200)
    }))

  it.live.skipIf(!hasOpenssl)("openssl sees a critical Name Constraints extension and refuses a leaf outside it", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const tls = yield* Tls.ensureTlsMaterial({ stateDir })
      const ca = Path.join(stateDir, "ca.pem")
      const text = openssl(["x509", "-in", ca, "-noout", "-ext", "nameConstraints"]).stdout
      expect(text).toMatch(/X509v3 Name Constraints: critical/)
      expect(text).toContain("DNS:localhost")
      expect(text).toContain("IP:127.0.0.0/255.0.0.0")
      expect(text).not.toContain("Excluded")

      expect(openssl(["verify", "-CAfile", ca, Path.join(stateDir, "server.pem")]).status).toBe(0)
      const forged = yield* Effect.promise(() =>
        signLeaf({ certPem: tls.caCertPem, keyPem: Fs.readFileSync(Path.join(stateDir, "ca-key.pem"), "utf8") }, [
          "evil.example"
        ])
      )
      const forgedPath = Path.join(tempDir(), "forged.pem")
      Fs.writeFileSync(forgedPath, forged.certPem)
      const refused = openssl(["verify", "-CAfile", ca, forgedPath])
      expect(refused.status).not.toBe(0)
      expect(`${refused.stdout}${refused.stderr}`).toContain("permitted subtree violation")
    }))

  it.live("rejects a host name that cannot go into a certificate", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Tls.ensureTlsMaterial({ stateDir: tempDir(), hostNames: ["bad host/x"] }))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("TlsError")
    }))
})

describe("HttpsServer", () => {
  it.scopedLive("serves the handler over HTTPS to a client that trusts the CA", () =>
    Effect.gen(function*() {
      const { handler, seen } = recordingHandler()
      const { server, ca } = yield* serveTls(handler)
      expect(server.url).toBe(`https://localhost:${server.port}`)
      expect(server.host).toBe("127.0.0.1")
      expect(server.tls).toBe(true)

      const reply = yield* request(`${server.url}/secrets/alpha?api-version=2025-07-01`, {
        method: "PUT",
        ca,
        headers: {
          "Content-Type": "application/json",
          "X-Custom": ["one", "two"],
          Authorization: "Bearer token"
        },
        body: JSON.stringify({ value: "s3cret" })
      })
      expect(reply.status).toBe(200)
      expect(reply.headers["x-ms-request-id"]).toBe("stub")
      expect(JSON.parse(reply.body)).toEqual({ ok: true, bytes: 18 })

      expect(seen).toHaveLength(1)
      const got = seen[0]!
      expect(got.method).toBe("PUT")
      expect(got.url.href).toBe(`https://localhost:${server.port}/secrets/alpha?api-version=2025-07-01`)
      expect(got.headers["content-type"]).toBe("application/json")
      expect(got.headers["x-custom"]).toBe("one, two")
      expect(got.headers["authorization"]).toBe("Bearer token")
      expect(new TextDecoder().decode(got.body)).toBe(JSON.stringify({ value: "s3cret" }))
    }))

  it.scopedLive("keeps serving after a client that does not trust the CA hangs up", () =>
    Effect.gen(function*() {
      const { handler } = recordingHandler()
      const { server, ca } = yield* serveTls(handler)
      const untrusted = yield* Effect.flip(request(`${server.url}/secrets`))
      expect(untrusted.message).toMatch(/certificate/i)
      const trusted = yield* request(`${server.url}/secrets`, { ca })
      expect(trusted.status).toBe(200)
    }))

  it.scopedLive("answers an oversized body with a Key Vault 400 and never hands it to the app", () =>
    Effect.gen(function*() {
      const { handler, seen } = recordingHandler()
      const { server, ca } = yield* serveTls(handler)
      const agent = new Https.Agent({ keepAlive: true, ca })
      yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
      const tooLarge = yield* request(`${server.url}/secrets/big`, {
        method: "PUT",
        agent,
        headers: { "content-type": "application/json" },
        body: new Uint8Array(MAX_REQUEST_BODY_BYTES + 1)
      })
      expect(tooLarge.status).toBe(400)
      expect(tooLarge.headers["content-type"]).toContain("application/json")
      expect(JSON.parse(tooLarge.body)).toEqual({
        error: { code: "BadParameter", message: "The request body is too large." }
      })
      const atLimit = yield* request(`${server.url}/secrets/big`, {
        method: "PUT",
        agent,
        body: new Uint8Array(MAX_REQUEST_BODY_BYTES)
      })
      expect(atLimit.status).toBe(200)
      expect(seen.map((r) => r.body.byteLength)).toEqual([MAX_REQUEST_BODY_BYTES])
    }))

  it.scopedLive("refuses an oversized body announced with Expect: 100-continue before it is sent", () =>
    Effect.gen(function*() {
      const { handler, seen } = recordingHandler()
      const { server, ca } = yield* serveTls(handler)
      const reply = yield* Effect.async<Reply, Error>((resume) => {
        const req = Https.request(`${server.url}/secrets/big`, {
          method: "PUT",
          ca,
          agent: false,
          headers: { expect: "100-continue", "content-length": String(MAX_REQUEST_BODY_BYTES * 2) }
        }, (res) => {
          const chunks: Array<Buffer> = []
          res.on("data", (c: Buffer) => chunks.push(c))
          res.on("end", () =>
            resume(Effect.succeed({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString()
            })))
        })
        req.on("continue", () => resume(Effect.fail(new Error("server asked for the body"))))
        req.on("error", (e) => resume(Effect.fail(e)))
        req.flushHeaders()
      })
      expect(reply.status).toBe(400)
      expect(JSON.parse(reply.body).error.code).toBe("BadParameter")
      expect(seen).toHaveLength(0)
    }))

  it.scopedLive("closes the connection at once when the announced body is far beyond the limit", () =>
    Effect.gen(function*() {
      const { handler, seen } = recordingHandler()
      const server = yield* HttpsServer.serve({ handler })
      const raw = yield* Effect.async<string>((resume) => {
        let received = ""
        const socket = Net.connect(server.port, "127.0.0.1", () => {
          socket.write(
            `PUT /secrets/x HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Length: ${100 * MAX_REQUEST_BODY_BYTES}\r\n\r\n`
          )
        })
        socket.on("data", (chunk: Buffer) => (received += chunk.toString()))
        socket.on("close", () => resume(Effect.succeed(received)))
        socket.on("error", () => {})
      })
      expect(raw).toMatch(/^HTTP\/1\.1 400 /)
      expect(raw.toLowerCase()).toContain("connection: close")
      expect(raw).toContain(`"code":"BadParameter"`)
      expect(seen).toHaveLength(0)
    }))

  it.scopedLive("survives a client that disconnects in the middle of a body", () =>
    Effect.gen(function*() {
      const { handler, seen } = recordingHandler()
      const server = yield* HttpsServer.serve({ handler })
      yield* Effect.async<void>((resume) => {
        // `Expect: 100-continue` makes the server say when it is reading the body: part of it goes out only then,
        // and the client hangs up right after, with no guess at how long the server needs to get there.
        const socket = Net.connect(server.port, "127.0.0.1", () => {
          socket.write(
            `PUT /secrets/x HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n`
          )
        })
        socket.once("data", (chunk: Buffer) => {
          expect(chunk.toString()).toMatch(/^HTTP\/1\.1 100 /)
          socket.write(`{"val`, () => socket.destroy())
        })
        socket.on("close", () => resume(Effect.void))
        socket.on("error", () => {})
      })
      const reply = yield* request(`${server.url}/secrets`)
      expect(reply.status).toBe(200)
      expect(seen.map((r) => r.method)).toEqual(["GET"])
    }))

  it.scopedLive("serves plain HTTP when no TLS material is given", () =>
    Effect.gen(function*() {
      const { handler, seen } = recordingHandler()
      const server = yield* HttpsServer.serve({ handler })
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
      expect(server.tls).toBe(false)
      const reply = yield* request(`${server.url}/secrets?maxresults=2`, { method: "POST", body: "abc" })
      expect(reply.status).toBe(200)
      expect(seen[0]!.url.href).toBe(`http://127.0.0.1:${server.port}/secrets?maxresults=2`)
      expect(seen[0]!.method).toBe("POST")
    }))

  it.scopedLive("takes the URL origin from the Host header and falls back to the listening address", () =>
    Effect.gen(function*() {
      const { handler, seen } = recordingHandler()
      // Without the Host check, to see what reaches the app; with it, neither of these would (see below).
      const server = yield* HttpsServer.serve({ handler, checkHost: false })
      yield* request(`${server.url}/a`, { headers: { host: "myvault.localhost:1234" } })
      yield* request(`${server.url}/b`, { headers: { host: "evil.example/path?" } })
      expect(seen.map((r) => r.url.href)).toEqual([
        "http://myvault.localhost:1234/a",
        `http://127.0.0.1:${server.port}/b`
      ])
    }))

  it.scopedLive("over plain HTTP, refuses a Host that is not its own (DNS rebinding) with a Key Vault 403", () =>
    Effect.gen(function*() {
      const { handler, seen } = recordingHandler()
      const server = yield* HttpsServer.serve({ handler, hostNames: ["kv.internal", "*.wild.test"] })
      const port = server.port
      const statusFor = (host: string) =>
        Effect.map(request(`${server.url}/secrets`, { headers: { host } }), (reply) => reply.status)

      const own = [
        `localhost:${port}`,
        `LOCALHOST:${port}`,
        `myvault.localhost:${port}`,
        `127.0.0.1:${port}`,
        `127.0.0.2:${port}`,
        `[::1]:${port}`,
        `kv.internal:${port}`,
        `a.wild.test:${port}`,
        // Only the name matters: behind a port mapping the client names another port, and a bare name means 80.
        `localhost:${port === 65535 ? 1 : port + 1}`,
        `localhost`
      ]
      for (const host of own) expect([host, yield* statusFor(host)]).toEqual([host, 200])
      expect(seen).toHaveLength(own.length)

      // A page at http://evil.example:<port> whose name now resolves to 127.0.0.1 is same-origin to the browser:
      // only the Host header gives it away.
      const foreign = [
        `evil.example:${port}`,
        `localhost.evil.example:${port}`,
        `kv.internal.evil.example:${port}`,
        `a.b.wild.test:${port}`,
        `evil.example`,
        `evil.example/path?`
      ]
      for (const host of foreign) expect([host, yield* statusFor(host)]).toEqual([host, 403])
      expect(seen).toHaveLength(own.length)

      const refused = yield* request(`${server.url}/secrets`, { headers: { host: `evil.example:${port}` } })
      expect(refused.headers["content-type"]).toContain("application/json")
      expect(refused.headers["connection"]).toBe("close")
      const body = JSON.parse(refused.body) as { error: { code: string; message: string } }
      expect(body.error.code).toBe("Forbidden")
      expect(body.error.message).toContain("DNS rebinding")
      expect(body.error.message).not.toContain("evil")
    }))

  it.scopedLive("over plain HTTP on a wildcard address, accepts the machine's own addresses and refuses other names", () =>
    Effect.gen(function*() {
      const { handler, seen } = recordingHandler()
      const server = yield* HttpsServer.serve({ handler, host: "0.0.0.0" })
      const external = Object.values(Os.networkInterfaces()).flatMap((entries) => entries ?? [])
        .find((entry) => entry.family === "IPv4" && !entry.internal)
      const hosts = [`127.0.0.1:${server.port}`, ...(external === undefined ? [] : [`${external.address}:${server.port}`])]
      for (const host of hosts) {
        expect((yield* request(`http://127.0.0.1:${server.port}/secrets`, { headers: { host } })).status).toBe(200)
      }
      const rebound = yield* request(`http://127.0.0.1:${server.port}/secrets`, {
        headers: { host: `evil.example:${server.port}` }
      })
      expect(rebound.status).toBe(403)
      expect(seen).toHaveLength(hosts.length)
    }))

  it.scopedLive("over HTTPS, leaves the Host alone by default (the certificate already binds the name), checks on request", () =>
    Effect.gen(function*() {
      const { handler, seen } = recordingHandler()
      const { ca, server } = yield* serveTls(handler)
      const foreign = { host: `evil.example:${server.port}` }
      expect((yield* request(`${server.url}/secrets`, { ca, headers: foreign, servername: "localhost" })).status).toBe(200)
      expect(seen).toHaveLength(1)

      const tls = yield* material
      const checked = yield* HttpsServer.serve({ handler, tls: { cert: tls.certPem, key: tls.keyPem }, checkHost: true })
      const refused = yield* request(`${checked.url}/secrets`, {
        ca,
        headers: { host: `evil.example:${checked.port}` },
        servername: "localhost"
      })
      expect(refused.status).toBe(403)
      expect((yield* request(`${checked.url}/secrets`, { ca })).status).toBe(200)
      expect(seen).toHaveLength(2)
    }))

  it.scopedLive("answers 500 with a Key Vault error when the handler dies", () =>
    Effect.gen(function*() {
      const server = yield* HttpsServer.serve({ handler: () => Effect.die(new Error("boom")) })
      const reply = yield* request(`${server.url}/secrets`)
      expect(reply.status).toBe(500)
      expect(JSON.parse(reply.body).error.code).toBe("InternalServerError")
    }).pipe(Logger.withMinimumLogLevel(LogLevel.None)))

  it.live("frees the port when the scope closes, even with an idle keep-alive connection", () =>
    Effect.gen(function*() {
      const { handler } = recordingHandler()
      const scope = yield* Scope.make()
      const { server, ca } = yield* serveTls(handler).pipe(Scope.extend(scope))
      const agent = new Https.Agent({ keepAlive: true, ca })
      const reply = yield* request(`${server.url}/secrets`, { agent })
      expect(reply.status).toBe(200)
      yield* Scope.close(scope, Exit.void)
      agent.destroy()

      const refused = yield* Effect.flip(request(`${server.url}/secrets`, { ca }))
      expect((refused as NodeJS.ErrnoException).code).toBe("ECONNREFUSED")
      // The same port can be bound again right away.
      yield* Effect.async<void, Error>((resume) => {
        const probe = Net.createServer()
        probe.once("error", (e) => resume(Effect.fail(e)))
        probe.listen(server.port, "127.0.0.1", () => probe.close(() => resume(Effect.void)))
      })
    }))

  it.scopedLive("reports a port that is already taken as a ServerError", () =>
    Effect.gen(function*() {
      const { handler } = recordingHandler()
      const first = yield* HttpsServer.serve({ handler })
      const error = yield* Effect.flip(HttpsServer.serve({ handler, port: first.port }))
      expect(error._tag).toBe("ServerError")
      expect(error.message).toContain("EADDRINUSE")
    }))

  it.scopedLive("serves the real emulator end to end: challenge, then a secret round trip", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const { server, ca } = yield* serveTls(emulator.handler)
      const challenge = yield* request(`${server.url}/secrets/db?api-version=2025-07-01`, { method: "PUT", ca })
      expect(challenge.status).toBe(401)
      expect(challenge.headers["www-authenticate"]).toContain(`resource="${server.url}"`)

      const auth = { authorization: "Bearer emulator", "content-type": "application/json" }
      const set = yield* request(`${server.url}/secrets/db?api-version=2025-07-01`, {
        method: "PUT",
        ca,
        headers: auth,
        body: JSON.stringify({ value: "s3cret" })
      })
      expect(set.status).toBe(200)
      const got = yield* request(`${server.url}/secrets/db/?api-version=2025-07-01`, { ca, headers: auth })
      expect(got.status).toBe(200)
      const secret = JSON.parse(got.body) as { value: string; id: string }
      expect(secret.value).toBe("s3cret")
      // Identifiers carry the origin the client used, which is what the SDKs compare against the vault URL.
      expect(secret.id.startsWith(`${server.url}/secrets/db/`)).toBe(true)
    }))
})
