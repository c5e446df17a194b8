/**
 * The dashboard: one page served by the emulator at `GET /admin/dashboard`, with its script and style sheet beside
 * it. No build step, no external resources (no CDN, no fonts), vanilla JavaScript.
 *
 * The three files hold no data and are served without a token. Everything the page shows it fetches from the admin
 * API with `Authorization: Bearer <token>`: the token comes once from the URL fragment (`#token=...`, which the
 * browser never sends to a server, and which the page removes from the address bar at once) or from a prompt after a
 * 401, and is kept in `sessionStorage` for the tab's life. No cookie is set, so another site cannot make the browser
 * send an authenticated admin request (nothing ambient to ride on). Without an access token configured, the
 * emulator accepts any bearer token and the page needs no input.
 *
 * A strict Content-Security-Policy (`default-src 'none'`, scripts and styles from the page's origin only, no
 * inline script, no framing) and text-only rendering (`textContent`, never `innerHTML`) keep an object name or a
 * tag value from running as script. Secret values appear only after an explicit "Reveal".
 *
 * @internal
 */
import { randomUUID } from "node:crypto"
import type { EmulatorRequest, EmulatorResponse } from "../http/Protocol.js"
import * as Assets from "./internal/Assets.js"

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join("; ")

const asset = (contentType: string, text: string): EmulatorResponse => ({
  status: 200,
  headers: {
    "content-type": contentType,
    "cache-control": "no-store",
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-ms-request-id": randomUUID()
  },
  body: new TextEncoder().encode(text)
})

const files: ReadonlyMap<string, () => EmulatorResponse> = new Map([
  ["/admin/dashboard", () => asset("text/html; charset=utf-8", Assets.HTML)],
  ["/admin/dashboard/", () => asset("text/html; charset=utf-8", Assets.HTML)],
  ["/admin/dashboard/app.js", () => asset("text/javascript; charset=utf-8", Assets.SCRIPT)],
  ["/admin/dashboard/app.css", () => asset("text/css; charset=utf-8", Assets.STYLE)]
])

/**
 * The dashboard's answer to a `GET` or `HEAD` of one of its files; `undefined` for any other request.
 *
 * @internal
 */
export const serve = (request: EmulatorRequest): EmulatorResponse | undefined => {
  if (request.method !== "GET" && request.method !== "HEAD") return undefined
  const file = files.get(request.url.pathname.toLowerCase())
  if (file === undefined) return undefined
  const response = file()
  return request.method === "HEAD" ? { ...response, body: new Uint8Array(0) } : response
}
