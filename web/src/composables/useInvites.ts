/**
 * Invitation links (`/api/invites`): the list (admins see every one, members
 * their own), creating one (its full link exists only in that answer) and
 * revoking one.
 */
import { ref } from 'vue'
import { appLink, type Invite, type TeamApi } from '@/api/team'
import { useTeamApi } from './useTeamApi'

/** Expiry choices, in hours: a day, a week, a month. */
export const INVITE_HOURS = [24, 7 * 24, 30 * 24] as const
/** How many people one link admits. */
export const INVITE_USES = [1, 5, 25, 100] as const

export function useInvites(api: TeamApi = useTeamApi(), link: (path: string) => string = appLink) {
  const invites = ref<Invite[]>([])
  const loading = ref(false)
  /** The text of the last failure of the list. */
  const error = ref<unknown>(null)
  /** The link just created (full URL), and its invitation. */
  const created = ref<{ link: string; invite: Invite } | null>(null)

  async function load(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      const answer = await api.invites()
      invites.value = [...answer.invites].sort((a, b) => b.created_at - a.created_at)
    } catch (e) {
      error.value = e
    } finally {
      loading.value = false
    }
  }

  /** Creates a link (rejects like the REST call); the list is reloaded. */
  async function create(hours: number, uses: number): Promise<string> {
    const answer = await api.createInvite(hours, uses)
    const url = link(answer.path)
    created.value = { link: url, invite: answer.invite }
    invites.value = [answer.invite, ...invites.value.filter((i) => i.id !== answer.invite.id)]
    void load()
    return url
  }

  /** Revokes one (rejects like the REST call); it stays listed as revoked. */
  async function revoke(id: number): Promise<void> {
    await api.revokeInvite(id)
    invites.value = invites.value.map((i) => (i.id === id ? { ...i, state: 'revoked' } : i))
    if (created.value?.invite.id === id) created.value = null
  }

  return { invites, loading, error, created, load, create, revoke }
}
