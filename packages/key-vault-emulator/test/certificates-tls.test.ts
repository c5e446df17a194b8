/**
 * What the emulator issues is usable as is: its PKCS#12 (empty password) and PEM secrets load into
 * `tls.createSecureContext`, `crypto.X509Certificate` verifies the certificates, and a TLS server on 127.0.0.1 serving
 * them is trusted by a client that trusts the certificate (self-signed) or the CA (merged chain).
 */
import { describe, expect, it } from "@effect/vitest"
import { Certificates, KeyVault, TokenProvider } from "@effect-azure/key-vault"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Crypto from "node:crypto"
import type * as Net from "node:net"
import * as Tls from "node:tls"
import * as Emulator from "../src/Emulator.js"
import * as HttpClientLayer from "../src/testing/HttpClientLayer.js"
import { makeCa, pemOf, signCsr } from "./certificates-support.js"
import { call } from "./support.js"

const tlsPolicy = (kty: "EC" | "RSA", contentType: string, issuer = "Self") => ({
  key_props: kty === "EC" ? { kty, crv: "P-256" } : { kty, key_size: 2048 },
  secret_props: { contentType },
  x509_props: { subject: "CN=localhost", sans: { dns_names: ["localhost"], ipAddresses: ["127.0.0.1"] } },
  issuer: { name: issuer }
})

const issue = (emulator: Emulator.Emulator, name: string, policy: Record<string, unknown>) =>
  Effect.gen(function*() {
    expect((yield* call(emulator, "POST", `/certificates/${name}/create`, { body: { policy } })).status).toBe(202)
    const bundle = yield* call(emulator, "GET", `/certificates/${name}/`)
    const secret = yield* call(emulator, "GET", `/secrets/${name}/`)
    expect(secret.status, secret.text).toBe(200)
    return { cer: Buffer.from(bundle.json.cer as string, "base64"), secret: secret.json.value as string }
  })

/** Serves with `serverOptions` (the material) on 127.0.0.1, connects trusting `ca`, answers what the client saw. */
const handshake = (serverOptions: Tls.TlsOptions, ca: string) =>
  Effect.promise(() =>
    new Promise<{ readonly authorized: boolean; readonly echoed: string; readonly peer: Buffer }>((resolve, reject) => {
      const server = Tls.createServer(serverOptions, (socket) => socket.pipe(socket))
      server.on("error", reject)
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as Net.AddressInfo
        const client = Tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca }, () => {
          const peer = client.getPeerX509Certificate()?.raw ?? Buffer.alloc(0)
          const authorized = client.authorized
          client.write("ping")
          client.once("data", (data) => {
            client.end()
            server.close()
            resolve({ authorized, echoed: data.toString(), peer })
          })
        })
        client.on("error", (error) => {
          server.close()
          reject(error)
        })
      })
    })
  )

describe("certificates issued by the emulator work with node:tls", () => {
  it.live("PKCS#12 secrets (EC and RSA) load with the empty password and serve TLS to a client trusting the certificate", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      for (const kty of ["EC", "RSA"] as const) {
        const { cer, secret } = yield* issue(emulator, `tls-pfx-${kty}`, tlsPolicy(kty, "application/x-pkcs12"))
        const certificate = new Crypto.X509Certificate(cer)
        expect(certificate.verify(certificate.publicKey)).toBe(true)
        expect(certificate.checkHost("localhost")).toBe("localhost")
        expect(certificate.checkIP("127.0.0.1")).toBe("127.0.0.1")
        const now = Date.now()
        expect(new Date(certificate.validFrom).getTime()).toBeLessThanOrEqual(now)
        expect(new Date(certificate.validTo).getTime()).toBeGreaterThan(now)
        const material = { pfx: Buffer.from(secret, "base64"), passphrase: "" }
        expect(Tls.createSecureContext(material).context).toBeDefined()
        const result = yield* handshake(material, certificate.toString())
        expect(result).toMatchObject({ authorized: true, echoed: "ping" })
        expect(result.peer.equals(cer)).toBe(true)
      }
    }))

  it.live("PEM secrets load as key and certificate, and the key is the certificate's", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const { cer, secret } = yield* issue(emulator, "tls-pem", tlsPolicy("EC", "application/x-pem-file"))
      const certificate = new Crypto.X509Certificate(cer)
      expect(certificate.checkPrivateKey(Crypto.createPrivateKey(secret))).toBe(true)
      expect(Tls.createSecureContext({ key: secret, cert: secret }).context).toBeDefined()
      const result = yield* handshake({ key: secret, cert: secret }, certificate.toString())
      expect(result).toMatchObject({ authorized: true, echoed: "ping" })
    }))

  it.live("a merged certificate serves its chain: a client trusting only the CA accepts it", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const ca = yield* Effect.promise(() => makeCa())
      yield* call(emulator, "POST", "/certificates/tls-merged/create", {
        body: { policy: tlsPolicy("EC", "application/x-pkcs12", "Unknown") }
      })
      const pending = yield* call(emulator, "GET", "/certificates/tls-merged/pending")
      const leaf = yield* Effect.promise(() => signCsr(ca, Buffer.from(pending.json.csr, "base64")))
      const merged = yield* call(emulator, "POST", "/certificates/tls-merged/pending/merge", {
        body: { x5c: [Buffer.from(leaf).toString("base64"), Buffer.from(ca.der).toString("base64")] }
      })
      expect(merged.status, merged.text).toBe(201)
      const secret = (yield* call(emulator, "GET", "/secrets/tls-merged/")).json.value as string
      const material = { pfx: Buffer.from(secret, "base64"), passphrase: "" }
      expect(Tls.createSecureContext(material).context).toBeDefined()
      const result = yield* handshake(material, pemOf(ca.der))
      expect(result).toMatchObject({ authorized: true, echoed: "ping" })
      expect(result.peer.equals(Buffer.from(leaf))).toBe(true)
    }))

  it.live("a TLS server started from a certificate fetched through the Effect client accepts a client trusting it", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const client = KeyVault.layer({ vaultUrl: "https://tls.vault.azure.net" }).pipe(
        Layer.provide(Layer.merge(HttpClientLayer.layer(emulator), TokenProvider.layerStatic()))
      )
      yield* Effect.gen(function*() {
        const certificates = yield* Certificates.Certificates
        yield* certificates.create("served", {
          issuerName: "Self",
          subject: "CN=localhost",
          subjectAlternativeNames: { dnsNames: ["localhost"] },
          keyType: "RSA",
          keySize: 2048
        }, { pollSchedule: Schedule.spaced("10 millis") })
        const details = yield* certificates.getDetails("served")
        for (const format of ["pkcs12", "pem"] as const) {
          const material: Tls.TlsOptions = format === "pkcs12"
            ? { pfx: Buffer.from(Redacted.value(yield* certificates.downloadPkcs12("served"))) }
            : { key: Redacted.value(yield* certificates.downloadPem("served")), cert: Redacted.value(yield* certificates.downloadPem("served")) }
          const result = yield* handshake(material, pemOf(details.der))
          expect(result).toMatchObject({ authorized: true, echoed: "ping" })
          expect(result.peer.equals(Buffer.from(details.der))).toBe(true)
        }
      }).pipe(Effect.provide(client))
    }))
})
