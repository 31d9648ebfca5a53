/** Message search: snippets as text, the panel's paging and order, errors inline, and opening a hit in its room. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { defineComponent, h } from 'vue'
import type { SearchHit } from '@/api/search'
import type { ChatMessage } from '@/api/types'
import SearchPanel from '@/components/SearchPanel.vue'
import SearchSnippet from '@/components/SearchSnippet.vue'
import { useMessageSearch } from '@/composables/useMessageSearch'
import { isSearchHotkey } from '@/composables/useSearchHotkey'
import { useRoomsStore } from '@/stores/rooms'
import { signIn, signOut } from '@/session'
import { fakeListLayout, flush, json, mockFetch, MockWebSocket } from './helpers'
import { ALICE, BOB, direct, fakeServer, helloV2, LOBBY, mountApp, msg, room, TOKEN, unmountAfterEach } from './roomsServer'

function hit(id: number, roomId = 7, overrides: Partial<SearchHit> = {}): SearchHit {
  return {
    message: msg(id, roomId, { content: `明天的会议 ${id}` }),
    room_name: `room-${roomId}`,
    room_kind: 'open',
    snippet: [
      { text: '明天的', hit: false },
      { text: '会议', hit: true },
      { text: ` ${id}`, hit: false },
    ],
    ...overrides,
  }
}

describe('SearchSnippet', () => {
  it('renders markup in a snippet as text, the matches in <mark>', () => {
    const payload = '<img src=x onerror="window.__xss=1">'
    const wrapper = mount(SearchSnippet, {
      props: {
        parts: [
          { text: payload, hit: false },
          { text: '<b>会议</b>', hit: true },
          { text: '<script>alert(1)</script>', hit: false },
        ],
      },
    })
    expect(wrapper.text()).toBe(`${payload}<b>会议</b><script>alert(1)</script>`)
    expect(wrapper.find('img').exists()).toBe(false)
    expect(wrapper.find('script').exists()).toBe(false)
    expect(wrapper.find('b').exists()).toBe(false)
    expect(wrapper.findAll('mark').map((m) => m.text())).toEqual(['<b>会议</b>'])
  })
})

describe('the search panel', () => {
  let wrapper: VueWrapper | undefined

  beforeEach(() => {
    setActivePinia(createPinia())
    signIn({ token: TOKEN, user: ALICE })
  })

  afterEach(() => {
    wrapper?.unmount()
    wrapper = undefined
    signOut()
  })

  /** The panel with its search (phone layout: it has its own box). */
  function mountPanel() {
    let search!: ReturnType<typeof useMessageSearch>
    const Host = defineComponent({
      setup() {
        search = useMessageSearch()
        return () => h(SearchPanel, { search, phone: true, onSelect: (x: SearchHit) => selected.push(x) })
      },
    })
    const selected: SearchHit[] = []
    wrapper = mount(Host)
    return { wrapper, search: () => search, selected }
  }

  async function submit(w: VueWrapper, q: string): Promise<void> {
    const input = w.get('[data-testid="search-panel-input"]')
    await input.setValue(q)
    await input.trigger('keydown', { key: 'Enter' })
    await flushPromises()
  }

  it('pages the newest order with 加载更多 (before=next_before) and runs one page of up to 50 by relevance', async () => {
    const all = Array.from({ length: 25 }, (_, i) => hit(300 - i))
    const routes = mockFetch({
      'GET /api/search': (url) => {
        const before = Number(url.searchParams.get('before') ?? Infinity)
        const limit = Number(url.searchParams.get('limit'))
        const page = all.filter((x) => x.message.id < before).slice(0, limit)
        const more = url.searchParams.get('order') === 'newest' && all.filter((x) => x.message.id < before).length > limit
        return { results: page, next_before: more ? page.at(-1)!.message.id : null }
      },
    })
    const { wrapper: w, selected } = mountPanel()
    await submit(w, '会议')
    const params = () => Object.fromEntries(routes.calls.at(-1)!.url.searchParams)
    expect(params()).toEqual({ q: '会议', order: 'newest', limit: '20' })
    expect(w.findAll('[data-testid="search-hit"]')).toHaveLength(20)
    expect(w.get('[data-testid="search-count"]').text()).toBe('已显示 20 条结果')

    await w.get('[data-testid="search-load-more"]').trigger('click')
    await flushPromises()
    expect(params()).toEqual({ q: '会议', order: 'newest', limit: '20', before: '281' })
    const ids = w.findAll('[data-testid="search-hit"]').map((x) => Number(x.attributes('data-message-id')))
    expect(ids).toEqual(all.map((x) => x.message.id))
    expect(w.find('[data-testid="search-load-more"]').exists()).toBe(false)
    expect(w.text()).toContain('没有更多结果了')

    await w.get('[data-testid="search-order-relevance"]').trigger('click')
    await flushPromises()
    expect(params()).toEqual({ q: '会议', order: 'relevance', limit: '50' })
    expect(w.findAll('[data-testid="search-hit"]')).toHaveLength(25)
    expect(w.find('[data-testid="search-load-more"]').exists()).toBe(false)
    expect(w.get('[data-testid="search-order-relevance"]').attributes('aria-pressed')).toBe('true')

    const first = w.get('[data-testid="search-hit"]')
    expect(first.get('mark').text()).toBe('会议')
    expect(first.get('[data-testid="search-hit-author"]').text()).toBe(BOB.username)
    await first.trigger('click')
    expect(selected.map((x) => x.message.id)).toEqual([300])
  })

  it('shows the room as the sidebar does (# name; a direct message: the other person)', async () => {
    const rooms = useRoomsStore()
    rooms.meId = ALICE.id
    rooms.replaceAll([room(LOBBY), room(7, { name: '设计' }), direct(9, [BOB])])
    mockFetch({ 'GET /api/search': () => ({ results: [hit(2, 7), hit(1, 9, { room_name: '', room_kind: 'direct' }), hit(3, 40, { room_name: '旧房间' })], next_before: null }) })
    const { wrapper: w } = mountPanel()
    await submit(w, '会议')
    expect(w.findAll('[data-testid="search-hit-room"]').map((x) => x.text())).toEqual(['#设计', BOB.username, '#旧房间'])
  })

  it('says when nothing matched, and shows refusals inline; an empty box sends nothing', async () => {
    const routes = mockFetch({
      'GET /api/search': (url) => {
        const q = url.searchParams.get('q')
        if (q === '会') return json({ error: { code: 'query_too_short', message: 'at least 2 characters' } }, 400)
        if (q === '会议 in:nowhere') return json({ error: { code: 'bad_request', message: 'unknown room' } }, 400)
        return { results: [], next_before: null }
      },
    })
    const { wrapper: w } = mountPanel()
    await submit(w, '   ')
    expect(routes.count('GET', '/api/search')).toBe(0)
    expect(w.get('[data-testid="search-error"]').text()).toBe('请输入要搜索的内容')
    await submit(w, '会')
    expect(w.get('[data-testid="search-error"]').text()).toBe('关键词至少需要 2 个字符')
    await submit(w, '会议 in:nowhere')
    expect(w.get('[data-testid="search-error"]').text()).toContain('找不到 in: 指定的房间')
    await submit(w, '没有的词')
    expect(w.find('[data-testid="search-error"]').exists()).toBe(false)
    expect(w.get('[data-testid="search-empty"]').text()).toBe('没有找到包含「没有的词」的消息')
    expect(w.get('[data-testid="search-help"]').text()).toContain('in:房间')
    expect(w.get('[data-testid="search-help"]').text()).toContain('from:用户')
  })

  it('an older answer arriving after a newer search is ignored', async () => {
    const answers: Record<string, (r: Response) => void> = {}
    mockFetch({ 'GET /api/search': (url) => new Promise<Response>((resolve) => (answers[url.searchParams.get('q')!] = resolve)) })
    const { wrapper: w, search } = mountPanel()
    void search().run('旧词')
    void search().run('新词')
    await flushPromises()
    answers['新词']!(json({ results: [hit(2)], next_before: null }))
    await flushPromises()
    answers['旧词']?.(json({ results: [hit(1), hit(3)], next_before: null }))
    await flushPromises()
    expect(w.findAll('[data-testid="search-hit"]').map((x) => x.attributes('data-message-id'))).toEqual(['2'])
  })
})

describe('search in the app', () => {
  const keepMounted = unmountAfterEach()

  it('Ctrl+K focuses the box; Enter searches; a hit opens its room at the message, loaded around it and flashed', async () => {
    vi.useFakeTimers()
    MockWebSocket.reset()
    localStorage.clear()
    const scrolled = fakeListLayout()
    const history: ChatMessage[] = Array.from({ length: 120 }, (_, i) => msg(101 + i, 7, i === 4 ? { content: '明天的会议改到下午三点' } : {}))
    const server = fakeServer({
      rooms: [room(LOBBY), room(7, { name: '设计', last_message_id: 220, last_read_id: 220 })],
      history: { 7: history },
      extra: {
        'GET /api/search': () => ({
          results: [{ message: history[4], room_name: '设计', room_kind: 'open', snippet: [{ text: '明天的', hit: false }, { text: '会议', hit: true }, { text: '改到下午三点', hit: false }] }],
          next_before: null,
        }),
      },
    })
    const { wrapper, router } = await mountApp('/rooms/1')
    keepMounted(wrapper)
    helloV2(MockWebSocket.last, 220)
    await flush()
    await flushPromises()

    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'k', ctrlKey: true }))
    await flush()
    const input = wrapper.get('[data-testid="search-input"]')
    expect(document.activeElement).toBe(input.element)
    expect(wrapper.find('[data-testid="search-panel"]').exists()).toBe(true)
    await input.setValue('会议')
    await input.trigger('keydown', { key: 'Enter' })
    await flush()
    await flushPromises()
    expect(server.routes.calls.some((c) => c.url.pathname === '/api/search' && c.url.searchParams.get('q') === '会议')).toBe(true)
    const hits = wrapper.findAll('[data-testid="search-hit"]')
    expect(hits).toHaveLength(1)
    expect(hits[0]!.get('[data-testid="search-hit-room"]').text()).toBe('#设计')

    await hits[0]!.trigger('click')
    await flush()
    await flushPromises()
    await flush()
    await flushPromises()
    expect(router.currentRoute.value.fullPath).toBe('/rooms/7')
    expect(server.routes.calls.some((c) => c.url.searchParams.get('around') === '105')).toBe(true)
    expect(scrolled).toContain('105')
    expect(wrapper.get('[data-message-id="105"]').classes()).toContain('flash')
    // Desktop: the results stay beside the room.
    expect(wrapper.find('[data-testid="search-panel"]').exists()).toBe(true)
    vi.useRealTimers()
  })

  it('knows its shortcuts: Ctrl/⌘+K anywhere, / unless typing', () => {
    const key = (init: KeyboardEventInit, target?: EventTarget) => {
      const event = new KeyboardEvent('keydown', init)
      if (target) Object.defineProperty(event, 'target', { value: target })
      return event
    }
    expect(isSearchHotkey(key({ key: 'k', ctrlKey: true }))).toBe(true)
    expect(isSearchHotkey(key({ key: 'K', metaKey: true }))).toBe(true)
    expect(isSearchHotkey(key({ key: '/' }, document.body))).toBe(true)
    expect(isSearchHotkey(key({ key: '/' }, document.createElement('textarea')))).toBe(false)
    expect(isSearchHotkey(key({ key: 'k' }))).toBe(false)
  })
})
