/**
 * Display helpers for the chat views. They never throw: a timestamp that a
 * `Date` cannot hold (missing, NaN, out of range) formats as a placeholder.
 */

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

/** `HH:mm` of a Unix-ms timestamp, in local time. */
export function formatTime(ts: number): string {
  const d = toDate(ts)
  if (!d) return '--:--'
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
}

/** Full local date and time, for tooltips. */
export function formatDateTime(ts: number): string {
  const d = toDate(ts)
  if (!d) return '时间未知'
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')} ${formatTime(ts)}`
}

/** 今天 / 昨天 / M月D日 / YYYY年M月D日. */
export function formatDay(ts: number, now: number = Date.now()): string {
  const d = toDate(ts)
  if (!d) return '日期未知'
  const day = startOfDay(ts)
  const today = startOfDay(now)
  if (day === today) return '今天'
  const yesterday = new Date(today)
  yesterday.setDate(yesterday.getDate() - 1)
  if (day === yesterday.getTime()) return '昨天'
  if (d.getFullYear() === new Date(now).getFullYear()) return `${d.getMonth() + 1}月${d.getDate()}日`
  return `${d.getFullYear()}年${d.getMonth() + 1}月${d.getDate()}日`
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
