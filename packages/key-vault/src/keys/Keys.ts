/**
 * The `Keys` service: every data-plane key management operation as an `Effect` (or a `Stream` for lists), with
 * input validated before any request and the errors each operation can raise named in its type. Cryptography with a
 * key lives in the `Cryptography` service.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { CurveName, KeyOperation } from "../crypto/Algorithms.js"
import {
  type ConflictError,
  type Expected,
  type NotFoundError,
  type RequestError,
  ValidationError
} from "../errors/KeyVaultError.js"
import { decode, KeyVaultTransport, paginate, type TransportRequest } from "../transport/Transport.js"
import * as Validation from "../validation/Validation.js"
import * as KeyWire from "../wire/KeyWire.js"
import * as Jwk from "./Jwk.js"
import {
  type DeletedKey,
  deletedFromWire,
  keyFromWire,
  type KeyProperties,
  type KeyRotationLifetimeAction,
  type KeyRotationPolicy,
  type KeyVaultKey,
  propertiesFromWire,
  rotationPolicyFromWire
} from "./Key.js"
import { KeyMaterialCache } from "./KeyMaterialCache.js"

/**
 * A release policy to attach to an exportable key.
 *
 * @since 0.1.0
 */
export interface KeyReleasePolicyInput {
  /** The encoded policy document. */
  readonly data: Uint8Array
  readonly contentType?: string | undefined
  readonly immutable?: boolean | undefined
}

/**
 * Attributes and metadata shared by create, import and update.
 *
 * @since 0.1.0
 */
export interface KeyAttributesOptions {
  readonly enabled?: boolean | undefined
  readonly notBefore?: Date | undefined
  readonly expiresOn?: Date | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
  readonly releasePolicy?: KeyReleasePolicyInput | undefined
}

/**
 * Options of `create`. `keySize` and `publicExponent` apply to RSA keys, `curve` to EC keys.
 *
 * @since 0.1.0
 */
export interface CreateKeyOptions extends KeyAttributesOptions {
  /** 2048 (the vault's default), 3072 or 4096. */
  readonly keySize?: number | undefined
  /** The RSA public exponent; the vault uses 65537 when omitted. */
  readonly publicExponent?: number | undefined
  /** P-256 (the vault's default), P-384, P-521 or P-256K. */
  readonly curve?: CurveName | undefined
  /** Operations the key will permit; the vault permits all its type supports when omitted. */
  readonly keyOperations?: ReadonlyArray<KeyOperation> | undefined
  /** Whether the private key may be exported (needs a release policy on the real service). */
  readonly exportable?: boolean | undefined
}

/**
 * Options of `createRsaKey`.
 *
 * @since 0.1.0
 */
export interface CreateRsaKeyOptions extends Omit<CreateKeyOptions, "curve"> {
  /** Create an `RSA-HSM` key. */
  readonly hsm?: boolean | undefined
}

/**
 * Options of `createEcKey`.
 *
 * @since 0.1.0
 */
export interface CreateEcKeyOptions extends Omit<CreateKeyOptions, "keySize" | "publicExponent"> {
  /** Create an `EC-HSM` key. */
  readonly hsm?: boolean | undefined
}

/**
 * Options of `importKey`.
 *
 * @since 0.1.0
 */
export interface ImportKeyOptions extends KeyAttributesOptions {
  /** Protect the imported key with an HSM. */
  readonly hsm?: boolean | undefined
  readonly exportable?: boolean | undefined
}

/**
 * Options of `updateProperties`. Fields left out stay as they are; `tags` replaces all tags when given.
 *
 * @since 0.1.0
 */
export interface UpdateKeyPropertiesOptions extends KeyAttributesOptions {
  /** The version to update; the latest when omitted. */
  readonly version?: string | undefined
  readonly keyOperations?: ReadonlyArray<KeyOperation> | undefined
}

/**
 * What `updateRotationPolicy` sets.
 *
 * @since 0.1.0
 */
export interface KeyRotationPolicyInput {
  readonly lifetimeActions?: ReadonlyArray<KeyRotationLifetimeAction> | undefined
  /** ISO 8601 duration giving each new version its expiry, e.g. `P90D`. */
  readonly expiresIn?: string | undefined
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
 * The keys service.
 *
 * @since 0.1.0
 */
export interface KeysService {
  /** Creates a key (a new version when the name exists). */
  readonly create: (
    name: string,
    keyType: Validation.CreatableKeyType,
    options?: CreateKeyOptions
  ) => Effect.Effect<KeyVaultKey, ValidationError | ConflictError | RequestError>
  /** Creates an RSA (or RSA-HSM) key. */
  readonly createRsaKey: (
    name: string,
    options?: CreateRsaKeyOptions
  ) => Effect.Effect<KeyVaultKey, ValidationError | ConflictError | RequestError>
  /** Creates an EC (or EC-HSM) key. */
  readonly createEcKey: (
    name: string,
    options?: CreateEcKeyOptions
  ) => Effect.Effect<KeyVaultKey, ValidationError | ConflictError | RequestError>
  /** Imports a key with its private parts, as a new version. */
  readonly importKey: (
    name: string,
    key: Jwk.ImportJsonWebKey,
    options?: ImportKeyOptions
  ) => Effect.Effect<KeyVaultKey, ValidationError | ConflictError | RequestError>
  /** Reads a key's public part: the latest version, or `version`. */
  readonly get: (
    name: string,
    options?: { readonly version?: string | undefined }
  ) => Effect.Effect<KeyVaultKey, ValidationError | NotFoundError | RequestError>
  /** Changes the operations, attributes or tags of a version (the key material never changes). */
  readonly updateProperties: (
    name: string,
    options: UpdateKeyPropertiesOptions
  ) => Effect.Effect<KeyVaultKey, ValidationError | NotFoundError | RequestError>
  /** Every key of the vault (latest properties), page by page. */
  readonly listProperties: (options?: ListOptions) => Stream.Stream<KeyProperties, ValidationError | RequestError>
  /** Every version of one key. */
  readonly listVersions: (
    name: string,
    options?: ListOptions
  ) => Stream.Stream<KeyProperties, ValidationError | NotFoundError | RequestError>
  /** Moves a key with all its versions to the deleted bin. */
  readonly delete: (name: string) => Effect.Effect<DeletedKey, ValidationError | NotFoundError | RequestError>
  /** Reads a key from the deleted bin. */
  readonly getDeleted: (name: string) => Effect.Effect<DeletedKey, ValidationError | NotFoundError | RequestError>
  /** Every key in the deleted bin. */
  readonly listDeleted: (options?: ListOptions) => Stream.Stream<DeletedKey, ValidationError | RequestError>
  /** Brings a deleted key back, all versions. */
  readonly recover: (
    name: string
  ) => Effect.Effect<KeyVaultKey, ValidationError | NotFoundError | ConflictError | RequestError>
  /** Removes a deleted key for good. */
  readonly purge: (name: string) => Effect.Effect<void, ValidationError | NotFoundError | RequestError>
  /** A protected blob of the key with all its versions, for `restore`. */
  readonly backup: (name: string) => Effect.Effect<Uint8Array, ValidationError | NotFoundError | RequestError>
  /** Restores a backup into this vault; fails with a conflict when the name exists. */
  readonly restore: (backup: Uint8Array) => Effect.Effect<KeyVaultKey, ValidationError | ConflictError | RequestError>
  /** Creates a new version of the key now, with the same type, size and operations. */
  readonly rotate: (name: string) => Effect.Effect<KeyVaultKey, ValidationError | NotFoundError | RequestError>
  /** Reads the key's rotation policy (the vault answers a default one for keys that never had one). */
  readonly getRotationPolicy: (
    name: string
  ) => Effect.Effect<KeyRotationPolicy, ValidationError | NotFoundError | RequestError>
  /** Replaces the key's rotation policy. */
  readonly updateRotationPolicy: (
    name: string,
    policy: KeyRotationPolicyInput
  ) => Effect.Effect<KeyRotationPolicy, ValidationError | NotFoundError | RequestError>
  /** `count` (1..128) random bytes from the vault's generator. */
  readonly getRandomBytes: (count: number) => Effect.Effect<Uint8Array, ValidationError | RequestError>
}

/**
 * The keys service tag.
 *
 * @since 0.1.0
 */
export class Keys extends Context.Tag("@effect-azure/key-vault/Keys")<Keys, KeysService>() {}

const encodeCreate = Schema.encodeSync(KeyWire.KeyCreateParameters)
const encodeImport = Schema.encodeSync(KeyWire.KeyImportParameters)
const encodeUpdate = Schema.encodeSync(KeyWire.KeyUpdateParameters)
const encodeRestore = Schema.encodeSync(KeyWire.KeyRestoreParameters)
const encodePolicy = Schema.encodeSync(KeyWire.KeyRotationPolicy)
const encodeRandom = Schema.encodeSync(KeyWire.GetRandomBytesRequest)

const withoutUndefined = <A extends Record<string, unknown>>(record: A): A =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as A

const orUndefined = <A extends Record<string, unknown>>(record: A): A | undefined => {
  const defined = withoutUndefined(record)
  return Object.keys(defined).length === 0 ? undefined : defined
}

type ValidatedAttributes = {
  readonly attributes: KeyWire.KeyCreateParameters["attributes"]
  readonly tags: Readonly<Record<string, string>> | undefined
  readonly releasePolicy: KeyWire.KeyCreateParameters["release_policy"]
}

const attributesOf = (
  operation: string,
  options: KeyAttributesOptions & { readonly exportable?: boolean | undefined }
): Effect.Effect<ValidatedAttributes, ValidationError> =>
  Effect.gen(function*() {
    const enabled = yield* Validation.flag(operation, "enabled", options.enabled)
    const exportable = yield* Validation.flag(operation, "exportable", options.exportable)
    const window = yield* Validation.validity(operation, options.notBefore, options.expiresOn)
    const tags = yield* Validation.tags(operation, options.tags)
    const policy = options.releasePolicy
    if (policy !== undefined) {
      yield* Validation.bytes(operation, "releasePolicy.data", policy.data, { allowEmpty: false })
      yield* Validation.contentType(operation, policy.contentType)
      yield* Validation.flag(operation, "releasePolicy.immutable", policy.immutable)
    }
    return {
      attributes: orUndefined({ enabled, exportable, nbf: window.notBefore, exp: window.expiresOn }),
      tags,
      releasePolicy: policy === undefined ? undefined : withoutUndefined({
        data: policy.data,
        contentType: policy.contentType,
        immutable: policy.immutable
      })
    }
  })

const lifetimeActions = (
  operation: string,
  input: unknown
): Effect.Effect<ReadonlyArray<KeyRotationLifetimeAction> | undefined, ValidationError> =>
  Effect.gen(function*() {
    if (input === undefined) return undefined
    const fail = (message: string) => Effect.fail(new ValidationError({ operation, field: "lifetimeActions", message }))
    if (!Array.isArray(input)) return yield* fail("lifetimeActions must be an array")
    const actions: Array<KeyRotationLifetimeAction> = []
    for (const [i, raw] of (input as ReadonlyArray<unknown>).entries()) {
      if (typeof raw !== "object" || raw === null) return yield* fail(`lifetimeActions[${i}] must be an object`)
      const item = raw as Partial<KeyRotationLifetimeAction>
      if (item.action !== "Rotate" && item.action !== "Notify") {
        return yield* fail(`lifetimeActions[${i}].action must be Rotate or Notify`)
      }
      const after = yield* Validation.isoDuration(operation, `lifetimeActions[${i}].timeAfterCreate`, item.timeAfterCreate)
      const before = yield* Validation.isoDuration(operation, `lifetimeActions[${i}].timeBeforeExpiry`, item.timeBeforeExpiry)
      if ((after === undefined) === (before === undefined)) {
        return yield* fail(`lifetimeActions[${i}] needs exactly one trigger: timeAfterCreate or timeBeforeExpiry`)
      }
      actions.push({
        action: item.action,
        ...(after === undefined ? {} : { timeAfterCreate: after }),
        ...(before === undefined ? {} : { timeBeforeExpiry: before })
      })
    }
    return actions
  })

/**
 * Builds the service on a transport. When a `KeyMaterialCache` is in context, every mutation through this service
 * invalidates the key's entries there, so `Cryptography` never validates against a stale key.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<KeysService, never, KeyVaultTransport> = Effect.gen(function*() {
  const transport = yield* KeyVaultTransport
  const cache = yield* Effect.serviceOption(KeyMaterialCache)
  const { vaultHost, vaultUrl } = transport.config

  // The name joins the span only once it has passed validation: a mistaken argument must not end up in traces.
  const span = (operation: string) => ({
    kind: "client" as const,
    attributes: {
      "keyvault.vault_host": vaultHost,
      "keyvault.object_type": "key",
      "keyvault.operation": operation
    }
  })

  const validName = (operation: string, name: unknown): Effect.Effect<string, ValidationError> =>
    Effect.tap(Validation.name(operation, name), (n) => Effect.annotateCurrentSpan("keyvault.name", n))

  const invalidate = (name: string): Effect.Effect<void> =>
    Option.match(cache, { onNone: () => Effect.void, onSome: (c) => c.invalidate(name) })

  const call = <A, I, const E extends Expected = Expected>(request: TransportRequest<E>, schema: Schema.Schema<A, I>) =>
    Effect.flatMap(transport.send(request), decode(request.operation, schema))

  const fallback = (name: string) => ({ vaultUrl, name })

  const create: KeysService["create"] = (name, keyType, options = {}) =>
    Effect.gen(function*() {
      const operation = "Keys.create"
      const n = yield* validName(operation, name)
      const kty = yield* Validation.keyType(operation, keyType)
      const rsa = kty === "RSA" || kty === "RSA-HSM"
      const keySize = yield* Validation.rsaKeySize(operation, options.keySize)
      const publicExponent = yield* Validation.publicExponent(operation, options.publicExponent)
      const crv = options.curve === undefined ? undefined : yield* Validation.curve(operation, options.curve)
      if (rsa && crv !== undefined) {
        return yield* new ValidationError({ operation, field: "curve", message: "curve applies to EC keys, not RSA" })
      }
      if (!rsa && (keySize !== undefined || publicExponent !== undefined)) {
        return yield* new ValidationError({
          operation,
          field: keySize !== undefined ? "keySize" : "publicExponent",
          message: "keySize and publicExponent apply to RSA keys, not EC"
        })
      }
      const keyOps = yield* Validation.keyOperations(operation, options.keyOperations)
      const common = yield* attributesOf(operation, options)
      const body = encodeCreate(withoutUndefined({
        kty,
        key_size: keySize,
        public_exponent: publicExponent,
        crv,
        key_ops: keyOps,
        attributes: common.attributes,
        tags: common.tags,
        release_policy: common.releasePolicy
      }))
      const bundle = yield* call({
        operation,
        method: "POST",
        path: `/keys/${n}/create`,
        body,
        expected: { conflict: true }
      }, KeyWire.KeyBundle).pipe(Effect.ensuring(invalidate(n)))
      return keyFromWire(bundle, fallback(n))
    }).pipe(Effect.withSpan("Keys.create", span("create")))

  const createRsaKey: KeysService["createRsaKey"] = (name, options = {}) => {
    const { hsm, ...rest } = options
    return create(name, hsm === true ? "RSA-HSM" : "RSA", rest)
  }

  const createEcKey: KeysService["createEcKey"] = (name, options = {}) => {
    const { hsm, ...rest } = options
    return create(name, hsm === true ? "EC-HSM" : "EC", rest)
  }

  const importKey: KeysService["importKey"] = (name, key, options = {}) =>
    Effect.gen(function*() {
      const operation = "Keys.importKey"
      const n = yield* validName(operation, name)
      const jwk = yield* Jwk.toWire(operation, key)
      if (key.keyOps !== undefined) yield* Validation.keyOperations(operation, key.keyOps)
      const hsm = yield* Validation.flag(operation, "hsm", options.hsm)
      const common = yield* attributesOf(operation, options)
      const body = encodeImport(withoutUndefined({
        Hsm: hsm,
        key: jwk,
        attributes: common.attributes,
        tags: common.tags,
        release_policy: common.releasePolicy
      }))
      const bundle = yield* call({
        operation,
        method: "PUT",
        path: `/keys/${n}`,
        body,
        expected: { conflict: true }
      }, KeyWire.KeyBundle).pipe(Effect.ensuring(invalidate(n)))
      return keyFromWire(bundle, fallback(n))
    }).pipe(Effect.withSpan("Keys.importKey", span("importKey")))

  const get: KeysService["get"] = (name, options) =>
    Effect.gen(function*() {
      const operation = "Keys.get"
      const n = yield* validName(operation, name)
      const v = yield* Validation.version(operation, options?.version)
      const bundle = yield* call({
        operation,
        method: "GET",
        path: `/keys/${n}/${v ?? ""}`,
        expected: { notFound: true }
      }, KeyWire.KeyBundle)
      return keyFromWire(bundle, fallback(n))
    }).pipe(Effect.withSpan("Keys.get", span("get")))

  const updateProperties: KeysService["updateProperties"] = (name, options) =>
    Effect.gen(function*() {
      const operation = "Keys.updateProperties"
      const n = yield* validName(operation, name)
      const v = yield* Validation.version(operation, options.version)
      const keyOps = yield* Validation.keyOperations(operation, options.keyOperations)
      const common = yield* attributesOf(operation, options)
      const body = encodeUpdate(withoutUndefined({
        key_ops: keyOps,
        attributes: common.attributes,
        tags: common.tags,
        release_policy: common.releasePolicy
      }))
      const bundle = yield* call({
        operation,
        method: "PATCH",
        path: `/keys/${n}/${v ?? ""}`,
        body,
        expected: { notFound: true }
      }, KeyWire.KeyBundle).pipe(Effect.ensuring(invalidate(n)))
      return keyFromWire(bundle, fallback(n))
    }).pipe(Effect.withSpan("Keys.updateProperties", span("updateProperties")))

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

  const listProperties: KeysService["listProperties"] = (options) =>
    list("Keys.listProperties", "/keys", options, KeyWire.KeyListResult, undefined, (item) =>
      propertiesFromWire(item, fallback(""))).pipe(Stream.withSpan("Keys.listProperties", span("listProperties")))

  const listVersions: KeysService["listVersions"] = (name, options) =>
    Stream.unwrap(Effect.map(validName("Keys.listVersions", name), (n) =>
      list(
        "Keys.listVersions",
        `/keys/${n}/versions`,
        options,
        KeyWire.KeyListResult,
        { notFound: true },
        (item) => propertiesFromWire(item, fallback(n))
      ))).pipe(Stream.withSpan("Keys.listVersions", span("listVersions")))

  const deleteKey: KeysService["delete"] = (name) =>
    Effect.gen(function*() {
      const operation = "Keys.delete"
      const n = yield* validName(operation, name)
      const deleted = yield* call({
        operation,
        method: "DELETE",
        path: `/keys/${n}`,
        expected: { notFound: true }
      }, KeyWire.DeletedKeyBundle).pipe(Effect.ensuring(invalidate(n)))
      return deletedFromWire(deleted, fallback(n))
    }).pipe(Effect.withSpan("Keys.delete", span("delete")))

  const getDeleted: KeysService["getDeleted"] = (name) =>
    Effect.gen(function*() {
      const operation = "Keys.getDeleted"
      const n = yield* validName(operation, name)
      const deleted = yield* call({
        operation,
        method: "GET",
        path: `/deletedkeys/${n}`,
        expected: { notFound: true }
      }, KeyWire.DeletedKeyBundle)
      return deletedFromWire(deleted, fallback(n))
    }).pipe(Effect.withSpan("Keys.getDeleted", span("getDeleted")))

  const listDeleted: KeysService["listDeleted"] = (options) =>
    list("Keys.listDeleted", "/deletedkeys", options, KeyWire.DeletedKeyListResult, undefined, (item) =>
      deletedFromWire(item, fallback(""))).pipe(Stream.withSpan("Keys.listDeleted", span("listDeleted")))

  const recover: KeysService["recover"] = (name) =>
    Effect.gen(function*() {
      const operation = "Keys.recover"
      const n = yield* validName(operation, name)
      const bundle = yield* call({
        operation,
        method: "POST",
        path: `/deletedkeys/${n}/recover`,
        expected: { notFound: true, conflict: true }
      }, KeyWire.KeyBundle).pipe(Effect.ensuring(invalidate(n)))
      return keyFromWire(bundle, fallback(n))
    }).pipe(Effect.withSpan("Keys.recover", span("recover")))

  const purge: KeysService["purge"] = (name) =>
    Effect.gen(function*() {
      const operation = "Keys.purge"
      const n = yield* validName(operation, name)
      yield* transport.send({ operation, method: "DELETE", path: `/deletedkeys/${n}`, expected: { notFound: true } }).pipe(
        Effect.ensuring(invalidate(n))
      )
    }).pipe(Effect.withSpan("Keys.purge", span("purge")))

  const backup: KeysService["backup"] = (name) =>
    Effect.gen(function*() {
      const operation = "Keys.backup"
      const n = yield* validName(operation, name)
      const result = yield* call({
        operation,
        method: "POST",
        path: `/keys/${n}/backup`,
        idempotent: true,
        expected: { notFound: true }
      }, KeyWire.BackupKeyResult)
      return result.value
    }).pipe(Effect.withSpan("Keys.backup", span("backup")))

  const restore: KeysService["restore"] = (blob) =>
    Effect.gen(function*() {
      const operation = "Keys.restore"
      const bytes = yield* Validation.backup(operation, blob)
      const bundle = yield* call({
        operation,
        method: "POST",
        path: "/keys/restore",
        body: encodeRestore({ value: bytes }),
        expected: { conflict: true }
      }, KeyWire.KeyBundle)
      const key = keyFromWire(bundle, fallback(""))
      if (key.name !== "") yield* invalidate(key.name)
      return key
    }).pipe(Effect.withSpan("Keys.restore", span("restore")))

  const rotate: KeysService["rotate"] = (name) =>
    Effect.gen(function*() {
      const operation = "Keys.rotate"
      const n = yield* validName(operation, name)
      const bundle = yield* call({
        operation,
        method: "POST",
        path: `/keys/${n}/rotate`,
        expected: { notFound: true }
      }, KeyWire.KeyBundle).pipe(Effect.ensuring(invalidate(n)))
      return keyFromWire(bundle, fallback(n))
    }).pipe(Effect.withSpan("Keys.rotate", span("rotate")))

  const getRotationPolicy: KeysService["getRotationPolicy"] = (name) =>
    Effect.gen(function*() {
      const operation = "Keys.getRotationPolicy"
      const n = yield* validName(operation, name)
      const policy = yield* call({
        operation,
        method: "GET",
        path: `/keys/${n}/rotationpolicy`,
        expected: { notFound: true }
      }, KeyWire.KeyRotationPolicy)
      return rotationPolicyFromWire(policy)
    }).pipe(Effect.withSpan("Keys.getRotationPolicy", span("getRotationPolicy")))

  const updateRotationPolicy: KeysService["updateRotationPolicy"] = (name, policy) =>
    Effect.gen(function*() {
      const operation = "Keys.updateRotationPolicy"
      const n = yield* validName(operation, name)
      if (typeof policy !== "object" || policy === null) {
        return yield* new ValidationError({ operation, field: "policy", message: "policy must be an object" })
      }
      const actions = yield* lifetimeActions(operation, policy.lifetimeActions)
      const expiresIn = yield* Validation.isoDuration(operation, "expiresIn", policy.expiresIn)
      const body = encodePolicy(withoutUndefined({
        lifetimeActions: actions?.map((a) => ({
          trigger: withoutUndefined({ timeAfterCreate: a.timeAfterCreate, timeBeforeExpiry: a.timeBeforeExpiry }),
          action: { type: a.action }
        })),
        attributes: expiresIn === undefined ? undefined : { expiryTime: expiresIn }
      }))
      const updated = yield* call({
        operation,
        method: "PUT",
        path: `/keys/${n}/rotationpolicy`,
        // The whole policy is replaced: a repeat leaves the same policy.
        idempotent: true,
        body,
        expected: { notFound: true }
      }, KeyWire.KeyRotationPolicy)
      return rotationPolicyFromWire(updated)
    }).pipe(Effect.withSpan("Keys.updateRotationPolicy", span("updateRotationPolicy")))

  const getRandomBytes: KeysService["getRandomBytes"] = (count) =>
    Effect.gen(function*() {
      const operation = "Keys.getRandomBytes"
      const c = yield* Validation.randomBytesCount(operation, count)
      const result = yield* call({
        operation,
        method: "POST",
        path: "/rng",
        idempotent: true,
        body: encodeRandom({ count: c })
      }, KeyWire.RandomBytes)
      return result.value
    }).pipe(Effect.withSpan("Keys.getRandomBytes", span("getRandomBytes")))

  return {
    create,
    createRsaKey,
    createEcKey,
    importKey,
    get,
    updateProperties,
    listProperties,
    listVersions,
    delete: deleteKey,
    getDeleted,
    listDeleted,
    recover,
    purge,
    backup,
    restore,
    rotate,
    getRotationPolicy,
    updateRotationPolicy,
    getRandomBytes
  }
})

/**
 * The keys layer, on a transport.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Keys, never, KeyVaultTransport> = Layer.effect(Keys, make)
