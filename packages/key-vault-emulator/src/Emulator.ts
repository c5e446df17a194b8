/**
 * The emulator: one vault engine and the Key Vault REST app over it. Serve `handler` any way you like (HTTPS server,
 * in-process `HttpClient` Layer, Azure SDK transport); inspect or drive `engine` directly in tests.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Engine from "./engine/VaultEngine.js"
import * as App from "./http/App.js"
import type { EmulatorHandler } from "./http/Protocol.js"

/**
 * The tenant named in the challenge when none is configured: the all-zero GUID, recognisably not a real tenant.
 * Credentials receive it as `tenantId` in `getToken` options; the emulator accepts any token.
 *
 * @since 0.1.0
 */
export const DEFAULT_TENANT_ID = "00000000-0000-0000-0000-000000000000"

/**
 * Emulator settings. All optional.
 *
 * @since 0.1.0
 */
export interface EmulatorOptions {
  /** Tenant in the challenge's `authorization` URL. Default `DEFAULT_TENANT_ID`. */
  readonly tenantId?: string
  /**
   * Challenge resource (the token audience). Default: derived from each request's host: `https://vault.azure.net` for
   * `*.vault.azure.net` (and the sovereign-cloud equivalents); for another multi-label host such as
   * `myvault.localhost:8443`, the scheme + the host without its first label + the port (`https://localhost:8443`);
   * otherwise the request origin. The SDKs check that the vault host ends with `"." + resource host`.
   */
  readonly resource?: string
  /** Days a deleted object stays recoverable before it is purged. Default 90. */
  readonly recoverableDays?: number
  /**
   * Refuse to return a secret value before its `nbf` or from its `exp` on (403 `Forbidden`, inner `SecretNotYetValid`
   * / `SecretExpired`). Default true, which is stricter than the real service (it is lenient about secret validity);
   * set false to mimic it.
   */
  readonly enforceValidityPeriod?: boolean
}

/**
 * A running emulator.
 *
 * @since 0.1.0
 */
export interface Emulator {
  readonly handler: EmulatorHandler
  readonly engine: Engine.VaultEngine
}

/**
 * The vault engine type, re-exported for callers that only import this module.
 *
 * @since 0.1.0
 */
export type VaultEngine = Engine.VaultEngine

/**
 * A new emulator with an empty vault. Invalid options (e.g. `recoverableDays: 0`) are a programming error and die.
 *
 * @since 0.1.0
 */
export const make = (options: EmulatorOptions = {}): Effect.Effect<Emulator> =>
  Effect.map(
    Engine.make({
      recoverableDays: options.recoverableDays,
      enforceValidityPeriod: options.enforceValidityPeriod
    }),
    (engine): Emulator => ({
      engine,
      handler: App.make({ engine, tenantId: options.tenantId ?? DEFAULT_TENANT_ID, resource: options.resource })
    })
  )

/**
 * Access to the emulator behind a Layer (for example `HttpClientLayer.layerFresh`), so tests can inspect its engine.
 *
 * @since 0.1.0
 */
export class EmulatorService extends Context.Tag("@effect-azure/key-vault-emulator/Emulator")<
  EmulatorService,
  Emulator
>() {}
