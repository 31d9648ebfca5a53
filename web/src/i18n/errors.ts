/**
 * Server errors in the user's language. The server answers
 * `{"error":{"code","message"}}` with an English message; `errorText` maps a
 * known code (the `errors` messages, per place first, then the common map)
 * and falls back to the server's message for a code it does not know. Every
 * error text of the client goes through it (`describeError` in `api/http.ts`
 * and the describers of uploads, message actions, search and stream frames).
 */
import { hasMessage, t } from './index'

/** Where an error is shown: a code can mean something more precise there (`errors.<context>.<code>`). */
export type ErrorContext = 'stream' | 'upload' | 'message' | 'search'

/** "12 秒" / "3 分钟" ("12 seconds" / "3 minutes"): how long to wait. */
export function formatWait(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds))
  if (s < 120) return t('time.seconds', { n: s }, s)
  const m = Math.ceil(s / 60)
  return t('time.minutes', { n: m }, m)
}

/** "请 12 秒后再试" when the server said how long, else "请稍后再试". */
export function retryHint(retryAfterSeconds: number | undefined): string {
  return retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds)
    ? t('errors.retryIn', { wait: formatWait(retryAfterSeconds) })
    : t('errors.retryLater')
}

export interface ErrorTextOptions {
  /** Where it is shown (a more precise text for that place comes first). */
  context?: ErrorContext
  /** The server's (English) message: shown for a code without a text. */
  message?: string
  /** Seconds to wait (`Retry-After`), for `{hint}`. */
  retryAfter?: number
  /** More `{placeholders}` of the text. */
  params?: Record<string, unknown>
}

/** Codes are snake_case words; anything else is never looked up as a message path. */
const CODE = /^[a-z][a-z0-9_]*$/

/** The message key of `code` (in `context` first), or null when there is no text for it. */
export function errorKey(code: string, context?: ErrorContext): string | null {
  if (!CODE.test(code)) return null
  const keys = context ? [`errors.${context}.${code}`, `errors.code.${code}`] : [`errors.code.${code}`]
  return keys.find((key) => hasMessage(key)) ?? null
}

/** The user's text for an error code: the known text, else the server's message, else the code. */
export function errorText(code: string, options: ErrorTextOptions = {}): string {
  const key = errorKey(code, options.context)
  if (key === null) return options.message || code
  // The key was checked to exist: translate it as a dynamic key.
  return t(key as Parameters<typeof t>[0], { hint: retryHint(options.retryAfter), message: options.message ?? '', ...options.params })
}
