import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Validation from "../src/validation/Validation.js"

const fails = <A>(effect: Effect.Effect<A, unknown>) => Exit.isFailure(Effect.runSyncExit(effect))
const message = <A>(effect: Effect.Effect<A, { readonly message: string }>) =>
  Effect.runSync(Effect.flip(effect)).message

describe("Validation", () => {
  it("accepts names of 1..127 letters, digits and dashes only", () => {
    expect(fails(Validation.name("op", "a"))).toBe(false)
    expect(fails(Validation.name("op", "My-Secret-01"))).toBe(false)
    expect(fails(Validation.name("op", "x".repeat(127)))).toBe(false)
    for (const bad of ["", "x".repeat(128), "under_score", "dot.name", "sp ace", "slash/x", "ünï", 42, undefined]) {
      expect(fails(Validation.name("op", bad))).toBe(true)
    }
  })

  it("accepts versions of 32 lowercase hex characters", () => {
    expect(fails(Validation.version("op", undefined))).toBe(false)
    expect(fails(Validation.version("op", "0123456789abcdef0123456789abcdef"))).toBe(false)
    expect(fails(Validation.version("op", "0123456789ABCDEF0123456789ABCDEF"))).toBe(true)
    expect(fails(Validation.version("op", "../keys"))).toBe(true)
  })

  it("limits values to 25 KB of UTF-8 and never quotes the value", () => {
    expect(fails(Validation.secretValue("op", ""))).toBe(false)
    expect(fails(Validation.secretValue("op", "a".repeat(25 * 1024)))).toBe(false)
    expect(fails(Validation.secretValue("op", "a".repeat(25 * 1024 + 1)))).toBe(true)
    // 'é' is two bytes: 12,801 of them are 25,602 bytes although only 12,801 UTF-16 units.
    const wide = "é".repeat(12_801)
    expect(fails(Validation.secretValue("op", wide))).toBe(true)
    const text = message(Validation.secretValue("op", `TOP-SECRET-${"z".repeat(30_000)}`))
    expect(text).not.toContain("TOP-SECRET")
    expect(text).toContain("30011 bytes")
  })

  it("limits content types to 255 characters", () => {
    expect(fails(Validation.contentType("op", "c".repeat(255)))).toBe(false)
    expect(fails(Validation.contentType("op", "c".repeat(256)))).toBe(true)
    expect(fails(Validation.contentType("op", 12))).toBe(true)
  })

  it("checks tag count, name and value lengths, and value types", () => {
    const tags = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, "v"]))
    expect(fails(Validation.tags("op", tags(15)))).toBe(false)
    expect(fails(Validation.tags("op", tags(16)))).toBe(true)
    expect(fails(Validation.tags("op", { "": "v" }))).toBe(true)
    expect(fails(Validation.tags("op", { ["k".repeat(513)]: "v" }))).toBe(true)
    expect(fails(Validation.tags("op", { k: "v".repeat(257) }))).toBe(true)
    expect(fails(Validation.tags("op", { k: 1 }))).toBe(true)
    expect(fails(Validation.tags("op", ["a"]))).toBe(true)
  })

  it("checks dates and the order of notBefore and expiresOn", () => {
    const jan = new Date("2030-01-01T00:00:00Z")
    const feb = new Date("2030-02-01T00:00:00Z")
    expect(fails(Validation.validity("op", jan, feb))).toBe(false)
    expect(fails(Validation.validity("op", feb, jan))).toBe(true)
    expect(fails(Validation.validity("op", jan, jan))).toBe(true)
    expect(fails(Validation.validity("op", new Date(Number.NaN), undefined))).toBe(true)
    expect(fails(Validation.validity("op", undefined, new Date("1960-01-01")))).toBe(true)
    expect(fails(Validation.validity("op", undefined, "2030-01-01"))).toBe(true)
  })

  it("checks page sizes", () => {
    expect(fails(Validation.pageSize("op", 1))).toBe(false)
    expect(fails(Validation.pageSize("op", 25))).toBe(false)
    for (const bad of [0, 26, 2.5, "5"]) expect(fails(Validation.pageSize("op", bad))).toBe(true)
  })
})
