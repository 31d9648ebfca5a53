import { describe, expect, it, vi } from 'vitest'
import { getCurrentScope } from 'vue'
import { ChatSendError } from '@/utils/chatCore'
import { CLIENT_ABANDON_CODE, useWebSocket, type UseWebSocketOptions } from '@/utils/websocket'
import { fakeToken, flush, json, message, mockFetch, MockWebSocket, useComposableTestEnv } from './helpers'

const TOKEN = fakeToken(1)
const inScope = useComposableTestEnv()

/** Creates the composable inside an effect scope, as a component would. */
function setup(options: UseWebSocketOptions = {}, token = TOKEN) {
  return inScope(() => ({
    chat: useWebSocket(token, { WebSocket: MockWebSocket as unknown as typeof WebSocket, ...options }),
    scope: getCurrentScope()!,
  }))
}

function defaultRoutes() {
  return mockFetch({
    'GET /api/chat/messages': () => ({ messages: [], has_more: false }),
    'GET /api/auth/me': () => ({ id: 1, username: 'alice' }),
    'GET /api/config': () => ({ websocket: true }),
  })
}

describe('useWebSocket: connection', () => {
  it('authenticates with the subprotocol pair and keeps the token out of the URL', async () => {
    defaultRoutes()
    const { chat } = setup()
    expect(chat.status.value).toBe('idle')
    chat.connect()
    const ws = MockWebSocket.last
    expect(ws.protocols).toEqual(['hearth.v1', 'bearer.' + TOKEN])
    expect(ws.url).toBe('ws://hearth.test/api/chat/ws')
    expect(ws.url).not.toContain(TOKEN)
    expect(chat.status.value).toBe('connecting')
    expect(chat.isConnected.value).toBe(false)

    ws.hello({ online: { count: 3, users: [{ id: 1, username: 'alice' }] } })
    expect(chat.status.value).toBe('open')
    expect(chat.isConnected.value).toBe(true)
    expect(chat.isReconnecting.value).toBe(false)
    expect(chat.onlineCount.value).toBe(3)
    expect(chat.currentUser.value).toEqual({ id: 1, username: 'alice' })
  })

  it('connect() is idempotent', () => {
    defaultRoutes()
    const { chat } = setup()
    chat.connect()
    chat.connect()
    expect(MockWebSocket.instances).toHaveLength(1)
  })

  it('emits typed events through on/off', async () => {
    defaultRoutes()
    const { chat } = setup()
    const seen: number[] = []
    const listener = (m: { id: number }) => seen.push(m.id)
    chat.on('message', listener)
    chat.connect()
    const ws = MockWebSocket.last.hello()
    ws.receive({ type: 'message', message: message(1) })
    chat.off('message', listener)
    ws.receive({ type: 'message', message: message(2) })
    expect(seen).toEqual([1])
    expect(chat.messages.value.map((m) => m.id)).toEqual([1, 2])
  })

  it('updates presence from presence frames', () => {
    defaultRoutes()
    const { chat } = setup()
    chat.connect()
    MockWebSocket.last.hello().receive({
      type: 'presence',
      count: 2,
      users: [
        { id: 1, username: 'alice' },
        { id: 2, username: 'bob' },
      ],
      joined: [{ id: 2, username: 'bob' }],
    })
    expect(chat.onlineCount.value).toBe(2)
    expect(chat.onlineUsers.value.map((u) => u.username)).toEqual(['alice', 'bob'])
  })

  it('applies presence pushes as changes to the list from hello', () => {
    defaultRoutes()
    const { chat } = setup()
    chat.connect()
    const ws = MockWebSocket.last.hello()
    ws.receive({ type: 'presence', count: 3, joined: [{ id: 3, username: 'carol' }, { id: 2, username: 'bob' }], left: [] })
    expect(chat.onlineCount.value).toBe(3)
    expect(chat.onlineUsers.value.map((u) => u.username)).toContain('carol')
    ws.receive({ type: 'presence', count: 2, joined: [], left: [{ id: 2, username: 'bob' }] })
    expect(chat.onlineCount.value).toBe(2)
    expect(chat.onlineUsers.value.map((u) => u.username)).not.toContain('bob')
    expect(chat.onlineUsers.value.map((u) => u.username)).toContain('carol')
  })
})

describe('useWebSocket: reconnect', () => {
  it('backs off exponentially with jitter, never hammering the server', async () => {
    defaultRoutes()
    const random = vi.spyOn(Math, 'random')
    const { chat } = setup({ verifyAuthOnFailure: false })
    const delays: number[] = []
    chat.on('reconnecting', (e) => delays.push(e.delay))
    chat.connect()

    const randoms = [0, 1, 0.5, 0, 1, 0.5, 0.5, 0.5]
    for (let i = 0; i < randoms.length; i++) {
      random.mockReturnValueOnce(randoms[i]!)
      MockWebSocket.last.fail()
      const delay = delays[i]!
      const before = MockWebSocket.instances.length
      await vi.advanceTimersByTimeAsync(delay - 1)
      expect(MockWebSocket.instances.length).toBe(before) // not yet
      await vi.advanceTimersByTimeAsync(1)
      expect(MockWebSocket.instances.length).toBe(before + 1) // retried
    }
    expect(chat.status.value).toBe('reconnecting')
    expect(chat.isReconnecting.value).toBe(true)
    // base 500 ms doubling to a 20 s cap, jitter ±25 %
    expect(delays).toEqual([375, 1250, 2000, 3000, 10000, 16000, 20000, 20000])
    // Growth: with the same random draw, later attempts wait longer.
    expect(delays[7]!).toBeGreaterThan(delays[2]!)
    random.mockRestore()
  })

  it('spreads the retries of different clients (jitter)', () => {
    defaultRoutes()
    const delays = new Set<number>()
    for (let i = 0; i < 20; i++) {
      const { chat } = setup({ verifyAuthOnFailure: false })
      chat.on('reconnecting', (e) => delays.add(e.delay))
      chat.connect()
      MockWebSocket.last.fail()
    }
    expect(delays.size).toBeGreaterThan(10)
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(375)
      expect(d).toBeLessThanOrEqual(625)
    }
  })

  it('resets the backoff after a stable connection, and reconnects after a server restart (1001)', async () => {
    defaultRoutes()
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const { chat } = setup()
    chat.connect()
    MockWebSocket.last.hello()
    await vi.advanceTimersByTimeAsync(6000)
    MockWebSocket.last.serverClose(1001, 'server shutting down')
    expect(chat.status.value).toBe('reconnecting')
    await vi.advanceTimersByTimeAsync(500)
    expect(MockWebSocket.instances).toHaveLength(2)
    MockWebSocket.last.hello()
    expect(chat.status.value).toBe('open')
  })

  it('does not reconnect after close 4001 and emits unauthorized', async () => {
    defaultRoutes()
    const { chat } = setup()
    const unauthorized = vi.fn()
    chat.on('unauthorized', unauthorized)
    chat.connect()
    MockWebSocket.last.hello()
    MockWebSocket.last.serverClose(4001, 'token expired')
    expect(unauthorized).toHaveBeenCalledOnce()
    expect(chat.status.value).toBe('closed')
    expect(chat.isReconnecting.value).toBe(false)
    await vi.advanceTimersByTimeAsync(10 * 60_000)
    expect(MockWebSocket.instances).toHaveLength(1)
  })

  it('detects a rejected token on a refused upgrade via GET /api/auth/me', async () => {
    mockFetch({
      'GET /api/auth/me': () => json({ error: { code: 'unauthorized', message: 'expired' } }, 401),
    })
    const { chat } = setup()
    const unauthorized = vi.fn()
    chat.on('unauthorized', unauthorized)
    chat.connect()
    MockWebSocket.last.fail() // the browser only sees 1006
    await flush()
    expect(unauthorized).toHaveBeenCalledOnce()
    expect(chat.status.value).toBe('closed')
    await vi.advanceTimersByTimeAsync(60_000)
    expect(MockWebSocket.instances).toHaveLength(1)
  })

  it('does not retry after disconnect() (explicitlyClosed)', async () => {
    defaultRoutes()
    const { chat } = setup()
    chat.connect()
    const ws = MockWebSocket.last.hello()
    chat.disconnect()
    expect(chat.explicitlyClosed.value).toBe(true)
    expect(ws.closedByClient?.code).toBe(1000)
    expect(chat.status.value).toBe('closed')
    await vi.advanceTimersByTimeAsync(60_000)
    expect(MockWebSocket.instances).toHaveLength(1)
    chat.connect()
    expect(chat.explicitlyClosed.value).toBe(false)
    expect(MockWebSocket.instances).toHaveLength(2)
  })

  it('retries at once when the browser comes back online or the tab becomes visible', async () => {
    defaultRoutes()
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const { chat } = setup({ verifyAuthOnFailure: false })
    chat.connect()
    MockWebSocket.last.hello()
    MockWebSocket.last.fail()
    for (let i = 0; i < 6; i++) {
      await vi.runOnlyPendingTimersAsync()
      MockWebSocket.last.fail()
    }
    const count = MockWebSocket.instances.length
    window.dispatchEvent(new Event('online'))
    expect(MockWebSocket.instances.length).toBe(count + 1)
    MockWebSocket.last.fail()
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true })
    document.dispatchEvent(new Event('visibilitychange'))
    expect(MockWebSocket.instances.length).toBe(count + 2)
    MockWebSocket.last.hello()
    expect(chat.isConnected.value).toBe(true)
  })

  it('gives up a connection that never says hello (connect timeout)', async () => {
    defaultRoutes()
    const { chat } = setup({ verifyAuthOnFailure: false, connectTimeout: 5000 })
    chat.connect()
    MockWebSocket.last.accept()
    await vi.advanceTimersByTimeAsync(5000)
    expect(MockWebSocket.instances[0]!.closedByClient?.code).toBe(CLIENT_ABANDON_CODE)
    expect(chat.status.value).toBe('reconnecting')
  })
})

describe('useWebSocket: heartbeat', () => {
  it('pings every 25 s and reconnects when a pong is missing for 10 s', async () => {
    defaultRoutes()
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const { chat } = setup()
    chat.connect()
    const ws = MockWebSocket.last.hello()

    await vi.advanceTimersByTimeAsync(25_000)
    expect(ws.framesOfType('ping')).toHaveLength(1)
    ws.receive({ type: 'pong' })
    await vi.advanceTimersByTimeAsync(10_000)
    expect(chat.isConnected.value).toBe(true) // pong arrived: alive

    await vi.advanceTimersByTimeAsync(15_000) // second ping at 50 s
    expect(ws.framesOfType('ping')).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(9_999)
    expect(chat.isConnected.value).toBe(true)
    await vi.advanceTimersByTimeAsync(1) // no pong for 10 s: dead
    expect(ws.closedByClient?.code).toBe(CLIENT_ABANDON_CODE)
    expect(chat.status.value).toBe('reconnecting')
    await vi.advanceTimersByTimeAsync(1000)
    expect(MockWebSocket.instances).toHaveLength(2)
    MockWebSocket.last.hello()
    expect(chat.isConnected.value).toBe(true)
  })
})

describe('useWebSocket: browser awareness', () => {
  it('checks the connection quickly when the tab is shown again', async () => {
    defaultRoutes()
    const { chat } = setup()
    chat.connect()
    const ws = MockWebSocket.last.hello()
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true })
    document.dispatchEvent(new Event('visibilitychange'))
    expect(ws.framesOfType('ping')).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(4000) // died while the phone slept
    expect(ws.closedByClient?.code).toBe(CLIENT_ABANDON_CODE)
    expect(chat.status.value).toBe('reconnecting')
  })

  it('verifies instead of dropping on an "offline" event (a LAN server may still answer)', async () => {
    defaultRoutes()
    const { chat } = setup()
    chat.connect()
    const ws = MockWebSocket.last.hello()
    window.dispatchEvent(new Event('offline'))
    expect(ws.framesOfType('ping')).toHaveLength(1)
    ws.receive({ type: 'pong' })
    await vi.advanceTimersByTimeAsync(10_000)
    expect(chat.isConnected.value).toBe(true)
  })
})

describe('useWebSocket: outbox', () => {
  it('queues while offline instead of throwing, and rejects invalid content', () => {
    defaultRoutes()
    const { chat } = setup()
    expect(() => chat.sendMessage('   ')).toThrow(ChatSendError)
    expect(() => chat.sendMessage('x'.repeat(2001))).toThrow(/2000/)
    const id = chat.sendMessage('  hello  ')
    expect(chat.pending.value).toHaveLength(1)
    expect(chat.pending.value[0]).toMatchObject({ client_id: id, content: 'hello', state: 'pending' })
  })

  it('throws while offline when the outbox is disabled (the seed’s catch path)', () => {
    defaultRoutes()
    const { chat } = setup({ outbox: false })
    expect(() => chat.sendMessage('hi')).toThrow(expect.objectContaining({ code: 'not_connected' }))
    chat.connect()
    MockWebSocket.last.hello()
    expect(() => chat.sendMessage('hi')).not.toThrow()
    expect(MockWebSocket.last.framesOfType('message')).toHaveLength(1)
  })

  it('survives a reload and flushes exactly once, in order, with the same client_ids', async () => {
    defaultRoutes()
    // Before the reload: offline, two messages typed.
    const first = setup()
    first.chat.connect()
    MockWebSocket.last.fail()
    const a = first.chat.sendMessage('first')
    const b = first.chat.sendMessage('second')
    expect(MockWebSocket.instances[0]!.sent).toHaveLength(0)
    first.scope.stop() // the page goes away

    // After the reload.
    MockWebSocket.reset()
    const { chat } = setup()
    expect(chat.pending.value.map((e) => e.client_id)).toEqual([a, b])
    chat.connect()
    const ws = MockWebSocket.last.hello({ user: { id: 1, username: 'alice' } })
    const sent = ws.framesOfType<{ client_id: string; content: string }>('message')
    expect(sent.map((f) => [f.client_id, f.content])).toEqual([
      [a, 'first'],
      [b, 'second'],
    ])
    // Nothing is sent twice on the same connection.
    chat.connect()
    await vi.advanceTimersByTimeAsync(1000)
    expect(ws.framesOfType('message')).toHaveLength(2)

    ws.receive({ type: 'ack', client_id: a, id: 10, created_at: 1 })
    ws.receive({ type: 'ack', client_id: b, id: 11, created_at: 2 })
    // A duplicate ack (e.g. after a resend) changes nothing.
    ws.receive({ type: 'ack', client_id: b, id: 11, created_at: 2 })
    expect(chat.pending.value).toHaveLength(0)
    expect(chat.messages.value.map((m) => [m.id, m.content, m.username])).toEqual([
      [10, 'first', 'alice'],
      [11, 'second', 'alice'],
    ])
    expect(localStorage.getItem('hearth.outbox.v1.1')).toBeNull()

    // The broadcast copies of our own messages do not duplicate them.
    ws.receive({ type: 'message', message: message(10, { user_id: 1, username: 'alice', content: 'first', client_id: a }) })
    ws.receive({ type: 'message', message: message(11, { user_id: 1, username: 'alice', content: 'second', client_id: b }) })
    expect(chat.messages.value.map((m) => m.id)).toEqual([10, 11])

    // Reconnecting sends nothing again.
    ws.serverClose(1001)
    await vi.advanceTimersByTimeAsync(30_000)
    MockWebSocket.last.hello()
    expect(MockWebSocket.last.framesOfType('message')).toHaveLength(0)
  })

  it('resends an unacknowledged message once after a reconnect, with the same client_id', async () => {
    defaultRoutes()
    const { chat } = setup()
    chat.connect()
    const ws1 = MockWebSocket.last.hello()
    const id = chat.sendMessage('hello')
    expect(ws1.framesOfType('message')).toHaveLength(1)
    expect(chat.pending.value[0]!.state).toBe('sending')
    ws1.serverClose(1001)
    expect(chat.pending.value[0]!.state).toBe('pending')
    await vi.advanceTimersByTimeAsync(30_000)
    const ws2 = MockWebSocket.last.hello()
    const resent = ws2.framesOfType<{ client_id: string }>('message')
    expect(resent.map((f) => f.client_id)).toEqual([id])
    // The server already stored it: it acks the same id; there is one message.
    ws2.receive({ type: 'ack', client_id: id, id: 5, created_at: 5 })
    expect(chat.messages.value).toHaveLength(1)
    expect(chat.pending.value).toHaveLength(0)
  })

  it('keeps at most maxInFlight messages on the wire and preserves order', () => {
    defaultRoutes()
    const { chat } = setup({ maxInFlight: 2 })
    chat.connect()
    const ws = MockWebSocket.last.hello()
    const ids = ['a', 'b', 'c', 'd'].map((t) => chat.sendMessage(t))
    expect(ws.framesOfType('message')).toHaveLength(2)
    ws.receive({ type: 'ack', client_id: ids[0], id: 1, created_at: 1 })
    expect(ws.framesOfType<{ content: string }>('message').map((f) => f.content)).toEqual(['a', 'b', 'c'])
  })

  it('marks a refused message failed and retries it with the same client_id', () => {
    defaultRoutes()
    const { chat } = setup()
    const failed = vi.fn()
    chat.on('send-failed', failed)
    chat.connect()
    const ws = MockWebSocket.last.hello()
    const id = chat.sendMessage('bad')
    ws.receive({ type: 'error', code: 'invalid_content', message: 'nope', client_id: id })
    expect(chat.pending.value[0]).toMatchObject({ state: 'failed' })
    expect(failed).toHaveBeenCalledOnce()
    chat.retry(id)
    const frames = ws.framesOfType<{ client_id: string }>('message')
    expect(frames.map((f) => f.client_id)).toEqual([id, id])
    chat.discard(id)
    expect(chat.pending.value).toHaveLength(0)
  })

  it('waits retry_after_ms after rate_limited, then resends', async () => {
    defaultRoutes()
    const { chat } = setup()
    chat.connect()
    const ws = MockWebSocket.last.hello()
    const id = chat.sendMessage('x')
    ws.receive({ type: 'error', code: 'rate_limited', message: 'slow down', client_id: id, retry_after_ms: 700 })
    expect(chat.pending.value[0]!.state).toBe('pending')
    await vi.advanceTimersByTimeAsync(699)
    expect(ws.framesOfType('message')).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(ws.framesOfType('message')).toHaveLength(2)
  })

  it('sends a message too big for one 4096-byte frame over REST', async () => {
    const routes = mockFetch({
      'GET /api/chat/messages': () => ({ messages: [], has_more: false }),
      'POST /api/chat/messages': (_url, init) => {
        const body = JSON.parse(String(init.body)) as { content: string; client_id: string }
        return json(message(7, { content: body.content, client_id: body.client_id, user_id: 1, username: 'alice' }), 201)
      },
    })
    const { chat } = setup()
    chat.connect()
    const ws = MockWebSocket.last.hello()
    const content = '汉'.repeat(2000) // 6000 bytes of UTF-8
    const id = chat.sendMessage(content)
    await flush()
    expect(ws.framesOfType('message')).toHaveLength(0)
    expect(routes.count('POST', '/api/chat/messages')).toBe(1)
    expect(routes.calls.find((c) => c.method === 'POST')!.body).toEqual({ content, client_id: id })
    expect(chat.pending.value).toHaveLength(0)
    expect(chat.messages.value.map((m) => m.id)).toEqual([7])
  })

  it('learns a lower frame limit from close 1009 and sends such messages over REST', async () => {
    const posted: string[] = []
    mockFetch({
      'GET /api/chat/messages': () => ({ messages: [], has_more: false }),
      'POST /api/chat/messages': (_url, init) => {
        const body = JSON.parse(String(init.body)) as { content: string; client_id: string }
        posted.push(body.client_id)
        return json(message(9, { content: body.content, client_id: body.client_id, user_id: 1, username: 'alice' }), 201)
      },
    })
    const { chat } = setup()
    chat.connect()
    const ws1 = MockWebSocket.last.hello()
    const id = chat.sendMessage('x'.repeat(1500)) // fits 4096, but this server allows 1024
    expect(ws1.framesOfType('message')).toHaveLength(1)
    ws1.serverClose(1009, 'frame too large')
    await vi.advanceTimersByTimeAsync(30_000)
    const ws2 = MockWebSocket.last.hello()
    await flush()
    expect(ws2.framesOfType('message')).toHaveLength(0)
    expect(posted).toEqual([id])
    expect(chat.pending.value).toHaveLength(0)
    // Small messages still use the socket.
    chat.sendMessage('small')
    expect(ws2.framesOfType('message')).toHaveLength(1)
  })

  it('marks a message failed when its ack never comes although the connection answers', async () => {
    defaultRoutes()
    const { chat } = setup({ ackTimeout: 3000 })
    chat.connect()
    const ws = MockWebSocket.last.hello()
    chat.sendMessage('lost')
    await vi.advanceTimersByTimeAsync(3000)
    expect(ws.framesOfType('ping')).toHaveLength(1)
    ws.receive({ type: 'pong' })
    expect(chat.pending.value[0]!.state).toBe('failed')
  })
})

describe('useWebSocket: local data', () => {
  it('clearLocalData (logout) removes the cache and outbox and writes nothing afterwards', async () => {
    defaultRoutes()
    const { chat, scope } = setup()
    chat.connect()
    MockWebSocket.last.hello().receive({ type: 'message', message: message(1) })
    chat.disconnect()
    chat.sendMessage('never sent')
    await vi.advanceTimersByTimeAsync(1000)
    expect(Object.keys(localStorage).filter((k) => k.startsWith('hearth.'))).not.toEqual([])
    chat.clearLocalData()
    scope.stop()
    await vi.advanceTimersByTimeAsync(1000)
    expect(Object.keys(localStorage).filter((k) => k.startsWith('hearth.'))).toEqual([])
  })
})

describe('useWebSocket: resume', () => {
  it('resumes with ?after=<last id> and merges without duplicates, sorted', async () => {
    defaultRoutes()
    const { chat } = setup()
    chat.connect()
    const ws1 = MockWebSocket.last.hello({ last_id: 0 })
    ws1.receive({ type: 'message', message: message(1) })
    ws1.receive({ type: 'message', message: message(3) })
    ws1.receive({ type: 'message', message: message(2) })
    expect(chat.messages.value.map((m) => m.id)).toEqual([1, 2, 3])
    ws1.fail()
    await vi.advanceTimersByTimeAsync(30_000)
    const ws2 = MockWebSocket.last
    expect(new URL(ws2.url).searchParams.get('after')).toBe('3')
    ws2.hello({ last_id: 4 })
    for (const id of [2, 3, 4, 4]) ws2.receive({ type: 'message', message: message(id) })
    expect(chat.messages.value.map((m) => m.id)).toEqual([1, 2, 3, 4])
  })

  it('restores the cache after a reload and resumes from it', async () => {
    defaultRoutes()
    const first = setup()
    first.chat.connect()
    MockWebSocket.last.hello({ epoch: 'E' }).receive({ type: 'message', message: message(8) })
    first.scope.stop()

    MockWebSocket.reset()
    const { chat } = setup()
    expect(chat.messages.value.map((m) => m.id)).toEqual([8])
    chat.connect()
    expect(new URL(MockWebSocket.last.url).searchParams.get('after')).toBe('8')
    MockWebSocket.last.hello({ epoch: 'E', last_id: 9 }).receive({ type: 'message', message: message(9) })
    expect(chat.messages.value.map((m) => m.id)).toEqual([8, 9])
  })

  it('drops the cache when the epoch changed (new database)', async () => {
    const routes = mockFetch({
      'GET /api/chat/messages': () => ({ messages: [message(1, { content: 'new db' })], has_more: false }),
    })
    const first = setup()
    first.chat.connect()
    MockWebSocket.last.hello({ epoch: 'old' })
    MockWebSocket.last.receive({ type: 'message', message: message(40) })
    first.scope.stop()

    MockWebSocket.reset()
    const { chat } = setup()
    const changed = vi.fn()
    chat.on('epoch-changed', changed)
    expect(chat.messages.value.map((m) => m.id)).toEqual([40])
    chat.connect()
    const resumed = MockWebSocket.last
    expect(new URL(resumed.url).searchParams.get('after')).toBe('40')
    resumed.hello({ epoch: 'new', last_id: 1 })
    expect(changed).toHaveBeenCalledWith({ previous: 'old', current: 'new' })
    expect(chat.messages.value).toEqual([])
    // The old cursor means nothing in the new database: reconnect at once without it.
    expect(resumed.closedByClient?.code).toBe(CLIENT_ABANDON_CODE)
    await vi.advanceTimersByTimeAsync(0)
    const fresh = MockWebSocket.last
    expect(fresh).not.toBe(resumed)
    expect(new URL(fresh.url).searchParams.has('after')).toBe(false)
    fresh.hello({ epoch: 'new', last_id: 1 })
    expect(changed).toHaveBeenCalledOnce()
    await flush()
    expect(routes.count('GET', '/api/chat/messages')).toBeGreaterThan(0)
    expect(chat.messages.value.map((m) => [m.id, m.content])).toEqual([[1, 'new db']])
  })

  it('loads older history with ?before= and keeps the order', async () => {
    const routes = mockFetch({
      'GET /api/chat/messages': (url) =>
        url.searchParams.get('before') === '3'
          ? { messages: [message(1), message(2)], has_more: false }
          : { messages: [message(3), message(4)], has_more: true },
    })
    const { chat } = setup()
    chat.connect()
    MockWebSocket.last.hello({ last_id: 4 })
    await flush()
    expect(chat.messages.value.map((m) => m.id)).toEqual([3, 4])
    expect(chat.hasMore.value).toBe(true)
    await chat.loadOlder()
    expect(routes.calls.at(-1)!.url.searchParams.get('before')).toBe('3')
    expect(chat.messages.value.map((m) => m.id)).toEqual([1, 2, 3, 4])
    expect(chat.hasMore.value).toBe(false)
    expect(await chat.loadOlder()).toBe(0)
  })
})
