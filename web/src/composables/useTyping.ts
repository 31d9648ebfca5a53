/**
 * `useTyping(roomId)`: tells the room that the user is typing (a `typing`
 * frame on the v2 WebSocket, PROTOCOL.md §4), at most once per
 * `typing_interval_ms` per room and never for an empty text box; and who
 * else is typing there ("张三 正在输入…"). Polling clients do neither.
 */
import { computed, toValue, type MaybeRefOrGetter } from 'vue'
import { useServerConfigStore } from '@/stores/config'
import { typingText, useTypingStore } from '@/stores/typing'

export function useTyping(roomId: MaybeRefOrGetter<number | null>) {
  const typing = useTypingStore()
  const config = useServerConfigStore()
  /** When `typing` last went out, per room. */
  const lastSent = new Map<number, number>()

  /** The text box changed (by the user). */
  function input(text: string): void {
    const id = toValue(roomId)
    if (id === null || !text.trim()) return
    const now = Date.now()
    const last = lastSent.get(id)
    if (last !== undefined && now - last < config.typingIntervalMs) return
    if (typing.send(id)) lastSent.set(id, now)
  }

  const names = computed(() => typing.names(toValue(roomId)))
  const text = computed(() => typingText(names.value))

  return { input, names, text }
}
