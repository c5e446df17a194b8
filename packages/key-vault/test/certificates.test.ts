/**
 * The Certificates service: first against a scripted vault answering with the REST specification's example bodies
 * (what goes on the wire, how answers decode, polling on the TestClock with Retry-After, validation before any
 * request), then the whole service against the emulator's in-process vault. No socket, no `@azure/*` import.
 */
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import forge from "node-forge"
import { createHash, createPrivateKey, type webcrypto, X509Certificate } from "node:crypto"
import { createSecureContext } from "node:tls"
import * as KeyVault from "../src/KeyVault.js"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import type { CacheOptions } from "../src/cache/CacheConfig.js"
import * as Certificate from "../src/certificates/Certificate.js"
import { Certificates, type CertificatesService } from "../src/certificates/Certificates.js"
import type { CertificatePolicyInput } from "../src/certificates/CertificatePolicy.js"
import * as KeyVaultError from "../src/errors/KeyVaultError.js"
import { Keys } from "../src/keys/Keys.js"
import { onTestClock } from "./test-clock-support.js"

const VAULT = "https://myvault.vault.azure.net"
const VERSION = "f60f2a4f8ae442cfb41ca2090bd4b769"
const CHALLENGE = "Bearer authorization=\"https://login.microsoftonline.com/tenant-1\", resource=\"https://vault.azure.net\""

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: the REST specification's example certificate, and certificates made here with @peculiar/x509.
// ---------------------------------------------------------------------------------------------------------------

/** `cer` and `x5t` of the specification's examples (2025-07-01, GetDeletedCertificate): x5t is the SHA-1 of cer. */
const SPEC_CER =
  "MIICODCCAeagAwIBAgIQqHmpBAv+CY9IJFoUhlbziTAJBgUrDgMCHQUAMBYxFDASBgNVBAMTC1Jvb3QgQWdlbmN5MB4XDTE1MDQyOTIxNTM0MVoXDTM5MTIzMTIzNTk1OVowFzEVMBMGA1UEAxMMS2V5VmF1bHRUZXN0MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA5bVAT73zr4+N4WVv2+SvTunAw08ksS4BrJW/nNliz3S9XuzMBMXvmYzU5HJ8TtEgluBiZZYd5qsMJD+OXHSNbsLdmMhni0jYX09h3XlC2VJw2sGKeYF+xEaavXm337aZZaZyjrFBrrUl51UePaN+kVFXNlBb3N3TYpqa7KokXenJQuR+i9Gv9a77c0UsSsDSryxppYhKK7HvTZCpKrhVtulF5iPMswWe9np3uggfMamyIsK/0L7X9w9B2qN7993RR0A00nOk4H6CnkuwO77dSsD0KJsk6FyAoZBzRXDZh9+d9R76zCL506NcQy/jl0lCiQYwsUX73PG5pxOh02OwKwIDAQABo0swSTBHBgNVHQEEQDA+gBAS5AktBh0dTwCNYSHcFmRjoRgwFjEUMBIGA1UEAxMLUm9vdCBBZ2VuY3mCEAY3bACqAGSKEc+41KpcNfQwCQYFKw4DAh0FAANBAGqIjo2geVagzuzaZOe1ClGKhZeiCKfWAxklaGN+qlGUbVS4IN4V1lot3VKnzabasmkEHeNxPwLn1qvSD0cX9CE="
const SPEC_X5T = "fLi3U52HunIVNXubkEnf8tP6Wbo"

const specPolicy = (name: string) => ({
  id: `${VAULT}/certificates/${name}/policy`,
  key_props: { exportable: true, kty: "RSA", key_size: 2048, reuse_key: false },
  secret_props: { contentType: "application/x-pkcs12" },
  x509_props: { subject: "CN=KeyVaultTest", ekus: [], key_usage: [], validity_months: 297 },
  lifetime_actions: [{ trigger: { lifetime_percentage: 80 }, action: { action_type: "EmailContacts" } }],
  issuer: { name: "Unknown" },
  attributes: { enabled: true, created: 1493938289, updated: 1493938291 }
})

const specBundle = (name: string, version = VERSION) => ({
  id: `${VAULT}/certificates/${name}/${version}`,
  kid: `${VAULT}/keys/${name}/${version}`,
  sid: `${VAULT}/secrets/${name}/${version}`,
  x5t: SPEC_X5T,
  cer: SPEC_CER,
  contentType: "application/x-pkcs12",
  attributes: { enabled: true, nbf: 1430344421, exp: 2208988799, created: 1493938289, updated: 1493938291, recoveryLevel: "Recoverable+Purgeable" },
  policy: specPolicy(name)
})

/** The specification's UpdateCertificateOperation example: a pending operation with a CSR. */
const SPEC_CSR =
  "MIIC4zCCAcsCAQAwGjEYMBYGA1UEAwwPKi5taWNyb3NvZnQuY29tMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxxM2zqnPtpH8aiHX5TdEoZLO0Y6fsjk9QcjKgnHomrwUc9vK20UYYEPKt9aGOT7HNx0do8OulPCnLPrKowci8UHu1qRW/qHvsOJQ/UrQoMCHxtXptVc7Avx8WQb045sCdgp/Cl4xO8LMZa70kE4dghZU9zmNZk8wqDIxyYdh1lqqfGe49EWOxcfszTeeKs8KCsQznjExbsudBHLLWoX4VFTGMe3VcIPcV6iFf70buHKznDMXFiRC0IYwkc/GyWIadB1CSEae8k/0evsPI5lYYZLaO/kLffEUtzysqxZNCQR+S0eVPTGTLHa+fndnPPs65XZDzSZi2fZL01oXUfCAQQIDAQABoIGDMIGABgkqhkiG9w0BCQ4xczBxMA4GA1UdDwEB/wQEAwIFoDAdBgNVHSUEFjAUBggrBgEFBQcDAQYIKwYBBQUHAwIwNQYDVR0RBC4wLIIWb25lZHJpdmUubWljcm9zb2Z0LmNvbYISeGJveC5taWNyb3NvZnQuY29tMAkGA1UdEwQCMAAwDQYJKoZIhvcNAQELBQADggEBAKto/ZF9+02fQ3sLuIsRuap/O/AZz3IhAubNfyCaWvVGVAQz/Aqpf5c/liyKhxqRG6LR9Zu50oxRK5222ezR+56vJikjdXRVShf2xYsMm1CbCM1JuzsnkTeoUHHE12xx1srH/9TH+DVZIk6NXxc4wVIagbpwxiS5gR3Nly5k0ZVv7R1B79J0GUqSwK6qjuooWrBsYMEx319hz8fB/Y4jnPE8p+Cnn3AGEqnebVngXncq/QnHxnrRVfvKFVySqRvlsvM8buILmBbIaywEUqwhNtZX2i9E7reEJ8aeZcf+lAeKF3YDvffaXGTc75aiZlBk30Lv/hn0vs9T0/FedUnIae4="

const operationBody = (name: string, fields: Record<string, unknown>) => ({
  id: `${VAULT}/certificates/${name}/pending`,
  issuer: { name: "Self" },
  cancellation_requested: false,
  status: "inProgress",
  status_details: "Pending certificate created. Certificate request is in progress.",
  request_id: "3dd81d528cc84c5a837c607f1a50f2e1",
  ...fields
})

const pemOf = (label: string, der: ArrayBuffer | Uint8Array): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString("base64").match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`

const subtle = globalThis.crypto.subtle
const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const

interface Issued {
  readonly der: Uint8Array
  readonly certificatePem: string
  readonly keyPem: string
  readonly keys: webcrypto.CryptoKeyPair
  readonly certificate: x509.X509Certificate
}

/** A certificate with the given SANs, signed by `issuer` (self-signed without one), and its PKCS#8 key as PEM. */
const issue = async (subject: string, options: {
  readonly sans?: ReadonlyArray<x509.JsonGeneralName>
  readonly issuer?: Issued
  readonly ca?: boolean
  readonly publicKey?: webcrypto.CryptoKey
} = {}): Promise<Issued> => {
  const keys = await subtle.generateKey(EC, true, ["sign", "verify"])
  const extensions: Array<x509.Extension> = []
  if (options.sans !== undefined) extensions.push(new x509.SubjectAlternativeNameExtension([...options.sans]))
  if (options.ca === true) extensions.push(new x509.BasicConstraintsExtension(true, undefined, true))
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: "0a1b2c3d",
    subject,
    issuer: options.issuer?.certificate.subject ?? subject,
    notBefore: new Date("2025-01-01T00:00:00Z"),
    notAfter: new Date("2035-01-01T00:00:00Z"),
    signingAlgorithm: EC,
    publicKey: options.publicKey ?? keys.publicKey,
    signingKey: options.issuer?.keys.privateKey ?? keys.privateKey,
    extensions
  }, globalThis.crypto)
  const pkcs8 = await subtle.exportKey("pkcs8", keys.privateKey)
  return {
    der: new Uint8Array(certificate.rawData),
    certificatePem: certificate.toString("pem") + "\n",
    keyPem: pemOf("PRIVATE KEY", pkcs8),
    keys,
    certificate
  }
}

const web = await issue("CN=web.example.com, O=Contoso\\, Ltd", {
  sans: [
    { type: "dns", value: "web.example.com" },
    { type: "dns", value: "*.web.example.com" },
    { type: "email", value: "ops@example.com" },
    { type: "ip", value: "10.0.0.1" },
    { type: "url", value: "https://web.example.com/a,b" }
  ]
})
const other = await issue("CN=other.example.com")

// ---------------------------------------------------------------------------------------------------------------
// A scripted vault
// ---------------------------------------------------------------------------------------------------------------

interface Seen {
  readonly method: string
  readonly url: URL
  readonly body: unknown
}

interface Answer {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Record<string, string>
}

const noResilience = { retry: false, circuitBreaker: false, rateLimiter: false } as const

/**
 * A vault that asks for a token (401 challenge) and then answers each authorised request with `answer`. `log` holds
 * the authorised requests, `all` every request, the unauthenticated first contact included.
 */
const scripted = (answer: (seen: Seen) => Answer, cache: CacheOptions = {}) => {
  const log: Array<Seen> = []
  const all: Array<Seen> = []
  const client = HttpClient.make((request, url) =>
    Effect.sync(() => {
      const text = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : undefined
      const seen: Seen = { method: request.method, url, body: text === undefined ? undefined : JSON.parse(text) }
      all.push(seen)
      const reply = (a: Answer) =>
        HttpClientResponse.fromWeb(
          request,
          new Response(a.body === undefined ? null : JSON.stringify(a.body), {
            status: a.status,
            headers: { "content-type": "application/json", ...a.headers }
          })
        )
      if (request.headers["authorization"] === undefined) {
        return reply({ status: 401, headers: { "www-authenticate": CHALLENGE }, body: { error: { code: "Unauthorized" } } })
      }
      log.push(seen)
      return reply(answer(seen))
    })
  )
  const layer = KeyVault.layer({ vaultUrl: VAULT, cache, resilience: noResilience }).pipe(
    Layer.provide(Layer.merge(Layer.succeed(HttpClient.HttpClient, client), TokenProvider.layerStatic()))
  )
  return { log, all, layer }
}

const ok = (body: unknown, headers?: Record<string, string>): Answer => ({ status: 200, body, ...(headers === undefined ? {} : { headers }) })
const notFound = (code = "CertificateNotFound"): Answer => ({ status: 404, body: { error: { code, message: "not found" } } })
const route = (seen: Seen) => `${seen.method} ${seen.url.pathname}`

const collect = <A, E>(stream: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

const withCertificates = <A, E, R>(f: (certificates: CertificatesService) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(Certificates, f)

const SELF: CertificatePolicyInput = { issuerName: "Self", subject: "CN=web.example.com", keyType: "EC", keyCurveName: "P-256" }

describe("Certificates against a scripted vault", () => {
  it.effect("reads a certificate: cer, x5t, ids, attributes and the policy as one flat object; cached until a change", () => {
    const vault = scripted((seen) => {
      switch (route(seen)) {
        case "GET /certificates/mycert/":
          return ok(specBundle("mycert"))
        case `PATCH /certificates/mycert/${VERSION}`:
          return ok(specBundle("mycert"))
        default:
          return notFound()
      }
    })
    return withCertificates((certificates) =>
      Effect.gen(function*() {
        const certificate = yield* certificates.get("mycert")
        expect(certificate).toMatchObject({
          name: "mycert",
          id: `${VAULT}/certificates/mycert/${VERSION}`,
          keyId: `${VAULT}/keys/mycert/${VERSION}`,
          secretId: `${VAULT}/secrets/mycert/${VERSION}`,
          contentType: "application/x-pkcs12"
        })
        expect(Buffer.from(certificate.cer).toString("base64")).toBe(SPEC_CER)
        expect(Buffer.from(certificate.properties.x509Thumbprint!).toString("base64url")).toBe(SPEC_X5T)
        expect(certificate.properties).toMatchObject({
          version: VERSION,
          enabled: true,
          notBefore: new Date(1430344421 * 1000),
          expiresOn: new Date(2208988799 * 1000),
          recoveryLevel: "Recoverable+Purgeable"
        })
        expect(certificate.policy).toEqual({
          id: `${VAULT}/certificates/mycert/policy`,
          issuerName: "Unknown",
          subject: "CN=KeyVaultTest",
          keyType: "RSA",
          keySize: 2048,
          exportable: true,
          reuseKey: false,
          contentType: "application/x-pkcs12",
          keyUsage: [],
          enhancedKeyUsage: [],
          validityInMonths: 297,
          lifetimeActions: [{ action: "EmailContacts", lifetimePercentage: 80 }],
          enabled: true,
          createdOn: new Date(1493938289 * 1000),
          updatedOn: new Date(1493938291 * 1000)
        })

        // The parsed view agrees with the vault's thumbprint.
        const details = yield* certificates.getDetails("mycert")
        expect(details.sha1Thumbprint).toBe(Buffer.from(SPEC_X5T, "base64url").toString("hex").toUpperCase())
        expect(details.sha1Thumbprint).toBe(certificate.properties.x509ThumbprintHex)
        expect(details).toMatchObject({ subject: "CN=KeyVaultTest", issuer: "CN=Root Agency", keyType: "RSA", keySize: 2048 })
        expect(vault.log).toHaveLength(1)

        // A mutation forgets the name: the next read goes to the vault.
        yield* certificates.updateProperties("mycert", { version: VERSION, tags: { team: "web" } })
        expect(vault.log[1]!.body).toEqual({ tags: { team: "web" } })
        yield* certificates.get("mycert")
        expect(vault.log.map(route)).toEqual([
          "GET /certificates/mycert/",
          `PATCH /certificates/mycert/${VERSION}`,
          "GET /certificates/mycert/"
        ])
      })
    ).pipe(Effect.provide(vault.layer))
  })

  it.effect("sends a policy in the service's snake_case shape, and reads it back flat", () => {
    const vault = scripted((seen) => ok({ ...(seen.body as object), id: `${VAULT}/certificates/web/policy` }))
    return withCertificates((certificates) =>
      Effect.gen(function*() {
        const policy: CertificatePolicyInput = {
          issuerName: "Self",
          certificateType: "OV-SSL",
          certificateTransparency: false,
          subject: "CN=web.example.com, O=\"Contoso, Ltd\"",
          subjectAlternativeNames: {
            dnsNames: ["web.example.com", "*.web.example.com"],
            emails: ["ops@example.com"],
            upns: ["svc@contoso.onmicrosoft.com"],
            uris: ["spiffe://example.com/web"],
            ipAddresses: ["10.0.0.1", "2001:db8::1"]
          },
          keyType: "RSA",
          keySize: 3072,
          exportable: true,
          reuseKey: true,
          contentType: "application/x-pem-file",
          keyUsage: ["digitalSignature", "keyEncipherment"],
          enhancedKeyUsage: ["1.3.6.1.5.5.7.3.1"],
          validityInMonths: 12,
          lifetimeActions: [{ action: "AutoRenew", daysBeforeExpiry: 30 }, { action: "EmailContacts", lifetimePercentage: 90 }],
          enabled: true
        }
        const back = yield* certificates.updatePolicy("web", policy)
        expect(vault.log[0]!.method).toBe("PATCH")
        expect(vault.log[0]!.url.pathname).toBe("/certificates/web/policy")
        expect(vault.log[0]!.body).toEqual({
          key_props: { exportable: true, kty: "RSA", key_size: 3072, reuse_key: true },
          secret_props: { contentType: "application/x-pem-file" },
          x509_props: {
            subject: "CN=web.example.com, O=\"Contoso, Ltd\"",
            ekus: ["1.3.6.1.5.5.7.3.1"],
            sans: {
              dns_names: ["web.example.com", "*.web.example.com"],
              emails: ["ops@example.com"],
              upns: ["svc@contoso.onmicrosoft.com"],
              uris: ["spiffe://example.com/web"],
              ipAddresses: ["10.0.0.1", "2001:db8::1"]
            },
            key_usage: ["digitalSignature", "keyEncipherment"],
            validity_months: 12
          },
          lifetime_actions: [
            { trigger: { days_before_expiry: 30 }, action: { action_type: "AutoRenew" } },
            { trigger: { lifetime_percentage: 90 }, action: { action_type: "EmailContacts" } }
          ],
          issuer: { name: "Self", cty: "OV-SSL", cert_transparency: false },
          attributes: { enabled: true }
        })
        // What comes back is the input again (plus its id): a policy read can be written back.
        expect(back).toEqual({ ...policy, id: `${VAULT}/certificates/web/policy` })
      })
    ).pipe(Effect.provide(vault.layer))
  })

  it.effect("create waits on the schedule, honours Retry-After, and answers the issued version", () => {
    const target = `${VAULT}/certificates/web/${VERSION}`
    let polls = 0
    const vault = scripted((seen) => {
      switch (route(seen)) {
        case "POST /certificates/web/create":
          return { status: 202, body: operationBody("web", {}), headers: { "retry-after": "10" } }
        case "GET /certificates/web/pending":
          polls++
          return ok(operationBody("web", polls < 2 ? {} : { status: "completed", target, status_details: "" }))
        case `GET /certificates/web/${VERSION}`:
          return ok(specBundle("web"))
        default:
          return notFound()
      }
    })
    return withCertificates((certificates) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(certificates.create("web", SELF))
        yield* TestClock.adjust("9 seconds")
        // The vault asked for 10 s: the 2 s schedule does not look sooner.
        expect(vault.log.map(route)).toEqual(["POST /certificates/web/create"])
        yield* TestClock.adjust("1 second")
        expect(polls).toBe(1)
        yield* TestClock.adjust("1 second")
        expect(polls).toBe(1)
        yield* TestClock.adjust("1 second")
        const certificate = yield* Fiber.join(fiber)
        expect(polls).toBe(2)
        expect(certificate.id).toBe(target)
        expect(vault.log.map(route)).toEqual([
          "POST /certificates/web/create",
          "GET /certificates/web/pending",
          "GET /certificates/web/pending",
          `GET /certificates/web/${VERSION}`
        ])
        expect(vault.log[0]!.body).toEqual({
          policy: {
            key_props: { kty: "EC", crv: "P-256" },
            x509_props: { subject: "CN=web.example.com" },
            issuer: { name: "Self" }
          }
        })
      })
    ).pipe(Effect.provide(vault.layer))
  })

  it.effect("create fails with the operation's error when issuance fails, and a typed error when cancelled", () => {
    const vault = scripted((seen) => {
      const name = seen.url.pathname.split("/")[2]!
      if (seen.method === "POST") return { status: 202, body: operationBody(name, {}) }
      return name === "failing"
        ? ok(operationBody(name, {
          status: "failed",
          error: { code: "CertificateIssuanceFailed", message: "The CA refused the request", innererror: { code: "PolicyViolation" } }
        }))
        : ok(operationBody(name, { status: "cancelled", cancellation_requested: true }))
    })
    return withCertificates((certificates) =>
      Effect.gen(function*() {
        const failing = yield* Effect.fork(Effect.flip(certificates.create("failing", SELF)))
        yield* TestClock.adjust("2 seconds")
        const failed = yield* Fiber.join(failing)
        expect(failed).toMatchObject({
          _tag: "CertificateOperationError",
          name: "failing",
          reason: "Failed",
          operationStatus: "failed",
          code: "CertificateIssuanceFailed",
          innerCode: "PolicyViolation",
          message: "The CA refused the request"
        })
        // Classified like every error of the package, whichever copy of it made the error.
        expect(KeyVaultError.isCertificateOperationError(failed)).toBe(true)
        expect(KeyVaultError.isKeyVaultError(failed)).toBe(true)
        expect(KeyVaultError.isTransient(failed)).toBe(false)
        const cancelling = yield* Effect.fork(Effect.flip(certificates.create("cancelled", SELF)))
        yield* TestClock.adjust("2 seconds")
        expect(yield* Fiber.join(cancelling)).toMatchObject({ _tag: "CertificateOperationError", reason: "Cancelled" })
      })
    ).pipe(Effect.provide(vault.layer))
  })

  it.effect("create stops when the poll schedule does (StillPending); an Unknown issuer waits for a merge", () => {
    const vault = scripted((seen) => {
      const name = seen.url.pathname.split("/")[2]!
      const body = name === "csr"
        ? operationBody(name, { issuer: { name: "Unknown" }, csr: SPEC_CSR })
        : operationBody(name, {})
      return seen.method === "POST" ? { status: 202, body } : ok(body)
    })
    return withCertificates((certificates) =>
      Effect.gen(function*() {
        const slow = yield* Effect.fork(Effect.flip(
          certificates.create("slow", SELF, { pollSchedule: Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(3))) })
        ))
        yield* TestClock.adjust("10 seconds")
        expect(yield* Fiber.join(slow)).toMatchObject({ _tag: "CertificateOperationError", reason: "StillPending", name: "slow" })
        expect(vault.log.filter((s) => s.url.pathname === "/certificates/slow/pending")).toHaveLength(3)

        // Issuer Unknown: nothing completes it but a merge, so create does not poll at all.
        const awaiting = yield* Effect.flip(certificates.create("csr", { issuerName: "Unknown", subject: "CN=*.microsoft.com" }))
        expect(awaiting).toMatchObject({ _tag: "CertificateOperationError", reason: "AwaitingMerge" })
        expect(vault.log.filter((s) => s.url.pathname === "/certificates/csr/pending")).toHaveLength(0)

        // beginCreate answers the operation with its CSR, as bytes and as PEM.
        const operation = yield* certificates.beginCreate("csr", { issuerName: "Unknown", subject: "CN=*.microsoft.com" })
        expect(operation).toMatchObject({ name: "csr", status: "inProgress", issuerName: "Unknown", requestId: "3dd81d528cc84c5a837c607f1a50f2e1" })
        expect(Buffer.from(operation.csr!).toString("base64")).toBe(SPEC_CSR)
        expect(operation.csrPem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE REQUEST-----\n$/)
        expect(operation.csrPem!.replace(/-----[A-Z ]+-----|\n/g, "")).toBe(SPEC_CSR)
      })
    ).pipe(Effect.provide(vault.layer))
  })

  it.effect("lists with includePending and maxresults, following nextLink", () => {
    const item = (name: string) => ({ id: `${VAULT}/certificates/${name}`, x5t: SPEC_X5T, attributes: { enabled: true } })
    const vault = scripted((seen) =>
      seen.url.searchParams.get("$skiptoken") === null
        ? ok({ value: [item("a"), item("b")], nextLink: `${VAULT}/certificates?api-version=2025-07-01&includePending=true&maxresults=2&$skiptoken=p2` })
        : ok({ value: [item("c")], nextLink: null })
    )
    return withCertificates((certificates) =>
      Effect.gen(function*() {
        const listed = yield* collect(certificates.listProperties({ includePending: true, maxPageSize: 2 }))
        expect(listed.map((p) => p.name)).toEqual(["a", "b", "c"])
        expect(listed[0]!.x509ThumbprintHex).toBe(Buffer.from(SPEC_X5T, "base64url").toString("hex").toUpperCase())
        const first = vault.log[0]!.url
        expect(first.pathname).toBe("/certificates")
        expect(first.searchParams.get("includePending")).toBe("true")
        expect(first.searchParams.get("maxresults")).toBe("2")
        expect(vault.log).toHaveLength(2)

        yield* collect(certificates.listProperties())
        expect(vault.log[2]!.url.searchParams.has("includePending")).toBe(false)
        yield* collect(certificates.listDeleted({ includePending: true }))
        expect(vault.log[4]!.url.pathname).toBe("/deletedcertificates")
        expect(vault.log[4]!.url.searchParams.get("includePending")).toBe("true")
      })
    ).pipe(Effect.provide(vault.layer))
  })

  it.effect("downloads the secret as PKCS#12 through the secret cache, and as PEM converted by the vault", () => {
    const pfx = new Uint8Array([0x30, 0x82, 0x01, 0x02, 0xde, 0xad, 0xbe, 0xef])
    const pem = `${other.certificatePem}${other.keyPem}`
    const vault = scripted((seen) => {
      switch (route(seen)) {
        case "GET /certificates/mycert/":
          return ok(specBundle("mycert"))
        case `GET /secrets/mycert/${VERSION}`:
          return seen.url.searchParams.get("outContentType") === "application/x-pem-file"
            ? ok({ value: pem, contentType: "application/x-pem-file", id: `${VAULT}/secrets/mycert/${VERSION}`, managed: true })
            : ok({ value: Buffer.from(pfx).toString("base64"), contentType: "application/x-pkcs12", id: `${VAULT}/secrets/mycert/${VERSION}`, managed: true })
        default:
          return notFound()
      }
    })
    return withCertificates((certificates) =>
      Effect.gen(function*() {
        const downloaded = yield* certificates.downloadPkcs12("mycert")
        expect(String(downloaded)).toBe("<redacted>")
        expect(Redacted.value(downloaded)).toEqual(pfx)
        yield* certificates.downloadPkcs12("mycert")
        // One certificate read and one secret read: the second download came from the caches.
        expect(vault.log.map(route)).toEqual(["GET /certificates/mycert/", `GET /secrets/mycert/${VERSION}`])

        const asPem = yield* certificates.downloadPem("mycert")
        expect(Redacted.value(asPem)).toBe(pem)
        const conversion = vault.log[2]!
        expect(conversion.url.pathname).toBe(`/secrets/mycert/${VERSION}`)
        expect(conversion.url.searchParams.get("outContentType")).toBe("application/x-pem-file")

        const stored = yield* certificates.downloadSecret("mycert")
        expect(stored.format).toBe("pkcs12")
        expect(stored.secretId).toBe(`${VAULT}/secrets/mycert/${VERSION}`)
      })
    ).pipe(Effect.provide(vault.layer))
  })

  it.effect("imports PEM as PEM (policy says so), PKCS#12 as base64 with its password, and merges a chain", () => {
    const vault = scripted((seen) => route(seen).endsWith("/pending/merge") ? { status: 201, body: specBundle("web") } : ok(specBundle("web")))
    return withCertificates((certificates) =>
      Effect.gen(function*() {
        const pem = Redacted.make(`${web.keyPem}${web.certificatePem}`)
        yield* certificates.importPem("web", pem, { tags: { source: "pem" } })
        const pemBody = vault.log[0]!.body as Record<string, unknown>
        expect(vault.log[0]!.url.pathname).toBe("/certificates/web/import")
        expect(pemBody).toEqual({
          value: Redacted.value(pem),
          policy: { secret_props: { contentType: "application/x-pem-file" } },
          tags: { source: "pem" }
        })

        const pfx = new Uint8Array([1, 2, 3, 250, 251, 252])
        yield* certificates.importPkcs12("web", pfx, {
          password: Redacted.make("hunter2"),
          policy: { validityInMonths: 24, lifetimeActions: [{ action: "AutoRenew", lifetimePercentage: 80 }] },
          enabled: false
        })
        expect(vault.log[1]!.body).toEqual({
          value: Buffer.from(pfx).toString("base64"),
          pwd: "hunter2",
          policy: {
            x509_props: { validity_months: 24 },
            lifetime_actions: [{ trigger: { lifetime_percentage: 80 }, action: { action_type: "AutoRenew" } }]
          },
          attributes: { enabled: false }
        })

        // Merge: DER bytes or PEM text (a PEM string may hold the whole chain), sent as standard base64.
        const merged = yield* certificates.merge("web", [web.der, `${other.certificatePem}`])
        expect(merged.name).toBe("web")
        expect(vault.log[2]!.url.pathname).toBe("/certificates/web/pending/merge")
        expect(vault.log[2]!.body).toEqual({
          x5c: [Buffer.from(web.der).toString("base64"), Buffer.from(other.der).toString("base64")]
        })
      })
    ).pipe(Effect.provide(vault.layer))
  })

  it.effect("contacts and issuers: bodies in the service's shape, the issuer's password redacted", () => {
    const issuer = {
      id: `${VAULT}/certificates/issuers/issuer01`,
      provider: "Test",
      credentials: { account_id: "keyvaultuser", pwd: "s3cret-api-key" },
      org_details: { admin_details: [{ first_name: "John", last_name: "Doe", email: "admin@microsoft.com", phone: "4255555555" }] },
      attributes: { enabled: true, created: 1482188806, updated: 1482189526 }
    }
    const vault = scripted((seen) => {
      if (seen.url.pathname === "/certificates/contacts") {
        return seen.method === "PUT"
          ? ok({ id: `${VAULT}/certificates/contacts`, ...(seen.body as object) })
          : ok({ id: `${VAULT}/certificates/contacts`, contacts: [{ email: "a@example.com", name: "A" }] })
      }
      if (seen.url.pathname === "/certificates/issuers") {
        return ok({ value: [{ id: issuer.id, provider: "Test" }], nextLink: null })
      }
      return ok(issuer)
    })
    return withCertificates((certificates) =>
      Effect.gen(function*() {
        const set = yield* certificates.setContacts([{ email: "a@example.com", name: "A", phone: "555" }, { email: "b@example.com" }])
        expect(vault.log[0]).toMatchObject({
          method: "PUT",
          body: { contacts: [{ email: "a@example.com", name: "A", phone: "555" }, { email: "b@example.com" }] }
        })
        expect(set).toEqual([
          { email: "a@example.com", name: "A", phone: "555" },
          { email: "b@example.com", name: undefined, phone: undefined }
        ])
        expect(yield* certificates.getContacts()).toEqual([{ email: "a@example.com", name: "A", phone: undefined }])
        yield* certificates.deleteContacts()
        expect(vault.log[2]!.method).toBe("DELETE")

        const created = yield* certificates.createIssuer("issuer01", "Test", {
          accountId: "keyvaultuser",
          password: Redacted.make("s3cret-api-key"),
          administratorContacts: [{ email: "admin@microsoft.com", firstName: "John", lastName: "Doe", phone: "4255555555" }],
          enabled: true
        })
        expect(vault.log[3]).toMatchObject({
          method: "PUT",
          body: {
            provider: "Test",
            credentials: { account_id: "keyvaultuser", pwd: "s3cret-api-key" },
            org_details: { admin_details: [{ email: "admin@microsoft.com", first_name: "John", last_name: "Doe", phone: "4255555555" }] },
            attributes: { enabled: true }
          }
        })
        expect(vault.log[3]!.url.pathname).toBe("/certificates/issuers/issuer01")
        expect(created).toMatchObject({ name: "issuer01", provider: "Test", accountId: "keyvaultuser", enabled: true })
        expect(created.administratorContacts).toEqual([{ firstName: "John", lastName: "Doe", email: "admin@microsoft.com", phone: "4255555555" }])
        expect(Redacted.value(created.password!)).toBe("s3cret-api-key")
        // Printed or serialised, the issuer never shows its password.
        expect(JSON.stringify(created)).not.toContain("s3cret")
        expect(String(created.password)).toBe("<redacted>")

        yield* certificates.updateIssuer("issuer01", { enabled: false })
        expect(vault.log[4]).toMatchObject({ method: "PATCH", body: { attributes: { enabled: false } } })
        expect((yield* collect(certificates.listIssuers())).map((i) => [i.name, i.provider])).toEqual([["issuer01", "Test"]])
        expect((yield* certificates.deleteIssuer("issuer01")).name).toBe("issuer01")
      })
    ).pipe(Effect.provide(vault.layer))
  })

  it.effect("parses the public certificate: subject, SANs of every kind, issuer, serial, thumbprints, key", () =>
    Effect.gen(function*() {
      const details = yield* Either.match(Certificate.parseX509(web.der), { onLeft: Effect.fail, onRight: Effect.succeed })
      const node = new X509Certificate(web.der)
      expect(details).toMatchObject({
        subject: "CN=web.example.com, O=Contoso\\, Ltd",
        issuer: "CN=web.example.com, O=Contoso\\, Ltd",
        serialNumber: "0A1B2C3D",
        notBefore: new Date("2025-01-01T00:00:00Z"),
        notAfter: new Date("2035-01-01T00:00:00Z"),
        keyType: "EC",
        keyCurveName: "P-256",
        keySize: undefined,
        isCertificateAuthority: false,
        selfIssued: true
      })
      expect(details.subjectAlternativeNames).toEqual({
        dnsNames: ["web.example.com", "*.web.example.com"],
        emails: ["ops@example.com"],
        ipAddresses: ["10.0.0.1"],
        uris: ["https://web.example.com/a,b"],
        others: []
      })
      expect(details.sha1Thumbprint).toBe(node.fingerprint.replace(/:/g, ""))
      expect(details.sha256Thumbprint).toBe(node.fingerprint256.replace(/:/g, ""))
      expect(Either.isLeft(Certificate.parseX509(new Uint8Array([1, 2, 3])))).toBe(true)
    }))
})

// ---------------------------------------------------------------------------------------------------------------
// Validation: refused before any request
// ---------------------------------------------------------------------------------------------------------------

describe("Certificates validation", () => {
  const refusals: ReadonlyArray<readonly [string, string, (c: CertificatesService) => Effect.Effect<unknown, KeyVaultError.KeyVaultError>]> = [
    ["name", "name", (c) => c.get("bad_name")],
    ["version", "version", (c) => c.get("ok", { version: "NOT-HEX" })],
    ["missing issuer", "issuerName", (c) => c.beginCreate("a", { subject: "CN=a" })],
    ["no subject nor SAN", "subject", (c) => c.beginCreate("a", { issuerName: "Self" })],
    ["RSA size 1000", "keySize", (c) => c.beginCreate("a", { ...SELF, keyType: "RSA", keyCurveName: undefined, keySize: 1000 })],
    ["key size on EC", "keySize", (c) => c.beginCreate("a", { ...SELF, keySize: 2048 })],
    ["curve on RSA", "keyCurveName", (c) => c.beginCreate("a", { ...SELF, keyType: "RSA" })],
    ["unknown curve", "keyCurveName", (c) => c.beginCreate("a", { ...SELF, keyCurveName: "P-192" as never })],
    ["unknown key type", "keyType", (c) => c.beginCreate("a", { ...SELF, keyType: "oct" as never })],
    ["validity 0", "validityInMonths", (c) => c.beginCreate("a", { ...SELF, validityInMonths: 0 })],
    ["validity 1.5", "validityInMonths", (c) => c.beginCreate("a", { ...SELF, validityInMonths: 1.5 })],
    ["content type", "contentType", (c) => c.beginCreate("a", { ...SELF, contentType: "text/plain" as never })],
    ["two triggers", "lifetimeActions[0]", (c) => c.beginCreate("a", { ...SELF, lifetimeActions: [{ action: "AutoRenew", lifetimePercentage: 80, daysBeforeExpiry: 10 }] })],
    ["no trigger", "lifetimeActions[0]", (c) => c.beginCreate("a", { ...SELF, lifetimeActions: [{ action: "AutoRenew" }] })],
    ["percentage 100", "lifetimeActions[0].lifetimePercentage", (c) => c.beginCreate("a", { ...SELF, lifetimeActions: [{ action: "AutoRenew", lifetimePercentage: 100 }] })],
    ["days past validity", "lifetimeActions[0].daysBeforeExpiry", (c) => c.beginCreate("a", { ...SELF, validityInMonths: 1, lifetimeActions: [{ action: "EmailContacts", daysBeforeExpiry: 28 }] })],
    ["action Rotate", "lifetimeActions[0].action", (c) => c.beginCreate("a", { ...SELF, lifetimeActions: [{ action: "Rotate" as never, lifetimePercentage: 80 }] })],
    ["DNS name", "subjectAlternativeNames.dnsNames", (c) => c.beginCreate("a", { ...SELF, subjectAlternativeNames: { dnsNames: ["ok.example", "bad..example"] } })],
    ["DNS label with _", "subjectAlternativeNames.dnsNames", (c) => c.beginCreate("a", { ...SELF, subjectAlternativeNames: { dnsNames: ["under_score.example"] } })],
    ["email", "subjectAlternativeNames.emails", (c) => c.beginCreate("a", { ...SELF, subjectAlternativeNames: { emails: ["ops@"] } })],
    ["UPN", "subjectAlternativeNames.upns", (c) => c.beginCreate("a", { ...SELF, subjectAlternativeNames: { upns: ["no-domain"] } })],
    ["IP", "subjectAlternativeNames.ipAddresses", (c) => c.beginCreate("a", { ...SELF, subjectAlternativeNames: { ipAddresses: ["999.0.0.1"] } })],
    ["URI", "subjectAlternativeNames.uris", (c) => c.beginCreate("a", { ...SELF, subjectAlternativeNames: { uris: ["not a uri"] } })],
    ["subject without =", "subject", (c) => c.beginCreate("a", { ...SELF, subject: "web.example.com" })],
    ["subject unknown attribute", "subject", (c) => c.beginCreate("a", { ...SELF, subject: "XX=web" })],
    ["subject empty value", "subject", (c) => c.beginCreate("a", { ...SELF, subject: "CN=, O=x" })],
    ["subject open quote", "subject", (c) => c.beginCreate("a", { ...SELF, subject: "CN=\"web" })],
    ["EKU", "enhancedKeyUsage", (c) => c.beginCreate("a", { ...SELF, enhancedKeyUsage: ["serverAuth"] })],
    ["key usage", "keyUsage", (c) => c.beginCreate("a", { ...SELF, keyUsage: ["signEverything" as never] })],
    ["poll schedule", "pollSchedule", (c) => c.create("a", SELF, { pollSchedule: 5 as never })],
    ["tags", "tags", (c) => c.beginCreate("a", SELF, { tags: { n: 1 as never } })],
    ["contact email", "contacts[1].email", (c) => c.setContacts([{ email: "a@example.com" }, { email: "nope" }])],
    ["no contacts", "contacts", (c) => c.setContacts([])],
    ["issuer name", "issuerName", (c) => c.getIssuer("bad issuer")],
    ["issuer provider", "provider", (c) => c.createIssuer("i1", "")],
    ["issuer admin email", "administratorContacts[0].email", (c) => c.createIssuer("i1", "Test", { administratorContacts: [{ email: "x" }] })],
    ["PEM without certificate", "pem", (c) => c.importPem("a", web.keyPem)],
    ["PEM without key", "pem", (c) => c.importPem("a", web.certificatePem)],
    ["PEM with another certificate's key", "pem", (c) => c.importPem("a", `${web.certificatePem}${other.keyPem}`)],
    ["PEM with a PKCS#1 key", "pem", (c) => c.importPem("a", `${web.certificatePem}-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n`)],
    ["PEM stored as PKCS#12", "policy.contentType", (c) => c.importPem("a", `${web.certificatePem}${web.keyPem}`, { policy: { contentType: "application/x-pkcs12" } })],
    ["empty PFX", "pfx", (c) => c.importPkcs12("a", new Uint8Array(0))],
    ["PFX password", "password", (c) => c.importPkcs12("a", new Uint8Array([1]), { password: 42 as never })],
    ["merge nothing", "x509Certificates", (c) => c.merge("a", [])],
    ["merge garbage", "x509Certificates", (c) => c.merge("a", [new Uint8Array([1, 2, 3])])],
    ["merge PEM without certificate", "x509Certificates", (c) => c.merge("a", [web.keyPem])],
    ["validity window", "expiresOn", (c) => c.updateProperties("a", { notBefore: new Date(2000), expiresOn: new Date(1000) })],
    ["download format", "format", (c) => c.downloadSecret("a", { format: "der" as never })],
    ["page size", "maxPageSize", (c) => Stream.runDrain(c.listProperties({ maxPageSize: 26 }))],
    ["includePending", "includePending", (c) => Stream.runDrain(c.listProperties({ includePending: "yes" as never }))],
    ["restore", "backup", (c) => c.restore(new Uint8Array(0))]
  ]

  for (const [what, field, call] of refusals) {
    it.effect(`refuses ${what} (${field}) before any request`, () => {
      const vault = scripted(() => ok({}))
      return withCertificates((certificates) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(call(certificates))
          expect(error).toMatchObject({ _tag: "ValidationError", field })
          expect(vault.all).toHaveLength(0)
        })
      ).pipe(Effect.provide(vault.layer))
    })
  }

  it.effect("accepts the X.500 and SAN forms the service does", () => {
    const vault = scripted(() => ({ status: 202, body: operationBody("a", {}) }))
    return withCertificates((certificates) =>
      Effect.gen(function*() {
        for (const subject of ["CN=a", "CN=a,O=b", "CN=a; O=b", "CN=a+OU=b, C=NL", "cn=a, o=\"b, c\"", "CN=a\\, b", "E=ops@example.com, CN=a", "2.5.4.3=a", "OID.2.5.4.3=a", "CN=#0403616263", "CN=a=b"]) {
          yield* certificates.beginCreate("a", { ...SELF, subject })
        }
        yield* certificates.beginCreate("a", {
          issuerName: "Self",
          subjectAlternativeNames: { dnsNames: ["*.a.example", "xn--bcher-kva.example", "localhost"], ipAddresses: ["::1"] }
        })
        expect(vault.log).toHaveLength(12)
      })
    ).pipe(Effect.provide(vault.layer))
  })

  it.effect("never quotes the PEM being imported, nor a password, in an error", () => {
    const vault = scripted(() => ok({}))
    const secretKey = other.keyPem
    return withCertificates((certificates) =>
      Effect.gen(function*() {
        const mismatch = yield* Effect.flip(certificates.importPem("a", Redacted.make(`${web.certificatePem}${secretKey}`)))
        const badPassword = yield* Effect.flip(certificates.importPkcs12("a", new Uint8Array([1]), { password: ["hunter2"] as never }))
        for (const error of [mismatch, badPassword]) {
          const printed = `${String(error)} ${JSON.stringify(error)} ${error.message}`
          expect(printed).not.toContain(secretKey.split("\n")[1]!)
          expect(printed).not.toContain("hunter2")
        }
      })
    ).pipe(Effect.provide(vault.layer))
  })
})

// ---------------------------------------------------------------------------------------------------------------
// The whole service against the emulator's in-process vault
// ---------------------------------------------------------------------------------------------------------------

/** The client over a fresh in-process emulator; `urls` records every request URL, query included. */
const emulated = (cache: CacheOptions = {}) => {
  const urls: Array<URL> = []
  const recorded = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.tapRequest(client, (request) =>
        Effect.sync(() => Option.map(HttpClientRequest.toUrl(request), (url) => urls.push(url)))))
  ).pipe(Layer.provideMerge(Emulator.layerFresh()))
  const layer = KeyVault.layer({ vaultUrl: VAULT, cache }).pipe(
    Layer.provideMerge(Layer.merge(recorded, TokenProvider.layerStatic()))
  )
  return { layer, urls }
}

// One macrotask: lets the emulator's real asynchronous work (key generation, signing) move on.

const journal = (filter: Parameters<Emulator.EmulatorService["Type"]["journal"]["query"]>[0] = {}) =>
  Effect.flatMap(Emulator.EmulatorService, (emulator) => emulator.journal.query(filter))

const sha1 = (bytes: Uint8Array) => createHash("sha1").update(bytes).digest()

/** Signs a CSR (DER) with `ca`: the leaf an external CA would send back. */
const signCsr = async (csr: Uint8Array, ca: Issued): Promise<Uint8Array> => {
  const request = new x509.Pkcs10CertificateRequest(csr)
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: "7e57",
    subject: request.subject,
    issuer: ca.certificate.subject,
    notBefore: new Date("2025-01-01T00:00:00Z"),
    notAfter: new Date("2026-01-01T00:00:00Z"),
    signingAlgorithm: EC,
    publicKey: request.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [...request.extensions]
  }, globalThis.crypto)
  return new Uint8Array(leaf.rawData)
}

/** A password-protected PKCS#12 of an RSA certificate (node-forge: 3DES, SHA-1 MAC), and its certificate. */
const passwordPfx = async (password: string) => {
  const rsa = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 }
  const keys = await subtle.generateKey(rsa, true, ["sign", "verify"])
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "0b0b",
    name: "CN=legacy.example.com",
    notBefore: new Date("2025-01-01T00:00:00Z"),
    notAfter: new Date("2030-01-01T00:00:00Z"),
    signingAlgorithm: rsa,
    keys
  }, globalThis.crypto)
  const key = forge.pki.privateKeyFromPem(pemOf("PRIVATE KEY", await subtle.exportKey("pkcs8", keys.privateKey)))
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, [forge.pki.certificateFromPem(certificate.toString("pem"))], password, {
    algorithm: "3des"
  })
  return { pfx: new Uint8Array(Buffer.from(forge.asn1.toDer(asn1).getBytes(), "binary")), der: new Uint8Array(certificate.rawData) }
}

const legacy = await passwordPfx("correct horse")

const WEB_POLICY: CertificatePolicyInput = {
  issuerName: "Self",
  subject: "CN=web.example.com, O=Contoso",
  subjectAlternativeNames: { dnsNames: ["web.example.com", "www.example.com"], ipAddresses: ["10.1.2.3"] },
  keyType: "EC",
  keyCurveName: "P-256",
  validityInMonths: 12
}

describe("Certificates over the in-process emulator", () => {
  it.effect("creates a self-signed certificate and waits for it on the poll schedule; the parsed view matches the policy", () =>
    withCertificates((certificates) =>
      Effect.gen(function*() {
        const certificate = yield* onTestClock(certificates.create("web", WEB_POLICY))
        const version = certificate.properties.version!
        expect(certificate.id).toBe(`${VAULT}/certificates/web/${version}`)
        expect(certificate.keyId).toBe(`${VAULT}/keys/web/${version}`)
        expect(certificate.secretId).toBe(`${VAULT}/secrets/web/${version}`)
        expect(certificate.properties.x509Thumbprint).toEqual(new Uint8Array(sha1(certificate.cer)))
        expect(certificate.policy).toMatchObject({ issuerName: "Self", keyType: "EC", keyCurveName: "P-256", validityInMonths: 12 })

        const details = yield* certificates.getDetails("web")
        expect(details).toMatchObject({
          subject: expect.stringContaining("CN=web.example.com"),
          keyType: "EC",
          keyCurveName: "P-256",
          selfIssued: true,
          sha1Thumbprint: certificate.properties.x509ThumbprintHex
        })
        expect(details.subjectAlternativeNames).toMatchObject({ dnsNames: ["web.example.com", "www.example.com"], ipAddresses: ["10.1.2.3"] })
        expect(details.notAfter.getTime()).toBeGreaterThan(details.notBefore.getTime())

        // The key and the secret are the vault's, under the certificate's name and version.
        const key = yield* Effect.flatMap(Keys, (keys) => keys.get("web"))
        expect(key.properties).toMatchObject({ managed: true, version })
        // The operation stays readable as completed, pointing at the certificate.
        const operation = yield* certificates.getOperation("web")
        expect(operation.status).toBe("completed")

        // Polling waited on the schedule: one create, then reads of the operation, never faster than every 2 s.
        const polls = yield* journal({ operation: "getCertificateOperation", status: 200 })
        expect(polls.length).toBeGreaterThanOrEqual(1)
        expect(polls[0]!.timeMillis).toBeGreaterThanOrEqual(2000)
      })
    ).pipe(Effect.provide(emulated().layer)))

  it.effect("downloads the certificate with its key as PKCS#12 and as PEM; both load into a TLS context", () => {
    const vault = emulated()
    return withCertificates((certificates) =>
      Effect.gen(function*() {
        const certificate = yield* onTestClock(certificates.create("web", WEB_POLICY))
        const pfx = yield* certificates.downloadPkcs12("web")
        expect(String(pfx)).toBe("<redacted>")
        expect(() => createSecureContext({ pfx: Buffer.from(Redacted.value(pfx)), passphrase: "" })).not.toThrow()

        const pem = Redacted.value(yield* certificates.downloadPem("web"))
        expect(pem).toContain("-----BEGIN PRIVATE KEY-----")
        expect(() => createSecureContext({ key: pem, cert: pem })).not.toThrow()
        // The PEM's certificate is the certificate, and its key is the certificate's key.
        const leaf = new X509Certificate(pem)
        expect(new Uint8Array(leaf.raw)).toEqual(certificate.cer)
        expect(leaf.checkPrivateKey(createPrivateKey(pem))).toBe(true)
        // The PEM came converted by the vault: the secret read asked for outContentType.
        const conversions = vault.urls.filter((url) => url.pathname === `/secrets/web/${certificate.properties.version}`)
        expect(conversions.map((url) => url.searchParams.get("outContentType"))).toEqual([null, "application/x-pem-file"])

        // A certificate whose policy stores PEM: downloaded as it is; it has no PKCS#12 to offer.
        yield* onTestClock(certificates.create("pem", { ...WEB_POLICY, contentType: "application/x-pem-file" }))
        const stored = yield* certificates.downloadSecret("pem")
        expect(stored.format).toBe("pem")
        expect(() => createSecureContext({ key: Redacted.value(stored.value as Redacted.Redacted<string>), cert: Redacted.value(stored.value as Redacted.Redacted<string>) })).not.toThrow()
        expect(yield* Effect.flip(certificates.downloadPkcs12("pem"))).toMatchObject({ _tag: "ValidationError", field: "format" })
      })
    ).pipe(Effect.provide(vault.layer))
  })

  it.effect("issuer Unknown: the operation waits with a CSR until the chain an external CA signed is merged", () =>
    withCertificates((certificates) =>
      Effect.gen(function*() {
        const ca = yield* Effect.promise(() => issue("CN=Test Root CA", { ca: true }))
        const operation = yield* certificates.beginCreate("partner", {
          issuerName: "Unknown",
          subject: "CN=partner.example.com",
          keyType: "EC",
          keyCurveName: "P-256"
        })
        expect(operation).toMatchObject({ name: "partner", status: "inProgress", issuerName: "Unknown" })
        expect(operation.csrPem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/)
        // Pending: visible only to lists that include pending certificates; `create` would wait in vain.
        const pending = yield* collect(certificates.listProperties({ includePending: true }))
        expect(pending.map((p) => p.name)).toContain("partner")
        expect((yield* collect(certificates.listProperties())).map((p) => p.name)).not.toContain("partner")
        expect(yield* Effect.flip(certificates.waitForOperation("partner"))).toMatchObject({
          _tag: "CertificateOperationError",
          reason: "AwaitingMerge"
        })

        const leaf = yield* Effect.promise(() => signCsr(operation.csr!, ca))
        const merged = yield* certificates.merge("partner", [leaf, ca.certificatePem])
        expect(merged.cer).toEqual(leaf)
        const details = yield* certificates.getDetails("partner")
        expect(details).toMatchObject({ subject: "CN=partner.example.com", issuer: "CN=Test Root CA", selfIssued: false, serialNumber: "7E57" })
        expect((yield* certificates.getOperation("partner")).status).toBe("completed")
        // The secret holds the merged chain with the key the vault kept for the CSR.
        const pem = Redacted.value(yield* certificates.downloadPem("partner"))
        expect(new X509Certificate(pem).checkPrivateKey(createPrivateKey(pem))).toBe(true)
        expect(pem).toContain(ca.certificatePem.split("\n")[1]!)
      })
    ).pipe(Effect.provide(emulated().layer)))

  it.effect("cancels and deletes a pending operation", () =>
    withCertificates((certificates) =>
      Effect.gen(function*() {
        yield* certificates.beginCreate("cancel-me", { issuerName: "Unknown", subject: "CN=cancel.example.com" })
        const cancelled = yield* certificates.cancelOperation("cancel-me")
        expect(cancelled.cancellationRequested).toBe(true)
        const deleted = yield* certificates.deleteOperation("cancel-me")
        expect(deleted.name).toBe("cancel-me")
        expect(yield* Effect.flip(certificates.getOperation("cancel-me"))).toMatchObject({ _tag: "NotFoundError" })
      })
    ).pipe(Effect.provide(emulated().layer)))

  it.effect("imports PEM and PKCS#12 (with a password); the import reads back, downloads and parses", () =>
    withCertificates((certificates) =>
      Effect.gen(function*() {
        const fromPem = yield* certificates.importPem("from-pem", Redacted.make(`${web.keyPem}${web.certificatePem}`), {
          tags: { source: "pem" }
        })
        expect(fromPem.cer).toEqual(web.der)
        expect(fromPem.properties.tags).toEqual({ source: "pem" })
        expect(fromPem.contentType).toBe("application/x-pem-file")
        const pem = Redacted.value(yield* certificates.downloadPem("from-pem"))
        expect(createPrivateKey(pem).asymmetricKeyType).toBe("ec")
        expect(new X509Certificate(pem).checkPrivateKey(createPrivateKey(pem))).toBe(true)

        const fromPfx = yield* certificates.importPkcs12("from-pfx", legacy.pfx, {
          password: Redacted.make("correct horse"),
          policy: { lifetimeActions: [{ action: "EmailContacts", daysBeforeExpiry: 30 }] }
        })
        expect(fromPfx.cer).toEqual(legacy.der)
        expect(fromPfx.policy).toMatchObject({ lifetimeActions: [{ action: "EmailContacts", daysBeforeExpiry: 30 }] })
        expect(yield* certificates.getDetails("from-pfx")).toMatchObject({ subject: "CN=legacy.example.com", keyType: "RSA", keySize: 2048 })
        const pfx = Redacted.value(yield* certificates.downloadPkcs12("from-pfx"))
        expect(() => createSecureContext({ pfx: Buffer.from(pfx), passphrase: "" })).not.toThrow()

        // A PFX downloaded from the vault imports again under another name.
        const again = yield* certificates.importPkcs12("copy", pfx)
        expect(again.cer).toEqual(legacy.der)

        // A wrong password is the vault's refusal, and nothing is stored.
        expect(yield* Effect.flip(certificates.importPkcs12("wrong", legacy.pfx, { password: "wrong horse" }))).toMatchObject({
          _tag: "BadRequestError"
        })
        expect(yield* Effect.flip(certificates.get("wrong"))).toMatchObject({ _tag: "NotFoundError" })
      })
    ).pipe(Effect.provide(emulated().layer)))

  it.effect("updates properties and the policy; versions list; the cache forgets what changed", () =>
    withCertificates((certificates) =>
      Effect.gen(function*() {
        const first = yield* onTestClock(certificates.create("web", WEB_POLICY))
        expect((yield* certificates.get("web")).properties.version).toBe(first.properties.version)
        const reads = (yield* journal({ operation: "getCertificate", name: "web" })).length
        yield* certificates.get("web")
        expect(yield* journal({ operation: "getCertificate", name: "web" })).toHaveLength(reads)

        const updated = yield* certificates.updateProperties("web", { enabled: false, tags: { env: "test" } })
        expect(updated.properties).toMatchObject({ enabled: false, tags: { env: "test" } })
        yield* certificates.updateProperties("web", { enabled: true })

        const policy = yield* certificates.updatePolicy("web", {
          validityInMonths: 24,
          lifetimeActions: [{ action: "AutoRenew", lifetimePercentage: 75 }]
        })
        expect(policy).toMatchObject({ validityInMonths: 24, lifetimeActions: [{ action: "AutoRenew", lifetimePercentage: 75 }] })
        expect(yield* certificates.getPolicy("web")).toMatchObject({ validityInMonths: 24, subject: "CN=web.example.com, O=Contoso" })

        const second = yield* onTestClock(certificates.create("web", { issuerName: "Self", subject: "CN=web.example.com" }))
        expect(second.properties.version).not.toBe(first.properties.version)
        // The latest is the new version: the create forgot the cached one.
        expect((yield* certificates.get("web")).properties.version).toBe(second.properties.version)
        expect((yield* certificates.get("web", { version: first.properties.version! })).properties.tags).toEqual({ env: "test" })
        const versions = yield* collect(certificates.listVersions("web", { maxPageSize: 1 }))
        expect(versions.map((v) => v.version).sort()).toEqual([first.properties.version, second.properties.version].sort())
      })
    ).pipe(Effect.provide(emulated().layer)))

  it.effect("deletes, recovers, purges; backs up and restores", () =>
    withCertificates((certificates) =>
      Effect.gen(function*() {
        const original = yield* certificates.importPem("api", `${web.certificatePem}${web.keyPem}`)
        yield* certificates.get("api")
        const deleted = yield* certificates.delete("api")
        expect(deleted).toMatchObject({ name: "api", recoveryId: `${VAULT}/deletedcertificates/api` })
        expect(deleted.cer).toEqual(original.cer)
        expect(deleted.scheduledPurgeDate!.getTime()).toBeGreaterThan(deleted.deletedOn!.getTime())
        // The cached certificate went with the delete.
        expect(yield* Effect.flip(certificates.get("api"))).toMatchObject({ _tag: "NotFoundError" })
        expect((yield* certificates.getDeleted("api")).name).toBe("api")
        expect((yield* collect(certificates.listDeleted())).map((d) => d.name)).toEqual(["api"])

        const recovered = yield* certificates.recover("api")
        expect(recovered.cer).toEqual(original.cer)
        expect((yield* certificates.get("api")).cer).toEqual(original.cer)

        const backup = yield* certificates.backup("api")
        yield* certificates.delete("api")
        yield* certificates.purge("api")
        expect(yield* Effect.flip(certificates.getDeleted("api"))).toMatchObject({ _tag: "NotFoundError" })
        const restored = yield* certificates.restore(backup)
        expect(restored.name).toBe("api")
        expect(restored.cer).toEqual(original.cer)
        expect(yield* Effect.flip(certificates.restore(backup))).toMatchObject({ _tag: "ConflictError" })
      })
    ).pipe(Effect.provide(emulated().layer)))

  it.effect("contacts and issuers", () =>
    withCertificates((certificates) =>
      Effect.gen(function*() {
        const set = yield* certificates.setContacts([{ email: "ops@example.com", name: "Ops", phone: "555-0100" }])
        expect(set).toEqual([{ email: "ops@example.com", name: "Ops", phone: "555-0100" }])
        expect(yield* certificates.getContacts()).toEqual(set)
        expect(yield* certificates.deleteContacts()).toEqual(set)

        const issuer = yield* certificates.createIssuer("digicert", "DigiCert", {
          accountId: "account-1",
          password: Redacted.make("api-key-1"),
          organizationId: "org-1",
          administratorContacts: [{ email: "admin@example.com", firstName: "Ada", lastName: "Admin" }]
        })
        expect(issuer).toMatchObject({ name: "digicert", provider: "DigiCert", accountId: "account-1", organizationId: "org-1" })
        expect(issuer.administratorContacts).toMatchObject([{ email: "admin@example.com", firstName: "Ada", lastName: "Admin" }])
        const updated = yield* certificates.updateIssuer("digicert", { enabled: false, accountId: "account-2" })
        expect(updated).toMatchObject({ enabled: false, accountId: "account-2", provider: "DigiCert" })
        expect((yield* certificates.getIssuer("digicert")).accountId).toBe("account-2")
        yield* certificates.createIssuer("globalsign", "GlobalSign")
        expect((yield* collect(certificates.listIssuers())).map((i) => i.name).sort()).toEqual(["digicert", "globalsign"])
        expect((yield* certificates.deleteIssuer("digicert")).name).toBe("digicert")
        expect(yield* Effect.flip(certificates.getIssuer("digicert"))).toMatchObject({ _tag: "NotFoundError" })
      })
    ).pipe(Effect.provide(emulated().layer)))

  it.effect("bad input never reaches the vault", () =>
    withCertificates((certificates) =>
      Effect.gen(function*() {
        const calls: ReadonlyArray<Effect.Effect<unknown, KeyVaultError.KeyVaultError>> = [
          certificates.beginCreate("web", { ...WEB_POLICY, keyType: "RSA", keyCurveName: undefined, keySize: 1000 }),
          certificates.beginCreate("web", { ...WEB_POLICY, keyCurveName: "P-192" as never }),
          certificates.importPem("web", `${web.certificatePem}${other.keyPem}`),
          certificates.merge("web", [new Uint8Array([1, 2, 3])]),
          certificates.setContacts([{ email: "not-an-email" }])
        ]
        for (const call of calls) {
          expect(yield* Effect.flip(call)).toMatchObject({ _tag: "ValidationError" })
        }
        expect(yield* journal()).toHaveLength(0)
      })
    ).pipe(Effect.provide(emulated().layer)))
})
