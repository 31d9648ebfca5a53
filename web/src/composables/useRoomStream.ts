/**
 * `useRoomStream(token)`: the rooms app's connection to the v2 change stream
 * (PROTOCOL.md §3). Created once by the chat layout; it fills the stores.
 *
 * - WebSocket `api/chat/ws?v=2&after=<cursor>`; the cursor is the highest
 *   `seq` seen (any event: message, room, member, read). Falls back to
 *   `GET /api/stream?after=<cursor>` polling (and probes back) through
 *   `useTransportSwitch`; both share the cursor, the outbox and the stores.
 * - The outbox is per room (frames carry `room_id`); resends keep their
 *   `client_id`. Read positions are sent as `read` frames (or
 *   `POST /api/rooms/{id}/read` while polling).
 * - A new database (`epoch`) drops every cache and starts without a cursor;
 *   a cursor from another timeline (`reset`) drops the messages and reloads.
 * - Each (re)connect refreshes the room list (`GET /api/rooms`).
 * - §4: edits, deletions, reactions and notification levels are events like
 *   the others (they move the cursor); `typing` frames are not (no `seq`):
 *   they only fill the typing store. `typing` goes out on the WebSocket only.
 */
import { getCurrentScope, onScopeDispose, toValue, watch, type MaybeRefOrGetter } from 'vue'
import { ApiError, createApiClient } from '@/api/http'
import type { StreamEvent, StreamFrame } from '@/api/rooms'
import type { AckFrame, ChatMessage, ClientFrame, PresenceUser, SendFrame, ServerConfig } from '@/api/types'
import { useServerConfigStore } from '@/stores/config'
import { useConnectionStore } from '@/stores/connection'
import { useMessagesStore } from '@/stores/messages'
import { useOutboxStore } from '@/stores/outbox'
import { usePresenceStore } from '@/stores/presence'
import { useRoomsStore } from '@/stores/rooms'
import { useTypingStore } from '@/stores/typing'
import { createEmitter, type Listener } from '@/utils/emitter'
import { ackedMessage } from '@/utils/messages'
import { fileIds, postEntry } from '@/utils/outbox'
import { storageNamespace } from '@/utils/rooms'
import { isId } from '@/utils/schemas'
import type { Emit, TransportEvents, TransportLink } from '@/utils/transport'
import { useOutboxSender } from './useOutboxSender'
import { usePoller, type PollerOptions } from './usePoller'
import { useReadSync } from './useReadSync'
import { useReconnectingSocket, type ReconnectingSocketOptions } from './useReconnectingSocket'
import { useStreamCache } from './useStreamCache'
import { useStreamEvents } from './useStreamEvents'
import { useTransportSwitch, type TransportSwitchOptions } from './useTransportSwitch'

export interface StreamEvents extends TransportEvents {
  /** The server's database changed: every cache was dropped. */
  'epoch-changed': { previous: string; current: string }
  /** Our cursor was from another timeline: messages were dropped and are reloaded. */
  'cursor-reset': { previous: number; current: number }
  /** A message event seen for the first time here (not a replay), of a room we are in. */
  message: { roomId: number; message: ChatMessage }
  /** A read position moved (any tab or device of the user). */
  read: { roomId: number; lastReadId: number }
}

export interface RoomStreamOptions extends ReconnectingSocketOptions, TransportSwitchOptions, PollerOptions {
  /** Keep the cache and the outbox in localStorage. Default true. */
  persist?: boolean
  /** See `useOutboxSender`. */
  ackTimeout?: number
  maxInFlight?: number
  /** Client frame limit in bytes; larger sends go over REST. Default: `GET /api/config`, else 4096. */
  maxFrameBytes?: number
  /** Stream pages fetched back to back per poll while `has_more`. Default 20. */
  maxPagesPerPoll?: number
  /** Delay before read positions are sent (several marks become one). Default 300 ms. */
  readDelay?: number
}

export function useRoomStream(token: MaybeRefOrGetter<string>, options: RoomStreamOptions = {}) {
  const rooms = useRoomsStore()
  const messages = useMessagesStore()
  const presence = usePresenceStore()
  const connection = useConnectionStore()
  const outboxStore = useOutboxStore()
  const serverConfig = useServerConfigStore()
  const typing = useTypingStore()
  const persist = options.persist ?? true
  const namespace = storageNamespace(toValue(token) ?? '')
  const api = createApiClient({ baseUrl: options.baseUrl, token: () => toValue(token) ?? '' })
  const emitter = createEmitter<StreamEvents>()
  const emit = emitter.emit as Emit<TransportEvents>
  const link: TransportLink = { everConnected: false }
  const limits = { maxFrameBytes: null as number | null }

  let cursor = 0
  let epoch: string | null = null
  let me: PresenceUser | null = null
  /** The `after` of the current WebSocket attempt. */
  let requestedAfter = 0
  let resumed = false

  const box = outboxStore.open(namespace, { persist })
  const cache = useStreamCache(namespace, { persist, state: () => ({ epoch, cursor, me }) })
  const events = useStreamEvents()
  const restored = cache.restore()
  if (restored) {
    cursor = restored.cursor
    epoch = restored.epoch
    setMe(restored.me)
  }

  function setMe(user: PresenceUser | null): void {
    if (!user) return
    me = { id: user.id, username: user.username }
    rooms.meId = user.id
  }

  function onConfig(config: ServerConfig): void {
    serverConfig.apply(config)
    const frame = config?.max_frame_bytes
    if (typeof frame === 'number' && Number.isFinite(frame) && frame >= 256) limits.maxFrameBytes = frame
  }

  function advance(seq: unknown): void {
    if (isId(seq) && seq > cursor) {
      cursor = seq
      cache.schedule()
    }
  }

  /** Records the server's epoch; a different one than we cached drops everything (ids restart). */
  function applyEpoch(next: string): boolean {
    const previous = epoch
    epoch = next
    if (previous === null || previous === next) return false
    cursor = 0
    events.forgetReplay()
    messages.reset()
    rooms.clearList()
    // Room ids of the old database may name other rooms now: never send there.
    box.dropWhere((e) => e.room_id !== undefined)
    emitter.emit('epoch-changed', { previous, current: next })
    return true
  }

  /** The server ignored our cursor (above its newest `seq`): drop the messages, go on from `lastSeq`. */
  function resetCursor(lastSeq: unknown): void {
    const previous = cursor
    events.forgetReplay()
    messages.reset()
    cursor = isId(lastSeq) ? lastSeq : 0
    cache.schedule()
    emitter.emit('cursor-reset', { previous, current: cursor })
  }

  /** One stream event (from the socket or a poll). */
  function handleEvent(event: StreamEvent): void {
    if (event.type === 'message') {
      const m = event.message
      // Our own message came back (before its ack, or while polling): it is sent.
      if (m?.client_id && me && m.user_id === me.id && box.find(m.client_id)) {
        sender.settle(m.client_id)
        box.complete(m.client_id, m)
        sender.pump()
      }
    }
    const fresh = events.apply(event)
    advance(event.seq)
    if (fresh && event.type === 'message') {
      const roomId = event.message.room_id ?? rooms.lobby?.id
      if (roomId !== undefined) emitter.emit('message', { roomId, message: event.message })
    } else if (event.type === 'read' && isId(event.room_id) && isId(event.last_read_id)) {
      emitter.emit('read', { roomId: event.room_id, lastReadId: event.last_read_id })
    }
  }

  function acknowledge(frame: AckFrame): boolean {
    const entry = box.find(frame.client_id)
    if (!entry || !me) return false
    const roomId = frame.room_id ?? entry.room_id ?? rooms.lobby?.id
    const room = roomId === undefined ? undefined : rooms.get(roomId)
    const quoted = entry.reply_to !== undefined && roomId !== undefined ? messages.find(roomId, entry.reply_to) : undefined
    box.complete(frame.client_id, ackedMessage(frame, entry, me, roomId, room, quoted))
    return true
  }

  /** After each (re)connect: the room list, then what waited for a connection. */
  async function afterConnect(): Promise<void> {
    connection.synced = true
    reads.resume()
    try {
      await events.refreshRooms()
    } catch {
      // The next reconnect tries again; the stream keeps the list current meanwhile.
    }
  }

  // ---- WebSocket ---------------------------------------------------------------

  const socket = useReconnectingSocket<StreamFrame>(token, options, { api, emit, link, onConfig }, {
    prepare(url) {
      url.searchParams.set('v', '2')
      requestedAfter = cursor
      if (cursor > 0) url.searchParams.set('after', String(cursor))
    },
    hello(frame) {
      const hadCursor = cursor > 0
      const changed = applyEpoch(String(frame.epoch))
      // The stream we asked for (`after` a seq of the old database) means nothing: start over.
      if (changed && requestedAfter > 0) return 'restart'
      const reset = frame.reset === true && !changed
      if (reset) resetCursor(frame.last_id)
      setMe(frame.user)
      if (frame.online) presence.set(frame.online.count, frame.online.users)
      // No cursor yet: the live stream starts after the newest seq; REST fills in the past.
      if (cursor === 0) advance(frame.last_id)
      resumed = hadCursor && !changed && !reset
      return 'open'
    },
    opened() {
      emitter.emit('connected', { transport: 'websocket', resumed })
      sender.pump()
      void afterConnect()
    },
    frame(frame) {
      switch (frame.type) {
        case 'message':
        case 'room':
        case 'member':
        case 'read':
        case 'message_edited':
        case 'message_deleted':
        case 'reaction':
        case 'notify':
          handleEvent(frame)
          break
        case 'typing':
          events.typing(frame)
          break
        case 'ack':
          if (acknowledge(frame)) sender.settle(frame.client_id)
          sender.pump()
          break
        case 'presence':
          if (frame.users) presence.set(frame.count, frame.users)
          else presence.apply(frame.count, frame.joined ?? [], frame.left ?? [])
          break
        case 'reset':
          resetCursor(frame.last_id)
          void events.refreshRooms().catch(() => {})
          break
        case 'error':
          emitter.emit('server-error', frame)
          sender.onError(frame)
          break
        default:
          break
      }
    },
    pong: () => sender.onPong(),
    closed: (code) => sender.reset(code),
  })

  const sender = useOutboxSender(
    box,
    socket,
    { ackTimeout: options.ackTimeout, maxInFlight: options.maxInFlight, frameLimit: () => options.maxFrameBytes ?? limits.maxFrameBytes ?? 4096 },
    {
      frame(entry) {
        const frame: SendFrame = { type: 'message', content: entry.content, client_id: entry.client_id }
        if (entry.room_id !== undefined) frame.room_id = entry.room_id
        if (entry.reply_to !== undefined) frame.reply_to = entry.reply_to
        const files = fileIds(entry)
        if (files) frame.files = files
        return frame
      },
      viaHttp: (entry) => box.sendViaHttp(entry, (e) => postEntry(api, e)),
    },
  )

  // ---- polling -------------------------------------------------------------------

  const maxPages = options.maxPagesPerPoll ?? 20
  const poller = usePoller(token, options, { emit, link, outbox: box }, {
    async init(signal, current) {
      const user = await api.me(signal)
      if (!current()) return
      setMe(user)
      try {
        const config = await api.config(signal)
        onConfig(config)
        if (typeof config.epoch === 'string' && config.epoch) applyEpoch(config.epoch)
      } catch (error) {
        if (!current()) return
        if (error instanceof ApiError && error.status === 401) throw error
        // An older server without /api/config: no epoch to compare.
      }
      if (!current()) return
      // No cursor yet: where the stream is now, asked before the room list so
      // nothing falls between (what comes after is replayed: replays change nothing).
      let head: number | null = null
      if (cursor === 0) {
        const start = await api.stream(undefined, signal)
        if (!current()) return
        // A server that reads a missing `after` as 0 answers events: use the rooms instead.
        if (isId(start?.last_seq) && !start.has_more && (start.events?.length ?? 0) === 0) head = start.last_seq
      }
      await events.refreshRooms()
      if (!current()) return
      if (cursor === 0) advance(head ?? Math.max(0, ...rooms.all.map((r) => r.last_message_id)))
      connection.synced = true
      reads.resume()
    },
    async poll(signal, current) {
      let resets = 0
      for (let page = 0; page < maxPages; page++) {
        const result = await api.stream(cursor, signal)
        if (!current()) return
        if (result?.reset === true) {
          // Once per poll: a server that keeps answering reset is not looped on.
          if (resets++ > 0) break
          resetCursor(result.last_seq)
          await events.refreshRooms()
          if (!current()) return
          continue
        }
        for (const event of Array.isArray(result?.events) ? result.events : []) handleEvent(event)
        advance(result?.last_seq)
        if (!result?.has_more) break
      }
    },
    async presence(_signal, current) {
      const online = await api.onlineUsers()
      if (!current()) return
      // The server lists WebSocket users only; a polling client is online too.
      const users = Array.isArray(online.users) ? online.users : []
      if (me && !users.some((u) => u.id === me!.id)) presence.set(online.count + 1, [...users, me])
      else presence.set(online.count, users)
    },
    send: (entry) => box.sendViaHttp(entry, (e) => postEntry(api, e)),
  })

  // ---- transport choice ------------------------------------------------------------

  const transports = useTransportSwitch(
    token,
    options,
    {
      api,
      link,
      onConfig,
      on: emitter.on as <K extends keyof TransportEvents>(type: K, listener: Listener<TransportEvents[K]>) => () => void,
      prepareProbe: (url) => url.searchParams.set('v', '2'),
    },
    { websocket: socket, polling: poller },
  )

  function pump(): void {
    if (transports.transport.value === 'websocket') sender.pump()
    else poller.flush()
  }

  const reads = useReadSync({
    api,
    connected: () => transports.status.value === 'open',
    sendFrame: (frame) => transports.transport.value === 'websocket' && socket.send(frame),
    delay: options.readDelay,
  })

  // ---- wiring ------------------------------------------------------------------------

  // `typing` rides the open WebSocket only (polling clients neither send nor see it).
  typing.setSender(
    (roomId) =>
      transports.transport.value === 'websocket' &&
      transports.status.value === 'open' &&
      socket.send({ type: 'typing', room_id: roomId } satisfies ClientFrame),
  )

  const offQueued = outboxStore.events.on('queued', () => pump())
  const offFailed = outboxStore.events.on('send-failed', (entry) => emitter.emit('send-failed', entry))
  const stopStatus = watch(
    [transports.status, transports.transport, transports.fallbackReason],
    ([status, transport, reason]) => {
      connection.status = status
      connection.transport = transport
      connection.fallbackReason = reason
    },
    { immediate: true },
  )

  function disconnect(): void {
    transports.disconnect()
  }

  /** Logout: forget this account's cache, outbox and last room. */
  function clearLocalData(): void {
    cache.clear()
    outboxStore.clearStorage()
  }

  if (getCurrentScope()) {
    onScopeDispose(() => {
      disconnect()
      typing.setSender(null)
      typing.reset()
      stopStatus()
      offQueued()
      offFailed()
    })
  }

  return {
    status: transports.status,
    isConnected: transports.isConnected,
    isReconnecting: transports.isReconnecting,
    transport: transports.transport,
    fallbackReason: transports.fallbackReason,
    explicitlyClosed: transports.explicitlyClosed,
    connect: transports.connect,
    disconnect,
    reconnectNow: transports.reconnectNow,
    clearLocalData,
    /** The highest `seq` seen (for tests and diagnostics). */
    cursor: () => cursor,
    on: emitter.on,
    off: emitter.off,
  }
}

export type RoomStream = ReturnType<typeof useRoomStream>
