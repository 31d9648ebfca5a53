/**
 * Runs the seed's own chat-room component (tests/fixtures/SeedChatRoom.vue,
 * verbatim) against useWebSocket. Type-checked with tsconfig.fixtures.json.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import SeedChatRoom from '../fixtures/SeedChatRoom.vue'
import { fakeToken, message, mockFetch, MockWebSocket } from './helpers'

const TOKEN = fakeToken(1)

beforeEach(() => {
  vi.useFakeTimers()
  MockWebSocket.reset()
  localStorage.clear()
  vi.stubGlobal('WebSocket', MockWebSocket)
  mockFetch({
    'GET /api/auth/me': () => ({ id: 1, username: 'alice' }),
    'GET /api/chat/messages': () => ({ messages: [], has_more: false }),
  })
})

afterEach(() => {
  vi.useRealTimers()
})

describe("the seed's chat-room component", () => {
  it('works unchanged against useWebSocket', async () => {
    localStorage.setItem('auth_token', TOKEN)
    const wrapper = mount(SeedChatRoom)
    expect(wrapper.text()).toContain('未连接')
    const ws = MockWebSocket.last
    expect(ws.protocols).toEqual(['hearth.v1', 'bearer.' + TOKEN])
    ws.hello({ online: { count: 2, users: [] } })
    await flushPromises()
    expect(wrapper.text()).toContain('已连接')
    expect(wrapper.text()).toContain('在线: 2')
    ws.receive({ type: 'message', message: message(1, { content: '来自种子组件的消息' }) })
    await flushPromises()
    expect(wrapper.findAll('.message-item').map((m) => m.text())).toEqual(['来自种子组件的消息'])
    ws.serverClose(1001)
    await flushPromises()
    expect(wrapper.text()).toContain('重连中...')
    wrapper.unmount()
  })
})
