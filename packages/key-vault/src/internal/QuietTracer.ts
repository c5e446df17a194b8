/**
 * The application's tracer, minus its per-step context hook, for the inside of an operation.
 *
 * Effect calls its tracer's `context` hook around every step a fiber takes. `@effect/opentelemetry`'s hook makes an
 * OpenTelemetry context holding the current span for each of them (a `Map` copied per step), so that OpenTelemetry's
 * own instrumentation (an HTTP client's, say) finds the right parent. An uncached `get` takes about ninety steps, and
 * that hook was most of what wiring OpenTelemetry cost it. Inside an operation nothing but the HTTP exchange can
 * meet OpenTelemetry's instrumentation, so the operation's steps run with a tracer that makes the same spans
 * through the application's tracer (same parents, same exporters) without the hook (`quiet`), and the exchange,
 * which runs in a fiber of its own (see `Transport`), gets the application's tracer back (`loud`): the HTTP client
 * and any instrumentation under it see the operation's span as the active one, as before.
 *
 * @since 0.1.0
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import type * as FiberId from "effect/FiberId"
import * as Tracer from "effect/Tracer"

const quietOf = new WeakMap<Tracer.Tracer, Tracer.Tracer>()
const loudOf = new WeakMap<Tracer.Tracer, Tracer.Tracer>()

/**
 * The quiet twin of `tracer` (made once per tracer); a quiet tracer is its own twin. A tracer whose per-step hook is
 * Effect's own (it runs the step, as `telemetry/OpenTelemetry`'s tracer does when no OpenTelemetry context manager is
 * registered) is quiet: an operation runs on it as it is, with no twin to switch to and back from (a switch costs the
 * operation's fiber and its exchange fiber a change of their default services each way, and the token acquisition
 * one more: measured, about a sixth of an uncached in-process `get`).
 *
 * @since 0.1.0
 * @internal
 */
export const quiet = (tracer: Tracer.Tracer): Tracer.Tracer => {
  if (tracer.context === nativeTracer.context || loudOf.has(tracer)) return tracer
  let twin = quietOf.get(tracer)
  if (twin === undefined) {
    twin = Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) =>
        tracer.span(name, parent, context, links, startTime, kind, options),
      context: nativeTracer.context
    })
    quietOf.set(tracer, twin)
    loudOf.set(twin, tracer)
  }
  return twin
}

/**
 * The application's tracer behind a quiet one, or `undefined` for any other tracer.
 *
 * @since 0.1.0
 * @internal
 */
export const loud = (tracer: Tracer.Tracer): Tracer.Tracer | undefined => loudOf.get(tracer)

/**
 * The default services with `tracer` in place of the current one.
 *
 * @since 0.1.0
 * @internal
 */
export const withTracer = (
  services: Context.Context<DefaultServices.DefaultServices>,
  tracer: Tracer.Tracer
): Context.Context<DefaultServices.DefaultServices> => {
  // A fiber's default services rarely change, and every traced operation swaps the tracer in them twice (quiet for
  // the operation, the application's back for its exchange): the swapped contexts are made once per pair.
  let byTracer = swapped.get(services)
  if (byTracer === undefined) swapped.set(services, byTracer = new WeakMap())
  let result = byTracer.get(tracer)
  if (result === undefined) byTracer.set(tracer, result = Context.add(services, Tracer.Tracer, tracer))
  return result
}

const swapped = new WeakMap<
  Context.Context<DefaultServices.DefaultServices>,
  WeakMap<Tracer.Tracer, Context.Context<DefaultServices.DefaultServices>>
>()

/**
 * Effect's built-in tracer, in place when the application installed none: its spans go nowhere, yet making one per
 * operation (and the HTTP client's, with its URL and header attributes) cost about a fifth of an uncached in-process
 * `get`. With it, operations make no span. Read from the default services, not by running an Effect at load.
 *
 * @since 0.1.0
 * @internal
 */
export const nativeTracer: Tracer.Tracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * Fiber refs for the HTTP exchange, which runs in a fiber of its own:
 * - forked from a quiet fiber: the application's tracer back, so the HTTP client and any instrumentation under it
 *   see the operation's span as the active one; and no `http.client` span of the platform's HttpClient, whose
 *   attempt the operation's span already records as an event (status, request ids, delays; see `Transport`), so
 *   each operation exports one span rather than two, and `traceparent` names the operation's span;
 * - with only Effect's tracer: tracing off, so an HTTP client that makes spans (the platform's) makes none;
 * - with any other tracer (one that needs no twin, or a list's exchange): no `http.client` span either.
 *
 * @since 0.1.0
 * @internal
 */
export const exchangeFiberRefs = (
  fiberRefs: FiberRefs.FiberRefs,
  services: Context.Context<DefaultServices.DefaultServices>,
  fiberId: FiberId.Runtime
): FiberRefs.FiberRefs => {
  const current = Context.get(services, Tracer.Tracer)
  if (current === nativeTracer) {
    return FiberRefs.updateAs(fiberRefs, { fiberId, fiberRef: FiberRef.currentTracerEnabled, value: false })
  }
  const application = loud(current)
  return application === undefined
    ? FiberRefs.updateAs(fiberRefs, { fiberId, fiberRef: HttpClient.currentTracerDisabledWhen, value: always })
    : FiberRefs.updateManyAs(fiberRefs, {
      entries: [
        [DefaultServices.currentServices, [[fiberId, withTracer(services, application)]]],
        [HttpClient.currentTracerDisabledWhen, [[fiberId, always]]]
      ]
    })
}

const always = (): boolean => true

/**
 * The context for the HTTP exchange of an operation whose span is `span`: the operation's span is the exchange's
 * current span when the caller made it current, and otherwise when the exchange runs with the application's tracer
 * (a quiet twin's fiber: OpenTelemetry's context propagates, for its HTTP instrumentation). Otherwise only an
 * HttpClient's own Effect logs and spans could see it, and they take the operation's parent: adding it copied the
 * fiber's whole context per request (about 2.5 kB, measured).
 *
 * @since 0.1.0
 * @internal
 */
export const exchangeContext = (
  context: Context.Context<never>,
  tracer: Tracer.Tracer,
  span: Tracer.Span | undefined
): Context.Context<never> => {
  if (span === undefined || loud(tracer) === undefined) return context
  const current = Context.getOption(context, Tracer.ParentSpan)
  return current._tag === "Some" && current.value === span ? context : Context.add(context, Tracer.ParentSpan, span)
}

/**
 * Sets the fiber's default services (a `FiberRef.set`, one step).
 *
 * @since 0.1.0
 * @internal
 */
export const setServices = (services: Context.Context<DefaultServices.DefaultServices>) =>
  FiberRef.set(DefaultServices.currentServices, services)

/**
 * Runs `effect` with the application's tracer when the fiber runs a quiet twin: for the steps of an operation that
 * may meet OpenTelemetry's own instrumentation besides the HTTP exchange (acquiring a token: a credential's HTTP call
 * to Entra or the instance metadata service), and whose forked fibers (a credential's background refresh) outlive
 * the operation. Unchanged, at no cost, for any other tracer.
 *
 * @since 0.1.0
 * @internal
 */
export const loudly = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) => {
    const application = loud(fiber.currentTracer)
    return application === undefined ? effect : Effect.withTracer(effect, application)
  })
