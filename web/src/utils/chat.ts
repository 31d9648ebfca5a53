/**
 * `useChat(token)`: the lobby client with the transport chosen for you
 * (`useTransportSwitch`): WebSocket (`useWebSocket`) with a polling fallback
 * (`usePolling`) and background probing. Both share one core (messages,
 * cursor, outbox, presence), so a switch loses and duplicates nothing.
 */
import { getCurrentScope, onScopeDispose, type MaybeRefOrGetter, type Ref } from 'vue'
import { useTransportSwitch, type FallbackReason, type TransportSwitchOptions } from '@/composables/useTransportSwitch'
import { createChatCore, type ChatConnection, type Transport } from './chatCore'
import { usePolling, type UsePollingOptions } from './polling'
import { useWebSocket, type UseWebSocketOptions } from './websocket'

export { websocketEnabledByBuild, type ChatMode, type FallbackReason } from '@/composables/useTransportSwitch'

export interface UseChatOptions
  extends Omit<UseWebSocketOptions, 'core' | 'immediate'>,
    Omit<UsePollingOptions, 'core' | 'immediate'>,
    TransportSwitchOptions {
  /** Connect at once. Default false (call `connect()`). */
  immediate?: boolean
}

export interface UseChatReturn extends ChatConnection {
  /** The transport in use. */
  transport: Readonly<Ref<Transport>>
  /** Why polling is used (null while on WebSocket). */
  fallbackReason: Readonly<Ref<FallbackReason | null>>
}

export function useChat(token: MaybeRefOrGetter<string>, options: UseChatOptions = {}): UseChatReturn {
  const core = createChatCore(token, options)
  const ws = useWebSocket(token, { ...options, immediate: false, core })
  const polling = usePolling(token, { ...options, immediate: false, core })
  const link = useTransportSwitch(
    token,
    options,
    { api: core.api, link: core.link, onConfig: core.applyServerConfig, on: core.on },
    { websocket: ws, polling },
  )

  if (getCurrentScope()) onScopeDispose(() => core.dispose())
  if (options.immediate) link.connect()

  return {
    messages: ws.messages,
    pending: ws.pending,
    onlineCount: ws.onlineCount,
    onlineUsers: ws.onlineUsers,
    currentUser: ws.currentUser,
    hasMore: ws.hasMore,
    loadingHistory: ws.loadingHistory,
    retry: ws.retry,
    discard: ws.discard,
    loadOlder: ws.loadOlder,
    on: ws.on,
    off: ws.off,
    clearLocalData: ws.clearLocalData,
    status: link.status,
    isConnected: link.isConnected,
    isReconnecting: link.isReconnecting,
    explicitlyClosed: link.explicitlyClosed,
    transport: link.transport,
    fallbackReason: link.fallbackReason,
    connect: link.connect,
    disconnect: link.disconnect,
    reconnectNow: link.reconnectNow,
    sendMessage: (content, opts = {}) => link.active.value === ws ? ws.sendMessage(content, opts) : polling.sendMessage(content, opts),
  }
}
