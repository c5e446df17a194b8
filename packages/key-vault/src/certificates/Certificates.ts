/**
 * The `Certificates` service: every data-plane certificate operation as an `Effect` (or a `Stream` for lists), with
 * input validated before any request and the errors each operation can raise named in its type. Creation is a
 * long-running operation: `beginCreate` starts it, `create` also waits for it on a `Schedule`. The certificate's
 * private key comes with `downloadPkcs12` / `downloadPem` (as `Redacted`), its parsed X.509 view with `getDetails`.
 *
 * Reads of a certificate go through the cache (`{vault}:certificate:{name}:{version|latest}`); every mutation through
 * this service forgets the name there, and in the secret and key caches, since the certificate's secret and key share
 * its name and change with it.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import { type CacheNamespace, VaultCache } from "../cache/VaultCache.js"
import type {
  ValidationError
} from "../errors/KeyVaultError.js";
import {
  type CertificateOperationError,
  type ConflictError,
  DecodeError,
  type NotFoundError,
  parseRetryAfter,
  type RequestError
} from "../errors/KeyVaultError.js"
import * as Operation from "../internal/Operation.js"
import * as VersionWrites from "../internal/VersionWrites.js"
import { KeyMaterialCache } from "../keys/KeyMaterialCache.js"
import * as RateLimiter from "../resilience/RateLimiter.js"
import { Secrets } from "../secrets/Secrets.js"
import { decode, KeyVaultTransport, type TransportResponse } from "../transport/Transport.js"
import * as Validation from "../validation/Validation.js"
import * as CertificateWire from "../wire/CertificateWire.js"
import * as Identifier from "../wire/Identifier.js"
import { VERSION_PATTERN } from "../wire/Rules.js"
import * as SecretWire from "../wire/SecretWire.js"
import {
  type Certificate,
  type CertificateDetails,
  type CertificateIssuer,
  type CertificateOperation,
  type CertificateProperties,
  type CertificateSecret,
  type Contact,
  contactsFromWire,
  type DeletedCertificate,
  deletedFromWire,
  details,
  fromWire,
  issuerFromWire,
  type IssuerProperties,
  issuerPropertiesFromWire,
  operationFromWire,
  propertiesFromWire
} from "./Certificate.js"
import * as Policy from "./CertificatePolicy.js"
import { defined, invalid, orUndefined, typeName } from "./internal/Fields.js"
import * as Inputs from "./internal/Inputs.js"
import * as Polling from "./internal/Polling.js"

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
 * Options of `listProperties` and `listDeleted`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListCertificatesOptions extends ListOptions {
  /** Also list certificates whose first version is still being created. */
  readonly includePending?: boolean | undefined
}

/**
 * Options of `beginCreate`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateCertificateOptions {
  readonly enabled?: boolean | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
  /** Keep the chain in the order given (default: leaf first). */
  readonly preserveCertOrder?: boolean | undefined
}

/**
 * How `create` and `waitForOperation` wait.
 *
 * @since 0.1.0
 * @category models
 */
export interface PollOptions {
  /**
   * When to look at the operation again, fed the operation after each look; default `defaultPollSchedule` (every 2
   * s, as long as it takes). A `Retry-After` from the vault stretches a wait, never shortens it. When the schedule
   * ends first, the wait fails with a `CertificateOperationError` of reason `StillPending`.
   */
  readonly pollSchedule?: Schedule.Schedule<unknown, CertificateOperation> | undefined
}

/**
 * Options of `create`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateAndWaitOptions extends CreateCertificateOptions, PollOptions {}

/**
 * Options of `importPem` and `importPkcs12`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ImportCertificateOptions {
  /** The policy for renewals; subject, SANs and key come from the imported certificate. */
  readonly policy?: Policy.CertificatePolicyInput | undefined
  /** The password of the PKCS#12, or of an encrypted PEM private key. */
  readonly password?: string | Redacted.Redacted<string> | undefined
  readonly enabled?: boolean | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
  readonly preserveCertOrder?: boolean | undefined
}

/**
 * Options of `merge`.
 *
 * @since 0.1.0
 * @category models
 */
export interface MergeCertificateOptions {
  readonly enabled?: boolean | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
}

/**
 * Options of `updateProperties`. Fields left out stay as they are; `tags` replaces all tags when given.
 *
 * @since 0.1.0
 * @category models
 */
export interface UpdateCertificatePropertiesOptions {
  /** The version to update; the latest when omitted. */
  readonly version?: string | undefined
  readonly enabled?: boolean | undefined
  readonly notBefore?: Date | undefined
  readonly expiresOn?: Date | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
}

/**
 * A contact to set.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContactInput {
  readonly email: string
  readonly name?: string | undefined
  readonly phone?: string | undefined
}

/**
 * An organization administrator to give an issuer.
 *
 * @since 0.1.0
 * @category models
 */
export interface AdministratorContactInput {
  readonly email: string
  readonly firstName?: string | undefined
  readonly lastName?: string | undefined
  readonly phone?: string | undefined
}

/**
 * Options of `createIssuer`.
 *
 * @since 0.1.0
 * @category models
 */
export interface IssuerOptions {
  readonly accountId?: string | undefined
  /** The account's password or API key. */
  readonly password?: string | Redacted.Redacted<string> | undefined
  readonly organizationId?: string | undefined
  readonly administratorContacts?: ReadonlyArray<AdministratorContactInput> | undefined
  readonly enabled?: boolean | undefined
}

/**
 * Options of `updateIssuer`: fields left out stay as they are.
 *
 * @since 0.1.0
 * @category models
 */
export interface UpdateIssuerOptions extends IssuerOptions {
  readonly provider?: string | undefined
}

/**
 * Options of the downloads.
 *
 * @since 0.1.0
 * @category models
 */
export interface DownloadOptions {
  /** The certificate version; the latest when omitted. */
  readonly version?: string | undefined
}

/**
 * Options of `downloadSecret`.
 *
 * @since 0.1.0
 * @category models
 */
export interface DownloadSecretOptions extends DownloadOptions {
  /** `pkcs12` or `pem`; the format the secret is stored in when omitted. */
  readonly format?: "pkcs12" | "pem" | undefined
}

type Version = { readonly version?: string | undefined }

/**
 * The certificates service.
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificatesService {
  /** Reads a certificate (with its policy when the vault sends it): the latest version, or `version`. Cached. */
  readonly get: (
    name: string,
    options?: Version
  ) => Effect.Effect<Certificate, ValidationError | NotFoundError | RequestError>
  /** Reads a certificate from the vault now, whatever the cache holds, and caches the answer. */
  readonly refresh: (
    name: string,
    options?: Version
  ) => Effect.Effect<Certificate, ValidationError | NotFoundError | RequestError>
  /** Drops every cached version of a certificate, e.g. after a change made elsewhere. */
  readonly invalidate: (name: string) => Effect.Effect<void>
  /** The parsed X.509 view of a certificate: subject, SANs, issuer, serial, thumbprints, validity, key. */
  readonly getDetails: (
    name: string,
    options?: Version
  ) => Effect.Effect<CertificateDetails, ValidationError | NotFoundError | RequestError>
  /** Reads a certificate's management policy. */
  readonly getPolicy: (
    name: string
  ) => Effect.Effect<Policy.CertificatePolicy, ValidationError | NotFoundError | RequestError>
  /** Changes a certificate's policy (for the next versions); fields left out stay as they are. */
  readonly updatePolicy: (
    name: string,
    policy: Policy.CertificatePolicyInput
  ) => Effect.Effect<Policy.CertificatePolicy, ValidationError | NotFoundError | RequestError>
  /** Every certificate of the vault (latest properties), page by page. */
  readonly listProperties: (
    options?: ListCertificatesOptions
  ) => Stream.Stream<CertificateProperties, ValidationError | RequestError>
  /** Every version of one certificate. */
  readonly listVersions: (
    name: string,
    options?: ListOptions
  ) => Stream.Stream<CertificateProperties, ValidationError | NotFoundError | RequestError>
  /**
   * Starts creating a certificate (a new version when the name exists) and answers the operation. Issuer `Self`
   * completes by itself; issuer `Unknown` waits with a CSR for `merge`; a named issuer orders from its CA.
   */
  readonly beginCreate: (
    name: string,
    policy: Policy.CertificatePolicyInput,
    options?: CreateCertificateOptions
  ) => Effect.Effect<CertificateOperation, ValidationError | ConflictError | RequestError>
  /**
   * Creates a certificate and waits until it is issued, looking at the operation on `pollSchedule`. Fails with a
   * `CertificateOperationError` when issuance fails or is cancelled, when the issuer is `Unknown` (use
   * `beginCreate` and `merge`), or when the schedule ends first.
   */
  readonly create: (
    name: string,
    policy: Policy.CertificatePolicyInput,
    options?: CreateAndWaitOptions
  ) => Effect.Effect<
    Certificate,
    ValidationError | ConflictError | NotFoundError | CertificateOperationError | RequestError
  >
  /** Waits for a certificate's pending operation, as `create` does, and answers the certificate. */
  readonly waitForOperation: (
    name: string,
    options?: PollOptions
  ) => Effect.Effect<Certificate, ValidationError | NotFoundError | CertificateOperationError | RequestError>
  /** Reads a certificate's pending (or last) creation operation, with its CSR. */
  readonly getOperation: (
    name: string
  ) => Effect.Effect<CertificateOperation, ValidationError | NotFoundError | RequestError>
  /** Asks the vault to cancel a pending creation. */
  readonly cancelOperation: (
    name: string
  ) => Effect.Effect<CertificateOperation, ValidationError | NotFoundError | RequestError>
  /** Deletes a creation operation (the certificate's versions stay). */
  readonly deleteOperation: (
    name: string
  ) => Effect.Effect<CertificateOperation, ValidationError | NotFoundError | RequestError>
  /**
   * Completes a pending creation (issuer `Unknown`) with the certificate its CA signed, leaf first, then its chain:
   * DER bytes, or PEM text (one or more `CERTIFICATE` blocks each).
   */
  readonly merge: (
    name: string,
    x509Certificates: ReadonlyArray<Uint8Array | string>,
    options?: MergeCertificateOptions
  ) => Effect.Effect<Certificate, ValidationError | NotFoundError | ConflictError | RequestError>
  /**
   * Imports a certificate with its private key from PEM: `CERTIFICATE` blocks (leaf and chain) and a PKCS#8
   * `PRIVATE KEY` (or `ENCRYPTED PRIVATE KEY` with `password`). The secret is stored as PEM.
   */
  readonly importPem: (
    name: string,
    pem: string | Redacted.Redacted<string>,
    options?: ImportCertificateOptions
  ) => Effect.Effect<Certificate, ValidationError | ConflictError | RequestError>
  /** Imports a certificate with its private key from a PKCS#12 (PFX) file, with `password` when it has one. */
  readonly importPkcs12: (
    name: string,
    pfx: Uint8Array | Redacted.Redacted<Uint8Array>,
    options?: ImportCertificateOptions
  ) => Effect.Effect<Certificate, ValidationError | ConflictError | RequestError>
  /** Changes the attributes or tags of a version. */
  readonly updateProperties: (
    name: string,
    options: UpdateCertificatePropertiesOptions
  ) => Effect.Effect<Certificate, ValidationError | NotFoundError | RequestError>
  /**
   * The certificate with its private key: the backing secret (the certificate's `sid`), as PKCS#12 bytes or PEM
   * text. A PKCS#12 secret is converted to PEM by the vault (`outContentType`); a PEM secret cannot be had as PKCS#12.
   */
  readonly downloadSecret: (
    name: string,
    options?: DownloadSecretOptions
  ) => Effect.Effect<CertificateSecret, ValidationError | NotFoundError | RequestError>
  /** The certificate with its private key as a PKCS#12 (PFX, no password). */
  readonly downloadPkcs12: (
    name: string,
    options?: DownloadOptions
  ) => Effect.Effect<Redacted.Redacted<Uint8Array>, ValidationError | NotFoundError | RequestError>
  /** The certificate with its private key as PEM: a PKCS#8 private key and the certificate chain. */
  readonly downloadPem: (
    name: string,
    options?: DownloadOptions
  ) => Effect.Effect<Redacted.Redacted<string>, ValidationError | NotFoundError | RequestError>
  /** Moves a certificate with all its versions (and its key and secret) to the deleted bin. */
  readonly delete: (name: string) => Effect.Effect<DeletedCertificate, ValidationError | NotFoundError | RequestError>
  /** Reads a certificate from the deleted bin. */
  readonly getDeleted: (
    name: string
  ) => Effect.Effect<DeletedCertificate, ValidationError | NotFoundError | RequestError>
  /** Every certificate in the deleted bin. */
  readonly listDeleted: (
    options?: ListCertificatesOptions
  ) => Stream.Stream<DeletedCertificate, ValidationError | RequestError>
  /** Brings a deleted certificate back, all versions. */
  readonly recover: (
    name: string
  ) => Effect.Effect<Certificate, ValidationError | NotFoundError | ConflictError | RequestError>
  /** Removes a deleted certificate for good. */
  readonly purge: (name: string) => Effect.Effect<void, ValidationError | NotFoundError | RequestError>
  /** A protected blob of the certificate with all its versions, for `restore`. */
  readonly backup: (name: string) => Effect.Effect<Uint8Array, ValidationError | NotFoundError | RequestError>
  /** Restores a backup into this vault; fails with a conflict when the name exists. */
  readonly restore: (backup: Uint8Array) => Effect.Effect<Certificate, ValidationError | ConflictError | RequestError>
  /** The vault's certificate contacts. */
  readonly getContacts: () => Effect.Effect<ReadonlyArray<Contact>, NotFoundError | RequestError>
  /** Replaces the vault's certificate contacts. */
  readonly setContacts: (
    contacts: ReadonlyArray<ContactInput>
  ) => Effect.Effect<ReadonlyArray<Contact>, ValidationError | RequestError>
  /** Removes every certificate contact; answers the removed ones. */
  readonly deleteContacts: () => Effect.Effect<ReadonlyArray<Contact>, NotFoundError | RequestError>
  /** Creates (or replaces) an issuer: a CA account of `provider` (`DigiCert`, `GlobalSign`, ...). */
  readonly createIssuer: (
    issuerName: string,
    provider: string,
    options?: IssuerOptions
  ) => Effect.Effect<CertificateIssuer, ValidationError | RequestError>
  /** Reads an issuer. */
  readonly getIssuer: (
    issuerName: string
  ) => Effect.Effect<CertificateIssuer, ValidationError | NotFoundError | RequestError>
  /** Changes an issuer; fields left out stay as they are. */
  readonly updateIssuer: (
    issuerName: string,
    options: UpdateIssuerOptions
  ) => Effect.Effect<CertificateIssuer, ValidationError | NotFoundError | RequestError>
  /** Deletes an issuer; answers it. */
  readonly deleteIssuer: (
    issuerName: string
  ) => Effect.Effect<CertificateIssuer, ValidationError | NotFoundError | RequestError>
  /** Every issuer of the vault (id, name and provider). */
  readonly listIssuers: (options?: ListOptions) => Stream.Stream<IssuerProperties, ValidationError | RequestError>
}

/**
 * The certificates service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class Certificates extends Context.Tag("@effect-azure/key-vault/Certificates")<
  Certificates,
  CertificatesService
>() {}

/**
 * The default poll schedule of `create` and `waitForOperation`: every 2 seconds, as the official SDK polls, for as
 * long as it takes. Bound it with `Schedule.upTo` / `Schedule.recurs`, or pass any other schedule.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultPollSchedule: Schedule.Schedule<number> = Polling.defaultSchedule

const PKCS12 = "application/x-pkcs12"
const PEM = "application/x-pem-file"

const encodeCreate = Schema.encodeSync(CertificateWire.CertificateCreateParameters)
const encodeImport = Schema.encodeSync(CertificateWire.CertificateImportParameters)
const encodeUpdate = Schema.encodeSync(CertificateWire.CertificateUpdateParameters)
const encodePolicy = Schema.encodeSync(CertificateWire.CertificatePolicy)
const encodeMerge = Schema.encodeSync(CertificateWire.CertificateMergeParameters)
const encodeOperationUpdate = Schema.encodeSync(CertificateWire.CertificateOperationUpdateParameter)
const encodeRestore = Schema.encodeSync(CertificateWire.CertificateRestoreParameters)

/**
 * Builds the service on a transport, the cache and the secrets service (the certificate's secret is read, and
 * cached, as a secret). When a `KeyMaterialCache` is in context, every mutation also forgets the certificate's key
 * there, so `Cryptography` never signs with a stale one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<CertificatesService, never, KeyVaultTransport | VaultCache | Secrets> = Effect.gen(
  function*() {
    const transport = yield* KeyVaultTransport
    const { vaultHost, vaultUrl } = transport.config
    const cache = (yield* VaultCache).namespace(vaultHost, "certificate")
    const secrets = yield* Secrets
    const keyMaterial = yield* Effect.serviceOption(KeyMaterialCache)
    // The certificate's key and secret share its name: a new version, a delete or a recover changes all three.
    const invalidate = (name: string): Effect.Effect<void> =>
      Effect.zipRight(
        Effect.zipRight(cache.invalidate(name), secrets.invalidate(name)),
        Option.match(keyMaterial, { onNone: () => Effect.void, onSome: (keys) => keys.invalidate(name) })
      )
    const announce = Option.getOrUndefined(yield* Effect.serviceOption(VersionWrites.VersionWrites))?.announce
    const client: Operation.Client = { transport, objectType: "certificate", invalidate, announce }
    const fallback = (name: string) => ({ vaultUrl, name })
    const toCertificate = (wire: CertificateWire.CertificateBundle, { name }: { readonly name: string }) =>
      fromWire(wire, fallback(name))
    const toOperation = (wire: CertificateWire.CertificateOperation, { name }: { readonly name: string }) =>
      operationFromWire(wire, fallback(name))
    const nameAndVersion = (operation: string) => (name: string, version: string | undefined) =>
      Validation.both(
        Validation.name(operation, name),
        Validation.version(operation, version),
        (n, v) => ({ name: n, version: v })
      )

    // ---------------------------------------------------------------------------------------------------------
    // Reads
    // ---------------------------------------------------------------------------------------------------------

    // A miss loads through `fetch`, the traced read; a hit is a map lookup.
    const fetch = Operation.operation(client, "Certificates.get", {
      validate: nameAndVersion("Certificates.get"),
      request: ({ name, version }) => ({
        method: "GET",
        path: `/certificates/${name}/${version ?? ""}`,
        expected: { notFound: true }
      }),
      response: CertificateWire.CertificateBundle,
      model: toCertificate,
      attributes: { "keyvault.cache": "miss" }
    })

    const cached = (read: CacheNamespace["get"]) =>
    (name: string, options?: Version): Effect.Effect<Certificate, ValidationError | NotFoundError | RequestError> => {
      const version = options?.version
      // Input that cannot be a name or version is never cached: it goes straight to validation.
      if (typeof name !== "string" || (version !== undefined && typeof version !== "string")) return fetch(name, version)
      return read(name, version, fetch)
    }
    const get = cached(cache.get)

    const getDetails: CertificatesService["getDetails"] = (name, options) =>
      Effect.flatMap(get(name, options), (certificate) =>
        Either.match(details(certificate), {
          onLeft: (error) => Effect.fail(new DecodeError({ operation: "Certificates.getDetails", message: error.message })),
          onRight: Effect.succeed
        }))

    const getPolicy = Operation.operation(client, "Certificates.getPolicy", {
      validate: Operation.named("Certificates.getPolicy"),
      request: ({ name }) => ({ method: "GET", path: `/certificates/${name}/policy`, expected: { notFound: true } }),
      response: CertificateWire.CertificatePolicy,
      model: (wire) => Policy.fromWire(wire)
    })

    const updatePolicy = Operation.operation(client, "Certificates.updatePolicy", {
      validate: (name: string, policy: Policy.CertificatePolicyInput) =>
        Validation.both(
          Validation.name("Certificates.updatePolicy", name),
          Policy.validate("Certificates.updatePolicy", policy, { required: false }),
          (n, wire) => ({ name: n, body: encodePolicy(wire) })
        ),
      request: ({ body, name }) => ({
        method: "PATCH",
        path: `/certificates/${name}/policy`,
        body,
        expected: { notFound: true }
      }),
      response: CertificateWire.CertificatePolicy,
      model: (wire) => Policy.fromWire(wire),
      // The cached certificate carries its policy.
      invalidates: "input"
    })

    const listProperties = Operation.list(client, "Certificates.listProperties", {
      validate: (options?: ListCertificatesOptions) =>
        Effect.map(
          Validation.flag("Certificates.listProperties", "includePending", options?.includePending),
          (includePending) => ({ includePending })
        ),
      options: (options?: ListCertificatesOptions) => options,
      path: () => "/certificates",
      query: ({ includePending }) => includePending === true ? { includePending: "true" } : undefined,
      page: CertificateWire.CertificateListResult,
      item: (item) => propertiesFromWire(item, fallback(""))
    })

    const listVersions = Operation.list(client, "Certificates.listVersions", {
      validate: (name: string, _options?: ListOptions) => Operation.named("Certificates.listVersions")(name),
      options: (_name: string, options?: ListOptions) => options,
      path: ({ name }) => `/certificates/${name}/versions`,
      expected: { notFound: true },
      page: CertificateWire.CertificateListResult,
      item: (item, { name }) => propertiesFromWire(item, fallback(name))
    })

    // ---------------------------------------------------------------------------------------------------------
    // Creation
    // ---------------------------------------------------------------------------------------------------------

    const validateCreate = (operation: string) =>
    (name: string, policy: Policy.CertificatePolicyInput, options: CreateCertificateOptions = {}) =>
      Effect.gen(function*() {
        const n = yield* Validation.name(operation, name)
        const wirePolicy = yield* Policy.validate(operation, policy, { required: true })
        yield* Inputs.optionsObject(operation, options)
        const { enabled, preserveCertOrder, tags } = yield* Inputs.common(operation, options)
        const key = wirePolicy.key_props
        return {
          name: n,
          // Issuing creates a key: it counts against that key class's create budget.
          rateClass: RateLimiter.keyCreate({ kty: key?.kty ?? "RSA", keySize: key?.key_size, curve: key?.crv }),
          body: encodeCreate(defined({
            policy: wirePolicy,
            attributes: enabled === undefined ? undefined : { enabled },
            tags,
            preserveCertOrder
          }))
        }
      })
    type CreateInput = Effect.Effect.Success<ReturnType<ReturnType<typeof validateCreate>>>
    const createRequest = ({ body, name, rateClass }: CreateInput) => ({
      method: "POST" as const,
      path: `/certificates/${name}/create`,
      body,
      rateClass,
      expected: { conflict: true } as const
    })

    const beginCreate = Operation.operation(client, "Certificates.beginCreate", {
      validate: validateCreate("Certificates.beginCreate"),
      request: createRequest,
      response: CertificateWire.CertificateOperation,
      model: toOperation,
      invalidates: "input"
    })

    // The polling reads go to the transport directly: the template answers the body, and waiting needs the
    // answer's `Retry-After` too.
    const pollOf = (operation: string) => {
      const decodeOperation = decode(operation, CertificateWire.CertificateOperation)
      const toPoll = (response: TransportResponse, name: string): Effect.Effect<Polling.Poll, DecodeError> =>
        Validation.both(
          decodeOperation(response),
          Clock.currentTimeMillis,
          (wire, now) => ({
            operation: operationFromWire(wire, fallback(name)),
            retryAfter: parseRetryAfter(response.headers, now)
          })
        )
      const poll = (name: string) =>
        Effect.flatMap(
          transport.send({ operation, method: "GET", path: `/certificates/${name}/pending`, expected: { notFound: true } }),
          (response) => toPoll(response, name)
        )
      return { poll, toPoll }
    }

    // The certificate a completed operation made: the version its target names, else the latest.
    const issued = (operation: CertificateOperation, name: string) => {
      const target = operation.target === undefined ? undefined : Option.getOrUndefined(Identifier.parse(operation.target))
      const version = target?.collection === "certificates" ? target.version : undefined
      // The new version became the latest while nobody was looking: forget what the cache holds for the name.
      return Effect.zipRight(invalidate(name), get(name, version === undefined ? undefined : { version })).pipe(
        Effect.tap((certificate) => {
          const write = VersionWrites.of("certificate", certificate.properties)
          return write === undefined || announce === undefined ? Effect.void : announce(write)
        })
      )
    }

    const createPoll = pollOf("Certificates.create")
    const create: CertificatesService["create"] = Operation.custom(
      client,
      "Certificates.create",
      (name: string, policy: Policy.CertificatePolicyInput, options: CreateAndWaitOptions = {}) =>
      Effect.gen(function*() {
        const operation = "Certificates.create"
        const input = yield* validateCreate(operation)(name, policy, options)
        const pollSchedule = yield* Inputs.schedule(operation, options.pollSchedule)
        yield* Operation.annotate("keyvault.name", input.name)
        const response = yield* Effect.ensuring(
          transport.send({ operation, ...createRequest(input) }),
          invalidate(input.name)
        )
        const first = yield* createPoll.toPoll(response, input.name)
        const done = yield* Polling.awaitCompletion(first, createPoll.poll(input.name), pollSchedule)
        return yield* issued(done, input.name)
      }))

    const waitPoll = pollOf("Certificates.waitForOperation")
    const waitForOperation: CertificatesService["waitForOperation"] = Operation.custom(
      client,
      "Certificates.waitForOperation",
      (name: string, options: PollOptions = {}) =>
      Effect.gen(function*() {
        const operation = "Certificates.waitForOperation"
        const n = yield* Validation.name(operation, name)
        yield* Inputs.optionsObject(operation, options)
        const pollSchedule = yield* Inputs.schedule(operation, options.pollSchedule)
        yield* Operation.annotate("keyvault.name", n)
        const first = yield* waitPoll.poll(n)
        const done = yield* Polling.awaitCompletion(first, waitPoll.poll(n), pollSchedule)
        return yield* issued(done, n)
      }))

    const getOperation = Operation.operation(client, "Certificates.getOperation", {
      validate: Operation.named("Certificates.getOperation"),
      request: ({ name }) => ({ method: "GET", path: `/certificates/${name}/pending`, expected: { notFound: true } }),
      response: CertificateWire.CertificateOperation,
      model: toOperation
    })

    const cancelOperation = Operation.operation(client, "Certificates.cancelOperation", {
      validate: Operation.named("Certificates.cancelOperation"),
      request: ({ name }) => ({
        method: "PATCH",
        path: `/certificates/${name}/pending`,
        body: encodeOperationUpdate({ cancellation_requested: true }),
        expected: { notFound: true }
      }),
      response: CertificateWire.CertificateOperation,
      model: toOperation,
      invalidates: "input"
    })

    const deleteOperation = Operation.operation(client, "Certificates.deleteOperation", {
      validate: Operation.named("Certificates.deleteOperation"),
      request: ({ name }) => ({ method: "DELETE", path: `/certificates/${name}/pending`, expected: { notFound: true } }),
      response: CertificateWire.CertificateOperation,
      model: toOperation,
      invalidates: "input"
    })

    const merge = Operation.operation(client, "Certificates.merge", {
      validate: (
        name: string,
        x509Certificates: ReadonlyArray<Uint8Array | string>,
        options: MergeCertificateOptions = {}
      ) =>
        Effect.gen(function*() {
          const operation = "Certificates.merge"
          const n = yield* Validation.name(operation, name)
          const x5c = yield* Inputs.chain(operation, x509Certificates)
          yield* Inputs.optionsObject(operation, options)
          const enabled = yield* Validation.flag(operation, "enabled", options.enabled)
          const tags = yield* Validation.tags(operation, options.tags)
          return {
            name: n,
            body: encodeMerge(defined({ x5c, attributes: enabled === undefined ? undefined : { enabled }, tags }))
          }
        }),
      request: ({ body, name }) => ({
        method: "POST",
        path: `/certificates/${name}/pending/merge`,
        body,
        expected: { notFound: true, conflict: true }
      }),
      response: CertificateWire.CertificateBundle,
      model: toCertificate,
      announces: (certificate) => VersionWrites.of("certificate", certificate.properties),
      invalidates: "input"
    })

    // ---------------------------------------------------------------------------------------------------------
    // Import and update
    // ---------------------------------------------------------------------------------------------------------

    const importRequest = ({ body, name }: { readonly body: unknown; readonly name: string }) => ({
      method: "POST" as const,
      path: `/certificates/${name}/import`,
      body,
      // Not repeated after an ambiguous failure: the first attempt may have made a version.
      rateClass: "write" as const,
      expected: { conflict: true } as const
    })

    const validateImport = (
      operation: string,
      name: string,
      options: ImportCertificateOptions,
      format: typeof PKCS12 | typeof PEM,
      value: (pwd: Redacted.Redacted<string> | undefined) => Effect.Effect<Redacted.Redacted<string>, ValidationError>
    ) =>
      Effect.gen(function*() {
        const n = yield* Validation.name(operation, name)
        yield* Inputs.optionsObject(operation, options)
        const pwd = yield* Inputs.password(operation, options.password)
        const certificate = yield* value(pwd)
        const policy = options.policy === undefined
          ? undefined
          : yield* Policy.validate(operation, options.policy, { required: false })
        const stated = policy?.secret_props?.contentType
        if (stated !== undefined && stated !== format) {
          return yield* invalid(
            operation,
            "policy.contentType",
            `policy.contentType must be ${format} (or left out) to import ${format === PEM ? "PEM" : "PKCS#12"}`
          )
        }
        const { enabled, preserveCertOrder, tags } = yield* Inputs.common(operation, options)
        return {
          name: n,
          body: encodeImport(defined({
            value: certificate,
            pwd,
            // The vault reads the value as its policy's content type says (PKCS#12 when unsaid): a PEM import
            // always says so.
            policy: format === PEM ? { ...policy, secret_props: { contentType: PEM } } : policy,
            attributes: enabled === undefined ? undefined : { enabled },
            tags,
            preserveCertOrder
          }))
        }
      })

    const importPem = Operation.operation(client, "Certificates.importPem", {
      validate: (name: string, pem: string | Redacted.Redacted<string>, options: ImportCertificateOptions = {}) =>
        validateImport(
          "Certificates.importPem",
          name,
          options,
          PEM,
          (pwd) => Inputs.pemToImport("Certificates.importPem", pem, pwd)
        ),
      request: importRequest,
      response: CertificateWire.CertificateBundle,
      model: toCertificate,
      announces: (certificate) => VersionWrites.of("certificate", certificate.properties),
      invalidates: "input"
    })

    const importPkcs12 = Operation.operation(client, "Certificates.importPkcs12", {
      validate: (name: string, pfx: Uint8Array | Redacted.Redacted<Uint8Array>, options: ImportCertificateOptions = {}) =>
        validateImport(
          "Certificates.importPkcs12",
          name,
          options,
          PKCS12,
          () => Inputs.pfxToImport("Certificates.importPkcs12", pfx)
        ),
      request: importRequest,
      response: CertificateWire.CertificateBundle,
      model: toCertificate,
      announces: (certificate) => VersionWrites.of("certificate", certificate.properties),
      invalidates: "input"
    })

    const updateProperties = Operation.operation(client, "Certificates.updateProperties", {
      validate: (name: string, options: UpdateCertificatePropertiesOptions) =>
        Effect.gen(function*() {
          const operation = "Certificates.updateProperties"
          const n = yield* Validation.name(operation, name)
          yield* Inputs.optionsObject(operation, options)
          const version = yield* Validation.version(operation, options?.version)
          const enabled = yield* Validation.flag(operation, "enabled", options?.enabled)
          const window = yield* Validation.validity(operation, options?.notBefore, options?.expiresOn)
          const tags = yield* Validation.tags(operation, options?.tags)
          return {
            name: n,
            version,
            body: encodeUpdate(defined({
              attributes: orUndefined({ enabled, nbf: window.notBefore, exp: window.expiresOn }),
              tags
            }))
          }
        }),
      request: ({ body, name, version }) => ({
        method: "PATCH",
        path: `/certificates/${name}/${version ?? ""}`,
        body,
        expected: { notFound: true }
      }),
      response: CertificateWire.CertificateBundle,
      model: toCertificate,
      invalidates: "input"
    })

    // ---------------------------------------------------------------------------------------------------------
    // The certificate with its private key
    // ---------------------------------------------------------------------------------------------------------

    // A PKCS#12 secret, converted to PEM by the vault on the way out (2025-07-01 `outContentType`). Not cached: the
    // secret cache holds what the secret is, and this is not it.
    const convertToPem = Operation.operation(client, "Certificates.downloadPem", {
      validate: (name: string, version: string) => Effect.succeed({ name, version }),
      request: ({ name, version }) => ({
        method: "GET",
        path: `/secrets/${name}/${version}`,
        query: { outContentType: PEM },
        expected: { notFound: true }
      }),
      response: SecretWire.SecretBundle,
      refuse: (bundle) =>
        bundle.value === undefined
          ? "the vault's answer carries no secret value"
          : bundle.contentType !== undefined && bundle.contentType !== PEM
          ? "the vault did not convert the secret to PEM (outContentType needs api-version 2025-07-01 or later)"
          : undefined,
      model: (bundle) => bundle.value!
    })

    const downloadSecret: CertificatesService["downloadSecret"] = Operation.custom(
      client,
      "Certificates.downloadSecret",
      (name: string, options: DownloadSecretOptions = {}) => {
      const operation = "Certificates.downloadSecret"
      return Effect.gen(function*() {
        const n = yield* Validation.name(operation, name)
        yield* Inputs.optionsObject(operation, options)
        const version = yield* Validation.version(operation, options.version)
        const format = options.format
        if (format !== undefined && format !== "pkcs12" && format !== "pem") {
          return yield* invalid(operation, "format", `format must be pkcs12 or pem, got ${typeName(format)}`)
        }
        yield* Operation.annotate("keyvault.name", n)
        const certificate = yield* get(n, { version })
        const sid = certificate.secretId === undefined
          ? undefined
          : Option.getOrUndefined(Identifier.parse(certificate.secretId))
        if (
          sid === undefined || sid.collection !== "secrets" || sid.version === undefined ||
          !VERSION_PATTERN.test(sid.version)
        ) {
          return yield* new DecodeError({
            operation,
            message: "the certificate carries no secret identifier (sid) with a version"
          })
        }
        const secretId = certificate.secretId!
        const pem = (value: Redacted.Redacted<string>): CertificateSecret => ({ format: "pem", value, secretId })
        // PKCS#12 is what the vault stores when the policy does not say otherwise.
        const storedAsPem = certificate.contentType === PEM
        if (format === "pem" && certificate.contentType !== undefined && !storedAsPem) {
          return pem(yield* convertToPem(sid.name, sid.version))
        }
        // The secret as it is stored, through the secret cache.
        const secret = yield* secrets.get(sid.name, { version: sid.version })
        const stored = secret.properties.contentType ?? certificate.contentType ?? PKCS12
        if (stored === PEM) {
          if (format === "pkcs12") {
            return yield* invalid(
              operation,
              "format",
              "this certificate's secret is stored as PEM; the vault converts PKCS#12 to PEM, not back: use PEM"
            )
          }
          return pem(secret.value)
        }
        if (format === "pem") return pem(yield* convertToPem(sid.name, sid.version))
        const bytes = yield* Inputs.pkcs12Bytes(operation, secret.value)
        return { format: "pkcs12" as const, value: Redacted.make(bytes), secretId }
      })
    })

    const downloadPkcs12: CertificatesService["downloadPkcs12"] = (name, options = {}) =>
      Effect.map(
        downloadSecret(name, { ...options, format: "pkcs12" }),
        (secret) => secret.value as Redacted.Redacted<Uint8Array>
      )

    const downloadPem: CertificatesService["downloadPem"] = (name, options = {}) =>
      Effect.map(downloadSecret(name, { ...options, format: "pem" }), (secret) => secret.value as Redacted.Redacted<string>)

    // ---------------------------------------------------------------------------------------------------------
    // Soft delete, backup
    // ---------------------------------------------------------------------------------------------------------

    const lifecycle = Operation.collection(client, {
      service: "Certificates",
      segment: "certificates",
      deletedBundle: CertificateWire.DeletedCertificateBundle,
      deletedList: CertificateWire.DeletedCertificateListResult,
      bundle: CertificateWire.CertificateBundle,
      backupResult: CertificateWire.BackupCertificateResult,
      encodeRestore,
      deleted: (wire, name) => deletedFromWire(wire, fallback(name)),
      recovered: (wire, name) => fromWire(wire, fallback(name))
    })

    const listDeleted = Operation.list(client, "Certificates.listDeleted", {
      validate: (options?: ListCertificatesOptions) =>
        Effect.map(
          Validation.flag("Certificates.listDeleted", "includePending", options?.includePending),
          (includePending) => ({ includePending })
        ),
      options: (options?: ListCertificatesOptions) => options,
      path: () => "/deletedcertificates",
      query: ({ includePending }) => includePending === true ? { includePending: "true" } : undefined,
      page: CertificateWire.DeletedCertificateListResult,
      item: (item) => deletedFromWire(item, fallback(""))
    })

    // ---------------------------------------------------------------------------------------------------------
    // Contacts
    // ---------------------------------------------------------------------------------------------------------

    const getContacts = Operation.operation(client, "Certificates.getContacts", {
      validate: Operation.nothing,
      request: () => ({ method: "GET", path: "/certificates/contacts", expected: { notFound: true } }),
      response: CertificateWire.Contacts,
      model: contactsFromWire
    })

    const setContacts = Operation.operation(client, "Certificates.setContacts", {
      validate: (list: ReadonlyArray<ContactInput>) =>
        Effect.map(Inputs.contacts("Certificates.setContacts", list), (body) => ({ body })),
      // The whole list is replaced: a repeat leaves the same list.
      request: ({ body }) => ({ method: "PUT", path: "/certificates/contacts", body, idempotent: true }),
      response: CertificateWire.Contacts,
      model: contactsFromWire
    })

    const deleteContacts = Operation.operation(client, "Certificates.deleteContacts", {
      validate: Operation.nothing,
      request: () => ({ method: "DELETE", path: "/certificates/contacts", expected: { notFound: true } }),
      response: CertificateWire.Contacts,
      model: contactsFromWire
    })

    // ---------------------------------------------------------------------------------------------------------
    // Issuers
    // ---------------------------------------------------------------------------------------------------------

    const toIssuer = (wire: CertificateWire.IssuerBundle, { name }: { readonly name: string }) =>
      issuerFromWire(wire, fallback(name))
    const issuerNamed = (operation: string) => (issuerName: string) =>
      Effect.map(Validation.issuerName(operation, issuerName), (name) => ({ name }))

    const createIssuer = Operation.operation(client, "Certificates.createIssuer", {
      validate: (issuerName: string, provider: string, options: IssuerOptions = {}) =>
        Validation.both(
          Validation.issuerName("Certificates.createIssuer", issuerName),
          Inputs.issuerBody("Certificates.createIssuer", provider, options, true),
          (name, body) => ({ name, body })
        ),
      // The whole issuer is replaced: a repeat leaves the same issuer.
      request: ({ body, name }) => ({ method: "PUT", path: `/certificates/issuers/${name}`, body, idempotent: true }),
      response: CertificateWire.IssuerBundle,
      model: toIssuer
    })

    const updateIssuer = Operation.operation(client, "Certificates.updateIssuer", {
      validate: (issuerName: string, options: UpdateIssuerOptions) =>
        Validation.both(
          Validation.issuerName("Certificates.updateIssuer", issuerName),
          Inputs.issuerBody("Certificates.updateIssuer", options?.provider, options ?? {}, false),
          (name, body) => ({ name, body })
        ),
      request: ({ body, name }) => ({
        method: "PATCH",
        path: `/certificates/issuers/${name}`,
        body,
        expected: { notFound: true }
      }),
      response: CertificateWire.IssuerBundle,
      model: toIssuer
    })

    const getIssuer = Operation.operation(client, "Certificates.getIssuer", {
      validate: issuerNamed("Certificates.getIssuer"),
      request: ({ name }) => ({ method: "GET", path: `/certificates/issuers/${name}`, expected: { notFound: true } }),
      response: CertificateWire.IssuerBundle,
      model: toIssuer
    })

    const deleteIssuer = Operation.operation(client, "Certificates.deleteIssuer", {
      validate: issuerNamed("Certificates.deleteIssuer"),
      request: ({ name }) => ({ method: "DELETE", path: `/certificates/issuers/${name}`, expected: { notFound: true } }),
      response: CertificateWire.IssuerBundle,
      model: toIssuer
    })

    const listIssuers = Operation.list(client, "Certificates.listIssuers", {
      validate: Operation.nothing,
      options: (options?: ListOptions) => options,
      path: () => "/certificates/issuers",
      page: CertificateWire.CertificateIssuerListResult,
      item: (item) => issuerPropertiesFromWire(item, fallback(""))
    })

    return {
      get,
      refresh: cached(cache.refresh),
      invalidate,
      getDetails,
      getPolicy,
      updatePolicy,
      listProperties,
      listVersions,
      beginCreate,
      create,
      waitForOperation,
      getOperation,
      cancelOperation,
      deleteOperation,
      merge,
      importPem,
      importPkcs12,
      updateProperties,
      downloadSecret,
      downloadPkcs12,
      downloadPem,
      ...lifecycle,
      listDeleted,
      getContacts,
      setContacts,
      deleteContacts,
      createIssuer,
      getIssuer,
      updateIssuer,
      deleteIssuer,
      listIssuers
    }
  }
)

/**
 * The certificates layer, on a transport, the cache and the secrets service.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Certificates, never, KeyVaultTransport | VaultCache | Secrets> = Layer.effect(
  Certificates,
  make
)
