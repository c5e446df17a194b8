/**
 * The operation template: each public operation of Secrets, Keys, Cryptography (and later Certificates) is declared
 * once — its name (also its span name), validation, request, response schema and model — and this module does the
 * rest: the client span with the vault, object type and operation, the name on the span once it has passed
 * validation, the request through the transport, decoding with a decoder built once, and cache invalidation after
 * a mutation. Not part of the package's public exports.
 *
 * @since 0.1.0
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as HashMap from "effect/HashMap"
import * as FiberRef from "effect/FiberRef"
import type * as MetricLabel from "effect/MetricLabel"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type { ObjectType } from "../cache/VaultCache.js"
import { DecodeError, type Expected } from "../errors/KeyVaultError.js"
import * as KeyVaultMetrics from "../telemetry/KeyVaultMetrics.js"
import {
  decode,
  type ErrorsOf,
  type KeyVaultTransport,
  paginate,
  SpanKeys,
  type TransportRequest,
  type TransportResponse
} from "../transport/Transport.js"
import * as Validation from "../validation/Validation.js"
import * as ErrorTag from "./ErrorTag.js"
import * as QuietTracer from "./QuietTracer.js"
import type * as VersionWrites from "./VersionWrites.js"
import type { ValidationError } from "../errors/KeyVaultError.js"

/**
 * What the operations of one service share: its transport, its object type and how it forgets a name.
 *
 * @since 0.1.0
 * @internal
 */
export interface Client {
  readonly transport: KeyVaultTransport["Type"]
  readonly objectType: ObjectType
  /** Drops what this client caches for a name; runs after every mutation, whether or not an answer came back. */
  readonly invalidate: (name: string) => Effect.Effect<void>
  /** Announces a new version written through this client (see `VersionWrites`). */
  readonly announce?: ((write: VersionWrites.VersionWrite) => Effect.Effect<void>) | undefined
}

/**
 * A request, before the transport adds the operation's name.
 *
 * @since 0.1.0
 * @internal
 */
export type Request<E extends Expected> = Omit<TransportRequest<E>, "operation">

/**
 * Validated input: `name`, when present, has passed validation and may go on the span.
 *
 * @since 0.1.0
 * @internal
 */
export interface Validated {
  readonly name?: string | undefined
}

/**
 * One operation, declared.
 *
 * @since 0.1.0
 * @internal
 */
export interface Spec<Args extends ReadonlyArray<unknown>, V extends object, EV, E extends Expected, W, A, WI = unknown> {
  readonly validate: (...args: Args) => Effect.Effect<V, EV>
  readonly request: (input: V) => Request<E>
  /** The answer's wire schema; without one the answer's body is ignored (purge's 204). */
  readonly response?: Schema.Schema<W, WI> | undefined
  /** A broken answer the schema cannot see (a secret without a value): the message of its DecodeError. */
  readonly refuse?: ((wire: W) => string | undefined) | undefined
  readonly model: (wire: W, input: V) => A
  /** `input`: the validated name is invalidated after the request; `result`: the model's `name`, once answered. */
  readonly invalidates?: "input" | "result" | undefined
  /** Span attributes beyond vault, object type and operation (e.g. `keyvault.cache: miss`). */
  readonly attributes?: Readonly<Record<string, string>> | undefined
  /** An answer found without the vault (local cryptography with a public key), or `undefined` to send the request. */
  readonly local?: ((input: V) => Effect.Effect<A> | undefined) | undefined
  /** Runs just before the request goes out (e.g. a span annotation saying so). */
  readonly sending?: Effect.Effect<void> | undefined
  /** The new version the answer describes, for operations that write one (announced once answered). */
  readonly announces?: ((result: A) => VersionWrites.VersionWrite | undefined) | undefined
  /**
   * Whether the span is the fiber's current span for the whole operation: for validation, `local` or `sending` that
   * annotate it (`annotate`) or run operations of their own, whose spans are then its children. Otherwise the span
   * goes to the transport with the request, and the fiber is left as it is (two fiber-ref changes fewer per call).
   */
  readonly current?: boolean | undefined
}

// The vault's port, as OpenTelemetry's `server.port` wants it: explicit, or the scheme's default.
const portOf = (vaultUrl: string): number => {
  const url = new URL(vaultUrl)
  return url.port !== "" ? Number(url.port) : url.protocol === "http:" ? 80 : 443
}

// The operation span's fixed attributes: OpenTelemetry's conventions for Azure SDK clients (`az.namespace`,
// `server.*`) and ours. The transport adds the method, status and request ids; `error.type` is set on failure.
const spanOptions = (client: Client, name: string, extra?: Readonly<Record<string, string>>) => {
  const config = client.transport.config
  return {
    kind: "client" as const,
    captureStackTrace: false,
    attributes: {
      "az.namespace": "Microsoft.KeyVault",
      "server.address": config.vaultHost,
      "server.port": portOf(config.vaultUrl),
      "keyvault.vault_host": config.vaultHost,
      "keyvault.object_type": client.objectType,
      "keyvault.operation": name.slice(name.indexOf(".") + 1),
      ...extra
    }
  }
}

// Everything an operation does besides its body, in one uninterruptible step around it (rather than a stack of
// `Effect.withSpan`, `Effect.withTracerEnabled` and `Effect.onExit`, each an acquire-use-release of about ten fiber
// steps on every call):
// - its duration and errors, with label arrays made once per operation (Effect caches a metric's hook per label
//   array, so an update is a WeakMap lookup and a histogram bucket);
// - with only Effect's built-in tracer installed (its spans go nowhere): tracing off for the operation, so neither it
//   nor the HTTP client makes spans, put back when it ends; fibers it forks inherit the setting;
// - with an application tracer: the operation's client span, made here and handed to the body (current for it,
//   `Tracer.ParentSpan`, only when the operation asks: `current`), given `error.type` on failure and ended with the
//   operation's exit; and, when the tracer needs one, its quiet twin for the operation's own steps (see `QuietTracer`).
const instrument = (client: Client, name: string, options: Tracer.SpanOptions, current: boolean) => {
  const host = client.transport.config.vaultHost
  const outcome = (value: string) => KeyVaultMetrics.labels({ operation: name, outcome: value, vault_host: host })
  const success = outcome("success")
  const failure = outcome("failure")
  const interrupted = outcome("interrupted")
  const errorLabels = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
  const errorLabelsOf = (tag: string) => {
    let labels = errorLabels.get(tag)
    if (labels === undefined) {
      labels = KeyVaultMetrics.labels({ operation: name, error_type: tag, vault_host: host })
      errorLabels.set(tag, labels)
    }
    return labels
  }
  // The failure's tag (`Defect` for a defect), or `undefined` for an interruption.
  // The cause of a failed operation is often composite (a failure with its finalizers' interruptions, `Sequential`):
  // it is read for what it holds, not by its outer tag. An interruption only is no error; a typed failure is named by
  // its tag; anything else is a defect.
  const recordFailure = (cause: Cause.Cause<unknown>, millis: number): string | undefined => {
    if (Cause.isInterruptedOnly(cause)) {
      KeyVaultMetrics.operationDuration.unsafeUpdate(millis, interrupted)
      return undefined
    }
    const failed = Cause.failureOption(cause)
    const tag = Option.isSome(failed) ? ErrorTag.ofError(failed.value) : "Defect"
    KeyVaultMetrics.operationDuration.unsafeUpdate(millis, failure)
    KeyVaultMetrics.errors.unsafeUpdate(1, errorLabelsOf(tag))
    return tag
  }
  const attributes = Object.entries(options.attributes ?? {})
  const kind = options.kind ?? "internal"
  // The span, as `Effect.makeSpan` makes it (parent, links and annotations of the fiber, the clock's start time) but
  // without its costs per call: no copy of the fiber's refs, no attribute record walked as entries.
  const makeSpan = (
    fiber: FiberRuntime,
    tracer: Tracer.Tracer,
    clock: Clock.Clock,
    timing: boolean
  ): Tracer.Span => {
    const links = fiber.getFiberRef(FiberRef.currentTracerSpanLinks)
    const span = tracer.span(
      name,
      propagated(Context.getOption(fiber.currentContext, Tracer.ParentSpan)),
      Context.empty(),
      Chunk.isEmpty(links) ? [] : Chunk.toArray(links),
      timing ? clock.unsafeCurrentTimeNanos() : BigInt(0),
      kind,
      options
    )
    // A span that is not sampled is not recorded: nothing to give it.
    if (!span.sampled) return span
    const annotations = fiber.getFiberRef(FiberRef.currentTracerSpanAnnotations)
    if (HashMap.size(annotations) > 0) HashMap.forEach(annotations, (value, key) => span.attribute(key, value))
    for (const [key, value] of attributes) span.attribute(key, value)
    return span
  }
  const defectLogged = Effect.annotateLogs(Effect.logError("a vault operation failed with a defect"), {
    "keyvault.operation": name,
    "keyvault.vault_host": host,
    "error.type": "Defect"
  })
  // Under the operation's span (trace and span ids for the log record), current or not.
  const defectLoggedIn = (span: Tracer.Span | undefined) =>
    span === undefined || current ? defectLogged : Effect.withParentSpan(defectLogged, span)
  return <A, E>(body: (span: Tracer.Span | undefined) => Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.withFiberRuntime<A, E>((fiber) => {
        const clock = clockOf(fiber)
        const start = clock.unsafeCurrentTimeNanos()
        const millis = (): number => Number(clock.unsafeCurrentTimeNanos() - start) / 1e6
        const settle = (
          span: Tracer.Span | undefined,
          timing: boolean,
          leave: Effect.Effect<void> | undefined
        ): Effect.Effect<A, E> => {
          const end = (exit: Exit.Exit<A, E>): void => {
            if (span !== undefined) span.end(timing ? clock.unsafeCurrentTimeNanos() : BigInt(0), exit)
          }
          return Effect.matchCauseEffect(restore(body(span)), {
            onSuccess: (a: A) => {
              KeyVaultMetrics.operationDuration.unsafeUpdate(millis(), success)
              end(Exit.succeed(a))
              return leave === undefined ? Effect.succeed(a) : Effect.as(leave, a)
            },
            onFailure: (cause: Cause.Cause<E>) => {
              const tag = recordFailure(cause, millis())
              if (span !== undefined && span.sampled && tag !== undefined) span.attribute(SpanKeys.errorType, tag)
              end(Exit.failCause(cause))
              const failed = leave === undefined ? Effect.failCause(cause) : Effect.zipRight(leave, Effect.failCause(cause))
              // A defect is a bug (ours or a layer's), never an answer of the vault's: logged at error level, without
              // the cause, whose message could carry an input.
              return tag === "Defect" ? Effect.zipRight(defectLoggedIn(span), failed) : failed
            }
          })
        }
        const tracer = fiber.currentTracer
        // Effect's tracer only, or tracing turned off: no span, and nothing to change on the fiber (the HTTP
        // exchange, in a fiber of its own, then runs with tracing off: see `QuietTracer.exchangeFiberRefs`).
        if (tracer === QuietTracer.nativeTracer || !fiber.getFiberRef(FiberRef.currentTracerEnabled)) {
          return settle(undefined, false, undefined)
        }
        const timing = fiber.getFiberRef(FiberRef.currentTracerTimingEnabled)
        const span = makeSpan(fiber, tracer, clock, timing)
        // What changes on the fiber for the body, each undone on the way out, in reverse: the quiet twin first, then
        // the span current, so no step of the operation runs through the application tracer's hook with the
        // operation's span current.
        let enter: Effect.Effect<void> | undefined
        let leave: Effect.Effect<void> | undefined
        const twin = QuietTracer.quiet(tracer)
        if (twin !== tracer) {
          const services = fiber.currentDefaultServices
          enter = QuietTracer.setServices(QuietTracer.withTracer(services, twin))
          leave = QuietTracer.setServices(services)
        }
        if (current) {
          const context = fiber.currentContext
          const made = FiberRef.set(FiberRef.currentContext, Context.add(context, Tracer.ParentSpan, span))
          const back = FiberRef.set(FiberRef.currentContext, context)
          enter = enter === undefined ? made : Effect.zipRight(enter, made)
          leave = leave === undefined ? back : Effect.zipRight(back, leave)
        }
        const settled = settle(span, timing, leave)
        return enter === undefined ? settled : Effect.zipRight(enter, settled)
      })
    )
}

type FiberRuntime = Parameters<Parameters<typeof Effect.withFiberRuntime>[0]>[0]

// The parent a new span takes from the fiber's context, skipping spans that disable propagation (as Effect does).
const propagated = (parent: Option.Option<Tracer.AnySpan>): Option.Option<Tracer.AnySpan> => {
  if (Option.isNone(parent)) return parent
  const span = parent.value
  if (!Context.get(span.context, Tracer.DisablePropagation)) return parent
  return span._tag === "Span" ? propagated(span.parent) : Option.none()
}

const clockOf = (fiber: { readonly currentDefaultServices: Context.Context<DefaultServices.DefaultServices> }) =>
  Context.get(fiber.currentDefaultServices, Clock.Clock)

/**
 * Sets an attribute on the current span, if there is one. `Effect.annotateCurrentSpan` builds a
 * `NoSuchElementException` (with its stack trace) whenever no span is current, as with no tracer installed, where
 * operations run without spans: that was about a quarter of a local `Cryptography.verify`.
 */
export const annotate = (key: string, value: unknown): Effect.Effect<void> =>
  Effect.map(Effect.serviceOption(Tracer.ParentSpan), (span) => {
    if (Option.isSome(span) && span.value._tag === "Span" && span.value.sampled) span.value.attribute(key, value)
  })

// The name joins the span only once it has passed validation: a caller who swapped name and value must not find
// the value in their traces.
const annotated = <V extends object, EV>(validated: Effect.Effect<V, EV>): Effect.Effect<V, EV> =>
  Effect.tap(validated, (input) => {
    const name = nameOf(input)
    return name === undefined ? Effect.void : annotate("keyvault.name", name)
  })

const nameOf = (input: object): string | undefined => {
  const name = (input as Validated).name
  return typeof name === "string" ? name : undefined
}

/**
 * Declares an operation: a traced function (`Effect.fn`) whose span is named after the operation.
 *
 * @since 0.1.0
 * @internal
 */
export const operation = <Args extends ReadonlyArray<unknown>, V extends object, EV, const E extends Expected, W, A, WI>(
  client: Client,
  name: string,
  spec: Spec<Args, V, EV, E, W, A, WI>
): (...args: Args) => Effect.Effect<A, EV | ErrorsOf<E> | DecodeError> => {
  // Built once per operation, not per call.
  const decodeAnswer: ((response: TransportResponse) => Effect.Effect<W, DecodeError>) | undefined =
    spec.response === undefined ? undefined : decode(name, spec.response)
  const { announces, invalidates, local, model, refuse, sending } = spec
  const announce = client.announce
  const toModel = (wire: W, input: V): Effect.Effect<A, DecodeError> => {
    const refused = refuse?.(wire)
    return refused === undefined
      ? Effect.succeed(model(wire, input))
      : Effect.fail(new DecodeError({ operation: name, message: refused }))
  }
  const afterwards = invalidates === "result"
    ? (a: A) => {
      const n = (a as { readonly name?: unknown }).name
      return typeof n === "string" && n !== "" ? Effect.as(client.invalidate(n), a) : Effect.succeed(a)
    }
    : undefined
  const run = (input: V, span: Tracer.Span | undefined): Effect.Effect<A, ErrorsOf<E> | DecodeError> => {
    const answer = local?.(input)
    if (answer !== undefined) return answer
    const request = client.transport.send({ operation: name, span, ...spec.request(input) })
    const sent = sending === undefined ? request : Effect.zipRight(sending, request)
    const answered: Effect.Effect<W, ErrorsOf<E> | DecodeError> = decodeAnswer === undefined
      ? Effect.as(sent, undefined as W)
      : Effect.flatMap(sent, decodeAnswer)
    const forget = invalidates === "input" ? nameOf(input) : undefined
    const guarded = forget === undefined ? answered : Effect.ensuring(answered, client.invalidate(forget))
    const modelled = Effect.flatMap(guarded, (wire) => toModel(wire, input))
    const announced = announces === undefined || announce === undefined
      ? modelled
      : Effect.tap(modelled, (result) => {
        const write = announces(result)
        return write === undefined ? Effect.void : announce(write)
      })
    return afterwards === undefined ? announced : Effect.flatMap(announced, afterwards)
  }
  // The span is made by `instrument` rather than `Effect.fn`, which makes an `Error` on every call for the span's
  // call site (here it would only ever point inside this module) and adds its own acquire-use-release.
  const instrumented = instrument(client, name, spanOptions(client, name, spec.attributes), spec.current === true)
  return (...args: Args) =>
    instrumented((span) =>
      Effect.flatMap(spec.validate(...args), (input) => {
        // The name joins the span only once it has passed validation: a caller who swapped name and value must not
        // find the value in their traces.
        if (span !== undefined && span.sampled) {
          const validName = nameOf(input)
          if (validName !== undefined) span.attribute("keyvault.name", validName)
        }
        return run(input, span)
      })
    )
}


/**
 * Options of the list operations.
 *
 * @since 0.1.0
 * @internal
 */
export interface PageOptions {
  readonly maxPageSize?: number | undefined
}

/**
 * One paged list, declared.
 *
 * @since 0.1.0
 * @internal
 */
export interface ListSpec<Args extends ReadonlyArray<unknown>, V extends object, EV, E extends Expected, W, B, PI> {
  readonly validate: (...args: Args) => Effect.Effect<V, EV>
  readonly options: (...args: Args) => PageOptions | undefined
  readonly path: (input: V) => string
  /** Query parameters beyond `maxresults` (e.g. `includePending`), or `undefined` for none. */
  readonly query?: ((input: V) => Readonly<Record<string, string>> | undefined) | undefined
  readonly expected?: E | undefined
  readonly page: Schema.Schema<{ readonly value: ReadonlyArray<W>; readonly nextLink?: string | null | undefined }, PI>
  readonly item: (wire: W, input: V) => B
}

/**
 * Declares a paged list: a `Stream` that follows `nextLink`, in one span.
 *
 * @since 0.1.0
 * @internal
 */
export const list = <Args extends ReadonlyArray<unknown>, V extends object, EV, const E extends Expected, W, B, PI>(
  client: Client,
  name: string,
  spec: ListSpec<Args, V, EV, E, W, B, PI>
): (...args: Args) => Stream.Stream<B, EV | ValidationError | ErrorsOf<E> | DecodeError> => {
  const options = spanOptions(client, name)
  return (...args) =>
    Stream.unwrap(
      Effect.flatMap(annotated(spec.validate(...args)), (input) =>
        Effect.map(Validation.pageSize(name, spec.options(...args)?.maxPageSize), (size) =>
          paginate(client.transport, {
            operation: name,
            method: "GET",
            path: spec.path(input),
            query: queryOf(size, spec.query?.(input)),
            expected: spec.expected
          }, spec.page).pipe(Stream.map((item) => spec.item(item, input)))))
    ).pipe((stream) =>
      // As for single operations: no span when only Effect's built-in tracer is there to receive it.
      Stream.unwrap(Effect.withFiberRuntime((fiber) =>
        Effect.succeed(fiber.currentTracer === QuietTracer.nativeTracer ? stream : Stream.withSpan(stream, name, options))
      ))
    )}

const queryOf = (
  size: number | undefined,
  extra: Readonly<Record<string, string>> | undefined
): Readonly<Record<string, string>> | undefined =>
  size === undefined ? extra : { ...extra, maxresults: String(size) }

/**
 * Declares an operation whose body is more than one request (a long-running create that polls, a download that reads
 * the certificate, then its secret): the same span as `operation` (none with only Effect's built-in tracer, which
 * then also keeps the HTTP client's spans off), around a body written by hand.
 *
 * @since 0.1.0
 * @internal
 */
export const custom = <Args extends ReadonlyArray<unknown>, A, E>(
  client: Client,
  name: string,
  body: (...args: Args) => Effect.Effect<A, E>
): (...args: Args) => Effect.Effect<A, E> => {
  const instrumented = instrument(client, name, spanOptions(client, name), true)
  return (...args) => instrumented(() => body(...args))
}

/**
 * Validation of an operation that takes only a name.
 *
 * @since 0.1.0
 * @internal
 */
export const named = (operation: string) => (name: string): Effect.Effect<{ readonly name: string }, ValidationError> =>
  Effect.map(Validation.name(operation, name), (n) => ({ name: n }))

/**
 * No input to validate.
 *
 * @since 0.1.0
 * @internal
 */
export const nothing = (): Effect.Effect<Validated> => Effect.succeed({})

/**
 * The soft-delete lifecycle shared by secrets, keys and certificates, parameterised by object type, paths, wire
 * schemas and model mapping.
 *
 * @since 0.1.0
 * @internal
 */
export interface CollectionSpec<DW, DIW, RW, D, R, DWI, DLI, RWI, BI> {
  /** `Secrets`, `Keys`, `Certificates`: the operations are named `<service>.<operation>`. */
  readonly service: string
  /** The path segment: `secrets`, `keys`, `certificates` (the deleted bin is `deleted<segment>`). */
  readonly segment: string
  readonly deletedBundle: Schema.Schema<DW, DWI>
  readonly deletedList: Schema.Schema<
    { readonly value: ReadonlyArray<DIW>; readonly nextLink?: string | null | undefined },
    DLI
  >
  /** The answer of recover and restore. */
  readonly bundle: Schema.Schema<RW, RWI>
  readonly backupResult: Schema.Schema<{ readonly value: Uint8Array }, BI>
  readonly encodeRestore: (parameters: { readonly value: Uint8Array }) => unknown
  readonly deleted: (wire: DW | DIW, fallbackName: string) => D
  readonly recovered: (wire: RW, fallbackName: string) => R
}

/**
 * The soft-delete lifecycle's operations.
 *
 * @since 0.1.0
 * @internal
 */
export interface Collection<D, R> {
  readonly delete: (name: string) => Effect.Effect<D, ValidationError | ErrorsOf<{ notFound: true }>>
  readonly getDeleted: (name: string) => Effect.Effect<D, ValidationError | ErrorsOf<{ notFound: true }>>
  readonly listDeleted: (options?: PageOptions) => Stream.Stream<D, ValidationError | ErrorsOf<Expected>>
  readonly recover: (
    name: string
  ) => Effect.Effect<R, ValidationError | ErrorsOf<{ notFound: true; conflict: true }>>
  readonly purge: (name: string) => Effect.Effect<void, ValidationError | ErrorsOf<{ notFound: true }>>
  readonly backup: (name: string) => Effect.Effect<Uint8Array, ValidationError | ErrorsOf<{ notFound: true }>>
  readonly restore: (backup: Uint8Array) => Effect.Effect<R, ValidationError | ErrorsOf<{ conflict: true }>>
}

/**
 * Declares the soft-delete lifecycle for one object type.
 *
 * @since 0.1.0
 * @internal
 */
export const collection = <DW, DIW, RW, D, R, DWI, DLI, RWI, BI>(
  client: Client,
  spec: CollectionSpec<DW, DIW, RW, D, R, DWI, DLI, RWI, BI>
): Collection<D, R> => {
  const { segment, service } = spec
  const op = (name: string) => `${service}.${name}`
  return {
    delete: operation(client, op("delete"), {
      validate: named(op("delete")),
      request: ({ name }) => ({ method: "DELETE", path: `/${segment}/${name}`, expected: { notFound: true } }),
      response: spec.deletedBundle,
      model: (wire, { name }) => spec.deleted(wire, name),
      invalidates: "input"
    }),
    getDeleted: operation(client, op("getDeleted"), {
      validate: named(op("getDeleted")),
      request: ({ name }) => ({ method: "GET", path: `/deleted${segment}/${name}`, expected: { notFound: true } }),
      response: spec.deletedBundle,
      model: (wire, { name }) => spec.deleted(wire, name)
    }),
    listDeleted: list(client, op("listDeleted"), {
      validate: nothing,
      options: (options?: PageOptions) => options,
      path: () => `/deleted${segment}`,
      page: spec.deletedList,
      item: (wire) => spec.deleted(wire, "")
    }),
    recover: operation(client, op("recover"), {
      validate: named(op("recover")),
      request: ({ name }) => ({
        method: "POST",
        path: `/deleted${segment}/${name}/recover`,
        expected: { notFound: true, conflict: true }
      }),
      response: spec.bundle,
      model: (wire, { name }) => spec.recovered(wire, name),
      invalidates: "input"
    }),
    purge: operation(client, op("purge"), {
      validate: named(op("purge")),
      request: ({ name }) => ({ method: "DELETE", path: `/deleted${segment}/${name}`, expected: { notFound: true } }),
      model: () => undefined,
      invalidates: "input"
    }),
    backup: operation(client, op("backup"), {
      validate: named(op("backup")),
      request: ({ name }) => ({
        method: "POST",
        path: `/${segment}/${name}/backup`,
        idempotent: true,
        expected: { notFound: true }
      }),
      response: spec.backupResult,
      model: (wire) => wire.value
    }),
    restore: operation(client, op("restore"), {
      validate: (blob: Uint8Array) => Effect.map(Validation.backup(op("restore"), blob), (bytes) => ({ bytes })),
      request: ({ bytes }) => ({
        method: "POST",
        path: `/${segment}/restore`,
        body: spec.encodeRestore({ value: bytes }),
        expected: { conflict: true }
      }),
      response: spec.bundle,
      model: (wire) => spec.recovered(wire, ""),
      invalidates: "result"
    })
  }
}
