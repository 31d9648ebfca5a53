/**
 * A small LRU of object URLs (`URL.createObjectURL`), revoked when they are
 * evicted or the cache is cleared. Lookups of the same key while one is being
 * fetched share that fetch; a failed fetch is not cached.
 */
export interface BlobCacheOptions {
  /** Object URLs kept at most. */
  max: number
  createObjectURL?: (blob: Blob) => string
  revokeObjectURL?: (url: string) => void
}

export function createBlobCache(options: BlobCacheOptions) {
  const create = options.createObjectURL ?? ((blob: Blob) => URL.createObjectURL(blob))
  const revoke = options.revokeObjectURL ?? ((url: string) => URL.revokeObjectURL(url))
  /** Insertion order is use order: the first key is the least recently used. */
  const urls = new Map<string, string>()
  const inflight = new Map<string, Promise<string>>()
  /** Bumped by `clear`: fetches that started before it do not fill the cache. */
  let generation = 0

  function touch(key: string, url: string): void {
    urls.delete(key)
    urls.set(key, url)
  }

  function put(key: string, blob: Blob): string {
    const old = urls.get(key)
    if (old !== undefined) revoke(old)
    const url = create(blob)
    touch(key, url)
    while (urls.size > Math.max(1, options.max)) {
      const [oldestKey, oldestUrl] = urls.entries().next().value as [string, string]
      urls.delete(oldestKey)
      revoke(oldestUrl)
    }
    return url
  }

  /** The cached URL of `key` (marked as used), if any. */
  function peek(key: string): string | undefined {
    const url = urls.get(key)
    if (url !== undefined) touch(key, url)
    return url
  }

  /** The URL of `key`, fetching its blob with `load` when it is not cached. */
  function get(key: string, load: () => Promise<Blob>): Promise<string> {
    const cached = peek(key)
    if (cached !== undefined) return Promise.resolve(cached)
    const running = inflight.get(key)
    if (running) return running
    const gen = generation
    const promise = load()
      .then((blob) => {
        // Cleared meanwhile (logout): nothing may outlive it.
        if (gen !== generation) throw new Error('cache cleared')
        return put(key, blob)
      })
      .finally(() => {
        if (inflight.get(key) === promise) inflight.delete(key)
      })
    inflight.set(key, promise)
    return promise
  }

  /** Revokes every URL (logout). */
  function clear(): void {
    generation++
    for (const url of urls.values()) revoke(url)
    urls.clear()
    inflight.clear()
  }

  return { get, peek, put, clear, has: (key: string) => urls.has(key), get size() { return urls.size } }
}

export type BlobCache = ReturnType<typeof createBlobCache>
