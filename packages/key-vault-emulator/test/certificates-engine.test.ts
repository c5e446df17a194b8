/**
 * Certificates in the emulator, through the app handler (and the engine where time matters): issuance with `Self`
 * and `Unknown` (real X.509, a real CSR signed by a test CA), the managed key and secret, import of PEM and PKCS#12,
 * policy rules, the pending operation, soft delete / recover / purge of all three objects, backup / restore,
 * contacts, issuers, and the journal's names for every route.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Crypto from "node:crypto"
import * as Emulator from "../src/Emulator.js"
import * as VaultEngine from "../src/engine/VaultEngine.js"
import * as App from "../src/http/App.js"
import type { EmulatorHandler } from "../src/http/Protocol.js"
import * as Operation from "../src/journal/Operation.js"
import { forgePfx, makeCa, pemOf, selfSigned, sha1Base64Url, signCsr } from "./certificates-support.js"
import { call, makeRequest } from "./support.js"
import type { CallOptions, CallResult } from "./support.js"

const ID = /^https:\/\/myvault\.vault\.azure\.net\/certificates\/([0-9A-Za-z-]+)\/([0-9a-f]{32})$/

const expectError = (result: CallResult, status: number, code: string, inner?: string) => {
  expect(result.status, result.text).toBe(status)
  expect(result.json.error.code).toBe(code)
  if (inner !== undefined) expect(result.json.error.innererror?.code).toBe(inner)
}

const ecPolicy = (subject: string, extra: Record<string, unknown> = {}) => ({
  key_props: { kty: "EC", crv: "P-256" },
  x509_props: { subject, sans: { dns_names: ["localhost"] } },
  issuer: { name: "Self" },
  ...extra
})

const versionOf = (result: CallResult): string => ID.exec(result.json.id)![2]!

const der = (base64: string): Uint8Array => new Uint8Array(Buffer.from(base64, "base64"))

/** An app over an engine whose `Self` issuance takes `delayMillis` on the clock. */
const delayedApp = (delayMillis: number) =>
  Effect.map(
    VaultEngine.make({ certificateIssuanceDelayMillis: delayMillis }),
    (engine) => App.make({ engine, tenantId: Emulator.DEFAULT_TENANT_ID })
  )

const send = (handler: EmulatorHandler, method: string, path: string, options: CallOptions = {}) =>
  Effect.map(handler(makeRequest(method, path, options)), (response): CallResult => {
    const text = new TextDecoder().decode(response.body)
    return { status: response.status, headers: response.headers, text, json: text === "" ? undefined : JSON.parse(text) }
  })

const createSelf = (emulator: Emulator.Emulator, name: string, policy: Record<string, unknown> = ecPolicy(`CN=${name}`)) =>
  Effect.gen(function*() {
    const created = yield* call(emulator, "POST", `/certificates/${name}/create`, { body: { policy } })
    expect(created.status, created.text).toBe(202)
    const certificate = yield* call(emulator, "GET", `/certificates/${name}/`)
    expect(certificate.status, certificate.text).toBe(200)
    return certificate
  })

describe("certificates: issuance with Self", () => {
  it.effect("create answers 202 inProgress with a real CSR; the next request finds a real certificate, key and secret", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const created = yield* call(emulator, "POST", "/certificates/Web-Cert/create", {
        body: {
          policy: ecPolicy("cn=web.example.com, O=Contoso", {
            x509_props: {
              subject: "cn=web.example.com, O=Contoso",
              sans: {
                dns_names: ["web.example.com"],
                emails: ["ops@example.com"],
                upns: ["svc@example.com"],
                ipAddresses: ["127.0.0.1"]
              },
              ekus: ["1.3.6.1.5.5.7.3.1"],
              key_usage: ["digitalSignature"],
              validity_months: 3
            }
          }),
          tags: { env: "test" }
        }
      })
      expect(created.status, created.text).toBe(202)
      expect(created.json).toMatchObject({
        id: "https://myvault.vault.azure.net/certificates/Web-Cert/pending",
        issuer: { name: "Self" },
        status: "inProgress",
        cancellation_requested: false
      })
      expect(created.headers.location).toMatch(/\/certificates\/Web-Cert\/pending\?api-version=2025-07-01&request_id=/)
      const csr = yield* Effect.promise(async () => {
        const x509 = await import("@peculiar/x509")
        return new x509.Pkcs10CertificateRequest(der(created.json.csr))
      })
      expect(csr.subject).toBe("CN=web.example.com, O=Contoso")

      const operation = yield* call(emulator, "GET", "/certificates/web-cert/pending")
      expect(operation.json).toMatchObject({ status: "completed", target: "https://myvault.vault.azure.net/certificates/Web-Cert" })

      const bundle = yield* call(emulator, "GET", "/certificates/Web-Cert/")
      expect(bundle.status).toBe(200)
      const version = versionOf(bundle)
      expect(bundle.json.kid).toBe(`https://myvault.vault.azure.net/keys/Web-Cert/${version}`)
      expect(bundle.json.sid).toBe(`https://myvault.vault.azure.net/secrets/Web-Cert/${version}`)
      expect(bundle.json.contentType).toBe("application/x-pkcs12")
      expect(bundle.json.tags).toEqual({ env: "test" })
      const certificate = new Crypto.X509Certificate(der(bundle.json.cer))
      expect(bundle.json.x5t).toBe(sha1Base64Url(der(bundle.json.cer)))
      expect(certificate.subject).toBe("CN=web.example.com\nO=Contoso")
      expect(certificate.subjectAltName)
        .toBe("DNS:web.example.com, email:ops@example.com, othername:UPN:svc@example.com, IP Address:127.0.0.1")
      expect(certificate.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"])
      expect(certificate.verify(certificate.publicKey)).toBe(true)
      expect(bundle.json.attributes.nbf).toBe(Math.floor(new Date(certificate.validFrom).getTime() / 1000))
      expect(bundle.json.attributes.exp).toBe(Math.floor(new Date(certificate.validTo).getTime() / 1000))
      // Issued at the test clock's epoch: valid 3 months from then (notBefore cannot go before 1970).
      expect(new Date(certificate.validTo).toISOString()).toBe("1970-04-01T00:00:00.000Z")
      expect(bundle.json.policy).toMatchObject({
        id: "https://myvault.vault.azure.net/certificates/Web-Cert/policy",
        key_props: { kty: "EC", crv: "P-256", exportable: true, reuse_key: false },
        x509_props: { subject: "cn=web.example.com, O=Contoso", validity_months: 3 },
        lifetime_actions: [{ trigger: { lifetime_percentage: 80 }, action: { action_type: "AutoRenew" } }],
        issuer: { name: "Self" }
      })

      const key = yield* call(emulator, "GET", `/keys/Web-Cert/${version}`)
      expect(key.json).toMatchObject({ managed: true, key: { kty: "EC", crv: "P-256", key_ops: ["sign", "verify"] } })
      const jwk = Crypto.createPublicKey({ key: { kty: "EC", crv: "P-256", x: key.json.key.x, y: key.json.key.y }, format: "jwk" })
      expect(jwk.export({ format: "der", type: "spki" }).equals(certificate.publicKey.export({ format: "der", type: "spki" })))
        .toBe(true)

      // The key signs through the keys API, and the certificate's public key verifies the signature.
      const digest = Crypto.createHash("sha256").update("payload").digest()
      const signed = yield* call(emulator, "POST", `/keys/Web-Cert/${version}/sign`, {
        body: { alg: "ES256", value: digest.toString("base64url") }
      })
      expect(signed.status, signed.text).toBe(200)
      expect(Crypto.createVerify("sha256").update("payload").verify(
        { key: certificate.publicKey, dsaEncoding: "ieee-p1363" },
        Buffer.from(signed.json.value, "base64url")
      )).toBe(true)

      const secret = yield* call(emulator, "GET", "/secrets/Web-Cert/")
      expect(secret.json).toMatchObject({
        managed: true,
        contentType: "application/x-pkcs12",
        kid: bundle.json.kid,
        id: bundle.json.sid
      })
      expect(secret.json.value).toMatch(/^[A-Za-z0-9+/]+=*$/)
    }))

  it.effect("completes after the configured delay on the engine's clock; a secret read is enough to see it", () =>
    Effect.gen(function*() {
      const app = yield* delayedApp(60_000)
      expect((yield* send(app, "POST", "/certificates/slow/create", { body: { policy: ecPolicy("CN=slow") } })).status)
        .toBe(202)
      yield* TestClock.adjust(Duration.seconds(59))
      expect((yield* send(app, "GET", "/certificates/slow/pending")).json.status).toBe("inProgress")
      const pending = yield* send(app, "GET", "/certificates/slow")
      expect(pending.json.attributes.enabled).toBe(false)
      expect(pending.json).not.toHaveProperty("cer")
      expect(pending.json).not.toHaveProperty("kid")
      expectError(yield* send(app, "GET", "/secrets/slow/"), 404, "SecretNotFound")
      expect((yield* send(app, "GET", "/certificates")).json.value).toEqual([])
      expect((yield* send(app, "GET", "/certificates?includePending=true")).json.value).toHaveLength(1)

      yield* TestClock.adjust(Duration.seconds(1))
      const secret = yield* send(app, "GET", "/secrets/slow/")
      expect(secret.status, secret.text).toBe(200)
      expect(secret.json.managed).toBe(true)
      expect((yield* send(app, "GET", "/certificates/slow/pending")).json.status).toBe("completed")

      // Cancelled before its time, an issuance never completes.
      yield* send(app, "POST", "/certificates/stopped/create", { body: { policy: ecPolicy("CN=stopped") } })
      const cancelled = yield* send(app, "PATCH", "/certificates/stopped/pending", { body: { cancellation_requested: true } })
      expect(cancelled.json.status).toBe("cancelled")
      yield* TestClock.adjust(Duration.minutes(5))
      expectError(yield* send(app, "GET", "/secrets/stopped"), 404, "SecretNotFound")
      expect((yield* send(app, "GET", "/certificates/stopped/pending")).json.status).toBe("cancelled")
    }))

  it.effect("PEM secrets hold the PKCS#8 key then the certificate; outContentType converts PKCS#12 to PEM", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const pemBundle = yield* createSelf(
        emulator,
        "pem-cert",
        ecPolicy("CN=pem", { secret_props: { contentType: "application/x-pem-file" } })
      )
      expect(pemBundle.json.contentType).toBe("application/x-pem-file")
      const pem = (yield* call(emulator, "GET", "/secrets/pem-cert/")).json
      expect(pem.contentType).toBe("application/x-pem-file")
      expect(pem.value).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\n/)
      expect(pem.value.endsWith("-----END CERTIFICATE-----\n")).toBe(true)
      expect(new Crypto.X509Certificate(pem.value).checkPrivateKey(Crypto.createPrivateKey(pem.value))).toBe(true)

      const pfxBundle = yield* createSelf(emulator, "pfx-cert")
      const converted = (yield* call(emulator, "GET", "/secrets/pfx-cert/?outContentType=application/x-pem-file")).json
      expect(converted.contentType).toBe("application/x-pem-file")
      expect(new Crypto.X509Certificate(converted.value).raw.equals(Buffer.from(pfxBundle.json.cer, "base64"))).toBe(true)
      expect(new Crypto.X509Certificate(converted.value).checkPrivateKey(Crypto.createPrivateKey(converted.value))).toBe(true)
      expectError(yield* call(emulator, "GET", "/secrets/pfx-cert/?outContentType=text/plain"), 400, "BadParameter")
    }))

  it.effect("RSA certificates: key size and key operations from the key usage; non-exportable keys keep the key out of the secret", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const bundle = yield* createSelf(emulator, "rsa-cert", {
        key_props: { kty: "RSA", key_size: 2048, exportable: false },
        secret_props: { contentType: "application/x-pem-file" },
        x509_props: { subject: "CN=rsa" },
        issuer: { name: "Self" }
      })
      const key = (yield* call(emulator, "GET", "/keys/rsa-cert")).json
      expect(key.key.kty).toBe("RSA")
      expect(Buffer.from(key.key.n, "base64url").length).toBe(256)
      expect(key.key.key_ops).toEqual(["sign", "verify", "wrapKey", "unwrapKey", "encrypt", "decrypt"])
      const certificate = new Crypto.X509Certificate(der(bundle.json.cer))
      expect(certificate.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048)
      const secret = (yield* call(emulator, "GET", "/secrets/rsa-cert")).json.value as string
      expect(secret).not.toContain("PRIVATE KEY")
      expect(secret).toContain("BEGIN CERTIFICATE")
    }))

  it.effect("a second create is a new version; versions list the issued ones; reuse_key keeps the key", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const first = yield* createSelf(emulator, "renewed", ecPolicy("CN=renewed", { key_props: { kty: "EC", reuse_key: true } }))
      expect((yield* call(emulator, "POST", "/certificates/renewed/create", { body: {} })).status).toBe(202)
      const second = yield* call(emulator, "GET", "/certificates/renewed")
      expect(versionOf(second)).not.toBe(versionOf(first))
      const versions = yield* call(emulator, "GET", "/certificates/renewed/versions")
      expect(versions.json.value.map((item: { id: string }) => ID.exec(item.id)![2]).sort())
        .toEqual([versionOf(first), versionOf(second)].sort())
      const keyOf = (bundle: CallResult) => new Crypto.X509Certificate(der(bundle.json.cer)).publicKey.export({ format: "jwk" })
      expect(keyOf(second)).toEqual(keyOf(first))
      expect((yield* call(emulator, "GET", `/certificates/renewed/${versionOf(first)}`)).json.cer).toBe(first.json.cer)
      expect((yield* call(emulator, "GET", `/secrets/renewed/${versionOf(first)}`)).status).toBe(200)
    }))
})

describe("certificates: policy rules", () => {
  const refused: ReadonlyArray<readonly [string, Record<string, unknown>, string]> = [
    ["RSA size 1000", { key_props: { kty: "RSA", key_size: 1000 }, x509_props: { subject: "CN=x" } }, "RSA key size 1000"],
    ["unknown curve", { key_props: { kty: "EC", crv: "P-999" }, x509_props: { subject: "CN=x" } }, "curve"],
    ["P-256K", { key_props: { kty: "EC", crv: "P-256K" }, x509_props: { subject: "CN=x" } }, "P-256K"],
    ["oct", { key_props: { kty: "oct" }, x509_props: { subject: "CN=x" } }, "oct"],
    ["validity 0", { x509_props: { subject: "CN=x", validity_months: 0 } }, "validity_months"],
    ["validity 1201", { x509_props: { subject: "CN=x", validity_months: 1201 } }, "validity_months"],
    ["content type", { secret_props: { contentType: "text/plain" }, x509_props: { subject: "CN=x" } }, "content type"],
    [
      "two triggers",
      {
        x509_props: { subject: "CN=x" },
        lifetime_actions: [{ trigger: { lifetime_percentage: 80, days_before_expiry: 10 }, action: { action_type: "AutoRenew" } }]
      },
      "exactly one"
    ],
    [
      "percentage 100",
      { x509_props: { subject: "CN=x" }, lifetime_actions: [{ trigger: { lifetime_percentage: 100 }, action: { action_type: "AutoRenew" } }] },
      "lifetime_percentage"
    ],
    [
      "days beyond validity",
      {
        x509_props: { subject: "CN=x", validity_months: 1 },
        lifetime_actions: [{ trigger: { days_before_expiry: 28 }, action: { action_type: "EmailContacts" } }]
      },
      "days_before_expiry"
    ],
    [
      "unknown action",
      { x509_props: { subject: "CN=x" }, lifetime_actions: [{ trigger: { lifetime_percentage: 50 }, action: { action_type: "Renew" } }] },
      "action_type"
    ],
    ["bad subject", { x509_props: { subject: "not a name" } }, "subject"],
    ["unknown attribute", { x509_props: { subject: "XX=y" } }, "attribute type"],
    ["no subject nor SAN", { x509_props: {} }, "subject"],
    ["bad DNS name", { x509_props: { subject: "CN=x", sans: { dns_names: ["bad name"] } } }, "dns_names"],
    ["bad key usage", { x509_props: { subject: "CN=x", key_usage: ["everything"] } }, "key usage"],
    ["bad EKU", { x509_props: { subject: "CN=x", ekus: ["serverAuth"] } }, "ekus"],
    ["exportable HSM", { key_props: { kty: "RSA-HSM", exportable: true }, x509_props: { subject: "CN=x" } }, "exportable"],
    ["missing issuer object", { x509_props: { subject: "CN=x" }, issuer: { name: "NoSuchIssuer" } }, "issuer"]
  ]

  it.effect("every invalid policy is a 400 BadParameter and stores nothing", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      for (const [label, policy, mention] of refused) {
        const result = yield* call(emulator, "POST", "/certificates/refused/create", { body: { policy } })
        expectError(result, 400, "BadParameter")
        expect(result.json.error.message, label).toContain(mention)
      }
      expectError(yield* call(emulator, "POST", "/certificates/refused/create", { body: {} }), 400, "BadParameter")
      expectError(yield* call(emulator, "GET", "/certificates/refused"), 404, "CertificateNotFound")
      expect((yield* call(emulator, "GET", "/certificates?includePending=true")).json.value).toEqual([])
      expectError(yield* call(emulator, "GET", "/keys/refused"), 404, "KeyNotFound")
      expectError(yield* call(emulator, "GET", "/secrets/refused"), 404, "SecretNotFound")
    }))

  it.effect("policy get and partial update; an invalid update leaves the policy as it was", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* createSelf(emulator, "policy-cert")
      const updated = yield* call(emulator, "PATCH", "/certificates/policy-cert/policy", {
        body: { x509_props: { validity_months: 24 }, lifetime_actions: [{ trigger: { days_before_expiry: 30 }, action: { action_type: "EmailContacts" } }] }
      })
      expect(updated.status, updated.text).toBe(200)
      expect(updated.json).toMatchObject({
        key_props: { kty: "EC", crv: "P-256" },
        x509_props: { subject: "CN=policy-cert", validity_months: 24, sans: { dns_names: ["localhost"] } },
        lifetime_actions: [{ trigger: { days_before_expiry: 30 }, action: { action_type: "EmailContacts" } }]
      })
      expectError(
        yield* call(emulator, "PATCH", "/certificates/policy-cert/policy", { body: { key_props: { kty: "RSA", key_size: 1000 } } }),
        400,
        "BadParameter"
      )
      expect((yield* call(emulator, "GET", "/certificates/policy-cert/policy")).json).toEqual(updated.json)
      expectError(yield* call(emulator, "GET", "/certificates/missing/policy"), 404, "CertificateNotFound")
    }))
})

describe("certificates: Unknown issuer, merge, and the pending operation", () => {
  it.effect("stays inProgress with a CSR until a CA-signed chain whose leaf carries the pending key is merged (201)", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const created = yield* call(emulator, "POST", "/certificates/manual/create", {
        body: { policy: { key_props: { kty: "EC" }, x509_props: { subject: "CN=manual.example.com" }, issuer: { name: "Unknown" } } }
      })
      expect(created.json.status_details).toContain("Merge")
      const pending = yield* call(emulator, "GET", "/certificates/manual/pending")
      expect(pending.json.status).toBe("inProgress")
      const pendingVersion = yield* call(emulator, "GET", "/certificates/manual")
      expect(pendingVersion.json.policy.lifetime_actions[0].action.action_type).toBe("EmailContacts")

      const ca = yield* Effect.promise(() => makeCa())
      const stranger = yield* Effect.promise(() => selfSigned("EC", "CN=stranger"))
      const mismatch = yield* call(emulator, "POST", "/certificates/manual/pending/merge", {
        body: { x5c: [Buffer.from(stranger.der).toString("base64")] }
      })
      expectError(mismatch, 400, "BadParameter")
      expect(mismatch.json.error.message).toBe("Public key from x509 certificate and key of this instance doesn't match")
      expect((yield* call(emulator, "GET", "/certificates/manual/pending")).json.status).toBe("inProgress")
      expectError(yield* call(emulator, "GET", "/secrets/manual"), 404, "SecretNotFound")

      const leaf = yield* Effect.promise(() => signCsr(ca, der(pending.json.csr)))
      const merged = yield* call(emulator, "POST", "/certificates/manual/pending/merge", {
        body: { x5c: [Buffer.from(ca.der).toString("base64"), Buffer.from(leaf).toString("base64")], tags: { via: "merge" } }
      })
      expect(merged.status, merged.text).toBe(201)
      expect(merged.json.cer).toBe(Buffer.from(leaf).toString("base64"))
      expect(merged.json.tags).toEqual({ via: "merge" })
      expect(versionOf(merged)).toBe(versionOf(pendingVersion))
      expect((yield* call(emulator, "GET", "/certificates/manual/pending")).json.status).toBe("completed")
      const pem = (yield* call(emulator, "GET", "/secrets/manual?outContentType=application/x-pem-file")).json.value as string
      const certificates = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)!
      expect(certificates).toEqual([pemOf(leaf), pemOf(ca.der)])
      expect(new Crypto.X509Certificate(certificates[0]!).verify(new Crypto.X509Certificate(certificates[1]!).publicKey)).toBe(true)
      expectError(
        yield* call(emulator, "POST", "/certificates/manual/pending/merge", { body: { x5c: [Buffer.from(leaf).toString("base64")] } }),
        403,
        "Forbidden"
      )
    }))

  it.effect("cancel (400 once it is not in progress), delete of the operation, a new create blocked while in progress", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const body = { policy: { key_props: { kty: "EC" }, x509_props: { subject: "CN=op" }, issuer: { name: "Unknown" } } }
      expect((yield* call(emulator, "POST", "/certificates/op/create", { body })).status).toBe(202)
      const conflict = yield* call(emulator, "POST", "/certificates/op/create", { body })
      expectError(conflict, 409, "Conflict")
      expect(conflict.json.error.message).toContain("inProgress")

      const cancelled = yield* call(emulator, "PATCH", "/certificates/op/pending", { body: { cancellation_requested: true } })
      expect(cancelled.json).toMatchObject({ cancellation_requested: true, status: "cancelled" })
      expectError(
        yield* call(emulator, "PATCH", "/certificates/op/pending", { body: { cancellation_requested: true } }),
        400,
        "BadParameter"
      )
      const deleted = yield* call(emulator, "DELETE", "/certificates/op/pending")
      expect(deleted.json.status).toBe("cancelled")
      const gone = yield* call(emulator, "GET", "/certificates/op/pending")
      expectError(gone, 404, "PendingCertificateNotFound")
      expect(gone.json.error.message).toBe("Pending certificate not found: op")
      // The version the operation left pending stays readable until a new create or import replaces it.
      const left = yield* call(emulator, "GET", "/certificates/op")
      expect(left.json.attributes.enabled).toBe(false)
      expect(left.json).not.toHaveProperty("cer")
      expect((yield* call(emulator, "POST", "/certificates/op/create", { body: { policy: ecPolicy("CN=op") } })).status).toBe(202)
      const issued = yield* call(emulator, "GET", "/certificates/op")
      expect(versionOf(issued)).not.toBe(versionOf(left))
      expect(issued.json.cer).toBeDefined()
      expectError(yield* call(emulator, "GET", `/certificates/op/${versionOf(left)}`), 404, "CertificateNotFound")
    }))

  it.effect("an issuer object's certificate waits for its provider: merge is forbidden while in progress", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      expect((yield* call(emulator, "PUT", "/certificates/issuers/Provider1", { body: { provider: "Test" } })).status).toBe(200)
      const created = yield* call(emulator, "POST", "/certificates/by-issuer/create", {
        body: { policy: { key_props: { kty: "EC" }, x509_props: { subject: "CN=x" }, issuer: { name: "provider1", cty: "OV-SSL" } } }
      })
      expect(created.json).toMatchObject({ status: "inProgress", issuer: { name: "provider1", cty: "OV-SSL" } })
      const csr = yield* call(emulator, "GET", "/certificates/by-issuer/pending")
      const leaf = yield* Effect.promise(async () => signCsr(await makeCa(), der(csr.json.csr)))
      expectError(
        yield* call(emulator, "POST", "/certificates/by-issuer/pending/merge", { body: { x5c: [Buffer.from(leaf).toString("base64")] } }),
        403,
        "Forbidden"
      )
    }))
})

describe("certificates: import", () => {
  it.effect("imports PEM (key after the certificate, a chain) and PKCS#12 with a password; the policy follows the certificate", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const ec = yield* Effect.promise(() => selfSigned("EC", "CN=imported-ec", ["imported.example.com"]))
      const ca = yield* Effect.promise(() => makeCa())
      const pem = yield* call(emulator, "POST", "/certificates/pem-import/import", {
        body: { value: `${ec.certPem}\n${pemOf(ca.der)}${ec.keyPem}`, tags: { source: "pem" } }
      })
      expect(pem.status, pem.text).toBe(200)
      expect(pem.json.cer).toBe(Buffer.from(ec.der).toString("base64"))
      expect(pem.json.x5t).toBe(sha1Base64Url(ec.der))
      expect(pem.json.contentType).toBe("application/x-pem-file")
      expect(pem.json.policy).toMatchObject({
        key_props: { kty: "EC", crv: "P-256" },
        x509_props: { subject: "CN=imported-ec", sans: { dns_names: ["imported.example.com"] }, key_usage: ["digitalSignature"] },
        issuer: { name: "Unknown" }
      })
      const secret = (yield* call(emulator, "GET", "/secrets/pem-import")).json.value as string
      expect(Crypto.createPrivateKey(secret).export({ format: "jwk" })).toEqual(ec.privateKey.export({ format: "jwk" }))
      expect(secret.match(/BEGIN CERTIFICATE/g)).toHaveLength(2)

      const rsa = yield* Effect.promise(() => selfSigned("RSA", "CN=imported-rsa"))
      const pfx = yield* call(emulator, "POST", "/certificates/pfx-import/import", {
        body: { value: forgePfx(rsa, "pa55word"), pwd: "pa55word", policy: { secret_props: { contentType: "application/x-pkcs12" } } }
      })
      expect(pfx.status, pfx.text).toBe(200)
      expect(new Crypto.X509Certificate(der(pfx.json.cer)).subject).toBe("CN=imported-rsa")
      expect(pfx.json.policy.key_props).toMatchObject({ kty: "RSA", key_size: 2048 })
      const key = (yield* call(emulator, "GET", "/keys/pfx-import")).json
      expect(Buffer.from(key.key.n, "base64url").equals(Buffer.from(rsa.privateKey.export({ format: "jwk" }).n!, "base64url")))
        .toBe(true)

      // A certificate's own secret (PKCS#12 without a password) imports into another vault as is.
      const exported = (yield* call(emulator, "GET", "/secrets/pfx-import")).json.value as string
      const other = yield* Emulator.make()
      const moved = yield* call(other, "POST", "/certificates/moved/import", { body: { value: exported } })
      expect(moved.status, moved.text).toBe(200)
      expect(moved.json.cer).toBe(pfx.json.cer)
      expect(moved.json.contentType).toBe("application/x-pkcs12")
    }))

  it.effect("refuses malformed content, a wrong password, a key that is not the certificate's and PKCS#1 keys; nothing is stored", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const rsa = yield* Effect.promise(() => selfSigned("RSA", "CN=rsa"))
      const other = yield* Effect.promise(() => selfSigned("EC", "CN=other"))
      const pkcs1 = rsa.privateKey.export({ format: "pem", type: "pkcs1" }).toString()
      const cases: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
        ["garbage", { value: "definitely not a certificate!" }],
        ["truncated PFX", { value: forgePfx(rsa, "pw").slice(0, 200), pwd: "pw" }],
        ["wrong password", { value: forgePfx(rsa, "right-password"), pwd: "wrong-password" }],
        ["key mismatch", { value: `${rsa.certPem}${other.keyPem}` }],
        ["PKCS#1 key", { value: `${rsa.certPem}${pkcs1}` }],
        ["no key", { value: rsa.certPem }],
        ["no certificate", { value: rsa.keyPem }]
      ]
      for (const [label, body] of cases) {
        const result = yield* call(emulator, "POST", "/certificates/bad-import/import", { body })
        expectError(result, 400, "BadParameter")
        expect(result.text, label).not.toContain("right-password")
        expect(result.text, label).not.toContain("wrong-password")
        expect(result.text, label).not.toContain("MII")
      }
      expectError(yield* call(emulator, "GET", "/certificates/bad-import"), 404, "CertificateNotFound")
      expectError(yield* call(emulator, "GET", "/keys/bad-import"), 404, "KeyNotFound")
      expectError(yield* call(emulator, "GET", "/secrets/bad-import"), 404, "SecretNotFound")
    }))
})

describe("certificates: the managed key and secret", () => {
  it.effect("are refused every change of their own (403 ...ManagedByKeyVault) and follow the certificate's enabled state", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* createSelf(emulator, "owned")
      expectError(yield* call(emulator, "PUT", "/secrets/owned", { body: { value: "x" } }), 403, "Forbidden", "SecretManagedByKeyVault")
      expectError(yield* call(emulator, "PATCH", "/secrets/owned/", { body: { tags: {} } }), 403, "Forbidden", "SecretManagedByKeyVault")
      expectError(yield* call(emulator, "DELETE", "/secrets/owned"), 403, "Forbidden", "SecretManagedByKeyVault")
      expectError(yield* call(emulator, "POST", "/secrets/owned/backup"), 403, "Forbidden", "SecretManagedByKeyVault")
      expectError(yield* call(emulator, "DELETE", "/keys/owned"), 403, "Forbidden", "KeyManagedByKeyVault")
      expectError(yield* call(emulator, "PATCH", "/keys/owned/", { body: { tags: {} } }), 403, "Forbidden", "KeyManagedByKeyVault")
      expectError(yield* call(emulator, "POST", "/keys/owned/create", { body: { kty: "EC" } }), 403, "Forbidden", "KeyManagedByKeyVault")
      expectError(yield* call(emulator, "POST", "/keys/owned/backup"), 403, "Forbidden", "KeyManagedByKeyVault")

      const disabled = yield* call(emulator, "PATCH", "/certificates/owned/", { body: { attributes: { enabled: false }, tags: { a: "b" } } })
      expect(disabled.json).toMatchObject({ attributes: { enabled: false }, tags: { a: "b" } })
      expectError(yield* call(emulator, "GET", "/secrets/owned"), 403, "Forbidden", "SecretDisabled")
      expect((yield* call(emulator, "GET", "/keys/owned")).json.attributes.enabled).toBe(false)
    }))

  it.effect("a name held by a plain key or secret (live or deleted) cannot become a certificate (409)", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* call(emulator, "PUT", "/secrets/taken", { body: { value: "v" } })
      expectError(yield* call(emulator, "POST", "/certificates/taken/create", { body: { policy: ecPolicy("CN=t") } }), 409, "Conflict")
      yield* call(emulator, "POST", "/keys/taken-key/create", { body: { kty: "EC" } })
      yield* call(emulator, "DELETE", "/keys/taken-key")
      expectError(yield* call(emulator, "POST", "/certificates/taken-key/create", { body: { policy: ecPolicy("CN=t") } }), 409, "Conflict")
    }))
})

describe("certificates: soft delete, recover, purge, backup and restore", () => {
  it.effect("delete moves certificate, key and secret to their bins; recover brings all three back; purge removes all three", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const bundle = yield* createSelf(emulator, "binned")
      const deleted = yield* call(emulator, "DELETE", "/certificates/binned")
      expect(deleted.json).toMatchObject({
        recoveryId: "https://myvault.vault.azure.net/deletedcertificates/binned",
        id: bundle.json.id,
        cer: bundle.json.cer
      })
      expect(deleted.json.scheduledPurgeDate - deleted.json.deletedDate).toBe(90 * 24 * 3600)
      expectError(yield* call(emulator, "GET", "/certificates/binned"), 404, "CertificateNotFound")
      expect((yield* call(emulator, "GET", "/deletedsecrets/binned")).json.managed).toBe(true)
      expect((yield* call(emulator, "GET", "/deletedkeys/binned")).json.managed).toBe(true)
      expect((yield* call(emulator, "GET", "/deletedcertificates")).json.value.map((d: { id: string }) => d.id))
        .toEqual(["https://myvault.vault.azure.net/certificates/binned"])
      expectError(yield* call(emulator, "DELETE", "/deletedsecrets/binned"), 403, "Forbidden", "SecretManagedByKeyVault")
      expectError(yield* call(emulator, "POST", "/deletedkeys/binned/recover"), 403, "Forbidden", "KeyManagedByKeyVault")
      expectError(yield* call(emulator, "POST", "/certificates/binned/create", { body: { policy: ecPolicy("CN=b") } }), 409, "Conflict", "ObjectIsDeletedButRecoverable")

      expect((yield* call(emulator, "POST", "/deletedcertificates/binned/recover")).json.cer).toBe(bundle.json.cer)
      expect((yield* call(emulator, "GET", "/secrets/binned")).status).toBe(200)
      expect((yield* call(emulator, "GET", "/keys/binned")).status).toBe(200)

      yield* call(emulator, "DELETE", "/certificates/binned")
      expect((yield* call(emulator, "DELETE", "/deletedcertificates/binned")).status).toBe(204)
      const missing = yield* call(emulator, "GET", "/deletedcertificates/binned")
      expectError(missing, 404, "CertificateNotFound")
      expect(missing.json.error.message).toBe("Deleted Certificate not found: binned")
      expectError(yield* call(emulator, "GET", "/deletedsecrets/binned"), 404, "SecretNotFound")
      expectError(yield* call(emulator, "GET", "/deletedkeys/binned"), 404, "KeyNotFound")
      expect((yield* call(emulator, "POST", "/certificates/binned/create", { body: { policy: ecPolicy("CN=b") } })).status).toBe(202)
    }))

  it.effect("a backup restores certificate, policy, key and secret into a fresh vault; restore refuses a taken name and a tampered blob", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const bundle = yield* createSelf(emulator, "backed-up")
      const backup = yield* call(emulator, "POST", "/certificates/backed-up/backup")
      expect(backup.json.value).toMatch(/^[A-Za-z0-9_-]+$/)
      expectError(yield* call(emulator, "POST", "/certificates/restore", { body: { value: backup.json.value } }), 409, "Conflict")

      const fresh = yield* Emulator.make()
      const restored = yield* call(fresh, "POST", "/certificates/restore", { body: { value: backup.json.value } })
      expect(restored.status, restored.text).toBe(200)
      expect(restored.json).toMatchObject({ id: bundle.json.id, cer: bundle.json.cer, kid: bundle.json.kid, policy: bundle.json.policy })
      const secret = yield* call(fresh, "GET", "/secrets/backed-up")
      expect(secret.json.value).toBe((yield* call(emulator, "GET", "/secrets/backed-up")).json.value)
      const signed = yield* call(fresh, "POST", "/keys/backed-up//sign", {
        body: { alg: "ES256", value: Crypto.createHash("sha256").update("x").digest().toString("base64url") }
      })
      expect(signed.status, signed.text).toBe(200)

      const blob = Buffer.from(backup.json.value, "base64url")
      blob[blob.length - 10] = blob[blob.length - 10]! ^ 0x01
      const tampered = yield* call(Effect.runSync(Emulator.make()), "POST", "/certificates/restore", {
        body: { value: blob.toString("base64url") }
      })
      expectError(tampered, 400, "BadParameter")
    }))
})

describe("certificates: lists, contacts, issuers, journal", () => {
  it.effect("lists page with nextLink and show pending-only certificates with includePending", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      for (const name of ["c-1", "c-2", "c-3"]) yield* createSelf(emulator, name)
      yield* call(emulator, "POST", "/certificates/c-0/create", {
        body: { policy: { key_props: { kty: "EC" }, x509_props: { subject: "CN=p" }, issuer: { name: "Unknown" } } }
      })
      const first = yield* call(emulator, "GET", "/certificates?maxresults=2")
      expect(first.json.value.map((i: { id: string }) => i.id.split("/").pop())).toEqual(["c-1", "c-2"])
      const second = yield* call(emulator, "GET", first.json.nextLink, { apiVersion: null })
      expect(second.json.value.map((i: { id: string }) => i.id.split("/").pop())).toEqual(["c-3"])
      expect(second.json.nextLink).toBeNull()
      const all = yield* call(emulator, "GET", "/certificates?includePending=true")
      expect(all.json.value.map((i: { id: string }) => i.id.split("/").pop())).toEqual(["c-0", "c-1", "c-2", "c-3"])
      expect(all.json.value[0]).not.toHaveProperty("x5t")
      expectError(yield* call(emulator, "GET", "/certificates?includePending=maybe"), 400, "BadParameter")
    }))

  it.effect("contacts: 404 until set, validated, deleted with the answer of what was there", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      expectError(yield* call(emulator, "GET", "/certificates/contacts"), 404, "ContactsNotFound")
      expectError(yield* call(emulator, "PUT", "/certificates/contacts", { body: { contacts: [{ email: "not-an-email" }] } }), 400, "BadParameter")
      const contacts = [{ email: "a@example.com", name: "A", phone: "111" }, { email: "b@example.com" }]
      const set = yield* call(emulator, "PUT", "/certificates/contacts", { body: { contacts } })
      expect(set.json).toEqual({ id: "https://myvault.vault.azure.net/certificates/contacts", contacts })
      expect((yield* call(emulator, "GET", "/certificates/contacts")).json.contacts).toEqual(contacts)
      expect((yield* call(emulator, "DELETE", "/certificates/contacts")).json.contacts).toEqual(contacts)
      expectError(yield* call(emulator, "DELETE", "/certificates/contacts"), 404, "ContactsNotFound")
    }))

  it.effect("issuers: set, get (never the password), update, list (id and provider), delete", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      expectError(yield* call(emulator, "PUT", "/certificates/issuers/iss1", { body: { credentials: { account_id: "a" } } }), 400, "BadParameter")
      const set = yield* call(emulator, "PUT", "/certificates/issuers/iss1", {
        body: {
          provider: "Test",
          credentials: { account_id: "acct", pwd: "issuer-s3cret" },
          org_details: { id: "org", admin_details: [{ first_name: "Jo", last_name: "Doe", email: "jo@example.com", phone: "1" }] }
        }
      })
      expect(set.json).toMatchObject({
        id: "https://myvault.vault.azure.net/certificates/issuers/iss1",
        provider: "Test",
        credentials: { account_id: "acct" },
        org_details: { id: "org", admin_details: [{ first_name: "Jo", email: "jo@example.com" }] },
        attributes: { enabled: true }
      })
      expect(set.text).not.toContain("issuer-s3cret")
      const updated = yield* call(emulator, "PATCH", "/certificates/issuers/iss1", { body: { credentials: { account_id: "acct2" } } })
      expect(updated.json).toMatchObject({ provider: "Test", credentials: { account_id: "acct2" }, org_details: { id: "org" } })
      yield* call(emulator, "PUT", "/certificates/issuers/iss0", { body: { provider: "DigiCert" } })
      expect((yield* call(emulator, "GET", "/certificates/issuers")).json.value).toEqual([
        { id: "https://myvault.vault.azure.net/certificates/issuers/iss0", provider: "DigiCert" },
        { id: "https://myvault.vault.azure.net/certificates/issuers/iss1", provider: "Test" }
      ])
      expect((yield* call(emulator, "DELETE", "/certificates/issuers/iss1")).json.provider).toBe("Test")
      const gone = yield* call(emulator, "GET", "/certificates/issuers/iss1")
      expectError(gone, 404, "CertificateIssuerNotFound")
      expect(gone.json.error.message).toBe("Issuer not found")
      expectError(yield* call(emulator, "PATCH", "/certificates/issuers/iss1", { body: { provider: "x" } }), 404, "CertificateIssuerNotFound")
    }))

  it.effect("every certificate route has its operation name in the journal vocabulary", () =>
    Effect.sync(() => {
      const named: ReadonlyArray<readonly [string, string, string]> = [
        ["POST", "/certificates/c/create", "createCertificate"],
        ["POST", "/certificates/c/import", "importCertificate"],
        ["GET", "/certificates/c/", "getCertificate"],
        ["GET", `/certificates/c/${"a".repeat(32)}`, "getCertificate"],
        ["PATCH", "/certificates/c/", "updateCertificate"],
        ["DELETE", "/certificates/c", "deleteCertificate"],
        ["GET", "/certificates", "listCertificates"],
        ["GET", "/certificates/c/versions", "listCertificateVersions"],
        ["POST", "/certificates/c/backup", "backupCertificate"],
        ["POST", "/certificates/restore", "restoreCertificate"],
        ["GET", "/certificates/c/policy", "getCertificatePolicy"],
        ["PATCH", "/certificates/c/policy", "updateCertificatePolicy"],
        ["GET", "/certificates/c/pending", "getCertificateOperation"],
        ["PATCH", "/certificates/c/pending", "updateCertificateOperation"],
        ["DELETE", "/certificates/c/pending", "deleteCertificateOperation"],
        ["POST", "/certificates/c/pending/merge", "mergeCertificate"],
        ["GET", "/certificates/contacts", "getCertificateContacts"],
        ["PUT", "/certificates/contacts", "setCertificateContacts"],
        ["DELETE", "/certificates/contacts", "deleteCertificateContacts"],
        ["GET", "/certificates/issuers", "listCertificateIssuers"],
        ["GET", "/certificates/issuers/i", "getCertificateIssuer"],
        ["PUT", "/certificates/issuers/i", "setCertificateIssuer"],
        ["PATCH", "/certificates/issuers/i", "updateCertificateIssuer"],
        ["DELETE", "/certificates/issuers/i", "deleteCertificateIssuer"],
        ["GET", "/deletedcertificates", "listDeletedCertificates"],
        ["GET", "/deletedcertificates/c", "getDeletedCertificate"],
        ["DELETE", "/deletedcertificates/c", "purgeDeletedCertificate"],
        ["POST", "/deletedcertificates/c/recover", "recoverDeletedCertificate"]
      ]
      for (const [method, path, operation] of named) {
        expect(Operation.classify(method, path), `${method} ${path}`).toMatchObject({ operation, family: "certificate" })
      }
      expect(Operation.classify("GET", "/certificates/issuers/i").name).toBe("i")
      expect(Operation.classify("GET", "/certificates/c/create").operation).toBe("unknown")
    }))

  it.effect("the journal records certificate requests by operation and name", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* createSelf(emulator, "journaled")
      const entries = yield* emulator.journal.query({ name: "journaled" })
      expect(entries.map((e) => `${e.operation}:${e.status}`)).toEqual(["createCertificate:202", "getCertificate:200"])
    }))
})
