/**
 * The compact entry and its decoding: the hot ring keeps the decoded value of the last N entries hit, and only those.
 */
import { describe, expect, it } from "@effect/vitest"
import type { EntryCodec } from "../src/cache/VaultCache.js"
import { decode, Entry, HotRing, identity, Table } from "../src/cache/internal/Entry.js"

const table = new Table("v.vault.azure.net", "secret")

/** A codec that counts its decodes, and refuses a stored `"tampered"`. */
const counting = () => {
  let decodes = 0
  const codec: EntryCodec<{ readonly value: string }> = {
    encode: (value) => value.value,
    decode: (stored) => {
      decodes++
      return stored === "tampered" ? undefined : { value: stored as string }
    }
  }
  return { codec, decodes: () => decodes }
}

describe("cache entries", () => {
  it("builds keys as {vault_host}:{object_type}:{name}:{version|latest}", () => {
    expect(table.key("db", undefined)).toBe("v.vault.azure.net:secret:db:latest")
    expect(table.key("db", "abc")).toBe("v.vault.azure.net:secret:db:abc")
    expect(table.nameKey("db")).toBe("v.vault.azure.net:secret:db:")
  })

  it("keeps the decoded value of the last hotEntries entries only", () => {
    const { codec, decodes } = counting()
    const hot = new HotRing(2)
    const entries = ["a", "b", "c"].map((n) => new Entry(table, n, undefined, n, 1_000))
    const [a, b, c] = entries as [Entry, Entry, Entry]
    const first = decode(a, codec, undefined, hot)
    expect(decode(a, codec, undefined, hot)).toBe(first) // one object handed out while hot
    expect(decodes()).toBe(1)
    decode(b, codec, undefined, hot)
    decode(c, codec, undefined, hot) // pushes a out of the ring
    expect(a.decoded).toBeUndefined()
    expect(b.decoded).toEqual({ value: "b" })
    expect(decode(a, codec, undefined, hot)).toEqual({ value: "a" })
    expect(decodes()).toBe(4)
  })

  it("keeps nothing decoded with a ring of 0 (encryption at rest) or with the identity codec", () => {
    const { codec, decodes } = counting()
    const entry = new Entry(table, "a", undefined, "a", 1_000)
    decode(entry, codec, undefined, new HotRing(0))
    decode(entry, codec, undefined, new HotRing(0))
    expect(decodes()).toBe(2)
    expect(entry.decoded).toBeUndefined()
    const plain = new Entry(table, "p", undefined, "stored", 1_000)
    expect(decode(plain, identity, undefined, new HotRing(4))).toBe("stored")
    expect(plain.decoded).toBeUndefined()
  })

  it("answers undefined for an entry the codec cannot open, and keeps nothing of it", () => {
    const { codec } = counting()
    const entry = new Entry(table, "a", undefined, "tampered", 1_000)
    expect(decode(entry, codec, undefined, new HotRing(4))).toBeUndefined()
    expect(entry.decoded).toBeUndefined()
  })
})
