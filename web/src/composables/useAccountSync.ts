/**
 * Keeps what the signed-in page knows about people current: the people
 * directory (names, avatars, who is deactivated) and one's own account
 * (`GET /api/me`: an admin may have changed one's role meanwhile). Runs now
 * and each time the connection says hello again (`onConnected`).
 */
import { useTeamApi } from './useTeamApi'
import { usePeopleStore } from '@/stores/people'
import { useSessionStore } from '@/stores/session'

export function useAccountSync(onConnected: (listener: () => void) => () => void) {
  const people = usePeopleStore()
  const session = useSessionStore()
  const api = useTeamApi()

  async function refreshMe(): Promise<void> {
    try {
      const me = await api.me()
      if (!me || typeof me.id !== 'number') return
      session.refreshUser(me)
      people.upsert(me)
    } catch {
      // Offline or signed out: the stream says so; the next hello tries again.
    }
  }

  function refresh(): Promise<unknown> {
    return Promise.all([people.refresh(), refreshMe()])
  }

  const off = onConnected(() => void refresh())
  return { refresh, stop: off }
}
