/**
 * Shared by the rotation tests: the client over a fresh in-process emulator (TestClock drives the vault's time),
 * and a way to await the events a stream delivers.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import type { CacheOptions } from "../src/cache/CacheConfig.js"
import * as KeyVault from "../src/KeyVault.js"
import type { ResilienceOptions } from "../src/resilience/ResilienceConfig.js"
import type { RotationEvent } from "../src/rotation/RotationEvent.js"
import * as RotationEvents from "../src/rotation/RotationEvents.js"

export const VAULT = "https://myvault.vault.azure.net"

/** The client, the emulator behind it (`EmulatorService`) and a rotation event stream. */
export const vault = (options: { readonly cache?: CacheOptions; readonly resilience?: ResilienceOptions } = {}) =>
  KeyVault.layer({ vaultUrl: VAULT, cache: options.cache ?? { enabled: false }, resilience: options.resilience ?? {} })
    .pipe(
      Layer.provideMerge(Layer.merge(Emulator.layerFresh(), TokenProvider.layerStatic())),
      Layer.merge(RotationEvents.layer())
    )

/**
 * Subscribes now and forks a reader of the next `n` events matching `keep`; join the fiber to await them.
 */
export const nextEvents = (
  n: number,
  keep: (event: RotationEvent) => boolean = () => true
): Effect.Effect<Fiber.RuntimeFiber<ReadonlyArray<RotationEvent>>, never, RotationEvents.RotationEvents | Scope.Scope> =>
  Effect.gen(function*() {
    const events = yield* RotationEvents.RotationEvents
    const stream = yield* events.subscribe
    return yield* Effect.forkScoped(
      Effect.map(Stream.runCollect(stream.pipe(Stream.filter(keep), Stream.take(n))), Chunk.toReadonlyArray)
    )
  })

/** Unix seconds of a date. */
export const seconds = (date: Date): number => Math.floor(date.getTime() / 1000)

export const DAY = 24 * 60 * 60 * 1000

export { awaitOnTestClock } from "./test-clock-support.js"
