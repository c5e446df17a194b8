/**
 * Maps a method and path to a Key Vault operation. Segments other than names and versions match
 * case-insensitively (clients differ), one trailing slash is ignored, and an empty version segment
 * (`/secrets/{name}/`, `/keys/{name}//encrypt`, which the JS SDK sends) means the latest version. Never a redirect.
 *
 * @since 0.1.0
 */
import { NAME_PATTERN } from "@effect-azure/key-vault/wire/Rules"

/**
 * A recognised secret operation.
 *
 * @since 0.1.0
 * @category models
 */
export type SecretRoute =
  | { readonly _tag: "SetSecret"; readonly name: string }
  | { readonly _tag: "GetSecret"; readonly name: string; readonly version: string | undefined }
  | { readonly _tag: "UpdateSecret"; readonly name: string; readonly version: string | undefined }
  | { readonly _tag: "DeleteSecret"; readonly name: string }
  | { readonly _tag: "ListSecrets" }
  | { readonly _tag: "ListSecretVersions"; readonly name: string }
  | { readonly _tag: "BackupSecret"; readonly name: string }
  | { readonly _tag: "RestoreSecret" }
  | { readonly _tag: "ListDeletedSecrets" }
  | { readonly _tag: "GetDeletedSecret"; readonly name: string }
  | { readonly _tag: "PurgeDeletedSecret"; readonly name: string }
  | { readonly _tag: "RecoverDeletedSecret"; readonly name: string }

/**
 * The cryptographic operations of `POST /keys/{name}/{version}/{operation}`, by their `key_ops` names.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyCryptoOperation = "encrypt" | "decrypt" | "sign" | "verify" | "wrapKey" | "unwrapKey"

/**
 * A recognised key operation (and `POST /rng`, which the service files under keys).
 *
 * @since 0.1.0
 * @category models
 */
export type KeyRoute =
  | { readonly _tag: "CreateKey"; readonly name: string }
  | { readonly _tag: "ImportKey"; readonly name: string }
  | { readonly _tag: "GetKey"; readonly name: string; readonly version: string | undefined }
  | { readonly _tag: "UpdateKey"; readonly name: string; readonly version: string | undefined }
  | { readonly _tag: "DeleteKey"; readonly name: string }
  | { readonly _tag: "ListKeys" }
  | { readonly _tag: "ListKeyVersions"; readonly name: string }
  | { readonly _tag: "BackupKey"; readonly name: string }
  | { readonly _tag: "RestoreKey" }
  | { readonly _tag: "RotateKey"; readonly name: string }
  | { readonly _tag: "GetKeyRotationPolicy"; readonly name: string }
  | { readonly _tag: "UpdateKeyRotationPolicy"; readonly name: string }
  | {
    readonly _tag: "KeyOperation"
    readonly name: string
    readonly version: string | undefined
    readonly operation: KeyCryptoOperation
  }
  | { readonly _tag: "ReleaseKey"; readonly name: string; readonly version: string | undefined }
  | { readonly _tag: "GetKeyAttestation"; readonly name: string; readonly version: string | undefined }
  | { readonly _tag: "ListDeletedKeys" }
  | { readonly _tag: "GetDeletedKey"; readonly name: string }
  | { readonly _tag: "PurgeDeletedKey"; readonly name: string }
  | { readonly _tag: "RecoverDeletedKey"; readonly name: string }
  | { readonly _tag: "GetRandomBytes" }

/**
 * A recognised certificate operation (contacts and issuers included). Issuer routes carry the issuer's name in
 * `name`.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateRoute =
  | { readonly _tag: "CreateCertificate"; readonly name: string }
  | { readonly _tag: "ImportCertificate"; readonly name: string }
  | { readonly _tag: "GetCertificate"; readonly name: string; readonly version: string | undefined }
  | { readonly _tag: "UpdateCertificate"; readonly name: string; readonly version: string | undefined }
  | { readonly _tag: "DeleteCertificate"; readonly name: string }
  | { readonly _tag: "ListCertificates" }
  | { readonly _tag: "ListCertificateVersions"; readonly name: string }
  | { readonly _tag: "BackupCertificate"; readonly name: string }
  | { readonly _tag: "RestoreCertificate" }
  | { readonly _tag: "GetCertificatePolicy"; readonly name: string }
  | { readonly _tag: "UpdateCertificatePolicy"; readonly name: string }
  | { readonly _tag: "GetCertificateOperation"; readonly name: string }
  | { readonly _tag: "UpdateCertificateOperation"; readonly name: string }
  | { readonly _tag: "DeleteCertificateOperation"; readonly name: string }
  | { readonly _tag: "MergeCertificate"; readonly name: string }
  | { readonly _tag: "GetCertificateContacts" }
  | { readonly _tag: "SetCertificateContacts" }
  | { readonly _tag: "DeleteCertificateContacts" }
  | { readonly _tag: "ListCertificateIssuers" }
  | { readonly _tag: "GetCertificateIssuer"; readonly name: string }
  | { readonly _tag: "SetCertificateIssuer"; readonly name: string }
  | { readonly _tag: "UpdateCertificateIssuer"; readonly name: string }
  | { readonly _tag: "DeleteCertificateIssuer"; readonly name: string }
  | { readonly _tag: "ListDeletedCertificates" }
  | { readonly _tag: "GetDeletedCertificate"; readonly name: string }
  | { readonly _tag: "PurgeDeletedCertificate"; readonly name: string }
  | { readonly _tag: "RecoverDeletedCertificate"; readonly name: string }

/**
 * A recognised operation.
 *
 * @since 0.1.0
 * @category models
 */
export type Route = SecretRoute | KeyRoute | CertificateRoute

const keyRouteTags: ReadonlySet<string> = new Set<KeyRoute["_tag"]>([
  "CreateKey",
  "ImportKey",
  "GetKey",
  "UpdateKey",
  "DeleteKey",
  "ListKeys",
  "ListKeyVersions",
  "BackupKey",
  "RestoreKey",
  "RotateKey",
  "GetKeyRotationPolicy",
  "UpdateKeyRotationPolicy",
  "KeyOperation",
  "ReleaseKey",
  "GetKeyAttestation",
  "ListDeletedKeys",
  "GetDeletedKey",
  "PurgeDeletedKey",
  "RecoverDeletedKey",
  "GetRandomBytes"
])

/**
 * Whether a route is a key operation (served by `KeyRoutes`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isKeyRoute = (route: Route): route is KeyRoute => keyRouteTags.has(route._tag)

const certificateRouteTags: ReadonlySet<string> = new Set<CertificateRoute["_tag"]>([
  "CreateCertificate",
  "ImportCertificate",
  "GetCertificate",
  "UpdateCertificate",
  "DeleteCertificate",
  "ListCertificates",
  "ListCertificateVersions",
  "BackupCertificate",
  "RestoreCertificate",
  "GetCertificatePolicy",
  "UpdateCertificatePolicy",
  "GetCertificateOperation",
  "UpdateCertificateOperation",
  "DeleteCertificateOperation",
  "MergeCertificate",
  "GetCertificateContacts",
  "SetCertificateContacts",
  "DeleteCertificateContacts",
  "ListCertificateIssuers",
  "GetCertificateIssuer",
  "SetCertificateIssuer",
  "UpdateCertificateIssuer",
  "DeleteCertificateIssuer",
  "ListDeletedCertificates",
  "GetDeletedCertificate",
  "PurgeDeletedCertificate",
  "RecoverDeletedCertificate"
])

/**
 * Whether a route is a certificate operation (served by `CertificateRoutes`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isCertificateRoute = (route: Route): route is CertificateRoute => certificateRouteTags.has(route._tag)

/**
 * The outcome of routing: an operation, or why there is none.
 *
 * @since 0.1.0
 * @category models
 */
export type RouteMatch =
  | { readonly _tag: "Matched"; readonly route: Route }
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "MethodNotAllowed"; readonly allow: ReadonlyArray<string> }
  | { readonly _tag: "InvalidName" }

type Handlers = Readonly<Partial<Record<string, () => Route>>>

const matched = (route: Route): RouteMatch => ({ _tag: "Matched", route })
const notFound: RouteMatch = { _tag: "NotFound" }

const decodeSegment = (segment: string): string | undefined => {
  // Most segments carry no escape; decoding them anyway costs a call and a copy per segment per request.
  if (!segment.includes("%")) return segment
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

const routed = new WeakMap<object, RouteMatch>()

/**
 * Routes a request once: the request pipeline (to name the operation for the journal and fault rules) and the app
 * both need the match, and routing is a measurable share of a small request, so the match is remembered per request
 * object. The URL and method of an `EmulatorRequest` never change once built.
 *
 * @since 0.1.0
 * @category parsing
 */
export const routeRequest = (request: { readonly method: string; readonly url: URL }): RouteMatch => {
  let match = routed.get(request)
  if (match === undefined) {
    match = route(request.method, request.url.pathname)
    routed.set(request, match)
  }
  return match
}

/**
 * Routes a request. `name` segments are checked against the shared name rule only once the route and verb are known,
 * so an unknown path is a 404 and a wrong verb a 405 whatever the name.
 *
 * @since 0.1.0
 * @category parsing
 */
export const route = (method: string, pathname: string): RouteMatch => {
  const raw = pathname.split("/").slice(1)
  if (raw.length > 1 && raw[raw.length - 1] === "") raw.pop()
  const segments: Array<string> = []
  for (const segment of raw) {
    const decoded = decodeSegment(segment)
    if (decoded === undefined) return notFound
    segments.push(decoded)
  }
  const [collection, name, action, sub, ...rest] = segments
  if (collection === undefined || rest.length > 0) return notFound

  const choose = (handlers: Handlers, nameToCheck: string | undefined): RouteMatch => {
    const handler = handlers[method.toUpperCase()]
    if (handler === undefined) return { _tag: "MethodNotAllowed", allow: Object.keys(handlers) }
    if (nameToCheck !== undefined && !NAME_PATTERN.test(nameToCheck)) return { _tag: "InvalidName" }
    return matched(handler())
  }

  switch (collection.toLowerCase()) {
    case "secrets": {
      if (sub !== undefined) return notFound
      if (name === undefined) return choose({ GET: () => ({ _tag: "ListSecrets" }) }, undefined)
      if (action === undefined) {
        if (name.toLowerCase() === "restore" && method.toUpperCase() === "POST") {
          return matched({ _tag: "RestoreSecret" })
        }
        return choose({
          GET: () => ({ _tag: "GetSecret", name, version: undefined }),
          PUT: () => ({ _tag: "SetSecret", name }),
          PATCH: () => ({ _tag: "UpdateSecret", name, version: undefined }),
          DELETE: () => ({ _tag: "DeleteSecret", name })
        }, name)
      }
      switch (action.toLowerCase()) {
        case "versions":
          return choose({ GET: () => ({ _tag: "ListSecretVersions", name }) }, name)
        case "backup":
          return choose({ POST: () => ({ _tag: "BackupSecret", name }) }, name)
        default: {
          const version = action === "" ? undefined : action
          return choose({
            GET: () => ({ _tag: "GetSecret", name, version }),
            PATCH: () => ({ _tag: "UpdateSecret", name, version })
          }, name)
        }
      }
    }
    case "deletedsecrets":
      return routeDeleted("Secret", name, action, sub, choose)
    case "keys":
      return routeKeys(method, name, action, sub, choose)
    case "deletedkeys":
      return routeDeleted("Key", name, action, sub, choose)
    case "rng":
      return name === undefined ? choose({ POST: () => ({ _tag: "GetRandomBytes" }) }, undefined) : notFound
    case "certificates":
      return routeCertificates(method, name, action, sub, choose)
    case "deletedcertificates":
      return routeDeleted("Certificate", name, action, sub, choose)
    default:
      return notFound
  }
}

const cryptoOperations: Readonly<Record<string, KeyCryptoOperation>> = {
  encrypt: "encrypt",
  decrypt: "decrypt",
  sign: "sign",
  verify: "verify",
  wrapkey: "wrapKey",
  unwrapkey: "unwrapKey"
}

/** The action segments after a version (or an empty version): crypto, release and attestation. */
const versionedKeyAction = (
  name: string,
  version: string | undefined,
  action: string
): Handlers | undefined => {
  const lower = action.toLowerCase()
  const operation = cryptoOperations[lower]
  if (operation !== undefined) return { POST: () => ({ _tag: "KeyOperation", name, version, operation }) }
  if (lower === "release") return { POST: () => ({ _tag: "ReleaseKey", name, version }) }
  if (lower === "attestation") return { GET: () => ({ _tag: "GetKeyAttestation", name, version }) }
  return undefined
}

// The deleted bin has one grammar for every object type: list, get, purge, recover.
const routeDeleted = (
  kind: "Secret" | "Key" | "Certificate",
  name: string | undefined,
  action: string | undefined,
  sub: string | undefined,
  choose: (handlers: Handlers, nameToCheck: string | undefined) => RouteMatch
): RouteMatch => {
  if (sub !== undefined) return notFound
  // Each tag below is a member of `Route` for every `kind` (ListDeletedSecrets, GetDeletedKey, ...).
  const route = (tag: string, fields: object = {}) => () => ({ _tag: tag, ...fields }) as Route
  if (name === undefined) return choose({ GET: route(`ListDeleted${kind}s`) }, undefined)
  if (action === undefined) {
    return choose({
      GET: route(`GetDeleted${kind}`, { name }),
      DELETE: route(`PurgeDeleted${kind}`, { name })
    }, name)
  }
  if (action.toLowerCase() === "recover") return choose({ POST: route(`RecoverDeleted${kind}`, { name }) }, name)
  return notFound
}

const routeKeys = (
  method: string,
  name: string | undefined,
  action: string | undefined,
  sub: string | undefined,
  choose: (handlers: Handlers, nameToCheck: string | undefined) => RouteMatch
): RouteMatch => {
  if (name === undefined) return choose({ GET: () => ({ _tag: "ListKeys" }) }, undefined)
  if (action === undefined) {
    if (name.toLowerCase() === "restore" && method.toUpperCase() === "POST") return matched({ _tag: "RestoreKey" })
    return choose({
      GET: () => ({ _tag: "GetKey", name, version: undefined }),
      PUT: () => ({ _tag: "ImportKey", name }),
      PATCH: () => ({ _tag: "UpdateKey", name, version: undefined }),
      DELETE: () => ({ _tag: "DeleteKey", name })
    }, name)
  }
  const version = action === "" ? undefined : action
  if (sub !== undefined) {
    const handlers = versionedKeyAction(name, version, sub)
    return handlers === undefined ? notFound : choose(handlers, name)
  }
  switch (action.toLowerCase()) {
    case "create":
      return choose({ POST: () => ({ _tag: "CreateKey", name }) }, name)
    case "versions":
      return choose({ GET: () => ({ _tag: "ListKeyVersions", name }) }, name)
    case "backup":
      return choose({ POST: () => ({ _tag: "BackupKey", name }) }, name)
    case "rotate":
      return choose({ POST: () => ({ _tag: "RotateKey", name }) }, name)
    case "rotationpolicy":
      return choose({
        GET: () => ({ _tag: "GetKeyRotationPolicy", name }),
        PUT: () => ({ _tag: "UpdateKeyRotationPolicy", name })
      }, name)
    default: {
      // `/keys/{name}/encrypt` (no version segment at all) is not in the spec; it is served as the latest version
      // for hand-written clients. Versions are hex, so these words never collide with one.
      const versionless = versionedKeyAction(name, undefined, action)
      if (versionless !== undefined) return choose(versionless, name)
      return choose({
        GET: () => ({ _tag: "GetKey", name, version }),
        PATCH: () => ({ _tag: "UpdateKey", name, version })
      }, name)
    }
  }
}

/**
 * `/certificates/...`: the collection-level words (`restore`, `contacts`, `issuers`) take precedence over a
 * certificate of that name, as in the service.
 */
const routeCertificates = (
  method: string,
  name: string | undefined,
  action: string | undefined,
  sub: string | undefined,
  choose: (handlers: Handlers, nameToCheck: string | undefined) => RouteMatch
): RouteMatch => {
  if (name === undefined) return choose({ GET: () => ({ _tag: "ListCertificates" }) }, undefined)
  const word = name.toLowerCase()
  if (action === undefined) {
    if (word === "restore" && method.toUpperCase() === "POST") return matched({ _tag: "RestoreCertificate" })
    if (word === "contacts") {
      return choose({
        GET: () => ({ _tag: "GetCertificateContacts" }),
        PUT: () => ({ _tag: "SetCertificateContacts" }),
        DELETE: () => ({ _tag: "DeleteCertificateContacts" })
      }, undefined)
    }
    if (word === "issuers") return choose({ GET: () => ({ _tag: "ListCertificateIssuers" }) }, undefined)
    return choose({
      GET: () => ({ _tag: "GetCertificate", name, version: undefined }),
      PATCH: () => ({ _tag: "UpdateCertificate", name, version: undefined }),
      DELETE: () => ({ _tag: "DeleteCertificate", name })
    }, name)
  }
  if (word === "issuers") {
    if (sub !== undefined) return notFound
    const issuer = action
    return choose({
      GET: () => ({ _tag: "GetCertificateIssuer", name: issuer }),
      PUT: () => ({ _tag: "SetCertificateIssuer", name: issuer }),
      PATCH: () => ({ _tag: "UpdateCertificateIssuer", name: issuer }),
      DELETE: () => ({ _tag: "DeleteCertificateIssuer", name: issuer })
    }, issuer)
  }
  const lower = action.toLowerCase()
  if (sub !== undefined) {
    return lower === "pending" && sub.toLowerCase() === "merge"
      ? choose({ POST: () => ({ _tag: "MergeCertificate", name }) }, name)
      : notFound
  }
  switch (lower) {
    case "create":
      return choose({ POST: () => ({ _tag: "CreateCertificate", name }) }, name)
    case "import":
      return choose({ POST: () => ({ _tag: "ImportCertificate", name }) }, name)
    case "versions":
      return choose({ GET: () => ({ _tag: "ListCertificateVersions", name }) }, name)
    case "backup":
      return choose({ POST: () => ({ _tag: "BackupCertificate", name }) }, name)
    case "policy":
      return choose({
        GET: () => ({ _tag: "GetCertificatePolicy", name }),
        PATCH: () => ({ _tag: "UpdateCertificatePolicy", name })
      }, name)
    case "pending":
      return choose({
        GET: () => ({ _tag: "GetCertificateOperation", name }),
        PATCH: () => ({ _tag: "UpdateCertificateOperation", name }),
        DELETE: () => ({ _tag: "DeleteCertificateOperation", name })
      }, name)
    default: {
      const version = action === "" ? undefined : action
      return choose({
        GET: () => ({ _tag: "GetCertificate", name, version }),
        PATCH: () => ({ _tag: "UpdateCertificate", name, version })
      }, name)
    }
  }
}
