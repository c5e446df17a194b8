/**
 * The emulator's admin surface over HTTP, under `/admin/` on the same origin as the vault (any vault's host),
 * protected like the vault: a request without a bearer token gets the 401 challenge, and with an access token
 * configured any other token gets 401. No `api-version` is needed. Admin requests never meet fault rules or the
 * throttle and are not journaled. The routes call the `Admin` operations (see `admin/internal/Routes.ts` and the
 * README's "Admin API" for every endpoint).
 *
 * The dashboard's static files (`GET /admin/dashboard`, its script and style sheet) are served without a token: they
 * hold no data, and every request the page makes for data carries the token (see `dashboard/Dashboard.ts`).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Admin from "../admin/Admin.js"
import * as Routes from "../admin/internal/Routes.js"
import type { EmulatorClock } from "../clock/EmulatorClock.js"
import * as Dashboard from "../dashboard/Dashboard.js"
import type { EventGrid } from "../events/EventGrid.js"
import * as Challenge from "../http/Challenge.js"
import type { EmulatorHandler, EmulatorRequest } from "../http/Protocol.js"
import type { VaultRegistry } from "../vaults/VaultRegistry.js"

/** @internal */
export interface AdminOptions {
  readonly clock: EmulatorClock
  readonly eventGrid: EventGrid
  readonly tenantId: string
  readonly resource: string | undefined
  readonly verifyToken: Challenge.TokenVerifier | undefined
  readonly vaults: VaultRegistry
  /** The admin operations; default `Admin.make({ vaults, clock })`. */
  readonly admin?: Admin.Admin | undefined
}

/**
 * Parses an ISO 8601 date (a day, or a time with `Z` or an offset); `undefined` when it is not one.
 *
 * @internal
 */
export const parseIsoDate: (text: string) => Date | undefined = Routes.parseIsoDate

/**
 * Whether a request is for the admin surface.
 *
 * @internal
 */
export const isAdminRequest = (request: EmulatorRequest): boolean => {
  const path = request.url.pathname.toLowerCase()
  return path === "/admin" || path.startsWith("/admin/")
}

/**
 * Serves `/admin/...` itself and passes every other request to `vault`.
 *
 * @internal
 */
export const wrap = (vault: EmulatorHandler, options: AdminOptions): EmulatorHandler => {
  const context: Routes.RouteContext = {
    admin: options.admin ?? Admin.make({ vaults: options.vaults, clock: options.clock }),
    vaults: options.vaults,
    eventGrid: options.eventGrid
  }
  return (request) => {
    if (!isAdminRequest(request)) return vault(request)
    const asset = Dashboard.serve(request)
    if (asset !== undefined) return Effect.succeed(asset)
    const resource = options.resource ?? Challenge.resourceFor(request.url)
    if (!Challenge.hasBearerToken(request)) return Effect.succeed(Challenge.challenge(options.tenantId, resource))
    if (options.verifyToken !== undefined && !options.verifyToken(request)) {
      return Effect.succeed(Challenge.invalidToken(options.tenantId, resource))
    }
    return Routes.route(context, request)
  }
}
