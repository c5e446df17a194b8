/**
 * What the engine stores for one version of a secret. Identifiers are not stored: the HTTP app builds them from the
 * origin of each request, so one engine serves any host name (and a restored backup adopts the restoring vault's).
 *
 * @since 0.1.0
 */
import type * as Redacted from "effect/Redacted"

/**
 * One version of a secret. Timestamps are whole seconds (the wire's resolution).
 *
 * @since 0.1.0
 * @category models
 */
export interface SecretVersion {
  /** 32 lower-case hex characters. */
  readonly version: string
  readonly value: Redacted.Redacted<string>
  readonly contentType: string | undefined
  readonly tags: Readonly<Record<string, string>> | undefined
  readonly enabled: boolean
  readonly notBefore: Date | undefined
  readonly expires: Date | undefined
  readonly created: Date
  readonly updated: Date
  /** True for the secret that backs a certificate (its lifetime is managed by the certificate). */
  readonly managed: boolean
}

/**
 * A secret version together with the name of the secret it belongs to (in the case of its first creation).
 *
 * @since 0.1.0
 * @category models
 */
export interface Secret {
  readonly name: string
  readonly secret: SecretVersion
}

/**
 * A deleted secret: its latest version plus the deletion dates.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeletedSecret {
  readonly name: string
  readonly secret: SecretVersion
  readonly deletedDate: Date
  readonly scheduledPurgeDate: Date
}
