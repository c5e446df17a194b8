/**
 * JSON Web Keys to import: the shape callers pass to `Keys.importKey`, its validation, its wire encoding, and a
 * conversion from Node's JWK export (`keyObject.export({ format: "jwk" })`). Private members may be given as
 * `Redacted` so they never print; they are redacted on the wire schema either way, and no message ever quotes them.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { CURVE_BYTES, type CurveName, familyOf, isCurveName, type KeyOperation } from "../crypto/Algorithms.js"
import { ValidationError } from "../errors/KeyVaultError.js"
import type * as KeyWire from "../wire/KeyWire.js"

/**
 * A private member: bytes, optionally wrapped in `Redacted`.
 *
 * @since 0.1.0
 * @category models
 */
export type PrivateBytes = Uint8Array | Redacted.Redacted<Uint8Array>

/**
 * A key to import, with its private parts. RSA: `n`, `e`, `d` (and ideally `p`, `q`, `dp`, `dq`, `qi`);
 * EC: `crv`, `x`, `y`, `d`. Integers are unsigned big-endian.
 *
 * @since 0.1.0
 * @category models
 */
export interface ImportJsonWebKey {
  readonly kty: string
  readonly keyOps?: ReadonlyArray<KeyOperation> | undefined
  readonly n?: Uint8Array | undefined
  readonly e?: Uint8Array | undefined
  readonly crv?: string | undefined
  readonly x?: Uint8Array | undefined
  readonly y?: Uint8Array | undefined
  readonly d?: PrivateBytes | undefined
  readonly p?: PrivateBytes | undefined
  readonly q?: PrivateBytes | undefined
  readonly dp?: PrivateBytes | undefined
  readonly dq?: PrivateBytes | undefined
  readonly qi?: PrivateBytes | undefined
}

/**
 * A JWK as Node exports it: base64url strings, `crv` `secp256k1` for Key Vault's `P-256K`.
 *
 * @since 0.1.0
 * @category models
 */
export interface NodeJsonWebKey {
  readonly kty?: string | undefined
  readonly crv?: string | undefined
  readonly n?: string | undefined
  readonly e?: string | undefined
  readonly x?: string | undefined
  readonly y?: string | undefined
  readonly d?: string | undefined
  readonly p?: string | undefined
  readonly q?: string | undefined
  readonly dp?: string | undefined
  readonly dq?: string | undefined
  readonly qi?: string | undefined
}

const fromBase64Url = (s: string | undefined): Uint8Array | undefined =>
  s === undefined ? undefined : new Uint8Array(Buffer.from(s, "base64url"))

const secret = (s: string | undefined): Redacted.Redacted<Uint8Array> | undefined => {
  const bytes = fromBase64Url(s)
  return bytes === undefined ? undefined : Redacted.make(bytes)
}

/**
 * Converts Node's JWK export into an importable key; private members come back `Redacted`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromNodeJwk = (jwk: NodeJsonWebKey, keyOps?: ReadonlyArray<KeyOperation>): ImportJsonWebKey => {
  const entries: ReadonlyArray<readonly [string, unknown]> = [
    ["kty", jwk.kty ?? ""],
    ["keyOps", keyOps],
    ["crv", jwk.crv === "secp256k1" ? "P-256K" : jwk.crv],
    ["n", fromBase64Url(jwk.n)],
    ["e", fromBase64Url(jwk.e)],
    ["x", fromBase64Url(jwk.x)],
    ["y", fromBase64Url(jwk.y)],
    ["d", secret(jwk.d)],
    ["p", secret(jwk.p)],
    ["q", secret(jwk.q)],
    ["dp", secret(jwk.dp)],
    ["dq", secret(jwk.dq)],
    ["qi", secret(jwk.qi)]
  ]
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as unknown as ImportJsonWebKey
}

const reveal = (value: PrivateBytes | undefined): Uint8Array | undefined =>
  value === undefined ? undefined : Redacted.isRedacted(value) ? Redacted.value(value) : value

const isBytes = (value: unknown): value is Uint8Array => value instanceof Uint8Array && value.length > 0

const stripLeadingZeros = (bytes: Uint8Array): Uint8Array => {
  let start = 0
  while (start < bytes.length - 1 && bytes[start] === 0) start++
  return bytes.subarray(start)
}

const padTo = (bytes: Uint8Array, length: number): Uint8Array => {
  const value = stripLeadingZeros(bytes)
  if (value.length >= length) return value
  const out = new Uint8Array(length)
  out.set(value, length - value.length)
  return out
}

/**
 * Checks a key to import and encodes it for the wire: RSA or EC, every member the key type needs present (only
 * member names appear in messages), RSA integers without leading zero bytes, EC coordinates padded to the curve.
 *
 * @since 0.1.0
 * @category utils
 */
export const toWire = (operation: string, input: unknown): Effect.Effect<KeyWire.JsonWebKey, ValidationError> => {
  const fail = (message: string) => Effect.fail(new ValidationError({ operation, field: "key", message }))
  if (typeof input !== "object" || input === null) return fail("key must be a JSON Web Key object")
  const jwk = input as ImportJsonWebKey
  const family = typeof jwk.kty === "string" ? familyOf(jwk.kty) : undefined
  if (family !== "RSA" && family !== "EC") {
    return fail(`key.kty must be RSA, RSA-HSM, EC or EC-HSM, got ${typeof jwk.kty === "string" ? JSON.stringify(jwk.kty.slice(0, 20)) : typeof jwk.kty}`)
  }
  const d = reveal(jwk.d)
  const privates = { d, p: reveal(jwk.p), q: reveal(jwk.q), dp: reveal(jwk.dp), dq: reveal(jwk.dq), qi: reveal(jwk.qi) }
  for (const [member, value] of Object.entries(privates)) {
    if (value !== undefined && !isBytes(value)) return fail(`key.${member} must be a non-empty Uint8Array`)
  }
  if (!isBytes(d)) return fail("key.d (the private key) is required to import a key")
  const privateMember = (name: keyof typeof privates): { readonly [k: string]: Redacted.Redacted<Uint8Array> } => {
    const value = privates[name]
    return value === undefined ? {} : { [name]: Redacted.make(value) }
  }
  const common = {
    kty: jwk.kty,
    ...(jwk.keyOps === undefined ? {} : { key_ops: jwk.keyOps })
  }
  if (family === "RSA") {
    if (!isBytes(jwk.n) || !isBytes(jwk.e)) return fail("an RSA key needs n and e")
    return Effect.succeed({
      ...common,
      n: stripLeadingZeros(jwk.n),
      e: stripLeadingZeros(jwk.e),
      ...privateMember("d"),
      ...privateMember("p"),
      ...privateMember("q"),
      ...privateMember("dp"),
      ...privateMember("dq"),
      ...privateMember("qi")
    })
  }
  if (typeof jwk.crv !== "string" || !isCurveName(jwk.crv)) return fail("an EC key needs crv: P-256, P-384, P-521 or P-256K")
  if (!isBytes(jwk.x) || !isBytes(jwk.y)) return fail("an EC key needs x and y")
  const size = CURVE_BYTES[jwk.crv as CurveName]
  if (stripLeadingZeros(jwk.x).length > size || stripLeadingZeros(jwk.y).length > size || stripLeadingZeros(d).length > size) {
    return fail(`the coordinates or private scalar are longer than ${size} bytes for ${jwk.crv}`)
  }
  return Effect.succeed({
    ...common,
    crv: jwk.crv,
    x: padTo(jwk.x, size),
    y: padTo(jwk.y, size),
    d: Redacted.make(padTo(d, size))
  })
}
