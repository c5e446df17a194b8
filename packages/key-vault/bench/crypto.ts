/**
 * Local vs remote cryptography, in one run against the emulator's HTTPS server on loopback:
 * RS256 verify (RSA-2048), ES256 verify over a digest and ES256 verifyData over a message (P-256) and RSA-OAEP-256
 * encrypt (RSA-2048), each through a client in `auto` mode (local once the public key is known) and one in
 * `remote-only` mode (a vault round trip per operation). `LocalCrypto.verifyData` on its own (ES256 natively in
 * `node:crypto`) is measured too, as the floor of what a local verifyData costs.
 *
 * Operations run one after another (concurrency 1), so remote figures are round-trip bound. Each measurement has a
 * warm-up, then `--rounds` rounds of `--round-ms` milliseconds; the reported figure is the median of the rounds.
 *
 *   npm run bench -- crypto [--rounds 5] [--round-ms 400] [--warmup-ms 300] [--no-keep-alive]
 *
 * The last line printed is one JSON object with every figure.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/Emulator"
import * as HttpsServer from "@effect-azure/key-vault-emulator/server/HttpsServer"
import * as Tls from "@effect-azure/key-vault-emulator/server/Tls"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import { Cryptography } from "../src/crypto/Cryptography.js"
import * as LocalCrypto from "../src/crypto/LocalCrypto.js"
import * as KeyVault from "../src/KeyVault.js"
import { Keys } from "../src/keys/Keys.js"
import * as Args from "./Args.js"
import { median } from "./Stats.js"

interface Settings {
  readonly rounds: number
  readonly roundMillis: number
  readonly warmupMillis: number
  readonly keepAlive: boolean
}

/** What `npm run bench -- crypto --help` prints. */
export const usage = `usage: npm run bench -- crypto [--rounds 5] [--round-ms 400] [--warmup-ms 300] [--no-keep-alive]
  --rounds N        rounds per contender (medians are reported)
  --round-ms MS     length of each round
  --warmup-ms MS    warm-up before measuring
  --no-keep-alive   a new TLS connection per remote call
Local vs remote (loopback HTTPS emulator) verify and encrypt; the last line is one JSON object.`

const parse = (argv: ReadonlyArray<string>): Settings => {
  const { values } = Args.parse(argv, {
    rounds: { type: "string" },
    "round-ms": { type: "string" },
    "warmup-ms": { type: "string" },
    "no-keep-alive": { type: "boolean" }
  })
  const positive = (flag: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!Number.isFinite(value) || value <= 0) throw new Args.UsageError(`--${flag} needs a positive number`)
    return value
  }
  return {
    rounds: positive("rounds", values.rounds, 5),
    roundMillis: positive("round-ms", values["round-ms"], 400),
    warmupMillis: positive("warmup-ms", values["warmup-ms"], 300),
    keepAlive: values["no-keep-alive"] !== true
  }
}

/** Runs `op` back to back for `millis` and answers operations per second. */
const throughput = <E>(op: Effect.Effect<unknown, E>, millis: number): Effect.Effect<number, E> =>
  Effect.gen(function*() {
    const start = performance.now()
    const deadline = start + millis
    let count = 0
    let now = start
    while (now < deadline) {
      yield* op
      count++
      now = performance.now()
    }
    return (count * 1000) / (now - start)
  })

const measure = <E>(label: string, op: Effect.Effect<unknown, E>, settings: Settings): Effect.Effect<number, E> =>
  Effect.gen(function*() {
    yield* throughput(op, settings.warmupMillis)
    const rounds: Array<number> = []
    for (let i = 0; i < settings.rounds; i++) rounds.push(yield* throughput(op, settings.roundMillis))
    const result = median(rounds)
    yield* Effect.sync(() =>
      console.log(
        `${label.padEnd(34)} median ${result.toFixed(0).padStart(8)} ops/s   rounds ${rounds.map((r) => r.toFixed(0)).join(" ")}`
      )
    )
    return result
  })

const ensure = (condition: boolean, message: string): Effect.Effect<void, Error> =>
  condition ? Effect.void : Effect.fail(new Error(message))

const program = (settings: Settings) =>
  Effect.gen(function*() {
    const stateDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kv-bench-crypto-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(stateDir, { recursive: true, force: true })))
    const emulator = yield* Emulator.make()
    const tls = yield* Tls.ensureTlsMaterial({ stateDir })
    const server = yield* HttpsServer.serve({ handler: emulator.handler, tls: { cert: tls.certPem, key: tls.keyPem } })
    // Keep-alive, as a production agent should be: otherwise every remote operation pays a TLS handshake too, and the
    // comparison would flatter local cryptography. `--no-keep-alive` measures that case.
    const http = NodeHttpClient.layerWithoutAgent.pipe(
      Layer.provide(NodeHttpClient.makeAgentLayer({ ca: tls.caCertPem, keepAlive: settings.keepAlive }))
    )
    // The rate limiter is off: it would cap the remote side at its share of Azure's 4,000 operations per 10 s (320/s)
    // and measure the budget instead of the round trip.
    const client = (localCryptography: "auto" | "remote-only") =>
      Layer.build(
        KeyVault.layer({
          vaultUrl: server.url,
          disableChallengeResourceVerification: true,
          localCryptography,
          resilience: { rateLimiter: false }
        }).pipe(
          Layer.provide(Layer.merge(http, TokenProvider.layerStatic()))
        )
      )
    const localContext = yield* client("auto")
    const remoteContext = yield* client("remote-only")
    const keys = Context.get(localContext, Keys)
    const local = Context.get(localContext, Cryptography)
    const remote = Context.get(remoteContext, Cryptography)

    yield* Effect.sync(() =>
      console.log(
        `crypto bench: emulator at ${server.url}, node ${process.version}, ${settings.rounds} rounds of ${settings.roundMillis} ms, concurrency 1, keep-alive ${settings.keepAlive}`
      )
    )
    yield* keys.createRsaKey("bench-rsa", { keySize: 2048 })
    yield* keys.createEcKey("bench-ec", { curve: "P-256" })
    const rsa = { name: "bench-rsa" }
    const ec = { name: "bench-ec" }

    const digest256 = new Uint8Array(Crypto.createHash("sha256").update("bench").digest())
    const rs256 = (yield* remote.sign(rsa, "RS256", digest256)).result
    const es256 = (yield* remote.sign(ec, "ES256", digest256)).result
    const message = new TextEncoder().encode("bench")
    const esKey = LocalCrypto.fromJwk((yield* keys.get("bench-ec")).key)
    if (esKey === undefined) return yield* Effect.fail(new Error("the P-256 key cannot be used locally"))
    const plaintext = Crypto.randomBytes(32)

    // Both paths must agree before they are timed.
    for (const crypto of [local, remote]) {
      yield* ensure((yield* crypto.verify(rsa, "RS256", digest256, rs256)).isValid, "RS256 signature did not verify")
      yield* ensure((yield* crypto.verify(ec, "ES256", digest256, es256)).isValid, "ES256 signature did not verify")
      yield* ensure((yield* crypto.verifyData(ec, "ES256", message, es256)).isValid, "ES256 verifyData failed")
      const encrypted = yield* crypto.encrypt(rsa, "RSA-OAEP-256", plaintext)
      const decrypted = yield* remote.decrypt(rsa, "RSA-OAEP-256", encrypted.result)
      yield* ensure(Buffer.from(decrypted.result).equals(plaintext), "RSA-OAEP-256 round trip failed")
    }

    const localVerify = yield* measure("RS256 verify, local", local.verify(rsa, "RS256", digest256, rs256), settings)
    const remoteVerify = yield* measure("RS256 verify, remote", remote.verify(rsa, "RS256", digest256, rs256), settings)
    const localEcVerify = yield* measure("ES256 verify, local", local.verify(ec, "ES256", digest256, es256), settings)
    const remoteEcVerify = yield* measure("ES256 verify, remote", remote.verify(ec, "ES256", digest256, es256), settings)
    const localEsData = yield* measure("ES256 verifyData, local", local.verifyData(ec, "ES256", message, es256), settings)
    const nativeEsData = yield* measure(
      "ES256 LocalCrypto.verifyData",
      Effect.sync(() => LocalCrypto.verifyData(esKey, "ES256", message, es256)),
      settings
    )
    const remoteEsData = yield* measure("ES256 verifyData, remote", remote.verifyData(ec, "ES256", message, es256), settings)
    const localEncrypt = yield* measure("RSA-OAEP-256 encrypt, local", local.encrypt(rsa, "RSA-OAEP-256", plaintext), settings)
    const remoteEncrypt = yield* measure("RSA-OAEP-256 encrypt, remote", remote.encrypt(rsa, "RSA-OAEP-256", plaintext), settings)

    const round = (n: number) => Math.round(n)
    const ratio = (a: number, b: number) => Math.round((a / b) * 10) / 10
    const summary = {
      suite: "crypto",
      node: process.version,
      rounds: settings.rounds,
      roundMillis: settings.roundMillis,
      concurrency: 1,
      keepAlive: settings.keepAlive,
      localVerifyOpsPerSec: round(localVerify),
      remoteVerifyOpsPerSec: round(remoteVerify),
      verifySpeedup: ratio(localVerify, remoteVerify),
      localEcVerifyOpsPerSec: round(localEcVerify),
      remoteEcVerifyOpsPerSec: round(remoteEcVerify),
      ecVerifySpeedup: ratio(localEcVerify, remoteEcVerify),
      localEs256VerifyDataOpsPerSec: round(localEsData),
      localEs256VerifyDataNativeOpsPerSec: round(nativeEsData),
      remoteEs256VerifyOpsPerSec: round(remoteEsData),
      es256VerifyDataSpeedup: ratio(localEsData, remoteEsData),
      localEncryptOpsPerSec: round(localEncrypt),
      remoteEncryptOpsPerSec: round(remoteEncrypt),
      encryptSpeedup: ratio(localEncrypt, remoteEncrypt)
    }
    yield* Effect.sync(() => {
      console.log(
        `local/remote: RS256 verify ${summary.verifySpeedup}x, ES256 verify ${summary.ecVerifySpeedup}x, ES256 verifyData ${summary.es256VerifyDataSpeedup}x, RSA-OAEP-256 encrypt ${summary.encryptSpeedup}x`
      )
      console.log(JSON.stringify(summary))
    })
  })

/**
 * Entry point for `bench/run.ts`.
 *
 * @since 0.1.0
 */
export const main = (argv: ReadonlyArray<string>): Promise<void> =>
  Effect.runPromise(Effect.scoped(program(parse(argv))))
