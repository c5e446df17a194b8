/**
 * A refused name says which character is not allowed and where; a value is never echoed.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Validation from "../src/validation/Validation.js"
import * as Rules from "../src/wire/Rules.js"

const message = (effect: Effect.Effect<unknown, { readonly message: string }>) => Effect.runSync(Effect.flip(effect)).message

describe("name validation messages", () => {
  it("name the character that is not allowed, its position, and the allowed set", () => {
    expect(message(Validation.name("Secrets.get", "db_password"))).toBe(
      'secret name has "_" at position 3; names may contain only 0-9, a-z, A-Z and -'
    )
    expect(message(Validation.name("Keys.get", "my.key"))).toContain('key name has "." at position 3')
    expect(message(Validation.name("Cryptography.encrypt", "a/b"))).toContain('key name has "/" at position 2')
  })

  it("show unprintable and invisible characters as code points", () => {
    expect(message(Validation.name("Secrets.get", "ab\u0000c"))).toContain("secret name has U+0000 at position 3")
    expect(message(Validation.name("Secrets.get", "a b"))).toContain("has U+0020 at position 2")
    expect(message(Validation.name("Secrets.get", "ab\u200Bc"))).toContain("has U+200B at position 3")
    expect(message(Validation.name("Secrets.get", "ab\u202Ec"))).toContain("has U+202E at position 3")
    expect(message(Validation.name("Secrets.get", "x\tx"))).toContain("has U+0009 at position 2")
    // Visible non-ASCII: the character and its code point (a Cyrillic "а" looks like a Latin "a").
    expect(message(Validation.name("Secrets.get", "p\u0430ss"))).toContain('has "\u0430" (U+0430) at position 2')
    // Positions count code points: an emoji before the offending character counts once.
    expect(message(Validation.name("Secrets.get", "\u{1F600}"))).toContain('has "\u{1F600}" (U+1F600) at position 1')
  })

  it("describe empty, long and non-string names", () => {
    expect(message(Validation.name("Secrets.get", ""))).toContain("secret name is empty")
    expect(message(Validation.name("Secrets.get", "x".repeat(128)))).toBe("secret name is 128 characters; names are at most 127")
    expect(message(Validation.name("Secrets.get", 42))).toBe("secret name must be a string, got number")
  })

  it("never echo more of a value passed as the name than the offending character", () => {
    const text = message(Validation.name("Secrets.set", "SWAPPED-SECRET-VALUE hunter2"))
    expect(text).toContain("U+0020 at position 21")
    expect(text).not.toContain("SWAPPED")
    expect(text).not.toContain("hunter2")
  })

  it("show the offending character of a version too", () => {
    expect(message(Validation.version("Secrets.get", "0123456789ABCDEF0123456789abcdef"))).toContain('"A" at position 11 not allowed')
  })

  it("the shared rule answers the same for the emulator", () => {
    expect(Rules.checkName("ok-name")).toBeUndefined()
    expect(Rules.checkName("no_pe", "secret name")).toBe('secret name has "_" at position 3; names may contain only 0-9, a-z, A-Z and -')
    expect(Rules.describeCharacter("\u007F")).toBe("U+007F")
    expect(Rules.describeCharacter("\uD800")).toBe("U+D800")
  })
})
