import { describe, expect, it } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Equal from "effect/Equal"
import * as Option from "effect/Option"
import * as KeyVaultError from "../src/errors/KeyVaultError.js"

const body = (code: string, message: string, inner?: string) =>
  JSON.stringify({ error: { code, message, ...(inner === undefined ? {} : { innererror: { code: inner } }) } })

const map = (status: number, text: string, expected: KeyVaultError.Expected = {}, headers: Record<string, string> = {}) =>
  KeyVaultError.fromResponse({ status, headers: { "x-ms-request-id": "req-1", ...headers }, bodyText: text }, expected, 1_000_000)

describe("KeyVaultError.fromResponse", () => {
  it("maps 404 to NotFoundError where the operation expects it, with code, message and request id", () => {
    const error = map(404, body("SecretNotFound", "A secret with (name/id) x was not found"), { notFound: true })
    expect(error._tag).toBe("NotFoundError")
    expect(error).toMatchObject({ status: 404, code: "SecretNotFound", requestId: "req-1" })
  })

  it("maps 404 to a non-transient ServiceError where the operation does not expect it", () => {
    const error = map(404, body("NotFound", "nope"))
    expect(error._tag).toBe("ServiceError")
    expect(KeyVaultError.isTransient(error)).toBe(false)
  })

  it("maps 403 SecretDisabled to a ForbiddenError that knows it is disabled", () => {
    const error = map(403, body("Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled"))
    expect(error).toBeInstanceOf(KeyVaultError.ForbiddenError)
    expect((error as KeyVaultError.ForbiddenError).isDisabled).toBe(true)
    expect(KeyVaultError.isTransient(error)).toBe(false)
  })

  it("maps 409 ObjectIsDeletedButRecoverable to a ConflictError", () => {
    const error = map(409, body("Conflict", "deleted but recoverable", "ObjectIsDeletedButRecoverable"), { conflict: true })
    expect(error).toBeInstanceOf(KeyVaultError.ConflictError)
    expect((error as KeyVaultError.ConflictError).isDeletedButRecoverable).toBe(true)
  })

  it("maps 400 to BadRequestError and 401 to AuthenticationError", () => {
    expect(map(400, body("BadParameter", "bad"))._tag).toBe("BadRequestError")
    expect(map(401, body("Unauthorized", "no"))._tag).toBe("AuthenticationError")
  })

  it("maps 429 to a transient ThrottledError carrying Retry-After", () => {
    const error = map(429, body("Throttled", "VaultRequestTypeLimitReached"), {}, { "retry-after": "7" })
    expect(error._tag).toBe("ThrottledError")
    expect(KeyVaultError.isTransient(error)).toBe(true)
    expect(Option.map((error as KeyVaultError.ThrottledError).retryAfter, Duration.toMillis)).toEqual(Option.some(7000))
  })

  it("marks 5xx transient except 501 and 505, and survives bodies that are not JSON", () => {
    for (const status of [500, 502, 503, 504]) expect(KeyVaultError.isTransient(map(status, "<html>"))).toBe(true)
    for (const status of [501, 505]) expect(KeyVaultError.isTransient(map(status, ""))).toBe(false)
    const error = map(502, "<html>bad gateway</html>") as KeyVaultError.ServiceError
    expect(error.code).toBe("Http502")
    expect(error.message).toContain("502")
  })

  it("treats 408 as transient", () => {
    expect(KeyVaultError.isTransient(map(408, ""))).toBe(true)
  })
})

describe("KeyVaultError.parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z")
  const millis = (headers: Record<string, string>) =>
    Option.map(KeyVaultError.parseRetryAfter(headers, now), Duration.toMillis)

  it("reads every form the service and proxies send", () => {
    expect(millis({ "retry-after": "3" })).toEqual(Option.some(3000))
    expect(millis({ "retry-after-ms": "250" })).toEqual(Option.some(250))
    expect(millis({ "x-ms-retry-after-ms": "1500" })).toEqual(Option.some(1500))
    expect(millis({ "retry-after": "Thu, 01 Jan 2026 00:00:05 GMT" })).toEqual(Option.some(5000))
  })

  it("prefers millisecond headers, clamps past dates to zero and ignores garbage", () => {
    expect(millis({ "retry-after": "9", "retry-after-ms": "100" })).toEqual(Option.some(100))
    expect(millis({ "retry-after": "Wed, 31 Dec 2025 23:59:00 GMT" })).toEqual(Option.some(0))
    expect(millis({ "retry-after": "soon" })).toEqual(Option.none())
    expect(millis({})).toEqual(Option.none())
  })
})

describe("KeyVaultError type id and guards", () => {
  // Another installed copy of the package: its own class, the same tag and the same (registered) type id.
  const ForeignTypeId: unique symbol = Symbol.for("@effect-azure/key-vault/KeyVaultError")
  class ForeignTransportError extends Data.TaggedError("TransportError")<{
    readonly reason: "Network" | "Timeout" | "Body" | "Tls" | "Dns"
    readonly message: string
  }> {
    get [ForeignTypeId](): typeof ForeignTypeId {
      return ForeignTypeId
    }
  }
  class ForeignAuthenticationError extends Data.TaggedError("AuthenticationError")<{
    readonly message: string
    readonly status: number | undefined
  }> {
    get [ForeignTypeId](): typeof ForeignTypeId {
      return ForeignTypeId
    }
  }

  it("recognises every error of the package, by type id and tag", () => {
    expect(KeyVaultError.TypeId).toBe(Symbol.for("@effect-azure/key-vault/KeyVaultError"))
    const own = [
      map(404, body("SecretNotFound", "no"), { notFound: true }),
      map(429, ""),
      map(503, ""),
      new KeyVaultError.ValidationError({ operation: "Secrets.get", field: "name", message: "m" }),
      new KeyVaultError.CircuitOpenError({ vaultHost: "v", message: "m", retryAfter: Duration.seconds(1) })
    ]
    for (const error of own) expect(KeyVaultError.isKeyVaultError(error)).toBe(true)
    expect(KeyVaultError.isNotFoundError(own[0])).toBe(true)
    expect(KeyVaultError.isThrottledError(own[0])).toBe(false)
    expect(KeyVaultError.isThrottledError(own[1])).toBe(true)
  })

  it("recognises an error made by another installed copy, where instanceof fails, and classifies it alike", () => {
    const network = new ForeignTransportError({ reason: "Network", message: "reset" })
    expect(network).not.toBeInstanceOf(KeyVaultError.TransportError)
    expect(KeyVaultError.isKeyVaultError(network)).toBe(true)
    expect(KeyVaultError.isTransportError(network)).toBe(true)
    expect(KeyVaultError.isTransient(network)).toBe(true)
    expect(KeyVaultError.isTransient(new ForeignTransportError({ reason: "Tls", message: "cert" }))).toBe(false)
    expect(KeyVaultError.isTransient(new ForeignAuthenticationError({ message: "no token", status: undefined }))).toBe(true)
    expect(KeyVaultError.isTransient(new ForeignAuthenticationError({ message: "refused", status: 401 }))).toBe(false)
  })

  it("does not mistake a lookalike for one of its errors", () => {
    expect(KeyVaultError.isKeyVaultError({ _tag: "ThrottledError", status: 429 })).toBe(false)
    expect(KeyVaultError.isKeyVaultError({ _tag: "SomethingElse", [KeyVaultError.TypeId]: KeyVaultError.TypeId })).toBe(false)
    expect(KeyVaultError.isKeyVaultError(null)).toBe(false)
    expect(KeyVaultError.isTransient({ _tag: "ThrottledError" })).toBe(false)
  })

  it("keeps the type id off the instance: it shows in neither JSON nor structural equality", () => {
    const a = map(503, "")
    expect(Object.getOwnPropertySymbols(a)).not.toContain(KeyVaultError.TypeId)
    expect(JSON.stringify(a)).not.toContain("effect-azure")
    expect(Equal.equals(a, map(503, ""))).toBe(true)
  })
})
