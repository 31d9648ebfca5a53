/**
 * `useStreamCache`: the rooms app's reload cache in localStorage
 * (`hearth.cache.v1.<user>`, envelope `v: 2`): the room list, the newest
 * messages of each room whose list has no gap, the signed-in user and the
 * stream cursor. A reload shows the sidebar and the open room at once and
 * resumes the stream from the cursor.
 *
 * The blob is checked against `streamCacheSchema`; one that fails, or whose
 * parts do not fit together (a message above the cursor, in an unknown
 * room), is removed as a whole. The lobby client's `v: 1` blob under the same
 * key is replaced, not read (it has no rooms and no stream cursor).
 */
import { getCurrentScope, onScopeDispose, watch } from 'vue'
import type { ChatMessage, PresenceUser } from '@/api/types'
import { useMessagesStore } from '@/stores/messages'
import { useRoomsStore } from '@/stores/rooms'
import { idStringSchema, streamCacheSchema, type StreamCacheBlob } from '@/utils/schemas'
import { readValid, readValidString, removeKey, writeJson, writeString } from '@/utils/storage'

/** Newest messages kept per room, and in all. */
const PER_ROOM = 50
const TOTAL = 1500
const SAVE_DELAY = 400

export function cacheKey(namespace: string): string {
  return `hearth.cache.v1.${namespace}`
}

export function lastRoomKey(namespace: string): string {
  return `hearth.room.v1.${namespace}`
}

export interface RestoredStream {
  epoch: string | null
  cursor: number
  me: PresenceUser | null
}

export function useStreamCache(namespace: string, options: { persist: boolean; state: () => RestoredStream }) {
  const rooms = useRoomsStore()
  const messages = useMessagesStore()
  const key = cacheKey(namespace)
  let timer: ReturnType<typeof setTimeout> | undefined
  /** Set by `clear` (logout): nothing is written afterwards. */
  let cleared = false

  /** Puts a valid blob into the stores; returns the stream state, or null (nothing usable). */
  function restore(): RestoredStream | null {
    if (!options.persist) return null
    const blob = readValid(key, streamCacheSchema)
    if (!blob) {
      // The lobby client's (v1) or a broken blob: gone, so it is never read again.
      removeKey(key)
      return null
    }
    if (!consistent(blob)) {
      removeKey(key)
      return null
    }
    rooms.replaceAll(blob.rooms)
    if (blob.me) rooms.meId = blob.me.id
    const byRoom = new Map<number, ChatMessage[]>()
    for (const m of blob.messages) byRoom.set(m.room_id, [...(byRoom.get(m.room_id) ?? []), m])
    for (const [roomId, list] of byRoom) {
      messages.merge(roomId, list)
      // Cached lists were gap-free, and the stream resumes right after them.
      messages.log(roomId).complete = true
    }
    return { epoch: blob.epoch, cursor: blob.cursor, me: blob.me }
  }

  function consistent(blob: StreamCacheBlob): boolean {
    const member = new Set(blob.rooms.filter((r) => r.member).map((r) => r.id))
    return blob.messages.every((m) => m.id <= blob.cursor && member.has(m.room_id))
  }

  function save(): void {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    if (!options.persist || cleared) return
    const state = options.state()
    const kept: ChatMessage[] = []
    for (const room of rooms.all) {
      const log = messages.peek(room.id)
      if (!room.member || !log?.complete) continue
      for (const m of log.messages.slice(-PER_ROOM)) if (m.id <= state.cursor) kept.push({ ...m, room_id: room.id })
    }
    kept.sort((a, b) => a.id - b.id)
    const blob: StreamCacheBlob = {
      v: 2,
      epoch: state.epoch,
      cursor: state.cursor,
      me: state.me ? { id: state.me.id, username: state.me.username } : null,
      rooms: rooms.all.map((r) => ({ ...r })),
      messages: kept.slice(-TOTAL) as StreamCacheBlob['messages'],
    }
    writeJson(key, blob)
  }

  function schedule(): void {
    if (!options.persist || cleared || timer !== undefined) return
    timer = setTimeout(save, SAVE_DELAY)
  }

  /** Logout: forget this account's cache and last room; nothing is written afterwards. */
  function clear(): void {
    cleared = true
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    removeKey(key)
    removeKey(lastRoomKey(namespace))
  }

  // Any change to the rooms or the message lists (lists are raw arrays: the
  // deep watch stops at them, so it stays cheap).
  const stop = watch(() => [rooms.byId, messages.logs], schedule, { deep: true })
  const onPageHide = () => save()
  if (typeof window !== 'undefined') window.addEventListener('pagehide', onPageHide)
  if (getCurrentScope()) {
    onScopeDispose(() => {
      stop()
      if (typeof window !== 'undefined') window.removeEventListener('pagehide', onPageHide)
      if (!cleared) save()
    })
  }

  return { restore, save, schedule, clear }
}

/** The room shown last (for `/`), or null. */
export function readLastRoom(namespace: string): number | null {
  const raw = readValidString(lastRoomKey(namespace), idStringSchema)
  return raw === null ? null : Number(raw)
}

export function writeLastRoom(namespace: string, roomId: number): void {
  writeString(lastRoomKey(namespace), String(roomId))
}

