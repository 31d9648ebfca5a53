/**
 * Object URLs of files (`GET /api/files/{id}` and its `/thumb`), which need
 * the bearer token and so are fetched and shown from a Blob: thumbnails in
 * an LRU of 200, originals of images (the viewer) in one of 12; evicted URLs
 * are revoked. Only raster images (png, jpeg, gif, webp) get a Blob of their
 * type; any file is downloaded as `application/octet-stream` through an
 * `<a download>`, never opened (a blob: URL runs on this origin).
 */
import { defineStore } from 'pinia'
import { fetchFileBytes } from '@/api/files'
import type { FileInfo } from '@/api/types'
import { session } from '@/session'
import { createBlobCache } from '@/utils/blobCache'
import { displayName, isShownImage, safeImageMime } from '@/utils/files'

/** How long a download's object URL lives (the browser has started saving by then). */
const DOWNLOAD_URL_MS = 60_000

export const useFileBlobsStore = defineStore('fileBlobs', () => {
  const thumbs = createBlobCache({ max: 200 })
  const originals = createBlobCache({ max: 12 })

  function token(): string {
    return session.token
  }

  /** The object URL of an image's thumbnail (rejects like the REST call). */
  function thumbUrl(file: FileInfo): Promise<string> {
    return thumbs.get(String(file.id), async () => {
      const { data, type } = await fetchFileBytes(file.id, true, { token: token() })
      return new Blob([data], { type: safeImageMime(type) ?? safeImageMime(file.mime) ?? 'application/octet-stream' })
    })
  }

  /** A thumbnail already fetched (shown at once, without a skeleton). */
  function cachedThumb(file: FileInfo): string | undefined {
    return thumbs.peek(String(file.id))
  }

  /** The object URL of an image's original bytes (the viewer); only for raster images. */
  function originalUrl(file: FileInfo): Promise<string> {
    const type = safeImageMime(file.mime)
    if (!isShownImage(file) || !type) return Promise.reject(new Error('not an image'))
    return originals.get(String(file.id), async () => {
      const { data } = await fetchFileBytes(file.id, false, { token: token() })
      return new Blob([data], { type })
    })
  }

  /** Saves a file: fetched with the token, handed to the browser as a download (never opened). */
  async function download(file: FileInfo): Promise<void> {
    const { data } = await fetchFileBytes(file.id, false, { token: token() })
    const url = URL.createObjectURL(new Blob([data], { type: 'application/octet-stream' }))
    const a = document.createElement('a')
    a.href = url
    a.download = displayName(file)
    a.rel = 'noopener'
    a.style.display = 'none'
    document.body.appendChild(a)
    a.click()
    a.remove()
    setTimeout(() => URL.revokeObjectURL(url), DOWNLOAD_URL_MS)
  }

  /** Revokes everything (another account, logout). */
  function reset(): void {
    thumbs.clear()
    originals.clear()
  }

  return { thumbUrl, cachedThumb, originalUrl, download, reset }
})
