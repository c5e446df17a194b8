/**
 * The emulator's backup blob envelope, shared by every object type: a fixed magic prefix, then UTF-8 JSON
 * `{"format":1,"kind":"secret","payload":...}`. It is self-contained (it carries every version with its value and
 * attributes) so a blob restores into any emulator instance, including a fresh one.
 *
 * The blob is not encrypted: the emulator holds test data, and a readable blob helps debugging. It is still opaque to
 * clients, which only move it around as base64url.
 *
 * @since 0.1.0
 */
import { exceedsJsonDepth } from "@effect-azure/key-vault/wire/Common"
import * as Either from "effect/Either"
import { BadParameter } from "./VaultError.js"

const MAGIC = ")EffectAzureKeyVaultEmulatorBackupV1."
const magicBytes = new TextEncoder().encode(MAGIC)

/**
 * The envelope format written by this version of the emulator.
 *
 * @since 0.1.0
 * @category constants
 */
export const FORMAT = 1

/**
 * The object types a blob can hold.
 *
 * @since 0.1.0
 * @category models
 */
export type BackupKind = "secret" | "key" | "certificate"

const malformed = (kind: BackupKind): BadParameter =>
  new BadParameter({ message: `The ${kind} backup blob is malformed or was not produced by this emulator.` })

/**
 * Wraps a JSON-serialisable payload into a blob.
 *
 * @since 0.1.0
 * @category utils
 */
export const encode = (kind: BackupKind, payload: unknown): Uint8Array => {
  const json = new TextEncoder().encode(JSON.stringify({ format: FORMAT, kind, payload }))
  const blob = new Uint8Array(magicBytes.length + json.length)
  blob.set(magicBytes, 0)
  blob.set(json, magicBytes.length)
  return blob
}

/**
 * Unwraps a blob of the expected kind; the payload still needs validating by the caller. Any problem is one
 * `BadParameter` whose message says nothing about the content (a blob carries secret values).
 *
 * @since 0.1.0
 * @category parsing
 */
export const decode = (kind: BackupKind, blob: Uint8Array): Either.Either<unknown, BadParameter> => {
  if (blob.length < magicBytes.length || magicBytes.some((byte, i) => blob[i] !== byte)) {
    return Either.left(malformed(kind))
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(blob.subarray(magicBytes.length)))
  } catch {
    return Either.left(malformed(kind))
  }
  // A blob is untrusted: bounded nesting keeps the payload's schema decoding clear of the stack limit.
  if (
    exceedsJsonDepth(parsed) ||
    typeof parsed !== "object" || parsed === null || !("format" in parsed) || parsed.format !== FORMAT ||
    !("kind" in parsed) || parsed.kind !== kind || !("payload" in parsed)
  ) {
    return Either.left(malformed(kind))
  }
  return Either.right(parsed.payload)
}
