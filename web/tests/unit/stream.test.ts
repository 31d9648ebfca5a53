/** The v2 stream over WebSocket: routing by room, the seq cursor, resume, the per-room outbox, epoch and reset. */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { getCurrentScope } from 'vue'
import { useRoomStream, type RoomStreamOptions } from '@/composables/useRoomStream'
import { useMessagesStore } from '@/stores/messages'
import { useOutboxStore } from '@/stores/outbox'
import { useRoomsStore } from '@/stores/rooms'
import { signIn } from '@/session'
import { useWebSocket } from '@/utils/websocket'
import { flush, MockWebSocket, useComposableTestEnv } from './helpers'
import { ALICE, BOB, ev, fakeServer, helloV2, LOBBY, msg, room, TOKEN } from './roomsServer'

const inScope = useComposableTestEnv()

function start(options: RoomStreamOptions = {}) {
  return inScope(() => ({
    stream: useRoomStream(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket, ...options }),
    scope: getCurrentScope()!,
  }))
}

/** A page reload: new stores, same localStorage. */
function reload(): void {
  setActivePinia(createPinia())
}

const ROOMS = [room(LOBBY), room(7, { kind: 'closed', name: '设计' })]

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0.5)
  signIn({ token: TOKEN, user: ALICE })
  setActivePinia(createPinia())
})

describe('useRoomStream over WebSocket', () => {
  it('connects with ?v=2 (token as subprotocol), routes messages to their rooms and keeps the highest seq', async () => {
    fakeServer({ rooms: ROOMS })
    const { stream } = start()
    stream.connect()
    await flush()
    const ws = MockWebSocket.last
    const url = new URL(ws.url)
    expect(url.pathname).toBe('/api/chat/ws')
    expect(url.searchParams.get('v')).toBe('2')
    expect(url.searchParams.has('after')).toBe(false)
    expect(ws.protocols).toEqual(['hearth.v1', 'bearer.' + TOKEN])
    helloV2(ws, 10)
    await flush()
    expect(stream.isConnected.value).toBe(true)
    expect(stream.cursor()).toBe(10)

    const rooms = useRoomsStore()
    const messages = useMessagesStore()
    expect(rooms.joined.map((r) => r.id)).toEqual([LOBBY, 7])
    ws.receive(ev.message(msg(11, LOBBY)))
    ws.receive(ev.message(msg(12, 7)))
    ws.receive(ev.room(13, room(7, { kind: 'closed', name: '设计评审' })))
    ws.receive(ev.member(14, 'added', room(7, { kind: 'closed', name: '设计评审', members_count: 4 }), { id: 4, username: 'dave' }))
    expect(messages.peek(LOBBY)!.messages.map((m) => m.id)).toEqual([11])
    expect(messages.peek(7)!.messages.map((m) => m.id)).toEqual([12])
    expect(rooms.get(7)).toMatchObject({ name: '设计评审', members_count: 4, member: true })
    // The cursor follows every event, not only messages.
    expect(stream.cursor()).toBe(14)
  })

  it('resumes after a reconnect with after=<highest seq>, without duplicates or double counts', async () => {
    fakeServer({ rooms: ROOMS })
    const { stream } = start()
    stream.connect()
    await flush()
    const ws1 = helloV2(MockWebSocket.last, 10)
    await flush()
    ws1.receive(ev.message(msg(11, LOBBY)))
    ws1.receive(ev.message(msg(12, 7)))
    ws1.receive(ev.read(13, LOBBY, 11))
    ws1.serverClose(1001)
    await vi.advanceTimersByTimeAsync(1000)

    const ws2 = MockWebSocket.last
    expect(ws2).not.toBe(ws1)
    expect(new URL(ws2.url).searchParams.get('after')).toBe('13')
    expect(new URL(ws2.url).searchParams.get('v')).toBe('2')
    helloV2(ws2, 15)
    await flush()
    // The server replays what it is not sure we saw: nothing changes twice.
    for (const event of [ev.message(msg(12, 7)), ev.message(msg(14, 7)), ev.message(msg(12, 7)), ev.read(15, LOBBY, 11)]) ws2.receive(event)
    const messages = useMessagesStore()
    expect(messages.peek(7)!.messages.map((m) => m.id)).toEqual([12, 14])
    expect(messages.peek(LOBBY)!.messages.map((m) => m.id)).toEqual([11])
    expect(useRoomsStore().get(7)!.unread).toBe(2)
    expect(stream.cursor()).toBe(15)
  })

  it('sends with room_id and the same client_id, and survives a reload (outbox v2)', async () => {
    fakeServer({ rooms: ROOMS })
    const first = start()
    const outbox = useOutboxStore()
    const id = outbox.send(7, '  设计稿好了  ', false)
    expect(outbox.pendingFor(7, LOBBY)).toHaveLength(1)
    expect(JSON.parse(localStorage.getItem('hearth.outbox.v1.1')!)).toMatchObject({ v: 2, entries: [{ client_id: id, room_id: 7 }] })
    first.scope.stop()

    reload()
    const { stream } = start()
    expect(useOutboxStore().pendingFor(7, LOBBY).map((e) => e.client_id)).toEqual([id])
    stream.connect()
    await flush()
    const ws = helloV2(MockWebSocket.last, 20)
    await flush()
    expect(ws.framesOfType('message')).toEqual([{ type: 'message', content: '设计稿好了', client_id: id, room_id: 7 }])
    ws.receive({ type: 'ack', client_id: id, id: 21, created_at: 1_700_000_021_000, room_id: 7 })
    expect(useOutboxStore().pending).toHaveLength(0)
    expect(useMessagesStore().peek(7)!.messages).toMatchObject([{ id: 21, room_id: 7, user_id: ALICE.id, content: '设计稿好了' }])
    expect(localStorage.getItem('hearth.outbox.v1.1')).toBeNull()
    // Our own message comes back on the stream: still one.
    ws.receive(ev.message(msg(21, 7, { user_id: ALICE.id, username: ALICE.username, content: '设计稿好了', client_id: id })))
    expect(useMessagesStore().peek(7)!.messages).toHaveLength(1)
    expect(useRoomsStore().get(7)!.unread).toBe(0)
  })

  it('reads the lobby client’s v1 outbox as lobby messages', async () => {
    fakeServer({ rooms: ROOMS })
    localStorage.setItem(
      'hearth.outbox.v1.1',
      JSON.stringify({ v: 1, entries: [{ client_id: 'old-1', content: 'queued before the upgrade', queued_at: 1, state: 'pending', attempts: 0 }] }),
    )
    const { stream } = start()
    expect(useOutboxStore().pendingFor(LOBBY, LOBBY).map((e) => e.client_id)).toEqual(['old-1'])
    stream.connect()
    await flush()
    const ws = helloV2(MockWebSocket.last, 5)
    await flush()
    // No room_id: the server's lobby.
    expect(ws.framesOfType('message')).toEqual([{ type: 'message', content: 'queued before the upgrade', client_id: 'old-1' }])
  })

  it('restores rooms, messages and the cursor after a reload and resumes from it', async () => {
    fakeServer({ rooms: ROOMS, history: { 7: [msg(8, 7), msg(9, 7)] } })
    const first = start()
    first.stream.connect()
    await flush()
    const ws = helloV2(MockWebSocket.last, 9)
    await flush()
    await useMessagesStore().loadLatest(7)
    ws.receive(ev.message(msg(12, 7)))
    first.scope.stop()

    reload()
    const { stream } = start()
    expect(useRoomsStore().joined.map((r) => r.id)).toEqual([LOBBY, 7])
    expect(useMessagesStore().peek(7)!.messages.map((m) => m.id)).toEqual([8, 9, 12])
    stream.connect()
    await flush()
    expect(new URL(MockWebSocket.last.url).searchParams.get('after')).toBe('12')
  })

  it('drops every cache when the database changed (epoch) and starts over without a cursor', async () => {
    fakeServer({ rooms: ROOMS })
    const first = start()
    first.stream.connect()
    await flush()
    helloV2(MockWebSocket.last, 9, { epoch: 'old' }).receive(ev.message(msg(12, 7)))
    first.scope.stop()

    reload()
    const { stream } = start()
    const changed = vi.fn()
    stream.on('epoch-changed', changed)
    stream.connect()
    await flush()
    const resumed = MockWebSocket.last
    expect(new URL(resumed.url).searchParams.get('after')).toBe('12')
    helloV2(resumed, 3, { epoch: 'new' })
    expect(changed).toHaveBeenCalledWith({ previous: 'old', current: 'new' })
    expect(useMessagesStore().peek(7)).toBeUndefined()
    await vi.advanceTimersByTimeAsync(0)
    const fresh = MockWebSocket.last
    expect(fresh).not.toBe(resumed)
    expect(new URL(fresh.url).searchParams.has('after')).toBe(false)
    helloV2(fresh, 3, { epoch: 'new' })
    await flush()
    expect(stream.cursor()).toBe(3)
    expect(useRoomsStore().joined.map((r) => r.id)).toEqual([LOBBY, 7])
  })

  it('handles reset (a cursor from another timeline): drops the messages, continues from last_id', async () => {
    fakeServer({ rooms: ROOMS })
    const { stream } = start()
    const reset = vi.fn()
    stream.on('cursor-reset', reset)
    stream.connect()
    await flush()
    const ws = helloV2(MockWebSocket.last, 50)
    ws.receive(ev.message(msg(51, 7)))
    ws.receive({ type: 'reset', last_id: 30 })
    await flush()
    expect(reset).toHaveBeenCalledWith({ previous: 51, current: 30 })
    expect(useMessagesStore().peek(7)).toBeUndefined()
    expect(stream.cursor()).toBe(30)
  })

  it('marks a refused send failed (not_found: no access) and keeps it retryable', async () => {
    fakeServer({ rooms: ROOMS })
    const { stream } = start()
    stream.connect()
    await flush()
    const ws = helloV2(MockWebSocket.last, 1)
    await flush()
    const id = useOutboxStore().send(7, 'hi', true)
    ws.receive({ type: 'error', code: 'not_found', message: 'no such room', client_id: id })
    expect(useOutboxStore().pending[0]).toMatchObject({ state: 'failed', error: '房间不存在或你无权访问' })
  })

  it('leaves the seed’s useWebSocket on the v1 lobby stream', () => {
    fakeServer({ rooms: ROOMS })
    const chat = inScope(() => useWebSocket(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket }))
    chat.connect()
    expect(MockWebSocket.last.url).toBe('ws://hearth.test/api/chat/ws')
    MockWebSocket.last.hello({ user: BOB })
    chat.sendMessage('hello lobby')
    expect(MockWebSocket.last.framesOfType('message')[0]).not.toHaveProperty('room_id')
  })
})
