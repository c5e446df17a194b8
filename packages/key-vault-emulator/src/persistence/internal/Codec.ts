/**
 * A JSON encoding of the engine's state values: plain objects and arrays, plus the few non-JSON values versions hold
 * (dates, bytes, `Redacted`, node `KeyObject`s, RegExps in fault rules, maps). Anything else is a programming error
 * and throws, so a new kind of value in the engine is caught by the persistence tests rather than lost.
 *
 * @internal
 */
import * as Redacted from "effect/Redacted"
import * as NodeCrypto from "node:crypto"

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")

/** @internal */
export const encode = (value: unknown): Json => {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value
  if (typeof value === "number") return Number.isFinite(value) ? value : { $n: String(value) }
  if (value === undefined) return { $u: 1 }
  if (Array.isArray(value)) return value.map(encode)
  if (value instanceof Date) return { $d: value.getTime() }
  if (value instanceof Uint8Array) return { $b: base64(value) }
  if (value instanceof RegExp) return { $re: [value.source, value.flags] }
  if (value instanceof NodeCrypto.KeyObject) {
    return value.type === "private"
      ? { $kpriv: base64(value.export({ format: "der", type: "pkcs8" })) }
      : value.type === "public"
      ? { $kpub: base64(value.export({ format: "der", type: "spki" })) }
      : { $ksec: base64(value.export()) }
  }
  if (Redacted.isRedacted(value)) return { $r: encode(Redacted.value(value)) }
  if (value instanceof Map) return { $m: [...value.entries()].map(([k, v]) => [encode(k), encode(v)]) }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, Json> = {}
    for (const [key, field] of Object.entries(value)) {
      // An absent optional field and an undefined one read the same; skipping keeps the state small.
      if (field !== undefined) out[key] = encode(field)
    }
    const keys = Object.keys(out)
    return keys.length === 1 && keys[0]!.startsWith("$") ? { $o: out } : out
  }
  throw new Error(`state codec: cannot encode a value of type ${typeof value} (${Object.prototype.toString.call(value)})`)
}

const bytes = (text: unknown): Uint8Array => {
  if (typeof text !== "string") throw new Error("state codec: bytes must be base64 text")
  return new Uint8Array(Buffer.from(text, "base64"))
}

/** @internal */
export const decode = (json: unknown): unknown => {
  if (json === null || typeof json !== "object") return json
  if (Array.isArray(json)) return json.map(decode)
  const record = json as Record<string, unknown>
  const keys = Object.keys(record)
  if (keys.length === 1 && keys[0]!.startsWith("$")) {
    const tag = keys[0]!
    const inner = record[tag]
    switch (tag) {
      case "$u":
        return undefined
      case "$n":
        return Number(inner)
      case "$d":
        return new Date(inner as number)
      case "$b":
        return bytes(inner)
      case "$re": {
        const [source, flags] = inner as [string, string]
        return new RegExp(source, flags)
      }
      case "$kpriv":
        return NodeCrypto.createPrivateKey({ key: Buffer.from(bytes(inner)), format: "der", type: "pkcs8" })
      case "$kpub":
        return NodeCrypto.createPublicKey({ key: Buffer.from(bytes(inner)), format: "der", type: "spki" })
      case "$ksec":
        return NodeCrypto.createSecretKey(bytes(inner))
      case "$r":
        return Redacted.make(decode(inner))
      case "$m":
        return new Map((inner as ReadonlyArray<[unknown, unknown]>).map(([k, v]) => [decode(k), decode(v)]))
      case "$o":
        return decodeFields(inner as Record<string, unknown>)
      default:
        throw new Error(`state codec: unknown tag ${tag}`)
    }
  }
  return decodeFields(record)
}

const decodeFields = (record: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(record)) out[key] = decode(field)
  return out
}
