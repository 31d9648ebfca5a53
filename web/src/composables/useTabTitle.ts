/** `useTabTitle(count)`: the browser tab says how many messages are unread, e.g. `(3) Hearth`. */
import { onScopeDispose, toValue, watchEffect, type MaybeRefOrGetter } from 'vue'
import { documentTitle } from '@/i18n'

export const APP_TITLE = 'Hearth'

export function tabTitle(unread: number): string {
  if (!Number.isFinite(unread) || unread <= 0) return APP_TITLE
  return `(${unread > 99 ? '99+' : Math.floor(unread)}) ${APP_TITLE}`
}

export function useTabTitle(unread: MaybeRefOrGetter<number>): void {
  if (typeof document === 'undefined') return
  watchEffect(() => {
    document.title = tabTitle(toValue(unread))
  })
  // Back to the app's plain title, in the language of the moment (the login page).
  onScopeDispose(() => {
    document.title = documentTitle()
  })
}
