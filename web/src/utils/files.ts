/**
 * Helpers for attached files: what kind of file a card shows, which image
 * types may be shown from a blob, the one-line summary of a message without
 * text, names for pasted images, and the texts of refused uploads.
 */
import { ApiError, describeError, NetworkError } from '@/api/http'
import type { ChatMessage, FileInfo } from '@/api/types'
import { t } from '@/i18n'
import { errorKey, errorText } from '@/i18n/errors'
import { firstLine } from './formatMessage'
import { formatBytes } from './format'

/** Raster types shown inline (a blob of any other type is only ever downloaded). */
export const SAFE_IMAGE_MIMES: readonly string[] = ['image/png', 'image/jpeg', 'image/gif', 'image/webp']

/** `mime` (lower-cased, parameters dropped) when it is a raster image type we show, else null. */
export function safeImageMime(mime: string | null | undefined): string | null {
  const base = (mime ?? '').split(';')[0]!.trim().toLowerCase()
  return SAFE_IMAGE_MIMES.includes(base) ? base : null
}

/** A file the server decoded as an image (it has a thumbnail) of a type we may show. */
export function isShownImage(file: Pick<FileInfo, 'image' | 'mime'>): boolean {
  return file.image && safeImageMime(file.mime) !== null
}

export type FileKind = 'image' | 'pdf' | 'document' | 'archive' | 'audio' | 'video' | 'generic'

const DOCUMENT_EXT = /\.(txt|md|rtf|docx?|odt|xlsx?|ods|csv|pptx?|odp|json|xml|ya?ml|log|html?)$/i
const ARCHIVE_EXT = /\.(zip|rar|7z|tar|gz|tgz|bz2|xz|zst)$/i

/** What icon a file card shows. */
export function fileKind(file: Pick<FileInfo, 'name' | 'mime' | 'image'>): FileKind {
  const mime = (file.mime ?? '').toLowerCase()
  if (isShownImage(file)) return 'image'
  if (mime === 'application/pdf' || /\.pdf$/i.test(file.name)) return 'pdf'
  if (/zip|compressed|x-tar|x-7z|x-rar|gzip/.test(mime) || ARCHIVE_EXT.test(file.name)) return 'archive'
  if (mime.startsWith('audio/')) return 'audio'
  if (mime.startsWith('video/')) return 'video'
  if (mime.startsWith('text/') || /document|msword|spreadsheet|presentation|opendocument/.test(mime) || DOCUMENT_EXT.test(file.name)) {
    return 'document'
  }
  return 'generic'
}

/** The name a file is shown and saved under. */
export function displayName(file: Pick<FileInfo, 'name'>): string {
  return file.name.trim() || t('files.unnamed')
}

/** One line for a message's files: `[图片]`, `[图片 ×3]`, `[文件] 报告.pdf 等 2 个附件`. */
export function filesSummary(files: readonly Pick<FileInfo, 'name' | 'mime' | 'image'>[] | undefined): string {
  if (!files || files.length === 0) return ''
  const other = files.find((f) => !isShownImage(f))
  if (!other) return files.length === 1 ? t('files.image') : t('files.images', { n: files.length })
  return files.length > 1 ? t('files.fileAndMore', { name: displayName(other), n: files.length }) : t('files.file', { name: displayName(other) })
}

/**
 * The first line of a message (or quote) for one-line places (reply quotes,
 * notifications): the text, else its files' summary, else `[附件]`.
 */
export function previewLine(m: { content: string; files?: readonly FileInfo[] }, max = 80): string {
  const line = firstLine(m.content, max)
  if (line) return line
  return filesSummary(m.files) || (m.content.trim() === '' ? t('files.attachment') : '')
}

/** A message's text for notifications: its content, else the files' summary. */
export function messageText(m: Pick<ChatMessage, 'content' | 'files'>): string {
  return m.content.trim() ? m.content : filesSummary(m.files)
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

const EXT_BY_MIME: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp' }

/** `粘贴的图片-20250102-150405.png` (local time). */
export function pastedImageName(mime: string, now: Date = new Date()): string {
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`
  return `${t('files.pastedImage')}-${stamp}.${EXT_BY_MIME[safeImageMime(mime) ?? ''] ?? 'png'}`
}

/**
 * The name to upload a file under. Browsers name a pasted screenshot
 * `image.png` (or nothing): those get `粘贴的图片-…`.
 */
export function uploadName(file: Pick<File, 'name' | 'type'>, pasted: boolean, now?: Date): string {
  const name = file.name.trim()
  if (!name || (pasted && /^image\.(png|jpe?g|gif|webp)$/i.test(name))) {
    return file.type.startsWith('image/') ? pastedImageName(file.type, now) : t('files.unnamed')
  }
  return name
}

/** Thrown (rejected) when an upload was cancelled. */
export class UploadAbortedError extends Error {
  override readonly name = 'UploadAbortedError'
  constructor() {
    super(t('errors.upload.aborted'))
  }
}

/** The user's text for a refused or failed upload (`errors.upload`). `maxBytes`: the server's limit, when known. */
export function describeUploadError(error: unknown, maxBytes?: number | null): string {
  if (error instanceof UploadAbortedError) return t('errors.upload.aborted')
  if (error instanceof NetworkError) return t('errors.upload.network')
  if (error instanceof ApiError) {
    const tooLarge = (): string =>
      maxBytes ? t('errors.upload.file_too_large', { limit: formatBytes(maxBytes) }) : t('errors.upload.file_too_large_unknown')
    if (error.code === 'file_too_large' || error.code === 'too_large') return tooLarge()
    // A code with an upload text (`upload_quota`, `disk_full`, `bad_image`, `archived`, …).
    if (errorKey(error.code, 'upload')?.startsWith('errors.upload.')) return errorText(error.code, { context: 'upload', message: error.message })
    if (error.status === 413) return tooLarge()
    if (error.status === 507) return t('errors.upload.disk_full')
    return describeError(error)
  }
  return describeError(error)
}

/** The user's text for a file or thumbnail that could not be fetched. */
export function describeFileError(error: unknown): string {
  if (error instanceof ApiError && (error.status === 404 || error.status === 403)) return t('errors.upload.file_not_found')
  return describeError(error)
}

/**
 * The files of a paste (a screenshot, files copied in a file manager), or
 * none when it is text: office apps put a picture of the copied cells next
 * to their text (`text/rtf`), and the text is what the user meant.
 */
export function clipboardFiles(data: DataTransfer | null | undefined): File[] {
  if (!data) return []
  const types = Array.from(data.types ?? [])
  if (types.includes('text/rtf')) return []
  const files = Array.from(data.files ?? [])
  if (files.length > 0) return files
  const out: File[] = []
  for (const item of Array.from(data.items ?? [])) {
    if (item.kind !== 'file') continue
    const file = item.getAsFile()
    if (file) out.push(file)
  }
  return out
}
