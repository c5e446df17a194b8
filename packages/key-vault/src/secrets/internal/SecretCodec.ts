/**
 * How the cache keeps a secret: compact, with the value sealed when encryption at rest is on. Not public.
 *
 * @since 0.1.0
 * @internal
 */
import * as Redacted from "effect/Redacted"
import type * as AtRestCipher from "../../cache/AtRestCipher.js"
import type { EntryCodec } from "../../cache/VaultCache.js"
import type { Secret } from "../Secret.js"

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

/**
 * The cache codec of secrets for one vault.
 *
 * @since 0.1.0
 * @internal
 */
export const makeSecretCodec = (vaultUrl: string): EntryCodec<Secret> => ({
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

