/**
 * What every object's properties share (secrets, keys, certificates), read off its wire shape once: the identifier
 * (with vault, name and version parsed from it), the attributes every object has, and the tags. Not part of the
 * package's public exports.
 *
 * @since 0.1.0
 * @internal
 */
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type { BaseAttributesFields } from "../wire/Common.js"
import * as Identifier from "../wire/Identifier.js"

/**
 * The attributes every object's wire shape carries.
 *
 * @since 0.1.0
 * @internal
 */
export type BaseAttributes = Schema.Struct.Type<typeof BaseAttributesFields>

/**
 * The properties every object has.
 *
 * @since 0.1.0
 * @internal
 */
export interface BaseProperties {
  /** The full identifier: `{vaultUrl}/{collection}/{name}/{version}`. */
  readonly id: string
  readonly vaultUrl: string
  readonly name: string
  readonly version: string | undefined
  readonly enabled: boolean | undefined
  readonly notBefore: Date | undefined
  readonly expiresOn: Date | undefined
  readonly createdOn: Date | undefined
  readonly updatedOn: Date | undefined
  readonly recoveryLevel: string | undefined
  readonly recoverableDays: number | undefined
  readonly tags: Readonly<Record<string, string>>
}

/**
 * Builds the shared properties. `fallback` supplies vault and name when the id is missing or unparsable, which a
 * conforming vault never sends.
 *
 * @since 0.1.0
 * @internal
 */
export const fromWire = (
  collection: "secrets" | "keys" | "certificates",
  wire: {
    readonly id?: string | undefined
    readonly attributes?: BaseAttributes | undefined
    readonly tags?: Readonly<Record<string, string>> | undefined
  },
  fallback: { readonly vaultUrl: string; readonly name: string }
): BaseProperties => {
  const id = wire.id ?? Identifier.format(fallback.vaultUrl, collection, fallback.name)
  const parsed = Option.getOrUndefined(Identifier.parse(id))
  const attributes = wire.attributes
  return {
    id,
    vaultUrl: parsed?.vaultUrl ?? fallback.vaultUrl,
    name: parsed?.name ?? fallback.name,
    version: parsed?.version,
    enabled: attributes?.enabled,
    notBefore: attributes?.nbf,
    expiresOn: attributes?.exp,
    createdOn: attributes?.created,
    updatedOn: attributes?.updated,
    recoveryLevel: attributes?.recoveryLevel,
    recoverableDays: attributes?.recoverableDays,
    tags: wire.tags ?? {}
  }
}
