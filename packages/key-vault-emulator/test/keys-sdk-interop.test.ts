/**
 * The official `KeyClient` and `CryptographyClient` (@azure/keyvault-keys 4.10) against the emulator, every method
 * a standard vault offers, two ways (as for secrets):
 * - through the in-process transport, with the real vault URL and challenge-resource verification left on;
 * - over real HTTPS to the emulator's server on loopback, trusting its local CA.
 *
 * The SDK does some work locally once it holds the public key: it encrypts and wraps with RSA1_5 / RSA-OAEP and
 * verifies RS* / PS* data signatures itself, so those cases also prove that the emulator's JWK is exact.
 */
import type { TokenCredential } from "@azure/core-auth"
import type { CryptographyClientOptions, JsonWebKey, SignatureAlgorithm } from "@azure/keyvault-keys"
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Emulator from "../src/Emulator.js"
import * as HttpsServer from "../src/server/HttpsServer.js"
import * as Tls from "../src/server/Tls.js"
import { makeAzureHttpClient } from "../src/testing/AzureSdkTransport.js"
import { ecPair, pkcs1Decrypt, rsaPair } from "./keys-support.js"
import { collect, poll, restError } from "./sdk-support.js"

const credential: TokenCredential = {
  getToken: async () => ({ token: "emulator", expiresOnTimestamp: Date.now() + 3600_000 })
}

interface Harness {
  readonly name: string
  /** A client on a fresh, empty emulator, and the vault URL it uses. */
  readonly make: () => Promise<{
    readonly client: KeyClient
    readonly vaultUrl: string
    /** The pipeline options the client was made with, for a directly constructed `CryptographyClient`. */
    readonly options: CryptographyClientOptions
  }>
}

const inProcess: Harness = {
  name: "in-process transport",
  make: async () => {
    const vaultUrl = "https://myvault.vault.azure.net"
    const emulator = Effect.runSync(Emulator.make())
    const options = { httpClient: makeAzureHttpClient(emulator) }
    return { vaultUrl, options, client: new KeyClient(vaultUrl, credential, options) }
  }
}

const serverScope = Effect.runSync(Scope.make())
afterAll(() => Effect.runPromise(Scope.close(serverScope, Exit.void)))
const stateDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-keys-https-"))

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
      const options = { disableChallengeResourceVerification: true, tlsOptions: { ca: tls.caCertPem } }
      const client = new KeyClient(server.url, credential, options)
      return { vaultUrl: server.url, options, client }
    }))
}


/** A Node private key as the SDK's JsonWebKey (bytes, Key Vault's curve names). */
const sdkJwk = (privateKey: Crypto.KeyObject): JsonWebKey => {
  const jwk = privateKey.export({ format: "jwk" })
  const bytes = (s: string | undefined): Uint8Array => new Uint8Array(Buffer.from(s ?? "", "base64url"))
  return jwk.kty === "RSA"
    ? {
      kty: "RSA",
      n: bytes(jwk.n),
      e: bytes(jwk.e),
      d: bytes(jwk.d),
      p: bytes(jwk.p),
      q: bytes(jwk.q),
      dp: bytes(jwk.dp),
      dq: bytes(jwk.dq),
      qi: bytes(jwk.qi)
    }
    : { kty: "EC", crv: jwk.crv === "secp256k1" ? "P-256K" : jwk.crv ?? "", x: bytes(jwk.x), y: bytes(jwk.y), d: bytes(jwk.d) }
}

const hashOf = (alg: SignatureAlgorithm): "sha256" | "sha384" | "sha512" =>
  alg.endsWith("384") ? "sha384" : alg.endsWith("512") ? "sha512" : "sha256"

describe.each([inProcess, overHttps])("KeyClient against the emulator ($name)", ({ make }) => {
  it("creates RSA, RSA-HSM and EC keys of every curve; refuses oct; gets the latest and a given version", async () => {
    const { client, vaultUrl } = await make()
    const rsa = await client.createKey("Sdk-Rsa", "RSA", { tags: { env: "test" }, keyOps: ["sign", "verify"] })
    expect(rsa.name).toBe("Sdk-Rsa")
    expect(rsa.keyType).toBe("RSA")
    expect(rsa.keyOperations).toEqual(["sign", "verify"])
    expect(rsa.key?.n?.length).toBe(256)
    expect(Buffer.from(rsa.key!.e!).toString("base64url")).toBe("AQAB")
    expect([rsa.key?.d, rsa.key?.p, rsa.key?.q, rsa.key?.dp, rsa.key?.dq, rsa.key?.qi]).toEqual(Array(6).fill(undefined))
    expect(rsa.properties).toMatchObject({
      enabled: true,
      tags: { env: "test" },
      recoveryLevel: "Recoverable+Purgeable",
      recoverableDays: 90,
      exportable: false,
      vaultUrl
    })
    expect(rsa.properties.version).toMatch(/^[0-9a-f]{32}$/)
    expect(rsa.id).toBe(`${vaultUrl}/keys/Sdk-Rsa/${rsa.properties.version}`)

    const hsm = await client.createRsaKey("sdk-rsa", { hsm: true, publicExponent: 3, keySize: 2048 })
    expect(hsm.keyType).toBe("RSA-HSM")
    // KeyClient 4.10.2 never forwards `publicExponent` (createKey drops it), so the vault's default 65537 applies;
    // the exponent itself is covered over REST in keys-app.test.ts.
    expect(Buffer.from(hsm.key!.e!).toString("base64url")).toBe("AQAB")
    expect(hsm.key?.keyOps).toEqual(["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"])

    for (const curve of ["P-256", "P-384", "P-521", "P-256K"] as const) {
      const ec = await client.createEcKey(`ec-${curve}`, { curve })
      expect(ec.keyType).toBe("EC")
      expect(ec.key?.crv).toBe(curve)
      expect(ec.key?.x?.length).toBe(curve === "P-521" ? 66 : curve === "P-384" ? 48 : 32)
    }
    const defaultCurve = await client.createEcKey("ec-default", { hsm: true })
    expect(defaultCurve.keyType).toBe("EC-HSM")
    expect(defaultCurve.key?.crv).toBe("P-256")

    const oct = await restError(client.createOctKey("oct"))
    expect(oct.statusCode).toBe(400)
    expect(oct.code).toBe("BadParameter")
    const badSize = await restError(client.createRsaKey("bad", { keySize: 1024 }))
    expect(badSize.statusCode).toBe(400)

    expect((await client.getKey("SDK-RSA")).properties.version).toBe(hsm.properties.version)
    const first = await client.getKey("sdk-rsa", { version: rsa.properties.version! })
    expect(first.keyOperations).toEqual(["sign", "verify"])
    const missing = await restError(client.getKey("nope"))
    expect(missing.statusCode).toBe(404)
    expect(missing.code).toBe("KeyNotFound")
  })

  it("imports RSA and EC keys (Hsm flag too) and refuses a public-only key", async () => {
    const { client } = await make()
    const rsa = await rsaPair(2048)
    const imported = await client.importKey("imported", sdkJwk(rsa.privateKey), { hardwareProtected: true, tags: { a: "b" } })
    expect(imported.keyType).toBe("RSA-HSM")
    expect(Buffer.from(imported.key!.n!)).toEqual(Buffer.from(rsa.publicKey.export({ format: "jwk" }).n!, "base64url"))
    expect(imported.key?.d).toBeUndefined()
    const ec = ecPair("P-256K")
    const ecImported = await client.importKey("imported-ec", sdkJwk(ec.privateKey))
    expect(ecImported.key?.crv).toBe("P-256K")
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicOnly } = sdkJwk(rsa.privateKey)
    const refused = await restError(client.importKey("public-only", publicOnly))
    expect(refused.statusCode).toBe(400)
    expect(refused.code).toBe("BadParameter")
  })

  it("updates properties by version and for the latest; a disabled key is still readable", async () => {
    const { client } = await make()
    const created = await client.createEcKey("upd")
    const expiresOn = new Date("2037-01-01T00:00:00Z")
    const updated = await client.updateKeyProperties("upd", created.properties.version!, {
      enabled: false,
      tags: { x: "y" },
      keyOps: ["verify"],
      expiresOn
    })
    expect(updated.properties).toMatchObject({ enabled: false, tags: { x: "y" }, expiresOn })
    expect(updated.keyOperations).toEqual(["verify"])
    expect((await client.getKey("upd")).properties.enabled).toBe(false)
    const latest = await client.updateKeyProperties("upd", { enabled: true })
    expect(latest.properties.enabled).toBe(true)
  })

  it("lists keys, versions and deleted keys, also page by page", async () => {
    const { client, vaultUrl } = await make()
    for (const name of ["k1", "k2", "k3", "k4", "k5"]) await client.createEcKey(name)
    for (let i = 0; i < 2; i++) await client.rotateKey("k1")

    const all = await collect(client.listPropertiesOfKeys())
    expect(all.map((p) => p.name)).toEqual(["k1", "k2", "k3", "k4", "k5"])
    expect(all.every((p) => p.version === undefined)).toBe(true)
    expect((await collect(client.listPropertiesOfKeys().byPage({ maxPageSize: 2 }))).map((p) => p.length)).toEqual([
      2,
      2,
      1
    ])
    const versions = await collect(client.listPropertiesOfKeyVersions("k1"))
    expect(new Set(versions.map((v) => v.version)).size).toBe(3)
    const versionPages = await collect(client.listPropertiesOfKeyVersions("k1").byPage({ maxPageSize: 2 }))
    expect(versionPages.map((p) => p.length)).toEqual([2, 1])

    for (const name of ["k1", "k2", "k3"]) await (await client.beginDeleteKey(name, poll)).pollUntilDone()
    const deleted = await collect(client.listDeletedKeys())
    expect(deleted.map((d) => d.name)).toEqual(["k1", "k2", "k3"])
    expect(deleted[0]?.properties.recoveryId).toBe(`${vaultUrl}/deletedkeys/k1`)
    expect((await collect(client.listDeletedKeys().byPage({ maxPageSize: 2 }))).map((p) => p.length)).toEqual([2, 1])
  })

  it("deletes, gets deleted, recovers, purges, and refuses a deleted name with 409", async () => {
    const { client, vaultUrl } = await make()
    const created = await client.createEcKey("lifecycle")
    const deleted = await (await client.beginDeleteKey("lifecycle", poll)).pollUntilDone()
    expect(deleted.name).toBe("lifecycle")
    expect(deleted.properties.recoveryId).toBe(`${vaultUrl}/deletedkeys/lifecycle`)
    expect(deleted.properties.deletedOn).toBeInstanceOf(Date)
    expect(deleted.properties.scheduledPurgeDate).toBeInstanceOf(Date)
    expect(deleted.key?.x).toEqual(created.key?.x)

    const conflict = await restError(client.createEcKey("lifecycle"))
    expect(conflict.statusCode).toBe(409)
    expect(conflict.code).toBe("Conflict")
    expect((await client.getDeletedKey("lifecycle")).name).toBe("lifecycle")

    const recovered = await (await client.beginRecoverDeletedKey("lifecycle", poll)).pollUntilDone()
    expect(recovered.name).toBe("lifecycle")
    expect((await client.getKey("lifecycle")).key?.x).toEqual(created.key?.x)

    await (await client.beginDeleteKey("lifecycle", poll)).pollUntilDone()
    await client.purgeDeletedKey("lifecycle")
    const again = await restError(client.purgeDeletedKey("lifecycle"))
    expect(again.statusCode).toBe(404)
    expect(again.code).toBe("KeyNotFound")
  })

  it("backs up and restores into another emulator; the restored key decrypts old ciphertext", async () => {
    const { client } = await make()
    const key = await client.createRsaKey("backed-up")
    const ciphertext = await client.getCryptographyClient("backed-up").encrypt("RSA-OAEP-256", Buffer.from("secret"))
    const backup = await client.backupKey("backed-up")
    expect(backup).toBeInstanceOf(Uint8Array)
    expect((await restError(client.restoreKeyBackup(backup!))).statusCode).toBe(409)

    const { client: other } = await make()
    const restored = await other.restoreKeyBackup(backup!)
    expect(restored.key?.n).toEqual(key.key?.n)
    const plain = await other.getCryptographyClient("backed-up").decrypt("RSA-OAEP-256", ciphertext.result)
    expect(Buffer.from(plain.result).toString()).toBe("secret")
    const malformed = await restError(other.restoreKeyBackup(new Uint8Array([1, 2, 3])))
    expect(malformed.statusCode).toBe(400)
  })

  it("rotates, reads the default rotation policy, updates it, and refuses an invalid one", async () => {
    const { client } = await make()
    const key = await client.createEcKey("rot", { curve: "P-384", tags: { t: "1" } })
    const rotated = await client.rotateKey("rot")
    expect(rotated.properties.version).not.toBe(key.properties.version)
    expect(rotated.key?.crv).toBe("P-384")
    expect(rotated.key?.x).not.toEqual(key.key?.x)
    expect(rotated.properties.tags).toEqual({ t: "1" })

    const byDefault = await client.getKeyRotationPolicy("rot")
    expect(byDefault.id).toBeUndefined()
    expect(byDefault.lifetimeActions).toEqual([{ action: "Notify", timeBeforeExpiry: "P30D", timeAfterCreate: undefined }])

    const policy = await client.updateKeyRotationPolicy("rot", {
      expiresIn: "P90D",
      lifetimeActions: [{ action: "Rotate", timeBeforeExpiry: "P30D" }]
    })
    expect(policy.id).toMatch(/\/keys\/rot\/rotationpolicy$/)
    expect(policy.expiresIn).toBe("P90D")
    expect(policy.createdOn).toBeInstanceOf(Date)
    expect(await client.getKeyRotationPolicy("rot")).toEqual(policy)

    const invalid = await restError(client.updateKeyRotationPolicy("rot", { expiresIn: "P7D" }))
    expect(invalid.statusCode).toBe(400)
    expect(invalid.code).toBe("BadParameter")
    expect((await restError(client.getKeyRotationPolicy("missing"))).statusCode).toBe(404)
  })

  it("gets random bytes; release and attestation fail with a Key Vault error on a standard vault", async () => {
    const { client } = await make()
    expect((await client.getRandomBytes(16)).length).toBe(16)
    expect((await client.getRandomBytes(128)).length).toBe(128)
    expect((await restError(client.getRandomBytes(129))).statusCode).toBe(400)
    await client.createEcKey("plain")
    const release = await restError(client.releaseKey("plain", "attestation-token"))
    expect(release.statusCode).toBe(400)
    expect(release.code).toBe("BadParameter")
    const attestation = await restError(client.getKeyAttestation("plain"))
    expect(attestation.statusCode).toBe(400)
    expect(attestation.code).toBe("BadParameter")
  })
})

describe.each([inProcess, overHttps])("CryptographyClient against the emulator ($name)", ({ make }) => {
  it("encrypts and decrypts with all three RSA algorithms, version-less and by version, and cross-checks Node", async () => {
    const { client, options } = await make()
    const pair = await rsaPair(2048)
    const key = await client.importKey("enc", sdkJwk(pair.privateKey))
    const clients = [
      client.getCryptographyClient("enc"),
      client.getCryptographyClient("enc", { keyVersion: key.properties.version! }),
      // Constructed directly, from the key object and from a version-less key id.
      new CryptographyClient(key, credential, options),
      new CryptographyClient(key.id!.replace(/\/[0-9a-f]{32}$/, ""), credential, options)
    ]
    for (const crypto of clients) {
      for (const algorithm of ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"] as const) {
        const plaintext = Crypto.randomBytes(40)
        const encrypted = await crypto.encrypt({ algorithm, plaintext })
        expect(encrypted.result.length).toBe(256)
        const decrypted = await crypto.decrypt({ algorithm, ciphertext: encrypted.result })
        expect(Buffer.from(decrypted.result)).toEqual(plaintext)
        expect(decrypted.keyID).toContain("/keys/enc")
        const byNode = algorithm === "RSA1_5"
          ? pkcs1Decrypt(pair.privateKey, encrypted.result)
          : Crypto.privateDecrypt(
            { key: pair.privateKey, oaepHash: algorithm === "RSA-OAEP" ? "sha1" : "sha256" },
            encrypted.result
          )
        expect(byNode).toEqual(plaintext)
      }
    }
    const refused = await restError(client.getCryptographyClient("enc").decrypt("RSA-OAEP", new Uint8Array(256)))
    expect(refused.statusCode).toBe(400)
  })

  it("wraps and unwraps keys with all three RSA algorithms", async () => {
    const { client } = await make()
    const pair = await rsaPair(3072)
    await client.importKey("wrap", sdkJwk(pair.privateKey))
    const crypto = client.getCryptographyClient("wrap")
    for (const algorithm of ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"] as const) {
      const cek = Crypto.randomBytes(32)
      const wrapped = await crypto.wrapKey(algorithm, cek)
      expect(wrapped.result.length).toBe(384)
      const unwrapped = await crypto.unwrapKey(algorithm, wrapped.result)
      expect(Buffer.from(unwrapped.result)).toEqual(cek)
    }
  })

  it("signs and verifies digests and data with every RSA and EC algorithm", async () => {
    const { client } = await make()
    const rsa = await rsaPair(2048)
    await client.importKey("sig-rsa", sdkJwk(rsa.privateKey))
    const rsaCrypto = client.getCryptographyClient("sig-rsa")
    for (const algorithm of ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] as const) {
      const data = Buffer.from(`sdk data ${algorithm}`)
      const digest = Crypto.createHash(hashOf(algorithm)).update(data).digest()
      const signed = await rsaCrypto.sign(algorithm, digest)
      expect((await rsaCrypto.verify(algorithm, digest, signed.result)).result).toBe(true)
      const padding = algorithm.startsWith("PS")
        ? { padding: Crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: Crypto.constants.RSA_PSS_SALTLEN_DIGEST }
        : { padding: Crypto.constants.RSA_PKCS1_PADDING }
      expect(Crypto.verify(hashOf(algorithm), data, { key: rsa.publicKey, ...padding }, signed.result)).toBe(true)

      const signedData = await rsaCrypto.signData(algorithm, data)
      const verifiedData = await rsaCrypto.verifyData(algorithm, data, signedData.result)
      // verifyData runs locally in the SDK for RSA. For PS* it uses Node's default (PKCS#1 v1.5) padding, a known SDK
      // bug, so a valid PSS signature is reported invalid; the emulator's own verify (remote, by digest) accepts it.
      expect(verifiedData.result).toBe(algorithm.startsWith("RS"))
      const dataDigest = Crypto.createHash(hashOf(algorithm)).update(data).digest()
      expect((await rsaCrypto.verify(algorithm, dataDigest, signedData.result)).result).toBe(true)
      expect(Crypto.verify(hashOf(algorithm), data, { key: rsa.publicKey, ...padding }, signedData.result)).toBe(true)
    }

    for (const [curve, algorithm] of [["P-256", "ES256"], ["P-384", "ES384"], ["P-521", "ES512"], ["P-256K", "ES256K"]] as const) {
      await client.createEcKey(`sig-${curve}`, { curve })
      const ecCrypto = client.getCryptographyClient(`sig-${curve}`)
      const data = Buffer.from(`sdk data ${algorithm}`)
      const digest = Crypto.createHash(hashOf(algorithm)).update(data).digest()
      const signed = await ecCrypto.sign(algorithm, digest)
      expect(signed.result.length).toBe(curve === "P-521" ? 132 : curve === "P-384" ? 96 : 64)
      expect((await ecCrypto.verify(algorithm, digest, signed.result)).result).toBe(true)
      const signedData = await ecCrypto.signData(algorithm, data)
      expect((await ecCrypto.verifyData(algorithm, data, signedData.result)).result).toBe(true)
      expect((await ecCrypto.verifyData(algorithm, Buffer.from("other"), signedData.result)).result).toBe(false)
    }
    const mismatch = await restError(client.getCryptographyClient("sig-P-256").sign("ES384", Buffer.alloc(48)))
    expect(mismatch.statusCode).toBe(400)
    expect(mismatch.code).toBe("BadParameter")
  })

  it("refuses an operation outside key_ops (in the SDK) and a disabled key (403 from the emulator)", async () => {
    const { client } = await make()
    await client.createRsaKey("limited", { keyOps: ["encrypt", "decrypt"] })
    // The SDK reads the key first and refuses an operation outside key_ops itself, before any request.
    const crypto = client.getCryptographyClient("limited")
    await expect(crypto.sign("RS256", Buffer.alloc(32))).rejects.toThrow(/not supported on key/)
    await client.updateKeyProperties("limited", { enabled: false })
    const disabled = await restError(client.getCryptographyClient("limited").decrypt("RSA-OAEP", new Uint8Array(256)))
    expect(disabled.statusCode).toBe(403)
    expect(disabled.code).toBe("Forbidden")
  })
})
