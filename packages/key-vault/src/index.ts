/**
 * `@effect-azure/key-vault`: an Effect-native Azure Key Vault client.
 *
 * @since 0.1.0
 */

/**
 * The client assembled in one Layer (`KeyVault.layer`, `KeyVault.layerConfig`).
 *
 * @since 0.1.0
 */
export * as KeyVault from "./KeyVault.js"

/**
 * Vault URL, api-version and challenge options, from options or `Config`.
 *
 * @since 0.1.0
 */
export * as KeyVaultConfig from "./config/KeyVaultConfig.js"

/**
 * Key Vault as an Effect `ConfigProvider`: `Config` answered by the vault's secrets, with the environment as fallback.
 *
 * @since 0.1.0
 */
export * as VaultConfigProvider from "./config/VaultConfigProvider.js"

/**
 * The error taxonomy and the mapping of Key Vault error responses.
 *
 * @since 0.1.0
 */
export * as KeyVaultError from "./errors/KeyVaultError.js"

/**
 * Bearer tokens for the vault.
 *
 * @since 0.1.0
 */
export * as TokenProvider from "./auth/TokenProvider.js"

/**
 * The authentication challenge.
 *
 * @since 0.1.0
 */
export * as Challenge from "./auth/Challenge.js"

/**
 * The request pipeline.
 *
 * @since 0.1.0
 */
export * as Transport from "./transport/Transport.js"

/**
 * An `HttpClientResponse` over a body in memory (or a stream read whole on demand).
 *
 * @since 0.1.0
 */
export * as BufferedResponse from "./transport/BufferedResponse.js"

/**
 * Per-vault state (challenge, circuit breaker, rate limiter) as a scoped service shared through the Layer graph.
 *
 * @since 0.1.0
 */
export * as VaultState from "./transport/VaultState.js"

/**
 * Input checks that run before any request.
 *
 * @since 0.1.0
 */
export * as Validation from "./validation/Validation.js"

/**
 * The secrets service.
 *
 * @since 0.1.0
 */
export * as Secrets from "./secrets/Secrets.js"

/**
 * The secret model.
 *
 * @since 0.1.0
 */
export * as Secret from "./secrets/Secret.js"

/**
 * Wire primitives: Unix-seconds timestamps, base64url bytes, tags, list envelopes.
 *
 * @since 0.1.0
 */
export * as WireCommon from "./wire/Common.js"

/**
 * The Key Vault error envelope.
 *
 * @since 0.1.0
 */
export * as ErrorBody from "./wire/ErrorBody.js"

/**
 * Wire schemas for secrets.
 *
 * @since 0.1.0
 */
export * as SecretWire from "./wire/SecretWire.js"

/**
 * The service's limits on names, values and metadata.
 *
 * @since 0.1.0
 */
export * as Rules from "./wire/Rules.js"

/**
 * Object identifiers.
 *
 * @since 0.1.0
 */
export * as Identifier from "./wire/Identifier.js"

/**
 * Wire schemas for keys and cryptography.
 *
 * @since 0.1.0
 */
export * as KeyWire from "./wire/KeyWire.js"

/**
 * The cache under the services: TTL + LRU, refresh-ahead, coalescing, negative caching, stale-if-error.
 *
 * @since 0.1.0
 */
export * as VaultCache from "./cache/VaultCache.js"

/**
 * Cache settings.
 *
 * @since 0.1.0
 */
export * as CacheConfig from "./cache/CacheConfig.js"

/**
 * Cache metrics.
 *
 * @since 0.1.0
 */
export * as CacheMetrics from "./cache/CacheMetrics.js"

/**
 * The hook for a shared second cache tier (the fleet cache on Redis is `@effect-azure/key-vault/fleet/FleetCache`,
 * kept off this index because it loads the optional peer `ioredis`).
 *
 * @since 0.1.0
 */
export * as SharedTier from "./cache/SharedTier.js"

/**
 * Metrics of the fleet cache (the shared Redis tier).
 *
 * @since 0.1.0
 */
export * as FleetMetrics from "./fleet/FleetMetrics.js"

/**
 * Every metric the client records (operation duration, errors, HTTP attempts and retries, throttling, circuit
 * breaker, rate limiter, cache), with its documented name, unit and labels.
 *
 * @since 0.1.0
 */
export * as KeyVaultMetrics from "./telemetry/KeyVaultMetrics.js"

/**
 * The keys service.
 *
 * @since 0.1.0
 */
export * as Keys from "./keys/Keys.js"

/**
 * The key model.
 *
 * @since 0.1.0
 */
export * as Key from "./keys/Key.js"

/**
 * JSON Web Keys to import.
 *
 * @since 0.1.0
 */
export * as Jwk from "./keys/Jwk.js"

/**
 * The cache of fetched keys that cryptography validates against.
 *
 * @since 0.1.0
 */
export * as KeyMaterialCache from "./keys/KeyMaterialCache.js"

/**
 * The certificates service: create (a long-running operation), import, merge, policies, contacts, issuers, the
 * certificate with its private key, and its parsed X.509 view.
 *
 * @since 0.1.0
 */
export * as Certificates from "./certificates/Certificates.js"

/**
 * The certificate models.
 *
 * @since 0.1.0
 */
export * as Certificate from "./certificates/Certificate.js"

/**
 * A certificate's management policy, and its validation.
 *
 * @since 0.1.0
 */
export * as CertificatePolicy from "./certificates/CertificatePolicy.js"

/**
 * Wire schemas for certificates, contacts and issuers.
 *
 * @since 0.1.0
 */
export * as CertificateWire from "./wire/CertificateWire.js"

/**
 * The cryptography service: encrypt, decrypt, sign, verify, wrap and unwrap with a vault key.
 *
 * @since 0.1.0
 */
export * as Cryptography from "./crypto/Cryptography.js"

/**
 * The algorithm table shared by client and emulator.
 *
 * @since 0.1.0
 */
export * as Algorithms from "./crypto/Algorithms.js"

/**
 * Pure checks of an algorithm against a key, run before any cryptography.
 *
 * @since 0.1.0
 */
export * as AlgorithmValidator from "./crypto/AlgorithmValidator.js"

/**
 * Local public-key cryptography over digests.
 *
 * @since 0.1.0
 */
export * as LocalCrypto from "./crypto/LocalCrypto.js"

/**
 * Byte helpers (base64url, big-endian integers, constant-time comparison) shared with the emulator.
 *
 * @since 0.1.0
 */
export * as Bytes from "./crypto/Bytes.js"

/**
 * EMSA-PSS encoding and verification over a digest, shared with the emulator.
 *
 * @since 0.1.0
 */
export * as Pss from "./crypto/Pss.js"


/**
 * Retry, circuit breaker and rate limiter settings.
 *
 * @since 0.1.0
 */
export * as ResilienceConfig from "./resilience/ResilienceConfig.js"

/**
 * The circuit breaker.
 *
 * @since 0.1.0
 */
export * as CircuitBreaker from "./resilience/CircuitBreaker.js"

/**
 * The rate limiter.
 *
 * @since 0.1.0
 */
export * as RateLimiter from "./resilience/RateLimiter.js"

/**
 * The retry policy.
 *
 * @since 0.1.0
 */
export * as RetryPolicy from "./resilience/RetryPolicy.js"

/**
 * Access log replay: real or synthetic (Zipf) traffic through the client and its cache against an in-process vault,
 * in simulated time, reporting what the cache saved and the peak load against the vault's limits.
 *
 * @since 0.1.0
 */
export * as AccessLogReplay from "./replay/AccessLogReplay.js"

/**
 * The seeded generator behind the replay's workloads and the emulator's fault probabilities.
 *
 * @since 0.1.0
 */
export * as Prng from "./replay/Prng.js"

/**
 * Event Grid's Key Vault events and the rotation outcomes, one Schema.
 *
 * @since 0.1.0
 */
export * as RotationEvent from "./rotation/RotationEvent.js"

/**
 * The deduplicated event stream (a PubSub with a sliding buffer per subscriber).
 *
 * @since 0.1.0
 */
export * as RotationEvents from "./rotation/RotationEvents.js"

/**
 * Rotation metrics: events published, duplicates, drops, scans, rotation outcomes.
 *
 * @since 0.1.0
 */
export * as RotationMetrics from "./rotation/RotationMetrics.js"

/**
 * What the expiry monitor scans: secrets, keys, certificates (properties only).
 *
 * @since 0.1.0
 */
export * as ExpirySource from "./rotation/ExpirySource.js"

/**
 * The expiry monitor, on a Schedule.
 *
 * @since 0.1.0
 */
export * as ExpiryMonitor from "./rotation/ExpiryMonitor.js"

/**
 * Rotation handlers for secrets, keys and certificates.
 *
 * @since 0.1.0
 */
export * as RotationHandler from "./rotation/RotationHandler.js"

/**
 * Runs rotation handlers on expiry events; cache invalidation on new versions; the one-Layer setup.
 *
 * @since 0.1.0
 */
export * as Rotation from "./rotation/Rotation.js"

/**
 * The Event Grid / CloudEvents webhook, an HttpApp an application mounts.
 *
 * @since 0.1.0
 */
export * as EventGridWebhook from "./rotation/EventGridWebhook.js"
