/**
 * Where bearer tokens come from. The transport asks for a token per vault challenge (scope + tenant, and claims for
 * continuous access evaluation); implementations decide how to get and cache it. A static provider serves the
 * emulator and tests; the Azure identity chain plugs in here as another Layer.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { AuthenticationError } from "../errors/KeyVaultError.js"

/**
 * What the transport asks for.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenRequest {
  /** OAuth scopes, e.g. `["https://vault.azure.net/.default"]`. */
  readonly scopes: ReadonlyArray<string>
  /** The tenant the vault's challenge named. */
  readonly tenantId?: string | undefined
  /** Claims from an `insufficient_claims` challenge (decoded JSON string). */
  readonly claims?: string | undefined
  /** Bypass any cache: the vault refused the last token. */
  readonly forceRefresh?: boolean | undefined
}

/**
 * A bearer token. The value is `Redacted`, so it never prints.
 *
 * @since 0.1.0
 * @category models
 */
export interface AccessToken {
  readonly token: Redacted.Redacted<string>
  /** Expiry, epoch milliseconds. */
  readonly expiresOnMillis: number
}

/**
 * The token provider service.
 *
 * @since 0.1.0
 * @category tags
 */
export class TokenProvider extends Context.Tag("@effect-azure/key-vault/TokenProvider")<
  TokenProvider,
  {
    readonly getToken: (request: TokenRequest) => Effect.Effect<AccessToken, AuthenticationError>
  }
>() {}

/**
 * A provider that always answers the same token: for the emulator (which accepts any bearer token) and tests.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStatic = (token: string | Redacted.Redacted<string> = "emulator-token"): Layer.Layer<TokenProvider> =>
  Layer.succeed(TokenProvider, {
    getToken: () =>
      Effect.succeed({
        token: Redacted.isRedacted(token) ? token : Redacted.make(token),
        expiresOnMillis: Number.MAX_SAFE_INTEGER
      })
  })
