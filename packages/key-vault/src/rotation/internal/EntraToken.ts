/**
 * Microsoft Entra bearer tokens on the Event Grid webhook: the compact JWS is parsed strictly, only RS256 is
 * accepted, the signature is checked by `node:crypto` against a key of the tenant's JWKS, and the claims (`aud`,
 * `iss`, `exp`, `nbf`, optionally `roles` and the calling application) against the settings and the Effect `Clock`.
 * Not public: `EventGridWebhook` is its face.
 *
 * Signing keys are cached for a time to live and fetched again, at most once per `minRefreshInterval`, when a token
 * names a `kid` the cache does not hold (Entra rolls its keys over by publishing the new one first). One fetch at a
 * time: concurrent requests that need keys wait for the same fetch.
 *
 * Refusal reasons are fixed strings from this module: they never quote the token or a claim.
 *
 * @internal
 */
import { createPublicKey, type JsonWebKey, type KeyObject, verify } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as SynchronizedRef from "effect/SynchronizedRef"

/**
 * A JSON Web Key Set as the keys endpoint serves it.
 *
 * @internal
 */
export interface KeySetJson {
  readonly keys: ReadonlyArray<unknown>
}

/**
 * The token is missing or not acceptable; `reason` is a fixed, value-free phrase for logs.
 *
 * @internal
 */
export class TokenRefused extends Data.TaggedError("TokenRefused")<{
  readonly reason: string
  readonly missing: boolean
}> {}

/**
 * The signing keys could not be fetched, so no token can be checked now (the sender should retry).
 *
 * @internal
 */
export class SigningKeysUnavailable extends Data.TaggedError("SigningKeysUnavailable") {}

/**
 * Settings of the check, resolved.
 *
 * @internal
 */
export interface VerifierSettings {
  readonly audiences: ReadonlyArray<string>
  readonly issuers: ReadonlyArray<string>
  readonly roles: ReadonlyArray<string> | undefined
  readonly clientIds: ReadonlyArray<string> | undefined
  readonly clockSkewMillis: number
  readonly keys: Effect.Effect<KeySetJson, unknown>
  readonly keysTimeToLiveMillis: number
  readonly minRefreshIntervalMillis: number
  readonly fetchTimeoutMillis: number
}

/**
 * Checks the `Authorization` header of one request.
 *
 * @internal
 */
export interface Verifier {
  readonly check: (authorization: string | undefined) => Effect.Effect<void, TokenRefused | SigningKeysUnavailable>
}

/** Entra access tokens are a few KiB; anything much larger is not one, and is not worth decoding. */
const MAX_TOKEN_LENGTH = 16 * 1024
/** Keys a JWKS may hold; Entra publishes a handful. */
const MAX_KEYS = 100
/** Stale keys keep serving while fetches fail, but not longer than this past their fetch. */
const MAX_STALE_MILLIS = 24 * 60 * 60 * 1000
const MIN_MODULUS_BITS = 2048
const MAX_MODULUS_BITS = 8192

// RFC 6750 `b64token` after the scheme, which is case-insensitive.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i
const BASE64URL = /^[A-Za-z0-9_-]*$/

const refuse = (reason: string, missing = false) => new TokenRefused({ reason, missing })

const utf8 = new TextDecoder("utf-8", { fatal: true })

// Strict base64url (no padding, no other alphabet, no impossible length): Node's decoder would skip what it does not
// understand, so a mangled token could otherwise decode to something.
const decodeSegment = (segment: string): Uint8Array | undefined =>
  BASE64URL.test(segment) && segment.length % 4 !== 1
    ? new Uint8Array(Buffer.from(segment, "base64url"))
    : undefined

const decodeJsonObject = (segment: string): Record<string, unknown> | undefined => {
  const bytes = decodeSegment(segment)
  if (bytes === undefined || bytes.length === 0) return undefined
  try {
    const json: unknown = JSON.parse(utf8.decode(bytes))
    return typeof json === "object" && json !== null && !Array.isArray(json)
      ? json as Record<string, unknown>
      : undefined
  } catch {
    return undefined
  }
}

const isSeconds = (u: unknown): u is number => typeof u === "number" && Number.isFinite(u)

interface ParsedToken {
  readonly kid: string
  readonly signingInput: Buffer
  readonly signature: Uint8Array
  readonly claims: Record<string, unknown>
}

const parse = (authorization: string | undefined): Either.Either<ParsedToken, TokenRefused> => {
  if (authorization === undefined || authorization.trim() === "") {
    return Either.left(refuse("no Authorization header", true))
  }
  if (authorization.length > MAX_TOKEN_LENGTH) return Either.left(refuse("the token is too large"))
  const token = BEARER.exec(authorization.trim())?.[1]
  if (token === undefined) return Either.left(refuse("the Authorization header is not a Bearer token"))
  const parts = token.split(".")
  if (parts.length !== 3) return Either.left(refuse("the token is not a compact JWS"))
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string]
  const header = decodeJsonObject(encodedHeader)
  if (header === undefined) return Either.left(refuse("the token header is malformed"))
  // Only RS256: `none`, HMAC (which a verifier holding an RSA public key can be tricked into) and others are refused.
  if (header.alg !== "RS256") return Either.left(refuse("the token algorithm is not RS256"))
  // RFC 7515 4.1.11: a token with critical extensions this verifier does not know must be refused.
  if (header.crit !== undefined) return Either.left(refuse("the token names critical header parameters"))
  if (typeof header.kid !== "string" || header.kid === "" || header.kid.length > 256) {
    return Either.left(refuse("the token names no key id"))
  }
  const claims = decodeJsonObject(encodedPayload)
  if (claims === undefined) return Either.left(refuse("the token payload is malformed"))
  const signature = decodeSegment(encodedSignature)
  if (signature === undefined || signature.length === 0) return Either.left(refuse("the token signature is malformed"))
  return Either.right({
    kid: header.kid,
    signingInput: Buffer.from(`${encodedHeader}.${encodedPayload}`, "ascii"),
    signature,
    claims
  })
}

const includesAny = (values: unknown, wanted: ReadonlyArray<string>): boolean => {
  const list = Array.isArray(values) ? values : [values]
  return list.some((value) => typeof value === "string" && wanted.includes(value))
}

const checkClaims = (
  claims: Record<string, unknown>,
  settings: VerifierSettings,
  now: number
): Either.Either<void, TokenRefused> => {
  const { exp, nbf } = claims
  if (!isSeconds(exp)) return Either.left(refuse("the token has no expiry"))
  if (now >= exp * 1000 + settings.clockSkewMillis) return Either.left(refuse("the token has expired"))
  if (nbf !== undefined && (!isSeconds(nbf) || now < nbf * 1000 - settings.clockSkewMillis)) {
    return Either.left(refuse("the token is not valid yet"))
  }
  if (!includesAny(claims.aud, settings.audiences)) return Either.left(refuse("the token is for another audience"))
  if (typeof claims.iss !== "string" || !settings.issuers.includes(claims.iss)) {
    return Either.left(refuse("the token comes from another issuer"))
  }
  if (settings.roles !== undefined && !includesAny(claims.roles, settings.roles)) {
    return Either.left(refuse("the token carries none of the required roles"))
  }
  // v1 tokens name the calling application in `appid`, v2 tokens in `azp`.
  if (settings.clientIds !== undefined && !includesAny(claims.azp ?? claims.appid, settings.clientIds)) {
    return Either.left(refuse("the token was issued to another application"))
  }
  return Either.right(undefined)
}

const verifySignature = (token: ParsedToken, key: KeyObject): boolean => {
  try {
    return verify("RSA-SHA256", token.signingInput, key, token.signature)
  } catch {
    return false
  }
}

// A usable RS256 verification key from one JWKS entry, or `undefined` (entries for other uses are skipped, not fatal).
const toVerificationKey = (u: unknown): readonly [string, KeyObject] | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const jwk = u as Record<string, unknown>
  if (jwk.kty !== "RSA" || typeof jwk.kid !== "string" || jwk.kid === "") return undefined
  if (jwk.use !== undefined && jwk.use !== "sig") return undefined
  if (jwk.alg !== undefined && jwk.alg !== "RS256") return undefined
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes("verify"))) return undefined
  if (typeof jwk.n !== "string" || typeof jwk.e !== "string") return undefined
  if (!BASE64URL.test(jwk.n) || !BASE64URL.test(jwk.e)) return undefined
  try {
    // Only the public members: a set that wrongly carries private ones must not make us hold a private key.
    const publicJwk: JsonWebKey = { kty: "RSA", n: jwk.n, e: jwk.e }
    const key = createPublicKey({ key: publicJwk, format: "jwk" })
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    return bits >= MIN_MODULUS_BITS && bits <= MAX_MODULUS_BITS ? [jwk.kid, key] : undefined
  } catch {
    return undefined
  }
}

const toKeySet = (json: unknown): ReadonlyMap<string, KeyObject> | undefined => {
  if (typeof json !== "object" || json === null || !Array.isArray((json as KeySetJson).keys)) return undefined
  const entries = (json as KeySetJson).keys
  const keys = new Map<string, KeyObject>()
  for (const entry of entries.slice(0, MAX_KEYS)) {
    const key = toVerificationKey(entry)
    if (key !== undefined && !keys.has(key[0])) keys.set(key[0], key[1])
  }
  return keys
}

interface KeyState {
  readonly keys: ReadonlyMap<string, KeyObject> | undefined
  readonly fetchedAt: number
  readonly lastAttempt: number | undefined
}

type Lookup =
  | { readonly _tag: "Found"; readonly key: KeyObject }
  | { readonly _tag: "Unknown" }
  | { readonly _tag: "Unavailable" }

/**
 * A verifier over cached signing keys.
 *
 * @internal
 */
export const makeVerifier = (settings: VerifierSettings): Effect.Effect<Verifier> =>
  Effect.gen(function*() {
    const state = yield* SynchronizedRef.make<KeyState>({ keys: undefined, fetchedAt: 0, lastAttempt: undefined })

    const fresh = (s: KeyState, now: number) =>
      s.keys !== undefined && now - s.fetchedAt < settings.keysTimeToLiveMillis

    const fetchKeys = settings.keys.pipe(
      Effect.timeoutFail({ duration: settings.fetchTimeoutMillis, onTimeout: () => "timeout" }),
      Effect.flatMap((json) => {
        const keys = toKeySet(json)
        return keys === undefined ? Effect.fail("not a JWKS") : Effect.succeed(keys)
      }),
      Effect.either
    )

    const refresh = (kid: string) =>
      SynchronizedRef.modifyEffect(state, (s): Effect.Effect<readonly [Lookup, KeyState]> =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const cached = s.keys?.get(kid)
          // Another request may have fetched while this one waited for the lock.
          if (cached !== undefined && fresh(s, now)) return [{ _tag: "Found", key: cached }, s] as const
          const mayFetch = s.lastAttempt === undefined || now - s.lastAttempt >= settings.minRefreshIntervalMillis
          const usableStale = cached !== undefined && now - s.fetchedAt < MAX_STALE_MILLIS
          if (!mayFetch) {
            if (usableStale) return [{ _tag: "Found", key: cached }, s] as const
            return [{ _tag: s.keys === undefined ? "Unavailable" : "Unknown" }, s] as const
          }
          const fetched = yield* fetchKeys
          if (Either.isLeft(fetched)) {
            yield* Effect.logWarning("EventGridWebhook: the Entra signing keys could not be fetched")
            const next = { ...s, lastAttempt: now }
            return [usableStale ? { _tag: "Found", key: cached } : { _tag: "Unavailable" }, next] as const
          }
          const key = fetched.right.get(kid)
          const next: KeyState = { keys: fetched.right, fetchedAt: now, lastAttempt: now }
          return [key === undefined ? { _tag: "Unknown" } : { _tag: "Found", key }, next] as const
        }))

    const keyFor = (kid: string): Effect.Effect<KeyObject, TokenRefused | SigningKeysUnavailable> =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const s = yield* SynchronizedRef.get(state)
        const cached = s.keys?.get(kid)
        if (cached !== undefined && fresh(s, now)) return cached
        const found = yield* refresh(kid)
        switch (found._tag) {
          case "Found":
            return found.key
          case "Unknown":
            return yield* Effect.fail(refuse("the token is signed with an unknown key"))
          case "Unavailable":
            return yield* Effect.fail(new SigningKeysUnavailable())
        }
      })

    const check = (authorization: string | undefined) =>
      Effect.gen(function*() {
        const token = parse(authorization)
        if (Either.isLeft(token)) return yield* Effect.fail(token.left)
        // The claims are checked before any key is looked up, so an expired or foreign token never causes a fetch.
        const now = yield* Clock.currentTimeMillis
        const claims = checkClaims(token.right.claims, settings, now)
        if (Either.isLeft(claims)) return yield* Effect.fail(claims.left)
        const key = yield* keyFor(token.right.kid)
        if (!verifySignature(token.right, key)) return yield* Effect.fail(refuse("the token signature does not verify"))
      })

    return { check }
  })

/**
 * The issuers of a tenant's Entra tokens: v1 (`sts.windows.net`) and v2 (`login.microsoftonline.com`).
 *
 * @internal
 */
export const tenantIssuers = (tenantId: string): ReadonlyArray<string> => [
  `https://sts.windows.net/${tenantId}/`,
  `https://login.microsoftonline.com/${tenantId}/v2.0`
]

/**
 * A tenant id as it may appear in an issuer and a URL path: a GUID or a domain name.
 *
 * @internal
 */
export const isTenantId = (tenantId: string): boolean =>
  /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$/.test(tenantId)
