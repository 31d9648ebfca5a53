/** 审计日志 (admins): the newest entries first, 100 a page, older ones on demand. */
import { ref } from 'vue'
import type { AuditEntry, TeamApi } from '@/api/team'
import { useTeamApi } from './useTeamApi'

/** Entries the server sends per page. */
export const AUDIT_PAGE = 100

export function useAuditLog(api: TeamApi = useTeamApi()) {
  const entries = ref<AuditEntry[]>([])
  const loading = ref(false)
  const hasMore = ref(false)
  const error = ref<unknown>(null)

  async function fetchPage(before?: number): Promise<void> {
    loading.value = true
    error.value = null
    try {
      const page = (await api.audit(before)).entries
      const known = new Set(entries.value.map((e) => e.id))
      entries.value = before === undefined ? page : [...entries.value, ...page.filter((e) => !known.has(e.id))]
      hasMore.value = page.length >= AUDIT_PAGE
    } catch (e) {
      error.value = e
    } finally {
      loading.value = false
    }
  }

  /** The newest page (again). */
  const load = () => fetchPage()

  /** The page before the oldest entry shown. */
  function loadMore(): Promise<void> {
    const oldest = entries.value[entries.value.length - 1]
    return oldest ? fetchPage(oldest.id) : fetchPage()
  }

  return { entries, loading, hasMore, error, load, loadMore }
}
