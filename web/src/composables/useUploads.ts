/**
 * `useUploads(options)`: the files attached to the message being written,
 * per room (switching rooms keeps each room's tray, like its draft).
 *
 * - `add(files)` starts every upload at once (`POST /api/rooms/{id}/files`,
 *   XMLHttpRequest: progress and `abort()`). A file over the server's size
 *   limit fails here, without a request; past `max_files_per_message` the
 *   rest are refused with a notice.
 * - Each item: name, size, progress (0–100), a local preview of images
 *   (object URL of the local File, revoked when the item goes), `done` with
 *   the stored `FileInfo`, or `error` with the reason (retryable unless the
 *   client refused it).
 * - `ready`: nothing uploading and nothing failed; `files`: what the next
 *   message carries. `clear()` after sending.
 */
import { computed, getCurrentScope, onScopeDispose, reactive, toValue, type MaybeRefOrGetter } from 'vue'
import { ElMessage } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import { uploadFile, type UploadHandle, type UploadOptions } from '@/api/files'
import type { FileInfo } from '@/api/types'
import { t } from '@/i18n'
import { describeUploadError, safeImageMime, uploadName } from '@/utils/files'
import { formatBytes } from '@/utils/format'

export type UploadStatus = 'uploading' | 'done' | 'error'

export interface UploadItem {
  key: string
  /** The name it is stored under. */
  name: string
  size: number
  mime: string
  status: UploadStatus
  /** Percent sent, 0–100. */
  progress: number
  /** Why it failed (Chinese). */
  error?: string
  /** A failure worth trying again (not a file the client refused). */
  retryable: boolean
  /** The stored file, once done. */
  file?: FileInfo
  /** Object URL of the local image (preview before the upload finished). */
  preview?: string
}

export interface UploadsOptions {
  roomId: MaybeRefOrGetter<number | null>
  /** The bearer token (read for each upload). */
  token: () => string
  /** The server's size limit in bytes (null: unknown, the server decides). */
  maxFileBytes?: MaybeRefOrGetter<number | null>
  /** Files one message may carry. Default 10. */
  maxFiles?: MaybeRefOrGetter<number>
  /** Shows a short notice (default: an Element Plus warning toast). */
  notify?: (message: string) => void
  /** For tests: the upload call. */
  upload?: (roomId: number, body: Blob, name: string, options: UploadOptions) => UploadHandle
  createObjectURL?: (blob: Blob) => string
  revokeObjectURL?: (url: string) => void
}

let nextKey = 0

export function useUploads(options: UploadsOptions) {
  const upload = options.upload ?? uploadFile
  const notify = options.notify ?? ((message: string) => void ElMessage({ type: 'warning', message, grouping: true }))
  const createUrl = options.createObjectURL ?? ((blob: Blob) => URL.createObjectURL(blob))
  const revokeUrl = options.revokeObjectURL ?? ((url: string) => URL.revokeObjectURL(url))
  const trays = reactive(new Map<number, UploadItem[]>())
  /** Not reactive: the request of each item and what to send again on retry. */
  const handles = new Map<string, UploadHandle>()
  const sources = new Map<string, { roomId: number; body: Blob }>()

  const maxFiles = () => Math.max(1, toValue(options.maxFiles) ?? 10)
  const maxBytes = () => toValue(options.maxFileBytes) ?? null

  function tray(roomId: number): UploadItem[] {
    let list = trays.get(roomId)
    if (!list) {
      trays.set(roomId, [])
      list = trays.get(roomId)!
    }
    return list
  }

  const items = computed<readonly UploadItem[]>(() => {
    const id = toValue(options.roomId)
    return id === null ? [] : (trays.get(id) ?? [])
  })
  const uploading = computed(() => items.value.some((i) => i.status === 'uploading'))
  const failed = computed(() => items.value.some((i) => i.status === 'error'))
  const ready = computed(() => !uploading.value && !failed.value)
  const files = computed<FileInfo[]>(() => items.value.flatMap((i) => (i.status === 'done' && i.file ? [i.file] : [])))
  /** Why sending must wait, or null. */
  const blocker = computed(() => (uploading.value ? t('files.waitForUploads') : failed.value ? t('files.removeFailed') : null))

  function find(key: string): UploadItem | undefined {
    for (const list of trays.values()) {
      const item = list.find((i) => i.key === key)
      if (item) return item
    }
    return undefined
  }

  function start(roomId: number, item: UploadItem, body: Blob): void {
    item.status = 'uploading'
    item.progress = 0
    delete item.error
    const handle = upload(roomId, body, item.name, {
      token: options.token(),
      onProgress: (fraction) => {
        // Never 100 before the server answered: storing it takes a moment too.
        if (handles.get(item.key) === handle) item.progress = Math.min(99, Math.floor(fraction * 100))
      },
    })
    handles.set(item.key, handle)
    handle.promise.then(
      (file) => {
        if (handles.get(item.key) !== handle) return
        handles.delete(item.key)
        item.file = file
        item.progress = 100
        item.status = 'done'
      },
      (error: unknown) => {
        if (handles.get(item.key) !== handle) return
        handles.delete(item.key)
        item.status = 'error'
        item.retryable = true
        item.error = describeUploadError(error, maxBytes())
      },
    )
  }

  /**
   * Attaches files to the room on screen and starts uploading them.
   * `pasted`: from the clipboard (a screenshot named `image.png` gets a
   * readable name). Returns how many were taken.
   */
  function add(list: readonly File[] | FileList, opts: { pasted?: boolean } = {}): number {
    const roomId = toValue(options.roomId)
    const incoming = Array.from(list)
    if (roomId === null || incoming.length === 0) return 0
    const target = tray(roomId)
    const room = Math.max(0, maxFiles() - target.length)
    if (incoming.length > room) notify(t('files.tooMany', { max: maxFiles() }, maxFiles()))
    const taken = incoming.slice(0, room)
    const limit = maxBytes()
    for (const file of taken) {
      const key = `u${++nextKey}`
      target.push({
        key,
        name: uploadName(file, opts.pasted === true),
        size: file.size,
        mime: file.type || 'application/octet-stream',
        status: 'uploading',
        progress: 0,
        retryable: false,
        preview: safeImageMime(file.type) ? createUrl(file) : undefined,
      })
      // The reactive copy: progress written to it re-renders the tray.
      const item = target[target.length - 1]!
      if (limit !== null && file.size > limit) {
        item.status = 'error'
        item.error = t('files.tooLarge', { limit: formatBytes(limit) })
        continue
      }
      sources.set(key, { roomId, body: file })
      start(roomId, item, file)
    }
    return taken.length
  }

  /** Cancels an upload in progress, or takes a finished or failed file off the message. */
  function remove(key: string): void {
    handles.get(key)?.abort()
    handles.delete(key)
    sources.delete(key)
    for (const list of trays.values()) {
      const i = list.findIndex((item) => item.key === key)
      if (i < 0) continue
      const [item] = list.splice(i, 1)
      if (item?.preview) revokeUrl(item.preview)
      return
    }
  }

  /** Uploads a failed file again. */
  function retry(key: string): void {
    const item = find(key)
    const source = sources.get(key)
    if (!item || !source || item.status !== 'error' || !item.retryable) return
    start(source.roomId, item, source.body)
  }

  /** Empties the tray of a room (default: the one on screen), e.g. once its message was queued. */
  function clear(roomId: number | null = toValue(options.roomId)): void {
    if (roomId === null) return
    for (const item of [...(trays.get(roomId) ?? [])]) remove(item.key)
    trays.delete(roomId)
  }

  function dispose(): void {
    for (const roomId of [...trays.keys()]) clear(roomId)
  }

  if (getCurrentScope()) onScopeDispose(dispose)

  return { items, uploading, failed, ready, files, blocker, add, remove, retry, clear, dispose }
}

export type Uploads = ReturnType<typeof useUploads>
