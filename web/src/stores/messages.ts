/**
 * Messages per room: merged by id (ascending, no duplicates), the newest page
 * loaded over REST when a room is opened, older pages on scroll-up.
 *
 * A room's list is replaced on change, never mutated (copy on write), and not
 * made deeply reactive (`markRaw`): thousands of messages stay cheap.
 */
import { defineStore } from 'pinia'
import { markRaw, reactive, ref } from 'vue'
import type { ChatMessage } from '@/api/types'
import { useApi } from '@/composables/useApi'
import { mergeMessages } from '@/utils/messages'
import { withRetryAfter } from '@/utils/retry'

export interface RoomLog {
  /** Ascending by id. Render `content` as text only. */
  messages: readonly ChatMessage[]
  /** Older messages exist on the server. */
  hasMore: boolean
  loading: boolean
  /**
   * The newest page was merged while the stream was in sync, so the list has
   * no gap up to now (live messages alone may start anywhere).
   */
  complete: boolean
}

/** Messages kept per room; the oldest are dropped past it (and can be paged in again). */
const MAX_PER_ROOM = 3000
const PAGE_SIZE = 50

export const useMessagesStore = defineStore('messages', () => {
  const api = useApi()
  const logs = ref(new Map<number, RoomLog>())
  /** Bumped by `reset`: late answers are ignored, views reload. */
  const generation = ref(0)

  function log(roomId: number): RoomLog {
    let entry = logs.value.get(roomId)
    if (!entry) {
      logs.value.set(roomId, reactive({ messages: markRaw([]), hasMore: true, loading: false, complete: false }))
      entry = logs.value.get(roomId)!
    }
    return entry
  }

  function peek(roomId: number): RoomLog | undefined {
    return logs.value.get(roomId)
  }

  /** Merges messages into a room's list; returns those that were new. */
  function merge(roomId: number, incoming: readonly unknown[]): ChatMessage[] {
    const entry = log(roomId)
    const { list, added } = mergeMessages(entry.messages, incoming)
    if (list) {
      if (list.length > MAX_PER_ROOM) {
        list.splice(0, list.length - MAX_PER_ROOM)
        entry.hasMore = true
      }
      entry.messages = markRaw(list)
    }
    return added
  }

  /** Loads the newest page of a room (after the stream is in sync, so nothing falls between). */
  async function loadLatest(roomId: number): Promise<void> {
    const entry = log(roomId)
    if (entry.loading) return
    const gen = generation.value
    entry.loading = true
    try {
      const page = await withRetryAfter(() => api.roomHistory(roomId, undefined, PAGE_SIZE), {
        cancelled: () => gen !== generation.value,
      })
      if (!page || gen !== generation.value || logs.value.get(roomId) !== entry) return
      const list = Array.isArray(page.messages) ? page.messages : []
      const oldestBefore = entry.messages[0]?.id
      merge(roomId, list)
      // An empty newest page: the room has no history at all.
      if (list.length === 0) entry.hasMore = false
      else if (oldestBefore === undefined || oldestBefore >= list[0]!.id) entry.hasMore = !!page.has_more
      entry.complete = true
    } finally {
      entry.loading = false
    }
  }

  /** Loads the page before the oldest message shown. Resolves to the number of messages added. */
  async function loadOlder(roomId: number): Promise<number> {
    const entry = log(roomId)
    if (entry.loading || (entry.messages.length > 0 && !entry.hasMore)) return 0
    const oldest = entry.messages[0]?.id
    if (oldest === undefined) {
      await loadLatest(roomId)
      return entry.messages.length
    }
    const gen = generation.value
    entry.loading = true
    try {
      const page = await withRetryAfter(() => api.roomHistory(roomId, oldest, PAGE_SIZE), {
        cancelled: () => gen !== generation.value,
      })
      if (!page || gen !== generation.value || logs.value.get(roomId) !== entry) return 0
      const added = merge(roomId, Array.isArray(page.messages) ? page.messages : [])
      entry.hasMore = !!page.has_more && added.length > 0
      return added.length
    } finally {
      entry.loading = false
    }
  }

  /**
   * Unread messages after `lastReadId` written by others, when this list
   * covers them all (it is complete and reaches back to `lastReadId`); else
   * null (ask the server).
   */
  function countAfter(roomId: number, lastReadId: number, meId: number | null): number | null {
    const entry = logs.value.get(roomId)
    if (!entry?.complete) return null
    const first = entry.messages[0]
    if (!first || (first.id > lastReadId + 1 && entry.hasMore)) return null
    return entry.messages.filter((m) => m.id > lastReadId && m.user_id !== meId).length
  }

  /** Forgets a room's messages (the user left, or lost access). */
  function drop(roomId: number): void {
    logs.value.delete(roomId)
  }

  /** Forgets everything (logout, a new database, a reset cursor). */
  function reset(): void {
    logs.value = new Map()
    generation.value++
  }

  return { logs, generation, log, peek, merge, loadLatest, loadOlder, countAfter, drop, reset }
})
