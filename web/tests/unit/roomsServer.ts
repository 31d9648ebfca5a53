/**
 * Test doubles for the rooms app: an in-memory server behind `mockFetch`
 * (PROTOCOL.md §3 REST), stream-frame builders, and a mounted app (Pinia,
 * memory-history router, stubbed WebSocket).
 */
import { afterEach, vi } from 'vitest'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia, type Pinia } from 'pinia'
import { createMemoryHistory, type Router } from 'vue-router'
import type { MemberEvent, NotifyEvent, NotifyLevel, ReactionEvent, ReadEvent, Room, RoomEvent, StreamEvent } from '@/api/rooms'
import type { ChatMessage, PresenceUser, Reaction } from '@/api/types'
import App from '@/App.vue'
import { createAppRouter } from '@/router'
import { signIn, signOut } from '@/session'
import { fakeToken, flush, json, mockFetch, MockWebSocket, type Route } from './helpers'

export const ALICE: PresenceUser = { id: 1, username: 'alice' }
export const BOB: PresenceUser = { id: 2, username: 'bob' }
export const CAROL: PresenceUser = { id: 3, username: 'carol' }
export const TOKEN = fakeToken(1)
export const LOBBY = 1

export function room(id: number, overrides: Partial<Room> = {}): Room {
  return {
    id,
    name: id === LOBBY ? 'lobby' : `room-${id}`,
    kind: 'open',
    topic: '',
    lobby: id === LOBBY,
    archived: false,
    created_at: 1_700_000_000_000,
    created_by: 1,
    members_count: 3,
    member: true,
    unread: 0,
    last_message_id: 0,
    last_read_id: 0,
    ...overrides,
  }
}

/** A direct message between alice and `others`. */
export function direct(id: number, others: PresenceUser[], overrides: Partial<Room> = {}): Room {
  return room(id, { name: '', kind: 'direct', members: [ALICE, ...others], members_count: others.length + 1, created_by: 1, ...overrides })
}

export function msg(id: number, roomId: number, overrides: Partial<ChatMessage> = {}): ChatMessage {
  return {
    id,
    room: roomId === LOBBY ? 'lobby' : `room-${roomId}`,
    room_id: roomId,
    user_id: BOB.id,
    username: BOB.username,
    content: `message ${id}`,
    created_at: 1_700_000_000_000 + id * 1000,
    client_id: `c${id}`,
    ...overrides,
  }
}

export const ev = {
  message: (m: ChatMessage): StreamEvent => ({ type: 'message', seq: m.id, message: m }),
  room: (seq: number, r: Room, event: RoomEvent['event'] = 'updated'): RoomEvent => ({ type: 'room', seq, event, room: viewless(r) }),
  member: (seq: number, event: MemberEvent['event'], r: Room, user: PresenceUser): MemberEvent => ({
    type: 'member',
    seq,
    event,
    room_id: r.id,
    user,
    room: viewless(r),
  }),
  read: (seq: number, roomId: number, lastReadId: number): ReadEvent => ({ type: 'read', seq, room_id: roomId, last_read_id: lastReadId }),
  // §4
  edited: (seq: number, m: ChatMessage): StreamEvent => ({ type: 'message_edited', seq, message: m }),
  deleted: (seq: number, roomId: number, messageId: number): StreamEvent => ({ type: 'message_deleted', seq, room_id: roomId, message_id: messageId }),
  reaction: (seq: number, roomId: number, messageId: number, reactions: Reaction[]): ReactionEvent => ({
    type: 'reaction',
    seq,
    room_id: roomId,
    message_id: messageId,
    reactions,
  }),
  notify: (seq: number, roomId: number, level: NotifyLevel): NotifyEvent => ({ type: 'notify', seq, room_id: roomId, level }),
}

/** A room as stream events carry it: without the caller's view. */
function viewless(r: Room): Room {
  const { member: _m, unread: _u, last_message_id: _l, last_read_id: _r, ...rest } = r
  return rest
}

export interface FakeServerOptions {
  rooms?: Room[]
  history?: Record<number, ChatMessage[]>
  users?: PresenceUser[]
  websocket?: boolean
  epoch?: string
  /** Events for `GET /api/stream` (filtered by `after`). */
  stream?: StreamEvent[]
  head?: number
  extra?: Record<string, Route>
}

/** An in-memory server: answers the REST API of §1 and §3 from `state`. */
export function fakeServer(options: FakeServerOptions = {}) {
  const state = {
    rooms: new Map((options.rooms ?? [room(LOBBY)]).map((r) => [r.id, r])),
    history: new Map(Object.entries(options.history ?? {}).map(([k, v]) => [Number(k), v])),
    users: options.users ?? [ALICE, BOB, CAROL],
    stream: options.stream ?? [],
    head: options.head ?? 0,
    nextId: 1000,
    websocket: options.websocket ?? true,
  }
  const roomId = (url: URL) => Number(url.pathname.split('/')[3])
  const notFound = () => json({ error: { code: 'not_found', message: 'no such room' } }, 404)
  // `/api/messages/{id}[/reactions/{emoji}]` (§4).
  function message(method: string, url: URL, init: RequestInit): unknown {
    const m = /^\/api\/messages\/(\d+)(?:\/reactions\/([^/]+))?$/.exec(url.pathname)
    if (!m) return undefined
    const id = Number(m[1])
    const list = [...state.history.entries()].find(([, l]) => l.some((x) => x.id === id))
    const found = list?.[1].find((x) => x.id === id)
    if (!list || !found || found.deleted) return json({ error: { code: 'not_found', message: 'no such message' } }, 404)
    const replace = (next: ChatMessage) => state.history.set(list[0], list[1].map((x) => (x.id === id ? next : x)))
    if (m[2] !== undefined) {
      const emoji = decodeURIComponent(m[2])
      const reactions = (found.reactions ?? []).map((r) => ({ ...r, users: [...r.users] }))
      let r = reactions.find((x) => x.emoji === emoji)
      if (method === 'PUT' && !r?.users.some((u) => u.id === ALICE.id)) {
        if (!r) reactions.push((r = { emoji, count: 0, users: [] }))
        r.count++
        r.users.push(ALICE)
      } else if (method === 'DELETE' && r?.users.some((u) => u.id === ALICE.id)) {
        r.count--
        r.users = r.users.filter((u) => u.id !== ALICE.id)
      }
      const kept = reactions.filter((x) => x.count > 0)
      replace({ ...found, reactions: kept })
      return json({ message_id: id, room_id: list[0], reactions: kept })
    }
    if (method === 'PATCH') {
      const body = JSON.parse(String(init.body)) as { content: string }
      const next = { ...found, content: body.content, edited_at: 1_800_000_000_000 }
      replace(next)
      return json(next)
    }
    if (method === 'DELETE') {
      replace({ ...found, content: '', deleted: true })
      return new Response(null, { status: 204 })
    }
    return undefined
  }
  // `/api/rooms/{id}[/action]`.
  function byId(method: string, url: URL, init: RequestInit): unknown {
    if (url.pathname.startsWith('/api/messages/')) return message(method, url, init)
    const m = /^\/api\/rooms\/(\d+)(?:\/(\w+))?(?:\/(\d+))?$/.exec(url.pathname)
    if (!m) return undefined
    const id = roomId(url)
    const r = state.rooms.get(id)
    const action = m[2]
    if (!r && !(method === 'POST' && action === 'read')) return notFound()
    switch (`${method} ${action ?? ''}`) {
      case 'GET ':
        return json(r)
      case 'GET messages': {
        const list = state.history.get(id) ?? []
        const around = url.searchParams.get('around')
        if (around !== null) {
          const at = list.findIndex((x) => x.id === Number(around))
          if (at < 0) return json({ error: { code: 'not_found', message: 'no such message' } }, 404)
          const half = Math.floor(Number(url.searchParams.get('limit') ?? 50) / 2)
          const from = Math.max(0, at - half)
          const to = Math.min(list.length, at + half + 1)
          return json({ messages: list.slice(from, to), has_more: from > 0, has_more_after: to < list.length })
        }
        const before = url.searchParams.get('before')
        const older = before === null ? list : list.filter((x) => x.id < Number(before))
        const limit = Number(url.searchParams.get('limit') ?? 50)
        return json({ messages: older.slice(-limit), has_more: older.length > limit })
      }
      case 'POST messages': {
        const body = JSON.parse(String(init.body)) as { content: string; client_id: string; reply_to?: number }
        const stored = msg(state.nextId++, id, { user_id: ALICE.id, username: ALICE.username, content: body.content, client_id: body.client_id })
        const quoted = body.reply_to === undefined ? undefined : (state.history.get(id) ?? []).find((x) => x.id === body.reply_to)
        if (quoted) stored.reply_to = { id: quoted.id, user_id: quoted.user_id, username: quoted.username, content: quoted.content }
        state.history.set(id, [...(state.history.get(id) ?? []), stored])
        return json(stored, 201)
      }
      case 'POST read':
        return r ? new Response(null, { status: 204 }) : notFound()
      case 'POST join':
        state.rooms.set(id, { ...r!, member: true })
        return json(state.rooms.get(id))
      case 'POST leave':
        state.rooms.delete(id)
        return new Response(null, { status: 204 })
      case 'GET members':
        return json({ members: r!.members ?? [ALICE, BOB] })
      case 'PUT notify': {
        const level = (JSON.parse(String(init.body)) as { level: NotifyLevel }).level
        state.rooms.set(id, { ...r!, notify: level })
        return new Response(null, { status: 204 })
      }
      default:
        return notFound()
    }
  }
  const routes = mockFetch({
    'GET /api/config': () => ({ websocket: state.websocket, epoch: options.epoch ?? 'E', max_frame_bytes: 4096 }),
    'GET /api/auth/me': () => ALICE,
    'GET /api/chat/online-users': () => ({ count: 1, users: [ALICE] }),
    'GET /api/rooms': () => ({ rooms: [...state.rooms.values()].filter((r) => !r.archived) }),
    'POST /api/rooms': (_u, init) => {
      const body = JSON.parse(String(init.body)) as { name: string; kind: 'open' | 'closed'; member_ids?: number[] }
      const r = room(state.nextId++, { name: body.name, kind: body.kind, members_count: 1 + (body.member_ids?.length ?? 0) })
      state.rooms.set(r.id, r)
      return json(r, 201)
    },
    'POST /api/rooms/direct': (_u, init) => {
      const ids = (JSON.parse(String(init.body)) as { user_ids: number[] }).user_ids
      const others = state.users.filter((u) => ids.includes(u.id) && u.id !== ALICE.id)
      const key = others.map((u) => u.id).sort().join(',')
      const existing = [...state.rooms.values()].find(
        (r) => r.kind === 'direct' && (r.members ?? []).filter((u) => u.id !== ALICE.id).map((u) => u.id).sort().join(',') === key,
      )
      if (existing) return json(existing, 200)
      const r = direct(state.nextId++, others)
      state.rooms.set(r.id, r)
      return json(r, 201)
    },
    'GET /api/users': (url) => {
      const q = (url.searchParams.get('q') ?? '').toLowerCase()
      return { users: state.users.filter((u) => u.username.toLowerCase().includes(q)) }
    },
    'GET /api/stream': (url) => {
      const after = url.searchParams.get('after')
      if (after === null) return { events: [], has_more: false, last_seq: state.head }
      const events = state.stream.filter((e) => e.seq > Number(after))
      return { events, has_more: false, last_seq: Math.max(Number(after), state.head, ...events.map((e) => e.seq)) }
    },
    ...options.extra,
  }, byId)
  return { state, routes }
}

/** Sends alice's `hello` on the v2 socket. */
export function helloV2(ws: MockWebSocket, lastId = 0, overrides: Record<string, unknown> = {}): MockWebSocket {
  return ws.hello({ last_id: lastId, epoch: 'E', v: 2, online: { count: 2, users: [ALICE, BOB] }, ...overrides })
}

/** The app as the browser runs it: Pinia, the router (in memory) and App.vue, signed in as alice. */
export async function mountApp(path: string, options: { signedIn?: boolean } = {}) {
  vi.stubGlobal('WebSocket', MockWebSocket)
  if (options.signedIn !== false) signIn({ token: TOKEN, user: ALICE })
  const pinia: Pinia = createPinia()
  setActivePinia(pinia)
  const router: Router = createAppRouter(createMemoryHistory())
  await router.push(path)
  const errors: unknown[] = []
  const wrapper = mount(App, {
    attachTo: document.body,
    global: { plugins: [pinia, router], config: { errorHandler: (error) => void errors.push(error) } },
  })
  await flush()
  await flushPromises()
  return { wrapper, router, pinia, errors }
}

/**
 * For tests that mount the app: registers (in the file or the describe it is
 * called in) an afterEach that unmounts the app last passed to the returned
 * function, signs out and empties the page.
 */
export function unmountAfterEach(): (wrapper: VueWrapper) => void {
  let mounted: VueWrapper | undefined
  afterEach(() => {
    mounted?.unmount()
    mounted = undefined
    signOut()
    document.body.innerHTML = ''
  })
  return (wrapper) => {
    mounted = wrapper
  }
}

/** The text of every confirmed message on screen. */
export function shown(wrapper: { findAll: (s: string) => { text: () => string }[] }): string[] {
  return wrapper.findAll('[data-testid="message-content"]').map((m) => m.text())
}
