/**
 * `useRoomHotkeys`: Alt+↑ / Alt+↓ opens the previous / next room in sidebar
 * order (also from inside the message box, where Alt+arrows do nothing useful).
 */
import { onScopeDispose, toValue, type MaybeRefOrGetter } from 'vue'

export function nextRoom(order: readonly number[], current: number | null, step: -1 | 1): number | null {
  if (order.length === 0) return null
  const at = current === null ? -1 : order.indexOf(current)
  if (at < 0) return step > 0 ? order[0]! : order[order.length - 1]!
  const next = at + step
  return next < 0 || next >= order.length ? null : order[next]!
}

export function useRoomHotkeys(order: MaybeRefOrGetter<readonly number[]>, current: MaybeRefOrGetter<number | null>, open: (roomId: number) => void): void {
  if (typeof window === 'undefined') return
  const onKeydown = (event: KeyboardEvent) => {
    if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || event.isComposing) return
    if (event.key !== 'ArrowUp' && event.key !== 'ArrowDown') return
    const target = nextRoom(toValue(order), toValue(current), event.key === 'ArrowUp' ? -1 : 1)
    event.preventDefault()
    if (target !== null) open(target)
  }
  window.addEventListener('keydown', onKeydown)
  onScopeDispose(() => window.removeEventListener('keydown', onKeydown))
}
