import { describe, expect, it, vi } from 'vitest'
import { getCurrentScope } from 'vue'
import type { ChatMessage } from '@/api/types'
import { usePolling, type UsePollingOptions } from '@/utils/polling'
import { fakeToken, flush, json, message, mockFetch, useComposableTestEnv } from './helpers'

const TOKEN = fakeToken(1)
const inScope = useComposableTestEnv()

function setup(options: UsePollingOptions = {}) {
  return inScope(() => ({ chat: usePolling(TOKEN, options), scope: getCurrentScope()! }))
}

/** A fake server: messages live in `db`; POST appends (idempotent by client_id). */
function fakeServer(initial: ChatMessage[] = []) {
  const db = [...initial]
  let failing = false
  const routes = mockFetch({
    'GET /api/auth/me': () => ({ id: 1, username: 'alice' }),
    'GET /api/chat/messages': (url) => {
      if (failing) throw new TypeError('Failed to fetch')
      const before = Number(url.searchParams.get('before') ?? Infinity)
      const older = db.filter((m) => m.id < before)
      return { messages: older.slice(-50), has_more: older.length > 50 }
    },
    'GET /api/chat/messages/new': (url) => {
      if (failing) throw new TypeError('Failed to fetch')
      const after = Number(url.searchParams.get('after_id') ?? 0)
      const newer = db.filter((m) => m.id > after)
      const page = newer.slice(0, 2)
      return { messages: page, has_more: newer.length > 2, last_id: page.at(-1)?.id ?? after }
    },
    'POST /api/chat/messages': (_url, init) => {
      if (failing) throw new TypeError('Failed to fetch')
      const body = JSON.parse(String(init.body)) as { content: string; client_id: string }
      const existing = db.find((m) => m.client_id === body.client_id)
      if (existing) return json(existing, 200)
      const m = message((db.at(-1)?.id ?? 0) + 1, { user_id: 1, username: 'alice', content: body.content, client_id: body.client_id })
      db.push(m)
      return json(m, 201)
    },
    'GET /api/chat/online-users': () => ({ count: 1, users: [{ id: 1, username: 'alice' }] }),
  })
  return {
    db,
    routes,
    setFailing: (value: boolean) => (failing = value),
  }
}

describe('usePolling', () => {
  it('loads the newest page, then polls /new with the after_id cursor', async () => {
    const server = fakeServer([message(1), message(2)])
    const { chat } = setup({ interval: 1000 })
    chat.connect()
    await flush()
    expect(chat.status.value).toBe('open')
    expect(chat.isConnected.value).toBe(true)
    expect(chat.messages.value.map((m) => m.id)).toEqual([1, 2])
    expect(chat.onlineCount.value).toBe(1)
    expect(server.routes.calls.filter((c) => c.url.pathname === '/api/chat/messages/new').at(-1)!.url.searchParams.get('after_id')).toBe('2')

    server.db.push(message(3), message(4), message(5))
    await vi.advanceTimersByTimeAsync(1000)
    await flush()
    // has_more pages are fetched back to back
    expect(chat.messages.value.map((m) => m.id)).toEqual([1, 2, 3, 4, 5])
    const cursors = server.routes.calls
      .filter((c) => c.url.pathname === '/api/chat/messages/new')
      .map((c) => c.url.searchParams.get('after_id'))
    expect(cursors.slice(-2)).toEqual(['2', '4'])
  })

  it('sends over POST with a client_id, in order, without duplicates', async () => {
    const server = fakeServer()
    const { chat } = setup({ interval: 1000 })
    chat.connect()
    await flush()
    const a = chat.sendMessage('one')
    const b = chat.sendMessage('two')
    await flush()
    expect(server.db.map((m) => [m.content, m.client_id])).toEqual([
      ['one', a],
      ['two', b],
    ])
    expect(chat.pending.value).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1000)
    await flush()
    expect(chat.messages.value.map((m) => m.content)).toEqual(['one', 'two'])
  })

  it('keeps messages typed during an outage and delivers them once afterwards', async () => {
    const server = fakeServer()
    const { chat } = setup({ interval: 1000 })
    chat.connect()
    await flush()
    server.setFailing(true)
    await vi.advanceTimersByTimeAsync(1000)
    await flush()
    expect(chat.status.value).toBe('reconnecting')
    const id = chat.sendMessage('typed offline')
    await flush()
    expect(chat.pending.value).toHaveLength(1)
    server.setFailing(false)
    await vi.advanceTimersByTimeAsync(5000)
    await flush()
    expect(chat.status.value).toBe('open')
    expect(server.db.filter((m) => m.client_id === id)).toHaveLength(1)
    expect(chat.pending.value).toHaveLength(0)
    expect(chat.messages.value.filter((m) => m.client_id === id)).toHaveLength(1)
  })

  it('stops and emits unauthorized on 401', async () => {
    mockFetch({ 'GET /api/auth/me': () => json({ error: { code: 'unauthorized', message: 'bad token' } }, 401) })
    const { chat } = setup()
    const unauthorized = vi.fn()
    chat.on('unauthorized', unauthorized)
    chat.connect()
    await flush()
    expect(unauthorized).toHaveBeenCalledOnce()
    expect(chat.status.value).toBe('closed')
  })

  it('drops a cache that does not match the server (no epoch over HTTP)', async () => {
    localStorage.setItem(
      'hearth.cache.v1.1',
      JSON.stringify({ v: 1, epoch: null, hasMore: false, cursor: 90, messages: [message(90, { content: 'stale' })] }),
    )
    fakeServer([message(1, { content: 'fresh' })])
    const { chat } = setup()
    expect(chat.messages.value.map((m) => m.content)).toEqual(['stale'])
    chat.connect()
    await flush()
    expect(chat.messages.value.map((m) => m.content)).toEqual(['fresh'])
  })

  it('uses the epoch of GET /api/config: same database → resume from the cursor; new one → drop the cache', async () => {
    localStorage.setItem(
      'hearth.cache.v1.1',
      JSON.stringify({ v: 1, epoch: 'E1', hasMore: false, cursor: 2, messages: [message(1), message(2)] }),
    )
    let epoch = 'E1'
    const server = fakeServer([message(1), message(2), message(3)])
    const routes = server.routes
    const extra = mockFetch({
      'GET /api/config': () => ({ websocket: false, epoch }),
      'GET /api/auth/me': () => ({ id: 1, username: 'alice' }),
      'GET /api/chat/messages': () => ({ messages: [message(1, { content: 'fresh db' })], has_more: false }),
      'GET /api/chat/messages/new': (url) => {
        const after = Number(url.searchParams.get('after_id'))
        return epoch === 'E1' && after < 3
          ? { messages: [message(3)], has_more: false, last_id: 3 }
          : { messages: [], has_more: false, last_id: after }
      },
      'GET /api/chat/online-users': () => ({ count: 0, users: [] }),
    })
    void routes
    const { chat } = setup({ interval: 1000 })
    chat.connect()
    await flush()
    expect(extra.count('GET', '/api/chat/messages')).toBe(0) // resumed, no history reload
    expect(chat.messages.value.map((m) => m.id)).toEqual([1, 2, 3])

    // The server comes back with a new database.
    epoch = 'E2'
    vi.mocked(fetch).mockRejectedValueOnce(new TypeError('Failed to fetch'))
    await vi.advanceTimersByTimeAsync(1000)
    await flush()
    expect(chat.status.value).toBe('reconnecting')
    await vi.advanceTimersByTimeAsync(5000)
    await flush()
    expect(chat.status.value).toBe('open')
    expect(chat.messages.value.map((m) => m.content)).toEqual(['fresh db'])
  })
})
