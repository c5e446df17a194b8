/**
 * Seeding imported material: JSON Web Keys (RSA and EC, with their private parts), a PEM certificate with its key and
 * a password-protected PFX. Each imported object must be the one given (same public key or certificate) and usable
 * (the vault signs with the imported private key); a bad entry of each kind fails with a message naming the entry
 * and field, never quoting key material or a password.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import * as Emulator from "../src/Emulator.js"
import * as Seed from "../src/vaults/Seed.js"
import { forgePfx, selfSigned } from "./certificates-support.js"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** An authenticated REST call to a vault, as a client makes it. */
const rest = (emulator: Emulator.Emulator, vault: string, method: string, path: string, body?: unknown) =>
  Effect.map(
    emulator.handler({
      method,
      url: new URL(`https://${vault}.vault.azure.net${path}?api-version=2025-07-01`),
      headers: { authorization: "Bearer t", "content-type": "application/json" },
      body: body === undefined ? new Uint8Array(0) : encoder.encode(JSON.stringify(body))
    }),
    (response) => ({
      status: response.status,
      json: JSON.parse(decoder.decode(response.body)) as Record<string, unknown>
    })
  )

const jwkOf = (key: Crypto.KeyObject): Record<string, unknown> => key.export({ format: "jwk" }) as Record<string, unknown>

// Key material is generated once: RSA generation is the slow part of this file.
const rsa = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
const ec = Crypto.generateKeyPairSync("ec", { namedCurve: "P-256" })
const data = encoder.encode("signed by the imported key")
const digest = Crypto.createHash("sha256").update(data).digest().toString("base64url")

const seedError = (document: unknown) =>
  Effect.flip(Effect.flatMap(Emulator.make(), (emulator) => Seed.seed(emulator.vaults, document)))

describe("seeding imported material", () => {
  it.effect("imports RSA and EC JSON Web Keys with their private parts: the vault signs with them", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make({
        seedDocument: {
          vaults: [{
            name: "crypto",
            keys: [
              { name: "rsa-imported", jwk: jwkOf(rsa.privateKey), keyOps: ["sign", "verify"], tags: { from: "seed" } },
              { name: "ec-imported", jwk: jwkOf(ec.privateKey) }
            ]
          }]
        }
      })
      expect(emulator.seeded).toEqual({ vaultsCreated: ["crypto"], secrets: 0, keys: 2, certificates: 0 })

      const rsaKey = yield* rest(emulator, "crypto", "GET", "/keys/rsa-imported/")
      const rsaJwk = rsaKey.json["key"] as Record<string, unknown>
      expect([rsaJwk["kty"], rsaJwk["n"], rsaJwk["e"], rsaJwk["d"]]).toEqual(["RSA", jwkOf(rsa.publicKey)["n"], "AQAB", undefined])
      expect([rsaJwk["key_ops"], rsaKey.json["tags"]]).toEqual([["sign", "verify"], { from: "seed" }])
      const rsaSigned = yield* rest(emulator, "crypto", "POST", "/keys/rsa-imported//sign", { alg: "RS256", value: digest })
      expect(rsaSigned.status).toBe(200)
      const rsaSignature = Buffer.from(rsaSigned.json["value"] as string, "base64url")
      expect(Crypto.verify("sha256", data, rsa.publicKey, rsaSignature)).toBe(true)

      const ecKey = yield* rest(emulator, "crypto", "GET", "/keys/ec-imported/")
      const ecJwk = ecKey.json["key"] as Record<string, unknown>
      const ecPublic = jwkOf(ec.publicKey)
      expect([ecJwk["kty"], ecJwk["crv"], ecJwk["x"], ecJwk["y"]]).toEqual(["EC", "P-256", ecPublic["x"], ecPublic["y"]])
      const ecSigned = yield* rest(emulator, "crypto", "POST", "/keys/ec-imported//sign", { alg: "ES256", value: digest })
      const ecSignature = Buffer.from(ecSigned.json["value"] as string, "base64url")
      expect(Crypto.verify("sha256", data, { key: ec.publicKey, dsaEncoding: "ieee-p1363" }, ecSignature)).toBe(true)

      // The export (with values) gives back the same private key, so a fixture survives the round trip.
      const exported = yield* Seed.exportState(emulator.vaults, { includeValues: true, vaults: ["crypto"] })
      const rsaEntry = exported.vaults[0]?.keys?.find((key) => key.name === "rsa-imported")
      expect(rsaEntry?.jwk?.["d"]).toBe(jwkOf(rsa.privateKey)["d"])
    }))

  it.effect("imports a PEM certificate with its key and a password-protected PFX", () =>
    Effect.gen(function*() {
      const pem = yield* Effect.promise(() => selfSigned("EC", "CN=pem.example"))
      const pfxSource = yield* Effect.promise(() => selfSigned("RSA", "CN=pfx.example"))
      const emulator = yield* Emulator.make({
        seedDocument: {
          vaults: [{
            name: "default",
            certificates: [
              { name: "from-pem", value: `${pem.certPem}\n${pem.keyPem}`, tags: { kind: "pem" } },
              { name: "from-pfx", value: forgePfx(pfxSource, "pa55word"), password: "pa55word" }
            ]
          }]
        }
      })
      expect(emulator.seeded).toEqual({ vaultsCreated: [], secrets: 0, keys: 0, certificates: 2 })

      const fromPem = yield* rest(emulator, "anything", "GET", "/certificates/from-pem/")
      expect(Buffer.from(fromPem.json["cer"] as string, "base64")).toEqual(Buffer.from(pem.der))
      expect(fromPem.json["tags"]).toEqual({ kind: "pem" })
      const pemSecret = yield* rest(emulator, "anything", "GET", "/secrets/from-pem/")
      expect(pemSecret.json["contentType"]).toBe("application/x-pem-file")
      // The backing secret holds the imported private key.
      const pemKey = Crypto.createPrivateKey(pemSecret.json["value"] as string)
      expect(pemKey.export({ format: "jwk" })).toEqual(jwkOf(pem.privateKey))

      const fromPfx = yield* rest(emulator, "anything", "GET", "/certificates/from-pfx/")
      expect(Buffer.from(fromPfx.json["cer"] as string, "base64")).toEqual(Buffer.from(pfxSource.der))
      const pfxSecret = yield* rest(emulator, "anything", "GET", "/secrets/from-pfx/")
      expect(pfxSecret.json["contentType"]).toBe("application/x-pkcs12")
      const pfxKey = yield* rest(emulator, "anything", "GET", "/keys/from-pfx/")
      const pfxJwk = pfxKey.json["key"] as Record<string, unknown>
      expect(pfxJwk["n"]).toBe(jwkOf(pfxSource.privateKey)["n"])
    }))

  it.effect("a bad entry of each kind names the entry and the field, and quotes no secret material", () =>
    Effect.gen(function*() {
      const pfxSource = yield* Effect.promise(() => selfSigned("RSA", "CN=bad.example"))
      const { d: _d, ...rsaPublicOnly } = jwkOf(rsa.privateKey)
      const cases: ReadonlyArray<readonly [string, Record<string, unknown>, string]> = [
        ["secret without a value", { secrets: [{ name: "ok", value: "v" }, { name: "s" }] }, "seed vaults[0].secrets[1].value:"],
        ["secret value of the wrong type", { secrets: [{ name: "s", value: 42 }] }, "seed vaults[0].secrets[0].value: must be a string"],
        ["secret with a bad date", { secrets: [{ name: "s", value: "v", expires: "soon" }] }, "seed vaults[0].secrets[0].expires:"],
        ["RSA JWK without its private exponent", { keys: [{ name: "k", jwk: rsaPublicOnly }] }, "seed vaults[0].keys[0].jwk:"],
        ["EC JWK on a curve it is not on", { keys: [{ name: "k", jwk: { ...jwkOf(ec.privateKey), crv: "P-384" } }] }, "seed vaults[0].keys[0].jwk:"],
        ["JWK that is not an object", { keys: [{ name: "k", jwk: "not-a-jwk" }] }, "seed vaults[0].keys[0].jwk: must be an object"],
        ["generated key without kty", { keys: [{ name: "k", keySize: 2048 }] }, "seed vaults[0].keys[0].kty:"],
        ["key size of the wrong type", { keys: [{ name: "k", kty: "RSA", keySize: "big" }] }, "seed vaults[0].keys[0].keySize: must be a number"],
        ["PEM certificate that is garbage", { certificates: [{ name: "c", value: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" }] }, "seed vaults[0].certificates[0].value:"],
        ["PFX with the wrong password", { certificates: [{ name: "c", value: forgePfx(pfxSource, "right-pa55"), password: "wrong-pa55" }] }, "seed vaults[0].certificates[0].value:"],
        ["certificate policy that is not an object", { certificates: [{ name: "c", policy: [] }] }, "seed vaults[0].certificates[0].policy: must be an object"],
        ["vault port out of range", { settings: { port: 70_000 } }, "seed vaults[0].settings.port:"]
      ]
      for (const [label, vault, expected] of cases) {
        const error = yield* seedError({ vaults: [{ name: "fixtures", ...vault }] })
        expect([label, error._tag, error.message.startsWith(expected)]).toEqual([label, "SeedError", true])
        for (const material of [rsa.privateKey, ec.privateKey].map((key) => jwkOf(key)["d"] as string)) {
          expect(error.message, label).not.toContain(material)
        }
        expect(error.message, label).not.toContain("pa55")
      }
    }))
})
