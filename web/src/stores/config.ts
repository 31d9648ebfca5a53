/**
 * What `GET /api/config` says about the conversation features (PROTOCOL.md
 * §4), with the documented defaults until it answered (or when a server
 * predates them). Written by the stream (`useRoomStream`).
 */
import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ServerConfig } from '@/api/types'

function count(value: unknown, fallback: number, min = 0): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min ? Math.floor(value) : fallback
}

export const useServerConfigStore = defineStore('serverConfig', () => {
  /** `@everyone` is open to any member of rooms up to this size (admins: any room). */
  const everyoneMaxMembers = ref(50)
  /** Seconds a message may be edited; 0: no window. */
  const editWindowSecs = ref(0)
  /** Distinct emoji per message. */
  const maxReactions = ref(20)
  /** How often `typing` may be sent (ms). */
  const typingIntervalMs = ref(1000)
  /** Largest upload (bytes); null until the server said (it checks anyway). */
  const maxFileBytes = ref<number | null>(null)
  /** Files one message may carry. */
  const maxFilesPerMessage = ref(10)

  function apply(config: ServerConfig | null | undefined): void {
    if (!config || typeof config !== 'object') return
    everyoneMaxMembers.value = count(config.everyone_max_members, everyoneMaxMembers.value)
    editWindowSecs.value = count(config.edit_window_secs, editWindowSecs.value)
    maxReactions.value = count(config.max_reactions, maxReactions.value, 1)
    typingIntervalMs.value = count(config.typing_interval_ms, typingIntervalMs.value, 100)
    const fileBytes = count(config.max_file_bytes, 0, 1)
    if (fileBytes > 0) maxFileBytes.value = fileBytes
    maxFilesPerMessage.value = count(config.max_files_per_message, maxFilesPerMessage.value, 1)
  }

  return { everyoneMaxMembers, editWindowSecs, maxReactions, typingIntervalMs, maxFileBytes, maxFilesPerMessage, apply }
})
