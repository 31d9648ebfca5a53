/**
 * The signed-in account. The token and user live in localStorage (`session.ts`,
 * the keys the seed's component reads); this store adds what the views need:
 * the notice shown on the login page, and logout / expiry.
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { AuthResponse, User } from '@/api/types'
import { t } from '@/i18n'
import { session, signIn as storeSession, signOut, signOutAndRevoke, updateUser } from '@/session'
import { storageNamespace } from '@/utils/rooms'

export const useSessionStore = defineStore('session', () => {
  const token = computed(() => session.token)
  const user = computed(() => session.user)
  const isAdmin = computed(() => session.user?.is_admin === true)
  /** Per-account part of the localStorage keys. */
  const namespace = computed(() => storageNamespace(session.token))
  /** Why the login page shows (after a logout or an expired session); `notice` is its text, in the current language. */
  const noticeKind = ref<'loggedOut' | 'expired' | null>(null)
  const notice = computed(() => (noticeKind.value === null ? '' : t(`auth.notice.${noticeKind.value}`)))

  function signIn(auth: AuthResponse): void {
    noticeKind.value = null
    storeSession(auth)
  }

  /** What `GET /api/me` says now (the role can change while signed in). */
  function refreshUser(user: Pick<User, 'id' | 'username' | 'is_admin'>): void {
    if (session.user && session.user.id !== user.id) return
    updateUser({ ...session.user, id: user.id, username: user.username, is_admin: user.is_admin === true })
  }

  /** Revokes the token on the server (at most ~3 s), then forgets it here. */
  async function logout(): Promise<void> {
    noticeKind.value = 'loggedOut'
    await signOutAndRevoke()
  }

  /** The server refused the token (expired, revoked): back to the login page. */
  function expire(): void {
    noticeKind.value = 'expired'
    signOut()
  }

  return { token, user, isAdmin, namespace, notice, noticeKind, signIn, refreshUser, logout, expire }
})
