/**
 * The last `count` days (UTC, `YYYY-MM-DD`, oldest first) ending with
 * `today`, each with the figures the server gave for it (zero for a day it
 * has no row for), so a chart always shows the same span.
 */
import type { StatsDay } from '@/api/team'

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

export function fillDays(days: readonly StatsDay[], count = 14, now: number = Date.now()): StatsDay[] {
  const byDay = new Map(days.map((d) => [d.day, d]))
  // The newest day the server knows may be "tomorrow" for a clock behind UTC: end there then.
  const newest = days.reduce((max, d) => (d.day > max ? d.day : max), utcDay(now))
  const end = Date.parse(newest + 'T00:00:00Z')
  const out: StatsDay[] = []
  for (let i = count - 1; i >= 0; i--) {
    const day = utcDay(end - i * 86_400_000)
    const known = byDay.get(day)
    out.push({ day, messages: known?.messages ?? 0, peak_connections: known?.peak_connections ?? 0 })
  }
  return out
}

/** A round top for a chart's axis: 1, 2, 5 × 10ⁿ at or above `max` (at least 1). */
export function niceMax(max: number): number {
  if (!Number.isFinite(max) || max <= 1) return 1
  const p = 10 ** Math.floor(Math.log10(max))
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p
  return 10 * p
}
