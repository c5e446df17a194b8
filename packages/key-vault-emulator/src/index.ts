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
 * The engine's typed failures.
 *
 * @since 0.1.0
 */
export * as VaultError from "./engine/VaultError.js"

/**
 * In-process `HttpClient` Layer for `@effect/platform` clients.
 *
 * @since 0.1.0
 */
export * as HttpClientLayer from "./testing/HttpClientLayer.js"

/**
 * In-process transport for the official Azure SDK clients.
 *
 * @since 0.1.0
 */
export * as AzureSdkTransport from "./testing/AzureSdkTransport.js"

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
 * The `key-vault-emulator` command.
 *
 * @since 0.1.0
 */
export * as Cli from "./cli/Cli.js"
