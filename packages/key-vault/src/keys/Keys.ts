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
import type * as Stream from "effect/Stream"
import type { CurveName, KeyOperation } from "../crypto/Algorithms.js"
import { type ConflictError, type NotFoundError, type RequestError, ValidationError } from "../errors/KeyVaultError.js"
import * as Operation from "../internal/Operation.js"
import * as VersionWrites from "../internal/VersionWrites.js"
import { KeyVaultTransport } from "../transport/Transport.js"
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
import * as RateLimiter from "../resilience/RateLimiter.js"

/**
 * A release policy to attach to an exportable key.
 *
 * @since 0.1.0
 * @category models
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
 * @category models
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
 * @category models
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
 * @category models
 */
export interface CreateRsaKeyOptions extends Omit<CreateKeyOptions, "curve"> {
  /** Create an `RSA-HSM` key. */
  readonly hsm?: boolean | undefined
}

/**
 * Options of `createEcKey`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateEcKeyOptions extends Omit<CreateKeyOptions, "keySize" | "publicExponent"> {
  /** Create an `EC-HSM` key. */
  readonly hsm?: boolean | undefined
}

/**
 * Options of `importKey`.
 *
 * @since 0.1.0
 * @category models
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
 * @category models
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
 * @category models
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
 * @category models
 */
export interface ListOptions {
  /** Items per page the vault should send (1..25, default 25). Pages are fetched lazily. */
  readonly maxPageSize?: number | undefined
}

/**
 * The keys service.
 *
 * @since 0.1.0
 * @category services
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
 * @category tags
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
 * @category constructors
 */
export const make: Effect.Effect<KeysService, never, KeyVaultTransport> = Effect.gen(function*() {
  const transport = yield* KeyVaultTransport
  const cache = yield* Effect.serviceOption(KeyMaterialCache)
  const { vaultUrl } = transport.config
  const client: Operation.Client = {
    transport,
    objectType: "key",
    invalidate: (name) => Option.match(cache, { onNone: () => Effect.void, onSome: (c) => c.invalidate(name) }),
    announce: Option.getOrUndefined(yield* Effect.serviceOption(VersionWrites.VersionWrites))?.announce
  }
  const fallback = (name: string) => ({ vaultUrl, name })
  const toKey = (bundle: KeyWire.KeyBundle, { name }: { readonly name: string }) => keyFromWire(bundle, fallback(name))

  const create: KeysService["create"] = Operation.operation(client, "Keys.create", {
    validate: (name: string, keyType: Validation.CreatableKeyType, options: CreateKeyOptions = {}) =>
      Effect.gen(function*() {
        const operation = "Keys.create"
        const n = yield* Validation.name(operation, name)
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
        return {
          name: n,
          // Creates count against the key class's own budget (20 per 10 s for software keys, 5 for HSM keys).
          rateClass: RateLimiter.keyCreate({ kty, keySize, curve: crv }),
          body: encodeCreate(withoutUndefined({
            kty,
            key_size: keySize,
            public_exponent: publicExponent,
            crv,
            key_ops: keyOps,
            attributes: common.attributes,
            tags: common.tags,
            release_policy: common.releasePolicy
          }))
        }
      }),
    request: ({ body, name, rateClass }) => ({
      method: "POST",
      path: `/keys/${name}/create`,
      body,
      rateClass,
      expected: { conflict: true }
    }),
    response: KeyWire.KeyBundle,
    model: toKey,
    announces: (key) => VersionWrites.of("key", key.properties),
    invalidates: "input"
  })

  const createRsaKey: KeysService["createRsaKey"] = (name, options = {}) => {
    const { hsm, ...rest } = options
    return create(name, hsm === true ? "RSA-HSM" : "RSA", rest)
  }

  const createEcKey: KeysService["createEcKey"] = (name, options = {}) => {
    const { hsm, ...rest } = options
    return create(name, hsm === true ? "EC-HSM" : "EC", rest)
  }

  const importKey: KeysService["importKey"] = Operation.operation(client, "Keys.importKey", {
    validate: (name: string, key: Jwk.ImportJsonWebKey, options: ImportKeyOptions = {}) =>
      Effect.gen(function*() {
        const operation = "Keys.importKey"
        const n = yield* Validation.name(operation, name)
        const jwk = yield* Jwk.toWire(operation, key)
        if (key.keyOps !== undefined) yield* Validation.keyOperations(operation, key.keyOps)
        const hsm = yield* Validation.flag(operation, "hsm", options.hsm)
        const common = yield* attributesOf(operation, options)
        return {
          name: n,
          body: encodeImport(withoutUndefined({
            Hsm: hsm,
            key: jwk,
            attributes: common.attributes,
            tags: common.tags,
            release_policy: common.releasePolicy
          }))
        }
      }),
    request: ({ body, name }) => ({ method: "PUT", path: `/keys/${name}`, body, expected: { conflict: true } }),
    response: KeyWire.KeyBundle,
    model: toKey,
    announces: (key) => VersionWrites.of("key", key.properties),
    invalidates: "input"
  })

  const get: KeysService["get"] = Operation.operation(client, "Keys.get", {
    validate: (name: string, options?: { readonly version?: string | undefined }) =>
      Validation.both(
        Validation.name("Keys.get", name),
        Validation.version("Keys.get", options?.version),
        (n, version) => ({ name: n, version })
      ),
    request: ({ name, version }) => ({ method: "GET", path: `/keys/${name}/${version ?? ""}`, expected: { notFound: true } }),
    response: KeyWire.KeyBundle,
    model: toKey
  })

  const updateProperties: KeysService["updateProperties"] = Operation.operation(client, "Keys.updateProperties", {
    validate: (name: string, options: UpdateKeyPropertiesOptions) =>
      Effect.gen(function*() {
        const operation = "Keys.updateProperties"
        const n = yield* Validation.name(operation, name)
        const version = yield* Validation.version(operation, options.version)
        const keyOps = yield* Validation.keyOperations(operation, options.keyOperations)
        const common = yield* attributesOf(operation, options)
        return {
          name: n,
          version,
          body: encodeUpdate(withoutUndefined({
            key_ops: keyOps,
            attributes: common.attributes,
            tags: common.tags,
            release_policy: common.releasePolicy
          }))
        }
      }),
    request: ({ body, name, version }) => ({
      method: "PATCH",
      path: `/keys/${name}/${version ?? ""}`,
      body,
      expected: { notFound: true }
    }),
    response: KeyWire.KeyBundle,
    model: toKey,
    invalidates: "input"
  })

  const listProperties: KeysService["listProperties"] = Operation.list(client, "Keys.listProperties", {
    validate: Operation.nothing,
    options: (options?: ListOptions) => options,
    path: () => "/keys",
    page: KeyWire.KeyListResult,
    item: (item) => propertiesFromWire(item, fallback(""))
  })

  const listVersions: KeysService["listVersions"] = Operation.list(client, "Keys.listVersions", {
    validate: (name: string, _options?: ListOptions) => Operation.named("Keys.listVersions")(name),
    options: (_name: string, options?: ListOptions) => options,
    path: ({ name }) => `/keys/${name}/versions`,
    expected: { notFound: true },
    page: KeyWire.KeyListResult,
    item: (item, { name }) => propertiesFromWire(item, fallback(name))
  })

  const lifecycle = Operation.collection(client, {
    service: "Keys",
    segment: "keys",
    deletedBundle: KeyWire.DeletedKeyBundle,
    deletedList: KeyWire.DeletedKeyListResult,
    bundle: KeyWire.KeyBundle,
    backupResult: KeyWire.BackupKeyResult,
    encodeRestore,
    deleted: (wire, name) => deletedFromWire(wire, fallback(name)),
    recovered: (wire, name) => keyFromWire(wire, fallback(name))
  })

  const rotate: KeysService["rotate"] = Operation.operation(client, "Keys.rotate", {
    validate: Operation.named("Keys.rotate"),
    request: ({ name }) => ({ method: "POST", path: `/keys/${name}/rotate`, expected: { notFound: true } }),
    response: KeyWire.KeyBundle,
    model: toKey,
    announces: (key) => VersionWrites.of("key", key.properties),
    invalidates: "input"
  })

  const getRotationPolicy: KeysService["getRotationPolicy"] = Operation.operation(client, "Keys.getRotationPolicy", {
    validate: Operation.named("Keys.getRotationPolicy"),
    request: ({ name }) => ({ method: "GET", path: `/keys/${name}/rotationpolicy`, expected: { notFound: true } }),
    response: KeyWire.KeyRotationPolicy,
    model: rotationPolicyFromWire
  })

  const updateRotationPolicy: KeysService["updateRotationPolicy"] = Operation.operation(
    client,
    "Keys.updateRotationPolicy",
    {
      validate: (name: string, policy: KeyRotationPolicyInput) =>
        Effect.gen(function*() {
          const operation = "Keys.updateRotationPolicy"
          const n = yield* Validation.name(operation, name)
          if (typeof policy !== "object" || policy === null) {
            return yield* new ValidationError({ operation, field: "policy", message: "policy must be an object" })
          }
          const actions = yield* lifetimeActions(operation, policy.lifetimeActions)
          const expiresIn = yield* Validation.isoDuration(operation, "expiresIn", policy.expiresIn)
          return {
            name: n,
            body: encodePolicy(withoutUndefined({
              lifetimeActions: actions?.map((a) => ({
                trigger: withoutUndefined({ timeAfterCreate: a.timeAfterCreate, timeBeforeExpiry: a.timeBeforeExpiry }),
                action: { type: a.action }
              })),
              attributes: expiresIn === undefined ? undefined : { expiryTime: expiresIn }
            }))
          }
        }),
      request: ({ body, name }) => ({
        method: "PUT",
        path: `/keys/${name}/rotationpolicy`,
        // The whole policy is replaced: a repeat leaves the same policy.
        idempotent: true,
        body,
        expected: { notFound: true }
      }),
      response: KeyWire.KeyRotationPolicy,
      model: rotationPolicyFromWire
    }
  )

  const getRandomBytes: KeysService["getRandomBytes"] = Operation.operation(client, "Keys.getRandomBytes", {
    validate: (count: number) =>
      Effect.map(Validation.randomBytesCount("Keys.getRandomBytes", count), (c) => ({ count: c })),
    request: ({ count }) => ({ method: "POST", path: "/rng", idempotent: true, body: encodeRandom({ count }) }),
    response: KeyWire.RandomBytes,
    model: (result) => result.value
  })

  return {
    create,
    createRsaKey,
    createEcKey,
    importKey,
    get,
    updateProperties,
    listProperties,
    listVersions,
    ...lifecycle,
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
 * @category layers
 */
export const layer: Layer.Layer<Keys, never, KeyVaultTransport> = Layer.effect(Keys, make)
