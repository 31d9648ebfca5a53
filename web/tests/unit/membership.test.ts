/** Member and room events add and remove rooms; direct messages are got or created. */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useRoomStream } from '@/composables/useRoomStream'
import { useMessagesStore } from '@/stores/messages'
import { useOutboxStore } from '@/stores/outbox'
import { useRoomsStore } from '@/stores/rooms'
import { signIn } from '@/session'
import { flush, MockWebSocket, useComposableTestEnv } from './helpers'
import { ALICE, BOB, CAROL, direct, ev, fakeServer, helloV2, LOBBY, msg, room, TOKEN } from './roomsServer'

const inScope = useComposableTestEnv()

async function connected() {
  const stream = inScope(() => useRoomStream(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket }))
  stream.connect()
  await flush()
  const ws = helloV2(MockWebSocket.last, 10)
  await flush()
  return { stream, ws }
}

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0.5)
  signIn({ token: TOKEN, user: ALICE })
  setActivePinia(createPinia())
})

describe('membership events', () => {
  it('adds a room to the sidebar when the user is added, with the server’s unread count', async () => {
    const server = fakeServer()
    const { ws } = await connected()
    const rooms = useRoomsStore()
    expect(rooms.joined.map((r) => r.id)).toEqual([LOBBY])
    server.state.rooms.set(9, room(9, { kind: 'closed', name: '预算', unread: 4, last_message_id: 8 }))
    ws.receive(ev.member(11, 'added', room(9, { kind: 'closed', name: '预算' }), ALICE))
    expect(rooms.joined.map((r) => r.id)).toEqual([LOBBY, 9])
    await flush()
    expect(rooms.get(9)).toMatchObject({ member: true, unread: 4 })
    // Its messages show from now on.
    ws.receive(ev.message(msg(12, 9)))
    expect(useMessagesStore().peek(9)!.messages.map((m) => m.id)).toEqual([12])
  })

  it('removes a closed room when the user is removed: gone from the sidebar, its frames no longer shown', async () => {
    const server = fakeServer({ rooms: [room(LOBBY), room(7, { kind: 'closed', name: '机密' })] })
    const { ws } = await connected()
    const rooms = useRoomsStore()
    const messages = useMessagesStore()
    ws.receive(ev.message(msg(11, 7)))
    const queued = useOutboxStore().send(7, 'never delivered', false)
    expect(useOutboxStore().pending.map((e) => e.client_id)).toContain(queued)
    server.state.rooms.delete(7) // for alice: the server answers 404 from now on
    ws.receive(ev.member(12, 'removed', room(7, { kind: 'closed', name: '机密' }), ALICE))
    expect(rooms.get(7)).toBeUndefined()
    expect(rooms.joined.map((r) => r.id)).toEqual([LOBBY])
    expect(messages.peek(7)).toBeUndefined()
    expect(useOutboxStore().pending).toEqual([])
    // A late frame of that room is not shown (and the room does not come back).
    ws.receive(ev.message(msg(13, 7)))
    await flush()
    expect(messages.peek(7)).toBeUndefined()
    expect(rooms.joined.map((r) => r.id)).toEqual([LOBBY])
  })

  it('keeps an open room listed as joinable after the user is removed from it', async () => {
    fakeServer({ rooms: [room(LOBBY), room(5, { name: '闲聊' })] })
    const { ws } = await connected()
    const rooms = useRoomsStore()
    ws.receive(ev.message(msg(11, 5)))
    ws.receive(ev.member(12, 'removed', room(5, { name: '闲聊' }), ALICE))
    expect(rooms.joined.map((r) => r.id)).toEqual([LOBBY])
    expect(rooms.joinable.map((r) => r.id)).toEqual([5])
    expect(useMessagesStore().peek(5)).toBeUndefined()
    ws.receive(ev.message(msg(13, 5)))
    expect(useMessagesStore().peek(5)).toBeUndefined()
  })

  it('updates a room when others join or leave, and lists new open rooms of others as joinable', async () => {
    fakeServer({ rooms: [room(LOBBY), room(5, { members_count: 2 })] })
    const { ws } = await connected()
    const rooms = useRoomsStore()
    ws.receive(ev.member(11, 'added', room(5, { members_count: 3 }), CAROL))
    expect(rooms.get(5)!.members_count).toBe(3)
    ws.receive(ev.room(12, room(6, { name: '新房间', created_by: BOB.id }), 'created'))
    expect(rooms.joinable.map((r) => r.id)).toEqual([6])
    ws.receive(ev.room(13, room(5, { archived: true }), 'archived'))
    expect(rooms.joined.map((r) => r.id)).toEqual([LOBBY])
  })

  it('fetches a room it has not heard of when a message names it (404: nothing shown)', async () => {
    const server = fakeServer()
    const { ws } = await connected()
    ws.receive(ev.message(msg(11, 42)))
    await flush()
    expect(server.routes.count('GET', '/api/rooms/42')).toBe(1)
    expect(useRoomsStore().get(42)).toBeUndefined()
    expect(useMessagesStore().peek(42)).toBeUndefined()
  })
})

describe('direct messages', () => {
  it('get or create: the same set of people always gets the same conversation', async () => {
    const server = fakeServer()
    await connected()
    const rooms = useRoomsStore()
    const first = await rooms.startDirect([BOB.id])
    const again = await rooms.startDirect([BOB.id])
    const posts = server.routes.calls.filter((c) => c.method === 'POST' && c.url.pathname === '/api/rooms/direct')
    expect(posts.map((c) => c.body)).toEqual([{ user_ids: [BOB.id] }, { user_ids: [BOB.id] }])
    expect(again.id).toBe(first.id)
    expect(rooms.directs.map((r) => r.id)).toEqual([first.id])
    expect(rooms.title(first)).toBe('bob')
    const group = await rooms.startDirect([BOB.id, CAROL.id])
    expect(group.id).not.toBe(first.id)
    expect(rooms.title(group)).toBe('bob、carol')
  })

  it('shows a conversation someone else started as soon as its first event arrives', async () => {
    fakeServer()
    const { ws } = await connected()
    const dm = direct(30, [BOB], { created_by: BOB.id })
    ws.receive(ev.room(11, dm, 'created'))
    expect(useRoomsStore().directs.map((r) => r.id)).toEqual([30])
    ws.receive(ev.message(msg(12, 30)))
    expect(useRoomsStore().get(30)!.unread).toBe(1)
  })
})
