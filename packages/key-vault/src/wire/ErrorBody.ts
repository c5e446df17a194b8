/**
 * The Key Vault error envelope: `{"error":{"code","message","innererror":{"code"}}}`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * One level of a Key Vault error (the inner error has the same shape).
 *
 * @since 0.1.0
 * @category models
 */
export interface ErrorDetail {
  readonly code?: string | undefined
  readonly message?: string | undefined
  readonly innererror?: ErrorDetail | null | undefined
}

/**
 * The schema of `ErrorDetail`, recursive through `innererror`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ErrorDetail: Schema.Schema<ErrorDetail> = Schema.Struct({
  code: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String),
  innererror: Schema.optional(Schema.NullOr(Schema.suspend((): Schema.Schema<ErrorDetail> => ErrorDetail)))
}).annotations({ identifier: "ErrorDetail" })

/**
 * The body of every non-2xx Key Vault response.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ErrorBody = Schema.Struct({
  error: Schema.optional(Schema.NullOr(ErrorDetail))
}).annotations({ identifier: "KeyVaultErrorBody" })

/**
 * A decoded Key Vault error body.
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorBody = typeof ErrorBody.Type
