/**
 * What the lobby client's transports (`useWebSocket`, `usePolling`,
 * `useChat`) return: the `ChatConnection` shape the seed's component and the
 * views use, built from a `ChatCore` and a connection status.
 */
import { computed, getCurrentScope, onScopeDispose, readonly, type Ref, type ShallowRef } from 'vue'
import type { ChatMessage, PresenceUser } from '@/api/types'
import type { ChatCore, ChatEventListener, ChatEvents } from './chatCore'
import type { OutgoingMessage } from './outbox'
import type { ConnectionStatus } from './transport'

/** Fields common to every transport's return value (what the views use). */
export interface ChatConnection {
  /** Connection status; see `ConnectionStatus`. */
  status: Readonly<Ref<ConnectionStatus>>
  /** True while connected (the seed's 已连接). */
  isConnected: Readonly<Ref<boolean>>
  /** True while a lost connection is being re-established (the seed's 重连中...). */
  isReconnecting: Readonly<Ref<boolean>>
  /** True once `disconnect()` was called (or after an authentication failure); no retries happen. */
  explicitlyClosed: Readonly<Ref<boolean>>
  /** Confirmed messages, ascending by id, without duplicates. Render `content` as text only. */
  messages: Readonly<ShallowRef<readonly ChatMessage[]>>
  /** Messages typed but not yet confirmed, in send order (pending / sending / failed). */
  pending: Readonly<Ref<readonly OutgoingMessage[]>>
  /** Number of users online. */
  onlineCount: Readonly<Ref<number>>
  /** Users online (at most 500 listed by the server). */
  onlineUsers: Readonly<Ref<readonly PresenceUser[]>>
  /** The logged-in user, once known. */
  currentUser: Readonly<Ref<PresenceUser | null>>
  /** Whether older history exists on the server. */
  hasMore: Readonly<Ref<boolean>>
  /** True while a history page is loading. */
  loadingHistory: Readonly<Ref<boolean>>
  /** Starts (or resumes) the connection. Idempotent. */
  connect: () => void
  /** Closes the connection for good (sets `explicitlyClosed`; no reconnect). */
  disconnect: () => void
  /** Retries at once when waiting for a reconnect (resets the backoff). */
  reconnectNow: () => void
  /**
   * Queues a message and sends it as soon as possible; returns its `client_id`.
   * Throws `ChatSendError` when the content is empty or too long, or when the
   * outbox is disabled and there is no connection.
   */
  sendMessage: (content: string, options?: { room?: string }) => string
  /** Resends a failed message with the same `client_id`. */
  retry: (clientId: string) => void
  /** Drops a queued or failed message. */
  discard: (clientId: string) => void
  /** Loads the previous page of history (scroll-up). Resolves to the number of messages added. */
  loadOlder: () => Promise<number>
  /** Subscribes to an event; returns the unsubscribe function. */
  on: <K extends keyof ChatEvents>(type: K, listener: ChatEventListener<K>) => () => void
  /** Unsubscribes a listener. */
  off: <K extends keyof ChatEvents>(type: K, listener: ChatEventListener<K>) => void
  /** Forgets this user's cached messages and outbox (call on logout). */
  clearLocalData: () => void
}

/** Builds the `ChatConnection` fields that come straight from the core. */
export function coreFields(core: ChatCore) {
  return {
    messages: core.messages as Readonly<ShallowRef<readonly ChatMessage[]>>,
    pending: core.pending as Readonly<Ref<readonly OutgoingMessage[]>>,
    onlineCount: core.onlineCount,
    onlineUsers: core.onlineUsers as Readonly<Ref<readonly PresenceUser[]>>,
    currentUser: core.currentUser,
    hasMore: core.hasMore,
    loadingHistory: core.loadingHistory,
    retry: core.retry,
    discard: core.discard,
    loadOlder: core.loadOlder,
    on: core.on,
    off: core.off,
    clearLocalData: core.clearStorage,
  }
}

/**
 * What both transports (WebSocket and polling) return besides their own
 * `connect`/`disconnect`: the core's fields, the connection state and
 * `sendMessage`, which queues in the outbox and sends when connected.
 */
export function transportFields(core: ChatCore, status: Ref<ConnectionStatus>, explicitlyClosed: Ref<boolean>) {
  return {
    ...coreFields(core),
    status: readonly(status),
    isConnected: computed(() => status.value === 'open'),
    isReconnecting: computed(() => status.value === 'reconnecting'),
    explicitlyClosed: readonly(explicitlyClosed),
    sendMessage(content: string, opts: { room?: string } = {}): string {
      return core.outbox.submit(content, { room: opts.room, connected: status.value === 'open' })
    },
  }
}

/**
 * A transport's clean-up when the calling component's scope ends: close the
 * connection, stop listening to the core, and dispose of the core if the
 * transport created it.
 */
export function disposeWithScope(core: ChatCore, ownsCore: boolean, close: () => void, offQueued: () => void): void {
  if (!getCurrentScope()) return
  onScopeDispose(() => {
    close()
    offQueued()
    if (ownsCore) core.dispose()
  })
}
