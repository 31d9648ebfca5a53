/**
 * `useUserSearch()`: people for pickers, from `GET /api/users?q=` as the
 * user types (debounced; an answer to an older query is ignored).
 */
import { ref } from 'vue'
import type { PresenceUser } from '@/api/types'
import { describeError } from '@/api/http'
import { useApi } from './useApi'

export function useUserSearch(options: { delay?: number; limit?: number } = {}) {
  const api = useApi()
  const results = ref<PresenceUser[]>([])
  const loading = ref(false)
  const error = ref('')
  let timer: ReturnType<typeof setTimeout> | undefined
  let seq = 0

  function search(query: string): void {
    if (timer !== undefined) clearTimeout(timer)
    const mine = ++seq
    loading.value = true
    timer = setTimeout(async () => {
      timer = undefined
      try {
        const answer = await api.searchUsers(query.trim(), options.limit ?? 20)
        if (mine !== seq) return
        results.value = Array.isArray(answer?.users) ? answer.users : []
        error.value = ''
      } catch (e) {
        if (mine === seq) error.value = describeError(e)
      } finally {
        if (mine === seq) loading.value = false
      }
    }, options.delay ?? 250)
  }

  return { results, loading, error, search }
}
