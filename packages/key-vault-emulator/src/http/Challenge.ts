/**
 * The bearer challenge. Every request without `Authorization: Bearer <token>` is answered with 401 and a
 * `WWW-Authenticate` header naming the tenant and the resource (the token audience). The SDKs send their first request
 * without a body to get this challenge, so it comes before any other validation. Any token value is accepted.
 *
 * The official SDKs verify that the request host ends with `"." + <resource host>`, so the default resource is
 * derived from the host the client used.
 *
 * @since 0.1.0
 */
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
 */
export const hasBearerToken = (request: EmulatorRequest): boolean => {
  const header = request.headers["authorization"]
  return header !== undefined && /^Bearer\s+\S+/i.test(header)
}

/**
 * The 401 challenge response.
 *
 * @since 0.1.0
 */
export const challenge = (tenantId: string, resource: string): EmulatorResponse =>
  Responses.error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", undefined, {
    "www-authenticate": `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${resource}"`
  })
