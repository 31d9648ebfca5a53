import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import ChatView from '@/views/ChatView.vue'
import { fakeToken, flush, message, mockFetch, MockWebSocket } from './helpers'

const TOKEN = fakeToken(1)

beforeEach(() => {
  vi.useFakeTimers()
  MockWebSocket.reset()
  localStorage.clear()
  vi.stubGlobal('WebSocket', MockWebSocket)
  mockFetch({
    'GET /api/config': () => ({ websocket: true }),
    'GET /api/auth/me': () => ({ id: 1, username: 'alice' }),
    'GET /api/chat/messages': () => ({ messages: [], has_more: false }),
  })
})

afterEach(() => {
  vi.useRealTimers()
})

describe('ChatView', () => {
  it('shows the connection state, live messages and the user’s own sends', async () => {
    const wrapper = mount(ChatView, { props: { token: TOKEN, user: { id: 1, username: 'alice' } }, attachTo: document.body })
    await flush()
    const ws = MockWebSocket.last
    ws.hello({ online: { count: 2, users: [{ id: 1, username: 'alice' }, { id: 2, username: 'bob' }] } })
    await flush()
    expect(wrapper.get('[data-testid="connection-status"]').text()).toContain('已连接')
    expect(wrapper.get('[data-testid="online-count"]').text()).toContain('在线: 2')

    ws.receive({ type: 'message', message: message(1, { content: 'hi alice', username: 'bob' }) })
    await flush()
    expect(wrapper.findAll('[data-testid="message-content"]').map((m) => m.text())).toEqual(['hi alice'])

    await wrapper.get('textarea').setValue('hello bob')
    await wrapper.get('textarea').trigger('keydown', { key: 'Enter' })
    await flush()
    expect(wrapper.findAll('[data-testid="pending-message"]')).toHaveLength(1)
    const sent = ws.framesOfType<{ client_id: string; content: string }>('message')
    expect(sent.map((f) => f.content)).toEqual(['hello bob'])
    ws.receive({ type: 'ack', client_id: sent[0]!.client_id, id: 2, created_at: Date.now() })
    await flush()
    expect(wrapper.findAll('[data-testid="pending-message"]')).toHaveLength(0)
    expect(wrapper.findAll('[data-testid="message-content"]').map((m) => m.text())).toEqual(['hi alice', 'hello bob'])
    expect((wrapper.get('textarea').element as HTMLTextAreaElement).value).toBe('')

    ws.serverClose(1001)
    await flush()
    expect(wrapper.get('[data-testid="connection-status"]').text()).toContain('重连中...')
    wrapper.unmount()
  })

  it('logout closes the socket itself before asking the parent to revoke the token', async () => {
    const wrapper = mount(ChatView, { props: { token: TOKEN, user: { id: 1, username: 'alice' } }, attachTo: document.body })
    await flush()
    const ws = MockWebSocket.last.hello()
    await flush()
    await wrapper.get('[data-testid="user-menu"]').trigger('click')
    await flush()
    document.body.querySelector<HTMLElement>('[data-testid="logout"]')!.click()
    await flush()
    expect(wrapper.emitted('logout')).toHaveLength(1)
    // Closed by us, so the server's 4001 for the revoked token cannot read as an expired session.
    expect(ws.closedByClient?.code).toBe(1000)
    expect(wrapper.emitted('unauthorized')).toBeUndefined()
    expect(wrapper.find('[data-testid="offline-banner"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="logging-out"]').text()).toBe('正在退出…')
    wrapper.unmount()
  })

  it('emits unauthorized on close 4001', async () => {
    const wrapper = mount(ChatView, { props: { token: TOKEN, user: null } })
    await flush()
    MockWebSocket.last.hello()
    MockWebSocket.last.serverClose(4001, 'expired')
    await flush()
    expect(wrapper.emitted('unauthorized')).toHaveLength(1)
    wrapper.unmount()
  })
})
