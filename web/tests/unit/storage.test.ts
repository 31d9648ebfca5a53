/**
 * Every blob read back from localStorage goes through a schema: a corrupted
 * one is removed and ignored (never rendered, never saved back), a good one
 * still loads.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import MessageList from '@/components/MessageList.vue'
import { formatDateTime, formatDay, formatTime, isoDateTime } from '@/utils/format'
import { outboxBlobSchema } from '@/utils/schemas'
import { readValid } from '@/utils/storage'
import { useWebSocket } from '@/utils/websocket'
import { fakeToken, flush, message, mockFetch, MockWebSocket, useComposableTestEnv } from './helpers'
import { fakeServer, helloV2, LOBBY, mountApp, msg, room } from './roomsServer'

const TOKEN = fakeToken(1)
const CACHE_KEY = 'hearth.cache.v1.1'
const OUTBOX_KEY = 'hearth.outbox.v1.1'
const inScope = useComposableTestEnv()

function start() {
  return inScope(() => useWebSocket(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket }))
}

function cacheBlob(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { v: 1, epoch: 'E', hasMore: false, cursor: 3, messages: [message(1), message(2), message(3)], ...overrides }
}

function outboxEntry(clientId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { client_id: clientId, content: 'queued ' + clientId, queued_at: 1_700_000_000_000, state: 'pending', attempts: 0, ...overrides }
}

function put(key: string, value: unknown): void {
  localStorage.setItem(key, typeof value === 'string' ? value : JSON.stringify(value))
}

function stored<T = Record<string, unknown>>(key: string): T | null {
  const raw = localStorage.getItem(key)
  return raw === null ? null : (JSON.parse(raw) as T)
}

beforeEach(() => {
  mockFetch({
    'GET /api/config': () => ({ websocket: true }),
    'GET /api/auth/me': () => ({ id: 1, username: 'alice' }),
    'GET /api/chat/messages': () => ({ messages: [], has_more: false }),
  })
})

describe('message cache (hearth.cache.v1.*)', () => {
  it('loads a good blob and resumes from it', () => {
    put(CACHE_KEY, cacheBlob())
    const chat = start()
    expect(chat.messages.value.map((m) => m.id)).toEqual([1, 2, 3])
    chat.connect()
    expect(new URL(MockWebSocket.last.url).searchParams.get('after')).toBe('3')
    expect(stored(CACHE_KEY)).toEqual(cacheBlob())
  })

  it('keeps the newest valid messages when one lacks created_at, and rewrites the blob without it', () => {
    const { created_at: _, ...noTime } = message(2)
    put(CACHE_KEY, cacheBlob({ messages: [message(1), noTime, message(3)] }))
    const chat = start()
    expect(chat.messages.value.map((m) => m.id)).toEqual([3])
    // What was dropped can be paged in again.
    expect(chat.hasMore.value).toBe(true)
    const blob = stored<{ messages: { id: number }[]; hasMore: boolean }>(CACHE_KEY)!
    expect(blob.messages.map((m) => m.id)).toEqual([3])
    expect(blob.hasMore).toBe(true)
  })

  it.each([
    ['a created_at a Date cannot hold', { created_at: 9e15 }],
    ['a string id', { id: '3' }],
    ['a fractional user_id', { user_id: 1.5 }],
    ['a non-string content', { content: { html: '<b>x</b>' } }],
    ['a null username', { username: null }],
  ])('drops a cached message with %s', (_name, bad) => {
    put(CACHE_KEY, cacheBlob({ messages: [message(1), message(2), { ...message(3), ...bad }] }))
    const chat = start()
    expect(chat.messages.value).toEqual([])
    expect(stored<{ messages: unknown[] }>(CACHE_KEY)!.messages).toEqual([])
  })

  it.each([
    ['a cursor beyond the safe integers', { cursor: 1e20 }],
    ['a negative cursor', { cursor: -1 }],
    ['a string cursor', { cursor: '3' }],
    ['another version', { v: 2 }],
    ['messages that are not a list', { messages: { 1: message(1) } }],
    ['a numeric epoch', { epoch: 7 }],
  ])('removes a blob with %s', (_name, bad) => {
    put(CACHE_KEY, cacheBlob(bad))
    const chat = start()
    expect(chat.messages.value).toEqual([])
    expect(localStorage.getItem(CACHE_KEY)).toBeNull()
    chat.connect()
    expect(new URL(MockWebSocket.last.url).searchParams.has('after')).toBe(false)
  })

  it('removes a blob that is not JSON', () => {
    put(CACHE_KEY, '{"v":1,')
    const chat = start()
    expect(chat.messages.value).toEqual([])
    expect(localStorage.getItem(CACHE_KEY)).toBeNull()
  })

  it('does not resume from a stored cursor above the newest cached message (9e15), and rewrites it', () => {
    put(CACHE_KEY, cacheBlob({ cursor: 9e15 }))
    const chat = start()
    expect(chat.messages.value.map((m) => m.id)).toEqual([1, 2, 3])
    expect(stored<{ cursor: number }>(CACHE_KEY)!.cursor).toBe(3)
    chat.connect()
    expect(new URL(MockWebSocket.last.url).searchParams.get('after')).toBe('3')
  })
})

describe('outbox (hearth.outbox.v1.*)', () => {
  it('keeps the valid entries, drops one with a non-string content, and sends the rest', () => {
    put(OUTBOX_KEY, {
      v: 1,
      entries: [outboxEntry('a'), outboxEntry('b', { content: 42 }), outboxEntry('c', { queued_at: 'yesterday' }), outboxEntry('d')],
    })
    const chat = start()
    expect(chat.pending.value.map((e) => e.client_id)).toEqual(['a', 'd'])
    expect(stored<{ entries: { client_id: string }[] }>(OUTBOX_KEY)!.entries.map((e) => e.client_id)).toEqual(['a', 'd'])
    chat.connect()
    MockWebSocket.last.hello({ epoch: 'E' })
    expect(MockWebSocket.last.framesOfType<{ client_id: string }>('message').map((f) => f.client_id)).toEqual(['a', 'd'])
  })

  it('removes an outbox whose envelope is broken', () => {
    put(OUTBOX_KEY, { v: 1, entries: 'a,b' })
    const chat = start()
    expect(chat.pending.value).toEqual([])
    expect(localStorage.getItem(OUTBOX_KEY)).toBeNull()
  })

  it('does not carry another tab’s invalid entries into what it saves', () => {
    const chat = start()
    put(OUTBOX_KEY, { v: 1, entries: [outboxEntry('other'), outboxEntry('bad id with spaces')] })
    chat.sendMessage('mine')
    const ids = stored<{ entries: { client_id: string; content: string }[] }>(OUTBOX_KEY)!.entries.map((e) => e.content)
    expect(ids).toEqual(['queued other', 'mine'])
    expect(readValid(OUTBOX_KEY, outboxBlobSchema)?.entries).toHaveLength(2)
  })
})

describe('session (auth_token, auth_user)', () => {
  /** session.ts reads storage when first imported: import a fresh copy. */
  async function freshSession() {
    vi.resetModules()
    return import('@/session')
  }

  it('loads a good token and user', async () => {
    put('auth_token', TOKEN)
    put('auth_user', { id: 1, username: 'alice', is_admin: false, created_at: 1_700_000_000_000 })
    const { session } = await freshSession()
    expect(session.token).toBe(TOKEN)
    expect(session.user).toEqual({ id: 1, username: 'alice', is_admin: false, created_at: 1_700_000_000_000 })
  })

  it.each([
    ['a string id', { id: '1', username: 'alice' }],
    ['no username', { id: 1 }],
    ['a negative id', { id: -1, username: 'alice' }],
    ['not an object', 'alice'],
  ])('removes a user with %s and keeps the token', async (_name, user) => {
    put('auth_token', TOKEN)
    put('auth_user', user)
    const { session } = await freshSession()
    expect(session.token).toBe(TOKEN)
    expect(session.user).toBeNull()
    expect(localStorage.getItem('auth_user')).toBeNull()
  })

  it.each([['not-a-jwt'], ['a.b'], ['a.b.c.d'], ['"quoted.jwt.value"'], ['a.b.c d']])('removes a token that is not a JWT (%s)', async (token) => {
    put('auth_token', token)
    put('auth_user', { id: 1, username: 'alice' })
    const { session } = await freshSession()
    expect(session.token).toBe('')
    expect(session.user).toBeNull()
    expect(localStorage.getItem('auth_token')).toBeNull()
  })
})

describe('rendering bad timestamps', () => {
  it('formats a timestamp a Date cannot hold without throwing', () => {
    for (const ts of [NaN, Infinity, 9e15, undefined as unknown as number]) {
      expect(() => [formatTime(ts), formatDateTime(ts), formatDay(ts), isoDateTime(ts)]).not.toThrow()
      expect(isoDateTime(ts)).toBeUndefined()
    }
    expect(formatTime(NaN)).toBe('--:--')
  })

  it('MessageList renders a message with a bad created_at', () => {
    const { created_at: _, ...noTime } = message(1, { content: 'no time' })
    const wrapper = mount(MessageList, {
      props: {
        messages: [noTime as ReturnType<typeof message>, message(2, { created_at: 9e15, content: 'far future' })],
        pending: [],
        currentUserId: null,
        hasMore: false,
        loading: false,
        online: true,
        loadOlder: async () => 0,
      },
    })
    expect(wrapper.findAll('[data-testid="message-content"]').map((m) => m.text())).toEqual(['no time', 'far future'])
    wrapper.unmount()
  })

  it('the rooms app starts with a corrupted cache: nothing throws, the blob is dropped as a whole', async () => {
    fakeServer({ rooms: [room(LOBBY)], history: { [LOBBY]: [msg(1, LOBBY, { content: 'from the server' })] } })
    const { created_at: _, ...noTime } = msg(3, LOBBY, { content: 'ghost' })
    put(CACHE_KEY, {
      v: 2,
      epoch: 'E',
      cursor: 9e15,
      me: { id: 1, username: 'alice' },
      rooms: [{ ...room(LOBBY), member: true, unread: 0, last_message_id: 3, last_read_id: 0 }],
      messages: [msg(2, LOBBY), noTime],
    })
    put(OUTBOX_KEY, { v: 1, entries: [{ client_id: 'bad id!', content: 42 }] })
    const { wrapper, errors } = await mountApp('/rooms/1')
    // Nothing of it was used: no resume from 9e15.
    expect(new URL(MockWebSocket.last.url).searchParams.has('after')).toBe(false)
    expect(localStorage.getItem(OUTBOX_KEY)).toBeNull()
    helloV2(MockWebSocket.last, 1)
    await flush()
    await flush()
    expect(errors).toEqual([])
    expect(wrapper.findAll('[data-testid="message-content"]').map((m) => m.text())).toEqual(['from the server'])
    expect(localStorage.getItem(CACHE_KEY) ?? '').not.toContain('ghost')
    expect(localStorage.getItem(CACHE_KEY) ?? '').not.toContain('9000000000000000')
    wrapper.unmount()
  })
})
