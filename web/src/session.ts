/**
 * The logged-in session: the token lives in localStorage under `auth_token`
 * (the key the seed's component reads), the user next to it.
 */
import { reactive } from 'vue'
import type { AuthResponse, User } from '@/api/types'
import { readJson, readString, removeKey, writeJson, writeString } from '@/utils/storage'

export const TOKEN_KEY = 'auth_token'
export const USER_KEY = 'auth_user'

export const session = reactive<{ token: string; user: User | null }>({
  token: readString(TOKEN_KEY) ?? '',
  user: readJson<User>(USER_KEY),
})

export function signIn(auth: AuthResponse): void {
  session.token = auth.token
  session.user = auth.user
  writeString(TOKEN_KEY, auth.token)
  writeJson(USER_KEY, auth.user)
}

export function signOut(): void {
  session.token = ''
  session.user = null
  removeKey(TOKEN_KEY)
  removeKey(USER_KEY)
}

// Logging in or out in another tab applies here too.
if (typeof window !== 'undefined') {
  window.addEventListener('storage', (event) => {
    if (event.key !== TOKEN_KEY && event.key !== null) return
    session.token = readString(TOKEN_KEY) ?? ''
    session.user = readJson<User>(USER_KEY)
  })
}
