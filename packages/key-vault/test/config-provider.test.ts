/**
 * VaultConfigProvider: `Config` answered by the vault, against the in-process emulator (TestClock drives every wait).
 * Every setup has a `RotationEvents` stream, as an application receiving Event Grid deliveries would.
 */
import * as Emulator from "@effect-azure/key-vault-emulator/testing/HttpClientLayer"
import type { FaultRule } from "@effect-azure/key-vault-emulator/faults/FaultRule"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TokenProvider from "../src/auth/TokenProvider.js"
import type { CacheOptions } from "../src/cache/CacheConfig.js"
import * as VaultConfigProvider from "../src/config/VaultConfigProvider.js"
import * as KeyVault from "../src/KeyVault.js"
import type { ResilienceOptions } from "../src/resilience/ResilienceConfig.js"
import { makeKeyVaultEvent } from "../src/rotation/RotationEvent.js"
import * as RotationEvents from "../src/rotation/RotationEvents.js"
import { awaitOnTestClock } from "./test-clock-support.js"

const VAULT = "https://myvault.vault.azure.net"

interface Setup {
  readonly secrets?: Readonly<Record<string, string>>
  readonly cache?: CacheOptions
  readonly resilience?: ResilienceOptions
  readonly faults?: ReadonlyArray<FaultRule>
  readonly provider?: VaultConfigProvider.VaultConfigProviderLayerOptions
}

/**
 * The client over a fresh emulator seeded with `secrets` (written into its engine, so the client's cache knows
 * nothing of them) and a rotation event stream; `setup` installs the provider on it. The emulator stays in the
 * context to read its journal.
 */
const seeded = (options: Setup = {}) => {
  const emulator = Emulator.layerFresh(options.faults === undefined ? {} : { faults: options.faults })
  const seed = Layer.effectDiscard(Effect.flatMap(Emulator.EmulatorService, (e) =>
    Effect.forEach(
      Object.entries(options.secrets ?? {}),
      ([name, value]) => Effect.orDie(e.engine.secrets.set(name, { value: Redacted.make(value) })),
      { discard: true }
    )))
  const client = KeyVault.layer({
    vaultUrl: VAULT,
    cache: options.cache ?? {},
    resilience: options.resilience ?? {}
  }).pipe(
    Layer.provideMerge(Layer.merge(emulator, TokenProvider.layerStatic())),
    Layer.merge(RotationEvents.layer())
  )
  return seed.pipe(Layer.provideMerge(client))
}

const setup = (options: Setup = {}) =>
  VaultConfigProvider.layer({ environment: ConfigProvider.fromMap(new Map()), ...options.provider }).pipe(
    Layer.provideMerge(seeded(options))
  )

const requests = (operation: "getSecret" | "listSecrets", name?: string) =>
  Effect.flatMap(Emulator.EmulatorService, (e) =>
    // The first request of all goes out without a token (the challenge probe); it is not a read.
    Effect.map(
      e.journal.query(name === undefined ? { operation, tokenPresent: true } : { operation, name, tokenPresent: true }),
      (entries) => entries.length
    ))

const setSecret = (name: string, value: string) =>
  Effect.flatMap(Emulator.EmulatorService, (e) => Effect.orDie(e.engine.secrets.set(name, { value: Redacted.make(value) })))

const failure = <A>(effect: Effect.Effect<A, ConfigError.ConfigError>) =>
  Effect.map(Effect.flip(effect), (error) => ({ error, text: `${String(error)} ${JSON.stringify(error)}` }))

describe("VaultConfigProvider: names", () => {
  it("maps config paths to secret names by the documented default", () => {
    expect(VaultConfigProvider.secretName(["DATABASE_PASSWORD"])).toBe("database-password")
    expect(VaultConfigProvider.secretName(["databasePassword"])).toBe("database-password")
    expect(VaultConfigProvider.secretName(["HTTPServer"])).toBe("http-server")
    expect(VaultConfigProvider.secretName(["db", "password"])).toBe("db--password")
    expect(VaultConfigProvider.secretName(["db.password"])).toBe("db--password")
    expect(VaultConfigProvider.secretName(["hosts", "[2]"])).toBe("hosts--2")
    expect(VaultConfigProvider.secretName(["DATABASE_PASSWORD"], "myapp")).toBe("myapp--database-password")
    expect(VaultConfigProvider.secretName(["Db", "Password"], "MyApp")).toBe("myapp--db--password")
  })

  it.effect("reads under an application prefix, or through a mapping function", () =>
    Effect.gen(function*() {
      const prefixed = yield* Config.redacted("DATABASE_PASSWORD")
      expect(Redacted.value(prefixed)).toBe("prefixed")
      // Outside the prefix nothing is read, even where a secret of the bare name exists.
      expect(Exit.isFailure(yield* Effect.exit(Config.string("OTHER")))).toBe(true)
      const provider = yield* VaultConfigProvider.VaultConfigProvider
      expect(provider.secretName(["db", "host"])).toBe("myapp--db--host")

      const custom = yield* Effect.scoped(
        VaultConfigProvider.make({ secretName: (path) => `cfg-${path.join("-").toLowerCase()}` })
      )
      expect(yield* custom.load(Config.nested(Config.string("HOST"), "DB"))).toBe("custom")
    }).pipe(Effect.provide(setup({
      secrets: {
        "myapp--database-password": "prefixed",
        "database-password": "bare",
        "other": "bare",
        "cfg-db-host": "custom"
      },
      provider: { prefix: "myapp" }
    }))))
})

describe("VaultConfigProvider: values", () => {
  const secrets = {
    "database--host": "db.internal",
    "database--port": "5432\n",
    "database--password": "s3cr3t, with a comma",
    "feature-enabled": "yes",
    "ratio": "0.75",
    "retries": "3",
    "timeout": "30 seconds",
    "release-date": "2024-05-01T00:00:00Z",
    "log-level": "warn",
    "mode": "blue",
    "endpoint": "https://api.example.com/v1",
    "hosts": "[\"a.example.com\", \"b.example.com\"]",
    "ports": "[80, 443]",
    "servers--0": "s0",
    "servers--1": "s1",
    "labels--team": "payments",
    "labels--tier": "gold"
  }

  it.effect("decodes nested configs and every primitive, keeping Config.redacted Redacted", () =>
    Effect.gen(function*() {
      const config = Config.all({
        database: Config.nested(
          Config.all({ host: Config.string("HOST"), port: Config.port("PORT"), password: Config.redacted("PASSWORD") }),
          "DATABASE"
        ),
        enabled: Config.boolean("FEATURE_ENABLED"),
        ratio: Config.number("RATIO"),
        retries: Config.integer("RETRIES"),
        timeout: Config.duration("TIMEOUT"),
        release: Config.date("RELEASE_DATE"),
        logLevel: Config.logLevel("LOG_LEVEL"),
        mode: Config.literal("blue", "green")("MODE"),
        endpoint: Config.url("ENDPOINT"),
        hosts: Config.array(Config.string(), "HOSTS"),
        ports: Config.array(Config.integer(), "PORTS"),
        servers: Config.array(Config.string(), "SERVERS"),
        labels: Config.hashMap(Config.string(), "LABELS"),
        fallback: Config.withDefault(Config.string("NOT_THERE"), "default")
      })
      const value = yield* config
      expect(value.database.host).toBe("db.internal")
      expect(value.database.port).toBe(5432)
      expect(Redacted.isRedacted(value.database.password)).toBe(true)
      // Commas are never separators: the value is the whole secret.
      expect(Redacted.value(value.database.password)).toBe("s3cr3t, with a comma")
      expect(String(value.database.password)).toBe("<redacted>")
      expect(value.enabled).toBe(true)
      expect(value.ratio).toBe(0.75)
      expect(value.retries).toBe(3)
      expect(Duration.toMillis(value.timeout)).toBe(30_000)
      expect(value.release.toISOString()).toBe("2024-05-01T00:00:00.000Z")
      expect(value.logLevel).toBe(LogLevel.Warning)
      expect(value.mode).toBe("blue")
      expect(value.endpoint.href).toBe("https://api.example.com/v1")
      expect(value.hosts).toEqual(["a.example.com", "b.example.com"])
      expect(value.ports).toEqual([80, 443])
      expect(value.servers).toEqual(["s0", "s1"])
      expect(HashMap.toEntries(value.labels).sort()).toEqual([["team", "payments"], ["tier", "gold"]])
      expect(value.fallback).toBe("default")
    }).pipe(Effect.provide(setup({ secrets }))))

  it.effect("an undecodable value is a ConfigError naming the secret and never showing the value", () =>
    Effect.gen(function*() {
      const cases = [
        Config.port("PORT"),
        Config.integer("RETRIES"),
        Config.boolean("ENABLED"),
        Config.duration("TIMEOUT"),
        Config.logLevel("LEVEL"),
        Config.literal("a", "b")("MODE"),
        Config.redacted(Config.integer("PIN")),
        Config.nested(Config.array(Config.integer(), "LIST"), "NESTED")
      ] as const
      const names = ["port", "retries", "enabled", "timeout", "level", "mode", "pin", "nested--list"]
      for (const [i, config] of cases.entries()) {
        const { error, text } = yield* failure(config as Config.Config<unknown>)
        expect(ConfigError.isInvalidData(error) || error._op === "Or").toBe(true)
        expect(text).toContain(`secret "${names[i]}" in myvault.vault.azure.net`)
        expect(text).not.toContain("XYZZY")
      }
      // Config.redacted hides its inner error; the provider still names the secret and what was expected.
      expect((yield* failure(Config.redacted(Config.integer("PIN")))).text).toContain(
        `secret "pin" in myvault.vault.azure.net does not hold an integer property (value not shown)`
      )
      expect((yield* failure(Config.duration("TIMEOUT"))).text).toContain(`secret "timeout" in myvault.vault.azure.net does not hold a duration`)
      // The environment has a good value, but a bad one in the vault is not silently replaced by it.
      const { error, text } = yield* failure(Config.integer("RETRIES"))
      expect(ConfigError.isInvalidData(error)).toBe(true)
      expect(text).toContain(`secret "retries" in myvault.vault.azure.net does not hold an integer property (value not shown)`)
    }).pipe(Effect.provide(setup({
      secrets: {
        port: "XYZZY-99999",
        retries: "XYZZY",
        enabled: "XYZZY",
        timeout: "soon XYZZY",
        level: "XYZZY",
        mode: "XYZZY",
        pin: "12XYZZY",
        "nested--list": "[1, \"XYZZY\"]"
      },
      provider: { environment: ConfigProvider.fromMap(new Map([["RETRIES", "5"]])) }
    }))))
})

describe("VaultConfigProvider: what never falls through or shows", () => {
  it.effect("a value check over several secrets that fails shows no part of any value", () =>
    Effect.gen(function*() {
      // `JSON.parse` quotes the first characters of what it refuses; the error is raised at no one secret's path.
      const config = Config.all({ p: Config.string("DB_PASSWORD"), h: Config.string("DB_HOST") }).pipe(
        Config.mapAttempt(({ p }) => JSON.parse(p) as unknown)
      )
      const { text } = yield* failure(config)
      expect(text).not.toContain("XYZZYXYZZY")
      expect(text).toContain("message withheld")
    }).pipe(Effect.provide(setup({ secrets: { "db-password": "XYZZYXYZZY-not-json-at-all", "db-host": "h" } }))))

  it.effect("lazy: a vault that cannot list its secrets fails a read of a map, never answers it from the environment", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.exit(Config.hashMap(Config.string(), "DB")))
      const exit = yield* awaitOnTestClock(fiber)
      expect(Exit.isFailure(exit)).toBe(true)
    }).pipe(Effect.provide(setup({
      secrets: { "db--host": "h", "db--password": "p" },
      resilience: { retry: false, circuitBreaker: false },
      faults: [{ operation: "listSecrets", fault: { _tag: "Status", status: 503 } }],
      // Nothing in the environment: were the failed listing taken for "no secrets", the map would read as empty.
      provider: { loading: "lazy", environment: ConfigProvider.fromMap(new Map()) }
    }))))
})

describe("VaultConfigProvider: sources", () => {
  const secrets = { shared: "from-vault", "vault-only": "v" }
  const environment = ConfigProvider.fromMap(new Map([["SHARED", "from-env"], ["ENV_ONLY", "e"]]))
  const read = Config.all({
    shared: Config.string("SHARED"),
    vault: Config.option(Config.string("VAULT_ONLY")),
    env: Config.option(Config.string("ENV_ONLY"))
  })

  it.effect("vault first: the environment answers what the vault does not have", () =>
    Effect.map(read, (v) => expect(v).toEqual({ shared: "from-vault", vault: Option.some("v"), env: Option.some("e") }))
      .pipe(Effect.provide(setup({ secrets, provider: { environment } }))))

  it.effect("environment first: a variable overrides a secret", () =>
    Effect.map(read, (v) => expect(v).toEqual({ shared: "from-env", vault: Option.some("v"), env: Option.some("e") }))
      .pipe(Effect.provide(setup({ secrets, provider: { environment, order: "environment-first" } }))))

  it.effect("vault only: a missing secret is MissingData naming it", () =>
    Effect.gen(function*() {
      expect(yield* read).toEqual({ shared: "from-vault", vault: Option.some("v"), env: Option.none() })
      const { error, text } = yield* failure(Config.string("ENV_ONLY"))
      expect(ConfigError.isMissingDataOnly(error)).toBe(true)
      expect(text).toContain(`no secret "env-only" in myvault.vault.azure.net`)
    }).pipe(Effect.provide(setup({ secrets, provider: { environment, order: "vault-only" } }))))

  it.effect("eager: names are listed once and a name not listed costs no request; lazy reads on first use", () =>
    Effect.gen(function*() {
      expect(yield* requests("listSecrets")).toBe(1)
      expect(yield* Config.option(Config.string("MISSING"))).toEqual(Option.none())
      expect(yield* requests("getSecret")).toBe(0)
      expect(yield* Config.string("SHARED")).toBe("from-vault")
      expect(yield* requests("listSecrets")).toBe(1)

      const lazy = yield* Effect.scoped(Effect.gen(function*() {
        const provider = yield* VaultConfigProvider.make({ loading: "lazy" })
        expect(yield* requests("listSecrets")).toBe(1)
        return yield* provider.load(Config.all([Config.option(Config.string("MISSING")), Config.string("VAULT_ONLY")]))
      }))
      expect(lazy).toEqual([Option.none(), "v"])
      // The missing name was asked for (a 404) in lazy mode.
      expect(yield* requests("getSecret", "missing")).toBe(1)
    }).pipe(Effect.provide(setup({ secrets, provider: { environment } }))))
})

describe("VaultConfigProvider: startup", () => {
  const noRetries: ResilienceOptions = { retry: false, circuitBreaker: false }

  it.effect("a vault outage fails startup with a typed error after the retries, not a hang", () =>
    Effect.gen(function*() {
      const layer = setup({
        resilience: noRetries,
        faults: [{ operation: "listSecrets", fault: { _tag: "Status", status: 503 } }],
        provider: { startupRetry: Schedule.spaced("2 seconds").pipe(Schedule.intersect(Schedule.recurs(3))) }
      })
      const exit = yield* awaitOnTestClock(yield* Effect.fork(Effect.exit(Effect.scoped(Layer.build(layer)))))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      expect(VaultConfigProvider.isVaultConfigUnavailableError(error)).toBe(true)
      if (!VaultConfigProvider.isVaultConfigUnavailableError(error)) return
      expect(error).toMatchObject({ reason: "Failed", attempts: 4, vaultUrl: VAULT })
      expect(error.cause?._tag).toBe("ServiceError")
      expect(error.message).toContain(`${VAULT} could not list its secrets at startup (4 attempts; last failure: ServiceError`)
    }))

  it.effect("a vault that does not answer fails startup at the timeout", () =>
    Effect.gen(function*() {
      const layer = setup({
        resilience: noRetries,
        faults: [{ operation: "listSecrets", fault: { _tag: "Stall" } }],
        provider: { startupTimeout: "10 seconds" }
      })
      const exit = yield* awaitOnTestClock(yield* Effect.fork(Effect.exit(Effect.scoped(Layer.build(layer)))))
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      expect(error).toMatchObject({ _tag: "VaultConfigUnavailableError", reason: "Timeout", attempts: 1 })
      expect((error as Error).message).toContain("did not list its secrets within 10s at startup")
    }))

  it.effect("a failure that waiting will not heal (403) fails at once", () =>
    Effect.gen(function*() {
      const layer = setup({ faults: [{ operation: "listSecrets", fault: { _tag: "Status", status: 403 } }] })
      const error = yield* Effect.flip(Effect.scoped(Layer.build(layer)))
      expect(error).toMatchObject({ _tag: "VaultConfigUnavailableError", reason: "Failed", attempts: 1 })
      expect(error.message).toContain("check the vault URL and that the identity may list secrets")
    }))

  it.effect("concurrent startup reads coalesce: one list, one GET per secret", () =>
    Effect.gen(function*() {
      const config = Config.all({
        a: Config.string("A"),
        b: Config.redacted("B"),
        c: Config.integer("C"),
        again: Config.string("A")
      })
      const values = yield* Effect.all(Array.from({ length: 10 }, () => config), { concurrency: "unbounded" })
      expect(values.every((v) => v.a === "1" && v.again === "1" && v.c === 3)).toBe(true)
      expect(yield* requests("listSecrets")).toBe(1)
      expect(yield* requests("getSecret")).toBe(3)
    }).pipe(Effect.provide(setup({ secrets: { a: "1", b: "2", c: "3" } }))))

  it.effect("one load fetches its secrets concurrently and once each, even without a cache", () =>
    Effect.gen(function*() {
      const value = yield* Config.all([Config.string("A"), Config.string("A"), Config.string("B")])
      expect(value).toEqual(["1", "1", "2"])
      expect(yield* requests("getSecret")).toBe(2)
    }).pipe(Effect.provide(setup({ secrets: { a: "1", b: "2" }, cache: { enabled: false } }))))
})

describe("VaultConfigProvider: live values", () => {
  const newVersion = (name: string, version: string) =>
    Effect.flatMap(RotationEvents.RotationEvents, (events) =>
      events.publish(makeKeyVaultEvent(
        "NewVersionCreated",
        { objectType: "secret", vaultUrl: VAULT, name, version, notBefore: undefined, expiresOn: undefined },
        new Date(0)
      )))

  it.scoped("a rotated secret is seen after its NewVersionCreated event, and changes emits it", () =>
    Effect.gen(function*() {
      const config = Config.redacted("DB_PASSWORD")
      expect(Redacted.value(yield* config)).toBe("v1")
      const out = yield* Queue.unbounded<Redacted.Redacted>()
      const fiber = yield* Effect.forkScoped(
        Stream.runForEach(VaultConfigProvider.changes(config), (v) => Queue.offer(out, v))
      )
      // The first value is emitted once the stream listens.
      expect(Redacted.value(yield* Queue.take(out))).toBe("v1")

      // Rotated behind the client's back: the cache still serves v1 until the event.
      const v2 = yield* setSecret("db-password", "v2")
      expect(Redacted.value(yield* config)).toBe("v1")
      yield* newVersion("db-password", v2.secret.version)
      expect(Redacted.value(yield* Queue.take(out))).toBe("v2")
      expect(Redacted.value(yield* config)).toBe("v2")

      // An event for a secret the config does not read, or a repeat of the version it has, emits nothing.
      yield* setSecret("other", "x")
      yield* newVersion("other", "0".repeat(32))
      yield* newVersion("db-password", v2.secret.version)
      const v3 = yield* setSecret("db-password", "v3")
      yield* newVersion("db-password", v3.secret.version)
      expect(Redacted.value(yield* Queue.take(out))).toBe("v3")
      expect(yield* Queue.size(out)).toBe(0)
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(setup({ secrets: { "db-password": "v1" }, cache: { ttl: "1 hour" } }))))

  it.scoped("a secret created after the eager listing is found once its event arrives", () =>
    Effect.gen(function*() {
      const late = Config.option(Config.string("LATE"))
      const out = yield* Queue.unbounded<Option.Option<string>>()
      yield* Effect.forkScoped(Stream.runForEach(VaultConfigProvider.changes(late), (v) => Queue.offer(out, v)))
      expect(yield* Queue.take(out)).toEqual(Option.none())
      const created = yield* setSecret("late", "here now")
      // Not listed at startup: still missing, and without a request.
      expect(yield* late).toEqual(Option.none())
      expect(yield* requests("getSecret", "late")).toBe(0)
      yield* newVersion("late", created.secret.version)
      expect(yield* Queue.take(out)).toEqual(Option.some("here now"))
      expect(yield* late).toEqual(Option.some("here now"))
    }).pipe(Effect.provide(setup({ secrets: { early: "e" } }))))

  it.scoped("a rotated secret is seen after the cache's TTL without an event, and changes polls it", () =>
    Effect.gen(function*() {
      const config = Config.string("API_KEY")
      expect(yield* config).toBe("k1")
      const out = yield* Queue.unbounded<string>()
      yield* Effect.forkScoped(Stream.runForEach(
        VaultConfigProvider.changes(config, { poll: Schedule.spaced("30 seconds") }),
        (v) => Queue.offer(out, v)
      ))
      expect(yield* Queue.take(out)).toBe("k1")
      yield* setSecret("api-key", "k2")
      yield* TestClock.adjust("30 seconds")
      expect(yield* config).toBe("k1")
      expect(yield* Queue.size(out)).toBe(0)
      yield* TestClock.adjust("31 seconds")
      expect(yield* config).toBe("k2")
      yield* TestClock.adjust("30 seconds")
      expect(yield* Queue.take(out)).toBe("k2")
    }).pipe(Effect.provide(setup({
      secrets: { "api-key": "k1" },
      cache: { ttl: "1 minute", jitter: 0, refreshAhead: false }
    }))))
})

describe("VaultConfigProvider: settings from Config", () => {
  const settings = (entries: ReadonlyArray<readonly [string, string]>) =>
    Layer.setConfigProvider(ConfigProvider.fromMap(new Map(entries)))

  it.effect("layerConfig reads prefix, loading and order from AZURE_KEYVAULT_CONFIG_*", () =>
    Effect.gen(function*() {
      const provider = yield* VaultConfigProvider.VaultConfigProvider
      expect(provider.loading).toBe("lazy")
      expect(provider.secretName(["DATABASE_PASSWORD"])).toBe("svc--database-password")
      // Lazy: nothing was listed at startup; the array of one secret per element lists once.
      expect(yield* requests("listSecrets")).toBe(0)
      expect(yield* Config.string("NAME")).toBe("svc")
      expect(yield* Config.array(Config.string(), "SERVERS")).toEqual(["s0", "s1"])
      expect(yield* Config.array(Config.string(), "SERVERS")).toEqual(["s0", "s1"])
      expect(yield* requests("listSecrets")).toBe(1)
      // vault-only: the process environment is not consulted (PATH is set in it).
      expect(process.env["PATH"]).toBeDefined()
      expect(Exit.isFailure(yield* Effect.exit(Config.string("PATH")))).toBe(true)
    }).pipe(Effect.provide(
      VaultConfigProvider.layerConfig().pipe(
        Layer.provide(settings([
          ["AZURE_KEYVAULT_CONFIG_PREFIX", "svc"],
          ["AZURE_KEYVAULT_CONFIG_LOADING", "lazy"],
          ["AZURE_KEYVAULT_CONFIG_ORDER", "vault-only"]
        ])),
        Layer.provideMerge(
seeded({ secrets: { "svc--name": "svc", "svc--servers--0": "s0", "svc--servers--1": "s1" } })
        )
      )
    )))

  it.effect("a setting that does not read fails layerConfig with a ConfigError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(
        VaultConfigProvider.layerConfig().pipe(
          Layer.provide(settings([["AZURE_KEYVAULT_CONFIG_PREFIX", "bad prefix--"]])),
          Layer.provide(seeded())
        )
      )))
      expect(String(error)).toContain("AZURE_KEYVAULT_CONFIG_PREFIX")
    }))
})
