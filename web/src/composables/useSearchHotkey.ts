/**
 * `useSearchHotkey(open)`: Ctrl+K (⌘K on macOS) opens search from anywhere;
 * `/` does too unless the user is typing (an input, a textarea, an editable
 * element).
 */
import { onScopeDispose } from 'vue'

function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false
  return target.isContentEditable || target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement
}

/** Whether `event` asks for search. */
export function isSearchHotkey(event: KeyboardEvent): boolean {
  if (event.isComposing || event.altKey) return false
  if ((event.ctrlKey || event.metaKey) && !event.shiftKey && event.key.toLowerCase() === 'k') return true
  return event.key === '/' && !event.ctrlKey && !event.metaKey && !typing(event.target)
}

export function useSearchHotkey(open: () => void): void {
  if (typeof window === 'undefined') return
  const onKeydown = (event: KeyboardEvent) => {
    if (!isSearchHotkey(event)) return
    event.preventDefault()
    open()
  }
  window.addEventListener('keydown', onKeydown)
  onScopeDispose(() => window.removeEventListener('keydown', onKeydown))
}
