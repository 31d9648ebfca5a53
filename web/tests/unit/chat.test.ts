import { beforeEach, describe, expect, it, vi } from 'vitest'
import { getCurrentScope } from 'vue'
import { useChat, type UseChatOptions } from '@/utils/chat'
import { fakeToken, flush, message, mockFetch, MockWebSocket, useComposableTestEnv } from './helpers'

const TOKEN = fakeToken(1)
const inScope = useComposableTestEnv()

function setup(options: UseChatOptions = {}) {
  return inScope(() => ({
    chat: useChat(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket, interval: 1000, ...options }),
    scope: getCurrentScope()!,
  }))
}

function routes(config: { websocket: boolean } = { websocket: true }) {
  return mockFetch({
    'GET /api/config': () => config,
    'GET /api/auth/me': () => ({ id: 1, username: 'alice' }),
    'GET /api/chat/messages': () => ({ messages: [message(1)], has_more: false }),
    'GET /api/chat/messages/new': (url) => ({ messages: [], has_more: false, last_id: Number(url.searchParams.get('after_id')) }),
    'GET /api/chat/online-users': () => ({ count: 1, users: [{ id: 1, username: 'alice' }] }),
  })
}

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0.5)
})

describe('useChat', () => {
  it('uses WebSocket when the server allows it', async () => {
    routes()
    const { chat } = setup()
    chat.connect()
    expect(chat.status.value).toBe('connecting')
    await flush()
    expect(MockWebSocket.instances).toHaveLength(1)
    MockWebSocket.last.hello()
    expect(chat.transport.value).toBe('websocket')
    expect(chat.isConnected.value).toBe(true)
  })

  it('uses polling when GET /api/config says websocket: false (runtime switch)', async () => {
    const r = routes({ websocket: false })
    const { chat } = setup()
    chat.connect()
    await flush()
    expect(MockWebSocket.instances).toHaveLength(0)
    expect(chat.transport.value).toBe('polling')
    expect(chat.fallbackReason.value).toBe('server')
    expect(chat.isConnected.value).toBe(true)
    expect(r.count('GET', '/api/chat/messages/new')).toBeGreaterThan(0)
  })

  it('uses polling when forced (the build switch VITE_USE_WEBSOCKET=false maps to this)', async () => {
    routes()
    const { chat } = setup({ mode: 'polling' })
    chat.connect()
    await flush()
    expect(MockWebSocket.instances).toHaveLength(0)
    expect(chat.transport.value).toBe('polling')
  })

  it('uses polling when the browser has no WebSocket', async () => {
    routes()
    vi.stubGlobal('WebSocket', undefined)
    const chat = inScope(() => useChat(TOKEN, { interval: 1000 }))
    chat.connect()
    await flush()
    expect(chat.transport.value).toBe('polling')
    expect(chat.fallbackReason.value).toBe('unsupported')
    expect(chat.isConnected.value).toBe(true)
  })

  it('falls back to polling when WebSocket keeps failing while HTTP works, and probes back', async () => {
    const r = routes()
    const { chat } = setup({ fallbackAfter: 2, probeInterval: 30_000 })
    chat.connect()
    await flush()
    // A proxy refuses the upgrade: every attempt fails before hello.
    MockWebSocket.last.fail()
    await flush()
    expect(chat.transport.value).toBe('websocket')
    await vi.advanceTimersByTimeAsync(2000)
    MockWebSocket.last.fail()
    await flush()
    expect(chat.transport.value).toBe('polling')
    expect(chat.fallbackReason.value).toBe('failing')
    expect(chat.isConnected.value).toBe(true)
    expect(r.count('GET', '/api/chat/messages/new')).toBeGreaterThan(0)
    expect(chat.messages.value.map((m) => m.id)).toEqual([1])

    // Messages still go out (over HTTP) while polling.
    const sockets = MockWebSocket.instances.length

    // Background probe after probeInterval: still blocked → keep polling, probe later.
    await vi.advanceTimersByTimeAsync(30_000)
    await flush()
    expect(MockWebSocket.instances.length).toBe(sockets + 1)
    MockWebSocket.last.fail()
    await flush()
    expect(chat.transport.value).toBe('polling')

    // Next probe (doubled delay) succeeds → back to WebSocket, resuming from the cursor.
    await vi.advanceTimersByTimeAsync(60_000)
    await flush()
    const probe = MockWebSocket.last
    expect(MockWebSocket.instances.length).toBe(sockets + 2)
    probe.hello()
    await flush()
    expect(probe.closedByClient?.code).toBe(1000)
    expect(chat.transport.value).toBe('websocket')
    const ws = MockWebSocket.last
    expect(ws).not.toBe(probe)
    expect(new URL(ws.url).searchParams.get('after')).toBe('1')
    ws.hello()
    expect(chat.isConnected.value).toBe(true)
    expect(chat.fallbackReason.value).toBeNull()
  })

  it('does not fall back while the server is simply down', async () => {
    mockFetch({}) // every HTTP request fails too
    const { chat } = setup({ fallbackAfter: 2 })
    chat.connect()
    await flush()
    for (let i = 0; i < 4; i++) {
      MockWebSocket.last.fail()
      await flush()
      await vi.runOnlyPendingTimersAsync()
    }
    expect(chat.transport.value).toBe('websocket')
    expect(chat.isReconnecting.value).toBe(true)
  })

  it('shares one outbox across transports', async () => {
    const r = mockFetch({
      'GET /api/config': () => ({ websocket: false }),
      'GET /api/auth/me': () => ({ id: 1, username: 'alice' }),
      'GET /api/chat/messages': () => ({ messages: [], has_more: false }),
      'GET /api/chat/messages/new': () => ({ messages: [], has_more: false, last_id: 0 }),
      'GET /api/chat/online-users': () => ({ count: 0, users: [] }),
      'POST /api/chat/messages': (_u, init) => {
        const body = JSON.parse(String(init.body)) as { content: string; client_id: string }
        return message(3, { content: body.content, client_id: body.client_id, user_id: 1, username: 'alice' })
      },
    })
    const { chat } = setup()
    const id = chat.sendMessage('queued before connecting')
    chat.connect()
    await flush()
    expect(r.calls.find((c) => c.method === 'POST')!.body).toEqual({ content: 'queued before connecting', client_id: id })
    expect(chat.pending.value).toHaveLength(0)
    expect(chat.messages.value.map((m) => m.content)).toEqual(['queued before connecting'])
  })
})
