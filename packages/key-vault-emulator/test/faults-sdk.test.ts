/**
 * The official `SecretClient` through the in-process transport against injected faults: its retry policy must
 * recognise the transport's reset as a network error, and aborts must end stalls and latency.
 */
import type { TokenCredential } from "@azure/core-auth"
import { isRestError } from "@azure/core-rest-pipeline"
import { SecretClient } from "@azure/keyvault-secrets"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Emulator from "../src/Emulator.js"
import type { FaultRule } from "../src/faults/FaultRule.js"
import { makeAzureHttpClient } from "../src/testing/AzureSdkTransport.js"

const credential: TokenCredential = {
  getToken: async () => ({ token: "emulator", expiresOnTimestamp: Date.now() + 3600_000 })
}

const setup = async (maxRetries = 3) => {
  const emulator = Effect.runSync(Emulator.make())
  const client = new SecretClient("https://myvault.vault.azure.net", credential, {
    httpClient: makeAzureHttpClient(emulator),
    retryOptions: { maxRetries, retryDelayInMs: 1, maxRetryDelayInMs: 5 }
  })
  await client.setSecret("db", "value")
  const addFault = (rule: FaultRule) => Effect.runSync(emulator.faults.add(rule))
  const attempts = () =>
    Effect.runSync(emulator.journal.query({ operation: "getSecret", tokenPresent: true })).map((e) =>
      e.fault?.kind ?? e.status
    )
  return { client, addFault, attempts }
}

const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected a rejection")
}

describe("SecretClient against injected faults (in-process transport)", () => {
  it("retries a reset (a RestError with code ECONNRESET) and a 503 with retry-after-ms", async () => {
    const { addFault, attempts, client } = await setup()
    addFault({ operation: "getSecret", times: 1, fault: { _tag: "Reset" } })
    addFault({
      operation: "getSecret",
      times: 1,
      fault: { _tag: "Status", status: 503, retryAfter: { _tag: "RetryAfterMs", millis: 10 } }
    })
    expect((await client.getSecret("db")).value).toBe("value")
    expect(attempts()).toEqual(["Reset", "Status", 200])
  })

  it("gives up after its retries with the reset error", async () => {
    const { addFault, client } = await setup(1)
    addFault({ operation: "getSecret", fault: { _tag: "Reset" } })
    const error = await rejection(client.getSecret("db"))
    expect(isRestError(error)).toBe(true)
    expect(error).toMatchObject({ name: "RestError", code: "ECONNRESET" })
  })

  it("a stall and injected latency end when the caller aborts", async () => {
    const { addFault, client } = await setup(0)
    addFault({ operation: "getSecret", times: 1, fault: { _tag: "Stall" } })
    const stalled = await rejection(client.getSecret("db", { abortSignal: AbortSignal.timeout(100) }))
    expect(stalled).toMatchObject({ name: "AbortError" })

    addFault({ operation: "getSecret", times: 1, fault: { _tag: "Latency", millis: 60_000 } })
    const started = Date.now()
    const slow = await rejection(client.getSecret("db", { abortSignal: AbortSignal.timeout(100) }))
    expect(slow).toMatchObject({ name: "AbortError" })
    expect(Date.now() - started).toBeLessThan(5_000)
    expect((await client.getSecret("db")).value).toBe("value")
  })

  it("a truncated or malformed body fails to parse", async () => {
    const { addFault, client } = await setup(0)
    addFault({ operation: "getSecret", times: 1, fault: { _tag: "Truncate" } })
    const truncated = await rejection(client.getSecret("db"))
    expect(isRestError(truncated) && truncated.code).toBe("PARSE_ERROR")
    addFault({ operation: "getSecret", times: 1, fault: { _tag: "MalformedJson" } })
    const malformed = await rejection(client.getSecret("db"))
    expect(isRestError(malformed) && malformed.code).toBe("PARSE_ERROR")
  })
})
