/**
 * `useStreamEvents`: applies v2 stream events (PROTOCOL.md §3, §4) to the stores.
 *
 * Applying an event twice changes nothing (messages merge by id, unread
 * counts only ids above the room's newest, read positions only move
 * forward, rooms are replaced whole; §4 events carry the state after them:
 * the edited message, the whole reaction list, the level). That lets `refreshRooms` be simple:
 * events that arrive while `GET /api/rooms` is in flight are applied at
 * once and again on top of its answer, which may predate them.
 */
import * as v from 'valibot'
import type { Room, StreamEvent } from '@/api/rooms'
import type { ChatMessage } from '@/api/types'
import { useMessagesStore } from '@/stores/messages'
import { useRoomsStore } from '@/stores/rooms'
import { useTypingStore } from '@/stores/typing'
import { mentionsUser } from '@/utils/messages'
import { messageDeletedSchema, messageEditedSchema, notifyEventSchema, parseMessage, reactionEventSchema, typingFrameSchema } from '@/utils/schemas'

export function useStreamEvents() {
  const rooms = useRoomsStore()
  const messages = useMessagesStore()
  const typing = useTypingStore()
  /** Events received while the room list is being refreshed. */
  let replay: StreamEvent[] | null = null
  /** Rooms being fetched because a message or read named one we do not know. */
  const fetching = new Map<number, Promise<unknown>>()

  /** Applies one event; true for a message seen here for the first time (notifications). */
  function apply(event: StreamEvent): boolean {
    replay?.push(event)
    return applyOne(event)
  }

  function applyOne(event: StreamEvent): boolean {
    switch (event.type) {
      case 'message':
        return onMessage(event.message)
      case 'message_edited':
        if (v.is(messageEditedSchema, event)) onEdited(parseMessage(event.message)!)
        break
      case 'message_deleted':
        if (v.is(messageDeletedSchema, event)) onDeleted(event.room_id, event.message_id)
        break
      case 'reaction':
        if (v.is(reactionEventSchema, event) && memberOf(event.room_id)) messages.applyReactions(event.room_id, event.message_id, event.reactions)
        break
      case 'notify':
        if (v.is(notifyEventSchema, event)) rooms.setNotify(event.room_id, event.level)
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
    return false
  }

  /** The room a message belongs to (`room_id`; a server that predates rooms only has the lobby). */
  function roomOf(m: ChatMessage): number | undefined {
    return m.room_id ?? rooms.lobby?.id
  }

  function memberOf(roomId: number): boolean {
    return rooms.get(roomId)?.member === true
  }

  function onMessage(m: ChatMessage | undefined): boolean {
    if (!m) return false
    const roomId = roomOf(m)
    if (roomId === undefined) return false
    const room = rooms.get(roomId)
    if (!room) {
      // Added to a room we have not heard of yet: its answer carries the unread count.
      refreshRoom(roomId)
      return false
    }
    // Frames of a room we are not (or no longer) in are never shown.
    if (!room.member) return false
    messages.receive(roomId, m)
    typing.stop(roomId, m.user_id)
    return rooms.noteMessage(roomId, m)
  }

  function onEdited(m: ChatMessage): void {
    const roomId = roomOf(m)
    if (roomId === undefined || !memberOf(roomId)) return
    const before = messages.applyEdited(roomId, m)
    // An edit may add or remove a mention of us (known when we had the message).
    if (before && !before.deleted) {
      const was = mentionsUser(before, rooms.meId)
      const is = mentionsUser(messages.find(roomId, m.id) ?? m, rooms.meId)
      if (was !== is) rooms.adjustMentions(roomId, m, is ? 1 : -1)
    }
  }

  function onDeleted(roomId: number, messageId: number): void {
    if (!memberOf(roomId)) return
    const before = messages.applyDeleted(roomId, messageId)
    if (before && mentionsUser(before, rooms.meId)) rooms.adjustMentions(roomId, before, -1)
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
    const mentions = messages.mentionsAfter(roomId, lastReadId, rooms.meId)
    if (left !== null && mentions !== null) {
      rooms.setUnread(roomId, left)
      rooms.setMentions(roomId, mentions)
    } else refreshRoom(roomId)
  }

  /** A `typing` frame: ephemeral (no seq, never cached); our own other tabs are not "someone". */
  function typingFrame(frame: unknown): void {
    if (v.is(typingFrameSchema, frame) && frame.user.id !== rooms.meId && memberOf(frame.room_id)) typing.received(frame.room_id, frame.user)
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

  return { apply, typing: typingFrame, refreshRooms, refreshRoom, forgetReplay }
}
