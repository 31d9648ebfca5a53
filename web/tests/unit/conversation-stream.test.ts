/** §4 over the v2 stream: edits, deletions, reactions, levels, mentions, replies; idempotent, resumable, cached. */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { getCurrentScope } from 'vue'
import { createApiClient } from '@/api/http'
import type { ChatMessage } from '@/api/types'
import { useRoomStream, type RoomStreamOptions } from '@/composables/useRoomStream'
import { useMessagesStore } from '@/stores/messages'
import { useOutboxStore } from '@/stores/outbox'
import { useRoomsStore } from '@/stores/rooms'
import { useTypingStore } from '@/stores/typing'
import { signIn } from '@/session'
import { postEntry } from '@/utils/outbox'
import { flush, json, mockFetch, MockWebSocket, useComposableTestEnv } from './helpers'
import { ALICE, BOB, CAROL, ev, fakeServer, helloV2, LOBBY, msg, room, TOKEN } from './roomsServer'

const inScope = useComposableTestEnv()

function start(options: RoomStreamOptions = {}) {
  return inScope(() => ({
    stream: useRoomStream(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket, ...options }),
    scope: getCurrentScope()!,
  }))
}

const ROOMS = [room(LOBBY), room(7, { kind: 'closed', name: '设计', notify: 'mentions', last_message_id: 9, last_read_id: 9 })]
const HISTORY = { 7: [msg(8, 7, { content: '原文' }), msg(9, 7, { content: '回复原文', reply_to: { id: 8, user_id: 2, username: 'bob', content: '原文' } })] }

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0.5)
  signIn({ token: TOKEN, user: ALICE })
  setActivePinia(createPinia())
})

async function connected(lastId = 10, options: RoomStreamOptions = {}) {
  const started = start(options)
  started.stream.connect()
  await flush()
  const ws = helloV2(MockWebSocket.last, lastId)
  await flush()
  return { ...started, ws }
}

function list(roomId = 7): readonly ChatMessage[] {
  return useMessagesStore().peek(roomId)?.messages ?? []
}

const THUMBS = [{ emoji: '👍', count: 2, users: [BOB, CAROL] }]

describe('§4 stream events', () => {
  it('apply edits, deletions, reactions and levels, move the cursor, and change nothing when applied again', async () => {
    fakeServer({ rooms: ROOMS, history: HISTORY })
    const { stream, ws } = await connected()
    await useMessagesStore().loadLatest(7)
    const events = [
      ev.edited(11, msg(8, 7, { content: '改过的原文', edited_at: 1_700_000_100_000 })),
      ev.reaction(12, 7, 9, THUMBS),
      ev.deleted(13, 7, 9),
      ev.notify(14, 7, 'none'),
    ]
    for (const e of events) ws.receive(e)
    expect(stream.cursor()).toBe(14)
    const snapshot = JSON.stringify({ list: list(), room: useRoomsStore().get(7) })
    expect(list()[0]).toMatchObject({ id: 8, content: '改过的原文', edited_at: 1_700_000_100_000 })
    expect(list()[1]).toMatchObject({ id: 9, content: '', deleted: true })
    expect(list()[1]).not.toHaveProperty('reactions')
    expect(list()[1]).not.toHaveProperty('reply_to')
    expect(useRoomsStore().get(7)!.notify).toBe('none')
    // Replayed (a resume that overlaps): the same state.
    for (const e of events) ws.receive(e)
    ws.receive(ev.message(msg(9, 7, { content: '回复原文' })))
    expect(JSON.parse(JSON.stringify({ list: list(), room: useRoomsStore().get(7) }))).toEqual(JSON.parse(snapshot))
  })

  it('replaces a reaction list whole, and an older edit never replaces a newer one', async () => {
    fakeServer({ rooms: ROOMS, history: HISTORY })
    const { ws } = await connected()
    await useMessagesStore().loadLatest(7)
    ws.receive(ev.reaction(11, 7, 8, THUMBS))
    ws.receive(ev.reaction(12, 7, 8, [{ emoji: '🎉', count: 1, users: [ALICE] }]))
    expect(list()[0]!.reactions).toEqual([{ emoji: '🎉', count: 1, users: [ALICE] }])
    ws.receive(ev.reaction(13, 7, 8, []))
    expect(list()[0]).not.toHaveProperty('reactions')
    ws.receive(ev.edited(14, msg(8, 7, { content: 'v2', edited_at: 2000 })))
    ws.receive(ev.message(msg(8, 7, { content: 'v1', edited_at: 1000 })))
    expect(list()[0]!.content).toBe('v2')
  })

  it('reply quotes follow their original: edited, then deleted', async () => {
    fakeServer({ rooms: ROOMS, history: HISTORY })
    const { ws } = await connected()
    await useMessagesStore().loadLatest(7)
    ws.receive(ev.edited(11, msg(8, 7, { content: '新的原文', edited_at: 5 })))
    expect(list()[1]!.reply_to).toEqual({ id: 8, user_id: 2, username: 'bob', content: '新的原文' })
    ws.receive(ev.deleted(12, 7, 8))
    expect(list()[1]!.reply_to).toEqual({ id: 8, user_id: 2, username: 'bob', content: '', deleted: true })
  })

  it('typing frames do not move the cursor or reach the cache; invalid frames and unknown types are ignored', async () => {
    fakeServer({ rooms: ROOMS, history: HISTORY })
    const { stream, ws } = await connected()
    await useMessagesStore().loadLatest(7)
    ws.receive({ type: 'typing', room_id: 7, user: BOB })
    expect(useTypingStore().names(7)).toEqual(['bob'])
    expect(stream.cursor()).toBe(10)
    // Our own other tab typing is not "someone".
    ws.receive({ type: 'typing', room_id: 7, user: ALICE })
    expect(useTypingStore().names(7)).toEqual(['bob'])

    ws.receive({ type: 'reaction', seq: 11, room_id: 7, message_id: 8, reactions: 'lots' })
    ws.receive({ type: 'message_edited', seq: 12, message: { id: 8, content: 'no author' } })
    ws.receive({ type: 'notify', seq: 13, room_id: 7, level: 'loud' })
    ws.receive({ type: 'message_deleted', seq: 14, room_id: 7 })
    ws.receive({ type: 'something_new', seq: 15, payload: {} })
    expect(list().map((m) => m.content)).toEqual(['原文', '回复原文'])
    expect(list()[0]).not.toHaveProperty('reactions')
    expect(useRoomsStore().get(7)!.notify).toBe('mentions')
    await vi.advanceTimersByTimeAsync(1000)
    expect(localStorage.getItem('hearth.cache.v1.1')).not.toContain('typing')
  })

  it('a reload shows the current state: edited, deleted and reacted messages, levels and mention counts come from the cache', async () => {
    fakeServer({ rooms: ROOMS, history: HISTORY })
    const first = await connected()
    await useMessagesStore().loadLatest(7)
    first.ws.receive(ev.edited(11, msg(8, 7, { content: '改过', edited_at: 1_700_000_100_000, reactions: THUMBS })))
    first.ws.receive(ev.deleted(12, 7, 9))
    first.ws.receive(ev.notify(13, 7, 'all'))
    first.ws.receive(ev.message(msg(14, 7, { content: '@alice 看', mentions: [ALICE.id] })))
    first.scope.stop()

    setActivePinia(createPinia())
    const { stream } = start()
    expect(list().map((m) => [m.id, m.content, m.deleted ?? false, m.edited_at ?? null])).toEqual([
      [8, '改过', false, 1_700_000_100_000],
      [9, '', true, null],
      [14, '@alice 看', false, null],
    ])
    expect(list()[0]!.reactions).toEqual(THUMBS)
    expect(list()[2]!.mentions).toEqual([ALICE.id])
    expect(useRoomsStore().get(7)).toMatchObject({ notify: 'all', mentions: 1, unread: 1 })
    stream.connect()
    await flush()
    expect(new URL(MockWebSocket.last.url).searchParams.get('after')).toBe('14')
  })

  it('on resume, a message deleted since arrives deleted, and its later message_deleted changes nothing', async () => {
    fakeServer({ rooms: ROOMS, history: HISTORY })
    const { ws } = await connected()
    await useMessagesStore().loadLatest(7)
    ws.receive(ev.message(msg(11, 7, { content: '', deleted: true })))
    expect(list().at(-1)).toMatchObject({ id: 11, content: '', deleted: true })
    const before = JSON.stringify(list())
    ws.receive(ev.deleted(12, 7, 11))
    expect(JSON.stringify(list())).toBe(before)
  })

  it('a history page asked for before a change does not undo it', async () => {
    let answer: (r: Response) => void = () => {}
    fakeServer({
      rooms: ROOMS,
      extra: { 'GET /api/rooms/7/messages': () => new Promise<Response>((resolve) => (answer = resolve)) },
    })
    const { ws } = await connected()
    const loading = useMessagesStore().loadLatest(7)
    await flush()
    ws.receive(ev.reaction(11, 7, 8, THUMBS))
    ws.receive(ev.edited(12, msg(9, 7, { content: '新', edited_at: 7 })))
    ws.receive(ev.deleted(13, 7, 10))
    answer(json({ messages: [msg(8, 7), msg(9, 7, { content: '旧' }), msg(10, 7)], has_more: false }))
    await loading
    expect(list()[0]!.reactions).toEqual(THUMBS)
    expect(list()[1]!.content).toBe('新')
    expect(list()[2]!.deleted).toBe(true)
  })
})

describe('mentions of me', () => {
  it('count live mentions from others (@everyone too), not my own, and reset when read', async () => {
    fakeServer({ rooms: ROOMS, history: { 7: [] } })
    const { ws } = await connected()
    await useMessagesStore().loadLatest(7)
    const rooms = useRoomsStore()
    ws.receive(ev.message(msg(11, 7, { content: '@alice', mentions: [ALICE.id] })))
    ws.receive(ev.message(msg(12, 7, { content: '@everyone', mention_everyone: true })))
    ws.receive(ev.message(msg(13, 7, { content: '@alice 自己', user_id: ALICE.id, username: 'alice', mentions: [ALICE.id] })))
    ws.receive(ev.message(msg(14, 7, { content: '@carol', mentions: [CAROL.id] })))
    ws.receive(ev.message(msg(11, 7, { content: '@alice', mentions: [ALICE.id] })))
    expect(rooms.get(7)).toMatchObject({ mentions: 2, unread: 3 })
    // Read in another tab up to 11: one mention left (12), counted from the list.
    ws.receive(ev.read(15, 7, 11))
    expect(rooms.get(7)).toMatchObject({ mentions: 1, unread: 2 })
    // The mentioning message is deleted: it no longer counts.
    ws.receive(ev.deleted(16, 7, 12))
    expect(rooms.get(7)!.mentions).toBe(0)
    ws.receive(ev.message(msg(17, 7, { mentions: [ALICE.id] })))
    ws.receive(ev.read(18, 7, 17))
    expect(rooms.get(7)).toMatchObject({ mentions: 0, unread: 0 })
  })

  it('an edit that adds or removes a mention of me adjusts the count', async () => {
    fakeServer({ rooms: ROOMS, history: { 7: [] } })
    const { ws } = await connected()
    await useMessagesStore().loadLatest(7)
    ws.receive(ev.message(msg(11, 7, { content: 'hi' })))
    ws.receive(ev.edited(12, msg(11, 7, { content: '@alice hi', mentions: [ALICE.id], edited_at: 1 })))
    expect(useRoomsStore().get(7)!.mentions).toBe(1)
    ws.receive(ev.edited(12, msg(11, 7, { content: '@alice hi', mentions: [ALICE.id], edited_at: 1 })))
    expect(useRoomsStore().get(7)!.mentions).toBe(1)
    ws.receive(ev.edited(13, msg(11, 7, { content: 'hi', edited_at: 2 })))
    expect(useRoomsStore().get(7)!.mentions).toBe(0)
  })
})

describe('replies', () => {
  it('send reply_to in the frame (also after a reload); the ack copy quotes the original until the stored one arrives', async () => {
    fakeServer({ rooms: ROOMS, history: HISTORY })
    const first = start()
    const id = useOutboxStore().send(7, '同意', false, 8)
    first.scope.stop()

    setActivePinia(createPinia())
    const { stream } = start()
    stream.connect()
    await flush()
    const ws = helloV2(MockWebSocket.last, 10)
    await flush()
    await useMessagesStore().loadLatest(7)
    expect(ws.framesOfType('message')).toEqual([{ type: 'message', content: '同意', client_id: id, room_id: 7, reply_to: 8 }])
    ws.receive({ type: 'ack', client_id: id, id: 11, created_at: 1_700_000_011_000, room_id: 7 })
    expect(list().at(-1)).toMatchObject({ id: 11, reply_to: { id: 8, username: 'bob', content: '原文' } })
    ws.receive(ev.message(msg(11, 7, { user_id: ALICE.id, username: 'alice', content: '同意', client_id: id, reply_to: { id: 8, user_id: 2, username: 'bob', content: '原文' } })))
    expect(list().filter((m) => m.id === 11)).toHaveLength(1)
  })

  it('send reply_to in the REST body (polling, oversized frames), with the same client_id', async () => {
    const routes = mockFetch({ 'POST /api/rooms/7/messages': () => json(msg(11, 7), 201), 'POST /api/chat/messages': () => json(msg(12, 1), 201) })
    const api = createApiClient({ token: () => TOKEN })
    await postEntry(api, { client_id: 'c-1', content: 'x', room_id: 7, reply_to: 8, queued_at: 1, state: 'pending', attempts: 0 })
    await postEntry(api, { client_id: 'c-2', content: 'y', reply_to: 3, queued_at: 1, state: 'pending', attempts: 0 })
    await postEntry(api, { client_id: 'c-3', content: 'z', room_id: 7, queued_at: 1, state: 'pending', attempts: 0 })
    expect(routes.calls.map((c) => c.body)).toEqual([
      { content: 'x', client_id: 'c-1', reply_to: 8 },
      { content: 'y', client_id: 'c-2', reply_to: 3 },
      { content: 'z', client_id: 'c-3' },
    ])
  })

  it('a reply whose original was deleted meanwhile fails with a reason (and stays retryable)', async () => {
    fakeServer({ rooms: ROOMS, history: HISTORY })
    const { ws } = await connected()
    const id = useOutboxStore().send(7, '回复', true, 8)
    ws.receive({ type: 'error', code: 'not_found', message: 'no such message', client_id: id })
    expect(useOutboxStore().pending[0]).toMatchObject({ state: 'failed', error: '回复的消息已被删除，或房间已不可访问', reply_to: 8 })
  })
})
