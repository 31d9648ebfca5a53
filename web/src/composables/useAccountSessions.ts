/**
 * One's signed-in devices (`/api/me/sessions`): the list (this device
 * first, then the most recently seen), signing one out, or all but this one.
 */
import { ref } from 'vue'
import type { AccountSession, TeamApi } from '@/api/team'
import { useTeamApi } from './useTeamApi'

export function useAccountSessions(api: TeamApi = useTeamApi()) {
  const sessions = ref<AccountSession[]>([])
  const loading = ref(false)
  const error = ref<unknown>(null)

  async function load(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      const answer = await api.sessions()
      sessions.value = [...answer.sessions].sort((a, b) => Number(b.current) - Number(a.current) || b.last_seen_at - a.last_seen_at)
    } catch (e) {
      error.value = e
    } finally {
      loading.value = false
    }
  }

  /** Signs one device out (rejects like the REST call). */
  async function signOut(id: string): Promise<void> {
    await api.signOutSession(id)
    sessions.value = sessions.value.filter((s) => s.id !== id)
  }

  /** Signs out every device but this one (rejects like the REST call). */
  async function signOutOthers(): Promise<void> {
    await api.signOutOthers()
    sessions.value = sessions.value.filter((s) => s.current)
  }

  return { sessions, loading, error, load, signOut, signOutOthers }
}
