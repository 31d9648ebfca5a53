/**
 * The lobby client's state (PROTOCOL.md §1–2, the seed's `useWebSocket`):
 * the message list (merged by id, sorted, cached across reloads per database
 * epoch), presence, history paging and the typed event bus, plus the shared
 * outbox (`utils/outbox.ts`).
 *
 * `useWebSocket` and `usePolling` each create one when used alone; `useChat`
 * creates one and hands it to both, so switching transports keeps everything.
 * The rooms app does not use it: it keeps its state in Pinia stores.
 */
import { ref, shallowRef, toValue, type MaybeRefOrGetter, type ShallowRef } from 'vue'
import { createApiClient, type ApiClient } from '@/api/http'
import type { AckFrame, ChatMessage, ErrorFrame, HelloFrame, HistoryPage, PresenceFrame, PresenceUser, ServerConfig } from '@/api/types'
import { MAX_MESSAGE_CHARS } from './content'
import { createEmitter, type Emitter, type Listener } from './emitter'
import { indexOfId, mergeMessages } from './messages'
import { createOutbox, type Outbox, type OutgoingMessage } from './outbox'
import { readLobbyCache, writeLobbyCache } from './lobbyCache'
import { isChatMessage, isId } from './schemas'
import { withRetryAfter } from './retry'
import { removeKey } from './storage'
import { applyPresenceDelta } from './presence'
import { storageNamespace } from './rooms'
import type { Emit, Transport, TransportEvents } from './transport'

export { ChatSendError, type OutgoingMessage } from './outbox'
export { describeServerError, isBrowserOffline, watchBrowser, type ConnectionStatus, type Transport } from './transport'

/** Events of `on(type, listener)`. */
export interface ChatEvents extends TransportEvents {
  /** First frame of each WebSocket connection. */
  hello: HelloFrame
  /** A message not seen before (live, backfilled or from history). */
  message: ChatMessage
  /** One of our messages was committed. */
  ack: { client_id: string; message: ChatMessage }
  /** Online users changed. */
  presence: PresenceFrame
  /** The server's database changed (`hello.epoch`): the local cache was dropped. */
  'epoch-changed': { previous: string; current: string }
  /**
   * Our cursor was above the server's newest id (a restored backup or a
   * rolled-back database with the same epoch): the cache was dropped, the
   * cursor is now the server's `last_id` and the newest history is reloaded.
   */
  'cursor-reset': { transport: 'websocket' | 'polling'; previous: number; current: number }
  /** The outbox changed (internal: transports flush on it). */
  queued: OutgoingMessage
}

export type ChatEventListener<K extends keyof ChatEvents> = Listener<ChatEvents[K]>

export interface ChatCoreOptions {
  /** Base URL for REST and WebSocket paths. Default: the page's base URI. */
  baseUrl?: string
  /**
   * Keep the outbox and a message cache in localStorage so they survive a
   * reload. Default true.
   */
  persist?: boolean
  /** Storage namespace. Default: derived from the token's subject (one per user). */
  storageKey?: string
  /** Messages kept in the reload cache. Default 200. */
  cacheSize?: number
  /** Messages kept in memory; the oldest are dropped past it (and can be paged in again). Default 5000. */
  maxMessages?: number
  /** History page size for `loadOlder`. Default 50. */
  historyPageSize?: number
  /** Maximum characters of one message. Default 2000 (the server's limit). */
  maxMessageChars?: number
  /**
   * Queue messages typed while offline and send them on reconnect. Default
   * true. When false, `sendMessage` throws `ChatSendError('not_connected')`
   * while not connected.
   */
  outbox?: boolean
}

/** History reads answered 429 are retried this many times (after `Retry-After`). */
const HISTORY_RETRIES = 2
/** A `Retry-After` longer than this (ms) is not waited for in place: the caller is told instead. */
const HISTORY_MAX_WAIT = 15_000

export function createChatCore(token: MaybeRefOrGetter<string>, options: ChatCoreOptions = {}) {
  const persist = options.persist ?? true
  const cacheSize = options.cacheSize ?? 200
  const maxMessages = Math.max(options.maxMessages ?? 5000, 1)
  const pageSize = options.historyPageSize ?? 50
  const maxChars = options.maxMessageChars ?? MAX_MESSAGE_CHARS
  const outboxEnabled = options.outbox ?? true
  const getToken = () => toValue(token) ?? ''

  const namespace = options.storageKey ?? storageNamespace(getToken())
  const cacheKey = `hearth.cache.v1.${namespace}`
  const outboxKey = `hearth.outbox.v1.${namespace}`

  const api: ApiClient = createApiClient({ baseUrl: options.baseUrl, token: getToken })
  const emitter: Emitter<ChatEvents> = createEmitter<ChatEvents>()

  // ---- messages -----------------------------------------------------------
  const messages: ShallowRef<ChatMessage[]> = shallowRef([])
  const hasMore = ref(true)
  const loadingHistory = ref(false)
  const epoch = ref<string | null>(null)
  /** Highest message id seen in this epoch (never lowered by trimming). */
  let cursor = 0
  /** Bumped on every reset so late history answers are ignored. */
  let generation = 0
  /** Set by `clearStorage` (logout): stop persisting. */
  let storageCleared = false
  /** Set by `dispose`: no more waiting and retrying. */
  let disposed = false
  /** Messages were loaded from a cache that has no epoch. */
  let cacheUnverified = false
  /** Shared by the transports of this core (status `connecting` vs `reconnecting`). */
  const link = { everConnected: false }

  // ---- presence & identity ------------------------------------------------
  const onlineCount = ref(0)
  const onlineUsers = ref<PresenceUser[]>([])
  const currentUser = ref<PresenceUser | null>(null)

  // ---- outbox ---------------------------------------------------------------
  const outbox: Outbox = createOutbox({
    key: outboxKey,
    version: 1,
    accept: [1],
    persist,
    enabled: outboxEnabled,
    maxChars,
    onQueued: (entry) => emitter.emit('queued', entry),
    onFailed: (entry) => emitter.emit('send-failed', entry),
    onCompleted: (clientId, message) => completed(clientId, message),
  })

  /**
   * Merges messages by id (no duplicates, ascending; `utils/messages.ts`).
   * Returns those that were new. The list is replaced, never mutated in
   * place, so every consumer (props, computed) sees the change.
   */
  function merge(incoming: readonly unknown[]): ChatMessage[] {
    for (const value of incoming) if (isChatMessage(value) && value.id > cursor) cursor = value.id
    const { list, added } = mergeMessages(messages.value, incoming)
    if (list) {
      if (list.length > maxMessages) {
        list.splice(0, list.length - maxMessages)
        hasMore.value = true
      }
      messages.value = list
      scheduleCacheSave()
    }
    return added
  }

  function mergeAndEmit(incoming: readonly unknown[]): ChatMessage[] {
    const added = merge(incoming)
    for (const m of added) emitter.emit('message', m)
    return added
  }

  /** Drops every cached message (new epoch or inconsistent cache). */
  function resetMessages(): void {
    generation++
    messages.value = []
    cursor = 0
    hasMore.value = true
    scheduleCacheSave()
  }

  /**
   * The server ignored our cursor because it is above its newest id (`reset`
   * in `hello` or a polling answer): what we cached comes from another
   * timeline. Drops it and continues from the server's `last_id`; the caller
   * reloads the newest history. The outbox is kept (resends are idempotent).
   */
  function resetCursor(transport: Transport, lastId: unknown): void {
    const previous = cursor
    resetMessages()
    cacheUnverified = false
    // Without a usable last_id the history page sets the cursor instead.
    if (isId(lastId)) cursor = lastId
    emitter.emit('cursor-reset', { transport, previous, current: cursor })
  }

  /**
   * Records the server's epoch. Returns true when it differs from the cached
   * one, in which case the message cache was dropped (ids restart).
   */
  function applyEpoch(next: string): boolean {
    const previous = epoch.value
    epoch.value = next
    if (previous !== null && previous !== next) {
      resetMessages()
      cacheUnverified = false
      emitter.emit('epoch-changed', { previous, current: next })
      return true
    }
    scheduleCacheSave()
    return false
  }

  /**
   * True when the messages came from a reload cache written without an epoch
   * (polling only): they must be checked against the server once.
   */
  function cacheNeedsCheck(): boolean {
    return cacheUnverified && messages.value.length > 0
  }

  /** Cursor for resume (`?after=` / `after_id`): highest id seen in this epoch. */
  function lastId(): number {
    return cursor
  }

  function advanceCursor(id: number): void {
    if (Number.isFinite(id) && id > cursor) {
      cursor = id
      scheduleCacheSave()
    }
  }

  /**
   * Loads the newest history page. With `validate`, cached messages that do not
   * line up with it (database replaced, or a gap) are dropped first: used by
   * polling, which has no epoch to compare.
   */
  async function loadLatest(opts: { validate?: boolean } = {}): Promise<void> {
    const owner = !loadingHistory.value
    if (owner) loadingHistory.value = true
    try {
      await loadLatestPage(opts)
    } finally {
      if (owner) loadingHistory.value = false
    }
  }

  async function loadLatestPage(opts: { validate?: boolean }): Promise<void> {
    const gen = generation
    const page = await fetchHistory(undefined, gen)
    if (gen !== generation) return
    const list = Array.isArray(page?.messages) ? page.messages.filter(isChatMessage) : []
    if (opts.validate && messages.value.length > 0) {
      const arr = messages.value
      const pageMin = list[0]?.id ?? Infinity
      const pageMax = list[list.length - 1]?.id ?? 0
      const cacheMax = arr[arr.length - 1]!.id
      let consistent = cacheMax <= pageMax && (cacheMax >= pageMin - 1 || !page.has_more || list.length === 0)
      if (consistent) {
        for (const m of list) {
          const old = arr[indexOfId(arr, m.id)]
          if (old?.id === m.id && (old.created_at !== m.created_at || old.user_id !== m.user_id)) {
            consistent = false
            break
          }
        }
      }
      if (list.length === 0) consistent = false
      if (!consistent) resetMessages()
    }
    cacheUnverified = false
    const oldestBefore = messages.value[0]?.id
    mergeAndEmit(list)
    if (list.length === 0) {
      if (messages.value.length === 0) hasMore.value = false
    } else if (oldestBefore === undefined || oldestBefore >= list[0]!.id) {
      hasMore.value = !!page.has_more
    }
    scheduleCacheSave()
  }

  /**
   * One history page. A 429 (this user reads too much) is waited out and
   * retried, so scrolling up does not fail silently; a long `Retry-After`,
   * or a 429 after the retries, reaches the caller. After a reset (the
   * generation moved on) it answers an empty page, which callers ignore.
   */
  async function fetchHistory(before: number | undefined, gen: number): Promise<HistoryPage> {
    const page = await withRetryAfter(() => api.history(before, pageSize), {
      maxWait: HISTORY_MAX_WAIT,
      retries: HISTORY_RETRIES,
      cancelled: () => gen !== generation || disposed,
    })
    return page ?? { messages: [], has_more: true }
  }

  /** Loads the previous history page (scroll-up). Resolves to the number of messages added. */
  async function loadOlder(): Promise<number> {
    if (loadingHistory.value) return 0
    if (messages.value.length > 0 && !hasMore.value) return 0
    loadingHistory.value = true
    const gen = generation
    try {
      const oldest = messages.value[0]?.id
      if (oldest === undefined) {
        await loadLatest()
        return messages.value.length
      }
      const page = await fetchHistory(oldest, gen)
      if (gen !== generation) return 0
      const added = mergeAndEmit(Array.isArray(page?.messages) ? page.messages : [])
      hasMore.value = !!page.has_more && added.length > 0
      return added.length
    } finally {
      loadingHistory.value = false
    }
  }

  /** Limits announced by `GET /api/config` (used when no option overrides them). */
  const serverLimits: { maxFrameBytes: number | null } = { maxFrameBytes: null }

  function applyServerConfig(config: ServerConfig | null | undefined): void {
    const frame = config?.max_frame_bytes
    if (typeof frame === 'number' && Number.isFinite(frame) && frame >= 256) serverLimits.maxFrameBytes = frame
  }

  function setPresence(count: number, users: PresenceUser[] | undefined): void {
    if (Number.isFinite(count)) onlineCount.value = count
    if (Array.isArray(users)) onlineUsers.value = users
  }

  /** Applies a presence push: who came online and who left since the last one. */
  function applyPresenceChanges(count: number, joined: readonly PresenceUser[], left: readonly PresenceUser[]): void {
    if (Number.isFinite(count)) onlineCount.value = count
    onlineUsers.value = applyPresenceDelta(onlineUsers.value, joined, left)
  }

  // ---- outbox (shared with the rooms app: utils/outbox.ts) -------------------

  /** The server stored one of our messages: show it and tell the listeners. */
  function completed(clientId: string, message: ChatMessage): void {
    mergeAndEmit([message])
    emitter.emit('ack', { client_id: clientId, message })
  }

  /** Handles a WebSocket `ack`; returns false for an unknown (already handled) client_id. */
  function acknowledge(frame: AckFrame): boolean {
    const entry = outbox.find(frame.client_id)
    if (!entry) return false
    const me = currentUser.value
    outbox.complete(frame.client_id, {
      id: frame.id,
      room: entry.room ?? 'lobby',
      user_id: me?.id ?? 0,
      username: me?.username ?? '',
      content: entry.content,
      created_at: frame.created_at,
      client_id: frame.client_id,
    })
    return true
  }

  // ---- reload cache ---------------------------------------------------------
  let cacheTimer: ReturnType<typeof setTimeout> | undefined

  function saveCache(): void {
    if (cacheTimer !== undefined) {
      clearTimeout(cacheTimer)
      cacheTimer = undefined
    }
    if (!persist || storageCleared) return
    writeLobbyCache(cacheKey, { epoch: epoch.value, hasMore: hasMore.value, cursor, messages: messages.value }, cacheSize)
  }

  function scheduleCacheSave(): void {
    if (!persist || storageCleared || cacheTimer !== undefined) return
    cacheTimer = setTimeout(saveCache, 400)
  }

  /** Restores the reload cache (`utils/lobbyCache.ts` says what is kept of a damaged one). */
  function loadCache(): void {
    if (!persist) return
    const cached = readLobbyCache(cacheKey)
    if (!cached) return
    epoch.value = cached.epoch
    cacheUnverified = epoch.value === null
    // The cursor resumes from the newest kept message: a stored cursor above it could only skip messages.
    merge(cached.messages)
    hasMore.value = cached.hasMore
    if (cacheTimer !== undefined) {
      clearTimeout(cacheTimer)
      cacheTimer = undefined
    }
    // Rewrite a blob that had invalid parts, so they are gone from storage.
    if (cached.damaged || (cached.messages.length > 0 && cached.cursor !== cursor)) saveCache()
  }

  /** Forgets this user's cache and outbox (logout); nothing is written afterwards. */
  function clearStorage(): void {
    storageCleared = true
    if (cacheTimer !== undefined) clearTimeout(cacheTimer)
    cacheTimer = undefined
    removeKey(cacheKey)
    outbox.clearStorage()
  }

  const onPageHide = () => saveCache()
  if (typeof window !== 'undefined') window.addEventListener('pagehide', onPageHide)

  loadCache()

  function dispose(): void {
    disposed = true
    saveCache()
    if (typeof window !== 'undefined') window.removeEventListener('pagehide', onPageHide)
  }

  return {
    api,
    token: getToken,
    outboxEnabled,
    outbox,
    // state
    messages,
    pending: outbox.pending,
    hasMore,
    loadingHistory,
    epoch,
    onlineCount,
    onlineUsers,
    currentUser,
    link,
    get everConnected() {
      return link.everConnected
    },
    // messages
    merge: mergeAndEmit,
    lastId,
    advanceCursor,
    applyEpoch,
    cacheNeedsCheck,
    resetMessages,
    resetCursor,
    loadLatest,
    loadOlder,
    setPresence,
    applyPresenceChanges,
    serverLimits,
    applyServerConfig,
    // outbox
    acknowledge,
    complete: outbox.complete,
    findEntry: outbox.find,
    retry: outbox.retry,
    discard: outbox.discard,
    /** Sends one entry over `POST /api/chat/messages` (polling, and frames over the size limit). */
    sendViaHttp: (entry: OutgoingMessage) => outbox.sendViaHttp(entry, (e) => api.send(e.content, e.client_id)),
    // events
    on: emitter.on,
    off: emitter.off,
    emit: emitter.emit,
    /** `emit` as the shared transports see it (ChatEvents extends TransportEvents). */
    emitTransport: emitter.emit as Emit<TransportEvents>,
    // storage
    saveCache,
    clearStorage,
    dispose,
  }
}

export type ChatCore = ReturnType<typeof createChatCore>

export { coreFields, disposeWithScope, transportFields, type ChatConnection } from './chatConnection'

export type { ErrorFrame, PresenceFrame }
