/** `useTabTitle(count)`: the browser tab says how many messages are unread, e.g. `(3) Hearth`. */
import { onScopeDispose, toValue, watchEffect, type MaybeRefOrGetter } from 'vue'

export const APP_TITLE = 'Hearth'

export function tabTitle(unread: number): string {
  if (!Number.isFinite(unread) || unread <= 0) return APP_TITLE
  return `(${unread > 99 ? '99+' : Math.floor(unread)}) ${APP_TITLE}`
}

export function useTabTitle(unread: MaybeRefOrGetter<number>): void {
  if (typeof document === 'undefined') return
  const before = document.title
  watchEffect(() => {
    document.title = tabTitle(toValue(unread))
  })
  onScopeDispose(() => {
    document.title = before
  })
}
