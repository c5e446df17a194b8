/**
 * Access log parsing: JSON lines, CSV, both mixed, ISO and relative times, and the typed error naming the bad line.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as AccessLogReplay from "../src/replay/AccessLogReplay.js"

const parseError = (text: string) => Effect.flip(AccessLogReplay.parse(text))

describe("AccessLogReplay.parse", () => {
  it.effect("reads JSON lines with relative milliseconds and ISO instants", () =>
    Effect.gen(function*() {
      const relative = yield* AccessLogReplay.parse(
        [
          `{"t":0,"op":"read","name":"db-password"}`,
          `{"t":1500,"op":"write","name":"db-password"}`,
          `{"t":2500.5,"op":"read","name":"api-key","version":"v1"}`
        ].join("\n")
      )
      expect(relative).toEqual([
        { atMillis: 0, op: "read", name: "db-password" },
        { atMillis: 1500, op: "write", name: "db-password" },
        { atMillis: 2500.5, op: "read", name: "api-key", version: "v1" }
      ])
      // ISO instants become relative to the earliest, whatever the line order.
      const iso = yield* AccessLogReplay.parse(
        `{"t":"2025-03-01T10:00:05Z","op":"read","name":"b"}\n{"t":"2025-03-01T10:00:00.250Z","op":"read","name":"a"}\n`
      )
      expect(iso.map((e) => [e.name, e.atMillis])).toEqual([["b", 4750], ["a", 0]])
    }))

  it.effect("reads CSV with an optional header, comments, blank lines, versions and CRLF", () =>
    Effect.gen(function*() {
      const events = yield* AccessLogReplay.parse(
        "t,op,name,version\r\n# a comment\r\n\r\n0,read,db-password\r\n10,read,db-password,v2\r\n20, write , api-key \r\n"
      )
      expect(events).toEqual([
        { atMillis: 0, op: "read", name: "db-password" },
        { atMillis: 10, op: "read", name: "db-password", version: "v2" },
        { atMillis: 20, op: "write", name: "api-key" }
      ])
    }))

  it.effect("accepts JSON and CSV lines in one log", () =>
    Effect.gen(function*() {
      const events = yield* AccessLogReplay.parse(`0,read,a\n{"t":5,"op":"write","name":"b"}\n7,read,a`)
      expect(events.map((e) => `${e.atMillis}:${e.op}:${e.name}`)).toEqual(["0:read:a", "5:write:b", "7:read:a"])
    }))

  it.effect("fails on the first bad line with its 1-based number", () =>
    Effect.gen(function*() {
      const badOp = yield* parseError("t,op,name\n0,read,a\n\n5,reed,b\n6,read,c")
      expect(badOp).toBeInstanceOf(AccessLogReplay.LogParseError)
      expect(badOp).toMatchObject({ _tag: "LogParseError", line: 4 })
      expect(badOp.message).toContain(`"reed"`)

      expect(yield* parseError(`{"t":0,"op":"read","name":"a"}\n{"t":1,"op":"read",`)).toMatchObject({ line: 2, message: "not valid JSON" })
      expect(yield* parseError("0,read,a\n-5,read,b")).toMatchObject({ line: 2 })
      expect(yield* parseError("0,read,not_a_valid_name")).toMatchObject({ line: 1 })
      expect(yield* parseError("0,read")).toMatchObject({ line: 1 })
      expect(yield* parseError("0,read,a,v1,extra")).toMatchObject({ line: 1 })
      expect(yield* parseError(`{"t":"yesterday","op":"read","name":"a"}`)).toMatchObject({ line: 1 })
      const mixed = yield* parseError(`0,read,a\n2025-01-01T00:00:00Z,read,b`)
      expect(mixed).toMatchObject({ line: 2 })
      expect(mixed.message).toContain("mixes")
    }))

  it.effect("parseFile names the file in its error", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "replay-parse-"))
      const good = Path.join(dir, "good.jsonl")
      const bad = Path.join(dir, "bad.csv")
      Fs.writeFileSync(good, `{"t":0,"op":"read","name":"a"}\n`)
      Fs.writeFileSync(bad, "0,read,a\n1,delete,a\n")
      expect(yield* AccessLogReplay.parseFile(good)).toEqual([{ atMillis: 0, op: "read", name: "a" }])
      const error = yield* Effect.flip(AccessLogReplay.parseFile(bad))
      expect(error).toMatchObject({ _tag: "LogParseError", line: 2, source: bad })
      Fs.rmSync(dir, { recursive: true })
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
