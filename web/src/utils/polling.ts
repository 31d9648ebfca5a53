/**
 * `usePolling(token)`: the same return shape as `useWebSocket`, over HTTP
 * polling (`GET /api/chat/messages/new?after_id=` and
 * `POST /api/chat/messages`). Used when WebSocket is unavailable (disabled by
 * the server or the build, blocked by a proxy, or not supported).
 *
 * It shares the cursor, the outbox (with `client_id` idempotency) and the
 * reload cache with `useWebSocket`, so switching transports loses nothing.
 * The loop itself (intervals, backoff, 401/429, sending) is `usePoller`.
 */
import type { MaybeRefOrGetter } from 'vue'
import { ApiError } from '@/api/http'
import type { NewMessagesPage } from '@/api/types'
import { usePoller, type PollerOptions } from '@/composables/usePoller'
import { createChatCore, disposeWithScope, transportFields, type ChatConnection, type ChatCore, type ChatCoreOptions } from './chatCore'

export interface UsePollingOptions extends ChatCoreOptions, PollerOptions {
  /** Start polling as soon as the composable is created. Default false (call `connect()`). */
  immediate?: boolean
  /** Pages fetched back to back while the server says `has_more`. Default 20. */
  maxPagesPerPoll?: number
  /** Shares state with another transport (used by `useChat`). */
  core?: ChatCore
}

export type UsePollingReturn = ChatConnection

export function usePolling(token: MaybeRefOrGetter<string>, options: UsePollingOptions = {}): UsePollingReturn {
  const ownsCore = !options.core
  const core = options.core ?? createChatCore(token, options)
  const maxPages = options.maxPagesPerPoll ?? 20

  const poller = usePoller(
    token,
    options,
    { emit: core.emitTransport, link: core.link, outbox: core.outbox },
    {
      async init(signal, current) {
        // (Re)start: who am I, which database is this, then catch up.
        const me = await core.api.me(signal)
        if (!current()) return
        core.currentUser.value = { id: me.id, username: me.username }
        let epoch: string | undefined
        try {
          const config = await core.api.config(signal)
          core.applyServerConfig(config)
          if (typeof config.epoch === 'string' && config.epoch) epoch = config.epoch
        } catch (error) {
          if (!current()) return
          if (error instanceof ApiError && error.status === 401) throw error
          // An older server without /api/config: validate the cache instead.
        }
        if (!current()) return
        if (epoch) core.applyEpoch(epoch)
        // Same epoch and messages in hand: just resume from the cursor.
        if (!epoch || core.messages.value.length === 0 || core.cacheNeedsCheck()) {
          await core.loadLatest({ validate: !epoch || core.cacheNeedsCheck() })
        }
      },
      async poll(signal, current) {
        let resets = 0
        for (let page = 0; page < maxPages; page++) {
          const result = await core.api.newMessages(core.lastId(), signal)
          if (!current()) return
          if (result?.reset === true) {
            // Once per poll: a server that keeps answering reset is not looped on.
            if (resets++ > 0) break
            await restartFrom(result)
            if (!current()) return
            continue
          }
          core.merge(Array.isArray(result?.messages) ? result.messages : [])
          if (typeof result?.last_id === 'number') core.advanceCursor(result.last_id)
          if (!result?.has_more) break
        }
      },
      async presence(_signal, current) {
        const online = await core.api.onlineUsers()
        if (!current()) return
        // The server lists WebSocket users only; a polling client is online too.
        const me = core.currentUser.value
        const users = Array.isArray(online.users) ? online.users : []
        if (me && !users.some((u) => u.id === me.id)) core.setPresence(online.count + 1, [...users, me])
        else core.setPresence(online.count, users)
      },
      send: (entry) => core.sendViaHttp(entry),
    },
  )

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

  const offQueued = core.on('queued', () => poller.flush())
  disposeWithScope(core, ownsCore, poller.disconnect, offQueued)

  if (options.immediate) poller.connect()

  return {
    ...transportFields(core, poller.status, poller.explicitlyClosed),
    connect: poller.connect,
    disconnect: poller.disconnect,
    reconnectNow: poller.reconnectNow,
  }
}
