/** The v2 stream over HTTP polling (`GET /api/stream?after=`), and the fallback to it from WebSocket. */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useRoomStream, type RoomStreamOptions } from '@/composables/useRoomStream'
import { useMessagesStore } from '@/stores/messages'
import { useOutboxStore } from '@/stores/outbox'
import { useRoomsStore } from '@/stores/rooms'
import { signIn } from '@/session'
import { flush, json, MockWebSocket, useComposableTestEnv } from './helpers'
import { ALICE, ev, fakeServer, helloV2, LOBBY, msg, room, TOKEN } from './roomsServer'

const inScope = useComposableTestEnv()

function start(options: RoomStreamOptions = {}) {
  return inScope(() => useRoomStream(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket, interval: 1000, ...options }))
}

function streamCalls(server: ReturnType<typeof fakeServer>): (string | null)[] {
  return server.routes.calls.filter((c) => c.url.pathname === '/api/stream').map((c) => c.url.searchParams.get('after'))
}

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0.5)
  signIn({ token: TOKEN, user: ALICE })
  setActivePinia(createPinia())
})

describe('useRoomStream over polling', () => {
  it('starts at the stream’s head, then polls after=<cursor> and applies events in order', async () => {
    const server = fakeServer({ websocket: false, head: 20, rooms: [room(LOBBY), room(7, { kind: 'closed' })] })
    const stream = start()
    stream.connect()
    await flush()
    expect(MockWebSocket.instances).toHaveLength(0)
    expect(stream.transport.value).toBe('polling')
    expect(stream.isConnected.value).toBe(true)
    // Without a cursor: where the stream is (asked before the room list), then from there.
    expect(streamCalls(server)).toEqual([null, '20'])
    expect(useRoomsStore().joined.map((r) => r.id)).toEqual([LOBBY, 7])

    server.state.stream.push(ev.message(msg(21, 7)), ev.read(22, LOBBY, 3), ev.message(msg(23, LOBBY)))
    await vi.advanceTimersByTimeAsync(1000)
    await flush()
    expect(useMessagesStore().peek(7)!.messages.map((m) => m.id)).toEqual([21])
    expect(useMessagesStore().peek(LOBBY)!.messages.map((m) => m.id)).toEqual([23])
    expect(stream.cursor()).toBe(23)
    await vi.advanceTimersByTimeAsync(1000)
    expect(streamCalls(server).at(-1)).toBe('23')
  })

  it('fetches has_more pages back to back', async () => {
    let calls = 0
    const server = fakeServer({
      websocket: false,
      head: 10,
      extra: {
        'GET /api/stream': (url) => {
          const after = url.searchParams.get('after')
          if (after === null) return { events: [], has_more: false, last_seq: 10 }
          calls++
          if (after === '10') return { events: [ev.message(msg(11, LOBBY))], has_more: true, last_seq: 11 }
          if (after === '11') return { events: [ev.message(msg(12, LOBBY))], has_more: false, last_seq: 15 }
          return { events: [], has_more: false, last_seq: Number(after) }
        },
      },
    })
    const stream = start()
    stream.connect()
    await flush()
    expect(calls).toBe(2)
    expect(useMessagesStore().peek(LOBBY)!.messages.map((m) => m.id)).toEqual([11, 12])
    expect(stream.cursor()).toBe(15)
    expect(server.routes.count('GET', '/api/rooms')).toBe(1)
  })

  it('sends queued messages with POST /api/rooms/{id}/messages and their client_id', async () => {
    const server = fakeServer({ websocket: false, rooms: [room(LOBBY), room(7)] })
    const stream = start()
    const id = useOutboxStore().send(7, '轮询发送', false)
    stream.connect()
    await flush()
    const posts = server.routes.calls.filter((c) => c.method === 'POST' && c.url.pathname === '/api/rooms/7/messages')
    expect(posts.map((c) => c.body)).toEqual([{ content: '轮询发送', client_id: id }])
    expect(useOutboxStore().pending).toHaveLength(0)
    expect(useMessagesStore().peek(7)!.messages.map((m) => m.content)).toEqual(['轮询发送'])
  })

  it('on reset drops the messages and continues from last_seq', async () => {
    let resetOnce = true
    fakeServer({
      websocket: false,
      rooms: [room(LOBBY), room(7)],
      extra: {
        'GET /api/stream': (url) => {
          const after = url.searchParams.get('after')
          if (after === null) return { events: [], has_more: false, last_seq: 90 }
          if (after === '90' && resetOnce) {
            resetOnce = false
            return { events: [], has_more: false, last_seq: 40, reset: true }
          }
          return { events: [], has_more: false, last_seq: Number(after) }
        },
      },
    })
    const stream = start()
    const reset = vi.fn()
    stream.on('cursor-reset', reset)
    stream.connect()
    await flush()
    expect(reset).toHaveBeenCalledWith({ previous: 90, current: 40 })
    expect(stream.cursor()).toBe(40)
  })

  it('falls back from a failing WebSocket to polling, keeping the cursor, and probes back with v=2', async () => {
    const server = fakeServer({ rooms: [room(LOBBY), room(7)] })
    const stream = start({ fallbackAfter: 2, probeInterval: 30_000 })
    stream.connect()
    await flush()
    const ws = helloV2(MockWebSocket.last, 30)
    await flush()
    ws.receive(ev.message(msg(31, 7)))
    // A proxy starts refusing upgrades.
    ws.fail()
    await vi.advanceTimersByTimeAsync(1000)
    MockWebSocket.last.fail()
    await flush()
    await vi.advanceTimersByTimeAsync(2000)
    MockWebSocket.last.fail()
    await flush()
    expect(stream.transport.value).toBe('polling')
    expect(stream.fallbackReason.value).toBe('failing')
    expect(stream.isConnected.value).toBe(true)
    // The cursor carries over: no start-from-head call.
    expect(streamCalls(server)[0]).toBe('31')

    server.state.stream.push(ev.message(msg(32, 7)))
    await vi.advanceTimersByTimeAsync(1000)
    await flush()
    expect(useMessagesStore().peek(7)!.messages.map((m) => m.id)).toEqual([31, 32])

    // The background probe opens a v2 socket; a hello switches back.
    const before = MockWebSocket.instances.length
    await vi.advanceTimersByTimeAsync(30_000)
    await flush()
    const probe = MockWebSocket.instances[before]!
    expect(new URL(probe.url).searchParams.get('v')).toBe('2')
    helloV2(probe, 32)
    await flush()
    expect(stream.transport.value).toBe('websocket')
    const back = MockWebSocket.last
    expect(new URL(back.url).searchParams.get('after')).toBe('32')
  })

  it('stops on 401 and reports unauthorized', async () => {
    fakeServer({ websocket: false, extra: { 'GET /api/auth/me': () => json({ error: { code: 'unauthorized', message: 'expired' } }, 401) } })
    const stream = start()
    const unauthorized = vi.fn()
    stream.on('unauthorized', unauthorized)
    stream.connect()
    await flush()
    expect(unauthorized).toHaveBeenCalledOnce()
    expect(stream.status.value).toBe('closed')
  })
})
