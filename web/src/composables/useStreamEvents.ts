/**
 * `useStreamEvents`: applies v2 stream events (PROTOCOL.md §3) to the stores.
 *
 * Applying an event twice changes nothing (messages merge by id, unread
 * counts only ids above the room's newest, read positions only move
 * forward, rooms are replaced whole). That lets `refreshRooms` be simple:
 * events that arrive while `GET /api/rooms` is in flight are applied at
 * once and again on top of its answer, which may predate them.
 */
import type { Room, StreamEvent } from '@/api/rooms'
import type { ChatMessage } from '@/api/types'
import { useMessagesStore } from '@/stores/messages'
import { useRoomsStore } from '@/stores/rooms'

export function useStreamEvents() {
  const rooms = useRoomsStore()
  const messages = useMessagesStore()
  /** Events received while the room list is being refreshed. */
  let replay: StreamEvent[] | null = null
  /** Rooms being fetched because a message or read named one we do not know. */
  const fetching = new Map<number, Promise<unknown>>()

  function apply(event: StreamEvent): void {
    replay?.push(event)
    applyOne(event)
  }

  function applyOne(event: StreamEvent): void {
    switch (event.type) {
      case 'message':
        onMessage(event.message)
        break
      case 'room':
        onRoom(event.room)
        break
      case 'member':
        onMember(event.event, event.room_id, event.user.id, event.room)
        break
      case 'read':
        onRead(event.room_id, event.last_read_id)
        break
      default:
        break
    }
  }

  /** The room a message belongs to (`room_id`; a server that predates rooms only has the lobby). */
  function roomOf(m: ChatMessage): number | undefined {
    return m.room_id ?? rooms.lobby?.id
  }

  function onMessage(m: ChatMessage | undefined): void {
    if (!m) return
    const roomId = roomOf(m)
    if (roomId === undefined) return
    const room = rooms.get(roomId)
    if (!room) {
      // Added to a room we have not heard of yet: its answer carries the unread count.
      refreshRoom(roomId)
      return
    }
    // Frames of a room we are not (or no longer) in are never shown.
    if (!room.member) return
    messages.merge(roomId, [m])
    rooms.noteMessage(roomId, m)
  }

  function onRoom(room: Room | undefined): void {
    if (room && typeof room.id === 'number') rooms.upsert(room)
  }

  function onMember(kind: 'added' | 'removed', roomId: number, userId: number, room: Room | undefined): void {
    const me = rooms.meId
    if (userId !== me) {
      // Only members hear of members: we are in this room.
      if (room && typeof room.id === 'number') rooms.upsert(room, true)
      return
    }
    if (kind === 'added') {
      if (room && typeof room.id === 'number') rooms.upsert(room, true)
      refreshRoom(roomId)
      return
    }
    // We were removed: a closed room or conversation disappears with its
    // messages; an open room stays listed as one we may join.
    if (room && room.kind === 'open' && !room.archived) {
      rooms.upsert(room, false)
      rooms.setMembership(roomId, false)
    } else {
      rooms.remove(roomId)
    }
  }

  function onRead(roomId: number, lastReadId: number): void {
    if (typeof lastReadId !== 'number') return
    if (rooms.applyRead(roomId, lastReadId)) return
    // Read up to a point before the newest message: count what is left.
    const left = messages.countAfter(roomId, lastReadId, rooms.meId)
    if (left !== null) rooms.setUnread(roomId, left)
    else refreshRoom(roomId)
  }

  /** `GET /api/rooms/{id}` once at a time per room (404: it is gone for us). */
  function refreshRoom(roomId: number): void {
    if (fetching.has(roomId)) return
    const request = rooms
      .fetch(roomId)
      .catch(() => {})
      .finally(() => fetching.delete(roomId))
    fetching.set(roomId, request)
  }

  /** `GET /api/rooms`, then the events that arrived meanwhile on top of it. */
  async function refreshRooms(): Promise<void> {
    const own = (replay = [])
    try {
      await rooms.load()
      // Unless the messages were dropped meanwhile (then these are stale).
      if (replay === own) for (const event of own) applyOne(event)
    } finally {
      if (replay === own) replay = null
    }
  }

  /** The messages were dropped (reset, new database): events held for a refresh in flight must not come back. */
  function forgetReplay(): void {
    replay = null
  }

  return { apply, refreshRooms, refreshRoom, forgetReplay }
}
