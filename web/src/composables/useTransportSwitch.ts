/**
 * `useTransportSwitch`: chooses between a WebSocket transport and a polling
 * transport that share one state, and exposes one connection status.
 *
 * - WebSocket by default; polling when the build says so
 *   (`VITE_USE_WEBSOCKET=false`, the seed's switch), when the browser has no
 *   WebSocket, or when `GET /api/config` answers `websocket: false`.
 * - Falls back to polling when WebSocket keeps failing while HTTP works (a
 *   proxy that does not pass upgrades), then probes WebSocket in the
 *   background (30 s, doubling up to 5 min) and switches back once a probe
 *   socket gets `hello`.
 */
import { computed, getCurrentScope, onScopeDispose, readonly, ref, toValue, type MaybeRefOrGetter, type Ref } from 'vue'
import { resolveWsUrl, type ApiClient } from '@/api/http'
import { SUBPROTOCOL, type ServerConfig } from '@/api/types'
import type { Listener } from '@/utils/emitter'
import type { ConnectionStatus, Transport, TransportEvents, TransportLink } from '@/utils/transport'

export type ChatMode = 'auto' | 'websocket' | 'polling'

/** Why the polling transport is in use. */
export type FallbackReason = 'build' | 'unsupported' | 'server' | 'failing'

export interface TransportSwitchOptions {
  /**
   * `auto` (default): WebSocket with polling fallback. `websocket`/`polling`
   * force one transport. Defaults to `polling` when the build sets
   * `VITE_USE_WEBSOCKET=false`.
   */
  mode?: ChatMode
  /** WebSocket failures (while HTTP works) before falling back to polling. Default 2. */
  fallbackAfter?: number
  /** First delay before probing WebSocket again while polling, in ms. Default 30000 (doubles up to `maxProbeInterval`). */
  probeInterval?: number
  /** Longest delay between probes, in ms. Default 300000. */
  maxProbeInterval?: number
  /** How long to wait for `GET /api/config` before choosing, in ms. Default 3000. */
  configTimeout?: number
  /** A probe socket that gets no `hello` within this many ms failed. Default 10000. */
  connectTimeout?: number
  baseUrl?: string
  /** WebSocket path. Default `api/chat/ws`. */
  path?: string
  WebSocket?: typeof WebSocket
}

/** What a transport offers the switch. */
export interface SwitchableTransport {
  status: Readonly<Ref<ConnectionStatus>>
  explicitlyClosed: Readonly<Ref<boolean>>
  connect: () => void
  disconnect: () => void
  reconnectNow: () => void
}

export interface TransportSwitchDeps {
  api: ApiClient
  link: TransportLink
  onConfig: (config: ServerConfig) => void
  on: <K extends keyof TransportEvents>(type: K, listener: Listener<TransportEvents[K]>) => () => void
  /** Adds the probe's query (e.g. `v=2`). */
  prepareProbe?: (url: URL) => void
}

/** The build-time switch of the seed: `VITE_USE_WEBSOCKET=false` builds a polling-only client. */
export function websocketEnabledByBuild(): boolean {
  return import.meta.env.VITE_USE_WEBSOCKET !== 'false'
}

export function useTransportSwitch(
  token: MaybeRefOrGetter<string>,
  options: TransportSwitchOptions,
  deps: TransportSwitchDeps,
  transports: { websocket: SwitchableTransport; polling: SwitchableTransport },
) {
  const mode: ChatMode = options.mode ?? (websocketEnabledByBuild() ? 'auto' : 'polling')
  const fallbackAfter = Math.max(options.fallbackAfter ?? 2, 1)
  const probeInterval = options.probeInterval ?? 30_000
  const maxProbeInterval = options.maxProbeInterval ?? 300_000
  const configTimeout = options.configTimeout ?? 3000
  const WS = (): typeof WebSocket | undefined => options.WebSocket ?? (globalThis.WebSocket as typeof WebSocket | undefined)
  const { websocket: ws, polling } = transports

  const transport = ref<Transport>(mode === 'polling' ? 'polling' : 'websocket')
  const fallbackReason = ref<FallbackReason | null>(mode === 'polling' && options.mode === undefined ? 'build' : null)
  const starting = ref(false)
  const explicitlyClosed = ref(false)
  const active = computed(() => (transport.value === 'websocket' ? ws : polling))

  let startSeq = 0
  let probeTimer: ReturnType<typeof setTimeout> | undefined
  let probeDelay = probeInterval
  let probing = false

  const status = computed<ConnectionStatus>(() => {
    if (starting.value) return deps.link.everConnected ? 'reconnecting' : 'connecting'
    return active.value.status.value
  })

  function usePollingTransport(reason: FallbackReason): void {
    ws.disconnect()
    transport.value = 'polling'
    fallbackReason.value = reason
    polling.connect()
    if (mode === 'auto' && reason !== 'unsupported') scheduleProbe()
  }

  function useWebSocketTransport(): void {
    clearProbe()
    polling.disconnect()
    transport.value = 'websocket'
    fallbackReason.value = null
    ws.connect()
  }

  async function connect(): Promise<void> {
    explicitlyClosed.value = false
    if (active.value.status.value === 'open' || active.value.status.value === 'connecting' || starting.value) return
    const seq = ++startSeq
    if (mode === 'polling') {
      usePollingTransport(fallbackReason.value ?? 'build')
      return
    }
    if (!WS()) {
      if (mode === 'auto') usePollingTransport('unsupported')
      return
    }
    if (mode === 'websocket') {
      useWebSocketTransport()
      return
    }
    // Runtime switch: the server may have WebSocket turned off.
    starting.value = true
    let disabled = false
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), configTimeout)
    try {
      const config = await deps.api.config(controller.signal)
      deps.onConfig(config)
      disabled = config.websocket === false
    } catch {
      // Unknown: try WebSocket; failures are diagnosed later.
    } finally {
      clearTimeout(timer)
      starting.value = false
    }
    if (seq !== startSeq || explicitlyClosed.value) return
    if (disabled) usePollingTransport('server')
    else useWebSocketTransport()
  }

  function disconnect(): void {
    explicitlyClosed.value = true
    startSeq++
    starting.value = false
    clearProbe()
    ws.disconnect()
    polling.disconnect()
  }

  const offFailed = deps.on('transport-failed', (info) => {
    if (mode !== 'auto' || transport.value !== 'websocket' || explicitlyClosed.value) return
    if (info.websocketDisabled) usePollingTransport('server')
    else if (info.httpReachable && info.consecutiveFailures >= fallbackAfter) usePollingTransport('failing')
  })

  const offUnauthorized = deps.on('unauthorized', () => {
    clearProbe()
    starting.value = false
  })

  function clearProbe(): void {
    if (probeTimer !== undefined) clearTimeout(probeTimer)
    probeTimer = undefined
  }

  function scheduleProbe(): void {
    clearProbe()
    probeTimer = setTimeout(() => {
      probeTimer = undefined
      void probe()
    }, probeDelay)
  }

  async function probe(): Promise<void> {
    if (transport.value !== 'polling' || explicitlyClosed.value || probing) return
    probing = true
    let ok = false
    try {
      const config = await deps.api.config()
      deps.onConfig(config)
      if (config.websocket !== false) ok = await tryWebSocket()
    } catch {
      ok = false
    } finally {
      probing = false
    }
    if (transport.value !== 'polling' || explicitlyClosed.value || polling.explicitlyClosed.value) return
    if (ok) {
      probeDelay = probeInterval
      useWebSocketTransport()
    } else {
      probeDelay = Math.min(probeDelay * 2, maxProbeInterval)
      scheduleProbe()
    }
  }

  /** Opens a throw-away WebSocket and resolves true if the server says hello. */
  function tryWebSocket(): Promise<boolean> {
    const Impl = WS()
    const tokenValue = toValue(token)
    if (!Impl || !tokenValue) return Promise.resolve(false)
    return new Promise((resolve) => {
      let socket: WebSocket
      try {
        const url = resolveWsUrl(options.path ?? 'api/chat/ws', options.baseUrl)
        deps.prepareProbe?.(url)
        socket = new Impl(url.toString(), [SUBPROTOCOL, 'bearer.' + tokenValue])
      } catch {
        resolve(false)
        return
      }
      const timer = setTimeout(() => finish(false), options.connectTimeout ?? 10_000)
      function finish(ok: boolean): void {
        clearTimeout(timer)
        socket.onmessage = socket.onclose = socket.onerror = null
        try {
          socket.close(1000, 'probe')
        } catch {
          // ignore
        }
        resolve(ok)
      }
      socket.onmessage = (event: MessageEvent) => {
        try {
          if (typeof event.data === 'string' && (JSON.parse(event.data) as { type?: string }).type === 'hello') finish(true)
        } catch {
          // not JSON: keep waiting
        }
      }
      socket.onclose = () => finish(false)
      socket.onerror = () => {}
    })
  }

  function reconnectNow(): void {
    if (starting.value) return
    active.value.reconnectNow()
  }

  if (getCurrentScope()) {
    onScopeDispose(() => {
      disconnect()
      offFailed()
      offUnauthorized()
    })
  }

  return {
    status,
    isConnected: computed(() => status.value === 'open'),
    isReconnecting: computed(() => status.value === 'reconnecting'),
    explicitlyClosed: readonly(explicitlyClosed),
    transport: readonly(transport),
    fallbackReason: readonly(fallbackReason),
    /** The transport in use (send through it). */
    active,
    connect: () => void connect(),
    disconnect,
    reconnectNow,
  }
}
