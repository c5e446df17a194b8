/**
 * The Key Vault REST app: one function from `EmulatorRequest` to `EmulatorResponse`, whatever carries the bytes.
 *
 * Every request goes through the same checks in this order, as the service does:
 * 1. a bearer token, or the 401 challenge (before anything else: the SDKs send a body-less first request for it); with
 *    an access token configured, exactly that token, or the service's 401 for an invalid token;
 * 2. a present, well-formed `api-version` (any version is accepted: allow-lists break on every SDK release);
 * 3. the route (404 unknown path, 405 wrong verb, 400 invalid name);
 * 4. the body and query (400 `BadParameter`).
 *
 * The handler never fails and never dies: a defect becomes a 500 Key Vault error, and only the defect's class name is
 * logged (a message could quote request data).
 *
 * @since 0.1.0
 */
import { API_VERSION_PATTERN } from "@effect-azure/key-vault/wire/Rules"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type { VaultEngine } from "../engine/VaultEngine.js"
import * as Challenge from "./Challenge.js"
import * as CertificateRoutes from "./CertificateRoutes.js"
import * as KeyRoutes from "./KeyRoutes.js"
import type { EmulatorHandler, EmulatorRequest, EmulatorResponse } from "./Protocol.js"
import * as Responses from "./Responses.js"
import * as Router from "./Router.js"
import * as SecretRoutes from "./SecretRoutes.js"

/**
 * What the app serves and how it challenges.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppOptions {
  readonly engine: VaultEngine
  /** The tenant named in the challenge's authorization URL. */
  readonly tenantId: string
  /** The challenge resource; derived from each request's host when absent (see `Challenge.resourceFor`). */
  readonly resource?: string | undefined
  /**
   * The only bearer token to accept; any other gets 401 `Unauthorized` with the challenge. Absent: any token is
   * accepted. Validate it with `Challenge.isValidAccessToken` first.
   */
  readonly token?: Redacted.Redacted<string> | undefined
}

const MAX_ECHOED_VERSION_LENGTH = 64

const apiVersionOf = (url: URL): string | null => {
  for (const [key, value] of url.searchParams) {
    if (key.toLowerCase() === "api-version") return value
  }
  return null
}

const serve = (
  options: AppOptions,
  verifyToken: Challenge.TokenVerifier | undefined,
  request: EmulatorRequest
): Effect.Effect<EmulatorResponse> => {
  if (!Challenge.hasBearerToken(request)) {
    return Effect.succeed(
      Challenge.challenge(options.tenantId, options.resource ?? Challenge.resourceFor(request.url))
    )
  }
  if (verifyToken !== undefined && !verifyToken(request)) {
    return Effect.succeed(
      Challenge.invalidToken(options.tenantId, options.resource ?? Challenge.resourceFor(request.url))
    )
  }
  const apiVersion = apiVersionOf(request.url)
  if (apiVersion === null || apiVersion === "") {
    return Effect.succeed(Responses.badParameter("The 'api-version' query parameter is missing."))
  }
  if (!API_VERSION_PATTERN.test(apiVersion)) {
    const shown = apiVersion.length > MAX_ECHOED_VERSION_LENGTH
      ? `${apiVersion.slice(0, MAX_ECHOED_VERSION_LENGTH)}...`
      : apiVersion
    return Effect.succeed(
      Responses.badParameter(`The specified version (${shown}) is not a well-formed api-version.`)
    )
  }
  const match = Router.routeRequest(request)
  switch (match._tag) {
    case "NotFound":
      return Effect.succeed(
        Responses.error(404, "NotFound", "The requested path is not a Key Vault operation.")
      )
    case "MethodNotAllowed":
      return Effect.succeed(
        Responses.error(
          405,
          "MethodNotAllowed",
          `The requested resource does not support http method '${request.method.toUpperCase()}'.`,
          undefined,
          { allow: match.allow.join(", ") }
        )
      )
    case "InvalidName":
      return Effect.succeed(
        Responses.badParameter("Object names must be 1 to 127 characters of letters, digits and dashes.")
      )
    case "Matched": {
      if (options.engine.purgeProtection && match.route._tag.startsWith("PurgeDeleted")) {
        return Effect.succeed(
          Responses.error(
            403,
            "Forbidden",
            "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault " +
              "service will automatically purge it after the retention period has passed."
          )
        )
      }
      const context = { engine: options.engine, request, apiVersion }
      return Router.isKeyRoute(match.route)
        ? KeyRoutes.handle(match.route, context)
        : Router.isCertificateRoute(match.route)
        ? CertificateRoutes.handle(match.route, context)
        : SecretRoutes.handle(match.route, context)
    }
  }
}

const defectName = (cause: Cause.Cause<unknown>): string => {
  const defect = Cause.squash(cause)
  return defect instanceof Error ? defect.name : typeof defect
}

const handle = (
  options: AppOptions,
  verifyToken: Challenge.TokenVerifier | undefined,
  request: EmulatorRequest
): Effect.Effect<EmulatorResponse> =>
  Effect.suspend(() => serve(options, verifyToken, request)).pipe(
    Effect.catchAllCause((cause) =>
      Effect.as(
        Effect.logError("key-vault-emulator: defect while handling a request").pipe(
          Effect.annotateLogs({ method: request.method, defect: defectName(cause) })
        ),
        Responses.internalError()
      )
    )
  )

/**
 * The app as an `EmulatorHandler`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: AppOptions): EmulatorHandler => {
  const verifyToken = options.token === undefined ? undefined : Challenge.tokenVerifier(options.token)
  return (request) => handle(options, verifyToken, request)
}
