/**
 * Files over HTTP: the upload (`POST /api/rooms/{id}/files?name=…`, the raw
 * bytes as the body, over XMLHttpRequest for its progress events and
 * `abort()`), and the bytes of a file or its thumbnail
 * (`GET /api/files/{id}[/thumb]`), which need the bearer token and so
 * cannot be an `<img src>`: they come back as a Blob.
 */
import * as v from 'valibot'
import { t } from '@/i18n'
import type { FileInfo } from './types'
import { ApiError, NetworkError, parseRetryAfter, resolveUrl } from './http'
import { UploadAbortedError } from '@/utils/files'
import { fileInfoSchema } from '@/utils/schemas'

export interface UploadOptions {
  /** Bearer token. */
  token: string
  /** Base URL the API paths are resolved against (default: the document's base URI). */
  baseUrl?: string
  /** Called with the fraction sent (0…1) as the body goes out. */
  onProgress?: (fraction: number) => void
  /** For tests. Default `globalThis.XMLHttpRequest`. */
  XMLHttpRequest?: typeof XMLHttpRequest
}

export interface UploadHandle {
  /** Resolves to the stored file; rejects with `ApiError`, `NetworkError` or `UploadAbortedError`. */
  promise: Promise<FileInfo>
  /** Cancels the upload (the promise rejects with `UploadAbortedError`). */
  abort: () => void
}

const answerSchema = v.object({ file: fileInfoSchema })

/** The error of a failed answer (`{"error":{code,message}}`, or the status alone). */
function answerError(status: number, text: string, retryAfter: string | null): ApiError {
  let code = status === 401 ? 'unauthorized' : `http_${status}`
  let message = `HTTP ${status}`
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }
    if (typeof body?.error?.code === 'string') code = body.error.code
    if (typeof body?.error?.message === 'string') message = body.error.message
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  return new ApiError(status, code, message, parseRetryAfter(retryAfter))
}

/** Uploads `body` to a room as `name`. */
export function uploadFile(roomId: number, body: Blob, name: string, options: UploadOptions): UploadHandle {
  const Xhr = options.XMLHttpRequest ?? globalThis.XMLHttpRequest
  const xhr = new Xhr()
  let settled = false
  let rejectPromise: (error: Error) => void = () => {}
  const promise = new Promise<FileInfo>((resolve, reject) => {
    rejectPromise = reject
    const url = resolveUrl(`api/rooms/${roomId}/files`, options.baseUrl)
    // encodeURIComponent (`%20`), not form encoding (`+`): the name comes back exactly.
    url.search = `name=${encodeURIComponent(name)}`
    xhr.open('POST', url.toString())
    xhr.setRequestHeader('Authorization', `Bearer ${options.token}`)
    xhr.setRequestHeader('Content-Type', body.type || 'application/octet-stream')
    xhr.setRequestHeader('Accept', 'application/json')
    xhr.upload.onprogress = (event: ProgressEvent) => {
      if (event.lengthComputable && event.total > 0) options.onProgress?.(Math.min(1, event.loaded / event.total))
    }
    const fail = (error: Error) => {
      if (settled) return
      settled = true
      reject(error)
    }
    xhr.onload = () => {
      if (settled) return
      if (xhr.status < 200 || xhr.status >= 300) {
        fail(answerError(xhr.status, xhr.responseText, xhr.getResponseHeader('Retry-After')))
        return
      }
      let parsed: v.SafeParseResult<typeof answerSchema>
      try {
        parsed = v.safeParse(answerSchema, JSON.parse(xhr.responseText))
      } catch {
        parsed = { success: false } as v.SafeParseResult<typeof answerSchema>
      }
      if (!parsed.success) {
        fail(new ApiError(xhr.status, 'bad_response', 'unexpected upload answer'))
        return
      }
      settled = true
      options.onProgress?.(1)
      const file = parsed.output.file as FileInfo
      if (file.width === undefined) delete file.width
      if (file.height === undefined) delete file.height
      resolve(file)
    }
    xhr.onerror = () => fail(new NetworkError(t('errors.network')))
    xhr.ontimeout = () => fail(new NetworkError(t('errors.timeout')))
    xhr.onabort = () => fail(new UploadAbortedError())
    xhr.send(body)
  })
  return {
    promise,
    abort() {
      if (settled) return
      xhr.abort()
      // Browsers fire `abort` at once; should one not, the upload is cancelled all the same.
      if (!settled) {
        settled = true
        rejectPromise(new UploadAbortedError())
      }
    },
  }
}

export interface FetchFileOptions {
  token: string
  baseUrl?: string
  signal?: AbortSignal
}

/** The bytes of file `id` (`thumb`: its thumbnail), and the type the server gave them. */
export async function fetchFileBytes(id: number, thumb: boolean, options: FetchFileOptions): Promise<{ data: ArrayBuffer; type: string }> {
  const url = resolveUrl(`api/files/${id}${thumb ? '/thumb' : ''}`, options.baseUrl)
  let response: Response
  try {
    response = await fetch(url.toString(), {
      headers: { Authorization: `Bearer ${options.token}` },
      signal: options.signal,
      // Not in the HTTP cache, which is keyed by URL alone: another account on this
      // browser must not get the bytes without the server's access check. The
      // object URL caches (stores/fileBlobs.ts) keep them for this page.
      cache: 'no-store',
    })
  } catch (error) {
    throw new NetworkError(t('errors.network'), { cause: error })
  }
  if (!response.ok) {
    const text = await response.text().catch(() => '')
    throw answerError(response.status, text, response.headers.get('Retry-After'))
  }
  return { data: await response.arrayBuffer(), type: response.headers.get('Content-Type') ?? '' }
}
