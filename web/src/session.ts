/**
 * The logged-in session: the token lives in localStorage under `auth_token`
 * (the key the seed's component reads), the user next to it.
 */
import { reactive } from 'vue'
import { createApiClient, LOGOUT_TIMEOUT_MS } from '@/api/http'
import type { AuthResponse, User } from '@/api/types'
import { tokenSchema, userSchema } from '@/utils/schemas'
import { readValid, readValidString, removeKey, writeJson, writeString } from '@/utils/storage'

export const TOKEN_KEY = 'auth_token'
export const USER_KEY = 'auth_user'

/** The stored session; a token or user that fails its schema is removed and ignored. */
function readSession(): { token: string; user: User | null } {
  const token = readValidString(TOKEN_KEY, tokenSchema) ?? ''
  return { token, user: token ? readValid(USER_KEY, userSchema) : null }
}

export const session = reactive<{ token: string; user: User | null }>(readSession())

export function signIn(auth: AuthResponse): void {
  session.token = auth.token
  session.user = auth.user
  writeString(TOKEN_KEY, auth.token)
  writeJson(USER_KEY, auth.user)
}

/** The account changed (made or no longer an admin): kept with the session. */
export function updateUser(user: User): void {
  if (!session.token) return
  session.user = user
  writeJson(USER_KEY, user)
}

export function signOut(): void {
  session.token = ''
  session.user = null
  removeKey(TOKEN_KEY)
  removeKey(USER_KEY)
}

/**
 * Logout: asks the server to revoke the token (`POST /api/auth/logout`, at
 * most `timeoutMs`), then signs out locally whatever the answer: being
 * offline, a 401 or a slow server must never keep anyone signed in here.
 */
export async function signOutAndRevoke(options: { baseUrl?: string; timeoutMs?: number } = {}): Promise<void> {
  const token = session.token
  if (token) {
    const api = createApiClient({ baseUrl: options.baseUrl, token: () => token })
    await api.logout(options.timeoutMs ?? LOGOUT_TIMEOUT_MS).catch(() => {})
  }
  // Another tab may have signed in as someone else meanwhile: leave that session alone.
  if (session.token === token) signOut()
}

// Logging in or out in another tab applies here too.
if (typeof window !== 'undefined') {
  window.addEventListener('storage', (event) => {
    if (event.key !== TOKEN_KEY && event.key !== null) return
    Object.assign(session, readSession())
  })
}
