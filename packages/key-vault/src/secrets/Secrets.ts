/**
 * The `Secrets` service: every data-plane secret operation as an `Effect` (or a `Stream` for lists), with input
 * validated before any request and the errors each operation can raise named in its type.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import {
  type ConflictError,
  DecodeError,
  type Expected,
  type NotFoundError,
  type RequestError,
  type ValidationError
} from "../errors/KeyVaultError.js"
import type * as AtRestCipher from "../cache/AtRestCipher.js"
import { type EntryCodec, VaultCache } from "../cache/VaultCache.js"
import { decode, KeyVaultTransport, paginate, type TransportRequest } from "../transport/Transport.js"
import * as Validation from "../validation/Validation.js"
import * as SecretWire from "../wire/SecretWire.js"
import { type DeletedSecret, deletedFromWire, propertiesFromWire, type Secret, type SecretProperties } from "./Secret.js"

/**
 * Options of `set`.
 *
 * @since 0.1.0
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
 */
export interface UpdateSecretPropertiesOptions extends SetSecretOptions {
  /** The version to update; the latest when omitted. */
  readonly version?: string | undefined
}

/**
 * Options of the list operations.
 *
 * @since 0.1.0
 */
export interface ListOptions {
  /** Items per page the vault should send (1..25, default 25). Pages are fetched lazily. */
  readonly maxPageSize?: number | undefined
}

/**
 * The secrets service.
 *
 * @since 0.1.0
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

// What the cache keeps of a secret: the value and the fields the vault sent, as small integers and shared strings;
// fields most secrets leave at their usual value live in an optional `rare` object. The id, vault URL, `Date`s and
// `Redacted` wrapper are rebuilt when the entry is read (and kept while it stays among the recently hit: the
// cache's `hotEntries`). A cached 100-byte secret then costs a few hundred bytes, not the ~1.4 KB of a `Secret`.
class CachedSecret {
  constructor(
    /** Only when the vault's spelling differs from the lower-cased name the cache files it under. */
    readonly name: string | undefined,
    readonly version: string | undefined,
    /** The value, or its sealed form when encryption at rest is on. */
    readonly value: string | AtRestCipher.Sealed,
    readonly contentType: string | undefined,
    readonly created: number | undefined,
    readonly rare: RareFields | undefined
  ) {}
}

interface RareFields {
  /** Absent when equal to `created`. */
  readonly updated: number | undefined
  readonly enabled: boolean | undefined
  readonly recoveryLevel: string | undefined
  readonly recoverableDays: number | undefined
  readonly tags: Readonly<Record<string, string>> | undefined
  readonly nbf: number | undefined
  readonly exp: number | undefined
  readonly managed: boolean
  readonly keyId: string | undefined
  readonly previousVersion: string | undefined
}

// The usual values of the fields kept in `RareFields` (a soft-delete vault with the default retention).
const USUAL_RECOVERY_LEVEL = "Recoverable+Purgeable"
const USUAL_RECOVERABLE_DAYS = 90

// A copy that owns its characters: a version or name sliced out of an id would keep the whole id alive.
const own = (s: string | undefined): string | undefined =>
  s === undefined ? undefined : Buffer.from(s, "utf8").toString("utf8")

const interned = new Map<string, string>()
// Content types and recovery levels repeat across secrets: keep one copy of each (a bounded table).
const intern = (s: string | undefined): string | undefined => {
  if (s === undefined) return undefined
  const known = interned.get(s)
  if (known !== undefined) return known
  if (interned.size < 256) interned.set(s, s)
  return s
}

const seconds = (date: Date | undefined): number | undefined =>
  date === undefined ? undefined : Math.floor(date.getTime() / 1000)

const dateOf = (s: number | undefined): Date | undefined => (s === undefined ? undefined : new Date(s * 1000))

const NO_TAGS: Readonly<Record<string, string>> = Object.freeze({})

const makeSecretCodec = (vaultUrl: string): EntryCodec<Secret> => ({
  encode: (secret, cipher) => {
    const p = secret.properties
    // Frozen: a hot entry hands out one object to every reader, so no caller may change it for the others.
    const tags = Object.keys(p.tags).length === 0 ? undefined : Object.freeze({ ...p.tags })
    const created = seconds(p.createdOn)
    const updated = seconds(p.updatedOn)
    const nbf = seconds(p.notBefore)
    const exp = seconds(p.expiresOn)
    const usual = updated === created && p.enabled === true && p.recoveryLevel === USUAL_RECOVERY_LEVEL &&
      p.recoverableDays === USUAL_RECOVERABLE_DAYS && tags === undefined && nbf === undefined && exp === undefined &&
      !p.managed && p.keyId === undefined && p.previousVersion === undefined
    const plaintext = Redacted.value(secret.value)
    return new CachedSecret(
      p.name === p.name.toLowerCase() ? undefined : own(p.name),
      own(p.version),
      cipher === undefined ? plaintext : cipher.seal(plaintext, `${p.name.toLowerCase()}/${p.version ?? ""}`),
      intern(p.contentType),
      created,
      usual ? undefined : {
        updated: updated === created ? undefined : updated,
        enabled: p.enabled,
        recoveryLevel: intern(p.recoveryLevel),
        recoverableDays: p.recoverableDays,
        tags,
        nbf,
        exp,
        managed: p.managed,
        keyId: own(p.keyId),
        previousVersion: own(p.previousVersion)
      }
    )
  },
  decode: (stored, cipher, key) => {
    const c = stored as CachedSecret
    const plaintext = typeof c.value === "string" ? c.value : cipher?.open(c.value, `${key}/${c.version ?? ""}`)
    if (plaintext === undefined) return undefined
    const name = c.name ?? key
    const rare = c.rare
    return {
      name,
      value: Redacted.make(plaintext),
      properties: {
        id: c.version === undefined ? `${vaultUrl}/secrets/${name}` : `${vaultUrl}/secrets/${name}/${c.version}`,
        vaultUrl,
        name,
        version: c.version,
        enabled: rare === undefined ? true : rare.enabled,
        notBefore: dateOf(rare?.nbf),
        expiresOn: dateOf(rare?.exp),
        createdOn: dateOf(c.created),
        updatedOn: dateOf(rare?.updated ?? c.created),
        contentType: c.contentType,
        tags: rare?.tags ?? NO_TAGS,
        managed: rare?.managed ?? false,
        keyId: rare?.keyId,
        recoveryLevel: rare === undefined ? USUAL_RECOVERY_LEVEL : rare.recoveryLevel,
        recoverableDays: rare === undefined ? USUAL_RECOVERABLE_DAYS : rare.recoverableDays,
        previousVersion: rare?.previousVersion
      }
    }
  }
})

const withoutUndefined = <A extends Record<string, unknown>>(record: A): A =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as A

/**
 * Builds the service on a transport.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<SecretsService, never, KeyVaultTransport | VaultCache> = Effect.gen(function*() {
  const transport = yield* KeyVaultTransport
  const cache = (yield* VaultCache).namespace(transport.config.vaultHost, "secret")
  const secretCodec = makeSecretCodec(transport.config.vaultUrl)
  const { vaultHost, vaultUrl } = transport.config

  // The name is added to the span only once it has passed validation: a caller who swapped name and value must not
  // find the value in their traces.
  const span = (operation: string, cacheOutcome?: "miss") =>
    ({
      kind: "client" as const,
      attributes: {
        "keyvault.vault_host": vaultHost,
        "keyvault.object_type": "secret",
        "keyvault.operation": operation,
        ...(cacheOutcome === undefined ? {} : { "keyvault.cache": cacheOutcome })
      }
    })

  const validName = (operation: string, name: unknown) =>
    Effect.tap(Validation.name(operation, name), (n) => Effect.annotateCurrentSpan("keyvault.name", n))

  const call = <A, I, const E extends Expected = Expected>(request: TransportRequest<E>, schema: Schema.Schema<A, I>) =>
    Effect.flatMap(transport.send(request), decode(request.operation, schema))

  // Every change made through this client drops what the cache holds for the name, whether or not the answer came
  // back: a timed-out write may still have landed.
  const mutate = <A, I, const E extends Expected = Expected>(
    name: string,
    request: TransportRequest<E>,
    schema: Schema.Schema<A, I>
  ) => Effect.ensuring(call(request, schema), forget(name))

  const forget = (name: string) => cache.invalidate(name)

  // The cached read: a hit is a map lookup, with no span (hits are counted by the cache's metrics instead); a miss
  // loads through `fetch`, which validates, traces and calls the vault.
  const get: SecretsService["get"] = (name, options) => {
    const version = options?.version
    // Input that cannot be a name or version is never cached: it goes straight to validation.
    if (typeof name !== "string" || (version !== undefined && typeof version !== "string")) return fetch(name, version)
    return cache.get(name, version, fetch, secretCodec)
  }

  const refresh: SecretsService["refresh"] = (name, options) => {
    const version = options?.version
    if (typeof name !== "string" || (version !== undefined && typeof version !== "string")) return fetch(name, version)
    return cache.refresh(name, version, fetch, secretCodec)
  }

  const fetch = (name: string, version: string | undefined): Effect.Effect<Secret, ValidationError | NotFoundError | RequestError> =>
    Effect.gen(function*() {
      const operation = "Secrets.get"
      const n = yield* validName(operation, name)
      const v = yield* Validation.version(operation, version)
      const bundle = yield* call({
        operation,
        method: "GET",
        path: `/secrets/${n}/${v ?? ""}`,
        expected: { notFound: true }
      }, SecretWire.SecretBundle)
      return yield* toSecret(operation, bundle, n)
    }).pipe(Effect.withSpan("Secrets.get", span("get", "miss")))

  // A get or set answer without a value is not an empty secret: it is a broken response.
  const toSecret = (operation: string, bundle: SecretWire.SecretBundle, name: string): Effect.Effect<Secret, DecodeError> => {
    if (bundle.value === undefined) {
      return Effect.fail(new DecodeError({ operation, message: "the vault's answer carries no secret value" }))
    }
    const properties = propertiesFromWire(bundle, { vaultUrl, name })
    return Effect.succeed({ name: properties.name, value: bundle.value, properties })
  }

  const set: SecretsService["set"] = (name, value, options = {}) =>
    Effect.gen(function*() {
      const operation = "Secrets.set"
      const n = yield* validName(operation, name)
      const plain = Redacted.isRedacted(value) ? Redacted.value(value) : value
      yield* Validation.secretValue(operation, plain)
      const contentType = yield* Validation.contentType(operation, options.contentType)
      const tags = yield* Validation.tags(operation, options.tags)
      const enabled = yield* Validation.flag(operation, "enabled", options.enabled)
      const window = yield* Validation.validity(operation, options.notBefore, options.expiresOn)
      const body = encodeSet(withoutUndefined({
        value: Redacted.isRedacted(value) ? value : Redacted.make(value),
        contentType,
        tags,
        attributes: attributesOf(enabled, window)
      }))
      const bundle = yield* mutate(n, {
        operation,
        method: "PUT",
        path: `/secrets/${n}`,
        body,
        expected: { conflict: true },
        // Not repeated after an ambiguous failure (5xx, timeout, reset): the first attempt may have landed, and a
        // repeat could put this value back over a newer one written meanwhile. A 429 is still retried.
        rateClass: "write"
      }, SecretWire.SecretBundle)
      return yield* toSecret(operation, bundle, n)
    }).pipe(Effect.withSpan("Secrets.set", span("set")))

  const updateProperties: SecretsService["updateProperties"] = (name, options) =>
    Effect.gen(function*() {
      const operation = "Secrets.updateProperties"
      const n = yield* validName(operation, name)
      const v = yield* Validation.version(operation, options.version)
      const contentType = yield* Validation.contentType(operation, options.contentType)
      const tags = yield* Validation.tags(operation, options.tags)
      const enabled = yield* Validation.flag(operation, "enabled", options.enabled)
      const window = yield* Validation.validity(operation, options.notBefore, options.expiresOn)
      const body = encodeUpdate(withoutUndefined({ contentType, tags, attributes: attributesOf(enabled, window) }))
      const bundle = yield* mutate(n, {
        operation,
        method: "PATCH",
        path: `/secrets/${n}/${v ?? ""}`,
        body,
        expected: { notFound: true }
      }, SecretWire.SecretBundle)
      return propertiesFromWire(bundle, { vaultUrl, name: n })
    }).pipe(Effect.withSpan("Secrets.updateProperties", span("updateProperties")))

  const list = <A, I, B, const E extends Expected = Expected>(
    operation: string,
    path: string,
    options: ListOptions | undefined,
    schema: Schema.Schema<{ readonly value: ReadonlyArray<A>; readonly nextLink?: string | null | undefined }, I>,
    expected: E | undefined,
    map: (item: A) => B
  ) =>
    Stream.unwrap(Effect.map(Validation.pageSize(operation, options?.maxPageSize), (size) =>
      paginate(transport, {
        operation,
        method: "GET",
        path,
        query: size === undefined ? undefined : { maxresults: String(size) },
        expected
      }, schema).pipe(Stream.map(map))))

  const listProperties: SecretsService["listProperties"] = (options) =>
    list(
      "Secrets.listProperties",
      "/secrets",
      options,
      SecretWire.SecretListResult,
      undefined,
      (item) => propertiesFromWire(item, { vaultUrl, name: "" })
    ).pipe(Stream.withSpan("Secrets.listProperties", span("listProperties")))

  const listVersions: SecretsService["listVersions"] = (name, options) =>
    Stream.unwrap(Effect.map(validName("Secrets.listVersions", name), (n) =>
      list(
        "Secrets.listVersions",
        `/secrets/${n}/versions`,
        options,
        SecretWire.SecretListResult,
        { notFound: true },
        (item) => propertiesFromWire(item, { vaultUrl, name: n })
      ))).pipe(Stream.withSpan("Secrets.listVersions", span("listVersions")))

  const deleteSecret: SecretsService["delete"] = (name) =>
    Effect.gen(function*() {
      const operation = "Secrets.delete"
      const n = yield* validName(operation, name)
      const deleted = yield* mutate(n, {
        operation,
        method: "DELETE",
        path: `/secrets/${n}`,
        expected: { notFound: true }
      }, SecretWire.DeletedSecretBundle)
      return deletedFromWire(deleted, { vaultUrl, name: n })
    }).pipe(Effect.withSpan("Secrets.delete", span("delete")))

  const getDeleted: SecretsService["getDeleted"] = (name) =>
    Effect.gen(function*() {
      const operation = "Secrets.getDeleted"
      const n = yield* validName(operation, name)
      const deleted = yield* call({
        operation,
        method: "GET",
        path: `/deletedsecrets/${n}`,
        expected: { notFound: true }
      }, SecretWire.DeletedSecretBundle)
      return deletedFromWire(deleted, { vaultUrl, name: n })
    }).pipe(Effect.withSpan("Secrets.getDeleted", span("getDeleted")))

  const listDeleted: SecretsService["listDeleted"] = (options) =>
    list(
      "Secrets.listDeleted",
      "/deletedsecrets",
      options,
      SecretWire.DeletedSecretListResult,
      undefined,
      (item) => deletedFromWire(item, { vaultUrl, name: "" })
    ).pipe(Stream.withSpan("Secrets.listDeleted", span("listDeleted")))

  const recover: SecretsService["recover"] = (name) =>
    Effect.gen(function*() {
      const operation = "Secrets.recover"
      const n = yield* validName(operation, name)
      const bundle = yield* mutate(n, {
        operation,
        method: "POST",
        path: `/deletedsecrets/${n}/recover`,
        expected: { notFound: true, conflict: true }
      }, SecretWire.SecretBundle)
      return propertiesFromWire(bundle, { vaultUrl, name: n })
    }).pipe(Effect.withSpan("Secrets.recover", span("recover")))

  const purge: SecretsService["purge"] = (name) =>
    Effect.gen(function*() {
      const operation = "Secrets.purge"
      const n = yield* validName(operation, name)
      yield* transport.send({ operation, method: "DELETE", path: `/deletedsecrets/${n}`, expected: { notFound: true } }).pipe(
        Effect.ensuring(forget(n))
      )
    }).pipe(Effect.withSpan("Secrets.purge", span("purge")))

  const backup: SecretsService["backup"] = (name) =>
    Effect.gen(function*() {
      const operation = "Secrets.backup"
      const n = yield* validName(operation, name)
      const result = yield* call({
        operation,
        method: "POST",
        path: `/secrets/${n}/backup`,
        idempotent: true,
        expected: { notFound: true }
      }, SecretWire.BackupSecretResult)
      return result.value
    }).pipe(Effect.withSpan("Secrets.backup", span("backup")))

  const restore: SecretsService["restore"] = (blob) =>
    Effect.gen(function*() {
      const operation = "Secrets.restore"
      const bytes = yield* Validation.backup(operation, blob)
      const bundle = yield* call({
        operation,
        method: "POST",
        path: "/secrets/restore",
        body: encodeRestore({ value: bytes }),
        expected: { conflict: true }
      }, SecretWire.SecretBundle)
      const properties = propertiesFromWire(bundle, { vaultUrl, name: "" })
      yield* forget(properties.name)
      return properties
    }).pipe(Effect.withSpan("Secrets.restore", span("restore")))

  return {
    get,
    set,
    updateProperties,
    listProperties,
    listVersions,
    delete: deleteSecret,
    invalidate: (name) => forget(name),
    refresh,
    getDeleted,
    listDeleted,
    recover,
    purge,
    backup,
    restore
  }
})

/**
 * The secrets layer, on a transport.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Secrets, never, KeyVaultTransport | VaultCache> = Layer.effect(Secrets, make)
