/** Who is online (from `hello` and `presence` frames, or `GET /api/chat/online-users` while polling). */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { PresenceUser } from '@/api/types'
import { applyPresenceDelta } from '@/utils/presence'

export const usePresenceStore = defineStore('presence', () => {
  const count = ref(0)
  const users = ref<PresenceUser[]>([])
  const onlineIds = computed(() => new Set(users.value.map((u) => u.id)))

  function isOnline(userId: number): boolean {
    return onlineIds.value.has(userId)
  }

  /** A snapshot: replaces the list. */
  function set(total: number, list: readonly PresenceUser[] | undefined): void {
    if (Number.isFinite(total)) count.value = total
    if (Array.isArray(list)) users.value = [...list]
  }

  /** A push: who came online and who left since the last one. */
  function apply(total: number, joined: readonly PresenceUser[], left: readonly PresenceUser[]): void {
    if (Number.isFinite(total)) count.value = total
    users.value = applyPresenceDelta(users.value, joined, left)
  }

  function reset(): void {
    count.value = 0
    users.value = []
  }

  return { count, users, isOnline, set, apply, reset }
})
