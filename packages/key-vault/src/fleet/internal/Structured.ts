/**
 * The shared tier's serialisation of cached values: JSON with tagged nodes for what JSON lacks (`Date`, bytes,
 * `Redacted`, `undefined`), so secrets, keys and certificates round-trip to equal values with one codec. Every
 * object or array is a tagged array node, so no user data (a tag named `$date`, say) can be mistaken for a tag.
 *
 * The JSON is only ever sealed (`Envelope`) before it leaves the process.
 *
 * @internal
 */
import * as Redacted from "effect/Redacted"

type Node = string | number | boolean | null | ReadonlyArray<unknown>

/** A value as JSON text; `undefined` when it holds something this codec does not carry (a function, a class with behaviour). @internal */
export const encode = (value: unknown): string | undefined => {
  const node = (v: unknown, depth: number): Node => {
    if (depth > 64) throw unsupported
    if (v === null || typeof v === "string" || typeof v === "boolean") return v
    if (typeof v === "number") return Number.isFinite(v) ? v : ["n", String(v)]
    if (v === undefined) return ["u"]
    if (typeof v !== "object") throw unsupported
    if (v instanceof Date) return ["d", v.getTime()]
    if (v instanceof Uint8Array) return ["b", Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64")]
    if (Redacted.isRedacted(v)) return ["r", node(Redacted.value(v), depth + 1)]
    if (Array.isArray(v)) return ["a", v.map((x) => node(x, depth + 1))]
    const proto = Object.getPrototypeOf(v)
    if (proto !== Object.prototype && proto !== null) throw unsupported
    const out: Record<string, Node> = {}
    for (const key of Object.keys(v)) own(out, key, node((v as Record<string, unknown>)[key], depth + 1))
    return ["o", out]
  }
  try {
    return JSON.stringify(node(value, 0))
  } catch (error) {
    if (error === unsupported) return undefined
    throw error
  }
}

const unsupported = new Error("unsupported")

// An own property, whatever its name: assigning `__proto__` would replace the object's prototype instead (a tag of
// that name would be lost, and a forged value could give a decoded object inherited fields).
const own = (target: Record<string, unknown>, key: string, value: unknown): void => {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

/** The value back from `encode`'s text; `undefined` for text that is not such a value. @internal */
export const decode = (text: string): { readonly value: unknown } | undefined => {
  const value = (n: unknown): unknown => {
    if (n === null || typeof n === "string" || typeof n === "boolean" || typeof n === "number") return n
    if (!Array.isArray(n)) throw unsupported
    switch (n[0]) {
      case "u":
        return undefined
      case "n":
        return Number(n[1])
      case "d":
        if (typeof n[1] !== "number") throw unsupported
        return new Date(n[1])
      case "b":
        if (typeof n[1] !== "string") throw unsupported
        return new Uint8Array(Buffer.from(n[1], "base64"))
      case "r":
        return Redacted.make(value(n[1]))
      case "a":
        if (!Array.isArray(n[1])) throw unsupported
        return n[1].map(value)
      case "o": {
        const o = n[1]
        if (typeof o !== "object" || o === null || Array.isArray(o)) throw unsupported
        const out: Record<string, unknown> = {}
        for (const key of Object.keys(o)) own(out, key, value((o as Record<string, unknown>)[key]))
        return out
      }
      default:
        throw unsupported
    }
  }
  try {
    return { value: value(JSON.parse(text)) }
  } catch {
    return undefined
  }
}
