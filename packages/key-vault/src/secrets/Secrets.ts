/**
 * The `Secrets` service: every data-plane secret operation as an `Effect` (or a `Stream` for lists), with input
 * validated before any request and the errors each operation can raise named in its type.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type { ConflictError, NotFoundError, RequestError, ValidationError } from "../errors/KeyVaultError.js"
import { type CacheNamespace as VaultCacheNamespace, VaultCache } from "../cache/VaultCache.js"
import * as Operation from "../internal/Operation.js"
import * as VersionWrites from "../internal/VersionWrites.js"
import { KeyVaultTransport } from "../transport/Transport.js"
import * as Validation from "../validation/Validation.js"
import * as SecretWire from "../wire/SecretWire.js"
import { type DeletedSecret, deletedFromWire, propertiesFromWire, type Secret, type SecretProperties } from "./Secret.js"
import { makeSecretCodec } from "./internal/SecretCodec.js"

/**
 * Options of `set`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SetSecretOptions {
  readonly contentType?: string | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
  readonly enabled?: boolean | undefined
  readonly notBefore?: Date | undefined
  readonly expiresOn?: Date | undefined
}

/**
 * Options of `updateProperties`. Fields left out stay as they are; `tags` replaces all tags when given.
 *
 * @since 0.1.0
 * @category models
 */
export interface UpdateSecretPropertiesOptions extends SetSecretOptions {
  /** The version to update; the latest when omitted. */
  readonly version?: string | undefined
}

/**
 * Options of the list operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListOptions {
  /** Items per page the vault should send (1..25, default 25). Pages are fetched lazily. */
  readonly maxPageSize?: number | undefined
}

/**
 * The secrets service.
 *
 * @since 0.1.0
 * @category services
 */
export interface SecretsService {
  /** Reads a secret's value: the latest version, or `version`. */
  readonly get: (
    name: string,
    options?: { readonly version?: string | undefined }
  ) => Effect.Effect<Secret, ValidationError | NotFoundError | RequestError>
  /** Stores a value as a new version (creating the secret if needed). */
  readonly set: (
    name: string,
    value: string | Redacted.Redacted<string>,
    options?: SetSecretOptions
  ) => Effect.Effect<Secret, ValidationError | ConflictError | RequestError>
  /** Changes the metadata of a version (the value never changes). */
  readonly updateProperties: (
    name: string,
    options: UpdateSecretPropertiesOptions
  ) => Effect.Effect<SecretProperties, ValidationError | NotFoundError | RequestError>
  /** Every secret of the vault (latest metadata, no values), page by page. */
  readonly listProperties: (options?: ListOptions) => Stream.Stream<SecretProperties, ValidationError | RequestError>
  /** Every version of one secret (metadata, no values). */
  readonly listVersions: (
    name: string,
    options?: ListOptions
  ) => Stream.Stream<SecretProperties, ValidationError | NotFoundError | RequestError>
  /** Moves a secret with all its versions to the deleted bin. */
  readonly delete: (name: string) => Effect.Effect<DeletedSecret, ValidationError | NotFoundError | RequestError>
  /** Reads a secret from the deleted bin. */
  readonly getDeleted: (name: string) => Effect.Effect<DeletedSecret, ValidationError | NotFoundError | RequestError>
  /** Every secret in the deleted bin. */
  readonly listDeleted: (options?: ListOptions) => Stream.Stream<DeletedSecret, ValidationError | RequestError>
  /** Brings a deleted secret back, all versions. */
  readonly recover: (
    name: string
  ) => Effect.Effect<SecretProperties, ValidationError | NotFoundError | ConflictError | RequestError>
  /** Removes a deleted secret for good. */
  readonly purge: (name: string) => Effect.Effect<void, ValidationError | NotFoundError | RequestError>
  /** A protected blob of the secret with all its versions, for `restore`. */
  readonly backup: (name: string) => Effect.Effect<Uint8Array, ValidationError | NotFoundError | RequestError>
  /** Restores a backup into this vault; fails with a conflict when the name exists. */
  readonly restore: (backup: Uint8Array) => Effect.Effect<SecretProperties, ValidationError | ConflictError | RequestError>
  /** Drops every cached version of a secret (and a remembered not-found), e.g. after a change made elsewhere. */
  readonly invalidate: (name: string) => Effect.Effect<void>
  /** Reads a secret from the vault now, whatever the cache holds, and caches the answer. */
  readonly refresh: (
    name: string,
    options?: { readonly version?: string | undefined }
  ) => Effect.Effect<Secret, ValidationError | NotFoundError | RequestError>
}

/**
 * The secrets service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class Secrets extends Context.Tag("@effect-azure/key-vault/Secrets")<Secrets, SecretsService>() {}

const encodeSet = Schema.encodeSync(SecretWire.SecretSetParameters)
const encodeUpdate = Schema.encodeSync(SecretWire.SecretUpdateParameters)
const encodeRestore = Schema.encodeSync(SecretWire.SecretRestoreParameters)

const attributesOf = (
  enabled: boolean | undefined,
  window: { readonly notBefore: Date | undefined; readonly expiresOn: Date | undefined }
): SecretWire.SecretSetParameters["attributes"] => {
  const attributes = {
    ...(enabled === undefined ? {} : { enabled }),
    ...(window.notBefore === undefined ? {} : { nbf: window.notBefore }),
    ...(window.expiresOn === undefined ? {} : { exp: window.expiresOn })
  }
  return Object.keys(attributes).length === 0 ? undefined : attributes
}

const withoutUndefined = <A extends Record<string, unknown>>(record: A): A =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as A

type Metadata = Omit<SetSecretOptions, never>

// The metadata set and updateProperties share, validated.
const metadata = (operation: string, options: Metadata) =>
  Validation.struct({
    contentType: Validation.contentType(operation, options.contentType),
    tags: Validation.tags(operation, options.tags),
    enabled: Validation.flag(operation, "enabled", options.enabled),
    window: Validation.validity(operation, options.notBefore, options.expiresOn)
  })

// A get or set answer without a value is not an empty secret: it is a broken response.
const refuseValueless = (bundle: SecretWire.SecretBundle): string | undefined =>
  bundle.value === undefined ? "the vault's answer carries no secret value" : undefined

/**
 * Builds the service on a transport and the `VaultCache`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<SecretsService, never, KeyVaultTransport | VaultCache> = Effect.gen(function*() {
  const transport = yield* KeyVaultTransport
  const { vaultHost, vaultUrl } = transport.config
  const cache = (yield* VaultCache).namespace(vaultHost, "secret")
  const secretCodec = makeSecretCodec(vaultUrl)
  const writes = yield* Effect.serviceOption(VersionWrites.VersionWrites)
  const client: Operation.Client = {
    transport,
    objectType: "secret",
    invalidate: (name) => cache.invalidate(name),
    announce: Option.getOrUndefined(writes)?.announce
  }
  const properties = (bundle: SecretWire.SecretBundle | SecretWire.SecretItem, name: string) =>
    propertiesFromWire(bundle, { vaultUrl, name })
  const toSecret = (bundle: SecretWire.SecretBundle, name: string): Secret => {
    const p = properties(bundle, name)
    return { name: p.name, value: bundle.value!, properties: p }
  }

  // A cache miss loads through `fetch`, the traced read; a hit is a map lookup, with no span (hits are counted by
  // the cache's metrics instead).
  const fetch = Operation.operation(client, "Secrets.get", {
    validate: (name: string, version: string | undefined) =>
      Validation.both(
        Validation.name("Secrets.get", name),
        Validation.version("Secrets.get", version),
        (n, v) => ({ name: n, version: v })
      ),
    request: ({ name, version }) => ({
      method: "GET",
      path: `/secrets/${name}/${version ?? ""}`,
      expected: { notFound: true }
    }),
    response: SecretWire.SecretBundle,
    refuse: refuseValueless,
    model: (bundle, { name }) => toSecret(bundle, name),
    attributes: { "keyvault.cache": "miss" }
  })

  const cached = (read: VaultCacheNamespace["get"]) =>
  (
    name: string,
    options?: { readonly version?: string | undefined }
  ): Effect.Effect<Secret, ValidationError | NotFoundError | RequestError> => {
    const version = options?.version
    // Input that cannot be a name or version is never cached: it goes straight to validation.
    if (typeof name !== "string" || (version !== undefined && typeof version !== "string")) return fetch(name, version)
    return read(name, version, fetch, secretCodec)
  }

  const set = Operation.operation(client, "Secrets.set", {
    validate: (name: string, value: string | Redacted.Redacted<string>, options: SetSecretOptions = {}) =>
      Effect.gen(function*() {
        const operation = "Secrets.set"
        const n = yield* Validation.name(operation, name)
        yield* Validation.secretValue(operation, Redacted.isRedacted(value) ? Redacted.value(value) : value)
        const meta = yield* metadata(operation, options)
        return {
          name: n,
          body: encodeSet(withoutUndefined({
            value: Redacted.isRedacted(value) ? value : Redacted.make(value),
            contentType: meta.contentType,
            tags: meta.tags,
            attributes: attributesOf(meta.enabled, meta.window)
          }))
        }
      }),
    request: ({ body, name }) => ({
      method: "PUT",
      path: `/secrets/${name}`,
      body,
      expected: { conflict: true },
      // Not repeated after an ambiguous failure (5xx, timeout, reset): the first attempt may have landed, and a
      // repeat could put this value back over a newer one written meanwhile. A 429 is still retried.
      rateClass: "write"
    }),
    response: SecretWire.SecretBundle,
    refuse: refuseValueless,
    model: (bundle, { name }) => toSecret(bundle, name),
    announces: (secret) => VersionWrites.of("secret", secret.properties),
    invalidates: "input"
  })

  const updateProperties = Operation.operation(client, "Secrets.updateProperties", {
    validate: (name: string, options: UpdateSecretPropertiesOptions) =>
      Effect.gen(function*() {
        const operation = "Secrets.updateProperties"
        const n = yield* Validation.name(operation, name)
        const version = yield* Validation.version(operation, options.version)
        const meta = yield* metadata(operation, options)
        const attributes = attributesOf(meta.enabled, meta.window)
        return {
          name: n,
          version,
          body: encodeUpdate(withoutUndefined({ contentType: meta.contentType, tags: meta.tags, attributes }))
        }
      }),
    request: ({ body, name, version }) => ({
      method: "PATCH",
      path: `/secrets/${name}/${version ?? ""}`,
      body,
      expected: { notFound: true }
    }),
    response: SecretWire.SecretBundle,
    model: (bundle, { name }) => properties(bundle, name),
    invalidates: "input"
  })

  const listProperties = Operation.list(client, "Secrets.listProperties", {
    validate: Operation.nothing,
    options: (options?: ListOptions) => options,
    path: () => "/secrets",
    page: SecretWire.SecretListResult,
    item: (item) => properties(item, "")
  })

  const listVersions = Operation.list(client, "Secrets.listVersions", {
    validate: (name: string, _options?: ListOptions) => Operation.named("Secrets.listVersions")(name),
    options: (_name: string, options?: ListOptions) => options,
    path: ({ name }) => `/secrets/${name}/versions`,
    expected: { notFound: true },
    page: SecretWire.SecretListResult,
    item: (item, { name }) => properties(item, name)
  })

  const lifecycle = Operation.collection(client, {
    service: "Secrets",
    segment: "secrets",
    deletedBundle: SecretWire.DeletedSecretBundle,
    deletedList: SecretWire.DeletedSecretListResult,
    bundle: SecretWire.SecretBundle,
    backupResult: SecretWire.BackupSecretResult,
    encodeRestore,
    deleted: (wire, name) => deletedFromWire(wire, { vaultUrl, name }),
    recovered: (wire, name) => properties(wire, name)
  })

  return {
    get: cached(cache.get),
    refresh: cached(cache.refresh),
    set,
    updateProperties,
    listProperties,
    listVersions,
    invalidate: (name) => cache.invalidate(name),
    ...lifecycle
  }
})

/**
 * The secrets layer, on a transport and the `VaultCache`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Secrets, never, KeyVaultTransport | VaultCache> = Layer.effect(Secrets, make)
