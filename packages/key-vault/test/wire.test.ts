import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { Base64UrlBytes, UnixSeconds } from "../src/wire/Common.js"
import * as Identifier from "../src/wire/Identifier.js"
import * as SecretWire from "../src/wire/SecretWire.js"
import { decode } from "../src/transport/Transport.js"

describe("wire schemas", () => {
  it("encodes dates as whole Unix seconds and decodes them back", () => {
    const date = new Date("2030-05-06T07:08:09.999Z")
    expect(Schema.encodeSync(UnixSeconds)(date)).toBe(Math.floor(date.getTime() / 1000))
    expect(Schema.decodeSync(UnixSeconds)(1_900_000_000).toISOString()).toBe("2030-03-17T17:46:40.000Z")
  })

  it("refuses timestamps no vault can produce instead of making an Invalid Date", () => {
    for (const bad of [1e15, -1, 1e300, Number.NaN]) expect(() => Schema.decodeSync(UnixSeconds)(bad)).toThrow()
    expect(Schema.decodeSync(UnixSeconds)(253402300799).getUTCFullYear()).toBe(9999)
  })

  it("speaks base64url without padding and tolerates padded input", () => {
    const bytes = new Uint8Array([251, 255, 0, 1])
    expect(Schema.encodeSync(Base64UrlBytes)(bytes)).toBe("-_8AAQ")
    expect(Schema.decodeSync(Base64UrlBytes)("-_8AAQ==")).toEqual(bytes)
    expect(() => Schema.decodeSync(Base64UrlBytes)("+/8AAQ")).toThrow()
  })

  it("decodes a secret bundle from the spec's example into Redacted value and Dates", () => {
    const bundle = Schema.decodeUnknownSync(SecretWire.SecretBundle)({
      value: "mysecretvalue",
      id: "https://myvault.vault.azure.net/secrets/mysecretname/4387e9f3d6e14c459867679a90fd0f79",
      attributes: { enabled: true, created: 1493938410, updated: 1493938410, recoveryLevel: "Recoverable+Purgeable" },
      unknownFutureField: 1
    })
    expect(Redacted.isRedacted(bundle.value)).toBe(true)
    expect(String(bundle.value)).not.toContain("mysecretvalue")
    expect(Redacted.value(bundle.value!)).toBe("mysecretvalue")
    expect(bundle.attributes?.created?.getTime()).toBe(1493938410 * 1000)
  })

  it("reports a malformed secret response by path only, never by value", async () => {
    const error = await Effect.runPromise(Effect.flip(
      decode("Secrets.get", SecretWire.SecretBundle)({
        status: 200,
        headers: {},
        text: JSON.stringify({ value: "SUPER-SECRET", attributes: { created: "SUPER-SECRET-2" }, tags: { a: 1 } })
      })
    ))
    expect(error._tag).toBe("DecodeError")
    expect(error.message).toContain("attributes.created")
    expect(error.message).not.toContain("SUPER-SECRET")
    const notJson = await Effect.runPromise(Effect.flip(decode("x", SecretWire.SecretBundle)({ status: 200, headers: {}, text: "{SUPER-SECRET" })))
    expect(notJson.message).not.toContain("SUPER-SECRET")
  })
})

describe("Identifier", () => {
  it("parses versioned, version-less, deleted and ported identifiers", () => {
    expect(Option.getOrThrow(Identifier.parse("https://v.vault.azure.net/secrets/name/0123456789abcdef0123456789abcdef")))
      .toMatchObject({ vaultUrl: "https://v.vault.azure.net", collection: "secrets", name: "name", version: "0123456789abcdef0123456789abcdef" })
    expect(Option.getOrThrow(Identifier.parse("https://v.vault.azure.net/secrets/name")).version).toBeUndefined()
    expect(Option.getOrThrow(Identifier.parse("https://v.vault.azure.net/secrets/name/")).version).toBeUndefined()
    expect(Option.getOrThrow(Identifier.parse("https://localhost:8443/deletedsecrets/n")))
      .toMatchObject({ vaultUrl: "https://localhost:8443", collection: "deletedsecrets", name: "n" })
  })

  it("rejects what is not an identifier", () => {
    for (const bad of ["not a url", "ftp://v/secrets/n", "https://v/unknown/n", "https://v/secrets", "https://v/secrets/a/b/c", "https://v/secrets/bad_name"]) {
      expect(Option.isNone(Identifier.parse(bad))).toBe(true)
    }
  })

  it("reads the service's usual spelling without URL exactly as URL reads it, whatever the spelling", () => {
    // The reading `parse` had before its fast path, through `URL` alone: the oracle.
    const viaUrl = (id: string) => {
      let url: URL
      try {
        url = new URL(id)
      } catch {
        return undefined
      }
      if (url.protocol !== "https:" && url.protocol !== "http:") return undefined
      const segments = url.pathname.split("/").filter((s, i, all) => s.length > 0 || i < all.length - 1).slice(1)
      const [collection, name, version, ...rest] = segments
      if (collection === undefined || name === undefined || rest.length > 0) return undefined
      const lower = collection.toLowerCase()
      const known = ["secrets", "keys", "certificates", "deletedsecrets", "deletedkeys", "deletedcertificates"]
      if (!known.includes(lower) || !/^[0-9a-zA-Z-]{1,127}$/.test(name)) return undefined
      return { sourceId: id, vaultUrl: url.origin, collection: lower, name, version: version === undefined || version === "" ? undefined : version }
    }
    // Every combination of these spellings (about 100,000 identifiers).
    const schemes = ["https", "http", "HTTPS", "ftp"]
    const hosts = ["v.vault.azure.net", "V.Vault.Azure.Net", "localhost", "127.0.0.1", "0x7f.1", "a-b.c", "xn--bcher-kva.example", "xn--", "xn--zz.example", "1.2.3", "my_vault.net"]
    const ports = ["", ":443", ":80", ":8443", ":0443", ":99999", ":0", ":65535"]
    const collections = ["secrets", "Secrets", "keys", "deletedcertificates", "unknown", ""]
    const names = ["name", "a-Z9", "bad_name", "with.dot", "pct%41", ""]
    const tails = ["", "/", "/0123abcDEF", "/a/b", "/v%41", "/v-1", "?x=1", "#f"]
    let compared = 0
    for (const scheme of schemes) {
      for (const host of hosts) {
        for (const port of ports) {
          for (const collection of collections) {
            for (const name of names) {
              for (const tail of tails) {
                const candidate = `${scheme}://${host}${port}/${collection}/${name}${tail}`
                const expected = viaUrl(candidate)
                const actual = Option.getOrUndefined(Identifier.parse(candidate))
                if (JSON.stringify(actual) !== JSON.stringify(expected)) expect({ candidate, actual }).toEqual({ candidate, actual: expected })
                compared++
              }
            }
          }
        }
      }
    }
    expect(compared).toBe(4 * 11 * 8 * 6 * 6 * 8)
  })

  it("formats the inverse of parse", () => {
    expect(Identifier.format("https://v.vault.azure.net/", "secrets", "n", "abc")).toBe("https://v.vault.azure.net/secrets/n/abc")
  })
})
