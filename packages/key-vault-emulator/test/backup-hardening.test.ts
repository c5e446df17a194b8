/**
 * A restore blob is untrusted input: one that passes the envelope but carries impossible data must be refused with
 * a 400 and leave the vault exactly as it was.
 */
import {
  MAX_CONTENT_TYPE_LENGTH,
  MAX_SECRET_VALUE_BYTES,
  MAX_TAG_NAME_LENGTH,
  MAX_TAG_VALUE_LENGTH,
  MAX_TAGS
} from "@effect-azure/key-vault/wire/Rules"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Emulator from "../src/Emulator.js"
import type { EmulatorRequest } from "../src/http/Protocol.js"

const VAULT = "https://myvault.vault.azure.net"

const request = (method: string, path: string, body?: unknown): EmulatorRequest => ({
  method,
  url: new URL(`${VAULT}${path}${path.includes("?") ? "&" : "?"}api-version=2025-07-01`),
  headers: { authorization: "Bearer t", "content-type": "application/json" },
  body: body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body))
})

const blobOf = (payload: unknown): string =>
  Buffer.concat([
    Buffer.from(")EffectAzureKeyVaultEmulatorBackupV1."),
    Buffer.from(JSON.stringify({ format: 1, kind: "secret", payload }))
  ]).toString("base64url")

describe("restore of a crafted blob", () => {
  it.effect("refuses out-of-range timestamps with 400 and leaves every list working", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const poisoned = blobOf({
        name: "poison",
        versions: [{ version: "0".repeat(32), value: "v", enabled: true, created: 1e15, updated: 1e15 }]
      })
      const restored = yield* emulator.handler(request("POST", "/secrets/restore", { value: poisoned }))
      expect(restored.status).toBe(400)
      expect(JSON.parse(new TextDecoder().decode(restored.body)).error.code).toBe("BadParameter")
      for (const path of ["/secrets", "/deletedsecrets", "/secrets/poison/"]) {
        const response = yield* emulator.handler(request("GET", path))
        expect(response.status).not.toBe(500)
      }
      expect((yield* emulator.handler(request("GET", "/secrets/poison/"))).status).toBe(404)
    }))
})

const MAGIC = ")EffectAzureKeyVaultEmulatorBackupV1."
const SECRET = "S3cr3t-VALUE-that-must-never-leak"
const VERSION_A = "a".repeat(32)
const VERSION_B = "b".repeat(32)

const blobOfKind = (kind: "secret" | "key", payload: unknown): string =>
  Buffer.concat([Buffer.from(MAGIC), Buffer.from(JSON.stringify({ format: 1, kind, payload }))]).toString("base64url")

const payloadOf = (blob: string): { name: string; versions: Array<Record<string, unknown>> } => {
  const bytes = Buffer.from(blob, "base64url")
  return JSON.parse(bytes.subarray(MAGIC.length).toString("utf8")).payload
}

const textOf = (body: Uint8Array): string => new TextDecoder().decode(body)

const tagsOf = (count: number, name = (i: number) => `t${i}`, value = "v"): Record<string, string> =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [name(i), value]))

/** Everything a client can see of the vault, for before/after comparisons (request ids differ, bodies do not). */
const snapshot = (emulator: Emulator.Emulator) =>
  Effect.gen(function*() {
    const seen: Array<string> = []
    for (const path of ["/secrets", "/deletedsecrets", "/keys", "/deletedkeys"]) {
      const response = yield* emulator.handler(request("GET", path))
      seen.push(`${path} ${response.status} ${textOf(response.body)}`)
    }
    return seen
  })

const expectRefusedUnchanged = (
  emulator: Emulator.Emulator,
  path: "/secrets/restore" | "/keys/restore",
  blob: string,
  label: string,
  name: string
) =>
  Effect.gen(function*() {
    const before = yield* snapshot(emulator)
    const restored = yield* emulator.handler(request("POST", path, { value: blob }))
    const text = textOf(restored.body)
    expect(restored.status, label).toBe(400)
    expect(JSON.parse(text).error.code, label).toBe("BadParameter")
    expect(text, label).not.toContain(SECRET)
    expect(yield* snapshot(emulator), label).toEqual(before)
    const kind = path === "/secrets/restore" ? "secrets" : "keys"
    if (/^[0-9a-zA-Z-]{1,127}$/.test(name)) {
      expect((yield* emulator.handler(request("GET", `/${kind}/${name}/`))).status, label).toBe(404)
    }
    return JSON.parse(text).error.message as string
  })

const secretVersion = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  version: VERSION_A,
  value: SECRET,
  enabled: true,
  created: 1_700_000_000,
  updated: 1_700_000_000,
  ...fields
})

describe("restore applies the limits of set to what a blob holds", () => {
  it.effect("refuses each violation with 400 BadParameter and stores nothing", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      // Something in the vault, so "unchanged" is not trivially an empty vault.
      expect((yield* emulator.handler(request("PUT", "/secrets/existing", { value: "x", tags: { a: "b" } }))).status)
        .toBe(200)
      const cases: ReadonlyArray<readonly [string, unknown, RegExp]> = [
        ["value over 25 KB", { name: "big", versions: [secretVersion({ value: "x".repeat(MAX_SECRET_VALUE_BYTES + 1) })] }, /25600/],
        // Under the limit in characters, over it in UTF-8 bytes: the limit is the same byte count as set's.
        ["value over 25 KB of UTF-8", { name: "utf8", versions: [secretVersion({ value: "\u00e9".repeat(12_801) })] }, /bytes/],
        ["contentType too long", { name: "ct", versions: [secretVersion({ contentType: "c".repeat(MAX_CONTENT_TYPE_LENGTH + 1) })] }, /contentType/],
        ["too many tags", { name: "tags", versions: [secretVersion({ tags: tagsOf(MAX_TAGS + 1) })] }, /tags; at most/],
        ["tag name too long", { name: "tagname", versions: [secretVersion({ tags: { ["n".repeat(MAX_TAG_NAME_LENGTH + 1)]: "v" } })] }, /tag name/],
        ["empty tag name", { name: "tagempty", versions: [secretVersion({ tags: { "": "v" } })] }, /tag name/],
        ["tag value too long", { name: "tagvalue", versions: [secretVersion({ tags: { t: "v".repeat(MAX_TAG_VALUE_LENGTH + 1) } })] }, /tag value/],
        ["nbf not before exp", { name: "window", versions: [secretVersion({ nbf: 1_800_000_000, exp: 1_800_000_000 })] }, /expiresOn/],
        // All or nothing: a good version does not carry a bad one in.
        [
          "second version over the limit",
          { name: "mixed", versions: [secretVersion(), secretVersion({ version: VERSION_B, value: "x".repeat(MAX_SECRET_VALUE_BYTES + 1) })] },
          /25600/
        ],
        ["name with an underscore", { name: "bad_name", versions: [secretVersion()] }, /malformed/],
        ["name of 128 characters", { name: "n".repeat(128), versions: [secretVersion()] }, /malformed/],
        ["empty name", { name: "", versions: [secretVersion()] }, /malformed/]
      ]
      for (const [label, payload, message] of cases) {
        const name = (payload as { name: string }).name
        expect(yield* expectRefusedUnchanged(emulator, "/secrets/restore", blobOfKind("secret", payload), label, name), label)
          .toMatch(message)
      }
    }))

  it.effect("accepts a blob exactly at every limit, as set does", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const atLimits = secretVersion({
        value: "x".repeat(MAX_SECRET_VALUE_BYTES),
        contentType: "c".repeat(MAX_CONTENT_TYPE_LENGTH),
        tags: {
          ...tagsOf(MAX_TAGS - 1),
          ["n".repeat(MAX_TAG_NAME_LENGTH)]: "v".repeat(MAX_TAG_VALUE_LENGTH)
        },
        nbf: 1_700_000_000,
        exp: 1_700_000_001
      })
      const name = "n".repeat(127)
      const restored = yield* emulator.handler(
        request("POST", "/secrets/restore", { value: blobOfKind("secret", { name, versions: [atLimits] }) })
      )
      expect(restored.status).toBe(200)
      // And a set with the same content is accepted too: one rule set.
      const set = yield* emulator.handler(request("PUT", "/secrets/same", {
        value: atLimits["value"],
        contentType: atLimits["contentType"],
        tags: atLimits["tags"],
        attributes: { nbf: 1_700_000_000, exp: 1_700_000_001 }
      }))
      expect(set.status).toBe(200)
    }))

  it.effect("still restores what backup produced", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* emulator.handler(request("PUT", "/secrets/round", { value: SECRET, contentType: "text/plain", tags: tagsOf(MAX_TAGS) }))
      const backup = JSON.parse(textOf((yield* emulator.handler(request("POST", "/secrets/round/backup"))).body)).value
      yield* emulator.handler(request("DELETE", "/secrets/round"))
      yield* emulator.handler(request("DELETE", "/deletedsecrets/round"))
      const restored = yield* emulator.handler(request("POST", "/secrets/restore", { value: backup }))
      expect(restored.status).toBe(200)
      const read = JSON.parse(textOf((yield* emulator.handler(request("GET", "/secrets/round/"))).body))
      expect(read.value).toBe(SECRET)
      expect(Object.keys(read.tags)).toHaveLength(MAX_TAGS)
    }))
})

describe("restore applies the checks of import to what a key blob holds", () => {
  /** A real key's blob payload, to be altered one field at a time and restored under a fresh name. */
  const keyPayload = (emulator: Emulator.Emulator) =>
    Effect.gen(function*() {
      expect((yield* emulator.handler(request("POST", "/keys/source/create", { kty: "EC", crv: "P-256" }))).status)
        .toBe(200)
      const backup = yield* emulator.handler(request("POST", "/keys/source/backup"))
      return payloadOf(JSON.parse(textOf(backup.body)).value)
    })

  const altered = (
    payload: { name: string; versions: Array<Record<string, unknown>> },
    name: string,
    fields: Record<string, unknown>
  ) => ({ ...payload, name, versions: payload.versions.map((v) => ({ ...v, ...fields })) })

  it.effect("refuses each violation with 400 BadParameter and stores nothing", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const payload = yield* keyPayload(emulator)
      const cases: ReadonlyArray<readonly [string, string, Record<string, unknown>, RegExp]> = [
        ["too many tags", "k-tags", { tags: tagsOf(MAX_TAGS + 1) }, /tags; at most/],
        ["tag name too long", "k-tagname", { tags: { ["n".repeat(MAX_TAG_NAME_LENGTH + 1)]: "v" } }, /tag name/],
        ["tag value too long", "k-tagvalue", { tags: { t: "v".repeat(MAX_TAG_VALUE_LENGTH + 1) } }, /tag value/],
        ["nbf not before exp", "k-window", { nbf: 1_800_000_001, exp: 1_800_000_000 }, /expiresOn/],
        ["exportable without a release policy", "k-export", { exportable: true }, /release policy/],
        ["an unknown key operation", "k-ops", { key_ops: ["sign", "launch"] }, /malformed/],
        ["a non-boolean attribute", "k-enabled", { enabled: "yes" }, /malformed/],
        ["a key type that does not match the material", "k-kty", { kty: "RSA" }, /malformed/]
      ]
      for (const [label, name, fields, message] of cases) {
        const blob = blobOfKind("key", altered(payload, name, fields))
        expect(yield* expectRefusedUnchanged(emulator, "/keys/restore", blob, label, name), label).toMatch(message)
      }
      for (const name of ["bad_name", "n".repeat(128)]) {
        const blob = blobOfKind("key", altered(payload, name, {}))
        expect(yield* expectRefusedUnchanged(emulator, "/keys/restore", blob, name, name)).toMatch(/malformed/)
      }
    }))

  it.effect("normalises key operations as import does, and restores an untouched blob", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const payload = yield* keyPayload(emulator)
      const duplicated = yield* emulator.handler(request("POST", "/keys/restore", {
        value: blobOfKind("key", altered(payload, "k-dup", { key_ops: ["sign", "verify", "sign"] }))
      }))
      expect(duplicated.status).toBe(200)
      expect(JSON.parse(textOf(duplicated.body)).key.key_ops).toEqual(["sign", "verify"])
      const same = yield* emulator.handler(request("POST", "/keys/restore", {
        value: blobOfKind("key", altered(payload, "k-copy", {}))
      }))
      expect(same.status).toBe(200)
    }))
})
