/**
 * `useReconnectingSocket`: one authenticated WebSocket to `api/chat/ws` that
 * stays up. It knows the connection, not the protocol: the caller's hooks
 * add the cursor to the URL and handle `hello` and every other frame.
 *
 * - Auth: `new WebSocket(url, ['hearth.v1', 'bearer.' + token])`; the token never goes in the URL.
 * - Reconnects with exponential backoff and jitter; a connection that lived
 *   `stableAfter` ms resets it; close 4029 waits at least `abusePause`.
 * - Never retries after close 4001, or after `GET /api/auth/me` says 401 for
 *   an upgrade that failed (browsers cannot see the HTTP status of a refused
 *   upgrade); emits `unauthorized`.
 * - App heartbeat: `{"type":"ping"}` every 25 s; no `pong` within 10 s drops
 *   the connection. The tab becoming visible or the network coming back
 *   triggers a quick check (or an immediate retry).
 */
import { ref, toValue, type MaybeRefOrGetter, type Ref } from 'vue'
import { ApiError, resolveWsUrl, type ApiClient } from '@/api/http'
import { CloseCode, SUBPROTOCOL, type HelloFrame, type ServerConfig } from '@/api/types'
import { backoffDelay, type BackoffOptions } from '@/utils/backoff'
import { isBrowserOffline, watchBrowser, type ConnectionStatus, type Emit, type TransportEvents, type TransportLink } from '@/utils/transport'

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

export interface ReconnectingSocketOptions {
  /** Base URL the path is resolved against. Default: the page's base URI. */
  baseUrl?: string
  /** WebSocket path, relative to the base URL. Default `api/chat/ws`. */
  path?: string
  /** Reconnect automatically; `false` disables it. Default true with the defaults of `ReconnectOptions`. */
  autoReconnect?: boolean | ReconnectOptions
  /** App-level heartbeat; `false` disables it. Default `{ interval: 25000, pongTimeout: 10000 }`. */
  heartbeat?: boolean | HeartbeatOptions
  /** No `hello` within this many ms after starting a connection → retry. Default 10000. */
  connectTimeout?: number
  /** After a connection fails before `hello`, ask `GET /api/auth/me` whether the token is still valid. Default true. */
  verifyAuthOnFailure?: boolean
  /** WebSocket implementation. Default `globalThis.WebSocket`. */
  WebSocket?: typeof WebSocket
}

/** What the protocol layer plugs in. */
export interface SocketHooks<F> {
  /** Adds this attempt's query (cursor, stream version) to the URL. */
  prepare: (url: URL) => void
  /** `hello` arrived: apply it. `restart` drops this socket and reconnects at once (e.g. the database changed). */
  hello: (frame: HelloFrame) => 'open' | 'restart'
  /** The connection now counts as open (status `open`, heartbeat running). */
  opened: (frame: HelloFrame) => void
  /** Every frame but `hello` and `pong`. */
  frame: (frame: F) => void
  /** A `pong` arrived. */
  pong?: () => void
  /** The socket is gone or was closed by us (`code`): forget what was in flight. */
  closed?: (code: number) => void
}

export interface SocketDeps {
  api: ApiClient
  emit: Emit<TransportEvents>
  link: TransportLink
  /** `GET /api/config` was read while diagnosing a failure. */
  onConfig?: (config: ServerConfig) => void
}

const HEARTBEAT_DEFAULTS: Required<HeartbeatOptions> = { interval: 25_000, pongTimeout: 10_000 }
/** Pong timeout (ms) of the checks the browser triggers (tab shown again, network change). */
const QUICK_CHECK = 4000

export function useReconnectingSocket<F extends { type: string }>(
  token: MaybeRefOrGetter<string>,
  options: ReconnectingSocketOptions,
  deps: SocketDeps,
  hooks: SocketHooks<F>,
) {
  const path = options.path ?? 'api/chat/ws'
  const connectTimeout = options.connectTimeout ?? 10_000
  const verifyAuth = options.verifyAuthOnFailure ?? true
  const reconnect: ReconnectOptions | null =
    options.autoReconnect === false ? null : options.autoReconnect === true || !options.autoReconnect ? {} : options.autoReconnect
  const heartbeat: Required<HeartbeatOptions> | null =
    options.heartbeat === false ? null : { ...HEARTBEAT_DEFAULTS, ...(typeof options.heartbeat === 'object' ? options.heartbeat : {}) }
  const { emit, link } = deps

  const status: Ref<ConnectionStatus> = ref('idle')
  const explicitlyClosed = ref(false)
  const reconnectAttempts = ref(0)

  let socket: WebSocket | undefined
  let helloReceived = false
  let openedAt = 0
  let consecutiveFailures = 0
  let stoppedForAuth = false
  let diagnosing = false
  /** Reconnect without waiting (the protocol layer asked for a restart). */
  let immediateRetry = false
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined
  let connectTimer: ReturnType<typeof setTimeout> | undefined
  let pingTimer: ReturnType<typeof setInterval> | undefined
  let pongTimer: ReturnType<typeof setTimeout> | undefined
  let unwatchBrowser: (() => void) | undefined

  const Impl = (): typeof WebSocket | undefined => options.WebSocket ?? (globalThis.WebSocket as typeof WebSocket | undefined)

  function clearTimer(timer: ReturnType<typeof setTimeout> | undefined): undefined {
    if (timer !== undefined) clearTimeout(timer)
    return undefined
  }

  function stopHeartbeat(): void {
    if (pingTimer !== undefined) clearInterval(pingTimer)
    pingTimer = undefined
    pongTimer = clearTimer(pongTimer)
  }

  /** Sends a text frame; false when there is no open socket or the send threw. */
  function sendText(text: string): boolean {
    if (!socket || socket.readyState !== 1) return false
    try {
      socket.send(text)
      return true
    } catch {
      return false
    }
  }

  function installBrowserWatch(): void {
    if (unwatchBrowser) return
    unwatchBrowser = watchBrowser({
      online: () => (status.value === 'open' ? ping(QUICK_CHECK) : reconnectNow()),
      // `offline` can be wrong (a LAN or loopback server may still answer):
      // verify with a ping instead of dropping a working connection.
      offline: () => {
        if (status.value === 'open') ping(QUICK_CHECK)
      },
      visible: () => (status.value === 'open' ? ping(QUICK_CHECK) : reconnectNow()),
    })
  }

  // ---- lifecycle ------------------------------------------------------------------

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
      emit('transport-failed', { consecutiveFailures: ++consecutiveFailures, httpReachable: true, websocketDisabled: true })
      return
    }
    const url = resolveWsUrl(path, options.baseUrl)
    hooks.prepare(url)
    status.value = link.everConnected || consecutiveFailures > 0 ? 'reconnecting' : 'connecting'
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
    ws.onmessage = ws.onclose = ws.onerror = null
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
    stopHeartbeat()
    hooks.closed?.(code)
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
    emit('disconnected', { transport: 'websocket', code, reason, willRetry: !!reconnect })
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
    status.value = 'reconnecting'
    if (immediateRetry) {
      immediateRetry = false
      reconnectTimer = setTimeout(openSocket, 0)
      return
    }
    const attempt = reconnectAttempts.value++
    let delay = backoffDelay(attempt, reconnect)
    if (code === CloseCode.Abuse) delay = Math.max(delay, reconnect.abusePause ?? 10_000)
    // While the browser says it is offline, wait at the cap; `online` retries at once.
    if (isBrowserOffline()) delay = Math.max(delay, backoffDelay(30, reconnect))
    emit('reconnecting', { transport: 'websocket', attempt: attempt + 1, delay })
    reconnectTimer = setTimeout(openSocket, delay)
  }

  /** The token is no good: close, stop retrying, tell the app. */
  function stopForAuth(reason: string): void {
    stoppedForAuth = true
    reconnectTimer = clearTimer(reconnectTimer)
    connectTimer = clearTimer(connectTimer)
    if (socket) {
      const ws = socket
      socket = undefined
      ws.onmessage = ws.onclose = ws.onerror = null
      try {
        ws.close(CloseCode.Normal)
      } catch {
        // ignore
      }
    }
    stopHeartbeat()
    hooks.closed?.(CloseCode.Normal)
    status.value = 'closed'
    emit('unauthorized', { reason })
  }

  /** A connection failed before `hello`: an expired token, a disabled endpoint, or the network? */
  function diagnose(): void {
    if (!verifyAuth || diagnosing) return
    diagnosing = true
    const failures = consecutiveFailures
    const stillWanted = () => !explicitlyClosed.value && !stoppedForAuth
    void (async () => {
      try {
        await deps.api.me()
        let disabled = false
        try {
          const config = await deps.api.config()
          deps.onConfig?.(config)
          disabled = config.websocket === false
        } catch {
          // config is optional
        }
        if (stillWanted()) emit('transport-failed', { consecutiveFailures: failures, httpReachable: true, websocketDisabled: disabled })
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          if (!explicitlyClosed.value) stopForAuth('token rejected')
        } else if (stillWanted()) {
          emit('transport-failed', { consecutiveFailures: failures, httpReachable: false, websocketDisabled: false })
        }
      } finally {
        diagnosing = false
      }
    })()
  }

  function handleFrame(data: unknown): void {
    if (typeof data !== 'string') return
    let frame: unknown
    try {
      frame = JSON.parse(data)
    } catch {
      return
    }
    if (!frame || typeof frame !== 'object' || typeof (frame as { type?: unknown }).type !== 'string') return
    const typed = frame as F
    if (typed.type === 'hello') {
      const hello = frame as HelloFrame
      connectTimer = clearTimer(connectTimer)
      helloReceived = true
      openedAt = Date.now()
      consecutiveFailures = 0
      if (hooks.hello(hello) === 'restart') {
        immediateRetry = true
        if (socket) abandon(socket, 'restart')
        return
      }
      status.value = 'open'
      link.everConnected = true
      startHeartbeat()
      hooks.opened(hello)
    } else if (typed.type === 'pong') {
      pongTimer = clearTimer(pongTimer)
      hooks.pong?.()
    } else {
      hooks.frame(typed)
    }
  }

  // ---- heartbeat ----------------------------------------------------------------

  function startHeartbeat(): void {
    stopHeartbeat()
    if (!heartbeat) return
    pingTimer = setInterval(() => ping(), heartbeat.interval)
  }

  /**
   * Sends an app-level ping; no pong within `timeout` ms (default and maximum:
   * `pongTimeout`) drops the connection. Browser-triggered checks use a
   * shorter timeout so a connection that died while asleep is replaced fast.
   */
  function ping(timeout?: number): void {
    if (!heartbeat || status.value !== 'open' || !socket || pongTimer !== undefined) return
    const ws = socket
    if (!sendText(JSON.stringify({ type: 'ping' }))) return
    pongTimer = setTimeout(
      () => {
        pongTimer = undefined
        if (socket === ws) abandon(ws, 'heartbeat timeout')
      },
      Math.min(timeout ?? heartbeat.pongTimeout, heartbeat.pongTimeout),
    )
  }

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
    stopHeartbeat()
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
    hooks.closed?.(CloseCode.Normal)
    unwatchBrowser?.()
    unwatchBrowser = undefined
    status.value = 'closed'
  }

  /** Retries at once when waiting for a reconnect (resets the backoff). */
  function reconnectNow(): void {
    if (explicitlyClosed.value || stoppedForAuth || socket) return
    reconnectAttempts.value = 0
    openSocket()
  }

  return {
    status,
    explicitlyClosed,
    reconnectAttempts,
    connect,
    disconnect,
    reconnectNow,
    ping,
    sendText,
    send: (frame: object) => sendText(JSON.stringify(frame)),
    /** True once `hello` arrived on the current socket. */
    isOpen: () => status.value === 'open' && socket !== undefined,
    stopForAuth,
  }
}

export type ReconnectingSocket = ReturnType<typeof useReconnectingSocket>
