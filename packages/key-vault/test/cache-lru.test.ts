/**
 * The cache's recency order and size bound, checked against a simple reference model: an array of keys from least to
 * most recently used.
 */
import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { Entry, type Table } from "../src/cache/internal/Entry.js"
import { EntryStore } from "../src/cache/internal/EntryStore.js"
import { type LruNode, LruList } from "../src/cache/internal/Lru.js"

class Node implements LruNode<Node> {
  prev: Node | undefined = undefined
  next: Node | undefined = undefined
  constructor(readonly key: number) {}
}

type ListOp =
  | { readonly op: "append"; readonly key: number }
  | { readonly op: "touch"; readonly key: number }
  | { readonly op: "remove"; readonly key: number }
  | { readonly op: "evict" }
  | { readonly op: "clear" }

const key = FastCheck.integer({ min: 0, max: 9 })
// `size: "max"` and a minimum length: at fast-check's default size, op lists stay near ten long, too short to grow a
// list past a few nodes (a `touch` that did nothing beyond three nodes went unnoticed).
const listOps: FastCheck.Arbitrary<Array<ListOp>> = FastCheck.array(
  FastCheck.oneof(
    { weight: 4, arbitrary: key.map((key) => ({ op: "append" as const, key })) },
    { weight: 4, arbitrary: key.map((key) => ({ op: "touch" as const, key })) },
    { weight: 2, arbitrary: key.map((key) => ({ op: "remove" as const, key })) },
    { weight: 1, arbitrary: FastCheck.constant({ op: "evict" as const }) },
    { weight: 1, arbitrary: FastCheck.constant({ op: "clear" as const }) }
  ),
  { minLength: 20, maxLength: 100, size: "max" }
)

/** Walks the list both ways, so a broken back link shows as well as a broken forward link. */
const order = (list: LruList<Node>): { forward: Array<number>; backward: Array<number> } => {
  const forward = [...list].map((n) => n.key)
  const backward: Array<number> = []
  for (let n = list.newest; n !== undefined; n = n.prev) backward.unshift(n.key)
  return { forward, backward }
}

describe("LruList", () => {
  it.prop("keeps nodes in the order of their last use, like an array model", [listOps], ([ops]) => {
    const list = new LruList<Node>()
    const nodes = new Map<number, Node>()
    let model: Array<number> = []
    for (const step of ops) {
      switch (step.op) {
        case "append":
          if (nodes.has(step.key)) break
          nodes.set(step.key, new Node(step.key))
          list.append(nodes.get(step.key)!)
          model.push(step.key)
          break
        case "touch": {
          const node = nodes.get(step.key)
          if (node === undefined) break
          list.touch(node)
          model = [...model.filter((k) => k !== step.key), step.key]
          break
        }
        case "remove": {
          const node = nodes.get(step.key)
          if (node === undefined) break
          list.remove(node)
          nodes.delete(step.key)
          model = model.filter((k) => k !== step.key)
          break
        }
        case "evict": {
          const oldest = list.oldest
          expect(oldest?.key).toBe(model[0])
          if (oldest === undefined) break
          list.remove(oldest)
          nodes.delete(oldest.key)
          model.shift()
          break
        }
        case "clear":
          list.clear()
          nodes.clear()
          model = []
      }
      const { backward, forward } = order(list)
      expect(forward).toEqual(model)
      expect(backward).toEqual(model)
      expect(list.size).toBe(model.length)
    }
  })
})

type StoreOp =
  | { readonly op: "insert"; readonly name: number; readonly version: string | undefined }
  | { readonly op: "hit"; readonly name: number; readonly version: string | undefined }
  | { readonly op: "remove"; readonly name: number; readonly version: string | undefined }
  | { readonly op: "removeName"; readonly name: number }

const version = FastCheck.constantFrom(undefined, "v1", "v2")
const name = FastCheck.integer({ min: 0, max: 7 })
const storeOps: FastCheck.Arbitrary<Array<StoreOp>> = FastCheck.array(
  FastCheck.oneof(
    { weight: 4, arbitrary: FastCheck.record({ op: FastCheck.constant("insert" as const), name, version }) },
    { weight: 4, arbitrary: FastCheck.record({ op: FastCheck.constant("hit" as const), name, version }) },
    { weight: 1, arbitrary: FastCheck.record({ op: FastCheck.constant("remove" as const), name, version }) },
    { weight: 1, arbitrary: FastCheck.record({ op: FastCheck.constant("removeName" as const), name }) }
  ),
  { minLength: 20, maxLength: 100, size: "max" }
)

const keyOf = (name: string, version: string | undefined) => `${name}/${version ?? "latest"}`

describe("EntryStore", () => {
  it.prop(
    "holds at most maxEntries, evicts the least recently used, and finds what the model holds",
    [storeOps, FastCheck.integer({ min: 1, max: 6 }), FastCheck.boolean()],
    ([ops, maxEntries, twoTables]) => {
      const sizes: Array<number> = []
      const store = new EntryStore(maxEntries, (size) => sizes.push(size))
      const tables: ReadonlyArray<Table> = twoTables
        ? [store.table("a.vault.azure.net", "secret"), store.table("a.vault.azure.net", "key")]
        : [store.table("a.vault.azure.net", "secret")]
      const tableOf = (n: number) => tables[n % tables.length]!
      // The model: keys from least to most recently used, with the value each holds.
      let model: Array<{ readonly key: string; readonly value: number }> = []
      let evictions = 0
      let modelEvictions = 0
      ops.forEach((step, i) => {
        const table = tableOf(step.name)
        const n = `n${step.name}`
        const modelKey = `${table.objectType}:${step.op === "removeName" ? n : keyOf(n, step.version)}`
        switch (step.op) {
          case "insert": {
            evictions += store.insert(new Entry(table, n, step.version, i, 1_000))
            model = [...model.filter((e) => e.key !== modelKey), { key: modelKey, value: i }]
            while (model.length > maxEntries) {
              model.shift()
              modelEvictions++
            }
            break
          }
          case "hit": {
            const entry = store.lookup(table, n, step.version)
            const known = model.find((e) => e.key === modelKey)
            expect(entry?.stored).toBe(known?.value)
            if (entry !== undefined) {
              store.touch(entry)
              model = [...model.filter((e) => e.key !== modelKey), known!]
            }
            break
          }
          case "remove": {
            const entry = store.lookup(table, n, step.version)
            if (entry !== undefined) store.remove(entry)
            model = model.filter((e) => e.key !== modelKey)
            break
          }
          case "removeName":
            store.removeName(table, n)
            model = model.filter((e) => !e.key.startsWith(`${modelKey}/`))
        }
        expect(store.size).toBe(model.length)
        expect(store.size).toBeLessThanOrEqual(maxEntries)
        expect([...store.entries()].map((e) => `${e.table.objectType}:${keyOf(e.name, e.version)}`)).toEqual(
          model.map((e) => e.key)
        )
      })
      // Evictions are counted as the model counts them, and the size gauge was last told the current size.
      expect(evictions).toBe(modelEvictions)
      if (sizes.length > 0) expect(sizes[sizes.length - 1]).toBe(store.size)
    }
  )

  it("a stale entry (replaced since) is left alone by remove, and isCurrent tells it apart", () => {
    const store = new EntryStore(10, () => {})
    const table = store.table("a.vault.azure.net", "secret")
    const first = new Entry(table, "n", undefined, 1, 1_000)
    const second = new Entry(table, "n", undefined, 2, 1_000)
    store.insert(first)
    store.insert(second)
    expect(store.isCurrent(first)).toBe(false)
    expect(store.isCurrent(second)).toBe(true)
    store.remove(first)
    expect(store.lookup(table, "n", undefined)).toBe(second)
    expect(store.size).toBe(1)
    store.clear()
    expect(store.size).toBe(0)
    expect(store.lookup(table, "n", undefined)).toBeUndefined()
  })
})
