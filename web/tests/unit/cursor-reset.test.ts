/**
 * The server ignores a cursor above its newest id (a restored backup, or a
 * rolled-back database with the same epoch) and says `reset`: both
 * transports drop the cache, continue from `last_id`, reload the newest
 * history and keep the outbox.
 */
import { describe, expect, it, vi } from 'vitest'
import type { ChatMessage } from '@/api/types'
import { usePolling } from '@/utils/polling'
import { useWebSocket } from '@/utils/websocket'
import { fakeToken, flush, json, message, mockFetch, MockWebSocket, useComposableTestEnv } from './helpers'

const TOKEN = fakeToken(1)
const CACHE_KEY = 'hearth.cache.v1.1'
const OUTBOX_KEY = 'hearth.outbox.v1.1'
const inScope = useComposableTestEnv()

/** A cache and an outbox as a previous session on the other timeline left them. */
function seedOldTimeline(): void {
  localStorage.setItem(
    CACHE_KEY,
    JSON.stringify({ v: 1, epoch: 'E', hasMore: false, cursor: 91, messages: [message(90, { content: 'old 90' }), message(91, { content: 'old 91' })] }),
  )
  localStorage.setItem(
    OUTBOX_KEY,
    JSON.stringify({ v: 1, entries: [{ client_id: 'queued-1', content: 'still here', queued_at: Date.now(), state: 'pending', attempts: 0 }] }),
  )
}

function storedCache(): { cursor: number; messages: ChatMessage[] } {
  return JSON.parse(localStorage.getItem(CACHE_KEY) ?? 'null') as { cursor: number; messages: ChatMessage[] }
}

describe('cursor reset over WebSocket (hello.reset)', () => {
  it('drops the old cache, keeps the socket, reloads history, shows live messages and resends the outbox', async () => {
    seedOldTimeline()
    const routes = mockFetch({
      'GET /api/chat/messages': () => ({ messages: [message(4, { content: 'new 4' }), message(5, { content: 'new 5' })], has_more: true }),
    })
    const chat = inScope(() => useWebSocket(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket }))
    const resets = vi.fn()
    const epochChanges = vi.fn()
    chat.on('cursor-reset', resets)
    chat.on('epoch-changed', epochChanges)
    expect(chat.messages.value.map((m) => m.id)).toEqual([90, 91])

    chat.connect()
    const ws = MockWebSocket.last
    expect(new URL(ws.url).searchParams.get('after')).toBe('91')
    ws.hello({ epoch: 'E', last_id: 5, reset: true })
    expect(resets).toHaveBeenCalledWith({ transport: 'websocket', previous: 91, current: 5 })
    expect(epochChanges).not.toHaveBeenCalled()
    expect(chat.messages.value.map((m) => m.id)).not.toContain(90)
    await flush()

    // History reloaded; the socket was kept (no reconnect).
    expect(routes.count('GET', '/api/chat/messages')).toBe(1)
    expect(chat.messages.value.map((m) => m.content)).toEqual(['new 4', 'new 5'])
    expect(chat.hasMore.value).toBe(true)
    expect(MockWebSocket.instances).toHaveLength(1)
    expect(ws.closedByClient).toBeNull()
    expect(chat.status.value).toBe('open')

    // The live stream continues after last_id.
    ws.receive({ type: 'message', message: message(6, { content: 'live 6' }) })
    expect(chat.messages.value.map((m) => m.id)).toEqual([4, 5, 6])

    // The outbox survived and was resent with its client_id.
    expect(ws.framesOfType<{ client_id: string }>('message').map((f) => f.client_id)).toEqual(['queued-1'])
    ws.receive({ type: 'ack', client_id: 'queued-1', id: 7, created_at: Date.now() })
    expect(chat.pending.value).toEqual([])
    expect(chat.messages.value.map((m) => m.id)).toEqual([4, 5, 6, 7])

    // The stored cache is the new timeline's, and the next resume uses its cursor.
    await vi.advanceTimersByTimeAsync(1000)
    expect(storedCache().messages.map((m) => m.id)).toEqual([4, 5, 6, 7])
    expect(storedCache().cursor).toBe(7)
    ws.fail()
    await vi.advanceTimersByTimeAsync(30_000)
    expect(new URL(MockWebSocket.last.url).searchParams.get('after')).toBe('7')
  })

  it('handles a reset frame (answer to a sync) the same way', async () => {
    seedOldTimeline()
    const routes = mockFetch({ 'GET /api/chat/messages': () => ({ messages: [message(5)], has_more: false }) })
    const chat = inScope(() => useWebSocket(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket }))
    const resets = vi.fn()
    chat.on('cursor-reset', resets)
    chat.connect()
    const ws = MockWebSocket.last.hello({ epoch: 'E', last_id: 91 })
    ws.receive({ type: 'reset', last_id: 5 })
    expect(resets).toHaveBeenCalledWith({ transport: 'websocket', previous: 91, current: 5 })
    await flush()
    expect(routes.count('GET', '/api/chat/messages')).toBe(1)
    ws.receive({ type: 'message', message: message(6) })
    expect(chat.messages.value.map((m) => m.id)).toEqual([5, 6])
    expect(MockWebSocket.instances).toHaveLength(1)
  })

  it('ignores a late history answer from before the reset', async () => {
    seedOldTimeline()
    localStorage.removeItem(OUTBOX_KEY)
    let answer: (page: unknown) => void = () => {}
    mockFetch({
      'GET /api/chat/messages': (url) =>
        url.searchParams.get('before') === '90'
          ? new Promise((resolve) => (answer = (page) => resolve(json(page))))
          : { messages: [message(5)], has_more: false },
    })
    const chat = inScope(() => useWebSocket(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket }))
    chat.connect()
    const older = chat.loadOlder()
    MockWebSocket.last.hello({ epoch: 'E', last_id: 5, reset: true })
    answer({ messages: [message(88), message(89)], has_more: true })
    expect(await older).toBe(0)
    await flush()
    expect(chat.messages.value.map((m) => m.id)).toEqual([5])
  })
})

describe('cursor reset over polling (reset in /messages/new)', () => {
  /** A polling server whose newest id is the last of `db`. */
  function pollingServer(db: ChatMessage[], opts: { resetMessages?: ChatMessage[] } = {}) {
    return mockFetch({
      'GET /api/config': () => ({ websocket: false, epoch: 'E' }),
      'GET /api/auth/me': () => ({ id: 1, username: 'alice' }),
      'GET /api/chat/online-users': () => ({ count: 0, users: [] }),
      'GET /api/chat/messages': () => ({ messages: db.slice(-50), has_more: db.length > 50 }),
      'GET /api/chat/messages/new': (url) => {
        const after = Number(url.searchParams.get('after_id'))
        const head = db.at(-1)?.id ?? 0
        if (after > head) return { messages: opts.resetMessages ?? [], has_more: false, last_id: head, reset: true }
        const newer = db.filter((m) => m.id > after)
        return { messages: newer, has_more: false, last_id: newer.at(-1)?.id ?? after }
      },
      'POST /api/chat/messages': (_url, init) => {
        const body = JSON.parse(String(init.body)) as { content: string; client_id: string }
        const existing = db.find((m) => m.client_id === body.client_id)
        if (existing) return json(existing, 200)
        const m = message((db.at(-1)?.id ?? 0) + 1, { user_id: 1, username: 'alice', ...body })
        db.push(m)
        return json(m, 201)
      },
    })
  }

  function afterIds(routes: ReturnType<typeof mockFetch>): number[] {
    return routes.calls.filter((c) => c.url.pathname === '/api/chat/messages/new').map((c) => Number(c.url.searchParams.get('after_id')))
  }

  it('drops the old cache, reloads history, continues from last_id and resends the outbox', async () => {
    seedOldTimeline()
    const db = [message(1), message(2), message(3)]
    const routes = pollingServer(db)
    const chat = inScope(() => usePolling(TOKEN, { interval: 1000 }))
    const resets = vi.fn()
    chat.on('cursor-reset', resets)
    chat.connect()
    await flush()

    expect(resets).toHaveBeenCalledWith({ transport: 'polling', previous: 91, current: 3 })
    expect(chat.status.value).toBe('open')
    expect(routes.count('GET', '/api/chat/messages')).toBe(1)
    expect(afterIds(routes).slice(0, 2)).toEqual([91, 3])
    // The queued message was delivered once, with its client_id.
    expect(db.filter((m) => m.client_id === 'queued-1')).toHaveLength(1)
    expect(chat.pending.value).toEqual([])
    expect(chat.messages.value.map((m) => m.id)).toEqual([1, 2, 3, 4])

    db.push(message(5, { content: 'live 5' }))
    await vi.advanceTimersByTimeAsync(1000)
    await flush()
    expect(chat.messages.value.map((m) => m.id)).toEqual([1, 2, 3, 4, 5])
    expect(afterIds(routes).every((id) => id <= 5 || id === 91)).toBe(true)
  })

  it('never leaves the cursor above last_id, even if a reset answer carries messages', async () => {
    seedOldTimeline()
    localStorage.removeItem(OUTBOX_KEY)
    const db = [message(1), message(2)]
    const routes = pollingServer(db, { resetMessages: [message(95, { content: 'bogus' })] })
    const chat = inScope(() => usePolling(TOKEN, { interval: 1000 }))
    chat.connect()
    await flush()
    await vi.advanceTimersByTimeAsync(1000)
    await flush()
    const ids = afterIds(routes)
    expect(ids[0]).toBe(91)
    expect(ids.slice(1).length).toBeGreaterThan(0)
    expect(ids.slice(1).every((id) => id <= 2)).toBe(true)
    expect(chat.messages.value.map((m) => m.content)).not.toContain('bogus')
    await vi.advanceTimersByTimeAsync(1000)
    expect(storedCache().cursor).toBeLessThanOrEqual(2)
  })
})
