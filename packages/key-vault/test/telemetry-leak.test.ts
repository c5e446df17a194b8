/**
 * Nothing secret leaves through telemetry. The client runs against the in-process emulator with the OpenTelemetry SDK
 * wired by `telemetry/OpenTelemetry` to in-memory span, metric and log exporters, over a scripted workload that calls
 * every operation of Secrets, Keys, Cryptography and Certificates, failures included: throttling and 5xx injected by
 * the emulator (retried, and past the retries), a connection reset, decode failures (a body that is not JSON, a
 * truncated body), bad input refused before any request, the vault's refusals, and the circuit breaker opening. The
 * secret values, private JWK members, PEM and PKCS#12 private keys, the PFX and issuer passwords, plaintexts and the
 * bearer token are distinctive strings; none of them, nor their base64 / base64url / hex forms, may appear in any
 * exported span (name, attribute, event, status, link), metric (name, description, attribute), log record (body,
 * attribute, severity) or in any error the workload met. The exports are checked to be non-empty first, so the test
 * cannot pass on nothing.
 */
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import * as EmulatorHttp from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import { describe, expect, it } from "@effect/vitest"
import { InMemoryLogRecordExporter, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs"
import { MetricReader } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import forge from "node-forge"
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { Certificates } from "../src/certificates/Certificates.js"
import type { CertificatePolicyInput } from "../src/certificates/CertificatePolicy.js"
import { Cryptography } from "../src/crypto/Cryptography.js"
import * as Jwk from "../src/keys/Jwk.js"
import { Keys } from "../src/keys/Keys.js"
import * as KeyVault from "../src/KeyVault.js"
import { Secrets } from "../src/secrets/Secrets.js"
import * as OpenTelemetry from "../src/telemetry/OpenTelemetry.js"

const VAULT = "https://leaky.vault.azure.net"

// --- the secrets, each with a marker no other string in the run contains --------------------------------------

const SECRET_VALUE = "sv-QUOKKA-7f3a91-do-not-log"
const SECRET_VALUE_2 = "sv-WOMBAT-22c8e4-do-not-log"
const BEARER = "bearer-PLATYPUS-0b1d55-do-not-log"
const PFX_PASSWORD = "pfx-NUMBAT-9e04c2-do-not-log"
const ISSUER_PASSWORD = "issuer-DINGO-5a7b13-do-not-log"
const ISSUER_PASSWORD_2 = "issuer-EMU-31f0aa-do-not-log"
const PLAINTEXT = new TextEncoder().encode("pt-BILBY-61d2e0-do-not-log")
const WRAPPED_KEY = new Uint8Array(randomBytes(32))

/** An RSA key to import, with its private members (d, p, q, dp, dq, qi) as base64url strings. */
const rsaJwk = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" })

/** A self-signed RSA certificate with its PKCS#8 key (PEM) and a password-protected PKCS#12 of both (node-forge). */
const selfSigned = (commonName: string) => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 })
  const keyPem = privateKey.export({ format: "pem", type: "pkcs8" }).toString()
  const certificate = forge.pki.createCertificate()
  certificate.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ format: "pem", type: "spki" }).toString())
  certificate.serialNumber = "0a1b2c"
  certificate.validity.notBefore = new Date("2025-01-01T00:00:00Z")
  certificate.validity.notAfter = new Date("2035-01-01T00:00:00Z")
  certificate.setSubject([{ name: "commonName", value: commonName }])
  certificate.setIssuer([{ name: "commonName", value: commonName }])
  const forgeKey = forge.pki.privateKeyFromPem(keyPem)
  certificate.sign(forgeKey, forge.md.sha256.create())
  const certificatePem = forge.pki.certificateToPem(certificate)
  const asn1 = forge.pkcs12.toPkcs12Asn1(forgeKey, [certificate], PFX_PASSWORD, { algorithm: "3des" })
  const pfx = new Uint8Array(Buffer.from(forge.asn1.toDer(asn1).getBytes(), "binary"))
  return { keyPem, certificatePem, pfx }
}

const pemCertificate = selfSigned("pem.leak.example")
const pfxCertificate = selfSigned("pfx.leak.example")
// Merged into a pending operation whose key it does not match: the vault's refusal is part of the workload.
const strayCertificate = await x509.X509CertificateGenerator.createSelfSigned({
  serialNumber: "0c0d",
  name: "CN=stray.leak.example",
  notBefore: new Date("2025-01-01T00:00:00Z"),
  notAfter: new Date("2030-01-01T00:00:00Z"),
  signingAlgorithm: { name: "ECDSA", hash: "SHA-256", namedCurve: "P-256" },
  keys: await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])
}, globalThis.crypto)

// --- what must never appear ---------------------------------------------------------------------------------------

const bytesOf = (s: string): Buffer => Buffer.from(s, "utf8")
const pemBody = (pem: string): string => pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "")

/** Every form a secret could take in text: as is, base64, base64url, hex; long ones also as 24-character slices. */
const forms = (label: string, secret: string | Uint8Array): ReadonlyArray<readonly [string, string]> => {
  const bytes = typeof secret === "string" ? bytesOf(secret) : Buffer.from(secret)
  const encoded = [
    ...(typeof secret === "string" ? [secret] : []),
    bytes.toString("base64"),
    bytes.toString("base64url"),
    bytes.toString("hex")
  ]
  const out: Array<readonly [string, string]> = []
  for (const text of encoded) {
    if (text.length <= 48) out.push([label, text])
    else for (const at of [0, Math.floor(text.length / 2), text.length - 24]) out.push([label, text.slice(at, at + 24)])
  }
  return out
}

const privateJwkMembers = (["d", "p", "q", "dp", "dq", "qi"] as const).flatMap((member) => {
  const value = rsaJwk[member]!
  // The JWK's own base64url text, and the bytes it stands for in every form.
  return [...forms(`jwk.${member}`, value), ...forms(`jwk.${member} bytes`, Buffer.from(value, "base64url"))]
})

const staticNeedles: ReadonlyArray<readonly [string, string]> = [
  ...forms("secret value", SECRET_VALUE),
  ...forms("secret value 2", SECRET_VALUE_2),
  ...forms("bearer token", BEARER),
  ...forms("PFX password", PFX_PASSWORD),
  ...forms("issuer password", ISSUER_PASSWORD),
  ...forms("issuer password 2", ISSUER_PASSWORD_2),
  ...forms("plaintext", PLAINTEXT),
  ...forms("key to wrap", WRAPPED_KEY),
  ...privateJwkMembers,
  ...forms("PEM private key", pemBody(pemCertificate.keyPem)),
  ...forms("PEM private key bytes", Buffer.from(pemBody(pemCertificate.keyPem), "base64")),
  ...forms("PFX private key", Buffer.from(pemBody(pfxCertificate.keyPem), "base64")),
  ...forms("PFX file", pfxCertificate.pfx)
]

// --- the in-memory OpenTelemetry pipeline ---------------------------------------------------------------------------

/** A pull reader: metrics are collected when the test asks, nothing runs on a timer. */
class PullMetricReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve()
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve()
  }
}

const spans = new InMemorySpanExporter()
const logs = new InMemoryLogRecordExporter()
const metricReader = new PullMetricReader()

const Telemetry = OpenTelemetry.layer({
  serviceName: "telemetry-leak-test",
  spanProcessor: new SimpleSpanProcessor(spans),
  metricReader,
  logRecordProcessor: new SimpleLogRecordProcessor({ exporter: logs }),
  replaceDefaultLogger: true,
  minimumLogLevel: LogLevel.All
})

const Client = KeyVault.layer({
  vaultUrl: VAULT,
  cache: { ttl: "1 hour" },
  resilience: {
    retry: { maxRetries: 2, baseDelay: "1 millis", maxDelay: "4 millis", maxRetryAfter: "20 millis" },
    circuitBreaker: { failureThreshold: 4, resetTimeout: "1 hour" },
    rateLimiter: false
  }
}).pipe(
  Layer.provideMerge(Layer.merge(EmulatorHttp.layerFresh({ token: BEARER }), TokenProvider.layerStatic(BEARER)))
)

// --- the workload -------------------------------------------------------------------------------------------------

const SELF_POLICY: CertificatePolicyInput = { issuerName: "Self", subject: "CN=self.leak.example", keyType: "RSA", keySize: 2048 }
const POLL = { pollSchedule: Schedule.spaced("1 millis").pipe(Schedule.intersect(Schedule.recurs(50))) }
const IMPORTED = { name: "leak-imported" }
const EC = { name: "leak-ec" }
const digest = (data: Uint8Array): Uint8Array => new Uint8Array(createHash("sha256").update(data).digest())

const workload = Effect.gen(function*() {
  const emulator = yield* EmulatorHttp.EmulatorService
  const secrets = yield* Secrets
  const keys = yield* Keys
  const cryptography = yield* Cryptography
  const certificates = yield* Certificates
  /** Every failure met, for the error-message check; values the vault sent back that are secret, for the needles. */
  const failures: Array<Cause.Cause<unknown>> = []
  const received: Array<readonly [string, string]> = []
  const expectFailure = <A, E, R>(label: string, effect: Effect.Effect<A, E, R>) =>
    Effect.flatMap(Effect.exit(effect), (exit) =>
      Exit.isFailure(exit)
        ? Effect.sync(() => void failures.push(exit.cause))
        : Effect.dieMessage(`${label}: expected a failure`))
  const drain = <A, E, R>(stream: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(stream), Chunk.size)
  const fault = (rule: Parameters<typeof emulator.faults.add>[0]) => Effect.orDie(emulator.faults.add(rule))

  // Secrets: every operation, a throttled read that is retried, 5xx on a write (not retried), the cache hit and refresh.
  yield* fault({ operation: "getSecret", name: "leak-secret", times: 1, fault: { _tag: "Status", status: 429, retryAfter: { _tag: "RetryAfterMs", millis: 2 } } })
  yield* fault({ operation: "setSecret", name: "leak-secret", times: 1, fault: { _tag: "Status", status: 503 } })
  // A write that met a 5xx is not retried blindly: it fails, and the application writes again.
  yield* expectFailure("write on 503", secrets.set("leak-secret", Redacted.make(SECRET_VALUE)))
  yield* secrets.set("leak-secret", Redacted.make(SECRET_VALUE), { contentType: "text/plain", tags: { team: "leak" } })
  const first = yield* secrets.set("leak-secret", SECRET_VALUE_2)
  expect(Redacted.value((yield* secrets.get("leak-secret")).value)).toBe(SECRET_VALUE_2)
  yield* secrets.get("leak-secret") // a cache hit
  yield* secrets.get("leak-secret", { version: first.properties.version! })
  yield* secrets.refresh("leak-secret")
  yield* secrets.invalidate("leak-secret")
  yield* secrets.updateProperties("leak-secret", { tags: { team: "leak", rotated: "yes" } })
  expect(yield* drain(secrets.listProperties())).toBeGreaterThan(0)
  expect(yield* drain(secrets.listVersions("leak-secret"))).toBe(2)
  const secretBackup = yield* secrets.backup("leak-secret")
  yield* secrets.delete("leak-secret")
  yield* secrets.getDeleted("leak-secret")
  yield* drain(secrets.listDeleted())
  yield* secrets.recover("leak-secret")
  yield* secrets.delete("leak-secret")
  yield* secrets.purge("leak-secret")
  yield* secrets.restore(secretBackup)
  // Failures: not found, bad input (a name, an oversized value that embeds the secret), a restore conflict.
  yield* expectFailure("get missing", secrets.get("leak-missing"))
  yield* expectFailure("bad name", secrets.set("not a name!", SECRET_VALUE))
  yield* expectFailure("oversized value", secrets.set("leak-big", SECRET_VALUE.repeat(2_000)))
  yield* expectFailure("restore conflict", secrets.restore(secretBackup))
  // Decode failures: a body that is not JSON, a body cut short in the middle of the secret's answer.
  yield* secrets.set("leak-malformed", SECRET_VALUE)
  yield* secrets.set("leak-truncated", SECRET_VALUE)
  yield* fault({ operation: "getSecret", name: "leak-malformed", fault: { _tag: "MalformedJson" } })
  yield* fault({ operation: "getSecret", name: "leak-truncated", fault: { _tag: "Truncate", bytes: 40 } })
  yield* expectFailure("malformed body", secrets.refresh("leak-malformed"))
  yield* expectFailure("truncated body", secrets.refresh("leak-truncated"))
  // Throttled past the retries.
  yield* fault({ operation: "getSecret", name: "leak-throttled", fault: { _tag: "Status", status: 429, retryAfter: { _tag: "Seconds", seconds: 0 } } })
  yield* expectFailure("throttled", secrets.get("leak-throttled"))

  // Keys: every operation, the import of a private JWK, a reset connection on a read.
  const imported = Jwk.fromNodeJwk(rsaJwk, ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"])
  yield* keys.importKey("leak-imported", imported)
  yield* keys.createRsaKey("leak-rsa", { keySize: 2048 })
  yield* keys.createEcKey("leak-ec", { curve: "P-256" })
  yield* keys.create("leak-generic", "EC")
  yield* fault({ operation: "getKey", name: "leak-rsa", times: 1, fault: { _tag: "Reset" } })
  yield* keys.get("leak-rsa")
  yield* keys.updateProperties("leak-rsa", { tags: { team: "leak" } })
  yield* drain(keys.listProperties())
  yield* drain(keys.listVersions("leak-rsa"))
  yield* keys.rotate("leak-rsa")
  yield* keys.getRotationPolicy("leak-rsa")
  yield* keys.updateRotationPolicy("leak-rsa", { expiresIn: "P90D", lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P30D" }] })
  yield* keys.getRandomBytes(32)
  const keyBackup = yield* keys.backup("leak-generic")
  yield* keys.delete("leak-generic")
  yield* keys.getDeleted("leak-generic")
  yield* drain(keys.listDeleted())
  yield* keys.recover("leak-generic")
  yield* keys.delete("leak-generic")
  yield* keys.purge("leak-generic")
  yield* keys.restore(keyBackup)
  yield* expectFailure("import without n", keys.importKey("leak-bad-jwk", { ...imported, n: undefined }))
  yield* expectFailure("random bytes out of range", keys.getRandomBytes(500))
  yield* expectFailure("missing key", keys.get("leak-no-key"))

  // Cryptography: every operation, in the vault and locally; a failed decrypt.
  const encrypted = yield* cryptography.encrypt(IMPORTED, "RSA-OAEP-256", PLAINTEXT)
  const decrypted = yield* cryptography.decrypt(IMPORTED, "RSA-OAEP-256", encrypted.result)
  expect(decrypted.result).toEqual(PLAINTEXT)
  const wrapped = yield* cryptography.wrapKey(IMPORTED, "RSA-OAEP", WRAPPED_KEY)
  expect((yield* cryptography.unwrapKey(IMPORTED, "RSA-OAEP", wrapped.result)).result).toEqual(WRAPPED_KEY)
  const signature = yield* cryptography.sign(EC, "ES256", digest(PLAINTEXT))
  expect((yield* cryptography.verify(EC, "ES256", digest(PLAINTEXT), signature.result)).isValid).toBe(true)
  const dataSignature = yield* cryptography.signData(IMPORTED, "PS256", PLAINTEXT)
  expect((yield* cryptography.verifyData(IMPORTED, "PS256", PLAINTEXT, dataSignature.result)).isValid).toBe(true)
  yield* fault({ operation: "decrypt", times: 1, fault: { _tag: "Status", status: 500 } })
  yield* cryptography.decrypt(IMPORTED, "RSA-OAEP-256", encrypted.result)
  yield* expectFailure("decrypt garbage", cryptography.decrypt(IMPORTED, "RSA-OAEP-256", new Uint8Array(256)))
  yield* expectFailure("plaintext too long", cryptography.encrypt(IMPORTED, "RSA-OAEP-256", new Uint8Array(1_000).fill(7)))
  yield* expectFailure("wrong digest length", cryptography.sign(EC, "ES256", PLAINTEXT))

  // Certificates: every operation, imports with private keys and a PFX password, downloads of them.
  yield* certificates.create("leak-self", SELF_POLICY, POLL)
  yield* certificates.get("leak-self")
  yield* certificates.get("leak-self") // a cache hit
  yield* certificates.refresh("leak-self")
  yield* certificates.invalidate("leak-self")
  yield* certificates.getDetails("leak-self")
  yield* certificates.getPolicy("leak-self")
  yield* certificates.updatePolicy("leak-self", { validityInMonths: 6 })
  yield* certificates.updateProperties("leak-self", { tags: { team: "leak" } })
  yield* drain(certificates.listProperties())
  yield* drain(certificates.listVersions("leak-self"))
  yield* certificates.beginCreate("leak-second", SELF_POLICY)
  yield* certificates.waitForOperation("leak-second", POLL)
  yield* certificates.beginCreate("leak-pending", { ...SELF_POLICY, issuerName: "Unknown" })
  yield* certificates.getOperation("leak-pending")
  yield* expectFailure("merge a stray certificate", certificates.merge("leak-pending", [new Uint8Array(strayCertificate.rawData)]))
  yield* certificates.cancelOperation("leak-pending")
  yield* certificates.deleteOperation("leak-pending")
  yield* certificates.importPem("leak-pem", Redacted.make(`${pemCertificate.keyPem}${pemCertificate.certificatePem}`))
  yield* certificates.importPkcs12("leak-pfx", pfxCertificate.pfx, { password: Redacted.make(PFX_PASSWORD) })
  yield* expectFailure("wrong PFX password", certificates.importPkcs12("leak-pfx-bad", pfxCertificate.pfx, { password: `${PFX_PASSWORD}-wrong` }))
  yield* expectFailure("PEM without a key", certificates.importPem("leak-pem-bad", `garbage ${SECRET_VALUE} garbage`))
  const pem = yield* certificates.downloadPem("leak-pfx")
  const pkcs12 = yield* certificates.downloadPkcs12("leak-self")
  yield* certificates.downloadSecret("leak-pem")
  received.push(...forms("downloaded PEM key", pemBody(Redacted.value(pem).split("-----END PRIVATE KEY-----")[0]!)))
  received.push(...forms("downloaded PFX", Redacted.value(pkcs12)))
  const certificateBackup = yield* certificates.backup("leak-second")
  yield* certificates.delete("leak-second")
  yield* certificates.getDeleted("leak-second")
  yield* drain(certificates.listDeleted())
  yield* certificates.recover("leak-second")
  yield* certificates.delete("leak-second")
  yield* certificates.purge("leak-second")
  yield* certificates.restore(certificateBackup)
  yield* certificates.setContacts([{ email: "ops@leak.example", name: "Ops" }])
  yield* certificates.getContacts()
  yield* certificates.deleteContacts()
  yield* certificates.createIssuer("leak-issuer", "DigiCert", { accountId: "acct", password: Redacted.make(ISSUER_PASSWORD) })
  yield* certificates.getIssuer("leak-issuer")
  yield* certificates.updateIssuer("leak-issuer", { password: ISSUER_PASSWORD_2 })
  yield* drain(certificates.listIssuers())
  yield* certificates.deleteIssuer("leak-issuer")
  yield* expectFailure("missing certificate", certificates.get("leak-no-cert"))

  // Last: 5xx on every read until the circuit breaker opens, then its fast failures.
  yield* fault({ operation: "getSecret", fault: { _tag: "Status", status: 503 } })
  for (let i = 0; i < 4; i++) yield* expectFailure("unavailable", secrets.get(`leak-down-${i}`))
  yield* expectFailure("breaker open", secrets.get("leak-down-last"))
  return { failures, received }
})

// --- the check ------------------------------------------------------------------------------------------------------

/** Every string reachable from `value` (attribute values, arrays of them, nested records). */
const strings = (value: unknown, out: Array<string> = []): Array<string> => {
  if (typeof value === "string") out.push(value)
  else if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") out.push(String(value))
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString("base64"))
  else if (Array.isArray(value)) for (const item of value) strings(item, out)
  else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      out.push(key)
      strings(item, out)
    }
  }
  return out
}

describe("telemetry leaks nothing secret", () => {
  it.live("spans, metrics, log records and errors of a workload over every operation carry no secret", () =>
    Effect.gen(function*() {
      const { failures, received } = yield* Effect.provide(workload, Client)
      const exportedSpans = spans.getFinishedSpans()
      const exportedLogs = logs.getFinishedLogRecords()
      const { errors, resourceMetrics } = yield* Effect.promise(() => metricReader.collect())
      expect(errors).toEqual([])
      const metrics = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics)

      // The positive side: the SDK really received the client's telemetry.
      const spanNames = new Set(exportedSpans.map((span) => span.name))
      for (const name of ["Secrets.get", "Secrets.set", "Keys.importKey", "Cryptography.decrypt", "Certificates.importPkcs12"]) {
        expect(spanNames, name).toContain(name)
      }
      expect(exportedSpans.some((span) => span.status.code === 2), "a failed span").toBe(true)
      expect(exportedLogs.length, "log records").toBeGreaterThan(0)
      expect(metrics.length, "metrics").toBeGreaterThan(0)
      expect(failures.length).toBeGreaterThan(15)

      const corpus: Array<readonly [string, string]> = []
      const add = (where: string, value: unknown) => {
        for (const text of strings(value)) corpus.push([where, text])
      }
      for (const span of exportedSpans) {
        const where = `span ${span.name}`
        add(where, span.name)
        add(where, span.attributes)
        add(where, span.status.message)
        for (const event of span.events) add(`${where} event ${event.name}`, [event.name, event.attributes])
        for (const link of span.links) add(`${where} link`, link.attributes)
      }
      for (const metric of metrics) {
        const where = `metric ${metric.descriptor.name}`
        add(where, [metric.descriptor.name, metric.descriptor.description, metric.descriptor.unit])
        for (const point of metric.dataPoints as ReadonlyArray<{ readonly attributes: unknown }>) add(where, point.attributes)
      }
      for (const record of exportedLogs) {
        add("log record", [record.body, record.severityText, record.eventName, record.attributes])
      }
      for (const cause of failures) {
        add("error", Cause.pretty(cause))
        for (const error of Chunk.toReadonlyArray(Cause.failures(cause))) {
          add("error", [String(error), JSON.stringify(error), error instanceof Error ? error.message : undefined])
        }
      }
      expect(corpus.length).toBeGreaterThan(500)

      const leaks: Array<string> = []
      for (const [label, needle] of [...staticNeedles, ...received]) {
        for (const [where, text] of corpus) {
          if (text.includes(needle)) leaks.push(`${label} in ${where}`)
        }
      }
      // Only the labels and places are printed, never the text that matched.
      expect([...new Set(leaks)]).toEqual([])
    }).pipe(Effect.provide(Telemetry)), 120_000)
})
