/**
 * Request checks for key operations that the shared rules cover: tags and validity dates (the same limits as for
 * secrets), and conversions from wire bodies into engine inputs. Key types, sizes, curves, key_ops, JWKs and rotation
 * policies are validated by the engine, which tests also drive directly. Messages never quote key material.
 *
 * @since 0.1.0
 */
import type { KeyAttributesInput, KeyReleasePolicy } from "@effect-azure/key-vault/wire/KeyWire"
import type * as Schema from "effect/Schema"
import type { ReleasePolicy } from "../engine/KeyVersion.js"
import * as SecretValidation from "./SecretValidation.js"

/**
 * What create, import and update bodies share.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyMetadataBody {
  readonly tags?: Readonly<Record<string, string>> | undefined
  readonly attributes?: Schema.Schema.Type<typeof KeyAttributesInput> | undefined
}

/**
 * Checks tags and the nbf/exp range; the answer is a `BadParameter` message, or undefined when valid.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateMetadata = (input: KeyMetadataBody): string | undefined =>
  SecretValidation.validateUpdate({ tags: input.tags, attributes: input.attributes })

/**
 * The content type the service gives a release policy that does not name one.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_RELEASE_POLICY_CONTENT_TYPE = "application/json; charset=utf-8"

/**
 * A submitted release policy as the engine stores it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const releasePolicy = (
  policy: Schema.Schema.Type<typeof KeyReleasePolicy> | undefined
): ReleasePolicy | undefined =>
  policy === undefined ? undefined : {
    contentType: policy.contentType ?? DEFAULT_RELEASE_POLICY_CONTENT_TYPE,
    immutable: policy.immutable,
    data: policy.data
  }
