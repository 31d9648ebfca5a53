/**
 * The people directory (`GET /api/people`): everyone of the team with their
 * display name, status, avatar version, role and whether they are
 * deactivated. Messages, member lists and mentions show names through it
 * (`nameOf`: the display name, else the username). Refreshed when the
 * connection says hello again and after one's own profile changed.
 */
import { defineStore } from 'pinia'
import { computed, shallowRef } from 'vue'
import type { Person } from '@/api/team'
import { useTeamApi } from '@/composables/useTeamApi'

export const usePeopleStore = defineStore('people', () => {
  const byId = shallowRef(new Map<number, Person>())
  /** The directory answered at least once. */
  const loaded = computed(() => byId.value.size > 0)
  let running: Promise<void> | null = null
  /** Bumped by `reset`: an answer to an older request is dropped. */
  let generation = 0

  function get(id: number | null | undefined): Person | undefined {
    return id === null || id === undefined ? undefined : byId.value.get(id)
  }

  /** What to call someone: their display name, else their username, else `fallback` (a message's own username). */
  function nameOf(id: number | null | undefined, fallback = ''): string {
    const person = get(id)
    if (!person) return fallback
    return person.display_name.trim() || person.username || fallback
  }

  /** Reloads the directory (one request at a time; a failure keeps what is known). */
  function refresh(): Promise<void> {
    if (running) return running
    const gen = generation
    const request = useTeamApi()
      .people()
      .then((answer) => {
        if (gen !== generation || !Array.isArray(answer?.people)) return
        byId.value = new Map(answer.people.map((p) => [p.id, p]))
      })
      .catch(() => {})
      .finally(() => {
        if (running === request) running = null
      })
    running = request
    return request
  }

  /** One person changed (one's own profile, an admin's change): shown at once. */
  function upsert(person: Person): void {
    const next = new Map(byId.value)
    next.set(person.id, person)
    byId.value = next
  }

  function reset(): void {
    generation++
    running = null
    byId.value = new Map()
  }

  return { byId, loaded, get, nameOf, refresh, upsert, reset }
})
