/**
 * Test helpers for keys and cryptography: node:crypto keys as the client's models, a PKCS#1 v1.5 decryption Node 20
 * no longer offers, and a KeyVaultKey built from a node key to seed the key material cache.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Crypto from "node:crypto"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import * as KeyVaultConfig from "../src/config/KeyVaultConfig.js"
import * as Cryptography from "../src/crypto/Cryptography.js"
import type { KeyVaultKey, PublicJsonWebKey } from "../src/keys/Key.js"
import * as KeyMaterialCache from "../src/keys/KeyMaterialCache.js"
import * as Keys from "../src/keys/Keys.js"
import * as Transport from "../src/transport/Transport.js"

/** Node's public JWK as the client's model (`Uint8Array` members, Key Vault curve names). */
export const publicJwkOf = (key: Crypto.KeyObject, kid?: string, keyOps: ReadonlyArray<string> = []): PublicJsonWebKey => {
  const jwk = key.export({ format: "jwk" })
  const bytes = (s: string | undefined) => (s === undefined ? undefined : new Uint8Array(Buffer.from(s, "base64url")))
  return {
    kid,
    kty: jwk.kty ?? "",
    keyOps,
    n: bytes(jwk.n),
    e: bytes(jwk.e),
    crv: jwk.crv === "secp256k1" ? "P-256K" : jwk.crv,
    x: bytes(jwk.x),
    y: bytes(jwk.y)
  }
}

/** A key of the client's model for a node key, as `GET /keys/{name}/{version}` would describe it. */
export const keyVaultKeyOf = (
  key: Crypto.KeyObject,
  options: {
    readonly vaultUrl: string
    readonly name: string
    readonly version?: string
    readonly keyOps?: ReadonlyArray<string>
    readonly enabled?: boolean
    readonly notBefore?: Date
    readonly expiresOn?: Date
  }
): KeyVaultKey => {
  const version = options.version ?? "0123456789abcdef0123456789abcdef"
  const id = `${options.vaultUrl}/keys/${options.name}/${version}`
  const keyOps = options.keyOps ?? ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]
  const jwk = publicJwkOf(key, id, keyOps)
  return {
    name: options.name,
    id,
    keyType: jwk.kty,
    keyOperations: keyOps,
    key: jwk,
    properties: {
      id,
      vaultUrl: options.vaultUrl,
      name: options.name,
      version,
      enabled: options.enabled ?? true,
      notBefore: options.notBefore,
      expiresOn: options.expiresOn,
      createdOn: undefined,
      updatedOn: undefined,
      exportable: false,
      hsmPlatform: undefined,
      tags: {},
      managed: false,
      recoveryLevel: undefined,
      recoverableDays: undefined,
      releasePolicy: undefined
    }
  }
}

/** RSAES-PKCS1-v1_5 decryption by hand: Node 20 refuses RSA_PKCS1_PADDING for private decryption. */
export const decryptPkcs1 = (privateKey: Crypto.KeyObject, ciphertext: Uint8Array): Uint8Array => {
  const em = Crypto.privateDecrypt({ key: privateKey, padding: Crypto.constants.RSA_NO_PADDING }, ciphertext)
  if (em[0] !== 0 || em[1] !== 2) throw new Error("not a PKCS#1 v1.5 encryption block")
  const separator = em.indexOf(0, 2)
  if (separator < 10) throw new Error("PKCS#1 v1.5 padding too short")
  return new Uint8Array(em.subarray(separator + 1))
}

/** Node's decryption for each Key Vault encryption algorithm. */
export const nodeDecrypt = (privateKey: Crypto.KeyObject, algorithm: string, ciphertext: Uint8Array): Uint8Array =>
  algorithm === "RSA1_5"
    ? decryptPkcs1(privateKey, ciphertext)
    : new Uint8Array(Crypto.privateDecrypt({
      key: privateKey,
      padding: Crypto.constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: algorithm === "RSA-OAEP-256" ? "sha256" : "sha1"
    }, ciphertext))

/** Node's signature over `data` for a Key Vault algorithm (node hashes; Key Vault would sign the digest). */
export const nodeSign = (privateKey: Crypto.KeyObject, algorithm: string, data: Uint8Array): Uint8Array => {
  const hash = `sha${algorithm.slice(2, 5)}`
  if (algorithm.startsWith("ES")) return new Uint8Array(Crypto.sign(hash, data, { key: privateKey, dsaEncoding: "ieee-p1363" }))
  if (algorithm.startsWith("PS")) {
    return new Uint8Array(Crypto.sign(hash, data, {
      key: privateKey,
      padding: Crypto.constants.RSA_PKCS1_PSS_PADDING,
      saltLength: Number(algorithm.slice(2, 5)) / 8
    }))
  }
  return new Uint8Array(Crypto.sign(hash, data, privateKey))
}

/** The hash of `data` that a Key Vault signature algorithm signs. */
export const digestFor = (algorithm: string, data: Uint8Array): Uint8Array =>
  new Uint8Array(Crypto.createHash(`sha${algorithm.slice(2, 5)}`).update(data).digest())

/** One request the stub vault saw. */
export interface SeenRequest {
  readonly method: string
  readonly path: string
  readonly body: string
}

/** A key the stub vault serves on `GET /keys/{name}[/{version}]`. */
export interface StubKey {
  readonly name: string
  readonly version: string
  readonly key: Crypto.KeyObject
  readonly keyOps?: ReadonlyArray<string>
  readonly enabled?: boolean
  readonly notBefore?: Date
  readonly expiresOn?: Date
}

/**
 * A fake vault behind an `HttpClient`: it answers `GET /keys/...` from `keys`, `verify` with `{value: true}` and
 * encrypt / wrapkey with a fixed result, and records every request. It asks for no authentication, so the client's
 * probe is answered directly. Enough to count what the client sends; the emulator tests check real answers.
 */
export const stubVault = (vaultUrl: string, keys: ReadonlyArray<StubKey>) => {
  const seen: Array<SeenRequest> = []
  const json = (request: HttpClientRequest.HttpClientRequest, status: number, body: unknown) =>
    HttpClientResponse.fromWeb(request, new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } }))
  const client = HttpClient.make((request, url) =>
    Effect.sync(() => {
      const body = request.body._tag === "Raw" && typeof request.body.body === "string"
        ? request.body.body
        : request.body._tag === "Uint8Array"
        ? new TextDecoder().decode(request.body.body)
        : ""
      seen.push({ method: request.method, path: url.pathname, body })
      const [, collection, name, version, action] = url.pathname.split("/")
      const found = keys.find((k) => collection === "keys" && k.name.toLowerCase() === name?.toLowerCase() && (version === "" || version === undefined || version === k.version))
      if (found === undefined) return json(request, 404, { error: { code: "KeyNotFound", message: "no such key" } })
      const kid = `${vaultUrl}/keys/${found.name}/${found.version}`
      if (request.method === "GET" && action === undefined) {
        const jwk = found.key.export({ format: "jwk" })
        const seconds = (d: Date | undefined) => (d === undefined ? undefined : Math.floor(d.getTime() / 1000))
        return json(request, 200, {
          key: {
            kid,
            kty: jwk.kty,
            key_ops: found.keyOps ?? ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
            n: jwk.n,
            e: jwk.e,
            crv: jwk.crv === "secp256k1" ? "P-256K" : jwk.crv,
            x: jwk.x,
            y: jwk.y
          },
          attributes: { enabled: found.enabled ?? true, nbf: seconds(found.notBefore), exp: seconds(found.expiresOn), created: 1, updated: 1 },
          tags: {}
        })
      }
      if (request.method === "POST" && action === "verify") return json(request, 200, { value: true })
      if (request.method === "POST" && action !== undefined) return json(request, 200, { kid, value: "AAEC" })
      return json(request, 400, { error: { code: "BadParameter", message: "unexpected request" } })
    })
  )
  return { seen, layer: Layer.succeed(HttpClient.HttpClient, client) }
}

/** Keys and Cryptography over a transport on `http`, without the rest of the client. */
export const keysClient = (
  http: Layer.Layer<HttpClient.HttpClient>,
  options: { readonly vaultUrl: string; readonly localCryptography?: "auto" | "remote-only" }
) => {
  const transport = Transport.layer.pipe(
    Layer.provideMerge(KeyVaultConfig.layer({ vaultUrl: options.vaultUrl })),
    Layer.provide(Layer.merge(http, TokenProvider.layerStatic()))
  )
  return Layer.merge(Keys.layer, Cryptography.layer({ localCryptography: options.localCryptography })).pipe(
    Layer.provide(KeyMaterialCache.layerMemory),
    Layer.provideMerge(transport)
  )
}
