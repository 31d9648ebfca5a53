/**
 * `useWebSocket(token)`: the lobby's real-time connection, the seed's
 * component API, made robust. It speaks the v1 lobby stream (PROTOCOL.md §2:
 * no `v=2`), so it sees the lobby exactly as a client that knows nothing
 * about rooms; the rooms app uses `composables/useRoomStream` instead.
 *
 * ```ts
 * const { connect, disconnect, sendMessage, messages, onlineCount, isConnected, isReconnecting } =
 *   useWebSocket(localStorage.getItem('auth_token') || '')
 * onMounted(() => connect())
 * ```
 *
 * The connection itself (subprotocol auth, backoff, heartbeat, 4001, browser
 * events) is `useReconnectingSocket`; sending is `useOutboxSender`. This file
 * is the lobby protocol: resume with `?after=<last id>` and merge by id, a
 * changed `hello.epoch` drops the cache, `reset` reloads history.
 */
import { readonly, type MaybeRefOrGetter, type Ref } from 'vue'
import type { ClientFrame, ServerFrame } from '@/api/types'
import {
  useReconnectingSocket,
  type HeartbeatOptions,
  type ReconnectOptions,
  type ReconnectingSocketOptions,
} from '@/composables/useReconnectingSocket'
import { useOutboxSender } from '@/composables/useOutboxSender'
import { createChatCore, disposeWithScope, transportFields, type ChatConnection, type ChatCore, type ChatCoreOptions } from './chatCore'

export type { ChatConnection, ChatEvents, ConnectionStatus, OutgoingMessage, Transport } from './chatCore'
export { ChatSendError } from './chatCore'
export { CLIENT_ABANDON_CODE } from '@/composables/useReconnectingSocket'
export type { HeartbeatOptions, ReconnectOptions }
export type { AckFrame, ChatMessage, ErrorFrame, HelloFrame, MessageFrame, PresenceFrame, PresenceUser, ServerFrame } from '@/api/types'

export interface UseWebSocketOptions extends ChatCoreOptions, Omit<ReconnectingSocketOptions, 'baseUrl'> {
  /** Connect as soon as the composable is created. Default false (call `connect()`). */
  immediate?: boolean
  /**
   * No `ack` within this many ms → check the connection with a ping; if it
   * answers and the ack is still missing, the message is marked failed
   * (retryable). Default 10000.
   */
  ackTimeout?: number
  /** Messages on the wire without an ack, at most. Default 8. */
  maxInFlight?: number
  /**
   * The server's client-frame limit in bytes; larger sends go over REST.
   * Default: `max_frame_bytes` of `GET /api/config` when known, else 4096. A
   * close with 1009 (frame too large) lowers it automatically.
   */
  maxFrameBytes?: number
  /** Shares state with another transport (used by `useChat`). */
  core?: ChatCore
}

export interface UseWebSocketReturn extends ChatConnection {
  /** Consecutive failed attempts (reset after a stable connection). */
  reconnectAttempts: Readonly<Ref<number>>
  /** Sends a heartbeat ping now (no-op when not connected); no pong within `timeout` ms (default and maximum: `pongTimeout`) reconnects. */
  ping: (timeout?: number) => void
}

export function useWebSocket(token: MaybeRefOrGetter<string>, options: UseWebSocketOptions = {}): UseWebSocketReturn {
  const ownsCore = !options.core
  const core = options.core ?? createChatCore(token, options)
  /** The `after` cursor of the current connection attempt. */
  let requestedAfter = 0
  let resumed = false
  let reset = false

  const socket = useReconnectingSocket<ServerFrame>(
    token,
    options,
    { api: core.api, emit: core.emitTransport, link: core.link, onConfig: core.applyServerConfig },
    {
      prepare(url) {
        requestedAfter = core.lastId()
        if (requestedAfter > 0) url.searchParams.set('after', String(requestedAfter))
      },
      hello(frame) {
        resumed = core.lastId() > 0
        const changed = core.applyEpoch(String(frame.epoch))
        // The database was replaced: the stream we asked for (`after` an id of
        // the old one) may skip messages. Start over without a cursor.
        if (changed && requestedAfter > 0) return 'restart'
        // Our cursor is from another timeline (restored backup, rolled-back
        // database): the server ignored it and streams after last_id. Keep the
        // socket; drop the cache and reload the newest history.
        reset = frame.reset === true && !changed
        if (reset) core.resetCursor('websocket', frame.last_id)
        if (frame.user) core.currentUser.value = frame.user
        if (frame.online) core.setPresence(frame.online.count, frame.online.users)
        // Nothing cached: the live stream starts after last_id; history fills the rest.
        if (typeof frame.last_id === 'number' && core.messages.value.length === 0 && !changed) core.advanceCursor(frame.last_id)
        resumed = resumed && !changed && !reset
        return 'open'
      },
      opened(frame) {
        core.emit('hello', frame)
        core.emit('connected', { transport: 'websocket', resumed })
        if (core.messages.value.length === 0) void core.loadLatest().catch(() => {})
        else if (core.cacheNeedsCheck()) void core.loadLatest({ validate: true }).catch(() => {})
        sender.pump()
      },
      frame: handleFrame,
      pong: () => sender.onPong(),
      closed: (code) => sender.reset(code),
    },
  )

  const sender = useOutboxSender(
    core.outbox,
    socket,
    {
      ackTimeout: options.ackTimeout,
      maxInFlight: options.maxInFlight,
      frameLimit: () => options.maxFrameBytes ?? core.serverLimits.maxFrameBytes ?? 4096,
    },
    {
      frame(entry) {
        const frame: ClientFrame = { type: 'message', content: entry.content, client_id: entry.client_id }
        if (entry.room) frame.room = entry.room
        return frame
      },
      viaHttp: (entry) => core.sendViaHttp(entry),
    },
  )

  function handleFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'message': {
        const m = frame.message
        if (!m) break
        const me = core.currentUser.value
        if (m.client_id && me && m.user_id === me.id && core.findEntry(m.client_id)) {
          // Our own message came back before its ack.
          sender.settle(m.client_id)
          core.complete(m.client_id, m)
          sender.pump()
        } else {
          core.merge([m])
        }
        break
      }
      case 'ack':
        if (core.acknowledge(frame)) sender.settle(frame.client_id)
        sender.pump()
        break
      case 'presence':
        if (frame.users) core.setPresence(frame.count, frame.users)
        else core.applyPresenceChanges(frame.count, frame.joined ?? [], frame.left ?? [])
        core.emit('presence', frame)
        break
      case 'reset':
        // A `sync` with a cursor from another timeline: same as `hello.reset`.
        core.resetCursor('websocket', frame.last_id)
        void core.loadLatest().catch(() => {})
        break
      case 'error':
        core.emit('server-error', frame)
        sender.onError(frame)
        break
      default:
        break
    }
  }

  const offQueued = core.on('queued', () => sender.pump())
  disposeWithScope(core, ownsCore, socket.disconnect, offQueued)

  if (options.immediate) socket.connect()

  return {
    ...transportFields(core, socket.status, socket.explicitlyClosed),
    reconnectAttempts: readonly(socket.reconnectAttempts),
    connect: socket.connect,
    disconnect: socket.disconnect,
    reconnectNow: socket.reconnectNow,
    ping: socket.ping,
  }
}
