/**
 * `useMessageSearch()`: message search over `GET /api/search`.
 *
 * - `run(q)` shows the first page (newest: 20 hits and 「加载更多」 while
 *   `next_before` says there are more; relevance: one page of up to 50).
 *   A newer `run` (or an order switch) cancels the answer of an older one.
 * - Refusals show inline (`error`): `query_empty`, `query_too_short`, an
 *   unknown `in:` room or `from:` user (`bad_request`), else the usual text.
 */
import { computed, ref, shallowRef } from 'vue'
import { ApiError, describeError } from '@/api/http'
import { parseSearchPage, type SearchHit, type SearchOrder } from '@/api/search'
import { t } from '@/i18n'
import { errorKey, errorText } from '@/i18n/errors'
import { useApi } from './useApi'

export const NEWEST_PAGE = 20
export const RELEVANCE_PAGE = 50

/** The user's text for a refused search (`errors.search`, else the common texts). */
export function describeSearchError(error: unknown): string {
  if (error instanceof ApiError && errorKey(error.code, 'search')?.startsWith('errors.search.')) return errorText(error.code, { context: 'search' })
  return describeError(error)
}

export function useMessageSearch() {
  const api = useApi()
  /** What the search box holds. */
  const query = ref('')
  const order = ref<SearchOrder>('newest')
  /** The query the results are for ("" before the first search). */
  const shownQuery = ref('')
  const results = shallowRef<readonly SearchHit[]>([])
  const nextBefore = ref<number | null>(null)
  const loading = ref(false)
  const loadingMore = ref(false)
  const error = ref('')
  /** A search ran and answered (the empty state may show). */
  const searched = ref(false)
  const hasMore = computed(() => order.value === 'newest' && nextBefore.value !== null)
  let seq = 0
  let controller: AbortController | null = null

  function cancel(): void {
    seq++
    controller?.abort()
    controller = null
    loading.value = false
    loadingMore.value = false
  }

  async function fetchPage(q: string, before?: number): Promise<{ results: SearchHit[]; next_before: number | null } | null> {
    const mine = ++seq
    controller?.abort()
    controller = new AbortController()
    const newest = order.value === 'newest'
    const answer = await api.searchMessages(
      { q, order: order.value, before: newest ? before : undefined, limit: newest ? NEWEST_PAGE : RELEVANCE_PAGE },
      controller.signal,
    )
    if (mine !== seq) return null
    const page = parseSearchPage(answer)
    if (!page) throw new ApiError(200, 'bad_response', 'unexpected search answer')
    return page
  }

  /** Searches `q` (default: the box) from the first page. */
  async function run(q: string = query.value): Promise<void> {
    const text = q.trim()
    cancel()
    query.value = q
    shownQuery.value = text
    error.value = ''
    if (!text) {
      results.value = []
      nextBefore.value = null
      searched.value = false
      error.value = t('errors.search.query_empty')
      return
    }
    loading.value = true
    const mine = seq + 1
    try {
      const page = await fetchPage(text)
      if (!page) return
      results.value = page.results
      nextBefore.value = order.value === 'newest' ? page.next_before : null
      searched.value = true
    } catch (e) {
      if (mine !== seq) return
      results.value = []
      nextBefore.value = null
      searched.value = false
      error.value = describeSearchError(e)
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  /** The next (older) page of the newest order. */
  async function loadMore(): Promise<void> {
    const before = nextBefore.value
    if (!hasMore.value || before === null || loading.value || loadingMore.value) return
    loadingMore.value = true
    const mine = seq + 1
    try {
      const page = await fetchPage(shownQuery.value, before)
      if (!page) return
      const seen = new Set(results.value.map((h) => h.message.id))
      results.value = [...results.value, ...page.results.filter((h) => !seen.has(h.message.id))]
      nextBefore.value = page.next_before
      error.value = ''
    } catch (e) {
      if (mine === seq) error.value = describeSearchError(e)
    } finally {
      if (mine === seq) loadingMore.value = false
    }
  }

  /** Switches between 最新 and 相关度 (the shown query runs again). */
  function setOrder(next: SearchOrder): void {
    if (order.value === next) return
    order.value = next
    if (shownQuery.value) void run(shownQuery.value)
  }

  /** Forgets the results (the panel closed for good). */
  function reset(): void {
    cancel()
    query.value = ''
    shownQuery.value = ''
    results.value = []
    nextBefore.value = null
    error.value = ''
    searched.value = false
  }

  return { query, order, shownQuery, results, nextBefore, hasMore, loading, loadingMore, error, searched, run, loadMore, setOrder, cancel, reset }
}

export type MessageSearch = ReturnType<typeof useMessageSearch>
