/** Jumping to a reply's original: scroll when loaded, else load around it; page newer back to live, or 回到最新. */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { getCurrentScope } from 'vue'
import type { ChatMessage } from '@/api/types'
import { useReplyJump } from '@/composables/useReplyJump'
import { useRoomStream } from '@/composables/useRoomStream'
import { useMessagesStore } from '@/stores/messages'
import { signIn } from '@/session'
import { fakeListLayout, flush, MockWebSocket, useComposableTestEnv } from './helpers'
import { ALICE, ev, fakeServer, helloV2, LOBBY, mountApp, msg, room, TOKEN, unmountAfterEach } from './roomsServer'

const inScope = useComposableTestEnv()

/** Room 7 has messages 101…220; the newest quotes 105. */
const HISTORY: ChatMessage[] = Array.from({ length: 120 }, (_, i) =>
  msg(101 + i, 7, i === 119 ? { content: '同意楼上', reply_to: { id: 105, user_id: 2, username: 'bob', content: 'message 105' } } : {}),
)
const ROOMS = [room(LOBBY), room(7, { name: '设计', last_message_id: 220, last_read_id: 220 })]

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0.5)
})

function ids(roomId = 7): number[] {
  return (useMessagesStore().peek(roomId)?.messages ?? []).map((m) => m.id)
}

describe('the messages store around a message', () => {
  async function connected() {
    signIn({ token: TOKEN, user: ALICE })
    setActivePinia(createPinia())
    const server = fakeServer({ rooms: ROOMS, history: { 7: HISTORY } })
    const { stream, scope } = inScope(() => ({
      stream: useRoomStream(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket }),
      scope: getCurrentScope()!,
    }))
    stream.connect()
    await flush()
    const ws = helloV2(MockWebSocket.last, 220)
    await flush()
    await useMessagesStore().loadLatest(7)
    return { server, ws, scope }
  }

  it('replaces the list with the page around the message; live messages wait; paging down returns to live', async () => {
    const { server, ws } = await connected()
    const store = useMessagesStore()
    expect(ids()[0]).toBe(171)
    await store.loadAround(7, 105)
    expect(server.routes.calls.at(-1)!.url.searchParams.get('around')).toBe('105')
    expect(ids()).toEqual(Array.from({ length: 30 }, (_, i) => 101 + i))
    expect(store.peek(7)).toMatchObject({ newer: true, complete: false, hasMore: false })
    // A live message does not land after the window (there is a gap between).
    ws.receive(ev.message(msg(221, 7)))
    expect(ids()).not.toContain(221)
    // Edits reach the window.
    ws.receive(ev.edited(222, msg(105, 7, { content: '改过', edited_at: 9 })))
    expect(store.peek(7)!.messages.find((m) => m.id === 105)!.content).toBe('改过')

    let added = await store.loadNewer(7)
    expect(added).toBeGreaterThan(0)
    while (store.peek(7)!.newer) await store.loadNewer(7)
    // Back to live: every message once, in order, the waiting live one at the end.
    expect(ids()).toEqual(Array.from({ length: 121 }, (_, i) => 101 + i))
    expect(store.peek(7)).toMatchObject({ newer: false, complete: true })
    ws.receive(ev.message(msg(223, 7)))
    expect(ids().at(-1)).toBe(223)
    added = await store.loadNewer(7)
    expect(added).toBe(0)
  })

  it('loads older pages of a window as before, and 回到最新 brings back the newest page', async () => {
    await connected()
    const store = useMessagesStore()
    await store.loadAround(7, 160)
    expect(store.peek(7)!.hasMore).toBe(true)
    const oldest = ids()[0]!
    await store.loadOlder(7)
    expect(ids()[0]!).toBeLessThan(oldest)
    expect(store.peek(7)!.newer).toBe(true)
    await store.jumpToLatest(7)
    expect(store.peek(7)).toMatchObject({ newer: false, complete: true })
    expect(ids()).toEqual(Array.from({ length: 50 }, (_, i) => 171 + i))
  })

  it('a window is not cached (the reload shows the newest messages)', async () => {
    const { scope } = await connected()
    await useMessagesStore().loadAround(7, 105)
    scope.stop()
    const blob = JSON.parse(localStorage.getItem('hearth.cache.v1.1')!) as { messages: ChatMessage[] }
    expect(blob.messages.filter((m) => m.room_id === 7)).toEqual([])
  })

  it('useReplyJump scrolls to a loaded message without a request, loads around one that is not', async () => {
    const { server } = await connected()
    const scrollToMessage = vi.fn(() => true)
    const { jump } = inScope(() => useReplyJump(7, () => ({ scrollToMessage })))
    const before = server.routes.calls.length
    expect(await jump(200)).toBe(true)
    expect(server.routes.calls.length).toBe(before)
    expect(scrollToMessage).toHaveBeenLastCalledWith(200)
    expect(await jump(110)).toBe(true)
    expect(server.routes.calls.at(-1)!.url.searchParams.get('around')).toBe('110')
    expect(scrollToMessage).toHaveBeenLastCalledWith(110)
    expect(ids()).toContain(110)
  })

  it('useReplyJump says when the original is gone (404)', async () => {
    await connected()
    const { jump } = inScope(() => useReplyJump(7, () => ({ scrollToMessage: () => true })))
    expect(await jump(99)).toBe(false)
    await flush()
    expect(document.body.textContent).toContain('原消息已被删除或不存在')
    document.body.innerHTML = ''
  })
})

describe('in the room view', () => {
  const keepMounted = unmountAfterEach()

  it('clicking a quote loads around the original, flashes it, and 回到最新 returns', async () => {
    const scrolled = fakeListLayout()
    const server = fakeServer({ rooms: ROOMS, history: { 7: HISTORY } })
    const { wrapper } = await mountApp('/rooms/7')
    keepMounted(wrapper)
    helloV2(MockWebSocket.last, 220)
    await flush()
    await flushPromises()
    const rows = () => wrapper.findAll('[data-testid="message"]').map((r) => Number(r.attributes('data-message-id')))
    expect(rows()).toEqual(Array.from({ length: 50 }, (_, i) => 171 + i))
    await wrapper.get('[data-message-id="220"] [data-testid="reply-quote"]').trigger('click')
    await flush()
    await flushPromises()
    expect(server.routes.calls.some((c) => c.url.searchParams.get('around') === '105')).toBe(true)
    expect(rows()).toContain(105)
    expect(rows()).not.toContain(220)
    expect(scrolled).toContain('105')
    expect(wrapper.get('[data-message-id="105"]').classes()).toContain('flash')
    await wrapper.get('[data-testid="jump-latest"]').trigger('click')
    await flush()
    await flushPromises()
    expect(rows().at(-1)).toBe(220)
    expect(wrapper.find('[data-testid="jump-latest"]').exists()).toBe(false)
  })

  it('a clicked notification opens its room at the message', async () => {
    const scrolled = fakeListLayout()
    const shown: { onclick: (() => void) | null; close: () => void }[] = []
    vi.stubGlobal(
      'Notification',
      class {
        static permission = 'granted'
        onclick: (() => void) | null = null
        constructor() {
          shown.push(this)
        }
        close() {}
      },
    )
    vi.stubGlobal('isSecureContext', true)
    vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('hidden')
    vi.spyOn(window, 'focus').mockImplementation(() => {})
    fakeServer({ rooms: [...ROOMS, room(9, { name: '别处', notify: 'all' })], history: { 7: HISTORY, 9: [] } })
    const { wrapper, router } = await mountApp('/rooms/9')
    keepMounted(wrapper)
    helloV2(MockWebSocket.last, 220)
    await flush()
    await flushPromises()
    MockWebSocket.last.receive(ev.message(msg(221, 7, { content: '@alice 看这个', mentions: [ALICE.id] })))
    await vi.advanceTimersByTimeAsync(2000)
    expect(shown).toHaveLength(1)
    shown[0]!.onclick!()
    await flush()
    await flushPromises()
    await flush()
    expect(router.currentRoute.value.fullPath).toBe('/rooms/7')
    expect(scrolled).toContain('221')
    expect(wrapper.get('[data-message-id="221"]').classes()).toContain('flash')
  })
})
