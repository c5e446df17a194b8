/**
 * Wire tests: the real client stack (validation, transport, challenge, decoding) against the emulator's engine
 * through the in-process HttpClient Layer. No socket; TestClock drives the emulator's time.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as KeyVault from "../src/KeyVault.js"
import type { CacheOptions } from "../src/cache/CacheConfig.js"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { Secrets } from "../src/secrets/Secrets.js"
import { type RecordedSpan, recordingTracer } from "./tracing-support.js"

const VAULT = "https://myvault.vault.azure.net"

/** The client over a fresh in-process emulator, counting the requests that reach it. */
const makeVault = (cache: CacheOptions = {}) => {
  const counter = { requests: 0 }
  const counted = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) => HttpClient.tapRequest(client, () => Effect.sync(() => counter.requests++)))
  ).pipe(Layer.provide(Emulator.layerFresh()))
  const layer = KeyVault.layer({ vaultUrl: VAULT, cache }).pipe(
    Layer.provide(Layer.merge(counted, TokenProvider.layerStatic()))
  )
  return { counter, layer }
}

const collect = <A, E>(stream: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

describe("Secrets over the in-process emulator", () => {
  it.effect("stores, reads, versions and updates secrets", () => {
    const { layer } = makeVault()
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      const v1 = yield* secrets.set("db-password", "first", { contentType: "text/plain", tags: { env: "test" } })
      expect(v1.name).toBe("db-password")
      expect(v1.properties.version).toMatch(/^[0-9a-f]{32}$/)
      expect(v1.properties.id).toBe(`${VAULT}/secrets/db-password/${v1.properties.version}`)
      expect(v1.properties).toMatchObject({ contentType: "text/plain", tags: { env: "test" }, enabled: true, managed: false })
      const v2 = yield* secrets.set("db-password", Redacted.make("second"))
      expect(v2.properties.version).not.toBe(v1.properties.version)

      expect(Redacted.value((yield* secrets.get("db-password")).value)).toBe("second")
      expect(Redacted.value((yield* secrets.get("db-password", { version: v1.properties.version! })).value)).toBe("first")

      const versions = yield* collect(secrets.listVersions("db-password"))
      expect(versions.map((p) => p.version).sort()).toEqual([v1.properties.version, v2.properties.version].sort())

      const updated = yield* secrets.updateProperties("db-password", {
        version: v1.properties.version,
        enabled: false,
        tags: { env: "old" }
      })
      expect(updated).toMatchObject({ enabled: false, tags: { env: "old" }, version: v1.properties.version })
      const disabled = yield* Effect.flip(secrets.get("db-password", { version: v1.properties.version! }))
      expect(disabled._tag).toBe("ForbiddenError")
      expect(disabled._tag === "ForbiddenError" && disabled.isDisabled).toBe(true)
    }).pipe(Effect.provide(layer))
  })

  it.effect("round-trips empty, unicode and maximum-size values exactly", () => {
    const { layer } = makeVault()
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      for (const value of ["", "päßwörd 🔑 \u0000 \"quotes\" \\ / \n", "x".repeat(25 * 1024)]) {
        yield* secrets.set("roundtrip", value)
        expect(Redacted.value((yield* secrets.get("roundtrip")).value)).toBe(value)
      }
    }).pipe(Effect.provide(layer))
  })

  it.effect("lists secrets page by page without values", () => {
    const { layer } = makeVault()
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      for (const name of ["a", "b", "c", "d", "e"]) yield* secrets.set(name, `value-${name}`)
      const listed = yield* collect(secrets.listProperties({ maxPageSize: 2 }))
      expect(listed.map((p) => p.name).sort()).toEqual(["a", "b", "c", "d", "e"])
      expect(listed.every((p) => p.version === undefined && p.id === `${VAULT}/secrets/${p.name}`)).toBe(true)
      expect(JSON.stringify(listed)).not.toContain("value-")
    }).pipe(Effect.provide(layer))
  })

  it.effect("deletes, recovers, refuses to reuse a deleted name, and purges", () => {
    const { layer } = makeVault()
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* secrets.set("api-key", "k1")
      const deleted = yield* secrets.delete("api-key")
      expect(deleted.recoveryId).toBe(`${VAULT}/deletedsecrets/api-key`)
      expect(deleted.deletedOn).toBeInstanceOf(Date)
      expect(deleted.scheduledPurgeDate!.getTime()).toBeGreaterThan(deleted.deletedOn!.getTime())
      expect((yield* Effect.flip(secrets.get("api-key")))._tag).toBe("NotFoundError")
      expect((yield* secrets.getDeleted("api-key")).name).toBe("api-key")
      expect((yield* collect(secrets.listDeleted())).map((d) => d.name)).toEqual(["api-key"])

      const conflict = yield* Effect.flip(secrets.set("api-key", "k2"))
      expect(conflict._tag === "ConflictError" && conflict.isDeletedButRecoverable).toBe(true)

      const recovered = yield* secrets.recover("api-key")
      expect(recovered.name).toBe("api-key")
      expect(Redacted.value((yield* secrets.get("api-key")).value)).toBe("k1")

      yield* secrets.delete("api-key")
      yield* secrets.purge("api-key")
      expect((yield* Effect.flip(secrets.getDeleted("api-key")))._tag).toBe("NotFoundError")
      expect((yield* Effect.flip(secrets.purge("api-key")))._tag).toBe("NotFoundError")
      yield* secrets.set("api-key", "fresh")
    }).pipe(Effect.provide(layer))
  })

  it.effect("backs up a secret with all versions and restores it", () => {
    const { layer } = makeVault()
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      const first = yield* secrets.set("cert-pass", "one")
      yield* secrets.set("cert-pass", "two")
      const blob = yield* secrets.backup("cert-pass")
      expect(blob.length).toBeGreaterThan(0)
      expect((yield* Effect.flip(secrets.restore(blob)))._tag).toBe("ConflictError")
      yield* secrets.delete("cert-pass")
      yield* secrets.purge("cert-pass")
      const restored = yield* secrets.restore(blob)
      expect(restored.name).toBe("cert-pass")
      expect(Redacted.value((yield* secrets.get("cert-pass")).value)).toBe("two")
      expect(Redacted.value((yield* secrets.get("cert-pass", { version: first.properties.version! })).value)).toBe("one")
      expect((yield* collect(secrets.listVersions("cert-pass")))).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("follows the emulator's clock for notBefore and expiresOn", () => {
    const { layer } = makeVault()
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* TestClock.setTime(Date.parse("2030-01-01T00:00:00Z"))
      yield* secrets.set("rotating", "v", {
        notBefore: new Date("2030-01-01T01:00:00Z"),
        expiresOn: new Date("2030-01-01T02:00:00Z")
      })
      const early = yield* Effect.flip(secrets.get("rotating"))
      expect(early._tag === "ForbiddenError" && early.innerCode).toBe("SecretNotYetValid")
      yield* TestClock.adjust("90 minutes")
      expect(Redacted.value((yield* secrets.get("rotating")).value)).toBe("v")
      yield* TestClock.adjust("1 hour")
      const late = yield* Effect.flip(secrets.get("rotating"))
      expect(late._tag === "ForbiddenError" && late.innerCode).toBe("SecretExpired")
    }).pipe(Effect.provide(layer))
  })

  it.effect("rejects bad input with a typed error before any request", () => {
    const { counter, layer } = makeVault()
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      const attempts: ReadonlyArray<Effect.Effect<unknown, { readonly _tag: string }>> = [
        secrets.set("bad_name", "v"),
        secrets.set("ok", "x".repeat(25 * 1024 + 1)),
        secrets.set("ok", "v", { contentType: "c".repeat(256) }),
        secrets.set("ok", "v", { tags: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, "v"])) }),
        secrets.set("ok", "v", { notBefore: new Date("2031-01-01"), expiresOn: new Date("2030-01-01") }),
        secrets.get("ok", { version: "not-a-version" }),
        secrets.updateProperties("", {}),
        secrets.restore(new Uint8Array()),
        Effect.asVoid(Stream.runDrain(secrets.listProperties({ maxPageSize: 26 })))
      ]
      for (const attempt of attempts) {
        const error = yield* Effect.flip(attempt)
        expect(error._tag).toBe("ValidationError")
      }
      expect(counter.requests).toBe(0)
    }).pipe(Effect.provide(layer))
  })

  it.effect("keeps secret values out of printed results and errors", () => {
    const { layer } = makeVault()
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      const secret = yield* secrets.set("shown", "PLAINTEXT-VALUE")
      expect(String(secret.value)).toBe("<redacted>")
      expect(JSON.stringify(secret)).not.toContain("PLAINTEXT-VALUE")
      const tooBig = yield* Effect.flip(secrets.set("shown", `PLAINTEXT-VALUE${"x".repeat(30_000)}`))
      expect(JSON.stringify(tooBig)).not.toContain("PLAINTEXT-VALUE")
    }).pipe(Effect.provide(layer))
  })
})

type Recorded = RecordedSpan

describe("telemetry", () => {
  it.effect("keeps a value passed by mistake as the name out of spans and errors", () => {
    const { layer } = makeVault()
    const spans: Array<Recorded> = []
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      const error = yield* Effect.flip(secrets.set("p@ssw0rd SWAPPED-SECRET-VALUE", "db-password"))
      expect(error._tag).toBe("ValidationError")
      expect(error.message).not.toContain("SWAPPED")
      expect(error.message).toContain("position 2")
      const span = spans.find((s) => s.name === "Secrets.set")!
      expect(span.attributes.has("keyvault.name")).toBe(false)
      expect(JSON.stringify([...span.attributes])).not.toContain("SWAPPED")
    }).pipe(Effect.provide(layer), Effect.withTracer(recordingTracer(spans)))
  })

  it.effect("opens one client span per public operation, with vault, object and name but never the value", () => {
    const { layer } = makeVault()
    const spans: Array<Recorded> = []
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* secrets.set("traced", "SPAN-SECRET-VALUE")
      yield* secrets.get("traced")
      yield* Stream.runDrain(secrets.listProperties())
      const ours = spans.filter((s) => s.name.startsWith("Secrets."))
      expect(ours.map((s) => s.name)).toEqual(["Secrets.set", "Secrets.get", "Secrets.listProperties"])
      expect(ours.every((s) => s.ended)).toBe(true)
      expect(Object.fromEntries(ours[0]!.attributes)).toMatchObject({
        "keyvault.vault_host": "myvault.vault.azure.net",
        "keyvault.object_type": "secret",
        "keyvault.operation": "set",
        "keyvault.name": "traced"
      })
      // Neither our spans nor the HTTP client's carry the value or the bearer token.
      const everything = JSON.stringify(spans.map((s) => [...s.attributes]))
      expect(everything).not.toContain("SPAN-SECRET-VALUE")
      expect(everything).not.toContain("emulator-token")
    }).pipe(Effect.provide(layer), Effect.withTracer(recordingTracer(spans)))
  })
})

describe("Secrets with the cache", () => {
  it.effect("serves repeated reads from the cache and sees every change made through the client", () => {
    const { counter, layer } = makeVault()
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* secrets.set("cached", "v1")
      const before = counter.requests
      for (let i = 0; i < 10; i++) expect(Redacted.value((yield* secrets.get("cached")).value)).toBe("v1")
      expect(counter.requests - before).toBe(1)
      yield* secrets.set("cached", "v2")
      expect(Redacted.value((yield* secrets.get("cached")).value)).toBe("v2")
      yield* secrets.updateProperties("cached", { enabled: false })
      expect((yield* Effect.flip(secrets.get("cached")))._tag).toBe("ForbiddenError")
      yield* secrets.updateProperties("cached", { enabled: true })
      yield* secrets.delete("cached")
      expect((yield* Effect.flip(secrets.get("cached")))._tag).toBe("NotFoundError")
      yield* secrets.recover("cached")
      expect(Redacted.value((yield* secrets.get("cached")).value)).toBe("v2")
    }).pipe(Effect.provide(layer))
  })

  it.effect("forgets a remembered not-found when the client creates the name", () => {
    const { counter, layer } = makeVault()
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      expect((yield* Effect.flip(secrets.get("later")))._tag).toBe("NotFoundError")
      const before = counter.requests
      expect((yield* Effect.flip(secrets.get("later")))._tag).toBe("NotFoundError")
      expect(counter.requests).toBe(before)
      yield* secrets.set("later", "now")
      expect(Redacted.value((yield* secrets.get("later")).value)).toBe("now")
    }).pipe(Effect.provide(layer))
  })

  it.effect("turns 1,000 concurrent cold reads of 10 names into 10 vault requests", () => {
    const { counter, layer } = makeVault()
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      for (let i = 0; i < 10; i++) yield* secrets.set(`cold-${i}`, `value-${i}`)
      yield* Effect.forEach(Array.from({ length: 10 }, (_, i) => `cold-${i}`), (n) => secrets.invalidate(n))
      const before = counter.requests
      const values = yield* Effect.all(
        Array.from({ length: 1000 }, (_, i) => Effect.map(secrets.get(`cold-${i % 10}`), (s) => Redacted.value(s.value))),
        { concurrency: "unbounded" }
      )
      expect(values.every((v, i) => v === `value-${i % 10}`)).toBe(true)
      expect(counter.requests - before).toBe(10)
    }).pipe(Effect.provide(layer))
  })

  it.effect("refreshes on request and invalidates on request", () => {
    const { counter, layer } = makeVault()
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* secrets.set("manual", "v")
      yield* secrets.get("manual")
      const before = counter.requests
      yield* secrets.refresh("manual")
      yield* secrets.get("manual")
      expect(counter.requests - before).toBe(1)
      yield* secrets.invalidate("manual")
      yield* secrets.get("manual")
      expect(counter.requests - before).toBe(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("answers a hit with the same secret the vault gave, however compactly it is kept", () => {
    const { layer } = makeVault({ hotEntries: 1 })
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* TestClock.setTime(Date.parse("2030-01-01T00:00:00Z"))
      yield* secrets.set("plain", "p")
      yield* secrets.set("Fancy-Name", "f", {
        contentType: "application/json",
        tags: { team: "payments" },
        notBefore: new Date("2029-01-01T00:00:00Z"),
        expiresOn: new Date("2031-01-01T00:00:00Z")
      })
      for (const name of ["plain", "Fancy-Name"]) {
        yield* secrets.invalidate(name)
        const miss = yield* secrets.get(name)
        // With one hot slot, alternating reads exercise both the rebuilt and the kept decoded form.
        for (const other of ["plain", "Fancy-Name", name]) yield* secrets.get(other)
        const hit = yield* secrets.get(name)
        expect(hit.properties).toEqual(miss.properties)
        expect(Redacted.value(hit.value)).toBe(Redacted.value(miss.value))
      }
      expect((yield* secrets.get("Fancy-Name")).name).toBe("Fancy-Name")
    }).pipe(Effect.provide(layer))
  })

  it.effect("keeps values sealed at rest and still answers them", () => {
    const { counter, layer } = makeVault({ encryptAtRest: true })
    return Effect.gen(function*() {
      const secrets = yield* Secrets
      yield* secrets.set("sealed", "päßwörd")
      const before = counter.requests
      expect(Redacted.value((yield* secrets.get("sealed")).value)).toBe("päßwörd")
      expect(Redacted.value((yield* secrets.get("sealed")).value)).toBe("päßwörd")
      expect(counter.requests - before).toBe(1)
    }).pipe(Effect.provide(layer))
  })
})
