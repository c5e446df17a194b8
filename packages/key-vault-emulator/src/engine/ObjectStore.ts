/**
 * One collection of a vault (secrets, keys, certificates): named objects, each a list of versions,
 * plus a soft-delete bin. It knows nothing about what a version holds, so every object type reuses it.
 *
 * Names are case-insensitive in Key Vault: entries are keyed by the lower-case name and remember the case used when
 * the object was first created (that case appears in identifiers).
 *
 * The store is plain mutable state. Callers run each operation inside one `Effect.sync` block, so a read-modify-write
 * never interleaves with another fiber (JavaScript runs it to completion).
 *
 * @since 0.1.0
 */

/**
 * What the store needs from a version: its id and creation time (used for ordering).
 *
 * @since 0.1.0
 * @category models
 */
export interface Versioned {
  /** 32 lower-case hex characters. */
  readonly version: string
  readonly created: Date
}

/**
 * A live object: its display name and versions in creation order (the last one is the latest).
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredObject<V extends Versioned> {
  readonly name: string
  readonly versions: ReadonlyArray<V>
}

/**
 * An object in the soft-delete bin, with all its versions.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeletedObject<V extends Versioned> {
  readonly object: StoredObject<V>
  readonly deletedDate: Date
  readonly scheduledPurgeDate: Date
}

/**
 * A collection of versioned objects with a soft-delete bin.
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectStore<V extends Versioned> {
  /** The live object with this name (any case), if any. */
  readonly getActive: (name: string) => StoredObject<V> | undefined
  /** The deleted object with this name (any case), if any. */
  readonly getDeleted: (name: string) => DeletedObject<V> | undefined
  /** Appends a version, creating the object (with this name's case) when it does not exist. */
  readonly addVersion: (name: string, version: V) => StoredObject<V>
  /** Replaces an existing version of a live object (same version id); returns false when there is none. */
  readonly replaceVersion: (name: string, version: V) => boolean
  /**
   * Removes one version of a live object (a certificate's pending version); the object goes when it was the last.
   * False when there is no such version.
   */
  readonly removeVersion: (name: string, version: string) => boolean
  /** Inserts a whole object (restore); the caller has checked that the name is free. */
  readonly insert: (object: StoredObject<V>) => void
  /** Moves a live object to the bin. */
  readonly softDelete: (name: string, deletedDate: Date, scheduledPurgeDate: Date) => DeletedObject<V> | undefined
  /** Moves a deleted object back to the live set. */
  readonly recover: (name: string) => StoredObject<V> | undefined
  /** Removes a deleted object for good; false when it was not in the bin. */
  readonly purge: (name: string) => boolean
  /** Purges every deleted object whose scheduled purge date is at or before `now`. */
  readonly purgeDue: (now: Date) => void
  /** Live objects ordered by lower-case name. */
  readonly listActive: () => ReadonlyArray<StoredObject<V>>
  /** Deleted objects ordered by lower-case name. */
  readonly listDeleted: () => ReadonlyArray<DeletedObject<V>>
}

/**
 * The key an object is stored under.
 *
 * @since 0.1.0
 * @category utils
 */
export const nameKey = (name: string): string => name.toLowerCase()

/**
 * The latest version of an object (the last one created).
 *
 * @since 0.1.0
 * @category utils
 */
export const latest = <V extends Versioned>(object: StoredObject<V>): V => {
  const last = object.versions[object.versions.length - 1]
  // An object is only ever created with one version and versions are never removed individually.
  if (last === undefined) throw new Error("invariant: stored object without versions")
  return last
}

/**
 * A version of an object by id (compared case-insensitively, as the service does for hex ids).
 *
 * @since 0.1.0
 * @category utils
 */
export const findVersion = <V extends Versioned>(object: StoredObject<V>, version: string): V | undefined => {
  const wanted = version.toLowerCase()
  return object.versions.find((v) => v.version === wanted)
}

/**
 * Versions ordered by creation time, then version id: the order version lists are served in.
 *
 * @since 0.1.0
 * @category utils
 */
export const sortedVersions = <V extends Versioned>(object: StoredObject<V>): ReadonlyArray<V> =>
  [...object.versions].sort((a, b) =>
    a.created.getTime() - b.created.getTime() || (a.version < b.version ? -1 : a.version > b.version ? 1 : 0)
  )

const byKey = <A>(entries: Iterable<[string, A]>): ReadonlyArray<A> =>
  [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, value]) => value)

/**
 * Makes the maps an engine keeps its state in, by a stable id (`secrets.active`, `certificates.policies`, ...).
 * Persistence passes maps that record every `set`, `delete` and `clear`; by default they are plain `Map`s. A map may
 * come back filled (state loaded at start).
 *
 * @since 0.1.0
 * @category models
 */
export type MapFactory = <A>(id: string) => Map<string, A>

/**
 * Plain, empty maps.
 *
 * @since 0.1.0
 * @category constructors
 */
export const plainMaps: MapFactory = <A>() => new Map<string, A>()

/**
 * An empty collection (or one filled from its maps, see `MapFactory`), its maps named `<prefix>.active` and
 * `<prefix>.deleted`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <V extends Versioned>(maps: MapFactory = plainMaps, prefix: string = "objects"): ObjectStore<V> => {
  const active = maps<StoredObject<V>>(`${prefix}.active`)
  const deleted = maps<DeletedObject<V>>(`${prefix}.deleted`)
  return {
    getActive: (name) => active.get(nameKey(name)),
    getDeleted: (name) => deleted.get(nameKey(name)),
    addVersion: (name, version) => {
      const key = nameKey(name)
      const existing = active.get(key)
      const next: StoredObject<V> = existing === undefined
        ? { name, versions: [version] }
        : { name: existing.name, versions: [...existing.versions, version] }
      active.set(key, next)
      return next
    },
    replaceVersion: (name, version) => {
      const key = nameKey(name)
      const existing = active.get(key)
      if (existing === undefined) return false
      const index = existing.versions.findIndex((v) => v.version === version.version)
      if (index < 0) return false
      const versions = [...existing.versions]
      versions[index] = version
      active.set(key, { name: existing.name, versions })
      return true
    },
    removeVersion: (name, version) => {
      const key = nameKey(name)
      const existing = active.get(key)
      if (existing === undefined) return false
      const versions = existing.versions.filter((v) => v.version !== version)
      if (versions.length === existing.versions.length) return false
      if (versions.length === 0) active.delete(key)
      else active.set(key, { name: existing.name, versions })
      return true
    },
    insert: (object) => {
      active.set(nameKey(object.name), object)
    },
    softDelete: (name, deletedDate, scheduledPurgeDate) => {
      const key = nameKey(name)
      const object = active.get(key)
      if (object === undefined) return undefined
      const entry: DeletedObject<V> = { object, deletedDate, scheduledPurgeDate }
      active.delete(key)
      deleted.set(key, entry)
      return entry
    },
    recover: (name) => {
      const key = nameKey(name)
      const entry = deleted.get(key)
      if (entry === undefined) return undefined
      deleted.delete(key)
      active.set(key, entry.object)
      return entry.object
    },
    purge: (name) => deleted.delete(nameKey(name)),
    purgeDue: (now) => {
      for (const [key, entry] of deleted) {
        if (entry.scheduledPurgeDate.getTime() <= now.getTime()) deleted.delete(key)
      }
    },
    listActive: () => byKey(active),
    listDeleted: () => byKey(deleted)
  }
}

/**
 * A change to the versions of a live object, as `observe` reports it. `Restored` is a whole object coming back
 * (restore from a backup, recover from the bin); `Deleted` is an object going to the bin.
 *
 * @since 0.1.0
 * @category models
 */
export type StoreChange<V extends Versioned> =
  | { readonly _tag: "Added"; readonly name: string; readonly version: V }
  | { readonly _tag: "Replaced"; readonly name: string; readonly version: V; readonly previous: V }
  | { readonly _tag: "Restored"; readonly object: StoredObject<V> }
  | { readonly _tag: "Deleted"; readonly name: string }

/**
 * The store with every change to its live objects reported to `listener`, synchronously, after the change (the
 * vault publishes its Event Grid events from there). Reads and the bin's own bookkeeping are not reported.
 *
 * @since 0.1.0
 * @category combinators
 */
export const observe = <V extends Versioned>(
  store: ObjectStore<V>,
  listener: (change: StoreChange<V>) => void
): ObjectStore<V> => ({
  ...store,
  addVersion: (name, version) => {
    const object = store.addVersion(name, version)
    listener({ _tag: "Added", name: object.name, version })
    return object
  },
  replaceVersion: (name, version) => {
    const object = store.getActive(name)
    const previous = object === undefined ? undefined : object.versions.find((v) => v.version === version.version)
    const replaced = store.replaceVersion(name, version)
    if (replaced && object !== undefined && previous !== undefined) {
      listener({ _tag: "Replaced", name: object.name, version, previous })
    }
    return replaced
  },
  insert: (object) => {
    store.insert(object)
    listener({ _tag: "Restored", object })
  },
  softDelete: (name, deletedDate, scheduledPurgeDate) => {
    const entry = store.softDelete(name, deletedDate, scheduledPurgeDate)
    if (entry !== undefined) listener({ _tag: "Deleted", name: entry.object.name })
    return entry
  },
  recover: (name) => {
    const object = store.recover(name)
    if (object !== undefined) listener({ _tag: "Restored", object })
    return object
  }
})
