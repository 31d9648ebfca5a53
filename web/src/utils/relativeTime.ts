/**
 * "3 分钟前" / "3 minutes ago", "2 天后" / "in 2 days": a time relative to
 * now, in the current language (Intl.RelativeTimeFormat). Under a minute
 * ago is 刚刚 / just now.
 */
import { getLocale, t } from '@/i18n'

const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Number.POSITIVE_INFINITY],
]

const formatters = new Map<string, Intl.RelativeTimeFormat>()

function formatter(): Intl.RelativeTimeFormat {
  const locale = getLocale()
  let f = formatters.get(locale)
  if (!f) formatters.set(locale, (f = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' })))
  return f
}

export function formatRelative(ts: number | null | undefined, now: number = Date.now()): string {
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return t('time.never')
  const diffSeconds = (ts - now) / 1000
  if (Math.abs(diffSeconds) < 60) return diffSeconds <= 0 ? t('time.justNow') : t('time.inAMoment')
  let value = diffSeconds
  for (const [unit, size] of STEPS) {
    if (Math.abs(value) < size) return formatter().format(Math.round(value), unit)
    value /= size
  }
  return formatter().format(Math.round(value), 'year')
}
