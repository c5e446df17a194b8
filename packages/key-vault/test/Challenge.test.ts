import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Challenge from "../src/auth/Challenge.js"

const header =
  "Bearer authorization=\"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47\", resource=\"https://vault.azure.net\""

describe("Challenge", () => {
  it("parses tenant and scope from the Key Vault challenge", () => {
    const challenge = Option.getOrThrow(Challenge.parse(header))
    expect(challenge.tenantId).toBe("72f988bf-86f1-41af-91ab-2d7cd011db47")
    expect(challenge.scope).toBe("https://vault.azure.net/.default")
    expect(challenge.claims).toBeUndefined()
  })

  it("prefers an explicit scope and accepts authorization_uri", () => {
    const challenge = Option.getOrThrow(
      Challenge.parse("Bearer authorization_uri=\"https://login.example/tenant-a/\", scope=\"https://vault.azure.net/.default\"")
    )
    expect(challenge.tenantId).toBe("tenant-a")
    expect(challenge.scope).toBe("https://vault.azure.net/.default")
  })

  it("decodes the claims of a continuous access evaluation challenge, which names no resource", () => {
    const claims = "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1600000000\"}}}"
    const cae = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="${
      Buffer.from(claims).toString("base64")
    }"`
    expect(Challenge.claimsOf(cae)).toEqual(Option.some(claims))
    expect(Challenge.claimsOf(header)).toEqual(Option.none())
    expect(Challenge.claimsOf(undefined)).toEqual(Option.none())
  })

  it("rejects headers that are not Bearer challenges", () => {
    expect(Option.isNone(Challenge.parse(undefined))).toBe(true)
    expect(Option.isNone(Challenge.parse("Basic realm=\"x\""))).toBe(true)
    expect(Option.isNone(Challenge.parse("Bearer authorization=\"https://login/t\""))).toBe(true)
  })

  it("verifies that the vault host lies under the challenge resource", () => {
    const challenge = Option.getOrThrow(Challenge.parse(header))
    expect(Either.isRight(Challenge.verifyResource("https://myvault.vault.azure.net", challenge))).toBe(true)
    expect(Either.isLeft(Challenge.verifyResource("https://evil.example.com", challenge))).toBe(true)
    // A bare host equal to the resource host is not "under" it, as in the official SDKs.
    expect(Either.isLeft(Challenge.verifyResource("https://vault.azure.net", challenge))).toBe(true)
  })
})
