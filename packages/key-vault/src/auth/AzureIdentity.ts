/**
 * A `TokenProvider` over an `@azure/identity` credential: `DefaultAzureCredential` by default (environment
 * variables, workload identity, managed identity, Azure CLI, ...), or any `TokenCredential` you pass.
 *
 * Tokens are cached per scope and tenant and refreshed in the background ahead of expiry (5 minutes before, or when
 * the credential says `refreshAfterTimestamp`). A failed background refresh is logged and tried again after a
 * spacing, and the refresher keeps going; callers keep the current token while it is valid. `forceRefresh` (the
 * transport's answer to a 401) fetches a new token at once; claims (continuous access evaluation) always go to the
 * credential. `@azure/identity` is an optional peer dependency, loaded only when no credential is given.
 *
 * @since 0.1.0
 */
import type { AccessToken as AzureAccessToken, TokenCredential } from "@azure/core-auth"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { AuthenticationError, ValidationError } from "../errors/KeyVaultError.js"
import { type AccessToken, TokenProvider, type TokenRequest } from "./TokenProvider.js"
import * as KeyVaultMetrics from "../telemetry/KeyVaultMetrics.js"

/**
 * Options of the identity token provider.
 *
 * @since 0.1.0
 * @category models
 */
export interface AzureIdentityOptions {
  /** The credential; default `new DefaultAzureCredential()` from `@azure/identity`. */
  readonly credential?: TokenCredential | undefined
  /** How long before expiry a token is refreshed. Default 5 minutes. */
  readonly refreshBeforeExpiry?: Duration.DurationInput | undefined
  /** The spacing between refresh attempts after a failure. Default 30 seconds. */
  readonly refreshRetryInterval?: Duration.DurationInput | undefined
}

interface Cached {
  token: AccessToken
  refreshAt: number
}

const describe = (cause: unknown): string => (cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause))

// The optional peer is loaded by name at run time: applications that pass their own credential never need it.
const defaultCredential: Effect.Effect<TokenCredential, AuthenticationError> = Effect.tryPromise({
  try: async () => {
    const specifier = "@azure/identity"
    const identity = (await import(specifier)) as { readonly DefaultAzureCredential: new() => TokenCredential }
    return new identity.DefaultAzureCredential()
  },
  catch: (cause) =>
    new AuthenticationError({
      message: `DefaultAzureCredential needs the optional peer dependency @azure/identity (${describe(cause)})`,
      status: undefined,
      cause
    })
})

// A duration option, decoded without throwing: `Duration.decode` throws on what it cannot read, which would surface
// as a defect with no option name.
const durationOption = (
  field: keyof AzureIdentityOptions,
  input: Duration.DurationInput | undefined,
  fallback: Duration.DurationInput,
  allowZero: boolean
): Either.Either<Duration.Duration, ValidationError> => {
  const decoded = Duration.decodeUnknown(input ?? fallback)
  const valid = Option.isSome(decoded) && Duration.isFinite(decoded.value) &&
    (allowZero ? Duration.toMillis(decoded.value) >= 0 : Duration.toMillis(decoded.value) > 0)
  return valid
    ? Either.right(decoded.value)
    : Either.left(
      new ValidationError({
        operation: "AzureIdentity.make",
        field,
        message: `${field} must be a ${allowZero ? "non-negative" : "positive"}, finite duration such as "5 minutes"`
      })
    )
}

/**
 * Builds the provider; its background refreshers live in the current scope. Invalid options fail with a
 * `ValidationError` naming the option, before any credential is loaded.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: AzureIdentityOptions = {}
): Effect.Effect<TokenProvider["Type"], AuthenticationError | ValidationError, Scope.Scope> =>
  Effect.gen(function*() {
    const before = Duration.toMillis(
      yield* durationOption("refreshBeforeExpiry", options.refreshBeforeExpiry, "5 minutes", true)
    )
    // Zero would let a failing refresher spin.
    const spacing = yield* durationOption("refreshRetryInterval", options.refreshRetryInterval, "30 seconds", false)
    const spacingMillis = Duration.toMillis(spacing)
    const credential = options.credential ?? (yield* defaultCredential)
    const scope = yield* Effect.scope
    const cache = new Map<string, Cached>()
    const pending = new Map<string, Deferred.Deferred<AccessToken, AuthenticationError>>()
    const refreshers = new Set<string>()
    const succeeded = KeyVaultMetrics.labels({ outcome: "success" })
    const failed = KeyVaultMetrics.labels({ outcome: "failure" })

    const fetch = (request: TokenRequest): Effect.Effect<Cached, AuthenticationError> =>
      Effect.tapBoth(fetchOnce(request), {
        onFailure: () => Effect.sync(() => KeyVaultMetrics.tokenAcquisitions.unsafeUpdate(1, failed)),
        onSuccess: () => Effect.sync(() => KeyVaultMetrics.tokenAcquisitions.unsafeUpdate(1, succeeded))
      })
    const fetchOnce = (request: TokenRequest): Effect.Effect<Cached, AuthenticationError> =>
      Effect.flatMap(
        Effect.tryPromise({
          try: (signal) =>
            credential.getToken([...request.scopes], {
              abortSignal: signal,
              ...(request.tenantId === undefined ? {} : { tenantId: request.tenantId }),
              ...(request.claims === undefined ? {} : { claims: request.claims })
            }),
          catch: (cause) =>
            new AuthenticationError({ message: `the credential failed: ${describe(cause)}`, status: undefined, cause })
        }),
        (token: AzureAccessToken | null) =>
          token === null
            ? Effect.fail(new AuthenticationError({ message: "the credential returned no token", status: undefined }))
            : Effect.succeed({
              token: { token: Redacted.make(token.token), expiresOnMillis: token.expiresOnTimestamp },
              refreshAt: token.refreshAfterTimestamp ?? token.expiresOnTimestamp - before
            })
      )

    // One refresher per scope and tenant: sleeps until the refresh time, fetches, and on failure tries again after
    // the spacing, for as long as the provider lives.
    const startRefresher = (key: string, request: TokenRequest): Effect.Effect<void> => {
      if (refreshers.has(key)) return Effect.void
      refreshers.add(key)
      const once = Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const current = cache.get(key)
        // At least the spacing between two fetches, even when a token lives shorter than the refresh buffer (or the
        // credential's refresh time has passed): the refresher must never spin.
        const wait = current === undefined ? 0 : Math.max(current.refreshAt - now, spacingMillis)
        if (wait > 0) yield* Effect.sleep(wait)
        const fresh = yield* fetch(request).pipe(
          Effect.tapError((error) =>
            Effect.logWarning("token refresh failed; the current token stays in use").pipe(
              Effect.annotateLogs({ scope: request.scopes.join(" "), error: error.message })
            )
          ),
          Effect.retry(Schedule.spaced(spacing))
        )
        cache.set(key, fresh)
      })
      return Effect.asVoid(Effect.forkIn(Effect.forever(once), scope))
    }

    // Concurrent callers share one fetch, which runs in the provider's scope: an interrupted caller does not cancel
    // the token the others wait for.
    const acquire = (key: string, request: TokenRequest): Effect.Effect<AccessToken, AuthenticationError> =>
      Effect.suspend(() => {
        const running = pending.get(key)
        if (running !== undefined) return Deferred.await(running)
        const deferred = Deferred.unsafeMake<AccessToken, AuthenticationError>(FiberId.none)
        pending.set(key, deferred)
        const run = fetch(request).pipe(
          Effect.tap((fresh) => Effect.zipRight(Effect.sync(() => cache.set(key, fresh)), startRefresher(key, request))),
          Effect.map((fresh) => fresh.token),
          Effect.exit,
          Effect.flatMap((exit) =>
            Effect.zipRight(Effect.sync(() => pending.delete(key)), Deferred.done(deferred, exit))
          )
        )
        return Effect.zipRight(Effect.forkIn(run, scope), Deferred.await(deferred))
      })

    const getToken = (request: TokenRequest): Effect.Effect<AccessToken, AuthenticationError> => {
      // A claims challenge asks for a token with those claims, for one request: never cached.
      if (request.claims !== undefined) return Effect.map(fetch(request), (fresh) => fresh.token)
      const key = `${request.scopes.join(" ")}|${request.tenantId ?? ""}`
      return Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const cached = cache.get(key)
        if (request.forceRefresh !== true && cached !== undefined && now < cached.token.expiresOnMillis) {
          return Effect.succeed(cached.token)
        }
        return acquire(key, request)
      })
    }

    return { getToken }
  })

/**
 * The provider as a Layer (default: `DefaultAzureCredential`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: AzureIdentityOptions = {}
): Layer.Layer<TokenProvider, AuthenticationError | ValidationError> =>
  Layer.scoped(TokenProvider, make(options))
