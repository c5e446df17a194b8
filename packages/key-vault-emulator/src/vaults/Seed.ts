/**
 * Seeding and export: one JSON format both ways, so a team can export a fixture vault from a running emulator, check
 * it into its repository and seed every test run from it (`--seed-file vaults.json`, `EmulatorOptions.seedDocument`,
 * the admin API).
 *
 * ```text
 * { "vaults": [ { "name": "default" | "<vault>", "settings"?: { VaultSettings },
 *     "secrets"?:      [ { "name", "value", "contentType"?, "tags"?, "enabled"?, "notBefore"?, "expires"? } ],
 *     "keys"?:         [ { "name", "kty"?: "RSA" | "EC" | ..., "keySize"?, "curve"?, "keyOps"?, "jwk"?, "tags"?,
 *                          "enabled"?, "notBefore"?, "expires"?, "exportable"? } ],
 *     "certificates"?: [ { "name", "policy"?, "value"?, "password"?, "tags"?, "enabled"? } ] } ] }
 * ```
 *
 * Dates are ISO 8601 strings. A key is generated from `kty` / `keySize` / `curve` unless `jwk` (a JSON Web Key with
 * its private part, base64url fields) imports one. A certificate is issued by `Self` from `policy` (the service's
 * policy JSON; default a 12-month RSA certificate for `CN=<name>`) unless `value` imports one (a PEM bundle, or a
 * base64 PFX). Objects are created through the vault's own REST handler, so they get exactly the service's checks.
 *
 * Export writes the latest version of every live object; secret values, private keys and certificate bundles only
 * with `includeValues` (without, a seeded key or certificate is generated anew and a secret needs a value).
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { privateJwk } from "../engine/crypto/KeyMaterial.js"
import * as App from "../http/App.js"
import type { EmulatorRequest, EmulatorResponse } from "../http/Protocol.js"
import type { Vault, VaultRegistry, VaultSettings } from "./VaultRegistry.js"

/**
 * A secret entry.
 *
 * @since 0.1.0
 * @category models
 */
export interface SeedSecret {
  readonly name: string
  readonly value?: string | undefined
  readonly contentType?: string | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
  readonly enabled?: boolean | undefined
  readonly notBefore?: string | undefined
  readonly expires?: string | undefined
}

/**
 * A key entry: generated (`kty`, `keySize`, `curve`) or imported (`jwk`).
 *
 * @since 0.1.0
 * @category models
 */
export interface SeedKey {
  readonly name: string
  readonly kty?: string | undefined
  readonly keySize?: number | undefined
  readonly curve?: string | undefined
  readonly keyOps?: ReadonlyArray<string> | undefined
  readonly jwk?: Readonly<Record<string, unknown>> | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
  readonly enabled?: boolean | undefined
  readonly notBefore?: string | undefined
  readonly expires?: string | undefined
  readonly exportable?: boolean | undefined
}

/**
 * A certificate entry: issued by `Self` from `policy`, or imported from `value` (PEM text or base64 PFX).
 *
 * @since 0.1.0
 * @category models
 */
export interface SeedCertificate {
  readonly name: string
  readonly policy?: Readonly<Record<string, unknown>> | undefined
  readonly value?: string | undefined
  readonly password?: string | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
  readonly enabled?: boolean | undefined
}

/**
 * One vault of a seed document.
 *
 * @since 0.1.0
 * @category models
 */
export interface SeedVault {
  readonly name: string
  readonly settings?: VaultSettings | undefined
  readonly secrets?: ReadonlyArray<SeedSecret> | undefined
  readonly keys?: ReadonlyArray<SeedKey> | undefined
  readonly certificates?: ReadonlyArray<SeedCertificate> | undefined
}

/**
 * A seed (or export) document.
 *
 * @since 0.1.0
 * @category models
 */
export interface SeedDocument {
  readonly vaults: ReadonlyArray<SeedVault>
}

/**
 * What seeding created.
 *
 * @since 0.1.0
 * @category models
 */
export interface SeedReport {
  /** Vaults created (an existing vault, the default one among them, is filled, not created). */
  readonly vaultsCreated: ReadonlyArray<string>
  readonly secrets: number
  readonly keys: number
  readonly certificates: number
}

/**
 * A seed document that cannot be applied. `entry` names the entry (`vaults[0].secrets[2]`), `field` the field
 * (`value`), and the message says why, without quoting any value.
 *
 * @since 0.1.0
 * @category errors
 */
export class SeedError extends Data.TaggedError("SeedError")<{
  readonly entry: string
  readonly field: string
  readonly reason: string
}> {
  override get message(): string {
    return `seed ${this.entry}${this.field === "" ? "" : `.${this.field}`}: ${this.reason}`
  }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const seconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000)

type Check = (entry: string, value: Record<string, unknown>) => SeedError | undefined

const checkFields = (
  fields: Readonly<Record<string, "string" | "boolean" | "number" | "date" | "tags" | "object" | "strings">>
): Check =>
(entry, value) => {
  for (const field of Object.keys(value)) {
    if (!(field in fields)) return new SeedError({ entry, field, reason: "unknown field" })
  }
  for (const [field, kind] of Object.entries(fields)) {
    const v = value[field]
    if (v === undefined) continue
    const fail = (reason: string) => new SeedError({ entry, field, reason })
    switch (kind) {
      case "string":
      case "boolean":
      case "number":
        if (typeof v !== kind) return fail(`must be a ${kind}`)
        break
      case "date":
        if (typeof v !== "string" || Number.isNaN(Date.parse(v))) return fail("must be an ISO 8601 date")
        break
      case "tags":
        if (!isRecord(v) || Object.values(v).some((t) => typeof t !== "string")) {
          return fail("must be an object of string values")
        }
        break
      case "object":
        if (!isRecord(v)) return fail("must be an object")
        break
      case "strings":
        if (!Array.isArray(v) || v.some((t) => typeof t !== "string")) return fail("must be a list of strings")
        break
    }
  }
  if (typeof value["name"] !== "string" || value["name"] === "") {
    return new SeedError({ entry, field: "name", reason: "is required (a non-empty string)" })
  }
  return undefined
}

const secretFields = checkFields({
  name: "string",
  value: "string",
  contentType: "string",
  tags: "tags",
  enabled: "boolean",
  notBefore: "date",
  expires: "date"
})
const keyFields = checkFields({
  name: "string",
  kty: "string",
  keySize: "number",
  curve: "string",
  keyOps: "strings",
  jwk: "object",
  tags: "tags",
  enabled: "boolean",
  notBefore: "date",
  expires: "date",
  exportable: "boolean"
})
const certificateFields = checkFields({
  name: "string",
  policy: "object",
  value: "string",
  password: "string",
  tags: "tags",
  enabled: "boolean"
})
const vaultFields = checkFields({
  name: "string",
  settings: "object",
  secrets: "object",
  keys: "object",
  certificates: "object"
})

/** Checks the document's shape; every problem names its entry and field. */
const validate = (document: unknown): SeedError | undefined => {
  if (!isRecord(document)) return new SeedError({ entry: "document", field: "", reason: "must be a JSON object" })
  for (const field of Object.keys(document)) {
    if (field !== "vaults") return new SeedError({ entry: "document", field, reason: "unknown field" })
  }
  const vaults = document["vaults"]
  if (!Array.isArray(vaults)) return new SeedError({ entry: "document", field: "vaults", reason: "must be a list" })
  for (const [i, vault] of vaults.entries()) {
    const entry = `vaults[${i}]`
    if (!isRecord(vault)) return new SeedError({ entry, field: "", reason: "must be an object" })
    const lists = { secrets: secretFields, keys: keyFields, certificates: certificateFields } as const
    const withoutLists = { ...vault }
    for (const list of Object.keys(lists)) {
      if (withoutLists[list] !== undefined) withoutLists[list] = {}
    }
    const problem = vaultFields(entry, withoutLists)
    if (problem !== undefined) return problem
    for (const [list, check] of Object.entries(lists)) {
      const items = vault[list]
      if (items === undefined) continue
      if (!Array.isArray(items)) return new SeedError({ entry, field: list, reason: "must be a list" })
      for (const [j, item] of items.entries()) {
        const itemEntry = `${entry}.${list}[${j}]`
        if (!isRecord(item)) return new SeedError({ entry: itemEntry, field: "", reason: "must be an object" })
        const itemProblem = check(itemEntry, item)
        if (itemProblem !== undefined) return itemProblem
      }
    }
  }
  return undefined
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Calls a vault's REST app directly (no journal, faults or throttle), as an authenticated client would. */
const call = (
  vault: Vault,
  method: string,
  path: string,
  body?: unknown
): Effect.Effect<{ readonly status: number; readonly json: Record<string, unknown> }> => {
  const app = App.make({ engine: vault.engine, tenantId: "seed", resource: "https://vault.azure.net" })
  const request: EmulatorRequest = {
    method,
    url: new URL(`https://${vault.name}.vault.azure.net${path}?api-version=2025-07-01`),
    headers: { authorization: "Bearer seed", "content-type": "application/json" },
    body: body === undefined ? new Uint8Array(0) : encoder.encode(JSON.stringify(body))
  }
  return Effect.map(app(request), (response: EmulatorResponse) => {
    const text = decoder.decode(response.body)
    let json: Record<string, unknown> = {}
    try {
      json = text === "" ? {} : JSON.parse(text)
    } catch {
      json = {}
    }
    return { status: response.status, json }
  })
}

const serviceMessage = (json: Record<string, unknown>): string => {
  const error = json["error"]
  return isRecord(error) && typeof error["message"] === "string" ? error["message"] : "rejected by the vault"
}

const attributesOf = (item: {
  readonly enabled?: boolean | undefined
  readonly notBefore?: string | undefined
  readonly expires?: string | undefined
  readonly exportable?: boolean | undefined
}) => ({
  ...(item.enabled === undefined ? {} : { enabled: item.enabled }),
  ...(item.notBefore === undefined ? {} : { nbf: seconds(item.notBefore) }),
  ...(item.expires === undefined ? {} : { exp: seconds(item.expires) }),
  ...(item.exportable === undefined ? {} : { exportable: item.exportable })
})

const created = (
  entry: string,
  field: string,
  effect: Effect.Effect<{ readonly status: number; readonly json: Record<string, unknown> }>
): Effect.Effect<void, SeedError> =>
  Effect.flatMap(effect, ({ json, status }) =>
    status >= 200 && status < 300
      ? Effect.void
      : Effect.fail(new SeedError({ entry, field, reason: serviceMessage(json) })))

const defaultPolicy = (name: string) => ({
  key_props: { kty: "RSA", key_size: 2048, exportable: true, reuse_key: false },
  secret_props: { contentType: "application/x-pkcs12" },
  x509_props: { subject: `CN=${name}`, validity_months: 12 },
  issuer: { name: "Self" }
})

/**
 * Applies a seed document: creates the vaults that do not exist yet (with their settings) and the objects in them.
 * Stops at the first problem with a `SeedError` naming the entry and field; what was created before it stays.
 *
 * @since 0.1.0
 * @category constructors
 */
export const seed = (registry: VaultRegistry, document: unknown): Effect.Effect<SeedReport, SeedError> =>
  Effect.gen(function*() {
    const problem = validate(document)
    if (problem !== undefined) return yield* Effect.fail(problem)
    const doc = document as SeedDocument
    const vaultsCreated: Array<string> = []
    let secrets = 0
    let keys = 0
    let certificates = 0
    for (const [i, spec] of doc.vaults.entries()) {
      const entry = `vaults[${i}]`
      const existing = yield* Effect.option(registry.get(spec.name))
      const vault = existing._tag === "Some" ? existing.value : yield* Effect.mapError(
        registry.create(spec.name, spec.settings),
        (error) =>
          error._tag === "InvalidVaultSettings"
            ? new SeedError({
              entry,
              field: error.field === "name" ? "name" : `settings.${error.field}`,
              reason: error.reason
            })
            : new SeedError({ entry, field: "name", reason: error.message })
      )
      if (existing._tag === "None") vaultsCreated.push(vault.name)
      for (const [j, secret] of (spec.secrets ?? []).entries()) {
        const itemEntry = `${entry}.secrets[${j}]`
        if (secret.value === undefined) {
          return yield* Effect.fail(new SeedError({ entry: itemEntry, field: "value", reason: "is required" }))
        }
        yield* created(
          itemEntry,
          "",
          call(vault, "PUT", `/secrets/${encodeURIComponent(secret.name)}`, {
            value: secret.value,
            contentType: secret.contentType,
            tags: secret.tags,
            attributes: attributesOf(secret)
          })
        )
        secrets++
      }
      for (const [j, key] of (spec.keys ?? []).entries()) {
        const itemEntry = `${entry}.keys[${j}]`
        const path = `/keys/${encodeURIComponent(key.name)}`
        if (key.jwk !== undefined) {
          yield* created(
            itemEntry,
            "jwk",
            call(vault, "PUT", path, {
              key: { ...key.jwk, ...(key.keyOps === undefined ? {} : { key_ops: key.keyOps }) },
              tags: key.tags,
              attributes: attributesOf(key)
            })
          )
        } else {
          if (key.kty === undefined) {
            return yield* Effect.fail(
              new SeedError({ entry: itemEntry, field: "kty", reason: "is required to generate a key (or give jwk)" })
            )
          }
          yield* created(
            itemEntry,
            "",
            call(vault, "POST", `${path}/create`, {
              kty: key.kty,
              key_size: key.keySize,
              crv: key.curve,
              key_ops: key.keyOps,
              tags: key.tags,
              attributes: attributesOf(key)
            })
          )
        }
        keys++
      }
      for (const [j, certificate] of (spec.certificates ?? []).entries()) {
        const itemEntry = `${entry}.certificates[${j}]`
        const path = `/certificates/${encodeURIComponent(certificate.name)}`
        const attributes = certificate.enabled === undefined ? undefined : { enabled: certificate.enabled }
        if (certificate.value !== undefined) {
          const pem = certificate.value.includes("-----BEGIN")
          const policy = certificate.policy ?? {}
          const secretProps = isRecord(policy["secret_props"]) ? policy["secret_props"] : {}
          yield* created(
            itemEntry,
            "value",
            call(vault, "POST", `${path}/import`, {
              value: certificate.value,
              pwd: certificate.password,
              policy: {
                ...policy,
                secret_props: { ...secretProps, contentType: pem ? "application/x-pem-file" : "application/x-pkcs12" }
              },
              tags: certificate.tags,
              attributes
            })
          )
        } else {
          yield* created(
            itemEntry,
            "policy",
            call(vault, "POST", `${path}/create`, {
              policy: certificate.policy ?? defaultPolicy(certificate.name),
              tags: certificate.tags,
              attributes
            })
          )
        }
        certificates++
      }
      // Completes `Self` issuances that are due now (every engine operation does).
      yield* vault.engine.certificates.list(false)
    }
    return { vaultsCreated, secrets, keys, certificates }
  })

const base64url = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url")

const jwkJson = (jwk: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [field, value] of Object.entries(jwk)) {
    const plain = Redacted.isRedacted(value) ? Redacted.value(value) : value
    if (plain === undefined) continue
    out[field] = plain instanceof Uint8Array ? base64url(plain) : plain
  }
  return out
}

const iso = (date: Date | undefined): string | undefined => date === undefined ? undefined : date.toISOString()

const withoutUndefined = <A extends Record<string, unknown>>(record: A): A =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as A

/**
 * Export options: `includeValues` writes secret values, private keys and certificate bundles; `vaults` limits the
 * export to these vaults (default all).
 *
 * @since 0.1.0
 * @category models
 */
export interface ExportOptions {
  readonly includeValues: boolean
  readonly vaults?: ReadonlyArray<string> | undefined
}

/**
 * The latest version of every live object of the vaults, as a seed document.
 *
 * @since 0.1.0
 * @category constructors
 */
export const exportState = (registry: VaultRegistry, options: ExportOptions): Effect.Effect<SeedDocument> =>
  Effect.gen(function*() {
    const wanted = options.vaults?.map((name) => name.toLowerCase())
    const all = yield* registry.list
    const out: Array<SeedVault> = []
    for (const vault of all) {
      if (wanted !== undefined && !wanted.includes(vault.name)) continue
      const secrets: Array<SeedSecret> = []
      for (const { name, secret } of yield* vault.engine.secrets.list) {
        if (secret.managed) continue
        secrets.push(withoutUndefined({
          name,
          value: options.includeValues ? Redacted.value(secret.value) : undefined,
          contentType: secret.contentType,
          tags: secret.tags,
          enabled: secret.enabled ? undefined : false,
          notBefore: iso(secret.notBefore),
          expires: iso(secret.expires)
        }))
      }
      const keys: Array<SeedKey> = []
      for (const { key, name } of yield* vault.engine.keys.list) {
        if (key.managed) continue
        const material = key.material
        const jwk = options.includeValues ? jwkJson(privateJwk(material) as Readonly<Record<string, unknown>>) : undefined
        keys.push(withoutUndefined({
          name,
          kty: jwk === undefined ? key.kty : undefined,
          keySize: jwk === undefined && material._tag === "RSA" ? material.n.byteLength * 8 : undefined,
          curve: jwk === undefined && material._tag === "EC" ? material.curve : undefined,
          keyOps: [...key.keyOps],
          jwk,
          tags: key.tags,
          enabled: key.enabled ? undefined : false,
          notBefore: iso(key.notBefore),
          expires: iso(key.expires),
          exportable: key.exportable ? true : undefined
        }))
      }
      const certificates: Array<SeedCertificate> = []
      for (const { name, certificate } of yield* vault.engine.certificates.list(false)) {
        const policy = yield* call(vault, "GET", `/certificates/${encodeURIComponent(name)}/policy`)
        const policyJson = policy.status === 200 ? stripPolicy(policy.json) : undefined
        let value: string | undefined
        if (options.includeValues) {
          const secret = yield* Effect.either(vault.engine.secrets.get(name))
          if (secret._tag === "Right") value = Redacted.value(secret.right.secret.value)
        }
        certificates.push(withoutUndefined({
          name,
          policy: policyJson,
          value,
          tags: certificate.tags,
          enabled: certificate.enabled ? undefined : false
        }))
      }
      out.push(withoutUndefined({
        name: vault.name,
        settings: Object.keys(vault.settings).length === 0 || vault.isDefault ? undefined : vault.settings,
        secrets: secrets.length === 0 ? undefined : secrets,
        keys: keys.length === 0 ? undefined : keys,
        certificates: certificates.length === 0 ? undefined : certificates
      }))
    }
    return { vaults: out }
  })

// The policy as a create body takes it: no id, no timestamps.
const stripPolicy = (json: Record<string, unknown>): Record<string, unknown> => {
  const { attributes: _attributes, id: _id, ...rest } = json
  return rest
}
