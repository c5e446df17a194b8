/**
 * What the engine stores for one version of a key. As for secrets, identifiers are not stored: the HTTP app builds
 * `kid`s from each request's origin.
 *
 * @since 0.1.0
 */
import type { KeyOperation } from "@effect-azure/key-vault/crypto/Algorithms"
import type { KeyMaterial } from "./crypto/KeyMaterial.js"

/**
 * The key types a standard vault holds. `-HSM` types are emulated in software and reported as requested.
 *
 * @since 0.1.0
 * @category models
 */
export type StoredKeyType = "RSA" | "RSA-HSM" | "EC" | "EC-HSM"

/**
 * The policy an exportable key is released under (stored and returned; `release` itself is not emulated).
 *
 * @since 0.1.0
 * @category models
 */
export interface ReleasePolicy {
  readonly contentType: string | undefined
  readonly immutable: boolean | undefined
  readonly data: Uint8Array | undefined
}

/**
 * One version of a key. Timestamps are whole seconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyVersion {
  /** 32 lower-case hex characters. */
  readonly version: string
  readonly kty: StoredKeyType
  readonly keyOps: ReadonlyArray<KeyOperation>
  readonly material: KeyMaterial
  readonly tags: Readonly<Record<string, string>> | undefined
  readonly enabled: boolean
  readonly notBefore: Date | undefined
  readonly expires: Date | undefined
  readonly created: Date
  readonly updated: Date
  readonly exportable: boolean
  readonly releasePolicy: ReleasePolicy | undefined
  /** True for the key that backs a certificate (its lifetime is managed by the certificate). */
  readonly managed: boolean
}

/**
 * A key version with the name of its key (in the case of its first creation).
 *
 * @since 0.1.0
 * @category models
 */
export interface Key {
  readonly name: string
  readonly key: KeyVersion
}

/**
 * A deleted key: its latest version plus the deletion dates.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeletedKey {
  readonly name: string
  readonly key: KeyVersion
  readonly deletedDate: Date
  readonly scheduledPurgeDate: Date
}
