/**
 * The engine's typed failures. Each one carries exactly what the HTTP app needs to write the Key Vault error envelope
 * (`{"error":{"code","message","innererror":{"code"}}}`), so the mapping to status codes lives in one place
 * (`http/Responses.ts`) and the engine stays free of HTTP.
 *
 * Messages never contain a secret value: they are built from names, versions and fixed text only.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * The object (or the requested version of it) does not exist: HTTP 404 with a type-specific code such as
 * `SecretNotFound`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ObjectNotFound extends Data.TaggedError("ObjectNotFound")<{
  readonly code: string
  readonly message: string
}> {}

/**
 * The object exists but the operation is not allowed on it (disabled, not yet valid, expired): HTTP 403 `Forbidden`
 * with the reason as the inner code (`SecretDisabled`, ...).
 *
 * @since 0.1.0
 * @category errors
 */
export class OperationForbidden extends Data.TaggedError("OperationForbidden")<{
  readonly innerCode: string
  readonly message: string
}> {}

/**
 * The name is taken (by an active object, or by one in the soft-delete bin): HTTP 409 `Conflict`, with inner code
 * `ObjectIsDeletedButRecoverable` in the second case.
 *
 * @since 0.1.0
 * @category errors
 */
export class ObjectConflict extends Data.TaggedError("ObjectConflict")<{
  readonly innerCode: string | undefined
  readonly message: string
}> {}

/**
 * The input is invalid (a malformed backup blob, a value over a limit): HTTP 400 `BadParameter`.
 *
 * @since 0.1.0
 * @category errors
 */
export class BadParameter extends Data.TaggedError("BadParameter")<{
  readonly message: string
}> {}

/**
 * Every failure an engine operation can raise.
 *
 * @since 0.1.0
 * @category errors
 */
export type VaultError = ObjectNotFound | OperationForbidden | ObjectConflict | BadParameter
