/**
 * The Key Vault authentication challenge: a 401 with
 * `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"`
 * tells the client which tenant and scope to ask a token for.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"

/**
 * A parsed challenge.
 *
 * @since 0.1.0
 * @category models
 */
export interface Challenge {
  /** The scope to request, `<resource>/.default` unless the challenge names a scope. */
  readonly scope: string
  /** The tenant named by the authorization URL, when there is one. */
  readonly tenantId: string | undefined
  /** The resource (or scope) URL the challenge named, for domain verification. */
  readonly resource: string
  /** Claims to put in the token request: only set for the one retry after a CAE challenge (`claimsOf`). */
  readonly claims: string | undefined
}

const paramPattern = /([A-Za-z_]+)\s*=\s*"([^"]*)"/g

/**
 * Parses the Bearer parameters of a `WWW-Authenticate` header.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseParams = (header: string): Readonly<Record<string, string>> => {
  const params: Record<string, string> = {}
  for (const match of header.matchAll(paramPattern)) {
    const [, key, value] = match
    if (key !== undefined && value !== undefined) params[key.toLowerCase()] = value
  }
  return params
}

/**
 * Parses a challenge; `None` when the header is not a usable Bearer challenge.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (header: string | undefined): Option.Option<Challenge> => {
  if (header === undefined || !/^\s*Bearer\b/i.test(header)) return Option.none()
  const params = parseParams(header)
  const resource = params["resource"] ?? params["scope"]
  if (resource === undefined || resource === "") return Option.none()
  const scope = params["scope"] ?? `${resource.replace(/\/+$/, "")}/.default`
  const authorization = params["authorization"] ?? params["authorization_uri"]
  let tenantId: string | undefined
  if (authorization !== undefined) {
    try {
      const segment = new URL(authorization).pathname.split("/").filter((s) => s.length > 0)[0]
      tenantId = segment
    } catch {
      tenantId = undefined
    }
  }
  // Claims belong to one request (see `claimsOf`), never to the remembered challenge.
  return Option.some({ scope, tenantId, resource, claims: undefined })
}

/**
 * The decoded claims of a continuous-access-evaluation challenge (`error="insufficient_claims", claims="<base64>"`);
 * `None` for any other header. Such a challenge names no resource: it asks for a new token for the same one.
 *
 * @since 0.1.0
 * @category utils
 */
export const claimsOf = (header: string | undefined): Option.Option<string> => {
  if (header === undefined || !/^\s*Bearer\b/i.test(header)) return Option.none()
  const params = parseParams(header)
  const raw = params["claims"]
  return params["error"] === "insufficient_claims" && raw !== undefined && raw !== ""
    ? Option.some(Either.getOrElse(Encoding.decodeBase64String(raw), () => raw))
    : Option.none()
}

/**
 * The resource-domain check the official SDKs perform: the vault host must end with `.` + the resource host.
 * It stops a malicious endpoint from obtaining a token for some other resource.
 *
 * @since 0.1.0
 * @category validation
 */
export const verifyResource = (vaultUrl: string, challenge: Challenge): Either.Either<void, string> => {
  let resourceHost: string
  try {
    resourceHost = new URL(challenge.resource).hostname
  } catch {
    return Either.left(`the challenge resource is not a URL: ${challenge.resource}`)
  }
  const vaultHost = new URL(vaultUrl).hostname
  return vaultHost.endsWith(`.${resourceHost}`)
    ? Either.void
    : Either.left(
      `the challenge resource ${challenge.resource} does not match the vault host ${vaultHost}; ` +
        "for an emulator on localhost set disableChallengeResourceVerification: true " +
        "(AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION=true), or reach it as https://<name>.vault.localhost:<port>"
    )
}
