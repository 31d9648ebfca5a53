/**
 * 成员管理 (admins): the accounts (`GET /api/admin/users?q=`), searching
 * them, creating one (its first password is set through a one-time link),
 * making or removing admins, deactivating or reactivating, and password
 * reset links. Links come back as full URLs.
 */
import { ref } from 'vue'
import { appLink, type AdminUser, type TeamApi } from '@/api/team'
import { useTeamApi } from './useTeamApi'

export function useAdminUsers(api: TeamApi = useTeamApi(), link: (path: string) => string = appLink) {
  const users = ref<AdminUser[]>([])
  const query = ref('')
  const loading = ref(false)
  const error = ref<unknown>(null)
  /** Bumped per request: only the newest search's answer is shown. */
  let generation = 0

  async function load(): Promise<void> {
    const gen = ++generation
    loading.value = true
    error.value = null
    try {
      const answer = await api.users(query.value.trim())
      if (gen === generation) users.value = answer.users
    } catch (e) {
      if (gen === generation) error.value = e
    } finally {
      if (gen === generation) loading.value = false
    }
  }

  function replace(id: number, patch: Partial<AdminUser>): void {
    users.value = users.value.map((u) => (u.id === id ? { ...u, ...patch } : u))
  }

  /** Makes someone an admin or not (409 `last_admin` when none would be left). */
  async function setAdmin(id: number, admin: boolean): Promise<void> {
    const person = await api.updateUser(id, { admin })
    replace(id, { is_admin: person.is_admin })
  }

  /** Deactivates (their sessions close at once) or reactivates someone. */
  async function setActive(id: number, active: boolean): Promise<void> {
    const person = await api.updateUser(id, { active })
    replace(id, { deactivated_at: person.deactivated ? (users.value.find((u) => u.id === id)?.deactivated_at ?? Date.now()) : null })
  }

  /** Creates an account; answers the link that sets its first password. */
  async function create(username: string): Promise<string> {
    const answer = await api.createUser(username.trim())
    void load()
    return link(answer.path)
  }

  /** A one-time password reset link (valid `hours`). */
  async function passwordLink(id: number): Promise<{ link: string; hours: number }> {
    const answer = await api.passwordLink(id)
    return { link: link(answer.path), hours: answer.expires_in_hours }
  }

  return { users, query, loading, error, load, setAdmin, setActive, create, passwordLink }
}
