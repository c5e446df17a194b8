/**
 * The live journal as one open server-sent-events stream (`GET /admin/journal/stream`), through the emulator's
 * handler and the in-process `HttpClient`: backlog first, then every new entry, `id:` = cursor, `Last-Event-ID` to go
 * on, keep-alive comments, a bounded buffer per reader (drop-oldest with a `dropped` event), and the journal
 * subscriptions released when the reader goes away. Time is `TestClock`; nothing sleeps.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Emulator from "../src/Emulator.js"
import * as Journal from "../src/journal/Journal.js"
import * as HttpClientLayer from "../src/testing/HttpClientLayer.js"
import { admin } from "./admin-support.js"
import { call } from "./support.js"

const B = "https://team-b.vault.azure.net"

interface SseEvent {
  readonly id: string | undefined
  readonly event: string | undefined
  readonly data: string | undefined
  readonly comment: string | undefined
}

/** Splits a growing `text/event-stream` into blocks as they complete, and hands each to a queue. */
const readEvents = (stream: Stream.Stream<Uint8Array, unknown>) =>
  Effect.gen(function*() {
    const events = yield* Queue.unbounded<SseEvent>()
    const decoder = new TextDecoder()
    let buffer = ""
    const fiber = yield* Effect.forkScoped(Stream.runForEach(stream, (chunk) =>
      Effect.sync(() => {
        buffer += decoder.decode(chunk, { stream: true })
        let end = buffer.indexOf("\n\n")
        while (end !== -1) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const fields: Record<string, string> = {}
          for (const line of block.split("\n")) {
            const at = line.indexOf(":")
            const field = at < 0 ? line : line.slice(0, at)
            const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "")
            fields[field] = field in fields ? `${fields[field]}\n${value}` : value
          }
          events.unsafeOffer({ id: fields["id"], event: fields["event"], data: fields["data"], comment: fields[""] })
          end = buffer.indexOf("\n\n")
        }
      })))
    // The next block that is not `retry:` / a keep-alive, unless asked for those.
    const next = Effect.gen(function*() {
      for (;;) {
        const event = yield* Queue.take(events)
        if (event.id !== undefined || event.event !== undefined) return event
      }
    })
    const nothingPending = Effect.map(Queue.size(events), (size) => size === 0)
    return { events, next, nothingPending, fiber }
  })

/** Opens the stream through the emulator's handler (what every transport hands it). */
const open = (emulator: Emulator.Emulator, query: string, headers: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const response = yield* emulator.handler({
      method: "GET",
      url: new URL(`/admin/journal/stream${query}`, "https://myvault.vault.azure.net"),
      headers: { authorization: "Bearer t", ...headers },
      body: new Uint8Array(0)
    })
    expect(response.status).toBe(200)
    expect(response.headers["content-type"]).toBe("text/event-stream; charset=utf-8")
    expect(response.body.byteLength).toBe(0)
    expect(response.stream).toBeDefined()
    return yield* readEvents(response.stream!)
  })

const entryOf = (event: SseEvent) => JSON.parse(event.data!)

/** Counts the journal's live subscribers, and lets a test await the moment the last one goes. */
const countSubscribers = (journal: Journal.Journal) => {
  const counter = { active: 0, idle: Effect.void as Effect.Effect<void> }
  const original = journal.unsafeSubscribe
  let wake: (() => void) | undefined
  ;(journal as { unsafeSubscribe: Journal.Journal["unsafeSubscribe"] }).unsafeSubscribe = (listener) => {
    counter.active += 1
    const stop = original(listener)
    return () => {
      stop()
      counter.active -= 1
      if (counter.active === 0) wake?.()
    }
  }
  counter.idle = Effect.async<void>((resume) => {
    if (counter.active === 0) return resume(Effect.void)
    wake = () => resume(Effect.void)
  })
  return counter
}

const vaultB = (emulator: Emulator.Emulator) => admin(emulator, "POST", "/admin/vaults", { body: { name: "team-b" } })

describe("live journal stream", () => {
  it.scoped("backlog first, then each new entry as it is recorded, with the cursor as id", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* vaultB(emulator)
      yield* call(emulator, "PUT", "/secrets/a", { body: { value: "v" } })
      yield* call(emulator, "PUT", "/secrets/b", { body: { value: "v" }, origin: B })

      const reader = yield* open(emulator, "?backlog=10")
      const backlog = [yield* reader.next, yield* reader.next]
      expect(backlog.map((e) => [e.event, entryOf(e).vault, entryOf(e).operation])).toEqual([
        ["request", "default", "setSecret"],
        ["request", "team-b", "setSecret"]
      ])
      expect(backlog.map((e) => e.id)).toEqual(["default:1,team-b:0", "default:1,team-b:1"])
      const caughtUp = yield* reader.next
      expect(caughtUp).toMatchObject({ id: "default:1,team-b:1", event: undefined, data: undefined })

      // The same response goes on: every new request arrives as it happens.
      yield* call(emulator, "GET", "/secrets/a", { headers: { "x-ms-client-request-id": "live-1" } })
      const live = yield* reader.next
      expect(live.id).toBe("default:2,team-b:1")
      expect(entryOf(live)).toMatchObject({ vault: "default", operation: "getSecret", status: 200, clientRequestId: "live-1" })
      yield* call(emulator, "GET", "/secrets/b", { origin: B })
      expect(entryOf(yield* reader.next)).toMatchObject({ vault: "team-b", operation: "getSecret" })

      // A vault created while the stream is open joins it.
      yield* admin(emulator, "POST", "/admin/vaults", { body: { name: "team-c" } })
      yield* call(emulator, "GET", "/secrets", { origin: "https://team-c.vault.azure.net" })
      const joined = yield* reader.next
      expect(entryOf(joined)).toMatchObject({ vault: "team-c", operation: "listSecrets" })
      expect(joined.id).toBe("default:2,team-b:2,team-c:1")
      // Admin requests are not journaled, so reading the stream adds nothing to it.
      expect(yield* reader.nothingPending).toBe(true)
    }))

  it.scoped("filters apply to backlog and live entries; Last-Event-ID goes on where a closed stream stopped", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      yield* vaultB(emulator)
      const first = yield* open(emulator, "?operation=getSecret")
      expect((yield* first.next).id).toBe("default:0,team-b:0") // caught up at once: nothing before now
      yield* call(emulator, "PUT", "/secrets/a", { body: { value: "v" } }) // filtered out
      yield* call(emulator, "GET", "/secrets/a")
      const seen = yield* first.next
      expect(entryOf(seen)).toMatchObject({ operation: "getSecret", vault: "default" })
      yield* Fiber.interrupt(first.fiber)

      // While no one reads: two matching entries, one not.
      yield* TestClock.adjust("1 millis")
      yield* call(emulator, "GET", "/secrets/a", { origin: B })
      yield* TestClock.adjust("1 millis")
      yield* call(emulator, "DELETE", "/secrets/a")
      yield* call(emulator, "GET", "/secrets/a", { headers: { "x-ms-client-request-id": "after" } })

      const again = yield* open(emulator, "?operation=getSecret", { "last-event-id": seen.id! })
      const missed = [yield* again.next, yield* again.next]
      expect(missed.map((e) => [entryOf(e).vault, entryOf(e).status])).toEqual([["team-b", 404], ["default", 404]])
      expect(entryOf(missed[1]!).clientRequestId).toBe("after")
      expect((yield* again.next).id).toBe("default:4,team-b:1")
      // `?cursor=` works as the header does; a cursor that is not one starts from now.
      const byQuery = yield* open(emulator, `?operation=getSecret&cursor=${encodeURIComponent(seen.id!)}`)
      expect(entryOf(yield* byQuery.next).vault).toBe("team-b")
      const junk = yield* open(emulator, "", { "last-event-id": "\u0000junk" })
      expect((yield* junk.next).id).toBe("default:4,team-b:1")

      for (const query of ["backlog=-1", "backlog=1001", "buffer=0", "limit=0", "operation=nope"]) {
        expect((yield* admin(emulator, "GET", `/admin/journal/stream?${query}`)).status, query).toBe(400)
      }
    }))

  it.scoped("sends a keep-alive comment after 15 s without entries", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const reader = yield* open(emulator, "")
      yield* reader.next // caught up
      yield* TestClock.adjust("15 seconds")
      const comments: Array<SseEvent> = []
      for (;;) {
        const block = yield* Queue.take(reader.events)
        if (block.comment !== undefined) {
          comments.push(block)
          break
        }
      }
      expect(comments[0]!.comment).toBe("keep-alive")
      yield* call(emulator, "GET", "/secrets")
      expect(entryOf(yield* reader.next).operation).toBe("listSecrets")
    }))

  it.scoped("a reader that falls behind keeps only its buffer: the oldest go, and a `dropped` event says how many", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const response = yield* emulator.handler({
        method: "GET",
        url: new URL("https://myvault.vault.azure.net/admin/journal/stream?buffer=3"),
        headers: { authorization: "Bearer t" },
        body: new Uint8Array(0)
      })
      // Pull by hand: nothing is read while the requests below are served.
      const pull = yield* Stream.toPull(response.stream!)
      // The next non-empty piece of the body.
      const text = Effect.gen(function*() {
        for (;;) {
          const chunks = Chunk.toReadonlyArray(yield* pull)
          const piece = chunks.map((chunk) => new TextDecoder().decode(chunk)).join("")
          if (piece !== "") return piece
        }
      })
      expect(yield* text).toContain("retry:")
      expect(yield* text).toBe("id: default:0\n\n")
      for (let i = 0; i < 10; i++) yield* call(emulator, "GET", `/secrets/s${i}`)
      const behind = yield* text
      const blocks = behind.trim().split("\n\n")
      expect(blocks[0]).toBe("id: default:0\nevent: dropped\ndata: {\"dropped\":7}")
      expect(blocks.slice(1).map((block) => JSON.parse(block.split("data: ")[1]!).name)).toEqual(["s7", "s8", "s9"])
      expect(blocks.slice(1).map((block) => block.split("\n")[0])).toEqual([
        "id: default:8",
        "id: default:9",
        "id: default:10"
      ])
      // The dropped entries are still in the journal, after the cursor the `dropped` event carried.
      const query = yield* emulator.admin.journal.query({ operation: "getSecret" })
      expect(query.value.filter((entry) => entry.sequence <= 7)).toHaveLength(7)
    }))

  it.effect("the reader going away releases its journal subscriptions; `limit` ends the stream", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const subscribers = countSubscribers(emulator.journal)
      const reader = yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* open(emulator, "")
        yield* reader.next
        expect(subscribers.active).toBe(1)
        return reader
      }))
      // The scope that ran the reader is closed: its fiber is interrupted and the subscription gone.
      expect(Option.isSome(yield* Fiber.poll(reader.fiber))).toBe(true)
      yield* subscribers.idle
      expect(subscribers.active).toBe(0)

      const limited = yield* Effect.scoped(Effect.gen(function*() {
        const limited = yield* open(emulator, "?limit=2&operation=listSecrets")
        yield* limited.next
        for (let i = 0; i < 3; i++) yield* call(emulator, "GET", "/secrets")
        yield* Fiber.join(limited.fiber)
        return Chunk.toReadonlyArray(yield* Queue.takeAll(limited.events)).filter((e) => e.event === "request")
      }))
      expect(limited).toHaveLength(2)
      expect(subscribers.active).toBe(0)
    }))

  it.scoped("`Journal.subscribe` keeps the newest LIVE_BUFFER unread entries: the oldest go", () =>
    Effect.gen(function*() {
      const journal = yield* Journal.make(10)
      const entries = yield* journal.subscribe
      const entry = { timeMillis: 0, method: "GET", path: "/secrets", operation: "listSecrets" as const, name: null,
        status: 200, tokenPresent: true, reachedEngine: true, fault: null, durationMillis: 0 }
      for (let i = 0; i < Journal.LIVE_BUFFER + 5; i++) yield* journal.record(entry)
      const first = yield* Stream.runHead(entries)
      expect(Option.map(first, (e) => e.sequence)).toEqual(Option.some(6))
    }))

  it.scoped("through the in-process HttpClient: the response's body stream is the live journal", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.make()
      const client = HttpClientLayer.make(emulator)
      const response = yield* client.execute(
        HttpClientRequest.get("https://myvault.vault.azure.net/admin/journal/stream").pipe(
          HttpClientRequest.bearerToken("t")
        )
      )
      expect(response.status).toBe(200)
      const reader = yield* readEvents(response.stream)
      yield* reader.next
      yield* call(emulator, "GET", "/secrets/x")
      expect(entryOf(yield* reader.next)).toMatchObject({ operation: "getSecret", status: 404 })
    }))
})
