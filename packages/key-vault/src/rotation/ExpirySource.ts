/**
 * What the expiry monitor scans: for one object type, the properties of every object (never a value), and the
 * versions of one object. Sources for secrets, keys and certificates are built on the services' list `Stream`s; an
 * application can add its own (another vault, a filtered view) by implementing the interface.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { ObjectType } from "../cache/VaultCache.js"
import type { CertificateProperties } from "../certificates/Certificate.js"
import { Certificates } from "../certificates/Certificates.js"
import type { KeyVaultError } from "../errors/KeyVaultError.js"
import type { KeyProperties } from "../keys/Key.js"
import { Keys } from "../keys/Keys.js"
import type { SecretProperties } from "../secrets/Secret.js"
import { Secrets } from "../secrets/Secrets.js"

/**
 * The properties of one object version that expiry is decided on.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExpiryItem {
  readonly objectType: ObjectType
  /** The vault's URL (`https://myvault.vault.azure.net`). */
  readonly vaultUrl: string
  readonly name: string
  /** Absent for list items, which describe the latest version without naming it. */
  readonly version: string | undefined
  readonly enabled: boolean | undefined
  readonly notBefore: Date | undefined
  readonly expiresOn: Date | undefined
  readonly createdOn: Date | undefined
  readonly updatedOn: Date | undefined
}

/**
 * A source of objects to watch.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExpirySource {
  readonly objectType: ObjectType
  /** The latest properties of every object, page by page. */
  readonly list: Stream.Stream<ExpiryItem, KeyVaultError>
  /**
   * Every version of one object: asked only for an item of `list` without a version that the monitor is about to
   * report, to name the version (once per version: the answer is remembered).
   */
  readonly versions: (name: string) => Stream.Stream<ExpiryItem, KeyVaultError>
}

type Properties = SecretProperties | KeyProperties | CertificateProperties

const toItem = (objectType: ObjectType) => (properties: Properties): ExpiryItem => ({
  objectType,
  vaultUrl: properties.vaultUrl,
  name: properties.name,
  version: properties.version,
  enabled: properties.enabled,
  notBefore: properties.notBefore,
  expiresOn: properties.expiresOn,
  createdOn: properties.createdOn,
  updatedOn: properties.updatedOn
})

// A certificate's key and secret share its name and are `managed`: the certificate reports on them, and only a new
// certificate version can replace them, so the secret and key sources leave them out.
const unmanaged = (properties: SecretProperties | KeyProperties): boolean => !properties.managed

/**
 * Secrets (certificate-backing secrets left out), from `Secrets.listProperties`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const secrets: Effect.Effect<ExpirySource, never, Secrets> = Effect.map(Secrets, (service) => ({
  objectType: "secret",
  list: service.listProperties().pipe(Stream.filter(unmanaged), Stream.map(toItem("secret"))),
  versions: (name) => Stream.map(service.listVersions(name), toItem("secret"))
}))

/**
 * Keys (certificate-backing keys left out), from `Keys.listProperties`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const keys: Effect.Effect<ExpirySource, never, Keys> = Effect.map(Keys, (service) => ({
  objectType: "key",
  list: service.listProperties().pipe(Stream.filter(unmanaged), Stream.map(toItem("key"))),
  versions: (name) => Stream.map(service.listVersions(name), toItem("key"))
}))

/**
 * Certificates, from `Certificates.listProperties`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const certificates: Effect.Effect<ExpirySource, never, Certificates> = Effect.map(Certificates, (service) => ({
  objectType: "certificate",
  list: Stream.map(service.listProperties(), toItem("certificate")),
  versions: (name) => Stream.map(service.listVersions(name), toItem("certificate"))
}))

const time = (date: Date | undefined): number => date?.getTime() ?? Number.NEGATIVE_INFINITY

/**
 * The timestamps `pickLatest` compares.
 *
 * @since 0.1.0
 * @category models
 */
export interface Timestamps {
  readonly createdOn: Date | undefined
  readonly updatedOn: Date | undefined
  readonly expiresOn: Date | undefined
}

/**
 * The newest of `versions` (by creation; versions created in the same second are told apart by the vault's listing
 * order, the later one winning). With `item` (a list item, which describes the latest version without naming it):
 * the newest version whose creation, update and expiry match the item, and the newest of all when none matches (the
 * object changed between the two reads).
 *
 * @since 0.1.0
 * @category constructors
 */
export const pickLatest = <A extends Timestamps>(
  versions: ReadonlyArray<A>,
  item?: Timestamps | undefined
): A | undefined => {
  const newest = (candidates: ReadonlyArray<A>) =>
    candidates.reduce<A | undefined>(
      (best, v) => best === undefined || time(v.createdOn) >= time(best.createdOn) ? v : best,
      undefined
    )
  if (item !== undefined) {
    const found = newest(versions.filter((v) =>
      time(v.createdOn) === time(item.createdOn) && time(v.updatedOn) === time(item.updatedOn) &&
      time(v.expiresOn) === time(item.expiresOn)
    ))
    if (found !== undefined) return found
  }
  return newest(versions)
}

/**
 * Whether `versions` holds a version created after `version` was.
 *
 * @since 0.1.0
 * @category constructors
 */
export const hasNewer = (versions: ReadonlyArray<Timestamps>, version: Timestamps): boolean =>
  versions.some((v) => time(v.createdOn) > time(version.createdOn))
