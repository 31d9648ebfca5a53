/** The typing indicator: throttled `typing` frames out, expiring names in, nothing while polling. */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import TypingIndicator from '@/components/TypingIndicator.vue'
import { useRoomStream, type RoomStreamOptions } from '@/composables/useRoomStream'
import { useTyping } from '@/composables/useTyping'
import { typingText, useTypingStore } from '@/stores/typing'
import { signIn } from '@/session'
import { flush, MockWebSocket, useComposableTestEnv } from './helpers'
import { ALICE, BOB, CAROL, ev, fakeServer, helloV2, LOBBY, msg, room, TOKEN } from './roomsServer'

const inScope = useComposableTestEnv()
const ROOMS = [room(LOBBY), room(7, { name: '设计' })]

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0.5)
  signIn({ token: TOKEN, user: ALICE })
  setActivePinia(createPinia())
})

async function connected(options: RoomStreamOptions = {}) {
  const stream = inScope(() => useRoomStream(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket, ...options }))
  stream.connect()
  await flush()
  const ws = helloV2(MockWebSocket.last, 10)
  await flush()
  return { stream, ws }
}

describe('sending typing', () => {
  it('sends at most once per typing_interval_ms per room, never for empty text, and does not move the cursor', async () => {
    fakeServer({ rooms: ROOMS })
    const { ws } = await connected()
    const typing = inScope(() => useTyping(7))
    typing.input('h')
    typing.input('he')
    typing.input('hel')
    expect(ws.framesOfType('typing')).toEqual([{ type: 'typing', room_id: 7 }])
    await vi.advanceTimersByTimeAsync(600)
    typing.input('hell')
    expect(ws.framesOfType('typing')).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(400)
    typing.input('hello')
    expect(ws.framesOfType('typing')).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(5000)
    typing.input('   \n')
    typing.input('')
    expect(ws.framesOfType('typing')).toHaveLength(2)
    // Another room has its own pace.
    const other = inScope(() => useTyping(LOBBY))
    other.input('x')
    expect(ws.framesOfType('typing')).toEqual([
      { type: 'typing', room_id: 7 },
      { type: 'typing', room_id: 7 },
      { type: 'typing', room_id: LOBBY },
    ])
  })

  it('follows typing_interval_ms from /api/config', async () => {
    fakeServer({ rooms: ROOMS, extra: { 'GET /api/config': () => ({ websocket: true, epoch: 'E', typing_interval_ms: 3000 }) } })
    const { ws } = await connected()
    const typing = inScope(() => useTyping(7))
    typing.input('a')
    await vi.advanceTimersByTimeAsync(2000)
    typing.input('ab')
    expect(ws.framesOfType('typing')).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1000)
    typing.input('abc')
    expect(ws.framesOfType('typing')).toHaveLength(2)
  })

  it('sends nothing while polling (no socket, no REST call)', async () => {
    const server = fakeServer({ rooms: ROOMS, websocket: false })
    const stream = inScope(() => useRoomStream(TOKEN, { mode: 'polling' }))
    stream.connect()
    await flush()
    const typing = inScope(() => useTyping(7))
    typing.input('hello')
    expect(MockWebSocket.instances).toHaveLength(0)
    expect(server.routes.calls.some((c) => c.url.pathname.endsWith('/typing'))).toBe(false)
  })
})

describe('showing typing', () => {
  it('shows others for about 6 s, renewed by each frame, gone when their message arrives', async () => {
    fakeServer({ rooms: ROOMS })
    const { ws } = await connected()
    const store = useTypingStore()
    ws.receive({ type: 'typing', room_id: 7, user: BOB })
    await vi.advanceTimersByTimeAsync(4000)
    ws.receive({ type: 'typing', room_id: 7, user: CAROL })
    expect(store.names(7)).toEqual(['bob', 'carol'])
    await vi.advanceTimersByTimeAsync(2100)
    expect(store.names(7)).toEqual(['carol'])
    ws.receive({ type: 'typing', room_id: 7, user: BOB })
    ws.receive(ev.message(msg(11, 7, { user_id: CAROL.id, username: CAROL.username })))
    expect(store.names(7)).toEqual(['bob'])
    await vi.advanceTimersByTimeAsync(6100)
    expect(store.names(7)).toEqual([])
    expect(store.names(LOBBY)).toEqual([])
  })

  it('ignores typing in rooms we are not in', async () => {
    fakeServer({ rooms: [...ROOMS, room(5, { member: false })] })
    const { ws } = await connected()
    ws.receive({ type: 'typing', room_id: 5, user: BOB })
    ws.receive({ type: 'typing', room_id: 99, user: BOB })
    expect(useTypingStore().active).toBe(false)
  })

  it('says who: one, two, or how many', () => {
    expect(typingText([])).toBe('')
    expect(typingText(['张三'])).toBe('张三 正在输入…')
    expect(typingText(['张三', '李四'])).toBe('张三、李四 正在输入…')
    expect(typingText(['张三', '李四', '王五'])).toBe('3 人正在输入…')
    const wrapper = mount(TypingIndicator, { props: { names: ['张三', '<b>x</b>'] } })
    expect(wrapper.get('[data-testid="typing-indicator"]').text()).toBe('张三、<b>x</b> 正在输入…')
    expect(wrapper.find('b').exists()).toBe(false)
  })
})
