/**
 * `usePolling(token)`: the same return shape as `useWebSocket`, over HTTP
 * polling (`GET /api/chat/messages/new?after_id=` and
 * `POST /api/chat/messages`). Used when WebSocket is unavailable (disabled by
 * the server or the build, blocked by a proxy, or not supported).
 *
 * It shares the cursor, the outbox (with `client_id` idempotency) and the
 * reload cache with `useWebSocket`, so switching transports loses nothing.
 */
import { ref, type MaybeRefOrGetter } from 'vue'
import { ApiError, retryAfterMs } from '@/api/http'
import type { NewMessagesPage } from '@/api/types'
import { backoffDelay, type BackoffOptions } from './backoff'
import {
  createChatCore,
  disposeWithScope,
  transportFields,
  isBrowserOffline,
  watchBrowser,
  type ChatConnection,
  type ChatCore,
  type ChatCoreOptions,
  type ConnectionStatus,
} from './chatCore'

export interface UsePollingOptions extends ChatCoreOptions {
  /** Start polling as soon as the composable is created. Default false (call `connect()`). */
  immediate?: boolean
  /** Delay between polls while the page is visible, in ms. Default 2000. */
  interval?: number
  /** Delay between polls while the page is hidden, in ms. Default 10000. */
  hiddenInterval?: number
  /** How often the online list is refreshed, in ms. Default 10000. */
  presenceInterval?: number
  /** Backoff after failed polls. Defaults of `BackoffOptions`. */
  backoff?: BackoffOptions
  /** Pages fetched back to back while the server says `has_more`. Default 20. */
  maxPagesPerPoll?: number
  /** Shares state with another transport (used by `useChat`). */
  core?: ChatCore
}

export type UsePollingReturn = ChatConnection

export function usePolling(token: MaybeRefOrGetter<string>, options: UsePollingOptions = {}): UsePollingReturn {
  const ownsCore = !options.core
  const core = options.core ?? createChatCore(token, options)
  const interval = options.interval ?? 2000
  const hiddenInterval = options.hiddenInterval ?? 10_000
  const presenceInterval = options.presenceInterval ?? 10_000
  const maxPages = options.maxPagesPerPoll ?? 20

  const status = ref<ConnectionStatus>('idle')
  const explicitlyClosed = ref(false)

  let running = false
  let generation = 0
  let initialized = false
  let inTick = false
  let failures = 0
  let lastPresence = -Infinity
  let timer: ReturnType<typeof setTimeout> | undefined
  let abort: AbortController | undefined
  let sending = false
  let sendPausedUntil = 0
  let unwatchBrowser: (() => void) | undefined

  function isHidden(): boolean {
    return typeof document !== 'undefined' && document.visibilityState === 'hidden'
  }

  function schedule(delay: number): void {
    if (timer !== undefined) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      void tick()
    }, delay)
  }

  async function tick(): Promise<void> {
    if (!running || inTick) return
    inTick = true
    const gen = generation
    abort = new AbortController()
    try {
      if (!initialized) {
        // (Re)start: who am I, which database is this, then catch up.
        const me = await core.api.me(abort.signal)
        if (gen !== generation) return
        core.currentUser.value = { id: me.id, username: me.username }
        let epoch: string | undefined
        try {
          const config = await core.api.config(abort.signal)
          core.applyServerConfig(config)
          if (typeof config.epoch === 'string' && config.epoch) epoch = config.epoch
        } catch (error) {
          if (gen !== generation) return
          if (error instanceof ApiError && error.status === 401) throw error
          // An older server without /api/config: validate the cache instead.
        }
        if (gen !== generation) return
        if (epoch) core.applyEpoch(epoch)
        // Same epoch and messages in hand: just resume from the cursor.
        if (!epoch || core.messages.value.length === 0 || core.cacheNeedsCheck()) {
          await core.loadLatest({ validate: !epoch || core.cacheNeedsCheck() })
        }
        if (gen !== generation) return
        initialized = true
      }
      let resets = 0
      for (let page = 0; page < maxPages; page++) {
        const result = await core.api.newMessages(core.lastId(), abort.signal)
        if (gen !== generation) return
        if (result?.reset === true) {
          // Once per poll: a server that keeps answering reset is not looped on.
          if (resets++ > 0) break
          await restartFrom(result)
          if (gen !== generation) return
          continue
        }
        core.merge(Array.isArray(result?.messages) ? result.messages : [])
        if (typeof result?.last_id === 'number') core.advanceCursor(result.last_id)
        if (!result?.has_more) break
      }
      if (Date.now() - lastPresence >= presenceInterval) {
        try {
          const online = await core.api.onlineUsers()
          if (gen !== generation) return
          // The server lists WebSocket users only; a polling client is online too.
          const me = core.currentUser.value
          const users = Array.isArray(online.users) ? online.users : []
          if (me && !users.some((u) => u.id === me.id)) core.setPresence(online.count + 1, [...users, me])
          else core.setPresence(online.count, users)
          lastPresence = Date.now()
        } catch (error) {
          if (error instanceof ApiError && error.status === 401) throw error
          // presence is best effort
        }
      }
      failures = 0
      if (status.value !== 'open') {
        const resumed = core.everConnected
        status.value = 'open'
        core.everConnected = true
        core.emit('connected', { transport: 'polling', resumed })
      }
      void pump()
      schedule(isHidden() ? hiddenInterval : interval)
    } catch (error) {
      if (gen !== generation || !running) return
      if (error instanceof ApiError && error.status === 401) {
        stop()
        core.emit('unauthorized', { reason: 'token rejected' })
        return
      }
      if (error instanceof ApiError && error.status === 429) {
        // Reading too much is not an outage: keep the state (no re-init, which
        // would cost more requests) and wait at least as long as told.
        schedule(Math.max(retryAfterMs(error), interval))
        return
      }
      const delay = Math.max(backoffDelay(failures, options.backoff), isBrowserOffline() ? hiddenInterval : 0)
      failures++
      // After an outage, check the epoch again (the database may have been replaced).
      initialized = false
      const wasOpen = status.value === 'open'
      status.value = core.everConnected ? 'reconnecting' : 'connecting'
      if (wasOpen) core.emit('disconnected', { transport: 'polling', willRetry: true })
      core.emit('reconnecting', { transport: 'polling', attempt: failures, delay })
      schedule(delay)
    } finally {
      if (gen === generation) inTick = false
    }
  }

  /**
   * The server ignored our cursor (above its newest id: a restored backup or
   * a rolled-back database): drop the cache, continue from its `last_id` and
   * reload the newest history. Messages in such an answer are not merged, so
   * the cursor never ends up above `last_id`.
   */
  async function restartFrom(result: NewMessagesPage): Promise<void> {
    core.resetCursor('polling', result.last_id)
    await core.loadLatest()
  }

  /** Sends queued messages one at a time, in order. */
  async function pump(): Promise<void> {
    if (sending || !running || status.value !== 'open') return
    if (Date.now() < sendPausedUntil) return
    sending = true
    const gen = generation
    try {
      for (;;) {
        if (!running || gen !== generation) return
        const entry = core.pending.value.find((e) => e.state === 'pending')
        if (!entry) return
        const result = await core.sendViaHttp(entry)
        if (result === 'unauthorized') {
          stop()
          core.emit('unauthorized', { reason: 'token rejected' })
          return
        }
        if (result === 'retry') {
          // Network or server trouble: the next successful poll resumes sending.
          sendPausedUntil = Date.now() + Math.max(core.takeRetryAfter(), 1000)
          return
        }
      }
    } finally {
      sending = false
    }
  }

  const offQueued = core.on('queued', () => {
    if (status.value === 'open') {
      sendPausedUntil = 0
      void pump()
    }
  })

  function stop(): void {
    running = false
    generation++
    inTick = false
    abort?.abort()
    abort = undefined
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    core.requeueSending()
    unwatchBrowser?.()
    unwatchBrowser = undefined
    status.value = 'closed'
  }

  function connect(): void {
    explicitlyClosed.value = false
    if (running) return
    if (!core.token()) {
      status.value = 'closed'
      core.emit('unauthorized', { reason: 'missing token' })
      return
    }
    running = true
    generation++
    initialized = false
    failures = 0
    lastPresence = -Infinity
    status.value = core.everConnected ? 'reconnecting' : 'connecting'
    unwatchBrowser = watchBrowser({
      online: () => reconnectNow(),
      visible: () => reconnectNow(),
    })
    void tick()
  }

  function disconnect(): void {
    explicitlyClosed.value = true
    stop()
  }

  /** Polls at once (resets the backoff). */
  function reconnectNow(): void {
    if (!running || inTick) return
    failures = 0
    sendPausedUntil = 0
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    void tick()
  }

  disposeWithScope(core, ownsCore, disconnect, offQueued)

  if (options.immediate) connect()

  return {
    ...transportFields(core, status, explicitlyClosed),
    connect,
    disconnect,
    reconnectNow,
  }
}
