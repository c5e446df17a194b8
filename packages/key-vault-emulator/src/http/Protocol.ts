/**
 * The emulator's transport-neutral HTTP model. The Key Vault app is one function from `EmulatorRequest` to
 * `EmulatorResponse`; the HTTPS server, the in-process `HttpClient` Layer and the Azure SDK transport are thin
 * adapters around it. That keeps one implementation of the REST API, whatever carries the bytes.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"

/**
 * A request as the app sees it: method upper-case, absolute URL (its origin is the vault origin the client used),
 * header names lower-case, the whole body as bytes (empty when there is none).
 *
 * @since 0.1.0
 * @category models
 */
export interface EmulatorRequest {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
  /**
   * The local port of the socket the request arrived on, set by a server (a vault bound to a port is chosen by it,
   * never by the `Host` header, which a port-rewriting proxy changes and a client may forge); absent in process.
   */
  readonly localPort?: number | undefined
}

/**
 * A misbehaviour below HTTP that fault injection asks an adapter to produce: drop the connection (`Reset`), never
 * answer (`Stall`), or send the status, the headers and only the first `bytes` of the body, then drop the connection
 * (`Truncate`).
 *
 * @since 0.1.0
 * @category models
 */
export type TransportFault =
  | { readonly _tag: "Reset" }
  | { readonly _tag: "Stall" }
  | { readonly _tag: "Truncate"; readonly bytes: number }

/**
 * A response: status, headers (lower-case names), and the body bytes (empty for 204); or, for a body sent as it is
 * produced (the admin API's live journal), a `stream`.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmulatorResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** The whole body; empty when `stream` is set. */
  readonly body: Uint8Array
  /**
   * A body sent piece by piece, as it is produced, instead of `body` (no `content-length`). It may never end: an
   * adapter writes each chunk as it comes and interrupts the stream when the client goes away (the HTTPS server),
   * or hands it to the caller to read and interrupt (the in-process `HttpClient`). It never fails.
   */
  readonly stream?: Stream.Stream<Uint8Array> | undefined
  /**
   * A transport fault for the adapter to produce instead of (Reset, Stall) or while (Truncate) sending this response.
   * An adapter that ignores it sends the response as is (for Reset and Stall, a 503 error).
   */
  readonly fault?: TransportFault | undefined
}

/**
 * The app: never fails, never dies on bad input (every problem is a Key Vault error response).
 *
 * @since 0.1.0
 * @category models
 */
export type EmulatorHandler = (request: EmulatorRequest) => Effect.Effect<EmulatorResponse>

/**
 * Bodies larger than this are refused with a 400 before they are parsed (the service's own limit is in this range;
 * a 25 KB secret fits many times over).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024
