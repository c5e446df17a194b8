/**
 * Event ids. Events the client makes about a vault object (the monitor's NearExpiry, a rotation's NewVersionCreated)
 * get an id derived from their content, so the same fact always has the same id; rotation outcomes get a random one
 * from Effect's `Random` (seeded in tests). Both look like the GUIDs Event Grid uses.
 *
 * @internal
 */
import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"

const asGuid = (hex: string): string =>
  `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`

/**
 * A GUID-shaped id that is a function of `content` (SHA-256, truncated).
 *
 * @internal
 */
export const contentId = (content: string): string => asGuid(createHash("sha256").update(content).digest("hex"))

const hex4 = Effect.map(Random.nextIntBetween(0, 0x10000), (n) => n.toString(16).padStart(4, "0"))

/**
 * A random GUID-shaped id from the fiber's `Random`.
 *
 * @internal
 */
export const randomId: Effect.Effect<string> = Effect.map(
  Effect.all([hex4, hex4, hex4, hex4, hex4, hex4, hex4, hex4]),
  (parts) => asGuid(parts.join(""))
)
