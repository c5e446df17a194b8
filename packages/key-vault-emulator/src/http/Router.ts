/**
 * Maps a method and path to a Key Vault operation. Segments other than names and versions match
 * case-insensitively (clients differ), one trailing slash is ignored, and an empty version segment
 * (`/secrets/{name}/`, which the JS SDK sends) means the latest version. Never a redirect.
 *
 * @since 0.1.0
 */
import { NAME_PATTERN } from "@effect-azure/key-vault/wire/Rules"

/**
 * A recognised operation.
 *
 * @since 0.1.0
 */
export type Route =
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
 * The outcome of routing: an operation, or why there is none.
 *
 * @since 0.1.0
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
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/**
 * Routes a request. `name` segments are checked against the shared name rule only once the route and verb are known,
 * so an unknown path is a 404 and a wrong verb a 405 whatever the name.
 *
 * @since 0.1.0
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
  const [collection, name, action, ...rest] = segments
  if (collection === undefined || rest.length > 0) return notFound

  const choose = (handlers: Handlers, nameToCheck: string | undefined): RouteMatch => {
    const handler = handlers[method.toUpperCase()]
    if (handler === undefined) return { _tag: "MethodNotAllowed", allow: Object.keys(handlers) }
    if (nameToCheck !== undefined && !NAME_PATTERN.test(nameToCheck)) return { _tag: "InvalidName" }
    return matched(handler())
  }

  switch (collection.toLowerCase()) {
    case "secrets": {
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
    case "deletedsecrets": {
      if (name === undefined) return choose({ GET: () => ({ _tag: "ListDeletedSecrets" }) }, undefined)
      if (action === undefined) {
        return choose({
          GET: () => ({ _tag: "GetDeletedSecret", name }),
          DELETE: () => ({ _tag: "PurgeDeletedSecret", name })
        }, name)
      }
      if (action.toLowerCase() === "recover") {
        return choose({ POST: () => ({ _tag: "RecoverDeletedSecret", name }) }, name)
      }
      return notFound
    }
    default:
      return notFound
  }
}
