/**
 * `useWebSocket(token)`: the real-time chat connection of the seed's
 * component API, made robust.
 *
 * ```ts
 * const { connect, disconnect, sendMessage, messages, onlineCount, isConnected, isReconnecting } =
 *   useWebSocket(localStorage.getItem('auth_token') || '')
 * onMounted(() => connect())
 * ```
 *
 * - Auth: `new WebSocket(url, ['hearth.v1', 'bearer.' + token])`; the token never goes in the URL.
 * - Reconnects with exponential backoff and jitter; listens to `online`,
 *   `offline` and `visibilitychange`; never retries after close 4001 (emits
 *   `unauthorized`), and stops on `disconnect()` (`explicitlyClosed`).
 * - App heartbeat: `{"type":"ping"}` every 25 s; no `pong` within 10 s means the
 *   connection is dead, so it reconnects.
 * - Outbox: `sendMessage` queues (persisted in localStorage) and never throws
 *   for being offline; messages are flushed in order with their `client_id` on
 *   each (re)connect, so a resend is never stored twice.
 * - Resume: each reconnect asks for `?after=<last id>` and merges by id; a
 *   changed `hello.epoch` drops the cache.
 */
import { readonly, ref, toValue, type MaybeRefOrGetter, type Ref } from 'vue'
import { ApiError, resolveWsUrl } from '@/api/http'
import { CloseCode, SUBPROTOCOL, type ClientFrame, type ServerFrame } from '@/api/types'
import { backoffDelay, type BackoffOptions } from './backoff'
import {
  createChatCore,
  disposeWithScope,
  transportFields,
  describeServerError,
  isBrowserOffline,
  watchBrowser,
  type ChatConnection,
  type ChatCore,
  type ChatCoreOptions,
  type ConnectionStatus,
  type OutgoingMessage,
} from './chatCore'
import { utf8Length } from './content'

export type {
  ChatConnection,
  ChatEvents,
  ConnectionStatus,
  OutgoingMessage,
  Transport,
} from './chatCore'
export { ChatSendError } from './chatCore'
export type {
  AckFrame,
  ChatMessage,
  ErrorFrame,
  HelloFrame,
  MessageFrame,
  PresenceFrame,
  PresenceUser,
  ServerFrame,
} from '@/api/types'

/** Client close code used when the client abandons a dead or stuck socket. */
export const CLIENT_ABANDON_CODE = 4000

export interface HeartbeatOptions {
  /** Interval between app-level pings, in ms. Default 25000. */
  interval?: number
  /** A `pong` missing for this long (ms) means the connection is dead. Default 10000. */
  pongTimeout?: number
}

export interface ReconnectOptions extends BackoffOptions {
  /** Give up after this many consecutive failed attempts. Default Infinity. */
  retries?: number
  /**
   * A connection that lived at least this long (ms) resets the backoff;
   * shorter ones keep it growing, so a crash loop does not spin. Default 5000.
   */
  stableAfter?: number
  /** Minimum pause after close 4029 (rate-limit abuse), in ms. Default 10000. */
  abusePause?: number
}

export interface UseWebSocketOptions extends ChatCoreOptions {
  /** Connect as soon as the composable is created. Default false (call `connect()`). */
  immediate?: boolean
  /** Reconnect automatically; `false` disables it. Default true with the defaults of `ReconnectOptions`. */
  autoReconnect?: boolean | ReconnectOptions
  /** App-level heartbeat; `false` disables it. Default `{ interval: 25000, pongTimeout: 10000 }`. */
  heartbeat?: boolean | HeartbeatOptions
  /** No `hello` within this many ms after starting a connection → retry. Default 10000. */
  connectTimeout?: number
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
  /** WebSocket path, relative to the base URL. Default `api/chat/ws`. */
  path?: string
  /**
   * After a connection fails before `hello`, ask `GET /api/auth/me` whether
   * the token is still valid (browsers cannot see the HTTP 401 of a refused
   * upgrade). Default true.
   */
  verifyAuthOnFailure?: boolean
  /** Shares state with another transport (used by `useChat`). */
  core?: ChatCore
  /** WebSocket implementation. Default `globalThis.WebSocket`. */
  WebSocket?: typeof WebSocket
}

export interface UseWebSocketReturn extends ChatConnection {
  /** Consecutive failed attempts (reset after a stable connection). */
  reconnectAttempts: Readonly<Ref<number>>
  /** Sends a heartbeat ping now (no-op when not connected); no pong within `timeout` ms (default and maximum: `pongTimeout`) reconnects. */
  ping: (timeout?: number) => void
}

const HEARTBEAT_DEFAULTS: Required<HeartbeatOptions> = { interval: 25_000, pongTimeout: 10_000 }
/** Pong timeout (ms) of the checks the browser triggers (tab shown again, network change). */
const QUICK_CHECK = 4000

export function useWebSocket(token: MaybeRefOrGetter<string>, options: UseWebSocketOptions = {}): UseWebSocketReturn {
  const ownsCore = !options.core
  const core = options.core ?? createChatCore(token, options)
  const path = options.path ?? 'api/chat/ws'
  const connectTimeout = options.connectTimeout ?? 10_000
  const ackTimeout = options.ackTimeout ?? 10_000
  const maxInFlight = Math.max(options.maxInFlight ?? 8, 1)
  /** Lowered when the server closes with 1009 although we respected the limit. */
  let learnedFrameLimit = Infinity
  const frameLimit = () => Math.min(options.maxFrameBytes ?? core.serverLimits.maxFrameBytes ?? 4096, learnedFrameLimit)
  /** UTF-8 size of each in-flight frame, by client_id. */
  const inFlightBytes = new Map<string, number>()
  const verifyAuth = options.verifyAuthOnFailure ?? true
  const reconnect: ReconnectOptions | null =
    options.autoReconnect === false ? null : options.autoReconnect === true || !options.autoReconnect ? {} : options.autoReconnect
  const heartbeat: Required<HeartbeatOptions> | null =
    options.heartbeat === false
      ? null
      : { ...HEARTBEAT_DEFAULTS, ...(typeof options.heartbeat === 'object' ? options.heartbeat : {}) }

  const status = ref<ConnectionStatus>('idle')
  const explicitlyClosed = ref(false)
  const reconnectAttempts = ref(0)

  let socket: WebSocket | undefined
  let helloReceived = false
  let openedAt = 0
  let consecutiveFailures = 0
  let stoppedForAuth = false
  let diagnosing = false
  let pausedUntil = 0
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined
  let connectTimer: ReturnType<typeof setTimeout> | undefined
  let pingTimer: ReturnType<typeof setInterval> | undefined
  let pongTimer: ReturnType<typeof setTimeout> | undefined
  let pumpTimer: ReturnType<typeof setTimeout> | undefined
  const ackTimers = new Map<string, ReturnType<typeof setTimeout>>()
  /** Entries whose ack is overdue: failed if the next pong arrives first. */
  const overdue = new Set<string>()
  let httpSending = false
  /** The `after` cursor of the current connection attempt. */
  let requestedAfter = 0
  /** Reconnect without waiting (the server's database was replaced). */
  let immediateRetry = false
  let unwatchBrowser: (() => void) | undefined

  const Impl = (): typeof WebSocket | undefined => options.WebSocket ?? (globalThis.WebSocket as typeof WebSocket | undefined)

  // ---- helpers ----------------------------------------------------------------

  function clearTimer(timer: ReturnType<typeof setTimeout> | undefined): undefined {
    if (timer !== undefined) clearTimeout(timer)
    return undefined
  }

  function stopHeartbeat(): void {
    if (pingTimer !== undefined) clearInterval(pingTimer)
    pingTimer = undefined
    pongTimer = clearTimer(pongTimer)
  }

  function clearAckTimers(): void {
    for (const t of ackTimers.values()) clearTimeout(t)
    ackTimers.clear()
    overdue.clear()
    inFlightBytes.clear()
  }

  function send(frame: ClientFrame): boolean {
    if (!socket || socket.readyState !== 1) return false
    try {
      socket.send(JSON.stringify(frame))
      return true
    } catch {
      return false
    }
  }

  function installBrowserWatch(): void {
    if (unwatchBrowser) return
    unwatchBrowser = watchBrowser({
      online: () => {
        if (status.value === 'open') ping(QUICK_CHECK)
        else reconnectNow()
      },
      // `offline` can be wrong (a LAN or loopback server may still answer):
      // verify with a ping instead of dropping a working connection.
      offline: () => {
        if (status.value === 'open') ping(QUICK_CHECK)
      },
      visible: () => {
        if (status.value === 'open') ping(QUICK_CHECK)
        else reconnectNow()
      },
    })
  }

  // ---- connection lifecycle -----------------------------------------------------

  function openSocket(): void {
    reconnectTimer = clearTimer(reconnectTimer)
    if (explicitlyClosed.value || socket) return
    const tokenValue = toValue(token) ?? ''
    if (!tokenValue) {
      stopForAuth('missing token')
      return
    }
    const WS = Impl()
    if (!WS) {
      status.value = 'closed'
      core.emit('transport-failed', { consecutiveFailures: ++consecutiveFailures, httpReachable: true, websocketDisabled: true })
      return
    }
    const url = resolveWsUrl(path, options.baseUrl)
    const after = core.lastId()
    if (after > 0) url.searchParams.set('after', String(after))
    requestedAfter = after

    status.value = core.everConnected || consecutiveFailures > 0 ? 'reconnecting' : 'connecting'
    helloReceived = false
    let ws: WebSocket
    try {
      ws = new WS(url.toString(), [SUBPROTOCOL, 'bearer.' + tokenValue])
    } catch {
      consecutiveFailures++
      scheduleReconnect()
      return
    }
    socket = ws
    connectTimer = setTimeout(() => {
      if (socket === ws && !helloReceived) abandon(ws, 'connect timeout')
    }, connectTimeout)
    ws.onmessage = (event: MessageEvent) => {
      if (socket === ws) handleFrame(event.data)
    }
    ws.onclose = (event: CloseEvent) => {
      if (socket === ws) handleGone(event.code, event.reason)
    }
    // An `error` is always followed by `close`, which does the work.
    ws.onerror = () => {}
  }

  /** Drops a socket that is dead or stuck without waiting for its close handshake. */
  function abandon(ws: WebSocket, reason: string): void {
    ws.onmessage = null
    ws.onclose = null
    ws.onerror = null
    try {
      ws.close(CLIENT_ABANDON_CODE, reason)
    } catch {
      // ignore
    }
    if (socket === ws) handleGone(CLIENT_ABANDON_CODE, reason)
  }

  /** The current socket is gone (closed by either side, or abandoned). */
  function handleGone(code: number, reason: string): void {
    const wasOpen = helloReceived
    socket = undefined
    helloReceived = false
    connectTimer = clearTimer(connectTimer)
    pumpTimer = clearTimer(pumpTimer)
    stopHeartbeat()
    if (code === CloseCode.TooLarge && inFlightBytes.size > 0) {
      // The server's limit is lower than we thought: send frames this big over REST from now on.
      const largest = Math.max(...inFlightBytes.values())
      learnedFrameLimit = Math.max(Math.min(learnedFrameLimit, largest - 1), 256)
    }
    clearAckTimers()
    core.requeueSending()

    if (wasOpen) {
      if (Date.now() - openedAt >= (reconnect?.stableAfter ?? 5000)) reconnectAttempts.value = 0
    } else {
      consecutiveFailures++
    }

    if (explicitlyClosed.value) {
      status.value = 'closed'
      return
    }
    if (code === CloseCode.Unauthorized) {
      stopForAuth(reason || 'token invalid or expired')
      return
    }
    core.emit('disconnected', { transport: 'websocket', code, reason, willRetry: !!reconnect })
    if (!wasOpen) diagnose()
    scheduleReconnect(code)
  }

  function scheduleReconnect(code?: number): void {
    reconnectTimer = clearTimer(reconnectTimer)
    if (explicitlyClosed.value) return
    if (!reconnect || reconnectAttempts.value >= (reconnect.retries ?? Infinity)) {
      status.value = 'closed'
      return
    }
    if (immediateRetry) {
      immediateRetry = false
      status.value = 'reconnecting'
      reconnectTimer = setTimeout(openSocket, 0)
      return
    }
    const attempt = reconnectAttempts.value++
    let delay = backoffDelay(attempt, reconnect)
    if (code === CloseCode.Abuse) delay = Math.max(delay, reconnect.abusePause ?? 10_000)
    // While the browser says it is offline, wait at the cap; the `online`
    // event retries at once.
    if (isBrowserOffline()) delay = Math.max(delay, backoffDelay(30, reconnect))
    status.value = 'reconnecting'
    core.emit('reconnecting', { transport: 'websocket', attempt: attempt + 1, delay })
    reconnectTimer = setTimeout(openSocket, delay)
  }

  function stopForAuth(reason: string): void {
    stoppedForAuth = true
    reconnectTimer = clearTimer(reconnectTimer)
    if (socket) {
      const ws = socket
      socket = undefined
      ws.onmessage = ws.onclose = ws.onerror = null
      try {
        ws.close(1000)
      } catch {
        // ignore
      }
    }
    stopHeartbeat()
    clearAckTimers()
    status.value = 'closed'
    core.emit('unauthorized', { reason })
  }

  /**
   * A connection failed before `hello`. A browser cannot tell an HTTP 401 on
   * the upgrade from a network failure, so ask the REST API.
   */
  function diagnose(): void {
    if (!verifyAuth || diagnosing) return
    diagnosing = true
    const failures = consecutiveFailures
    void (async () => {
      try {
        await core.api.me()
        let disabled = false
        try {
          const config = await core.api.config()
          core.applyServerConfig(config)
          disabled = config.websocket === false
        } catch {
          // config is optional
        }
        if (!explicitlyClosed.value && !stoppedForAuth) {
          core.emit('transport-failed', { consecutiveFailures: failures, httpReachable: true, websocketDisabled: disabled })
        }
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          if (!explicitlyClosed.value) stopForAuth('token rejected')
        } else if (!explicitlyClosed.value && !stoppedForAuth) {
          core.emit('transport-failed', { consecutiveFailures: failures, httpReachable: false, websocketDisabled: false })
        }
      } finally {
        diagnosing = false
      }
    })()
  }

  // ---- frames -------------------------------------------------------------------

  function handleFrame(data: unknown): void {
    if (typeof data !== 'string') return
    let frame: ServerFrame
    try {
      frame = JSON.parse(data) as ServerFrame
    } catch {
      return
    }
    if (!frame || typeof frame !== 'object') return
    switch (frame.type) {
      case 'hello': {
        connectTimer = clearTimer(connectTimer)
        const resumed = core.lastId() > 0
        helloReceived = true
        openedAt = Date.now()
        consecutiveFailures = 0
        const changed = core.applyEpoch(String(frame.epoch))
        if (changed && requestedAfter > 0) {
          // The database was replaced: the stream we asked for (`after` an id
          // of the old one) may skip messages. Start over without a cursor.
          immediateRetry = true
          abandon(socket!, 'epoch changed')
          return
        }
        // Our cursor is from another timeline (restored backup, rolled-back
        // database): the server ignored it and streams after last_id. Keep the
        // socket; drop the cache and reload the newest history below.
        const reset = frame.reset === true && !changed
        if (reset) core.resetCursor('websocket', frame.last_id)
        if (frame.user) core.currentUser.value = frame.user
        if (frame.online) core.setPresence(frame.online.count, frame.online.users)
        if (typeof frame.last_id === 'number' && core.messages.value.length === 0 && !changed) {
          // Nothing cached: the live stream starts after last_id; history fills the rest.
          core.advanceCursor(frame.last_id)
        }
        status.value = 'open'
        core.everConnected = true
        startHeartbeat()
        core.emit('hello', frame)
        core.emit('connected', { transport: 'websocket', resumed: resumed && !changed && !reset })
        if (core.messages.value.length === 0) void core.loadLatest().catch(() => {})
        else if (core.cacheNeedsCheck()) void core.loadLatest({ validate: true }).catch(() => {})
        pump()
        break
      }
      case 'message': {
        const m = frame.message
        if (!m) break
        const me = core.currentUser.value
        if (m.client_id && me && m.user_id === me.id && core.findEntry(m.client_id)) {
          // Our own message came back before its ack.
          settle(m.client_id)
          core.complete(m.client_id, m)
          pump()
        } else {
          core.merge([m])
        }
        break
      }
      case 'ack': {
        if (core.acknowledge(frame)) settle(frame.client_id)
        pump()
        break
      }
      case 'presence': {
        if (frame.users) core.setPresence(frame.count, frame.users)
        else core.applyPresenceChanges(frame.count, frame.joined ?? [], frame.left ?? [])
        core.emit('presence', frame)
        break
      }
      case 'pong': {
        pongTimer = clearTimer(pongTimer)
        for (const clientId of overdue) {
          const entry = core.findEntry(clientId)
          if (entry?.state === 'sending') {
            settle(clientId)
            core.markFailed(clientId, '服务器未确认，请重试')
          }
        }
        overdue.clear()
        pump()
        break
      }
      case 'reset': {
        // A `sync` with a cursor from another timeline: same as `hello.reset`.
        core.resetCursor('websocket', frame.last_id)
        void core.loadLatest().catch(() => {})
        break
      }
      case 'error': {
        handleErrorFrame(frame)
        break
      }
      default:
        break
    }
  }

  function handleErrorFrame(frame: Extract<ServerFrame, { type: 'error' }>): void {
    core.emit('server-error', frame)
    const clientId = frame.client_id
    if (!clientId || !core.findEntry(clientId)) return
    settle(clientId)
    switch (frame.code) {
      case 'rate_limited':
        core.markPending(clientId)
        pausedUntil = Date.now() + Math.max(frame.retry_after_ms ?? 1000, 100)
        break
      case 'internal':
        core.markPending(clientId)
        pausedUntil = Date.now() + 1000
        break
      default:
        core.markFailed(clientId, describeServerError(frame.code, frame.message))
    }
    pump()
  }

  /** Stops tracking an in-flight entry's ack. */
  function settle(clientId: string): void {
    const t = ackTimers.get(clientId)
    if (t !== undefined) clearTimeout(t)
    ackTimers.delete(clientId)
    overdue.delete(clientId)
    inFlightBytes.delete(clientId)
  }

  // ---- heartbeat ----------------------------------------------------------------

  function startHeartbeat(): void {
    stopHeartbeat()
    if (!heartbeat) return
    pingTimer = setInterval(() => ping(), heartbeat.interval)
  }

  /**
   * Sends an app-level ping; no pong within `timeout` ms drops the connection.
   * Checks triggered by the browser (tab shown again, network back) use a
   * shorter timeout so a connection that died while asleep is replaced fast.
   */
  function ping(timeout?: number): void {
    if (!heartbeat || status.value !== 'open' || !socket || pongTimer !== undefined) return
    const ws = socket
    if (!send({ type: 'ping' })) return
    pongTimer = setTimeout(
      () => {
        pongTimer = undefined
        if (socket === ws) abandon(ws, 'heartbeat timeout')
      },
      Math.min(timeout ?? heartbeat.pongTimeout, heartbeat.pongTimeout),
    )
  }


  // ---- outbox -------------------------------------------------------------------

  /** Sends queued messages in order, at most `maxInFlight` without an ack. */
  function pump(): void {
    if (status.value !== 'open' || !socket || httpSending) return
    const now = Date.now()
    if (now < pausedUntil) {
      if (pumpTimer === undefined) {
        pumpTimer = setTimeout(() => {
          pumpTimer = undefined
          pump()
        }, pausedUntil - now)
      }
      return
    }
    let inFlight = core.pending.value.filter((e) => e.state === 'sending').length
    for (const entry of core.pending.value) {
      if (inFlight >= maxInFlight) break
      if (entry.state !== 'pending') continue
      const frame: ClientFrame = { type: 'message', content: entry.content, client_id: entry.client_id }
      if (entry.room) frame.room = entry.room
      const text = JSON.stringify(frame)
      const bytes = utf8Length(text)
      if (bytes > frameLimit()) {
        // Too big for one frame (e.g. 2000 CJK characters): send over REST,
        // in order, once everything before it is acknowledged.
        if (inFlight === 0) sendOversized(entry)
        break
      }
      try {
        socket.send(text)
      } catch {
        break
      }
      core.markSending(entry)
      inFlight++
      watchAck(entry)
      inFlightBytes.set(entry.client_id, bytes)
    }
  }

  function watchAck(entry: OutgoingMessage): void {
    settle(entry.client_id)
    ackTimers.set(
      entry.client_id,
      setTimeout(() => {
        ackTimers.delete(entry.client_id)
        if (core.findEntry(entry.client_id)?.state !== 'sending') return
        overdue.add(entry.client_id)
        ping()
      }, ackTimeout),
    )
  }

  function sendOversized(entry: OutgoingMessage): void {
    httpSending = true
    void core.sendViaHttp(entry).then((result) => {
      httpSending = false
      if (result === 'unauthorized') stopForAuth('token rejected')
      else if (result === 'retry') pausedUntil = Date.now() + Math.max(core.takeRetryAfter(), 2000)
      pump()
    })
  }

  const offQueued = core.on('queued', () => pump())

  // ---- public API -----------------------------------------------------------------

  function connect(): void {
    explicitlyClosed.value = false
    stoppedForAuth = false
    installBrowserWatch()
    if (socket) return
    openSocket()
  }

  function disconnect(): void {
    explicitlyClosed.value = true
    reconnectTimer = clearTimer(reconnectTimer)
    connectTimer = clearTimer(connectTimer)
    pumpTimer = clearTimer(pumpTimer)
    stopHeartbeat()
    clearAckTimers()
    if (socket) {
      const ws = socket
      socket = undefined
      helloReceived = false
      ws.onmessage = ws.onclose = ws.onerror = null
      try {
        ws.close(CloseCode.Normal, 'bye')
      } catch {
        // ignore
      }
    }
    core.requeueSending()
    unwatchBrowser?.()
    unwatchBrowser = undefined
    status.value = 'closed'
  }

  function reconnectNow(): void {
    if (explicitlyClosed.value || stoppedForAuth || socket) return
    reconnectAttempts.value = 0
    openSocket()
  }

  disposeWithScope(core, ownsCore, disconnect, offQueued)

  if (options.immediate) connect()

  return {
    ...transportFields(core, status, explicitlyClosed),
    reconnectAttempts: readonly(reconnectAttempts),
    connect,
    disconnect,
    reconnectNow,
    ping,
  }
}
