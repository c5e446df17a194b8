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
 */
export interface ErrorDetail {
  readonly code?: string | undefined
  readonly message?: string | undefined
  readonly innererror?: ErrorDetail | null | undefined
}

/**
 * @since 0.1.0
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
 */
export const ErrorBody = Schema.Struct({
  error: Schema.optional(Schema.NullOr(ErrorDetail))
}).annotations({ identifier: "KeyVaultErrorBody" })

/**
 * @since 0.1.0
 */
export type ErrorBody = typeof ErrorBody.Type
