/**
 * The bearer challenge. Every request without `Authorization: Bearer <token>` is answered with 401 and a
 * `WWW-Authenticate` header naming the tenant and the resource (the token audience). The SDKs send their first request
 * without a body to get this challenge, so it comes before any other validation. Any token value is accepted, unless
 * the emulator was given an access token: then any other token gets the service's 401 for an invalid token (the same
 * envelope and challenge), compared in constant time.
 *
 * The official SDKs verify that the request host ends with `"." + <resource host>`, so the default resource is
 * derived from the host the client used.
 *
 * @since 0.1.0
 */
import * as Redacted from "effect/Redacted"
import * as NodeCrypto from "node:crypto"
import type { EmulatorRequest, EmulatorResponse } from "./Protocol.js"
import * as Responses from "./Responses.js"

/** Sovereign-cloud vault suffixes and the resource their tokens are issued for. */
const knownSuffixes: ReadonlyArray<readonly [suffix: string, resource: string]> = [
  [".vault.azure.net", "https://vault.azure.net"],
  [".vault.azure.cn", "https://vault.azure.cn"],
  [".vault.usgovcloudapi.net", "https://vault.usgovcloudapi.net"],
  [".vault.microsoftazure.de", "https://vault.microsoftazure.de"],
  [".managedhsm.azure.net", "https://managedhsm.azure.net"]
]

const isIpAddress = (hostname: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || hostname.startsWith("[")

/**
 * The challenge resource for a request: the cloud's vault resource for `*.vault.azure.net` (and sovereign clouds);
 * for another multi-label host (`myvault.localhost:8443`) the scheme, the host without its first label, and the port
 * (`https://localhost:8443`); otherwise the request's origin.
 *
 * @since 0.1.0
 * @category utils
 */
export const resourceFor = (url: URL): string => {
  const hostname = url.hostname.toLowerCase()
  for (const [suffix, resource] of knownSuffixes) {
    if (hostname.endsWith(suffix)) return resource
  }
  const labels = hostname.split(".")
  if (labels.length > 1 && !isIpAddress(hostname)) {
    return `${url.protocol}//${labels.slice(1).join(".")}${url.port === "" ? "" : `:${url.port}`}`
  }
  return url.origin
}

/**
 * Whether the request carries a bearer token (any value).
 *
 * @since 0.1.0
 * @category guards
 */
export const hasBearerToken = (request: EmulatorRequest): boolean => {
  const header = request.headers["authorization"]
  return header !== undefined && /^Bearer\s+\S+/i.test(header)
}

const challengeHeader = (tenantId: string, resource: string): string =>
  `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${resource}"`

/**
 * The 401 challenge response.
 *
 * @since 0.1.0
 * @category constructors
 */
export const challenge = (tenantId: string, resource: string): EmulatorResponse =>
  Responses.error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", undefined, {
    "www-authenticate": challengeHeader(tenantId, resource)
  })

/**
 * The 401 for a bearer token that is not the configured one: the same `Unauthorized` envelope and `WWW-Authenticate`
 * challenge as a missing token, as the service answers a token that fails validation, so clients refresh once and
 * then give up. The message never quotes the token.
 *
 * @since 0.1.0
 * @category constructors
 */
export const invalidToken = (tenantId: string, resource: string): EmulatorResponse =>
  Responses.error(401, "Unauthorized", "The bearer token is not valid for this vault.", undefined, {
    "www-authenticate": challengeHeader(tenantId, resource)
  })

// Tokens go in an Authorization header: visible ASCII, no spaces (RFC 6750's b64token is narrower; any opaque value
// a credential returns is kept).
const TOKEN = /^[\x21-\x7e]{1,4096}$/

/**
 * Whether `token` can be an access token: 1 to 4,096 visible ASCII characters, no spaces. The value is never part of
 * an error message.
 *
 * @since 0.1.0
 * @category guards
 */
export const isValidAccessToken = (token: string): boolean => TOKEN.test(token)

/**
 * Checks a request's bearer token against the configured one: `true` only for exactly that token.
 *
 * @since 0.1.0
 * @category models
 */
export type TokenVerifier = (request: EmulatorRequest) => boolean

/**
 * A verifier for `expected`. Both sides are reduced to an HMAC under a random key of its own and compared with
 * `timingSafeEqual`, so the time taken depends neither on how much of a guess is right nor on its length. Only the
 * digest is kept: the token itself stays inside the `Redacted` the caller holds.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tokenVerifier = (expected: Redacted.Redacted<string>): TokenVerifier => {
  // A random key per verifier: digests are useless outside this process and cannot be precomputed.
  const key = NodeCrypto.randomBytes(32)
  const digest = (value: string): Buffer => NodeCrypto.createHmac("sha256", key).update(value, "utf8").digest()
  const expectedDigest = digest(Redacted.value(expected))
  return (request) => {
    const header = request.headers["authorization"]
    const match = header === undefined ? null : /^Bearer\s+(.*?)\s*$/is.exec(header)
    // Digest whatever was sent (even nothing: the expected token is never empty) so every refusal costs the same.
    return NodeCrypto.timingSafeEqual(digest(match?.[1] ?? ""), expectedDigest)
  }
}
