/**
 * A listener for every vault that has a port of its own, kept in step with the registry: a vault created later with
 * a `port` setting (through the admin API, a seed document or in-process) gets its listener, a vault removed loses it,
 * and `bindPort` moves one. Every listener serves the same handler; the registry routes a request by the port it was
 * sent to, so `https://localhost:<vault-port>` reaches the vault with no name resolution.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as PubSub from "effect/PubSub"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { EmulatorHandler } from "../http/Protocol.js"
import type { VaultRegistry } from "../vaults/VaultRegistry.js"
import * as HttpsServer from "./HttpsServer.js"

/**
 * One vault's listener.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultListener {
  readonly vault: string
  readonly port: number
  /** The vault's URL on this listener, e.g. `https://localhost:8444`. */
  readonly url: string
}

/**
 * What happened to a vault's listener. `Failed` carries the reason (the port is in use, say); the vault stays
 * reachable by its host name, and the next registry change tries again.
 *
 * @since 0.1.0
 * @category models
 */
export type ListenerEvent =
  | { readonly _tag: "Opened"; readonly listener: VaultListener }
  | { readonly _tag: "Closed"; readonly vault: string; readonly port: number }
  | { readonly _tag: "Failed"; readonly vault: string; readonly port: number; readonly error: HttpsServer.ServerError }

/**
 * The running listeners.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultListeners {
  /** The listeners open now, by port. */
  readonly listeners: Effect.Effect<ReadonlyArray<VaultListener>>
  /** Every later listener event, as a Stream (subscribed when this effect runs, until the scope closes). */
  readonly events: Effect.Effect<Stream.Stream<ListenerEvent>, never, Scope.Scope>
  /** Brings the listeners in step with the registry now (changes do this on their own, in the background). */
  readonly sync: Effect.Effect<void>
}

/**
 * Where and how to listen: the same settings as the main server's (`HttpsServer.serve`), without the port.
 *
 * @since 0.1.0
 * @category models
 */
export interface VaultListenersOptions {
  readonly vaults: VaultRegistry
  readonly handler: EmulatorHandler
  /** Listening address; default `127.0.0.1`. */
  readonly host?: string | undefined
  /** HTTPS when present, plain HTTP when `undefined`. */
  readonly tls?: HttpsServer.TlsCredentials | undefined
  readonly hostNames?: ReadonlyArray<string> | undefined
}

interface Open {
  readonly vault: string
  readonly url: string
  readonly scope: Scope.CloseableScope
}

/**
 * Opens a listener for every vault bound to a port and follows the registry until the scope closes (which closes
 * every listener). A listener that cannot open at start fails with `ServerError`; later ones report `Failed`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: VaultListenersOptions): Effect.Effect<VaultListeners, HttpsServer.ServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const events = yield* Effect.acquireRelease(PubSub.unbounded<ListenerEvent>(), PubSub.shutdown)
    // Reconciliations run one at a time, each against the registry as it is then; one in the background per change.
    const lock = yield* Effect.makeSemaphore(1)
    const open = new Map<number, Open>()

    const openOne = (vault: string, port: number): Effect.Effect<void, HttpsServer.ServerError> =>
      Effect.gen(function*() {
        const child = yield* Scope.fork(scope, ExecutionStrategy.sequential)
        const served = yield* Effect.exit(Scope.extend(
          HttpsServer.serve({
            handler: options.handler,
            host: options.host,
            port,
            tls: options.tls,
            hostNames: options.hostNames
          }),
          child
        ))
        if (Exit.isFailure(served)) {
          yield* Scope.close(child, Exit.void)
          return yield* Effect.failCause(served.cause)
        }
        open.set(port, { vault, url: served.value.url, scope: child })
        yield* PubSub.publish(events, { _tag: "Opened", listener: { vault, port, url: served.value.url } })
      })

    const reconcile = (failFast: boolean): Effect.Effect<void, HttpsServer.ServerError> =>
      lock.withPermits(1)(Effect.gen(function*() {
        const wanted = new Map<number, string>()
        for (const [vault, port] of yield* options.vaults.ports) wanted.set(port, vault)
        for (const [port, listener] of [...open]) {
          if (wanted.has(port)) {
            // A port that moved to another vault keeps its socket: the registry routes by port.
            if (wanted.get(port) !== listener.vault) open.set(port, { ...listener, vault: wanted.get(port)! })
            continue
          }
          open.delete(port)
          yield* Scope.close(listener.scope, Exit.void)
          yield* PubSub.publish(events, { _tag: "Closed", vault: listener.vault, port })
        }
        for (const [port, vault] of wanted) {
          if (open.has(port)) continue
          const opened = openOne(vault, port)
          yield* failFast ? opened : Effect.catchAll(opened, (error) =>
            Effect.zipRight(
              Effect.logWarning(`vault '${vault}': cannot listen on port ${port}: ${error.message}`),
              PubSub.publish(events, { _tag: "Failed", vault, port, error })
            ))
        }
      }))

    yield* reconcile(true)
    const background = yield* FiberSet.make<void, never>()
    const run = yield* FiberSet.runtime(background)<never>()
    const follow = Effect.catchAll(reconcile(false), () => Effect.void)
    const unsubscribe = options.vaults.subscribe((change) => {
      if (change._tag !== "Reset") run(follow)
    })
    yield* Effect.addFinalizer(() => Effect.sync(unsubscribe))

    return {
      listeners: lock.withPermits(1)(Effect.sync(() =>
        [...open].sort(([a], [b]) => a - b).map(([port, { url, vault }]) => ({ vault, port, url }))
      )),
      events: Effect.map(PubSub.subscribe(events), (queue) => Stream.fromQueue(queue)),
      sync: follow
    }
  })
