/**
 * One's own profile: display name and status (`PATCH /api/me`), and the
 * avatar (`PUT` / `DELETE /api/me/avatar`). Every change goes into the
 * people directory at once, so one's messages and the header follow; an
 * uploaded image is shown from the bytes just sent.
 */
import type { Person, TeamApi } from '@/api/team'
import { useAvatarsStore } from '@/stores/avatars'
import { usePeopleStore } from '@/stores/people'
import { useTeamApi } from './useTeamApi'

/** Largest avatar the server takes. */
export const MAX_AVATAR_BYTES = 5 * 1024 * 1024
/** Types the server decodes. */
export const AVATAR_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const

/** Why a chosen file cannot be an avatar: `type`, `size`, or null. */
export function avatarProblem(file: Pick<File, 'type' | 'size'>): 'type' | 'size' | null {
  if (!(AVATAR_TYPES as readonly string[]).includes(file.type)) return 'type'
  if (file.size > MAX_AVATAR_BYTES) return 'size'
  return null
}

export function useProfile(api: TeamApi = useTeamApi()) {
  const people = usePeopleStore()
  const avatars = useAvatarsStore()

  function applied(person: Person): Person {
    people.upsert(person)
    return person
  }

  /** Saves the display name and status (trimmed); rejects like the REST call. */
  async function save(displayName: string, status: string): Promise<Person> {
    return applied(await api.updateMe({ display_name: displayName.trim(), status: status.trim() }))
  }

  /** Uploads a new avatar; rejects like the REST call. */
  async function setAvatar(image: Blob): Promise<Person> {
    const person = await api.setAvatar(image)
    if (person.avatar_at !== null) avatars.put(person.id, person.avatar_at, image)
    return applied(person)
  }

  async function removeAvatar(): Promise<Person> {
    return applied(await api.removeAvatar())
  }

  return { save, setAvatar, removeAvatar }
}
