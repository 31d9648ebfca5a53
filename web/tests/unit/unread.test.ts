/** Unread counts: counting once, clearing by `read` events from other tabs, sending read positions, the tab title. */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useRoomStream, type RoomStreamOptions } from '@/composables/useRoomStream'
import { tabTitle, useTabTitle } from '@/composables/useTabTitle'
import { useMessagesStore } from '@/stores/messages'
import { useRoomsStore } from '@/stores/rooms'
import { signIn } from '@/session'
import { flush, MockWebSocket, useComposableTestEnv } from './helpers'
import { ALICE, ev, fakeServer, helloV2, LOBBY, msg, room, TOKEN } from './roomsServer'

const inScope = useComposableTestEnv()

function start(options: RoomStreamOptions = {}) {
  return inScope(() => {
    const stream = useRoomStream(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket, readDelay: 100, ...options })
    useTabTitle(() => useRoomsStore().totalUnread)
    return stream
  })
}

async function connected(options: RoomStreamOptions = {}) {
  const stream = start(options)
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
  document.title = 'Hearth 聊天室'
})

describe('unread counts', () => {
  it('start from the server’s count, grow with others’ messages once, and sum up in the tab title', async () => {
    fakeServer({ rooms: [room(LOBBY), room(7, { kind: 'closed', unread: 2, last_message_id: 5, last_read_id: 3 })] })
    const { ws } = await connected()
    const rooms = useRoomsStore()
    expect(rooms.get(7)!.unread).toBe(2)
    expect(document.title).toBe('(2) Hearth')

    ws.receive(ev.message(msg(11, 7)))
    ws.receive(ev.message(msg(12, 7, { user_id: ALICE.id, username: ALICE.username }))) // ours: not unread
    ws.receive(ev.message(msg(11, 7))) // a replay: counted once
    ws.receive(ev.message(msg(13, LOBBY)))
    expect(rooms.get(7)!.unread).toBe(3)
    expect(rooms.get(LOBBY)!.unread).toBe(1)
    expect(rooms.totalUnread).toBe(4)
    await flush()
    expect(document.title).toBe('(4) Hearth')
  })

  it('clear live when another tab or device reads (read event)', async () => {
    fakeServer({ rooms: [room(LOBBY), room(7, { unread: 2, last_message_id: 5, last_read_id: 3 })] })
    const { ws } = await connected()
    const rooms = useRoomsStore()
    ws.receive(ev.message(msg(11, 7)))
    expect(rooms.get(7)!.unread).toBe(3)
    ws.receive(ev.read(12, 7, 11))
    expect(rooms.get(7)).toMatchObject({ unread: 0, last_read_id: 11 })
    await flush()
    expect(document.title).toBe('Hearth')
    // An older position (e.g. a replay) never brings them back.
    ws.receive(ev.read(12, 7, 5))
    expect(rooms.get(7)!.unread).toBe(0)
  })

  it('are recounted from the loaded list when another tab read only part of them', async () => {
    fakeServer({
      rooms: [room(LOBBY), room(7, { unread: 3, last_message_id: 6, last_read_id: 3 })],
      history: { 7: [msg(2, 7), msg(3, 7), msg(4, 7), msg(5, 7, { user_id: ALICE.id }), msg(6, 7)] },
    })
    const { ws } = await connected()
    await useMessagesStore().loadLatest(7)
    ws.receive(ev.read(12, 7, 4))
    // After 4: 5 is ours, 6 is bob's.
    expect(useRoomsStore().get(7)!.unread).toBe(1)
  })

  it('ask the server when the list does not cover the rest', async () => {
    const server = fakeServer({ rooms: [room(LOBBY), room(7, { unread: 30, last_message_id: 90, last_read_id: 60 })] })
    const { ws } = await connected()
    server.state.rooms.set(7, room(7, { unread: 12, last_message_id: 90, last_read_id: 78 }))
    ws.receive(ev.read(91, 7, 78))
    await flush()
    expect(server.routes.count('GET', '/api/rooms/7')).toBe(1)
    expect(useRoomsStore().get(7)!.unread).toBe(12)
  })

  it('reading here clears at once and tells the server (a read frame), which tells the other tabs', async () => {
    fakeServer({ rooms: [room(LOBBY), room(7, { unread: 2, last_message_id: 5, last_read_id: 3 })] })
    const { ws } = await connected()
    const rooms = useRoomsStore()
    rooms.markRead(7, 5)
    rooms.markRead(7, 5) // the same position again: one frame
    expect(rooms.get(7)!.unread).toBe(0)
    expect(ws.framesOfType('read')).toEqual([])
    await vi.advanceTimersByTimeAsync(100)
    expect(ws.framesOfType('read')).toEqual([{ type: 'read', room_id: 7, last_read_id: 5 }])
  })

  it('while polling, read positions go over POST /api/rooms/{id}/read', async () => {
    const server = fakeServer({ websocket: false, rooms: [room(LOBBY), room(7, { unread: 2, last_message_id: 5, last_read_id: 3 })] })
    const stream = start({ interval: 1000 })
    stream.connect()
    await flush()
    expect(stream.transport.value).toBe('polling')
    useRoomsStore().markRead(7, 5)
    await vi.advanceTimersByTimeAsync(100)
    await flush()
    const posted = server.routes.calls.filter((c) => c.method === 'POST' && c.url.pathname === '/api/rooms/7/read')
    expect(posted.map((c) => c.body)).toEqual([{ last_read_id: 5 }])
  })
})

describe('tab title', () => {
  it('shows the total as (N) Hearth, capped at 99+', () => {
    expect(tabTitle(0)).toBe('Hearth')
    expect(tabTitle(3)).toBe('(3) Hearth')
    expect(tabTitle(150)).toBe('(99+) Hearth')
  })
})
