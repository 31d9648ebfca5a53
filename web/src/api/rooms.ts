/**
 * Types of rooms, direct messages and the v2 change stream (PROTOCOL.md §3).
 *
 * Every change is an event with a `seq` from one commit-ordered sequence
 * (a message's `seq` is its id). A client's cursor is the highest `seq` seen.
 */
import type { AckFrame, ChatMessage, ErrorFrame, HelloFrame, PongFrame, PresenceFrame, PresenceUser, ResetFrame } from './types'

export type RoomKind = 'open' | 'closed' | 'direct'

/** A room as the server sends it. The caller's view (`member` … `last_read_id`) comes in REST answers only. */
export interface Room {
  id: number
  /** `""` for direct messages (show the other members' names). */
  name: string
  kind: RoomKind
  topic?: string
  lobby?: boolean
  archived?: boolean
  created_at?: number
  created_by?: number
  members_count?: number
  /** Direct messages only: all members. */
  members?: PresenceUser[]
  member?: boolean
  unread?: number
  last_message_id?: number
  last_read_id?: number
}

export interface RoomList {
  rooms: Room[]
}

export interface CreateRoomBody {
  name: string
  kind: 'open' | 'closed'
  topic?: string
  member_ids?: number[]
}

export interface UpdateRoomBody {
  name?: string
  topic?: string
}

export interface MemberList {
  members: PresenceUser[]
}

export interface UserList {
  users: PresenceUser[]
}

// ---------------------------------------------------------------------------
// Stream events: WebSocket frames of `?v=2`, and the items of `GET /api/stream`.

export interface MessageEvent {
  type: 'message'
  seq: number
  message: ChatMessage
}

export interface RoomEvent {
  type: 'room'
  seq: number
  event: 'created' | 'updated' | 'archived' | 'unarchived'
  room: Room
}

export interface MemberEvent {
  type: 'member'
  seq: number
  event: 'added' | 'removed'
  room_id: number
  user: PresenceUser
  room: Room
}

export interface ReadEvent {
  type: 'read'
  seq: number
  room_id: number
  last_read_id: number
}

export type StreamEvent = MessageEvent | RoomEvent | MemberEvent | ReadEvent

/** Everything the server sends on `?v=2` after `hello`. */
export type StreamFrame = StreamEvent | AckFrame | PresenceFrame | PongFrame | ErrorFrame | ResetFrame | HelloFrame

/** `GET /api/stream?after=<seq>`: the v2 stream for polling clients. */
export interface StreamPage {
  events: StreamEvent[]
  last_seq: number
  has_more: boolean
  /** `after` was above every stored event: drop the cache, continue from `last_seq`. */
  reset?: boolean
}
