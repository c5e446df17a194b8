/**
 * The official `SecretClient` through the in-process transport against injected faults: its retry policy must
 * recognise the transport's reset as a network error, and aborts must end stalls and latency. Also: the SDK against
 * an emulator that requires an access token.
 */
import type { TokenCredential } from "@azure/core-auth"
import { isRestError } from "@azure/core-rest-pipeline"
import { SecretClient } from "@azure/keyvault-secrets"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Emulator from "../src/Emulator.js"
import type { FaultRule } from "../src/faults/FaultRule.js"
import type { EmulatorRequest, EmulatorResponse } from "../src/http/Protocol.js"
import { makeAzureHttpClient } from "../src/testing/AzureSdkTransport.js"

const credentialFor = (token: string): TokenCredential => ({
  getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3600_000 })
})
const credential = credentialFor("emulator")

/** Hooks into the emulator as the transport sees it, so a test can act on what happens instead of waiting. */
interface Observer {
  /** The handler answered (a `Stall` is answered at once; the transport then waits for the abort). */
  onResponse?: (response: EmulatorResponse) => void
  /** The handler started an injected latency (its sleep on the Clock). */
  onSleep?: () => void
}

const observed = (emulator: Emulator.Emulator, observer: Observer): Emulator.Emulator => {
  const live = Clock.make()
  // The live clock, except that starting a sleep is reported: injected latency is the only sleep in the handler.
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => live.unsafeCurrentTimeMillis(),
    currentTimeMillis: live.currentTimeMillis,
    unsafeCurrentTimeNanos: () => live.unsafeCurrentTimeNanos(),
    currentTimeNanos: live.currentTimeNanos,
    sleep: (duration) => Effect.zipRight(Effect.sync(() => observer.onSleep?.()), live.sleep(duration))
  }
  return {
    ...emulator,
    handler: (request: EmulatorRequest) =>
      emulator.handler(request).pipe(
        Effect.withClock(clock),
        Effect.tap((response) => Effect.sync(() => observer.onResponse?.(response)))
      )
  }
}

const setup = async (maxRetries = 3, observer: Observer = {}) => {
  const emulator = Effect.runSync(Emulator.make())
  const client = new SecretClient("https://myvault.vault.azure.net", credential, {
    httpClient: makeAzureHttpClient(observed(emulator, observer)),
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
    // The caller aborts once the fault is under way (observed, not guessed with a timer), and neither fault would
    // ever end by itself within the test's time.
    const abortOnStall = new AbortController()
    const abortOnSleep = new AbortController()
    const { addFault, attempts, client } = await setup(0, {
      // After the transport has begun waiting on the stalled answer: the next turn of the event loop.
      onResponse: (response) => {
        if (response.fault?._tag === "Stall") setImmediate(() => abortOnStall.abort())
      },
      onSleep: () => abortOnSleep.abort()
    })
    addFault({ operation: "getSecret", times: 1, fault: { _tag: "Stall" } })
    const stalled = await rejection(client.getSecret("db", { abortSignal: abortOnStall.signal }))
    expect(stalled).toMatchObject({ name: "AbortError" })

    addFault({ operation: "getSecret", times: 1, fault: { _tag: "Latency", millis: 3_600_000 } })
    const started = Date.now()
    const slow = await rejection(client.getSecret("db", { abortSignal: abortOnSleep.signal }))
    expect(slow).toMatchObject({ name: "AbortError" })
    expect(Date.now() - started).toBeLessThan(5_000)
    expect((await client.getSecret("db")).value).toBe("value")
    // Both faults were met and ended without an answer; the last read was served.
    expect(attempts()).toEqual(["Stall", "Latency", 200])
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

describe("SecretClient against an emulator with an access token (in-process transport)", () => {
  const TOKEN = "sdk-access-token-7d2e"
  const clientWith = (token: string) => {
    const emulator = Effect.runSync(Emulator.make({ token: TOKEN }))
    const client = new SecretClient("https://myvault.vault.azure.net", credentialFor(token), {
      httpClient: makeAzureHttpClient(emulator),
      retryOptions: { maxRetries: 0 }
    })
    return { client, emulator }
  }

  it("works with a credential returning that token", async () => {
    const { client } = clientWith(TOKEN)
    await client.setSecret("db", "value")
    expect((await client.getSecret("db")).value).toBe("value")
  })

  it("fails with a 401 RestError with any other token, and nothing is written", async () => {
    const { client, emulator } = clientWith("not-the-token")
    const error = await rejection(client.setSecret("db", "value"))
    expect(isRestError(error) && error.statusCode).toBe(401)
    expect(isRestError(error) && error.code).toBe("Unauthorized")
    expect(String(error)).not.toContain(TOKEN)
    expect(Effect.runSync(emulator.engine.secrets.list)).toEqual([])
    // The challenge without a token, then the refused token.
    const entries = Effect.runSync(emulator.journal.entries)
    expect(entries.map((e) => [e.status, e.tokenPresent])).toEqual([[401, false], [401, true]])
  })
})
