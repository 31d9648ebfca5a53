/**
 * The members of rooms (`GET /api/rooms/{id}/members`), for @mention
 * completion and for the names of mentions in messages. Loaded when a room
 * is opened, again once its member count changes; direct rooms list their
 * members themselves.
 */
import { defineStore } from 'pinia'
import { shallowRef } from 'vue'
import type { PresenceUser } from '@/api/types'
import { useRoomsStore } from './rooms'

const EMPTY: readonly PresenceUser[] = Object.freeze([])

export const useMembersStore = defineStore('members', () => {
  const byRoom = shallowRef(new Map<number, { users: readonly PresenceUser[]; count: number | undefined }>())
  const inFlight = new Map<number, Promise<void>>()

  /** The members known for a room (empty until loaded). */
  function of(roomId: number | null): readonly PresenceUser[] {
    if (roomId === null) return EMPTY
    const room = useRoomsStore().get(roomId)
    if (room?.kind === 'direct' && room.members) return room.members
    return byRoom.value.get(roomId)?.users ?? EMPTY
  }

  /** Loads a room's members unless they are known for its current member count. */
  function ensure(roomId: number): Promise<void> {
    const rooms = useRoomsStore()
    const room = rooms.get(roomId)
    if (!room || !room.member || (room.kind === 'direct' && room.members)) return Promise.resolve()
    const known = byRoom.value.get(roomId)
    if (known && known.count === room.members_count) return Promise.resolve()
    const running = inFlight.get(roomId)
    if (running) return running
    const count = room.members_count
    const request = rooms
      .members(roomId)
      .then((users) => {
        const next = new Map(byRoom.value)
        next.set(roomId, { users, count })
        byRoom.value = next
      })
      .catch(() => {})
      .finally(() => inFlight.delete(roomId))
    inFlight.set(roomId, request)
    return request
  }

  function reset(): void {
    byRoom.value = new Map()
  }

  return { byRoom, of, ensure, reset }
})
