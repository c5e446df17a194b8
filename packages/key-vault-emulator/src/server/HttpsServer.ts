/**
 * The socket adapter: serves an `EmulatorHandler` over `node:https` (or plain `node:http`), translating Node's
 * request/response objects to the emulator's transport-neutral model and back. A response with a `stream` body (the
 * admin API's live journal) is written chunk by chunk as it is produced, each after the socket drained, and is
 * interrupted (its subscriptions released) when the client goes away or the server closes.
 *
 * Plain HTTP answers only requests whose `Host` names this server (localhost, a loopback address, the listening
 * address, configured names; with its port): a web page that rebinds its own DNS name to 127.0.0.1 is then refused,
 * although the browser considers it same-origin. HTTPS needs no such check by default: the browser would have to
 * accept the emulator's certificate for the attacker's name, which it does not cover and its CA cannot sign.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Net from "node:net"
import * as Os from "node:os"
import type { EmulatorHandler, EmulatorRequest, EmulatorResponse } from "../http/Protocol.js"
import { MAX_REQUEST_BODY_BYTES } from "../http/Protocol.js"
import * as Responses from "../http/Responses.js"

/**
 * Raised when the server cannot start listening (port in use, bad address, invalid TLS material).
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Data.TaggedError("ServerError")<{
  readonly operation: string
  readonly cause?: unknown
}> {
  override get message(): string {
    const detail = this.cause instanceof Error ? `: ${this.cause.message}` : ""
    return `server ${this.operation} failed${detail}`
  }
}

/**
 * PEM certificate (chain) and private key for the HTTPS listener.
 *
 * @since 0.1.0
 * @category models
 */
export interface TlsCredentials {
  readonly cert: string
  readonly key: string
}

/**
 * What to serve and where.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServeOptions {
  readonly handler: EmulatorHandler
  /** Listening address; default `127.0.0.1`, so nothing is exposed beyond this machine unless asked for. */
  readonly host?: string | undefined
  /** Listening port; default `0`, any free port (read the chosen one from the result). */
  readonly port?: number | undefined
  /** HTTPS when present, plain HTTP when `undefined`. */
  readonly tls?: TlsCredentials | undefined
  /**
   * Refuse (403 `Forbidden`, before the handler) requests whose `Host` header names something other than this
   * server: `localhost` and `*.localhost`, a loopback address, the listening address (any local address for a
   * wildcard listener), or one of `hostNames`, each with the listening port. A request without `Host` (HTTP/1.0)
   * passes. Default: on for plain HTTP, off for HTTPS (see the module note).
   */
  readonly checkHost?: boolean | undefined
  /** More names clients may use in `Host` (DNS names, `*.` wildcards for one label, or addresses). */
  readonly hostNames?: ReadonlyArray<string> | undefined
}

/**
 * Where a started server can be reached.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerInfo {
  /** Origin clients use as the vault URL, e.g. `https://localhost:8443` or `http://127.0.0.1:8080`. */
  readonly url: string
  readonly port: number
  /** The address the socket is bound to. */
  readonly host: string
  readonly tls: boolean
}

/**
 * Starts a server for `handler` and keeps it running until the scope closes; closing also destroys open
 * (keep-alive) connections, so the port is free once the finalizer has run.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serve = (options: ServeOptions): Effect.Effect<ServerInfo, ServerError, Scope.Scope> =>
  Effect.gen(function*() {
    // Request fibers belong to the scope: closing it interrupts handlers still running, instead of leaving them
    // to write to sockets that are already gone.
    const fibers = yield* FiberSet.make<void, never>()
    const run = yield* FiberSet.runtime(fibers)<never>()
    const tls = options.tls
    const scheme = tls === undefined ? "http" : "https"
    const requestedHost = options.host ?? "127.0.0.1"
    let fallbackAuthority = formatHost(requestedHost)
    const checkHost = options.checkHost ?? tls === undefined
    // Set once listening, before any request can arrive.
    let hostPolicy: HostPolicy | undefined = undefined

    // Whether the request may go on; otherwise it has been answered (and the connection is closing).
    const admit = (req: Http.IncomingMessage, res: Http.ServerResponse): boolean => {
      // Without listeners, an aborted client would surface as an unhandled 'error' event and crash the process.
      req.on("error", ignore)
      res.on("error", ignore)
      if (!checkHost || hostPolicy === undefined || hostAllowed(req.headers.host, hostPolicy)) return true
      run(writeResponse(res, foreignHost, true))
      return false
    }

    const onRequest = (req: Http.IncomingMessage, res: Http.ServerResponse): void => {
      if (admit(req, res)) run(handleRequest(options.handler, req, res, scheme, fallbackAuthority))
    }

    const serverOptions: Http.ServerOptions = { keepAlive: true, noDelay: true }
    const server = tls === undefined
      ? Http.createServer(serverOptions, onRequest)
      : Https.createServer({ ...serverOptions, cert: tls.cert, key: tls.key }, onRequest)
    // Longer than the idle timeouts of Node's global agent (5 s) and undici (4 s): the client closes idle
    // connections first, so it never reuses one the server is closing at the same moment.
    server.keepAliveTimeout = 30_000

    // A client sending `Expect: 100-continue` with an oversized body gets its 400 before it sends the body.
    server.on("checkContinue", (req: Http.IncomingMessage, res: Http.ServerResponse) => {
      if (!admit(req, res)) return
      if (declaredLength(req) > MAX_REQUEST_BODY_BYTES) {
        run(writeResponse(res, bodyTooLarge, true))
      } else {
        res.writeContinue()
        run(handleRequest(options.handler, req, res, scheme, fallbackAuthority))
      }
    })

    const sockets = new Set<Net.Socket>()
    server.on("connection", (socket: Net.Socket) => {
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
    })

    const address = yield* Effect.acquireRelease(
      listen(server, requestedHost, options.port ?? 0),
      () => close(server, sockets)
    )
    fallbackAuthority = `${formatHost(address.address)}:${address.port}`
    hostPolicy = {
      boundAddress: canonicalHost(address.address),
      names: [requestedHost, ...(options.hostNames ?? [])].map(canonicalHost)
    }
    server.on("error", (cause) => run(Effect.logError("emulator server error", cause)))

    return {
      url: `${scheme}://${urlHost(requestedHost, address.address, tls !== undefined)}:${address.port}`,
      port: address.port,
      host: address.address,
      tls: tls !== undefined
    }
  })

// --- lifecycle ----------------------------------------------------------------------------------------------------

const ignore = (): void => {}

const listen = (server: Net.Server, host: string, port: number): Effect.Effect<Net.AddressInfo, ServerError> =>
  Effect.async<Net.AddressInfo, ServerError>((resume) => {
    const onError = (cause: Error): void => {
      server.off("listening", onListening)
      resume(Effect.fail(new ServerError({ operation: `listen on ${formatHost(host)}:${port}`, cause })))
    }
    const onListening = (): void => {
      server.off("error", onError)
      const address = server.address()
      resume(
        address !== null && typeof address === "object"
          ? Effect.succeed(address)
          : Effect.fail(new ServerError({ operation: "listen", cause: new Error("no TCP address") }))
      )
    }
    server.once("error", onError)
    server.once("listening", onListening)
    try {
      server.listen({ host, port })
    } catch (cause) {
      // Invalid port numbers throw synchronously instead of emitting 'error'.
      server.off("error", onError)
      server.off("listening", onListening)
      resume(Effect.fail(new ServerError({ operation: `listen on ${formatHost(host)}:${port}`, cause })))
    }
  })

const close = (server: Net.Server, sockets: Set<Net.Socket>): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    server.close(() => resume(Effect.void))
    // server.close only stops accepting; idle keep-alive and half-finished TLS handshakes would hold it open.
    for (const socket of sockets) socket.destroy()
  })

// --- addresses ----------------------------------------------------------------------------------------------------

const formatHost = (host: string): string => Net.isIPv6(host) ? `[${host}]` : host

const isUnspecified = (host: string): boolean => host === "0.0.0.0" || host === "::"

// Lower case, no brackets or trailing dot; IPv6 in its canonical (RFC 5952) form, as the URL parser writes it.
const canonicalHost = (host: string): string => {
  const bare = host.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "")
  return Net.isIPv6(bare) && !bare.includes("%") ? new URL(`http://[${bare}]`).hostname.slice(1, -1) : bare
}

/**
 * Whether `host` (a name or address as given to `--host`) is loopback only: `localhost`, `*.localhost`, 127.0.0.0/8,
 * `::1`, or an IPv4-mapped loopback address. Anything else can be reachable from other machines.
 *
 * @since 0.1.0
 * @category guards
 */
export const isLoopback = (host: string): boolean => {
  const name = canonicalHost(host)
  if (name === "localhost" || name.endsWith(".localhost")) return true
  if (Net.isIPv4(name)) return name.startsWith("127.")
  // IPv4-mapped 127.x.y.z, canonically written `::ffff:7fxx:yyzz`.
  return name === "::1" || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(name)
}

// Addresses a client reaches through the name `localhost`; other loopback addresses (127.0.0.2) are not.
const isLocalhost = (host: string): boolean => host === "localhost" || host === "127.0.0.1" || host === "::1"

// The advertised URL must be something a local client can connect to and, for HTTPS, a name the generated
// certificate covers: `localhost` for a loopback or wildcard listener.
const urlHost = (requested: string, bound: string, tls: boolean): string => {
  if (tls && (isLocalhost(requested) || isUnspecified(requested))) return "localhost"
  if (isUnspecified(bound)) return bound === "::" ? "[::1]" : "127.0.0.1"
  return formatHost(requested === "localhost" ? bound : requested)
}

// --- the Host check ----------------------------------------------------------------------------------------------

interface HostPolicy {
  /** Canonical bound address; `0.0.0.0` or `::` for a wildcard listener. */
  readonly boundAddress: string
  /** Canonical configured names, the requested listening host among them. */
  readonly names: ReadonlyArray<string>
}

const foreignHost: EmulatorResponse = Responses.error(
  403,
  "Forbidden",
  "The Host header does not name this emulator. Over plain HTTP it answers only requests addressed to localhost, " +
    "a loopback address, its listening address or a configured name (--name): a guard against DNS rebinding."
)

const nameMatches = (host: string, pattern: string): boolean =>
  pattern.startsWith("*.")
    ? host.endsWith(pattern.slice(1)) && !host.slice(0, -(pattern.length - 1)).includes(".") &&
      host.length > pattern.length - 1
    : host === pattern

// Addresses of this machine's interfaces, for a wildcard listener: each is an address it listens on. Read per request
// (only for an IP-literal Host that nothing else allowed), so interfaces that come and go are seen.
const isLocalAddress = (address: string): boolean =>
  Object.values(Os.networkInterfaces()).some((entries) =>
    (entries ?? []).some((entry) => canonicalHost(entry.address) === address)
  )

const hostAllowed = (header: string | undefined, policy: HostPolicy): boolean => {
  // HTTP/1.0 without Host: not a browser (they always send it), so not a rebinding page.
  if (header === undefined) return true
  if (!HOST_HEADER.test(header)) return false
  // HOST_HEADER has vetted the shape: a name, an IPv4 address or a bracketed IPv6 one, then maybe `:port`.
  // The port is not checked: a rebinding page controls only the name, and a port mapping (a container published on
  // another port) must keep working.
  const [, name = ""] = /^(.+?)(?::\d+)?$/.exec(header) ?? []
  const host = canonicalHost(name)
  if (isLoopback(host) || host === policy.boundAddress) return true
  if (policy.names.some((name) => nameMatches(host, name))) return true
  return Net.isIP(host) !== 0 && isUnspecified(policy.boundAddress) && isLocalAddress(host)
}

// Host names, IPv4 and bracketed IPv6, optional port. Anything else (a path, credentials, spaces) would let the
// Host header rewrite the request URL's path or origin.
const HOST_HEADER = /^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i

const requestUrl = (req: Http.IncomingMessage, scheme: string, fallbackAuthority: string): URL => {
  const target = req.url ?? "/"
  let path = target
  if (!target.startsWith("/")) {
    // Absolute-form (proxy style) or `*`: keep only the path and query, the origin comes from this server.
    const parsed = URL.canParse(target) ? new URL(target) : undefined
    path = parsed === undefined ? "/" : `${parsed.pathname}${parsed.search}`
  }
  const host = req.headers.host
  const authority = host !== undefined && HOST_HEADER.test(host) ? host : fallbackAuthority
  // One parse, not `canParse` and then a second one: this runs for every request.
  try {
    return new URL(`${scheme}://${authority}${path}`)
  } catch {
    return new URL(`${scheme}://${fallbackAuthority}/`)
  }
}

// Every value of a repeated header, joined with ", " (what `headersDistinct` gives, without its arrays): Node's
// `headers` keeps only the first of some (authorization, host), which would hide a duplicated credential.
const requestHeaders = (req: Http.IncomingMessage): Record<string, string> => {
  const headers: Record<string, string> = {}
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase()
    const previous = headers[name]
    headers[name] = previous === undefined ? raw[i + 1]! : `${previous}, ${raw[i + 1]!}`
  }
  return headers
}

// --- bodies -------------------------------------------------------------------------------------------------------

// An oversized body is read and thrown away up to this much more, so the client can finish sending and read the
// 400 on a connection that stays usable; beyond it the connection is closed.
const DISCARD_LIMIT_BYTES = 8 * MAX_REQUEST_BODY_BYTES

type BodyResult =
  | { readonly _tag: "Complete"; readonly bytes: Uint8Array }
  | { readonly _tag: "TooLarge"; readonly closeConnection: boolean }
  | { readonly _tag: "Aborted" }

const declaredLength = (req: Http.IncomingMessage): number => {
  const value = req.headers["content-length"]
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : 0
}

const emptyBody: BodyResult = { _tag: "Complete", bytes: new Uint8Array(0) }

// No Content-Length (or 0) and no Transfer-Encoding: HTTP/1.1 says there is no body (the GETs, most requests).
const hasNoBody = (req: Http.IncomingMessage): boolean => {
  const length = req.headers["content-length"]
  return (length === undefined || length === "0") && req.headers["transfer-encoding"] === undefined
}

const readBody = (req: Http.IncomingMessage): Effect.Effect<BodyResult> => {
  if (hasNoBody(req)) {
    // Nothing to wait for; let the stream end on its own so the connection can take the next request.
    req.resume()
    return Effect.succeed(emptyBody)
  }
  return readBodyChunks(req)
}

const readBodyChunks = (req: Http.IncomingMessage): Effect.Effect<BodyResult> =>
  Effect.async<BodyResult>((resume) => {
    if (declaredLength(req) > MAX_REQUEST_BODY_BYTES + DISCARD_LIMIT_BYTES) {
      resume(Effect.succeed({ _tag: "TooLarge", closeConnection: true }))
      return
    }
    const chunks: Array<Buffer> = []
    let received = 0
    let done = false
    const finish = (result: BodyResult): void => {
      if (done) return
      done = true
      req.off("data", onData)
      req.off("end", onEnd)
      req.off("close", onClose)
      resume(Effect.succeed(result))
    }
    const onData = (chunk: Buffer): void => {
      received += chunk.byteLength
      if (received <= MAX_REQUEST_BODY_BYTES) {
        chunks.push(chunk)
      } else {
        chunks.length = 0
        if (received > MAX_REQUEST_BODY_BYTES + DISCARD_LIMIT_BYTES) finish({ _tag: "TooLarge", closeConnection: true })
      }
    }
    const onEnd = (): void =>
      finish(
        received > MAX_REQUEST_BODY_BYTES
          ? { _tag: "TooLarge", closeConnection: false }
          : { _tag: "Complete", bytes: Buffer.concat(chunks) }
      )
    const onClose = (): void => finish({ _tag: "Aborted" })
    req.on("data", onData)
    req.on("end", onEnd)
    req.on("close", onClose)
    return Effect.sync(() => finish({ _tag: "Aborted" }))
  })

// --- responses ----------------------------------------------------------------------------------------------------

const bodyTooLarge: EmulatorResponse = Responses.badParameter("The request body is too large.")

// Only the defect's class name is logged, as in the app: a message could quote request data.
const defectName = (cause: unknown): string => (cause instanceof Error ? cause.name : typeof cause)

// Resolves once the client has gone away (or the response has been finished and the connection closed).
const closed = (res: Http.ServerResponse): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (res.destroyed || res.socket === null || res.socket.destroyed) {
      resume(Effect.void)
      return
    }
    const onClose = (): void => resume(Effect.void)
    res.once("close", onClose)
    return Effect.sync(() => res.off("close", onClose))
  })

// Writes one chunk; waits for `drain` when the socket's buffer is full, so a slow client holds back the stream (whose
// own buffer is bounded) instead of growing the socket's.
const writeChunk = (res: Http.ServerResponse, chunk: Uint8Array): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (res.destroyed || res.writableEnded) {
      resume(Effect.void)
      return
    }
    if (res.write(chunk)) {
      resume(Effect.void)
      return
    }
    const onDrain = (): void => resume(Effect.void)
    res.once("drain", onDrain)
    return Effect.sync(() => res.off("drain", onDrain))
  })

// A streamed body: the head at once, then every chunk as it is produced, until the stream ends (the response ends
// too) or the client goes away (the stream is interrupted, its subscriptions released, nothing left running).
const writeStream = (
  res: Http.ServerResponse,
  response: EmulatorResponse,
  stream: Stream.Stream<Uint8Array>
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const headers: Record<string, string> = { ...response.headers }
    delete headers["content-length"]
    try {
      res.writeHead(response.status, headers)
      res.flushHeaders()
    } catch (cause) {
      return Effect.logError("emulator response could not be written").pipe(
        Effect.annotateLogs({ error: defectName(cause) }),
        Effect.zipRight(Effect.sync(() => res.destroy()))
      )
    }
    const sent = Stream.runForEach(stream, (chunk) => writeChunk(res, chunk)).pipe(
      Effect.zipRight(Effect.sync(() => res.end()))
    )
    return Effect.raceFirst(sent, closed(res))
  })

const writeResponse = (
  res: Http.ServerResponse,
  response: EmulatorResponse,
  closeConnection: boolean
): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (res.headersSent || res.writableEnded || res.destroyed) return Effect.void
    if (response.stream !== undefined && response.fault === undefined) {
      return writeStream(res, response, response.stream)
    }
    const headers: Record<string, string> = { ...response.headers }
    const hasBody = response.status !== 204 && response.status !== 304
    if (hasBody && headers["content-length"] === undefined && headers["transfer-encoding"] === undefined) {
      headers["content-length"] = String(response.body.byteLength)
    }
    if (closeConnection) headers["connection"] = "close"
    // A plain try: this runs once per response, and wrapping it in `Effect.try` cost a measurable share of a GET.
    try {
      const fault = response.fault
      switch (fault?._tag) {
        case "Reset":
          // Destroying the socket before any byte of the answer: the client sees ECONNRESET / "socket hang up".
          res.destroy()
          break
        case "Stall":
          // Never answer. The socket stays in the server's set, so closing the server still frees it.
          break
        case "Truncate":
          // The full content-length, part of the body, then the connection goes: the client's body read fails.
          res.writeHead(response.status, headers)
          res.flushHeaders()
          res.write(response.body.subarray(0, fault.bytes), () => res.socket?.destroySoon())
          break
        case undefined:
          res.writeHead(response.status, headers)
          res.end(hasBody ? response.body : undefined)
      }
      return Effect.void
    } catch (cause) {
      return Effect.logError("emulator response could not be written").pipe(
        Effect.annotateLogs({ error: defectName(cause) }),
        Effect.zipRight(Effect.sync(() => res.destroy()))
      )
    }
  })

const handleRequest = (
  handler: EmulatorHandler,
  req: Http.IncomingMessage,
  res: Http.ServerResponse,
  scheme: string,
  fallbackAuthority: string
): Effect.Effect<void> =>
  Effect.flatMap(readBody(req), (body): Effect.Effect<void> => {
    switch (body._tag) {
      case "Aborted":
        return Effect.void
      case "TooLarge":
        return writeResponse(res, bodyTooLarge, body.closeConnection)
      case "Complete": {
        const request: EmulatorRequest = {
          method: (req.method ?? "GET").toUpperCase(),
          url: requestUrl(req, scheme, fallbackAuthority),
          headers: requestHeaders(req),
          body: body.bytes,
          localPort: req.socket.localPort
        }
        return Effect.flatMap(handler(request), (response) => writeResponse(res, response, false))
      }
    }
  }).pipe(
    // The handler contract says it never fails; a defect still gets an answer instead of a hung client.
    Effect.catchAllDefect((cause) =>
      Effect.logError("emulator handler failed").pipe(
        Effect.annotateLogs({ defect: defectName(cause) }),
        Effect.zipRight(writeResponse(res, Responses.internalError(), false))
      )
    )
  )
