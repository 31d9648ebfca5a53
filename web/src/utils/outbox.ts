/**
 * The outbox: messages the user typed that the server has not confirmed yet.
 * Entries keep their `client_id` from the moment they are queued, so a resend
 * (after a reconnect, a reload or a transport switch) is never stored twice.
 * Persisted in localStorage (checked against a schema when read back) and
 * merged with what other tabs of the same user queued.
 *
 * Used by the lobby client (`chatCore`) and by the rooms app (`stores/outbox`).
 */
import { ref, type Ref } from 'vue'
import { ApiError, describeError, type ApiClient } from '@/api/http'
import type { ChatMessage, FileInfo } from '@/api/types'
import { t } from '@/i18n'
import { contentProblem, MAX_MESSAGE_CHARS, normalizeContent } from './content'
import { createClientId } from './ids'
import { outboxBlobSchema, outboxEntrySchema, validItems, type StoredOutboxEntry } from './schemas'
import { readValid, removeKey, writeJson } from './storage'

/** A message the user sent that the server has not confirmed yet. */
export interface OutgoingMessage {
  client_id: string
  /** Normalised content, exactly as it is sent. */
  content: string
  /** Lobby client: the room's name (`room` of PROTOCOL.md §2); absent means the lobby. */
  room?: string
  /** Rooms app: the room's id (PROTOCOL.md §3); absent means the lobby. */
  room_id?: number
  /** §4: the message this one replies to (sent with every attempt, like `client_id`). */
  reply_to?: number
  /** Uploaded files it carries (their ids go with every attempt; shown while pending). */
  files?: FileInfo[]
  /** Local time it was queued (ms). */
  queued_at: number
  /** `pending`: waiting to be sent; `sending`: on the wire, no ack yet; `failed`: refused or unconfirmed, needs `retry`. */
  state: 'pending' | 'sending' | 'failed'
  /** Why it failed (Chinese, for display). */
  error?: string
  attempts: number
}

/** Thrown by `submit` when the content can never be sent, or (outbox disabled) while offline. */
export class ChatSendError extends Error {
  override readonly name = 'ChatSendError'
  constructor(
    readonly code: 'empty' | 'too_long' | 'not_connected',
    message: string,
  ) {
    super(message)
  }
}

/** How one HTTP send ended: the caller's transport decides what to do next. */
export type HttpSendResult = 'sent' | 'retry' | 'failed' | 'unauthorized'

export interface OutboxOptions {
  /** localStorage key. */
  key: string
  /** Envelope version written; `accept` lists the versions read (older ones are migrated as they are). */
  version: number
  accept: readonly number[]
  /** Keep the outbox in localStorage. Default true. */
  persist?: boolean
  /** When false, `submit` throws `ChatSendError('not_connected')` while offline. Default true. */
  enabled?: boolean
  maxChars?: number
  /** An entry was queued or retried (transports flush on it). */
  onQueued?: (entry: OutgoingMessage) => void
  /** An entry failed for good (shown on the message; retryable). */
  onFailed?: (entry: OutgoingMessage) => void
  /** The server stored an entry (`message` is its stored copy). */
  onCompleted?: (clientId: string, message: ChatMessage) => void
}

export function createOutbox(options: OutboxOptions) {
  const persist = options.persist ?? true
  const enabled = options.enabled ?? true
  const maxChars = options.maxChars ?? MAX_MESSAGE_CHARS
  const pending: Ref<OutgoingMessage[]> = ref([])
  /** Entries this tab finished: never resurrected from another tab's older copy. */
  const removed = new Set<string>()
  /** Set by `clearStorage` (logout): stop persisting. */
  let cleared = false
  /** Set after a 429 on an HTTP send, read (and cleared) by the transports. */
  let retryAfterMs = 0

  /** The stored entries that pass the schema (invalid ones are dropped). */
  function stored(): { entries: StoredOutboxEntry[]; total: number } | null {
    const blob = readValid(options.key, outboxBlobSchema)
    if (!blob || !options.accept.includes(blob.v)) {
      if (blob) removeKey(options.key)
      return null
    }
    return { entries: validItems(blob.entries, outboxEntrySchema), total: blob.entries.length }
  }

  function save(): void {
    if (!persist || cleared) return
    // Merge with what is stored so another tab's queued messages are not lost.
    const mine = new Set(pending.value.map((e) => e.client_id))
    const others = (stored()?.entries ?? []).filter((e) => !mine.has(e.client_id) && !removed.has(e.client_id)).map(toOutgoing)
    const entries = [...others, ...pending.value.map((e) => ({ ...e }))].sort((a, b) => a.queued_at - b.queued_at)
    if (entries.length === 0) removeKey(options.key)
    else writeJson(options.key, { v: options.version, entries })
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
    if (e.room_id !== undefined) entry.room_id = e.room_id
    if (e.reply_to !== undefined) entry.reply_to = e.reply_to
    if (e.files !== undefined && e.files.length > 0) entry.files = e.files
    if (e.error !== undefined) entry.error = e.error
    return entry
  }

  function load(): void {
    if (!persist) return
    const blob = stored()
    if (!blob) return
    pending.value = blob.entries.map(toOutgoing)
    // Rewrite without the entries that failed the schema (or in the current envelope).
    if (blob.entries.length !== blob.total) save()
  }

  function find(clientId: string): OutgoingMessage | undefined {
    return pending.value.find((e) => e.client_id === clientId)
  }

  /**
   * Validates, queues and persists a message. Returns its `client_id`.
   * With `files`, the text may be empty (a caption is optional).
   */
  function submit(
    raw: string,
    opts: { room?: string; room_id?: number; reply_to?: number; files?: readonly FileInfo[]; connected: boolean },
  ): string {
    const content = normalizeContent(typeof raw === 'string' ? raw : String(raw ?? ''))
    const files = opts.files && opts.files.length > 0 ? opts.files.map((f) => ({ ...f })) : undefined
    const problem = contentProblem(content, maxChars)
    if (problem === 'empty' && !files) throw new ChatSendError('empty', t('chat.send.empty'))
    if (problem === 'too_long') throw new ChatSendError('too_long', t('chat.send.tooLong', { max: maxChars }))
    if (!enabled && !opts.connected) throw new ChatSendError('not_connected', t('chat.send.notConnected'))
    const entry: OutgoingMessage = { client_id: createClientId(), content, queued_at: Date.now(), state: 'pending', attempts: 0 }
    if (opts.room) entry.room = opts.room
    if (opts.room_id !== undefined) entry.room_id = opts.room_id
    if (opts.reply_to !== undefined) entry.reply_to = opts.reply_to
    if (files) entry.files = files
    pending.value.push(entry)
    save()
    options.onQueued?.(entry)
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
    if (changed) save()
  }

  function markSending(entry: OutgoingMessage): void {
    entry.state = 'sending'
    entry.attempts++
    delete entry.error
    save()
  }

  function markPending(clientId: string): void {
    const e = find(clientId)
    if (e && e.state !== 'failed') {
      e.state = 'pending'
      save()
    }
  }

  function markFailed(clientId: string, error: string): void {
    const e = find(clientId)
    if (!e) return
    e.state = 'failed'
    e.error = error
    save()
    options.onFailed?.({ ...e })
  }

  /** Removes an entry; returns it (undefined when it was not queued here). */
  function remove(clientId: string): OutgoingMessage | undefined {
    const i = pending.value.findIndex((e) => e.client_id === clientId)
    if (i < 0) return undefined
    const [entry] = pending.value.splice(i, 1)
    removed.add(clientId)
    save()
    return entry
  }

  /** The server stored the message: drop it from the outbox and hand it on. */
  function complete(clientId: string, message: ChatMessage): void {
    remove(clientId)
    options.onCompleted?.(clientId, message)
  }

  /** Resend a failed message (same `client_id`, so it can never be stored twice). */
  function retry(clientId: string): void {
    const e = find(clientId)
    if (!e || e.state !== 'failed') return
    e.state = 'pending'
    delete e.error
    save()
    options.onQueued?.(e)
  }

  /** Drops the entries of rooms the user can no longer send to (removed, room gone). */
  function dropWhere(predicate: (entry: OutgoingMessage) => boolean): void {
    for (const e of pending.value.filter(predicate)) remove(e.client_id)
  }

  /**
   * Sends one entry over REST (`post`): polling transports, and WebSocket
   * frames that would exceed the server's frame limit.
   */
  async function sendViaHttp(entry: OutgoingMessage, post: (entry: OutgoingMessage) => Promise<ChatMessage>): Promise<HttpSendResult> {
    markSending(entry)
    try {
      complete(entry.client_id, await post(entry))
      return 'sent'
    } catch (error) {
      if (error instanceof ApiError) {
        if (error.status === 401) {
          markPending(entry.client_id)
          return 'unauthorized'
        }
        // Refused for good (invalid, too large, archived, no access): the user decides.
        if (error.status === 400 || error.status === 413 || error.status === 409 || error.status === 403 || error.status === 404) {
          markFailed(entry.client_id, replyGone(entry, error.code) ?? describeError(error))
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

  /** Forgets the stored outbox (logout); nothing is written afterwards. */
  function clearStorage(): void {
    cleared = true
    removeKey(options.key)
  }

  load()

  return {
    enabled,
    pending,
    find,
    submit,
    requeueSending,
    markSending,
    markPending,
    markFailed,
    remove,
    complete,
    retry,
    discard: (clientId: string) => void remove(clientId),
    dropWhere,
    sendViaHttp,
    takeRetryAfter,
    clearStorage,
  }
}

export type Outbox = ReturnType<typeof createOutbox>

/** A reply refused with `not_found`: the quoted message may be gone (§4), or the room. */
export function replyGone(entry: Pick<OutgoingMessage, 'reply_to'> | undefined, code: string): string | null {
  return entry?.reply_to !== undefined && code === 'not_found' ? t('chat.send.replyGone') : null
}

/** The ids of an entry's files (what the frame and the REST body carry), or undefined without files. */
export function fileIds(entry: Pick<OutgoingMessage, 'files'>): number[] | undefined {
  return entry.files && entry.files.length > 0 ? entry.files.map((f) => f.id) : undefined
}

/** Posts an entry with the client's REST API (lobby: `/api/chat/messages`; rooms: `/api/rooms/{id}/messages`). */
export function postEntry(api: ApiClient, entry: OutgoingMessage): Promise<ChatMessage> {
  return entry.room_id === undefined
    ? api.send(entry.content, entry.client_id, entry.reply_to)
    : api.sendToRoom(entry.room_id, entry.content, entry.client_id, entry.reply_to, fileIds(entry))
}
