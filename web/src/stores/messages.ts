/**
 * Messages per room: merged by id (ascending, no duplicates), the newest page
 * loaded over REST when a room is opened, older pages on scroll-up.
 *
 * A room's list is replaced on change, never mutated (copy on write), and not
 * made deeply reactive (`markRaw`): thousands of messages stay cheap.
 *
 * §4: edits, deletions and reactions (`applyEdited` …) replace a message in
 * place and update the reply quotes of it. They are remembered for a while
 * (`patches`): a REST page asked for before one of them was applied may
 * predate it, so the change is applied on top of the page.
 *
 * Jumping to a message outside the list (`loadAround`) replaces the list with
 * a window around it; while that window does not reach the newest message
 * (`newer`), live messages wait in a buffer and join the list when the window
 * catches up (`loadNewer`), or the room goes back to its newest page
 * (`jumpToLatest`).
 */
import { defineStore } from 'pinia'
import { markRaw, reactive, ref } from 'vue'
import type { ChatMessage, HistoryPage, Reaction, ReplyRef } from '@/api/types'
import { useApi } from '@/composables/useApi'
import { createPatchLog } from '@/utils/messagePatches'
import { deletedCopy, findById, indexOfId, mentionsUser, mergeMessages, preferNewer, replyRef, withReactions } from '@/utils/messages'
import { withRetryAfter } from '@/utils/retry'
import { parseMessage } from '@/utils/schemas'

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
  /** The list is a window of older messages (a jump): newer ones exist on the server. */
  newer: boolean
}

/** Live messages held while a room shows an older window. */
interface Buffer {
  messages: ChatMessage[]
  /** Every live message since the window opened is in it (nothing dropped, no gap before). */
  whole: boolean
}

/** Messages kept per room; the oldest are dropped past it (and can be paged in again). */
const MAX_PER_ROOM = 3000
const PAGE_SIZE = 50
const MAX_BUFFER = 1000

export const useMessagesStore = defineStore('messages', () => {
  const api = useApi()
  const logs = ref(new Map<number, RoomLog>())
  /** Bumped by `reset`: late answers are ignored, views reload. */
  const generation = ref(0)
  const buffers = new Map<number, Buffer>()
  const patches = createPatchLog()

  function log(roomId: number): RoomLog {
    let entry = logs.value.get(roomId)
    if (!entry) {
      logs.value.set(roomId, reactive({ messages: markRaw([]), hasMore: true, loading: false, complete: false, newer: false }))
      entry = logs.value.get(roomId)!
    }
    return entry
  }

  function peek(roomId: number): RoomLog | undefined {
    return logs.value.get(roomId)
  }

  function setList(entry: RoomLog, list: ChatMessage[]): void {
    if (list.length > MAX_PER_ROOM) {
      list.splice(0, list.length - MAX_PER_ROOM)
      entry.hasMore = true
    }
    entry.messages = markRaw(list)
  }

  /** Valid messages of a page, with the stream's changes since `since` on top. */
  function fromPage(incoming: readonly unknown[], since: number): ChatMessage[] {
    return incoming.map(parseMessage).flatMap((m) => (m ? [patches.apply(m, since)] : []))
  }

  /**
   * Merges messages into a room's list; returns those that were new.
   * `since`: the `tick()` when the page was asked for (its answer may predate
   * changes the stream delivered meanwhile).
   */
  function merge(roomId: number, incoming: readonly unknown[], since?: number): ChatMessage[] {
    const entry = log(roomId)
    const { list, added } = mergeMessages(entry.messages, since === undefined ? incoming : fromPage(incoming, since))
    if (list) setList(entry, list)
    return added
  }

  /** A live message (the stream, an ack): into the list, or the buffer while an older window is shown. */
  function receive(roomId: number, m: ChatMessage): ChatMessage[] {
    const entry = logs.value.get(roomId)
    const buffer = buffers.get(roomId)
    if (!entry?.newer || !buffer) return merge(roomId, [m])
    if (findById(entry.messages, m.id)) return merge(roomId, [m])
    const { list, added } = mergeMessages(buffer.messages, [m])
    if (list) buffer.messages = list
    if (buffer.messages.length > MAX_BUFFER) {
      buffer.messages.splice(0, buffer.messages.length - MAX_BUFFER)
      buffer.whole = false
    }
    return added
  }

  // ---- §4: changes to stored messages --------------------------------------------

  /** Replaces message `id` of a room (list and buffer) with `fn(old)`; returns the old one. */
  function update(roomId: number, id: number, fn: (old: ChatMessage) => ChatMessage): ChatMessage | undefined {
    let before: ChatMessage | undefined
    const entry = logs.value.get(roomId)
    if (entry) {
      const i = indexOfId(entry.messages, id)
      const old = entry.messages[i]
      if (old && old.id === id) {
        before = old
        const next = fn(old)
        if (next !== old) {
          const list = entry.messages.slice()
          list[i] = next
          entry.messages = markRaw(list)
        }
      }
    }
    const buffer = buffers.get(roomId)
    if (buffer) {
      const i = indexOfId(buffer.messages, id)
      const old = buffer.messages[i]
      if (old && old.id === id) {
        before ??= old
        buffer.messages[i] = fn(old)
      }
    }
    return before
  }

  /** The quotes of message `id` in replies of the room follow it (edited, deleted). */
  function updateQuotes(roomId: number, id: number, quote: (old: ReplyRef) => ReplyRef): void {
    const entry = logs.value.get(roomId)
    if (!entry || !entry.messages.some((m) => m.reply_to?.id === id)) return
    entry.messages = markRaw(
      entry.messages.map((m) => {
        if (m.reply_to?.id !== id) return m
        const next = quote(m.reply_to)
        return JSON.stringify(next) === JSON.stringify(m.reply_to) ? m : { ...m, reply_to: next }
      }),
    )
  }

  /** `message_edited`: the message as it is now. Returns the copy it replaced (if it was loaded). */
  function applyEdited(roomId: number, message: ChatMessage): ChatMessage | undefined {
    patches.edited(message)
    const before = update(roomId, message.id, (old) => preferNewer(old, message))
    const current = find(roomId, message.id) ?? message
    updateQuotes(roomId, message.id, () => replyRef(current))
    return before
  }

  /** `message_deleted`. Returns the message as it was before (undefined: not loaded, or deleted already). */
  function applyDeleted(roomId: number, id: number): ChatMessage | undefined {
    patches.deleted(id)
    let before: ChatMessage | undefined
    update(roomId, id, (old) => {
      if (old.deleted) return old
      before = old
      return deletedCopy(old)
    })
    updateQuotes(roomId, id, (old) => ({ id, user_id: old.user_id, username: old.username, content: '', deleted: true }))
    return before
  }

  /** `reaction` (and the answer of our own `PUT`/`DELETE`): the whole list replaces the old one. */
  function applyReactions(roomId: number, id: number, reactions: readonly Reaction[]): void {
    patches.reactions(id, reactions)
    update(roomId, id, (old) => {
      if (old.deleted) return old
      const next = withReactions(old, reactions)
      return JSON.stringify(next.reactions) === JSON.stringify(old.reactions) ? old : next
    })
  }

  /** A loaded message of a room, if any (list or buffer). */
  function find(roomId: number, id: number): ChatMessage | undefined {
    return findById(logs.value.get(roomId)?.messages ?? [], id) ?? findById(buffers.get(roomId)?.messages ?? [], id)
  }

  // ---- REST pages -------------------------------------------------------------------

  async function page(roomId: number, entry: RoomLog, fetch: () => Promise<HistoryPage>): Promise<{ page: HistoryPage; since: number } | null> {
    const gen = generation.value
    const since = patches.tick()
    const answer = await withRetryAfter(fetch, { cancelled: () => gen !== generation.value })
    if (!answer || gen !== generation.value || logs.value.get(roomId) !== entry) return null
    return { page: answer, since }
  }

  /** Loads the newest page of a room (after the stream is in sync, so nothing falls between). */
  async function loadLatest(roomId: number): Promise<void> {
    const entry = log(roomId)
    if (entry.loading) return
    entry.loading = true
    try {
      const got = await page(roomId, entry, () => api.roomHistory(roomId, undefined, PAGE_SIZE))
      if (!got || entry.newer) return
      const list = Array.isArray(got.page.messages) ? got.page.messages : []
      const oldestBefore = entry.messages[0]?.id
      merge(roomId, list, got.since)
      // An empty newest page: the room has no history at all.
      if (list.length === 0) entry.hasMore = false
      else if (oldestBefore === undefined || oldestBefore >= list[0]!.id) entry.hasMore = !!got.page.has_more
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
    entry.loading = true
    try {
      const got = await page(roomId, entry, () => api.roomHistory(roomId, oldest, PAGE_SIZE))
      if (!got) return 0
      const added = merge(roomId, Array.isArray(got.page.messages) ? got.page.messages : [], got.since)
      entry.hasMore = !!got.page.has_more && added.length > 0
      return added.length
    } finally {
      entry.loading = false
    }
  }

  /**
   * Shows the messages around `messageId` (a reply's original outside the
   * list): the list is replaced by that page. Rejects like the REST call
   * (404: deleted, or not in this room).
   */
  async function loadAround(roomId: number, messageId: number): Promise<void> {
    const entry = log(roomId)
    entry.loading = true
    let reload = false
    try {
      const got = await page(roomId, entry, () => api.roomAround(roomId, messageId, PAGE_SIZE))
      if (!got) return
      const list = fromPage(Array.isArray(got.page.messages) ? got.page.messages : [], got.since).sort((a, b) => a.id - b.id)
      const newest = list[list.length - 1]?.id ?? 0
      if (!entry.newer) {
        // Leaving the live list. What it has after the window starts the buffer:
        // messages that arrived while the page was on its way may be newer than it.
        buffers.set(roomId, { messages: entry.messages.filter((m) => m.id > newest), whole: true })
      }
      entry.messages = markRaw(mergeMessages([], list).list ?? [])
      entry.hasMore = !!got.page.has_more
      entry.newer = true
      entry.complete = false
      if (!got.page.has_more_after) reload = !rejoin(roomId, entry)
    } finally {
      entry.loading = false
    }
    if (reload) await loadLatest(roomId)
  }

  /** Loads the messages after the window (scrolling down). Resolves to the number added. */
  async function loadNewer(roomId: number): Promise<number> {
    const entry = log(roomId)
    const newest = entry.messages[entry.messages.length - 1]?.id
    if (entry.loading || !entry.newer) return 0
    if (newest === undefined) {
      await jumpToLatest(roomId)
      return 0
    }
    entry.loading = true
    let reload = false
    let added = 0
    try {
      const got = await page(roomId, entry, () => api.roomAround(roomId, newest, PAGE_SIZE))
      if (!got || !entry.newer) return 0
      added = merge(roomId, Array.isArray(got.page.messages) ? got.page.messages : [], got.since).length
      if (!got.page.has_more_after) reload = !rejoin(roomId, entry)
    } finally {
      entry.loading = false
    }
    if (reload) await loadLatest(roomId)
    return added
  }

  /** The window reached the newest message: the buffered live messages follow it. False: reload the newest page. */
  function rejoin(roomId: number, entry: RoomLog): boolean {
    const buffer = buffers.get(roomId)
    buffers.delete(roomId)
    entry.newer = false
    if (buffer?.whole) {
      const { list } = mergeMessages(entry.messages, buffer.messages)
      if (list) setList(entry, list)
      entry.complete = true
      return true
    }
    // Too much arrived meanwhile (something may be missing between): start from the newest page.
    entry.messages = markRaw([])
    entry.complete = false
    entry.hasMore = true
    return false
  }

  /** Back to the newest messages (「回到最新」): the window goes, the newest page loads. */
  async function jumpToLatest(roomId: number): Promise<void> {
    const entry = logs.value.get(roomId)
    if (!entry?.newer) return
    buffers.delete(roomId)
    entry.messages = markRaw([])
    entry.newer = false
    entry.complete = false
    entry.hasMore = true
    entry.loading = false
    await loadLatest(roomId)
  }

  /**
   * Unread messages after `lastReadId` written by others, when this list
   * covers them all (it is complete and reaches back to `lastReadId`); else
   * null (ask the server).
   */
  function countAfter(roomId: number, lastReadId: number, meId: number | null): number | null {
    const list = covering(roomId, lastReadId)
    return list && list.filter((m) => m.id > lastReadId && m.user_id !== meId).length
  }

  /** As `countAfter`, for the unread messages that mention `meId`. */
  function mentionsAfter(roomId: number, lastReadId: number, meId: number | null): number | null {
    const list = covering(roomId, lastReadId)
    return list && list.filter((m) => m.id > lastReadId && m.user_id !== meId && mentionsUser(m, meId)).length
  }

  function covering(roomId: number, lastReadId: number): readonly ChatMessage[] | null {
    const entry = logs.value.get(roomId)
    if (!entry?.complete) return null
    const first = entry.messages[0]
    if (!first || (first.id > lastReadId + 1 && entry.hasMore)) return null
    return entry.messages
  }

  /** Forgets a room's messages (the user left, or lost access). */
  function drop(roomId: number): void {
    logs.value.delete(roomId)
    buffers.delete(roomId)
  }

  /** Forgets everything (logout, a new database, a reset cursor). */
  function reset(): void {
    logs.value = new Map()
    buffers.clear()
    patches.clear()
    generation.value++
  }

  return {
    logs,
    generation,
    log,
    peek,
    merge,
    receive,
    find,
    applyEdited,
    applyDeleted,
    applyReactions,
    loadLatest,
    loadOlder,
    loadAround,
    loadNewer,
    jumpToLatest,
    countAfter,
    mentionsAfter,
    drop,
    reset,
  }
})
