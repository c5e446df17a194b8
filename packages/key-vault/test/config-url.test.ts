/**
 * The vault URL: origin only, no credentials (and none echoed), http: only to literal loopback hosts, and hints that
 * name both the option and its environment variable.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Challenge from "../src/auth/Challenge.js"
import * as KeyVaultConfig from "../src/config/KeyVaultConfig.js"

const refusal = (options: KeyVaultConfig.KeyVaultOptions): string =>
  Either.match(KeyVaultConfig.resolve(options), {
    onLeft: (message) => message,
    onRight: () => {
      throw new Error(`accepted ${options.vaultUrl}`)
    }
  })

const fromEnv = (env: Record<string, string>) =>
  Effect.flip(Effect.provide(
    KeyVaultConfig.KeyVaultConfig,
    KeyVaultConfig.layerConfig().pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))))
  ))

describe("vault URL: the origin only", () => {
  it("refuses a path instead of cutting it off, and says what it got", () => {
    const message = refusal({ vaultUrl: "https://myvault.vault.azure.net/x" })
    expect(message).toContain("vaultUrl must be the vault's origin, e.g. https://myvault.vault.azure.net")
    expect(message).toContain('got a path "/x"')
    expect(refusal({ vaultUrl: "https://myvault.vault.azure.net/secrets/db/" })).toContain('"/secrets/db/"')
  })

  it("refuses a query or a fragment, even an empty one, without quoting the query", () => {
    expect(refusal({ vaultUrl: "https://myvault.vault.azure.net?sig=SAS-SIGNATURE" })).toContain("got a query string")
    expect(refusal({ vaultUrl: "https://myvault.vault.azure.net?sig=SAS-SIGNATURE" })).not.toContain("SAS-SIGNATURE")
    expect(refusal({ vaultUrl: "https://myvault.vault.azure.net/?" })).toContain("query")
    expect(refusal({ vaultUrl: "https://myvault.vault.azure.net#top" })).toContain("got a fragment")
    expect(refusal({ vaultUrl: "https://myvault.vault.azure.net/#" })).toContain("fragment")
  })

  it("accepts the origin with or without a trailing slash", () => {
    for (const vaultUrl of ["https://myvault.vault.azure.net", "https://myvault.vault.azure.net/", "https://localhost:8443/"]) {
      expect(Either.isRight(KeyVaultConfig.resolve({ vaultUrl }))).toBe(true)
    }
  })
})

describe("vault URL: credentials are refused and never echoed", () => {
  const password = "hunter2-P4SSW0RD"

  it("refuses user:password@ and quotes the URL without it", () => {
    const message = refusal({ vaultUrl: `https://admin:${password}@myvault.vault.azure.net` })
    expect(message).toContain("must not carry credentials")
    expect(message).toContain("https://myvault.vault.azure.net")
    expect(message).not.toContain(password)
    expect(message).not.toContain("admin")
  })

  it("strips userinfo from a URL that does not parse, or is refused for another reason", () => {
    for (
      const vaultUrl of [
        `https://admin:${password}@my vault.vault.azure.net`,
        `https://admin:${password}@[not-an-ip]`,
        `admin:${password}@myvault.vault.azure.net`,
        `ftp://admin:${password}@myvault.vault.azure.net`,
        `http://admin:${password}@myvault.vault.azure.net`,
        `https://admin:${password}@myvault.vault.azure.net/path`
      ]
    ) {
      const message = refusal({ vaultUrl })
      expect(message, vaultUrl).not.toContain(password)
      expect(message, vaultUrl).not.toContain("admin")
    }
    expect(refusal({ vaultUrl: `https://admin:${password}@my vault.vault.azure.net` })).toContain(
      '"https://my vault.vault.azure.net"'
    )
  })

  it.effect("a ConfigError from AZURE_KEYVAULT_URL carries no credentials either", () =>
    Effect.gen(function*() {
      for (const url of [`https://u:${password}@bad host`, `https://u:${password}@v.vault.azure.net`]) {
        const error = String(yield* fromEnv({ AZURE_KEYVAULT_URL: url }))
        expect(error).toContain("AZURE_KEYVAULT_URL")
        expect(error).not.toContain(password)
      }
    }))

  it("withoutUserinfo cuts everything up to the last @", () => {
    expect(KeyVaultConfig.withoutUserinfo("https://a:b@c@host/x")).toBe("https://host/x")
    expect(KeyVaultConfig.withoutUserinfo("a:b@host")).toBe("host")
    expect(KeyVaultConfig.withoutUserinfo("not-a-url")).toBe("not-a-url")
  })
})

describe("allowInsecureHttp: literal loopback hosts only", () => {
  it("allows localhost, 127.0.0.0/8 and [::1]", () => {
    for (const vaultUrl of ["http://localhost:8080", "http://127.0.0.1:8080", "http://127.255.1.9", "http://[::1]:8080"]) {
      expect(Either.isRight(KeyVaultConfig.resolve({ vaultUrl, allowInsecureHttp: true })), vaultUrl).toBe(true)
    }
  })

  it("refuses *.localhost names and every other host, saying why", () => {
    for (
      const vaultUrl of [
        "http://myvault.vault.localhost:8080",
        "http://localhost.:8080",
        "http://localhost.evil.example",
        "http://128.0.0.1",
        "http://10.0.0.1",
        "http://[::2]",
        "http://myvault.vault.azure.net"
      ]
    ) {
      const message = refusal({ vaultUrl, allowInsecureHttp: true })
      expect(message, vaultUrl).toContain("literal loopback hosts (localhost, 127.0.0.0/8, [::1])")
      expect(message, vaultUrl).toContain("clear text")
    }
    expect(refusal({ vaultUrl: "http://myvault.vault.localhost:8080", allowInsecureHttp: true })).toContain(
      "not myvault.vault.localhost"
    )
  })

  it("https to a *.localhost name stays fine (TLS protects the token)", () => {
    expect(Either.isRight(KeyVaultConfig.resolve({ vaultUrl: "https://myvault.vault.localhost:8443" }))).toBe(true)
  })
})

describe("hints name the option and the environment variable", () => {
  it("http: without allowInsecureHttp names AZURE_KEYVAULT_ALLOW_INSECURE_HTTP=true", () => {
    const message = refusal({ vaultUrl: "http://localhost:8080" })
    expect(message).toContain("allowInsecureHttp: true")
    expect(message).toContain("AZURE_KEYVAULT_ALLOW_INSECURE_HTTP=true")
    expect(refusal({ vaultUrl: "http://10.0.0.1", allowInsecureHttp: true })).toContain("AZURE_KEYVAULT_ALLOW_INSECURE_HTTP")
  })

  it("the localhost challenge hint names AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION=true", () => {
    const challenge = Option.getOrThrow(Challenge.parse(
      'Bearer authorization="https://login.microsoftonline.com/t", resource="https://vault.azure.net"'
    ))
    const message = Either.match(Challenge.verifyResource("https://localhost:8443", challenge), {
      onLeft: (m) => m,
      onRight: () => "verified"
    })
    expect(message).toContain("disableChallengeResourceVerification")
    expect(message).toContain("AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION=true")
    expect(KeyVaultConfig.ENV.disableChallengeResourceVerification).toBe("AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION")
  })

  it.effect("the variables those hints name are the ones layerConfig reads", () =>
    Effect.gen(function*() {
      const config = yield* Effect.provide(
        KeyVaultConfig.KeyVaultConfig,
        KeyVaultConfig.layerConfig().pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([
          ["AZURE_KEYVAULT_URL", "http://localhost:8080"],
          ["AZURE_KEYVAULT_ALLOW_INSECURE_HTTP", "true"],
          ["AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION", "true"]
        ])))))
      )
      expect(config).toMatchObject({ vaultUrl: "http://localhost:8080", disableChallengeResourceVerification: true })
    }))
})
