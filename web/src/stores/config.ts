/**
 * What `GET /api/config` says: the conversation features (PROTOCOL.md §4),
 * with the documented defaults until it answered (or when a server predates
 * them), and the team's public settings (§7: its name, how people join, who
 * may invite and create rooms). Written by the stream (`useRoomStream`) when
 * signed in; the public pages call `load()`.
 */
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { createApiClient } from '@/api/http'
import type { Registration, RoomCreation } from '@/api/team'
import type { ServerConfig } from '@/api/types'

function count(value: unknown, fallback: number, min = 0): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min ? Math.floor(value) : fallback
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : fallback
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
  // ---- the team (§7) ----
  /** The team's name; `""` until the server said. */
  const teamName = ref('')
  const registration = ref<Registration>('open')
  /** No account exists yet: the app shows the first-run setup page. */
  const needsSetup = ref(false)
  const membersInvite = ref(false)
  const roomCreation = ref<RoomCreation>('everyone')
  /** `load()` got an answer (or `apply` was given one). */
  const loaded = ref(false)
  let loading: Promise<void> | null = null

  function apply(config: ServerConfig | null | undefined): void {
    if (!config || typeof config !== 'object') return
    everyoneMaxMembers.value = count(config.everyone_max_members, everyoneMaxMembers.value)
    editWindowSecs.value = count(config.edit_window_secs, editWindowSecs.value)
    maxReactions.value = count(config.max_reactions, maxReactions.value, 1)
    typingIntervalMs.value = count(config.typing_interval_ms, typingIntervalMs.value, 100)
    const fileBytes = count(config.max_file_bytes, 0, 1)
    if (fileBytes > 0) maxFileBytes.value = fileBytes
    maxFilesPerMessage.value = count(config.max_files_per_message, maxFilesPerMessage.value, 1)
    if (typeof config.team_name === 'string') teamName.value = config.team_name
    registration.value = oneOf(config.registration, ['open', 'invite', 'closed'] as const, registration.value)
    needsSetup.value = config.needs_setup === true
    if (typeof config.members_invite === 'boolean') membersInvite.value = config.members_invite
    roomCreation.value = oneOf(config.room_creation, ['everyone', 'admins'] as const, roomCreation.value)
    loaded.value = true
  }

  /**
   * Fetches `GET /api/config` (for pages shown before the stream runs).
   * `force`: again even if it answered before. Never rejects: a failure
   * leaves the defaults (`loaded` stays false).
   */
  function load(force = false): Promise<void> {
    if (loading && !force) return loading
    const running = createApiClient()
      .config()
      .then(apply)
      .catch(() => {
        if (loading === running) loading = null
      })
    loading = running
    return running
  }

  return {
    everyoneMaxMembers,
    editWindowSecs,
    maxReactions,
    typingIntervalMs,
    maxFileBytes,
    maxFilesPerMessage,
    teamName,
    registration,
    needsSetup,
    membersInvite,
    roomCreation,
    loaded,
    apply,
    load,
  }
})
