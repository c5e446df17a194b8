/**
 * The fleet tier's sealing and serialisation, without Redis: AAD binding, key rotation, tampering, and values that
 * round-trip (secrets with `Redacted`, `Date`s, bytes, `undefined` fields).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import * as NodeCrypto from "node:crypto"
import * as Envelope from "../src/fleet/internal/Envelope.js"
import * as Structured from "../src/fleet/internal/Structured.js"

const slot = () => Envelope.slot(NodeCrypto.randomBytes(32).toString("base64"))!

describe("fleet envelope", () => {
  it("opens only under the same AAD and a key of the ring; rotation reads the previous key", () => {
    const old = slot()
    const current = slot()
    const sealed = Envelope.seal({ current: old, previous: undefined }, "h\u0000secret\u0000a\u0000latest", Buffer.from("v"))
    expect(Envelope.open({ current: old, previous: undefined }, "h\u0000secret\u0000a\u0000latest", sealed)?.toString()).toBe("v")
    expect(Envelope.open({ current: old, previous: undefined }, "h\u0000secret\u0000b\u0000latest", sealed)).toBeUndefined()
    expect(Envelope.open({ current, previous: old }, "h\u0000secret\u0000a\u0000latest", sealed)?.toString()).toBe("v")
    expect(Envelope.open({ current, previous: undefined }, "h\u0000secret\u0000a\u0000latest", sealed)).toBe("unknown-key")
    const flipped = Buffer.from(sealed)
    flipped[20] = flipped[20]! ^ 1
    expect(Envelope.open({ current: old, previous: undefined }, "h\u0000secret\u0000a\u0000latest", flipped)).toBeUndefined()
  })

  it("refuses keys that are not 32 bytes of base64; hashes names per key", () => {
    expect(Envelope.slot("c2hvcnQ=")).toBeUndefined()
    expect(Envelope.slot("not base64 at all!")).toBeUndefined()
    const a = slot()
    const b = slot()
    expect(Envelope.hashName(a, "h", "secret", "db")).toBe(Envelope.hashName(a, "h", "secret", "db"))
    expect(Envelope.hashName(a, "h", "secret", "db")).not.toBe(Envelope.hashName(b, "h", "secret", "db"))
    expect(Envelope.hashName(a, "h", "secret", "db")).toMatch(/^[A-Za-z0-9_-]{27}$/)
  })

  it("round-trips models with Redacted, Dates, bytes, undefined fields and tag-like user data", () => {
    const secret = {
      name: "db",
      value: Redacted.make("p@ss"),
      properties: {
        createdOn: new Date(1_700_000_000_000),
        expiresOn: undefined,
        tags: { $d: "x", o: "y" },
        thumbprint: new Uint8Array([1, 2, 255]),
        ops: ["sign", "verify"],
        n: -0.5
      }
    }
    const text = Structured.encode(secret)!
    const back = Structured.decode(text)!.value as typeof secret
    expect(Redacted.value(back.value)).toBe("p@ss")
    expect(back.properties.createdOn).toEqual(secret.properties.createdOn)
    expect("expiresOn" in back.properties && back.properties.expiresOn === undefined).toBe(true)
    expect(back.properties.tags).toEqual({ $d: "x", o: "y" })
    expect([...back.properties.thumbprint]).toEqual([1, 2, 255])
    expect(back.properties.ops).toEqual(["sign", "verify"])
    expect(Structured.encode({ f: () => 1 })).toBeUndefined()
    expect(Structured.decode("{\"not\":\"a node\"}")).toBeUndefined()
  })

  it("keeps a `__proto__` key as data: a tag of that name round-trips, a forged one gives no inherited fields", () => {
    const tags = JSON.parse("{\"__proto__\":\"x\",\"constructor\":\"y\"}") as Record<string, string>
    const back = Structured.decode(Structured.encode({ tags })!)!.value as { tags: Record<string, string> }
    expect(Object.getPrototypeOf(back.tags)).toBe(Object.prototype)
    expect(Object.keys(back.tags)).toEqual(["__proto__", "constructor"])
    expect(Object.getOwnPropertyDescriptor(back.tags, "__proto__")?.value).toBe("x")

    const forged = Structured.decode("[\"o\",{\"__proto__\":[\"o\",{\"polluted\":true}]}]")!.value as Record<string, unknown>
    expect(Object.getPrototypeOf(forged)).toBe(Object.prototype)
    expect(forged["polluted"]).toBeUndefined()
    expect(Object.keys(forged)).toEqual(["__proto__"])
  })
})
