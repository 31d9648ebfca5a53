/**
 * Object URLs of people's uploaded avatars (`GET /api/users/{id}/avatar`,
 * which needs the bearer token and so cannot be an `<img src>`). Keyed by
 * person and avatar version (`?v=<avatar_at>`): a new upload is a new URL.
 * A person without one (404) gets the generated avatar; that answer is
 * remembered per version so it is not asked again.
 */
import { defineStore } from 'pinia'
import { ApiError, NetworkError, resolveUrl } from '@/api/http'
import { t } from '@/i18n'
import { session } from '@/session'
import { createBlobCache } from '@/utils/blobCache'
import { safeImageMime } from '@/utils/files'

/** Fetches avatar bytes with the token (`fetchImpl` for tests). */
export async function fetchAvatar(id: number, version: number, token: string, fetchImpl: typeof fetch = fetch): Promise<Blob> {
  const url = resolveUrl(`api/users/${id}/avatar`)
  url.searchParams.set('v', String(version))
  let response: Response
  try {
    // The URL carries the version: the browser may keep it (the server says `private`).
    response = await fetchImpl(url.toString(), { headers: { Authorization: `Bearer ${token}` } })
  } catch (error) {
    throw new NetworkError(t('errors.network'), { cause: error })
  }
  if (!response.ok) throw new ApiError(response.status, response.status === 404 ? 'not_found' : `http_${response.status}`, `HTTP ${response.status}`)
  const type = safeImageMime(response.headers.get('Content-Type') ?? '') ?? 'image/png'
  return new Blob([await response.arrayBuffer()], { type })
}

export const useAvatarsStore = defineStore('avatars', () => {
  const cache = createBlobCache({ max: 300 })
  /** `id:version` keys the server had no image for. */
  const missing = new Set<string>()

  const key = (id: number, version: number) => `${id}:${version}`

  /** An avatar already fetched (shown at once). */
  function peek(id: number, version: number): string | undefined {
    return cache.peek(key(id, version))
  }

  /** The object URL of someone's avatar at `version`; null when they have none. */
  async function url(id: number, version: number): Promise<string | null> {
    const k = key(id, version)
    if (missing.has(k)) return null
    try {
      return await cache.get(k, () => fetchAvatar(id, version, session.token))
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) missing.add(k)
      return null
    }
  }

  /** Shows a just-uploaded image at once (no download). */
  function put(id: number, version: number, image: Blob): string {
    missing.delete(key(id, version))
    return cache.put(key(id, version), image)
  }

  function reset(): void {
    cache.clear()
    missing.clear()
  }

  return { peek, url, put, reset }
})
