/**
 * Names a request by the Key Vault operation it asks for (`getSecret`, `createKey`, `sign`, ...), the vocabulary the
 * request journal, fault rules and throttling share. It reuses the app's own `Router`, so a request is named exactly
 * as it is served and there is one path grammar, not two that drift apart.
 *
 * @since 0.1.0
 */
import * as Router from "../http/Router.js"

/**
 * Every operation name, as in the REST API reference (camel case; the key crypto operations by their `key_ops`
 * names). `unknown` is a request that routes nowhere (404, 405, invalid name).
 *
 * @since 0.1.0
 * @category constants
 */
export const OPERATIONS = [
  "setSecret",
  "getSecret",
  "updateSecret",
  "deleteSecret",
  "listSecrets",
  "listSecretVersions",
  "backupSecret",
  "restoreSecret",
  "listDeletedSecrets",
  "getDeletedSecret",
  "purgeDeletedSecret",
  "recoverDeletedSecret",
  "createKey",
  "importKey",
  "getKey",
  "updateKey",
  "deleteKey",
  "listKeys",
  "listKeyVersions",
  "backupKey",
  "restoreKey",
  "rotateKey",
  "getKeyRotationPolicy",
  "updateKeyRotationPolicy",
  "encrypt",
  "decrypt",
  "sign",
  "verify",
  "wrapKey",
  "unwrapKey",
  "releaseKey",
  "getKeyAttestation",
  "listDeletedKeys",
  "getDeletedKey",
  "purgeDeletedKey",
  "recoverDeletedKey",
  "getRandomBytes",
  "createCertificate",
  "importCertificate",
  "getCertificate",
  "updateCertificate",
  "deleteCertificate",
  "listCertificates",
  "listCertificateVersions",
  "backupCertificate",
  "restoreCertificate",
  "getCertificatePolicy",
  "updateCertificatePolicy",
  "getCertificateOperation",
  "updateCertificateOperation",
  "deleteCertificateOperation",
  "mergeCertificate",
  "getCertificateContacts",
  "setCertificateContacts",
  "deleteCertificateContacts",
  "listCertificateIssuers",
  "getCertificateIssuer",
  "setCertificateIssuer",
  "updateCertificateIssuer",
  "deleteCertificateIssuer",
  "listDeletedCertificates",
  "getDeletedCertificate",
  "purgeDeletedCertificate",
  "recoverDeletedCertificate",
  "unknown"
] as const

/**
 * An operation name.
 *
 * @since 0.1.0
 * @category models
 */
export type OperationName = typeof OPERATIONS[number]

/**
 * Which family of throttling limits an operation counts against. Throttling counts certificate operations with the
 * secret ones that are not creates (`secretOther`).
 *
 * @since 0.1.0
 * @category models
 */
export type OperationFamily = "secret" | "key" | "certificate"

/**
 * What a request is: its operation, the object name it addresses (if any) and its throttling family.
 *
 * @since 0.1.0
 * @category models
 */
export interface Classified {
  readonly operation: OperationName
  readonly name: string | undefined
  readonly family: OperationFamily
}

const known: ReadonlySet<string> = new Set(OPERATIONS)

/**
 * Whether `name` is an operation name.
 *
 * @since 0.1.0
 * @category guards
 */
export const isOperationName = (name: string): name is OperationName => known.has(name)

// Exhaustive over the router's tags: a new route fails to compile here until it has a name.
const byTag: { readonly [K in Exclude<Router.Route["_tag"], "KeyOperation">]: OperationName } = {
  SetSecret: "setSecret",
  GetSecret: "getSecret",
  UpdateSecret: "updateSecret",
  DeleteSecret: "deleteSecret",
  ListSecrets: "listSecrets",
  ListSecretVersions: "listSecretVersions",
  BackupSecret: "backupSecret",
  RestoreSecret: "restoreSecret",
  ListDeletedSecrets: "listDeletedSecrets",
  GetDeletedSecret: "getDeletedSecret",
  PurgeDeletedSecret: "purgeDeletedSecret",
  RecoverDeletedSecret: "recoverDeletedSecret",
  CreateKey: "createKey",
  ImportKey: "importKey",
  GetKey: "getKey",
  UpdateKey: "updateKey",
  DeleteKey: "deleteKey",
  ListKeys: "listKeys",
  ListKeyVersions: "listKeyVersions",
  BackupKey: "backupKey",
  RestoreKey: "restoreKey",
  RotateKey: "rotateKey",
  GetKeyRotationPolicy: "getKeyRotationPolicy",
  UpdateKeyRotationPolicy: "updateKeyRotationPolicy",
  ReleaseKey: "releaseKey",
  GetKeyAttestation: "getKeyAttestation",
  ListDeletedKeys: "listDeletedKeys",
  GetDeletedKey: "getDeletedKey",
  PurgeDeletedKey: "purgeDeletedKey",
  RecoverDeletedKey: "recoverDeletedKey",
  GetRandomBytes: "getRandomBytes",
  CreateCertificate: "createCertificate",
  ImportCertificate: "importCertificate",
  GetCertificate: "getCertificate",
  UpdateCertificate: "updateCertificate",
  DeleteCertificate: "deleteCertificate",
  ListCertificates: "listCertificates",
  ListCertificateVersions: "listCertificateVersions",
  BackupCertificate: "backupCertificate",
  RestoreCertificate: "restoreCertificate",
  GetCertificatePolicy: "getCertificatePolicy",
  UpdateCertificatePolicy: "updateCertificatePolicy",
  GetCertificateOperation: "getCertificateOperation",
  UpdateCertificateOperation: "updateCertificateOperation",
  DeleteCertificateOperation: "deleteCertificateOperation",
  MergeCertificate: "mergeCertificate",
  GetCertificateContacts: "getCertificateContacts",
  SetCertificateContacts: "setCertificateContacts",
  DeleteCertificateContacts: "deleteCertificateContacts",
  ListCertificateIssuers: "listCertificateIssuers",
  GetCertificateIssuer: "getCertificateIssuer",
  SetCertificateIssuer: "setCertificateIssuer",
  UpdateCertificateIssuer: "updateCertificateIssuer",
  DeleteCertificateIssuer: "deleteCertificateIssuer",
  ListDeletedCertificates: "listDeletedCertificates",
  GetDeletedCertificate: "getDeletedCertificate",
  PurgeDeletedCertificate: "purgeDeletedCertificate",
  RecoverDeletedCertificate: "recoverDeletedCertificate"
}

const unknownRequest: Classified = { operation: "unknown", name: undefined, family: "secret" }

/**
 * Classifies a request by method and path (case-insensitive segments, version-less forms, as the app routes them).
 * Unroutable requests are `unknown` in the `secret` family: the service counts them as vault transactions.
 *
 * @since 0.1.0
 * @category parsing
 */
export const classify = (method: string, pathname: string): Classified => fromMatch(Router.route(method, pathname))

/**
 * `classify` for a request the app will serve: the route is computed once and shared with the app.
 *
 * @since 0.1.0
 * @category parsing
 */
export const classifyRequest = (request: { readonly method: string; readonly url: URL }): Classified =>
  fromMatch(Router.routeRequest(request))

const fromMatch = (match: Router.RouteMatch): Classified => {
  if (match._tag !== "Matched") return unknownRequest
  const route = match.route
  const name = "name" in route ? route.name : undefined
  const family: OperationFamily = Router.isKeyRoute(route)
    ? "key"
    : Router.isCertificateRoute(route)
    ? "certificate"
    : "secret"
  const operation = route._tag === "KeyOperation" ? route.operation : byTag[route._tag]
  return { operation, name, family }
}
