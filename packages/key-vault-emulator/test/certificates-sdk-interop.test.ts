/**
 * The official `CertificateClient` (@azure/keyvault-certificates 4.10), with `SecretClient` and `KeyClient` /
 * `CryptographyClient` for the managed secret and key, against the emulator: every method a standard vault offers,
 * two ways (as for secrets and keys):
 * - through the in-process transport, with the real vault URL and challenge-resource verification left on;
 * - over real HTTPS to the emulator's server on loopback, trusting its local CA.
 *
 * `cancelCertificateOperation` is the operation poller's `cancelOperation` in this SDK version.
 */
import type { TokenCredential } from "@azure/core-auth"
import { CertificateClient } from "@azure/keyvault-certificates"
import type { CertificateClientOptions, CertificatePolicy } from "@azure/keyvault-certificates"
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys"
import { SecretClient } from "@azure/keyvault-secrets"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Tls from "node:tls"
import * as Emulator from "../src/Emulator.js"
import * as HttpsServer from "../src/server/HttpsServer.js"
import * as TlsMaterial from "../src/server/Tls.js"
import { makeAzureHttpClient } from "../src/testing/AzureSdkTransport.js"
import type { KeyAndCertificate } from "./certificates-support.js"
import { forgePfx, makeCa, selfSigned, signCsr } from "./certificates-support.js"
import { collect, poll, restError } from "./sdk-support.js"

const credential: TokenCredential = {
  getToken: async () => ({ token: "emulator", expiresOnTimestamp: Date.now() + 3600_000 })
}

interface Clients {
  readonly certificates: CertificateClient
  readonly secrets: SecretClient
  readonly keys: KeyClient
  readonly options: CertificateClientOptions
  readonly vaultUrl: string
}

interface Harness {
  readonly name: string
  /** Clients on a fresh, empty emulator. */
  readonly make: () => Promise<Clients>
}

const clients = (vaultUrl: string, options: CertificateClientOptions): Clients => ({
  vaultUrl,
  options,
  certificates: new CertificateClient(vaultUrl, credential, options),
  secrets: new SecretClient(vaultUrl, credential, options),
  keys: new KeyClient(vaultUrl, credential, options)
})

const inProcess: Harness = {
  name: "in-process transport",
  make: async () =>
    clients("https://myvault.vault.azure.net", { httpClient: makeAzureHttpClient(Effect.runSync(Emulator.make())) })
}

const serverScope = Effect.runSync(Scope.make())
afterAll(() => Effect.runPromise(Scope.close(serverScope, Exit.void)))
const stateDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-certificates-https-"))

const overHttps: Harness = {
  name: "HTTPS server",
  make: () =>
    Effect.runPromise(Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const tls = yield* TlsMaterial.ensureTlsMaterial({ stateDir })
      const server = yield* Scope.extend(
        HttpsServer.serve({ handler: emulator.handler, tls: { cert: tls.certPem, key: tls.keyPem } }),
        serverScope
      )
      return clients(server.url, { disableChallengeResourceVerification: true, tlsOptions: { ca: tls.caCertPem } })
    }))
}


const selfPolicy = (subject: string): CertificatePolicy => ({
  issuerName: "Self",
  subject,
  keyType: "EC",
  keyCurveName: "P-256",
  subjectAlternativeNames: { dnsNames: ["sdk.example.com"] }
})

const sha1 = (bytes: Uint8Array): Buffer => Crypto.createHash("sha1").update(bytes).digest()

// One RSA certificate for the PKCS#12 imports of both harnesses (RSA generation is the slow part).
let rsaImport: Promise<KeyAndCertificate> | undefined
const rsaCertificate = (): Promise<KeyAndCertificate> => (rsaImport ??= selfSigned("RSA", "CN=sdk-pfx"))

describe.each([inProcess, overHttps])("CertificateClient against the emulator ($name)", ({ make }) => {
  it("creates with Self through the poller; reads the certificate, its secret (PKCS#12) and its key, which signs", async () => {
    const { certificates, keys, options, secrets, vaultUrl } = await make()
    const poller = await certificates.beginCreateCertificate("Sdk-Self", selfPolicy("cn=sdk-self"), {
      ...poll,
      tags: { env: "test" }
    })
    const created = await poller.pollUntilDone()
    const version = created.properties.version!
    expect(version).toMatch(/^[0-9a-f]{32}$/)
    expect(created.properties.tags).toEqual({ env: "test" })
    expect(created.keyId).toBe(`${vaultUrl}/keys/Sdk-Self/${version}`)
    expect(created.secretId).toBe(`${vaultUrl}/secrets/Sdk-Self/${version}`)
    const x509 = new Crypto.X509Certificate(created.cer!)
    expect(x509.subject).toBe("CN=sdk-self")
    expect(x509.subjectAltName).toBe("DNS:sdk.example.com")
    expect(Buffer.from(created.properties.x509Thumbprint!)).toEqual(sha1(created.cer!))
    expect(created.policy).toMatchObject({ issuerName: "Self", keyType: "EC", keyCurveName: "P-256", validityInMonths: 12 })

    const byVersion = await certificates.getCertificateVersion("sdk-self", version)
    expect(Buffer.from(byVersion.cer!)).toEqual(Buffer.from(created.cer!))
    expect((await certificates.getCertificate("SDK-SELF")).properties.version).toBe(version)

    const secret = await secrets.getSecret("Sdk-Self")
    expect(secret.properties).toMatchObject({ managed: true, contentType: "application/x-pkcs12" })
    expect(secret.properties.certificateKeyId).toBe(created.keyId)
    expect(Tls.createSecureContext({ pfx: Buffer.from(secret.value!, "base64"), passphrase: "" }).context).toBeDefined()

    const key = await keys.getKey("Sdk-Self", { version })
    expect(key.properties.managed).toBe(true)
    expect(key.keyType).toBe("EC")
    const digest = Crypto.createHash("sha256").update("signed through the keys API").digest()
    const signed = await new CryptographyClient(key, credential, options).sign("ES256", digest)
    expect(Crypto.createVerify("sha256").update("signed through the keys API").verify(
      { key: x509.publicKey, dsaEncoding: "ieee-p1363" },
      Buffer.from(signed.result)
    )).toBe(true)
  })

  it("gets and updates the policy, updates properties, lists certificates (includePending) and versions", async () => {
    const { certificates } = await make()
    await (await certificates.beginCreateCertificate("Sdk-Props", selfPolicy("cn=props"), poll)).pollUntilDone()
    await (await certificates.beginCreateCertificate("Sdk-Props", selfPolicy("cn=props"), poll)).pollUntilDone()
    await certificates.beginCreateCertificate("Sdk-Pending", { issuerName: "Unknown", subject: "cn=pending" })

    const policy = await certificates.getCertificatePolicy("Sdk-Props")
    expect(policy).toMatchObject({ subject: "cn=props", contentType: "application/x-pkcs12", exportable: true })
    await certificates.updateCertificatePolicy("Sdk-Props", { ...policy, validityInMonths: 24, contentType: "application/x-pem-file" })
    expect(await certificates.getCertificatePolicy("Sdk-Props")).toMatchObject({
      validityInMonths: 24,
      contentType: "application/x-pem-file"
    })

    const updated = await certificates.updateCertificateProperties("Sdk-Props", "", { enabled: false, tags: { a: "b" } })
    expect(updated.properties).toMatchObject({ enabled: false, tags: { a: "b" } })
    expect((await certificates.getCertificate("Sdk-Props")).properties.enabled).toBe(false)

    expect((await collect(certificates.listPropertiesOfCertificates())).map((p) => p.name)).toEqual(["Sdk-Props"])
    expect((await collect(certificates.listPropertiesOfCertificates({ includePending: true }))).map((p) => p.name))
      .toEqual(["Sdk-Pending", "Sdk-Props"])
    const versions = await collect(certificates.listPropertiesOfCertificateVersions("Sdk-Props"))
    expect(versions).toHaveLength(2)
    expect(versions.every((v) => v.x509Thumbprint !== undefined)).toBe(true)
  })

  it("imports PEM (policy content type) and PKCS#12 with a password", async () => {
    const { certificates, secrets } = await make()
    const ec = await selfSigned("EC", "CN=sdk-pem", ["pem.example.com"])
    const pem = await certificates.importCertificate("Sdk-Pem", Buffer.from(`${ec.keyPem}${ec.certPem}`), {
      policy: { contentType: "application/x-pem-file" }
    })
    expect(Buffer.from(pem.cer!)).toEqual(Buffer.from(ec.der))
    expect(pem.policy).toMatchObject({ subject: "CN=sdk-pem", subjectAlternativeNames: { dnsNames: ["pem.example.com"] } })
    const pemSecret = await secrets.getSecret("Sdk-Pem")
    expect(pemSecret.properties.contentType).toBe("application/x-pem-file")
    expect(new Crypto.X509Certificate(pemSecret.value!).checkPrivateKey(Crypto.createPrivateKey(pemSecret.value!))).toBe(true)

    const rsa = await rsaCertificate()
    const pfx = await certificates.importCertificate("Sdk-Pfx", Buffer.from(forgePfx(rsa, "pfx-pa55"), "base64"), {
      password: "pfx-pa55"
    })
    expect(Buffer.from(pfx.cer!)).toEqual(Buffer.from(rsa.der))
    expect(pfx.policy).toMatchObject({ keyType: "RSA", keySize: 2048, contentType: "application/x-pkcs12" })
    const pfxSecret = await secrets.getSecret("Sdk-Pfx")
    expect(Tls.createSecureContext({ pfx: Buffer.from(pfxSecret.value!, "base64"), passphrase: "" }).context).toBeDefined()
  })

  it("Unknown issuer: reads the operation's CSR, merges a CA-signed chain; cancels and deletes another operation", async () => {
    const { certificates, secrets } = await make()
    await certificates.beginCreateCertificate("Sdk-Manual", { issuerName: "Unknown", subject: "cn=manual.example.com" })
    const operationPoller = await certificates.getCertificateOperation("Sdk-Manual")
    const operation = operationPoller.getOperationState().certificateOperation!
    expect(operation).toMatchObject({ status: "inProgress", issuerName: "Unknown", cancellationRequested: false })

    const ca = await makeCa()
    const leaf = await signCsr(ca, operation.csr!)
    const merged = await certificates.mergeCertificate("Sdk-Manual", [leaf, ca.der])
    expect(Buffer.from(merged.cer!)).toEqual(Buffer.from(leaf))
    expect((await certificates.getCertificate("Sdk-Manual")).properties.version).toBe(merged.properties.version)
    const secret = await secrets.getSecret("Sdk-Manual")
    expect(Tls.createSecureContext({ pfx: Buffer.from(secret.value!, "base64"), passphrase: "" }).context).toBeDefined()

    await certificates.beginCreateCertificate("Sdk-Cancel", { issuerName: "Unknown", subject: "cn=cancel" })
    const cancelPoller = await certificates.getCertificateOperation("Sdk-Cancel")
    await cancelPoller.cancelOperation()
    expect(cancelPoller.getOperationState().certificateOperation).toMatchObject({
      cancellationRequested: true,
      status: "cancelled"
    })
    const deleted = await certificates.deleteCertificateOperation("Sdk-Cancel")
    expect(deleted.status).toBe("cancelled")
    await expect(certificates.getCertificateOperation("Sdk-Cancel")).rejects.toThrow("Pending certificate not found: Sdk-Cancel")
  })

  it("deletes (poller), gets and lists deleted, recovers (poller), purges; the secret follows", async () => {
    const { certificates, keys, secrets } = await make()
    const created = await (await certificates.beginCreateCertificate("Sdk-Del", selfPolicy("cn=del"), poll)).pollUntilDone()
    const deleted = await (await certificates.beginDeleteCertificate("Sdk-Del", poll)).pollUntilDone()
    expect(deleted.recoveryId).toMatch(/\/deletedcertificates\/Sdk-Del$/)
    expect(deleted.deletedOn).toBeInstanceOf(Date)
    expect((await certificates.getDeletedCertificate("Sdk-Del")).properties.version).toBe(created.properties.version)
    expect((await collect(certificates.listDeletedCertificates())).map((d) => d.name)).toEqual(["Sdk-Del"])
    expect((await restError(secrets.getSecret("Sdk-Del"))).statusCode).toBe(404)
    expect((await keys.getDeletedKey("Sdk-Del")).properties.managed).toBe(true)

    const recovered = await (await certificates.beginRecoverDeletedCertificate("Sdk-Del", poll)).pollUntilDone()
    expect(recovered.properties.version).toBe(created.properties.version)
    expect((await secrets.getSecret("Sdk-Del")).properties.managed).toBe(true)

    await (await certificates.beginDeleteCertificate("Sdk-Del", poll)).pollUntilDone()
    expect(await certificates.purgeDeletedCertificate("Sdk-Del")).toBeNull()
    expect((await restError(certificates.getDeletedCertificate("Sdk-Del"))).code).toBe("CertificateNotFound")
    expect((await restError(secrets.getDeletedSecret("Sdk-Del"))).statusCode).toBe(404)
  })

  it("backs up and restores a certificate with its key and secret", async () => {
    const { certificates, secrets } = await make()
    const created = await (await certificates.beginCreateCertificate("Sdk-Backup", selfPolicy("cn=backup"), poll)).pollUntilDone()
    const secretBefore = (await secrets.getSecret("Sdk-Backup")).value
    const backup = await certificates.backupCertificate("Sdk-Backup")
    expect(backup).toBeInstanceOf(Uint8Array)
    await (await certificates.beginDeleteCertificate("Sdk-Backup", poll)).pollUntilDone()
    await certificates.purgeDeletedCertificate("Sdk-Backup")
    const restored = await certificates.restoreCertificateBackup(backup!)
    expect(Buffer.from(restored.cer!)).toEqual(Buffer.from(created.cer!))
    expect(restored.policy?.subject).toBe("cn=backup")
    expect((await secrets.getSecret("Sdk-Backup")).value).toBe(secretBefore)
  })

  it("sets, gets and deletes contacts; creates, gets, updates, lists and deletes issuers", async () => {
    const { certificates } = await make()
    const contacts = [{ email: "a@example.com", name: "a", phone: "111" }, { email: "b@example.com", name: "b", phone: "222" }]
    expect(await certificates.setContacts(contacts)).toEqual(contacts)
    expect(await certificates.getContacts()).toEqual(contacts)
    await certificates.deleteContacts()
    expect((await restError(certificates.getContacts())).code).toBe("ContactsNotFound")

    const issuer = await certificates.createIssuer("Sdk-Issuer", "Test", {
      accountId: "account",
      password: "issuer-password",
      administratorContacts: [{ firstName: "Jo", lastName: "Doe", email: "jo@example.com", phone: "1" }]
    })
    expect(issuer).toMatchObject({ provider: "Test", accountId: "account", enabled: true })
    expect(issuer.password).toBeUndefined()
    expect(await certificates.getIssuer("Sdk-Issuer")).toMatchObject({
      provider: "Test",
      administratorContacts: [{ firstName: "Jo", email: "jo@example.com" }]
    })
    expect((await certificates.updateIssuer("Sdk-Issuer", { accountId: "account-2" })).accountId).toBe("account-2")
    await certificates.createIssuer("Sdk-Issuer-0", "DigiCert")
    expect(await collect(certificates.listPropertiesOfIssuers())).toEqual([
      { id: expect.stringMatching(/\/certificates\/issuers\/Sdk-Issuer$/), provider: "Test" },
      { id: expect.stringMatching(/\/certificates\/issuers\/Sdk-Issuer-0$/), provider: "DigiCert" }
    ])
    expect((await certificates.deleteIssuer("Sdk-Issuer")).provider).toBe("Test")
    const gone = await restError(certificates.getIssuer("Sdk-Issuer"))
    expect(gone).toMatchObject({ statusCode: 404, code: "CertificateIssuerNotFound", message: "Issuer not found" })
  })

  it("answers bad input with Key Vault errors and stores nothing", async () => {
    const { certificates, keys, secrets } = await make()
    const rsa1000 = await restError(certificates.beginCreateCertificate("Sdk-Bad", {
      issuerName: "Self",
      subject: "cn=bad",
      keyType: "RSA",
      keySize: 1000
    }))
    expect(rsa1000).toMatchObject({ statusCode: 400, code: "BadParameter" })
    const curve = await restError(certificates.beginCreateCertificate("Sdk-Bad", {
      issuerName: "Self",
      subject: "cn=bad",
      keyType: "EC",
      keyCurveName: "P-999"
    }))
    expect(curve).toMatchObject({ statusCode: 400, code: "BadParameter" })
    const malformed = await restError(certificates.importCertificate(
      "Sdk-Bad",
      Buffer.from("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"),
      { policy: { contentType: "application/x-pem-file" } }
    ))
    expect(malformed).toMatchObject({ statusCode: 400, code: "BadParameter" })
    const rsa = await rsaCertificate()
    const wrongPassword = await restError(certificates.importCertificate(
      "Sdk-Bad",
      Buffer.from(forgePfx(rsa, "the-right-one"), "base64"),
      { password: "the-wrong-one" }
    ))
    expect(wrongPassword).toMatchObject({ statusCode: 400, code: "BadParameter" })
    expect(wrongPassword.message).not.toContain("the-wrong-one")

    await certificates.beginCreateCertificate("Sdk-Merge", { issuerName: "Unknown", subject: "cn=merge" })
    const stranger = await selfSigned("EC", "CN=stranger")
    const mismatch = await restError(certificates.mergeCertificate("Sdk-Merge", [stranger.der]))
    expect(mismatch).toMatchObject({ statusCode: 400, code: "BadParameter" })
    const operation = await certificates.getCertificateOperation("Sdk-Merge")
    expect(operation.getOperationState().certificateOperation?.status).toBe("inProgress")

    expect((await restError(certificates.getCertificate("Sdk-Bad"))).code).toBe("CertificateNotFound")
    expect((await restError(secrets.getSecret("Sdk-Bad"))).code).toBe("SecretNotFound")
    expect((await restError(keys.getKey("Sdk-Bad"))).code).toBe("KeyNotFound")
  })
})
