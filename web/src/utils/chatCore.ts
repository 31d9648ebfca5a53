/**
 * State shared by the WebSocket and polling transports: the message list
 * (merged by id, sorted, cached across reloads per database epoch), the
 * persistent outbox, presence, history paging and the typed event bus.
 *
 * `useWebSocket` and `usePolling` each create one when used alone; `useChat`
 * creates one and hands it to both, so switching transports keeps everything.
 */
import {
  computed,
  getCurrentScope,
  onScopeDispose,
  readonly,
  ref,
  shallowRef,
  toValue,
  type MaybeRefOrGetter,
  type Ref,
  type ShallowRef,
} from 'vue'
import { ApiError, createApiClient, describeError, retryAfterMs as retryAfterOf, retryHint, type ApiClient } from '@/api/http'
import type {
  AckFrame,
  ChatMessage,
  ErrorFrame,
  HelloFrame,
  HistoryPage,
  PresenceFrame,
  PresenceUser,
  ServerConfig,
} from '@/api/types'
import { contentProblem, MAX_MESSAGE_CHARS, normalizeContent } from './content'
import { createEmitter, type Emitter, type Listener } from './emitter'
import { createClientId, shortHash, tokenSubject } from './ids'
import {
  cacheBlobSchema,
  isChatMessage,
  isId,
  messageSchema,
  outboxBlobSchema,
  outboxEntrySchema,
  validItems,
  validTail,
  type StoredOutboxEntry,
} from './schemas'
import { readValid, removeKey, writeJson } from './storage'

export type Transport = 'websocket' | 'polling'

/**
 * Connection status.
 * - `idle`: `connect()` was never called.
 * - `connecting`: first attempt in progress.
 * - `open`: connected (WebSocket: `hello` received; polling: last poll succeeded).
 * - `reconnecting`: the connection was lost (or never came up) and a retry is scheduled or running.
 * - `closed`: stopped by `disconnect()`, or for good after an authentication failure.
 */
export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'

/** A message the user sent that the server has not confirmed yet. */
export interface OutgoingMessage {
  client_id: string
  /** Normalised content, exactly as it is sent. */
  content: string
  room?: string
  /** Local time it was queued (ms). */
  queued_at: number
  /** `pending`: waiting to be sent; `sending`: on the wire, no ack yet; `failed`: refused or unconfirmed, needs `retry`. */
  state: 'pending' | 'sending' | 'failed'
  /** Why it failed (Chinese, for display). */
  error?: string
  attempts: number
}

/** Events of `on(type, listener)`. */
export interface ChatEvents {
  /** Connected and in sync (`resumed`: a previous cursor was used). */
  connected: { transport: Transport; resumed: boolean }
  /** The connection was lost. */
  disconnected: { transport: Transport; code?: number; reason?: string; willRetry: boolean }
  /** A retry is scheduled after `delay` ms. */
  reconnecting: { transport: Transport; attempt: number; delay: number }
  /** First frame of each WebSocket connection. */
  hello: HelloFrame
  /** A message not seen before (live, backfilled or from history). */
  message: ChatMessage
  /** One of our messages was committed. */
  ack: { client_id: string; message: ChatMessage }
  /** Online users changed. */
  presence: PresenceFrame
  /** A queued message was refused for good (or not confirmed); see `pending`. */
  'send-failed': OutgoingMessage
  /** An `error` frame or a failed REST call worth telling the user about. */
  'server-error': ErrorFrame
  /** The token is invalid or expired: no more retries; log in again. */
  unauthorized: { reason: string }
  /** The server's database changed (`hello.epoch`): the local cache was dropped. */
  'epoch-changed': { previous: string; current: string }
  /**
   * Our cursor was above the server's newest id (a restored backup or a
   * rolled-back database with the same epoch): the cache was dropped, the
   * cursor is now the server's `last_id` and the newest history is reloaded.
   */
  'cursor-reset': { transport: Transport; previous: number; current: number }
  /** A WebSocket attempt failed before `hello`; used to decide on the polling fallback. */
  'transport-failed': { consecutiveFailures: number; httpReachable: boolean; websocketDisabled: boolean }
  /** The outbox changed (internal: transports flush on it). */
  queued: OutgoingMessage
}

export type ChatEventListener<K extends keyof ChatEvents> = Listener<ChatEvents[K]>

/** Thrown by `sendMessage` when the content can never be sent, or (outbox disabled) while offline. */
export class ChatSendError extends Error {
  override readonly name = 'ChatSendError'
  constructor(
    readonly code: 'empty' | 'too_long' | 'not_connected',
    message: string,
  ) {
    super(message)
  }
}

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

interface CacheBlob {
  v: 1
  epoch: string | null
  hasMore: boolean
  cursor: number
  messages: ChatMessage[]
}

interface OutboxBlob {
  v: 1
  entries: OutgoingMessage[]
}

/** History reads answered 429 are retried this many times (after `Retry-After`). */
const HISTORY_RETRIES = 2
/** A `Retry-After` longer than this (ms) is not waited for in place: the caller is told instead. */
const HISTORY_MAX_WAIT = 15_000

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Chinese text for an error code of an `error` frame (`retryAfterMs` from `retry_after_ms`). */
export function describeServerError(code: string, fallback?: string, retryAfterMs?: number): string {
  switch (code) {
    case 'invalid_content':
      return '消息内容无效（为空、超长或包含控制字符）'
    case 'rate_limited':
      return `操作太频繁，${retryHint(retryAfterMs === undefined ? undefined : retryAfterMs / 1000)}`
    case 'busy':
      return `服务器繁忙，${retryHint(retryAfterMs === undefined ? undefined : retryAfterMs / 1000)}`
    case 'too_large':
      return '消息过大'
    case 'unauthorized':
      return '登录已失效，请重新登录'
    case 'internal':
      return '服务器内部错误'
    case 'bad_request':
      return fallback ? `请求无效：${fallback}` : '请求无效'
    default:
      return fallback ?? code
  }
}

export function createChatCore(token: MaybeRefOrGetter<string>, options: ChatCoreOptions = {}) {
  const persist = options.persist ?? true
  const cacheSize = options.cacheSize ?? 200
  const maxMessages = Math.max(options.maxMessages ?? 5000, 1)
  const pageSize = options.historyPageSize ?? 50
  const maxChars = options.maxMessageChars ?? MAX_MESSAGE_CHARS
  const outboxEnabled = options.outbox ?? true
  const getToken = () => toValue(token) ?? ''

  const initialToken = getToken()
  const namespace =
    options.storageKey ?? (initialToken ? (tokenSubject(initialToken) ?? 't' + shortHash(initialToken)) : 'anonymous')
  const cacheKey = `hearth.cache.v1.${namespace}`
  const outboxKey = `hearth.outbox.v1.${namespace}`

  const api: ApiClient = createApiClient({ baseUrl: options.baseUrl, token: getToken })
  const emitter: Emitter<ChatEvents> = createEmitter<ChatEvents>()

  // ---- messages -----------------------------------------------------------
  const messages: ShallowRef<ChatMessage[]> = shallowRef([])
  const ids = new Set<number>()
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
  /** Set by `sendViaHttp` after a 429, read (and cleared) by the transports. */
  let retryAfterMs = 0
  /** Whether any transport was ever connected (status `connecting` vs `reconnecting`). */
  let everConnected = false

  // ---- presence & identity ------------------------------------------------
  const onlineCount = ref(0)
  const onlineUsers = ref<PresenceUser[]>([])
  const currentUser = ref<PresenceUser | null>(null)

  // ---- outbox ---------------------------------------------------------------
  const pending: Ref<OutgoingMessage[]> = ref([])
  const removedFromOutbox = new Set<string>()

  function findIndex(id: number, arr: readonly ChatMessage[] = messages.value): number {
    let lo = 0
    let hi = arr.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (arr[mid]!.id < id) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /**
   * Merges messages by id (no duplicates, ascending). Returns those that were
   * new. The list is replaced (copy on write), never mutated in place, so
   * every consumer (props, computed) sees the change.
   */
  function merge(incoming: readonly unknown[]): ChatMessage[] {
    let arr: ChatMessage[] | null = null
    const added: ChatMessage[] = []
    for (const value of incoming) {
      if (!isChatMessage(value)) continue
      const m = value
      if (m.id > cursor) cursor = m.id
      const current: ChatMessage[] = arr ?? messages.value
      if (ids.has(m.id)) {
        // The server's copy wins over one synthesised from an ack.
        const i = findIndex(m.id, current)
        const old = current[i]
        if (old && old.id === m.id && (old.username !== m.username || old.content !== m.content || old.created_at !== m.created_at)) {
          arr ??= messages.value.slice()
          arr[i] = m
        }
        continue
      }
      arr ??= messages.value.slice()
      ids.add(m.id)
      const last = arr[arr.length - 1]
      if (!last || m.id > last.id) arr.push(m)
      else arr.splice(findIndex(m.id, arr), 0, m)
      added.push(m)
    }
    if (arr) {
      if (arr.length > maxMessages) {
        for (const dropped of arr.splice(0, arr.length - maxMessages)) ids.delete(dropped.id)
        hasMore.value = true
      }
      messages.value = arr
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
    ids.clear()
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
          if (!ids.has(m.id)) continue
          const old = arr[findIndex(m.id)]
          if (old && (old.created_at !== m.created_at || old.user_id !== m.user_id)) {
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
    for (let attempt = 0; ; attempt++) {
      try {
        return await api.history(before, pageSize)
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 429 || attempt >= HISTORY_RETRIES) throw error
        const wait = retryAfterOf(error)
        if (wait > HISTORY_MAX_WAIT || disposed) throw error
        await sleep(Math.max(wait, 500))
        if (gen !== generation || disposed) return { messages: [], has_more: true }
      }
    }
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
    const gone = new Set(left.map((u) => u.id))
    const byId = new Map(onlineUsers.value.filter((u) => !gone.has(u.id)).map((u) => [u.id, u]))
    for (const u of joined) byId.set(u.id, u)
    onlineUsers.value = [...byId.values()].sort((a, b) =>
      a.username < b.username ? -1 : a.username > b.username ? 1 : a.id - b.id,
    )
  }

  // ---- outbox ---------------------------------------------------------------

  /** The outbox entries in storage that pass the schema (invalid ones are dropped). */
  function storedOutbox(): StoredOutboxEntry[] {
    const stored = readValid(outboxKey, outboxBlobSchema)
    return stored ? validItems(stored.entries, outboxEntrySchema) : []
  }

  function saveOutbox(): void {
    if (!persist || storageCleared) return
    // Merge with what is stored so another tab's queued messages are not lost.
    const mine = new Set(pending.value.map((e) => e.client_id))
    const others = storedOutbox()
      .filter((e) => !mine.has(e.client_id) && !removedFromOutbox.has(e.client_id))
      .map(toOutgoing)
    const entries = [...others, ...pending.value.map((e) => ({ ...e }))].sort((a, b) => a.queued_at - b.queued_at)
    if (entries.length === 0) removeKey(outboxKey)
    else writeJson(outboxKey, { v: 1, entries } satisfies OutboxBlob)
  }

  /** A stored entry as a live one: whatever was on the wire is pending again. */
  function toOutgoing(e: StoredOutboxEntry): OutgoingMessage {
    const entry: OutgoingMessage = {
      client_id: e.client_id,
      content: e.content,
      queued_at: e.queued_at,
      state: e.state === 'failed' ? 'failed' : 'pending',
      attempts: e.attempts ?? 0,
    }
    if (e.room !== undefined) entry.room = e.room
    if (e.error !== undefined) entry.error = e.error
    return entry
  }

  function loadOutbox(): void {
    if (!persist) return
    const raw = readValid(outboxKey, outboxBlobSchema)
    if (!raw) return
    const entries = validItems(raw.entries, outboxEntrySchema)
    pending.value = entries.map(toOutgoing)
    // Rewrite without the entries that failed the schema.
    if (entries.length !== raw.entries.length) saveOutbox()
  }

  function findEntry(clientId: string): OutgoingMessage | undefined {
    return pending.value.find((e) => e.client_id === clientId)
  }

  /** Validates, queues and persists a message. Returns its `client_id`. */
  function submit(raw: string, opts: { room?: string; connected: boolean }): string {
    const content = normalizeContent(typeof raw === 'string' ? raw : String(raw ?? ''))
    const problem = contentProblem(content, maxChars)
    if (problem === 'empty') throw new ChatSendError('empty', '消息不能为空')
    if (problem === 'too_long') throw new ChatSendError('too_long', `消息不能超过 ${maxChars} 个字符`)
    if (!outboxEnabled && !opts.connected) throw new ChatSendError('not_connected', '发送失败，未连接到服务器')
    const entry: OutgoingMessage = {
      client_id: createClientId(),
      content,
      queued_at: Date.now(),
      state: 'pending',
      attempts: 0,
    }
    if (opts.room) entry.room = opts.room
    pending.value.push(entry)
    saveOutbox()
    emitter.emit('queued', entry)
    return entry.client_id
  }

  /** Marks every in-flight entry as pending again (connection lost). */
  function requeueSending(): void {
    let changed = false
    for (const e of pending.value) {
      if (e.state === 'sending') {
        e.state = 'pending'
        changed = true
      }
    }
    if (changed) saveOutbox()
  }

  function markSending(entry: OutgoingMessage): void {
    entry.state = 'sending'
    entry.attempts++
    delete entry.error
    saveOutbox()
  }

  function markPending(clientId: string): void {
    const e = findEntry(clientId)
    if (e && e.state !== 'failed') {
      e.state = 'pending'
      saveOutbox()
    }
  }

  function markFailed(clientId: string, error: string): void {
    const e = findEntry(clientId)
    if (!e) return
    e.state = 'failed'
    e.error = error
    saveOutbox()
    emitter.emit('send-failed', { ...e })
  }

  /** The server stored the message: drop it from the outbox and show it. */
  function complete(clientId: string, message: ChatMessage): void {
    const i = pending.value.findIndex((e) => e.client_id === clientId)
    if (i >= 0) {
      pending.value.splice(i, 1)
      removedFromOutbox.add(clientId)
      saveOutbox()
    }
    mergeAndEmit([message])
    emitter.emit('ack', { client_id: clientId, message })
  }

  /** Handles a WebSocket `ack`; returns false for an unknown (already handled) client_id. */
  function acknowledge(frame: AckFrame): boolean {
    const entry = findEntry(frame.client_id)
    if (!entry) return false
    const me = currentUser.value
    const message: ChatMessage = {
      id: frame.id,
      room: entry.room ?? 'lobby',
      user_id: me?.id ?? 0,
      username: me?.username ?? '',
      content: entry.content,
      created_at: frame.created_at,
      client_id: frame.client_id,
    }
    complete(frame.client_id, message)
    return true
  }

  /** Resend a failed message (same `client_id`, so it can never be stored twice). */
  function retry(clientId: string): void {
    const e = findEntry(clientId)
    if (!e || e.state !== 'failed') return
    e.state = 'pending'
    delete e.error
    saveOutbox()
    emitter.emit('queued', e)
  }

  /** Remove a queued or failed message from the outbox. */
  function discard(clientId: string): void {
    const i = pending.value.findIndex((e) => e.client_id === clientId)
    if (i < 0) return
    pending.value.splice(i, 1)
    removedFromOutbox.add(clientId)
    saveOutbox()
  }

  /**
   * Sends one outbox entry over `POST /api/chat/messages` (polling transport,
   * and WebSocket frames that would exceed the 4096-byte frame limit).
   */
  async function sendViaHttp(entry: OutgoingMessage): Promise<'sent' | 'retry' | 'failed' | 'unauthorized'> {
    markSending(entry)
    try {
      const message = await api.send(entry.content, entry.client_id)
      complete(entry.client_id, message)
      return 'sent'
    } catch (error) {
      if (error instanceof ApiError) {
        if (error.status === 401) {
          markPending(entry.client_id)
          return 'unauthorized'
        }
        if (error.status === 400 || error.status === 413 || error.status === 409 || error.status === 403) {
          markFailed(entry.client_id, describeError(error))
          return 'failed'
        }
      }
      markPending(entry.client_id)
      if (error instanceof ApiError && error.status === 429) retryAfterMs = (error.retryAfter ?? 1) * 1000
      return 'retry'
    }
  }
  function takeRetryAfter(): number {
    const v = retryAfterMs
    retryAfterMs = 0
    return v
  }

  // ---- reload cache ---------------------------------------------------------
  let cacheTimer: ReturnType<typeof setTimeout> | undefined

  function saveCache(): void {
    if (cacheTimer !== undefined) {
      clearTimeout(cacheTimer)
      cacheTimer = undefined
    }
    if (!persist || storageCleared) return
    const arr = messages.value
    const tail = arr.slice(-cacheSize)
    writeJson(cacheKey, {
      v: 1,
      epoch: epoch.value,
      hasMore: tail.length < arr.length ? true : hasMore.value,
      cursor,
      messages: tail,
    } satisfies CacheBlob)
  }

  function scheduleCacheSave(): void {
    if (!persist || storageCleared || cacheTimer !== undefined) return
    cacheTimer = setTimeout(saveCache, 400)
  }

  /**
   * Restores the reload cache. The envelope must pass its schema (else the
   * blob is removed); of the messages, the newest ones after the last invalid
   * one are kept, so there is no hole (older ones can be paged in again).
   * The cursor resumes from the newest kept message: a stored cursor above it
   * could only skip messages.
   */
  function loadCache(): void {
    if (!persist) return
    const blob = readValid(cacheKey, cacheBlobSchema)
    if (!blob) return
    const kept = validTail(blob.messages, messageSchema)
    epoch.value = blob.epoch
    cacheUnverified = epoch.value === null
    merge(kept)
    hasMore.value = blob.hasMore || kept.length < blob.messages.length
    if (cacheTimer !== undefined) {
      clearTimeout(cacheTimer)
      cacheTimer = undefined
    }
    // Rewrite a blob that had invalid parts, so they are gone from storage.
    if (kept.length < blob.messages.length || (kept.length > 0 && blob.cursor !== cursor)) saveCache()
  }

  /** Forgets this user's cache and outbox (logout); nothing is written afterwards. */
  function clearStorage(): void {
    storageCleared = true
    if (cacheTimer !== undefined) clearTimeout(cacheTimer)
    cacheTimer = undefined
    removeKey(cacheKey)
    removeKey(outboxKey)
  }

  const onPageHide = () => saveCache()
  if (typeof window !== 'undefined') window.addEventListener('pagehide', onPageHide)

  loadCache()
  loadOutbox()

  function dispose(): void {
    disposed = true
    saveCache()
    if (typeof window !== 'undefined') window.removeEventListener('pagehide', onPageHide)
  }

  return {
    api,
    token: getToken,
    outboxEnabled,
    // state
    messages,
    pending,
    hasMore,
    loadingHistory,
    epoch,
    onlineCount,
    onlineUsers,
    currentUser,
    get everConnected() {
      return everConnected
    },
    set everConnected(value: boolean) {
      everConnected = value
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
    submit,
    findEntry,
    requeueSending,
    markSending,
    markPending,
    markFailed,
    acknowledge,
    complete,
    retry,
    discard,
    sendViaHttp,
    takeRetryAfter,
    // events
    on: emitter.on,
    off: emitter.off,
    emit: emitter.emit,
    // storage
    saveCache,
    clearStorage,
    dispose,
  }
}

export type ChatCore = ReturnType<typeof createChatCore>

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
      return core.submit(content, { room: opts.room, connected: status.value === 'open' })
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

/** Listens to the browser's `online`/`offline`/`visibilitychange` events. */
export function watchBrowser(handlers: { online?: () => void; offline?: () => void; visible?: () => void; hidden?: () => void }) {
  if (typeof window === 'undefined') return () => {}
  const onOnline = () => handlers.online?.()
  const onOffline = () => handlers.offline?.()
  const onVisibility = () => {
    if (document.visibilityState === 'visible') handlers.visible?.()
    else handlers.hidden?.()
  }
  window.addEventListener('online', onOnline)
  window.addEventListener('offline', onOffline)
  document.addEventListener('visibilitychange', onVisibility)
  return () => {
    window.removeEventListener('online', onOnline)
    window.removeEventListener('offline', onOffline)
    document.removeEventListener('visibilitychange', onVisibility)
  }
}

export function isBrowserOffline(): boolean {
  return typeof navigator !== 'undefined' && navigator.onLine === false
}

export type { ErrorFrame, PresenceFrame }
