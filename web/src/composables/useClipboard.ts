/**
 * Copies text: the async Clipboard API where the page may use it (HTTPS or
 * localhost), else a hidden textarea and `execCommand('copy')` (a LAN
 * address over plain HTTP). `copied` is true for two seconds after a copy.
 */
import { onScopeDispose, ref } from 'vue'

export async function copyText(text: string): Promise<boolean> {
  try {
    if (typeof navigator !== 'undefined' && navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text)
      return true
    }
  } catch {
    // Refused (no permission, no focus): try the old way.
  }
  const area = document.createElement('textarea')
  area.value = text
  area.setAttribute('readonly', '')
  area.style.position = 'fixed'
  area.style.opacity = '0'
  document.body.appendChild(area)
  area.select()
  let ok = false
  try {
    ok = document.execCommand('copy')
  } catch {
    ok = false
  }
  area.remove()
  return ok
}

export function useClipboard(resetMs = 2000) {
  const copied = ref(false)
  let timer: ReturnType<typeof setTimeout> | undefined

  async function copy(text: string): Promise<boolean> {
    const ok = await copyText(text)
    copied.value = ok
    clearTimeout(timer)
    if (ok) timer = setTimeout(() => (copied.value = false), resetMs)
    return ok
  }

  onScopeDispose(() => clearTimeout(timer))
  return { copied, copy }
}
