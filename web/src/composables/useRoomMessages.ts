/**
 * `useRoomMessages(roomId)`: the messages of the room on screen. The newest
 * page is loaded once the stream is in sync (so nothing can fall between
 * the page and the stream), again after a reset, and after a failure once
 * the connection is back; older pages on scroll-up. After a jump to an older
 * window (`hasNewer`), newer pages on scroll-down, or back to the newest.
 */
import { computed, watch, type Ref } from 'vue'
import type { ChatMessage } from '@/api/types'
import { useConnectionStore } from '@/stores/connection'
import { useMessagesStore } from '@/stores/messages'
import { useRoomsStore } from '@/stores/rooms'

const EMPTY: readonly ChatMessage[] = Object.freeze([])

export function useRoomMessages(roomId: Readonly<Ref<number | null>>) {
  const messages = useMessagesStore()
  const rooms = useRoomsStore()
  const connection = useConnectionStore()
  const log = computed(() => (roomId.value === null ? undefined : messages.peek(roomId.value)))
  const member = computed(() => (roomId.value === null ? false : rooms.get(roomId.value)?.member === true))

  watch(
    [roomId, member, () => connection.synced, () => connection.status, () => messages.generation],
    () => {
      const id = roomId.value
      if (id === null || !member.value || !connection.synced) return
      const current = messages.peek(id)
      if (current?.complete || current?.loading || current?.newer) return
      void messages.loadLatest(id).catch(() => {})
    },
    { immediate: true },
  )

  return {
    messages: computed(() => log.value?.messages ?? EMPTY),
    hasMore: computed(() => log.value?.hasMore ?? true),
    loading: computed(() => log.value?.loading ?? false),
    newestId: computed(() => log.value?.messages[log.value.messages.length - 1]?.id ?? 0),
    loadOlder: (): Promise<number> => (roomId.value === null ? Promise.resolve(0) : messages.loadOlder(roomId.value)),
    /** The list is an older window (a jump): newer messages exist. */
    hasNewer: computed(() => log.value?.newer ?? false),
    loadNewer: (): Promise<number> => (roomId.value === null ? Promise.resolve(0) : messages.loadNewer(roomId.value)),
    jumpToLatest: (): Promise<void> => (roomId.value === null ? Promise.resolve() : messages.jumpToLatest(roomId.value)),
  }
}
