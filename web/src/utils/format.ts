/**
 * Display helpers for the chat views, in the current language (Intl with the
 * active locale). They never throw: a timestamp that a `Date` cannot hold
 * (missing, NaN, out of range) formats as a placeholder.
 */
import { getLocale, t } from '@/i18n'

/** The `Date` of a Unix-ms timestamp, or null when there is none to show. */
function toDate(ts: unknown): Date | null {
  if (typeof ts !== 'number') return null
  const d = new Date(ts)
  return Number.isNaN(d.getTime()) ? null : d
}

/** ISO 8601 for `<time datetime>`, or undefined (no attribute) for a bad timestamp. */
export function isoDateTime(ts: number): string | undefined {
  return toDate(ts)?.toISOString()
}

function startOfDay(ts: number): number {
  const d = new Date(ts)
  d.setHours(0, 0, 0, 0)
  return d.getTime()
}

const formatters = new Map<string, Intl.DateTimeFormat>()

/** A cached `Intl.DateTimeFormat` of the current language. */
function intl(name: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const locale = getLocale()
  const key = `${locale} ${name}`
  let f = formatters.get(key)
  if (!f) formatters.set(key, (f = new Intl.DateTimeFormat(locale, options)))
  return f
}

/** The time of day of a Unix-ms timestamp, in local time: `15:04` (zh-CN) / `3:04 PM` (en). */
export function formatTime(ts: number): string {
  const d = toDate(ts)
  if (!d) return '--:--'
  return getLocale() === 'zh-CN'
    ? intl('time', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d)
    : intl('time', { hour: 'numeric', minute: '2-digit' }).format(d)
}

/** Full local date and time, for tooltips: `2025-01-02 15:04` (zh-CN) / `Jan 2, 2025, 3:04 PM` (en). */
export function formatDateTime(ts: number): string {
  const d = toDate(ts)
  if (!d) return t('time.unknownTime')
  if (getLocale() !== 'zh-CN') return intl('dateTime', { dateStyle: 'medium', timeStyle: 'short' }).format(d)
  const parts = intl('date', { year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(d)
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? ''
  return `${part('year')}-${part('month')}-${part('day')} ${formatTime(ts)}`
}

/**
 * A day divider: 今天 / 昨天 / 1月2日 / 2023年1月2日 (zh-CN);
 * Today / Yesterday / Tuesday, January 2 / January 2, 2023 (en).
 */
export function formatDay(ts: number, now: number = Date.now()): string {
  const d = toDate(ts)
  if (!d) return t('time.unknownDate')
  const day = startOfDay(ts)
  const today = startOfDay(now)
  if (day === today) return t('time.today')
  const yesterday = new Date(today)
  yesterday.setDate(yesterday.getDate() - 1)
  if (day === yesterday.getTime()) return t('time.yesterday')
  if (d.getFullYear() === new Date(now).getFullYear()) {
    return getLocale() === 'zh-CN'
      ? intl('monthDay', { month: 'long', day: 'numeric' }).format(d)
      : intl('monthDay', { weekday: 'long', month: 'long', day: 'numeric' }).format(d)
  }
  return intl('fullDay', { year: 'numeric', month: 'long', day: 'numeric' }).format(d)
}

export function isSameDay(a: number, b: number): boolean {
  return startOfDay(a) === startOfDay(b)
}

/** First visible character of a name, upper-cased, for avatars. */
export function initial(name: string): string {
  const first = [...name.trim()][0] ?? '?'
  return first.toUpperCase()
}

/** A stable, readable avatar colour for a name. */
export function avatarColor(name: string): string {
  let h = 0
  for (const ch of name) h = (h * 31 + (ch.codePointAt(0) ?? 0)) % 360
  return `hsl(${h}, 55%, 48%)`
}

/**
 * A file size for people: `512 B`, `1.5 KB`, `12 KB`, `3.4 MB`, `1.2 GB`
 * (binary units; one decimal below 10, none above).
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—'
  if (bytes < 1024) return `${Math.round(bytes)} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  // 9.96 rounds to "10.0": show it as 10.
  const text = value < 9.95 ? value.toFixed(1).replace(/\.0$/, '') : String(Math.round(value))
  return `${text} ${units[unit]}`
}
