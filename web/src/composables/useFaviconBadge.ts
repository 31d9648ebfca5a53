/**
 * `useFaviconBadge(count)`: the tab's icon gets a red badge with the number
 * (drawn on a canvas over the plain icon, set as a data URL on
 * `link[rel=icon]`); at 0 the plain icon comes back.
 */
import { getCurrentScope, onScopeDispose, toValue, watch, type MaybeRefOrGetter } from 'vue'

const SIZE = 64

/** The badge's text: 1–9, then 9+ (a favicon is tiny). */
export function badgeText(count: number): string {
  return count > 9 ? '9+' : String(Math.max(0, Math.floor(count)))
}

function iconLink(): HTMLLinkElement | null {
  if (typeof document === 'undefined') return null
  let link = document.querySelector<HTMLLinkElement>('link[rel~="icon"]')
  if (!link) {
    link = document.createElement('link')
    link.rel = 'icon'
    document.head.appendChild(link)
  }
  return link
}

/** Draws the plain icon (when loaded) and the badge; null where a canvas cannot draw. */
export function drawBadge(count: number, base: CanvasImageSource | null): string | null {
  const canvas = document.createElement('canvas')
  canvas.width = SIZE
  canvas.height = SIZE
  let ctx: CanvasRenderingContext2D | null = null
  try {
    ctx = canvas.getContext('2d')
  } catch {
    ctx = null
  }
  if (!ctx) return null
  if (base) {
    ctx.drawImage(base, 0, 0, SIZE, SIZE)
  } else {
    ctx.fillStyle = '#c2410c'
    ctx.beginPath()
    ctx.arc(SIZE / 2, SIZE / 2, SIZE / 2, 0, Math.PI * 2)
    ctx.fill()
  }
  const r = SIZE * 0.3
  const cx = SIZE - r
  const cy = r
  ctx.fillStyle = '#ef4444'
  ctx.beginPath()
  ctx.arc(cx, cy, r, 0, Math.PI * 2)
  ctx.fill()
  ctx.lineWidth = 4
  ctx.strokeStyle = '#fff'
  ctx.stroke()
  ctx.fillStyle = '#fff'
  ctx.font = `bold ${Math.round(r * 1.25)}px sans-serif`
  ctx.textAlign = 'center'
  ctx.textBaseline = 'middle'
  ctx.fillText(badgeText(count), cx, cy + 1)
  try {
    return canvas.toDataURL('image/png')
  } catch {
    return null
  }
}

export function useFaviconBadge(count: MaybeRefOrGetter<number>): void {
  const link = iconLink()
  if (!link) return
  const plain = link.getAttribute('href') ?? ''
  const plainType = link.getAttribute('type')
  let base: HTMLImageElement | null = null
  let baseState: 'idle' | 'loading' | 'ready' | 'failed' = 'idle'
  let shownCount = 0

  function loadBase(): void {
    if (baseState !== 'idle' || !plain || typeof Image === 'undefined') return
    baseState = 'loading'
    const img = new Image()
    img.onload = () => {
      base = img
      baseState = 'ready'
      apply(shownCount)
    }
    img.onerror = () => {
      baseState = 'failed'
    }
    img.src = plain
  }

  function restore(): void {
    if (plain) link!.setAttribute('href', plain)
    if (plainType) link!.setAttribute('type', plainType)
  }

  function apply(n: number): void {
    shownCount = n
    if (!Number.isFinite(n) || n <= 0) {
      restore()
      return
    }
    loadBase()
    const url = drawBadge(n, baseState === 'ready' ? base : null)
    if (!url) return
    link!.setAttribute('type', 'image/png')
    link!.setAttribute('href', url)
  }

  const stop = watch(() => toValue(count), apply, { immediate: true })
  if (getCurrentScope()) {
    onScopeDispose(() => {
      stop()
      restore()
    })
  }
}
