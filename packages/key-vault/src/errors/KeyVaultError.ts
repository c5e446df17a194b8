/**
 * The error taxonomy of the client, and the one place where Key Vault error responses are mapped to it.
 *
 * Every operation names, in its type, the subset of these errors it can really raise. No error carries a secret
 * value: service messages never contain one, and client-side messages only describe sizes and positions.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { exceedsJsonDepth } from "../wire/Common.js"
import { ErrorBody } from "../wire/ErrorBody.js"

/**
 * Marks every error of this package. `Symbol.for` gives the same symbol to every installed copy of the package, so
 * `isKeyVaultError` (and the classification built on it) recognises an error made by another copy, where
 * `instanceof` would not.
 *
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@effect-azure/key-vault/KeyVaultError")

/**
 * The type of `TypeId`.
 *
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * What every error answered by the service carries.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServiceErrorFields {
  /** HTTP status. */
  readonly status: number
  /** Key Vault error code (`SecretNotFound`, `Forbidden`, `BadParameter`, ...). */
  readonly code: string
  /** The inner error code when the service gives one (`SecretDisabled`, `ObjectIsDeletedButRecoverable`, ...). */
  readonly innerCode: string | undefined
  /** The service's message. */
  readonly message: string
  /** `x-ms-request-id`, for support cases. */
  readonly requestId: string | undefined
}

/**
 * Input rejected by the client before any request was sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class ValidationError extends Data.TaggedError("ValidationError")<{
  /** The operation that refused the input, e.g. `Secrets.set`. */
  readonly operation: string
  /** The offending field, e.g. `name`, `value`, `tags`. */
  readonly field: string
  readonly message: string
}> {
  /** On the prototype, not the instance: it marks the class without showing up in logs or structural equality. */
  get [TypeId](): TypeId {
    return TypeId
  }
}

/**
 * 404: the object (or version) does not exist, or is not in the deleted bin.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFoundError extends Data.TaggedError("NotFoundError")<ServiceErrorFields> {
  get [TypeId](): TypeId {
    return TypeId
  }
}

/**
 * 403: the caller may not do this, or the object forbids it (`SecretDisabled`, `SecretExpired`, ...).
 *
 * @since 0.1.0
 * @category errors
 */
export class ForbiddenError extends Data.TaggedError("ForbiddenError")<ServiceErrorFields> {
  get [TypeId](): TypeId {
    return TypeId
  }

  /** True when the object is disabled (inner code `SecretDisabled` / `KeyDisabled` / `CertificateDisabled`). */
  get isDisabled(): boolean {
    return this.innerCode !== undefined && /Disabled$/.test(this.innerCode)
  }
}

/**
 * 409: e.g. the name is deleted but recoverable (`ObjectIsDeletedButRecoverable`), or a restore would overwrite.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConflictError extends Data.TaggedError("ConflictError")<ServiceErrorFields> {
  get [TypeId](): TypeId {
    return TypeId
  }

  /** True when the name is in the deleted bin: recover or purge it first. */
  get isDeletedButRecoverable(): boolean {
    return this.innerCode === "ObjectIsDeletedButRecoverable"
  }
}

/**
 * 400 (or another 4xx the service uses for a malformed request): the service refused the request's content.
 *
 * @since 0.1.0
 * @category errors
 */
export class BadRequestError extends Data.TaggedError("BadRequestError")<ServiceErrorFields> {
  get [TypeId](): TypeId {
    return TypeId
  }
}

/**
 * 401 that survived the challenge flow, a refused token, or a challenge that failed verification.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthenticationError extends Data.TaggedError("AuthenticationError")<{
  readonly message: string
  readonly status: number | undefined
  readonly cause?: unknown
  /** `x-ms-request-id` of the vault's 401, when the vault answered (absent when the credential failed). */
  readonly requestId?: string | undefined
}> {
  get [TypeId](): TypeId {
    return TypeId
  }
}

/**
 * 429: the vault throttled the request. `retryAfter` is what the service asked for, when it said.
 *
 * @since 0.1.0
 * @category errors
 */
export class ThrottledError extends Data.TaggedError("ThrottledError")<
  ServiceErrorFields & { readonly retryAfter: Option.Option<Duration.Duration> }
> {
  get [TypeId](): TypeId {
    return TypeId
  }
}

/**
 * 5xx, or any status the operation does not expect. `transient` says whether a retry may succeed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServiceError extends Data.TaggedError("ServiceError")<ServiceErrorFields & { readonly transient: boolean }> {
  get [TypeId](): TypeId {
    return TypeId
  }
}

/**
 * The request did not complete: connection refused or reset, DNS, TLS, timeout, a body that could not be read.
 *
 * @since 0.1.0
 * @category errors
 */
export class TransportError extends Data.TaggedError("TransportError")<{
  /**
   * `Network` (refused, reset, unreachable), `Timeout` and `Body` may pass; `Tls` (an untrusted or mismatched
   * certificate) and `Dns` (the host does not exist) will not, and are never retried.
   */
  readonly reason: "Network" | "Timeout" | "Body" | "Tls" | "Dns"
  readonly message: string
  readonly cause?: unknown
  /** `x-ms-request-id` of the response whose body could not be read (`Body`); absent when no answer came. */
  readonly requestId?: string | undefined
}> {
  get [TypeId](): TypeId {
    return TypeId
  }
}

/**
 * A response that does not match the wire schema. Carries the path only, never the offending value (which could be
 * a secret).
 *
 * @since 0.1.0
 * @category errors
 */
export class DecodeError extends Data.TaggedError("DecodeError")<{
  readonly operation: string
  readonly message: string
  /** `x-ms-request-id` of the response that did not decode, when there was one. */
  readonly requestId?: string | undefined
}> {
  get [TypeId](): TypeId {
    return TypeId
  }
}

/**
 * The vault's circuit breaker is open after consecutive transient failures: the call was refused without a request.
 * `retryAfter` is when the breaker will let one probe through.
 *
 * @since 0.1.0
 * @category errors
 */
export class CircuitOpenError extends Data.TaggedError("CircuitOpenError")<{
  readonly vaultHost: string
  readonly message: string
  readonly retryAfter: Duration.Duration
}> {
  get [TypeId](): TypeId {
    return TypeId
  }
}

/**
 * Why a certificate operation did not give a certificate: `Failed` (the vault or the CA reports an error: `code`,
 * `innerCode` and `message` are the operation's), `Cancelled` (cancellation was requested and the vault stopped), or,
 * while it is still `inProgress`, `AwaitingMerge` (issuer `Unknown`: nothing will happen until the CSR is signed and
 * merged) and `StillPending` (the poll schedule ended first).
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateOperationFailure = "Failed" | "Cancelled" | "AwaitingMerge" | "StillPending"

/**
 * A certificate's creation did not complete. The vault answered every request; the operation itself failed, was
 * cancelled, or is still pending (see `reason`).
 *
 * @since 0.1.0
 * @category errors
 */
export class CertificateOperationError extends Data.TaggedError("CertificateOperationError")<{
  /** The certificate's name. */
  readonly name: string
  readonly reason: CertificateOperationFailure
  /** The operation's status as the vault last reported it: `failed`, `cancelled`, `inProgress`, ... */
  readonly operationStatus: string
  /** The operation's error code, when it has one. */
  readonly code: string | undefined
  readonly innerCode: string | undefined
  readonly message: string
  /** The operation's `request_id`. */
  readonly requestId: string | undefined
}> {
  get [TypeId](): TypeId {
    return TypeId
  }
}

/**
 * Every error the client raises.
 *
 * @since 0.1.0
 * @category errors
 */
export type KeyVaultError = ValidationError | NotFoundError | ConflictError | CertificateOperationError | RequestError

/**
 * The errors any request to the vault can raise, whatever the operation.
 *
 * @since 0.1.0
 * @category errors
 */
export type RequestError =
  | ForbiddenError
  | BadRequestError
  | AuthenticationError
  | ThrottledError
  | ServiceError
  | TransportError
  | DecodeError
  | CircuitOpenError

const tags: ReadonlySet<string> = new Set<KeyVaultError["_tag"]>([
  "ValidationError",
  "NotFoundError",
  "ForbiddenError",
  "ConflictError",
  "BadRequestError",
  "AuthenticationError",
  "ThrottledError",
  "ServiceError",
  "TransportError",
  "DecodeError",
  "CircuitOpenError",
  "CertificateOperationError"
])

/**
 * True for any error of this package, whichever installed copy made it: it checks the type id and the tag, never
 * the class, so an application that ends up with two copies (a library bundling its own, a duplicated install) still
 * classifies errors correctly.
 *
 * @since 0.1.0
 * @category guards
 */
export const isKeyVaultError = (u: unknown): u is KeyVaultError =>
  typeof u === "object" && u !== null && (u as { readonly [TypeId]?: unknown })[TypeId] === TypeId &&
  tags.has((u as { readonly _tag?: unknown })._tag as string)

const tagged = <Tag extends KeyVaultError["_tag"]>(tag: Tag) => (u: unknown): u is Extract<KeyVaultError, { readonly _tag: Tag }> =>
  isKeyVaultError(u) && u._tag === tag

/**
 * True for a `ValidationError` of any installed copy of the package (type id and tag, not `instanceof`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isValidationError: (u: unknown) => u is ValidationError = tagged("ValidationError")
/**
 * True for a `NotFoundError` of any installed copy of the package (type id and tag, not `instanceof`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isNotFoundError: (u: unknown) => u is NotFoundError = tagged("NotFoundError")
/**
 * True for a `ForbiddenError` of any installed copy of the package (type id and tag, not `instanceof`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isForbiddenError: (u: unknown) => u is ForbiddenError = tagged("ForbiddenError")
/**
 * True for a `ConflictError` of any installed copy of the package (type id and tag, not `instanceof`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isConflictError: (u: unknown) => u is ConflictError = tagged("ConflictError")
/**
 * True for a `BadRequestError` of any installed copy of the package (type id and tag, not `instanceof`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isBadRequestError: (u: unknown) => u is BadRequestError = tagged("BadRequestError")
/**
 * True for a `AuthenticationError` of any installed copy of the package (type id and tag, not `instanceof`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isAuthenticationError: (u: unknown) => u is AuthenticationError = tagged("AuthenticationError")
/**
 * True for a `ThrottledError` of any installed copy of the package (type id and tag, not `instanceof`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isThrottledError: (u: unknown) => u is ThrottledError = tagged("ThrottledError")
/**
 * True for a `ServiceError` of any installed copy of the package (type id and tag, not `instanceof`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isServiceError: (u: unknown) => u is ServiceError = tagged("ServiceError")
/**
 * True for a `TransportError` of any installed copy of the package (type id and tag, not `instanceof`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isTransportError: (u: unknown) => u is TransportError = tagged("TransportError")
/**
 * True for a `DecodeError` of any installed copy of the package (type id and tag, not `instanceof`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isDecodeError: (u: unknown) => u is DecodeError = tagged("DecodeError")
/**
 * True for a `CircuitOpenError` of any installed copy of the package (type id and tag, not `instanceof`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isCircuitOpenError: (u: unknown) => u is CircuitOpenError = tagged("CircuitOpenError")

/**
 * True for a `CertificateOperationError` of any installed copy of the package (type id and tag, not `instanceof`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isCertificateOperationError: (u: unknown) => u is CertificateOperationError = tagged(
  "CertificateOperationError"
)

/**
 * True for a failure that shows the vault (or the way to it) unavailable and may pass on its own: 5xx except
 * 501/505, 408, timeouts and network errors; not TLS or DNS failures, which will not heal by waiting. These are what
 * the circuit breaker counts and what retries back off from (for requests safe to repeat). 429 is not one: the
 * vault is up and asking to slow down.
 *
 * @since 0.1.0
 * @category guards
 */
export const isUnavailable = (error: unknown): boolean =>
  (isTransportError(error) && error.reason !== "Tls" && error.reason !== "Dns") ||
  (isServiceError(error) && error.transient)

/**
 * True for errors that say nothing about the object, only about availability: 429, 408, 5xx except 501/505,
 * network failures, timeouts, an open circuit, and a credential that could not get a token. The vault's own 401,
 * 403, 404, 409 and disabled objects are never transient. The cache serves stale values for these.
 *
 * @since 0.1.0
 * @category guards
 */
export const isTransient = (error: unknown): boolean =>
  isThrottledError(error) || isCircuitOpenError(error) ||
  // The credential could not get a token (identity endpoint or network down): the vault never said no.
  (isAuthenticationError(error) && error.status === undefined) ||
  isUnavailable(error)

/**
 * Whether a status is worth retrying: 408, 429, 5xx except 501 and 505.
 *
 * @since 0.1.0
 * @category guards
 */
export const isTransientStatus = (status: number): boolean =>
  status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505)

/**
 * Which error statuses an operation treats as meaningful answers. Others become a `ServiceError`, so an operation's
 * type never lies about what it raises.
 *
 * @since 0.1.0
 * @category models
 */
export interface Expected {
  readonly notFound?: boolean
  readonly conflict?: boolean
}

const decodeErrorBody = Schema.decodeUnknownOption(ErrorBody)

// The envelope is read for its codes and message only; the status alone decides the error's type. So a body that is
// not JSON, or nests too deep to decode safely (see `exceedsJsonDepth`), is simply no envelope.
const decodeBody = (text: string): Option.Option<ErrorBody> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return Option.none()
  }
  return exceedsJsonDepth(json) ? Option.none() : decodeErrorBody(json)
}

/**
 * Reads the retry delay a throttled or unavailable response asks for: `retry-after-ms`, `x-ms-retry-after-ms`,
 * then `Retry-After` in seconds or as an HTTP date (relative to `nowMillis`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseRetryAfter = (
  headers: Readonly<Record<string, string | undefined>>,
  nowMillis: number
): Option.Option<Duration.Duration> => {
  for (const name of ["retry-after-ms", "x-ms-retry-after-ms"]) {
    const raw = headers[name]
    if (raw !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(raw)) return Option.some(Duration.millis(Number(raw)))
  }
  const raw = headers["retry-after"]
  if (raw === undefined) return Option.none()
  if (/^\s*\d+\s*$/.test(raw)) return Option.some(Duration.seconds(Number(raw)))
  const date = Date.parse(raw)
  return Number.isNaN(date) ? Option.none() : Option.some(Duration.millis(Math.max(0, date - nowMillis)))
}

/**
 * Maps a non-2xx Key Vault response to the taxonomy. The one place that knows status codes and error codes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromResponse = (
  response: {
    readonly status: number
    readonly headers: Readonly<Record<string, string | undefined>>
    readonly bodyText: string
  },
  expected: Expected,
  nowMillis: number
): NotFoundError | ConflictError | RequestError => {
  const body = Option.flatMap(decodeBody(response.bodyText), (b) => Option.fromNullable(b.error))
  const status = response.status
  const fields: ServiceErrorFields = {
    status,
    code: Option.match(body, { onNone: () => `Http${status}`, onSome: (e) => e.code ?? `Http${status}` }),
    innerCode: Option.getOrUndefined(Option.flatMap(body, (e) => Option.fromNullable(e.innererror?.code))),
    message: Option.match(body, {
      onNone: () => `The vault answered HTTP ${status}.`,
      onSome: (e) => e.message ?? `The vault answered HTTP ${status}.`
    }),
    requestId: response.headers["x-ms-request-id"]
  }
  switch (status) {
    case 400:
      return new BadRequestError(fields)
    case 401:
      return new AuthenticationError(
        fields.requestId === undefined
          ? { message: fields.message, status }
          : { message: fields.message, status, requestId: fields.requestId }
      )
    case 403:
      return new ForbiddenError(fields)
    case 404:
      return expected.notFound === true ? new NotFoundError(fields) : new ServiceError({ ...fields, transient: false })
    case 409:
      return expected.conflict === true ? new ConflictError(fields) : new ServiceError({ ...fields, transient: false })
    case 429:
      return new ThrottledError({ ...fields, retryAfter: parseRetryAfter(response.headers, nowMillis) })
    default:
      return status >= 400 && status < 500 && status !== 408
        ? new BadRequestError(fields)
        : new ServiceError({ ...fields, transient: isTransientStatus(status) })
  }
}
