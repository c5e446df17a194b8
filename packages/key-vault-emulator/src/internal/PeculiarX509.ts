/**
 * `@peculiar/x509`, loaded on first use. It registers its algorithms through tsyringe, which refuses to load without
 * the `reflect-metadata` polyfill; both are imported only when a certificate is first needed, so importing a module
 * that may need them costs nothing until then. One loader for the TLS server and the certificates engine.
 *
 * @since 0.1.0
 * @internal
 */
import type * as X509 from "@peculiar/x509"

let x509Module: Promise<typeof X509> | undefined

/**
 * The `@peculiar/x509` module (with `reflect-metadata` loaded before it).
 *
 * @since 0.1.0
 * @internal
 */
export const loadX509 = (): Promise<typeof X509> => {
  if (x509Module === undefined) {
    x509Module = import("reflect-metadata").then(() => import("@peculiar/x509"))
  }
  return x509Module
}
