/**
 * The live journal over a real socket: the HTTPS server writes the server-sent events as they happen (one response
 * that stays open), and when the client goes away it interrupts the stream and releases its journal subscription.
 * The SDK transport hands the same stream to a pipeline that asks for a Node stream. Nothing sleeps: the test awaits
 * the bytes and the moment the subscription is gone.
 */
import { createHttpHeaders, createPipelineRequest } from "@azure/core-rest-pipeline"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { Readable } from "node:stream"
import * as Emulator from "../src/Emulator.js"
import type { Journal } from "../src/journal/Journal.js"
import * as HttpsServer from "../src/server/HttpsServer.js"
import * as AzureSdkTransport from "../src/testing/AzureSdkTransport.js"

/** Counts a journal's live subscribers; `idle` resolves when the last one stops. */
const countSubscribers = (journal: Journal) => {
  let active = 0
  let wake: (() => void) | undefined
  const original = journal.unsafeSubscribe
  ;(journal as { unsafeSubscribe: Journal["unsafeSubscribe"] }).unsafeSubscribe = (listener) => {
    active += 1
    const stop = original(listener)
    return () => {
      stop()
      active -= 1
      if (active === 0) wake?.()
    }
  }
  return {
    active: () => active,
    idle: () => new Promise<void>((resolve) => (active === 0 ? resolve() : (wake = resolve)))
  }
}

/** Reads server-sent-event blocks off a byte stream as they arrive. */
const blockReader = (next: () => Promise<Uint8Array | undefined>) => {
  const decoder = new TextDecoder()
  let buffer = ""
  return async (): Promise<string> => {
    for (;;) {
      const end = buffer.indexOf("\n\n")
      if (end !== -1) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        return block
      }
      const chunk = await next()
      if (chunk === undefined) throw new Error(`the stream ended; pending: ${JSON.stringify(buffer)}`)
      buffer += decoder.decode(chunk, { stream: true })
    }
  }
}

const dataOf = (block: string) => JSON.parse(block.split("\n").find((line) => line.startsWith("data: "))!.slice(6))

describe("live journal over the HTTPS server's socket", () => {
  it("pushes each entry on the open response, and frees the subscription when the client aborts", async () => {
    const emulator = await Effect.runPromise(Emulator.make())
    const subscribers = countSubscribers(emulator.journal)
    const scope = Effect.runSync(Scope.make())
    const server = await Effect.runPromise(Scope.extend(HttpsServer.serve({ handler: emulator.handler }), scope))
    try {
      const put = await fetch(`${server.url}/secrets/early?api-version=7.5`, {
        method: "PUT",
        headers: { authorization: "Bearer t", "content-type": "application/json" },
        body: JSON.stringify({ value: "v" })
      })
      expect(put.status).toBe(200)

      const abort = new AbortController()
      const response = await fetch(`${server.url}/admin/journal/stream?backlog=5`, {
        headers: { authorization: "Bearer t" },
        signal: abort.signal
      })
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8")
      expect(response.headers.get("content-length")).toBeNull()
      const reader = response.body!.getReader()
      const next = blockReader(async () => {
        const read = await reader.read()
        return read.done ? undefined : read.value
      })
      expect(await next()).toBe("retry: 1000")
      expect(dataOf(await next())).toMatchObject({ operation: "setSecret", name: "early", vault: "default" })
      expect(await next()).toBe("id: default:1")

      // The response is still open: a request made now arrives on it.
      const got = await fetch(`${server.url}/secrets/early?api-version=7.5`, {
        headers: { authorization: "Bearer t", "x-ms-client-request-id": "over-the-socket" }
      })
      expect(got.status).toBe(200)
      const live = await next()
      expect(live.split("\n")[0]).toBe("id: default:2")
      expect(dataOf(live)).toMatchObject({ operation: "getSecret", status: 200, clientRequestId: "over-the-socket" })
      expect(subscribers.active()).toBe(1)

      // The client goes away: the server interrupts the stream, which lets go of the journal.
      abort.abort()
      await subscribers.idle()
      expect(subscribers.active()).toBe(0)
      // The server goes on serving.
      const after = await fetch(`${server.url}/secrets?api-version=7.5`, { headers: { authorization: "Bearer t" } })
      expect(after.status).toBe(200)
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }, 30_000)

  it("closing the server ends open streams and their subscriptions", async () => {
    const emulator = await Effect.runPromise(Emulator.make())
    const subscribers = countSubscribers(emulator.journal)
    const scope = Effect.runSync(Scope.make())
    const server = await Effect.runPromise(Scope.extend(HttpsServer.serve({ handler: emulator.handler }), scope))
    const response = await fetch(`${server.url}/admin/journal/stream`, { headers: { authorization: "Bearer t" } })
    const reader = response.body!.getReader()
    await reader.read()
    expect(subscribers.active()).toBe(1)
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await subscribers.idle()
    await expect(reader.read().then((read) => read.done, () => true)).resolves.toBe(true)
  }, 30_000)

  it("the SDK transport hands a streamed body to a pipeline that asks for a Node stream", async () => {
    const emulator = await Effect.runPromise(Emulator.make())
    const subscribers = countSubscribers(emulator.journal)
    const client = AzureSdkTransport.makeAzureHttpClient(emulator)
    const request = createPipelineRequest({
      url: "https://myvault.vault.azure.net/admin/journal/stream",
      headers: createHttpHeaders({ authorization: "Bearer t" }),
      streamResponseStatusCodes: new Set([200])
    })
    const response = await client.sendRequest(request)
    expect(response.status).toBe(200)
    const body = response.readableStreamBody!
    const chunks = body[Symbol.asyncIterator]()
    const next = blockReader(async () => {
      const read = await chunks.next()
      return read.done === true ? undefined : new Uint8Array(read.value as Buffer)
    })
    expect(await next()).toBe("retry: 1000")
    expect(await next()).toBe("id: default:0")
    await Effect.runPromise(emulator.handler({
      method: "GET",
      url: new URL("https://myvault.vault.azure.net/secrets/nope?api-version=7.5"),
      headers: { authorization: "Bearer t" },
      body: new Uint8Array(0)
    }))
    expect(dataOf(await next())).toMatchObject({ operation: "getSecret", status: 404 })
    // Node's transport hands out a `Readable`; destroying it is how a pipeline lets go of a body.
    ;(body as Readable).destroy()
    await subscribers.idle()
    expect(subscribers.active()).toBe(0)
  }, 30_000)
})
