/**
 * Paged lists: `maxresults` (1..25, default 25) and an opaque `$skiptoken`. The `nextLink` is absolute on the origin of
 * the request itself (the SDKs refuse a follow-up URL on another origin) and keeps the path, `api-version` and
 * `maxresults`.
 *
 * The skip token remembers the sort key of the last item served rather than an offset, so creating or deleting objects
 * between pages neither repeats nor skips the others.
 *
 * @since 0.1.0
 */
import { MAX_PAGE_SIZE } from "@effect-azure/key-vault/wire/Rules"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"

/**
 * A parsed page request.
 *
 * @since 0.1.0
 * @category models
 */
export interface PageRequest {
  readonly maxResults: number
  /** Whether the client sent `maxresults` (then the next link repeats it). */
  readonly explicitMaxResults: boolean
  /** Sort key of the last item already served. */
  readonly after: string | undefined
}

/**
 * One page and the link to the next (null on the last page).
 *
 * @since 0.1.0
 * @category models
 */
export interface Page<A> {
  readonly items: ReadonlyArray<A>
  readonly nextLink: string | null
}

const TOKEN_PREFIX = "kvemu1:"

const queryParam = (url: URL, name: string): string | null => {
  for (const [key, value] of url.searchParams) {
    if (key.toLowerCase() === name) return value
  }
  return null
}

const encodeToken = (after: string): string => Encoding.encodeBase64Url(`${TOKEN_PREFIX}${after}`)

const decodeToken = (token: string): string | undefined => {
  const decoded = Encoding.decodeBase64UrlString(token)
  if (Either.isLeft(decoded) || !decoded.right.startsWith(TOKEN_PREFIX)) return undefined
  return decoded.right.slice(TOKEN_PREFIX.length)
}

/**
 * Reads `maxresults` and `$skiptoken`; the error is a `BadParameter` message.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (url: URL): Either.Either<PageRequest, string> => {
  const max = queryParam(url, "maxresults")
  let maxResults = MAX_PAGE_SIZE
  if (max !== null) {
    const n = /^\d{1,3}$/.test(max) ? Number(max) : Number.NaN
    if (!(n >= 1 && n <= MAX_PAGE_SIZE)) {
      return Either.left(`Invalid maxresults: it must be an integer between 1 and ${MAX_PAGE_SIZE}.`)
    }
    maxResults = n
  }
  const token = queryParam(url, "$skiptoken")
  let after: string | undefined
  if (token !== null) {
    after = decodeToken(token)
    if (after === undefined) return Either.left("Invalid $skiptoken: it was not issued by this vault.")
  }
  return Either.right({ maxResults, explicitMaxResults: max !== null, after })
}

/**
 * Cuts one page out of `items`, which must be sorted by `key` (ascending, unique).
 *
 * @since 0.1.0
 * @category utils
 */
export const paginate = <A>(
  items: ReadonlyArray<A>,
  key: (item: A) => string,
  request: PageRequest,
  url: URL,
  apiVersion: string
): Page<A> => {
  const after = request.after
  const remaining = after === undefined ? items : items.filter((item) => key(item) > after)
  const pageItems = remaining.slice(0, request.maxResults)
  const last = pageItems[pageItems.length - 1]
  if (remaining.length <= request.maxResults || last === undefined) return { items: pageItems, nextLink: null }
  const query = [
    `api-version=${encodeURIComponent(apiVersion)}`,
    `$skiptoken=${encodeToken(key(last))}`,
    ...(request.explicitMaxResults ? [`maxresults=${request.maxResults}`] : [])
  ]
  return { items: pageItems, nextLink: `${url.origin}${url.pathname}?${query.join("&")}` }
}
