/**
 * @since 0.1.0
 */

/**
 * The emulator's transport-neutral HTTP model.
 *
 * @since 0.1.0
 */
export * as Protocol from "./http/Protocol.js"

/**
 * The emulator entry point: `make`, options, and the `EmulatorService` tag.
 *
 * @since 0.1.0
 */
export * as Emulator from "./Emulator.js"

/**
 * The emulator's control side as Effects (vaults, faults, throttling, clock, journal, seed, export): what the admin
 * API, the dashboard and `emulator.admin` call.
 *
 * @since 0.1.0
 */
export * as Admin from "./admin/Admin.js"

/**
 * The Key Vault REST app over the engine.
 *
 * @since 0.1.0
 */
export * as App from "./http/App.js"

/**
 * The vault engine.
 *
 * @since 0.1.0
 */
export * as VaultEngine from "./engine/VaultEngine.js"

/**
 * The secret collection of the engine.
 *
 * @since 0.1.0
 */
export * as SecretEngine from "./engine/SecretEngine.js"

/**
 * The key collection of the engine (real RSA and EC cryptography).
 *
 * @since 0.1.0
 */
export * as KeyEngine from "./engine/KeyEngine.js"

/**
 * The certificate collection of the engine (real X.509, PKCS#12 and PEM; managed keys and secrets).
 *
 * @since 0.1.0
 */
export * as CertificateEngine from "./engine/CertificateEngine.js"

/**
 * Certificate policies: the model, the service's defaults and rules.
 *
 * @since 0.1.0
 */
export * as CertificatePolicy from "./engine/certificates/Policy.js"

/**
 * Key rotation policies: the default, validation, ISO 8601 durations.
 *
 * @since 0.1.0
 */
export * as KeyRotationPolicy from "./engine/KeyRotationPolicy.js"

/**
 * Key material: generation, public and private JWKs, validation of imported keys.
 *
 * @since 0.1.0
 */
export * as KeyMaterial from "./engine/crypto/KeyMaterial.js"

/**
 * The engine's typed failures.
 *
 * @since 0.1.0
 */
export * as VaultError from "./engine/VaultError.js"

/**
 * The emulator's movable clock: the caller's `Clock` plus an offset (`advance`, `set`).
 *
 * @since 0.1.0
 */
export * as EmulatorClock from "./clock/EmulatorClock.js"

/**
 * Event Grid on the emulator: Key Vault events as a Stream and to webhook subscriptions.
 *
 * @since 0.1.0
 */
export * as EventGrid from "./events/EventGrid.js"

/**
 * The request journal.
 *
 * @since 0.1.0
 */
export * as Journal from "./journal/Journal.js"

/**
 * Operation names of requests, shared by the journal, fault rules and throttling.
 *
 * @since 0.1.0
 */
export * as Operation from "./journal/Operation.js"

/**
 * Fault rules: the shape, validation and JSON reading.
 *
 * @since 0.1.0
 */
export * as FaultRule from "./faults/FaultRule.js"

/**
 * The fault-rule registry of an emulator.
 *
 * @since 0.1.0
 */
export * as Faults from "./faults/Faults.js"

/**
 * Throttling mode: the service's per-vault limits.
 *
 * @since 0.1.0
 */
export * as Throttle from "./faults/Throttle.js"

/**
 * In-process `HttpClient` Layer for `@effect/platform` clients.
 *
 * @since 0.1.0
 */
export * as HttpClientLayer from "./testing/HttpClientLayer.js"


/**
 * The HTTPS (or plain HTTP) server adapter around the app.
 *
 * @since 0.1.0
 */
export * as HttpsServer from "./server/HttpsServer.js"

/**
 * The local CA and server certificate.
 *
 * @since 0.1.0
 */
export * as Tls from "./server/Tls.js"

/**
 * A listener for every vault with a port of its own, following the vault registry.
 *
 * @since 0.1.0
 */
export * as VaultListeners from "./server/VaultListeners.js"

/**
 * The `key-vault-emulator` command.
 *
 * @since 0.1.0
 */
export * as Cli from "./cli/Cli.js"

/**
 * The vaults of one emulator: the default vault and named vaults, each with its own objects, settings and journal.
 *
 * @since 0.1.0
 */
export * as VaultRegistry from "./vaults/VaultRegistry.js"

/**
 * Seeding and export: one JSON format for vaults, secrets, keys and certificates.
 *
 * @since 0.1.0
 */
export * as Seed from "./vaults/Seed.js"

/**
 * State that survives restarts: an encrypted write-ahead log and snapshot under the state directory.
 *
 * @since 0.1.0
 */
export * as VaultState from "./persistence/VaultState.js"
