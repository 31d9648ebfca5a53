/**
 * Types of rooms, direct messages and the v2 change stream (PROTOCOL.md §3).
 *
 * Every change is an event with a `seq` from one commit-ordered sequence
 * (a message's `seq` is its id). A client's cursor is the highest `seq` seen.
 */
import type { AckFrame, ChatMessage, ErrorFrame, HelloFrame, PongFrame, PresenceFrame, PresenceUser, Reaction, ResetFrame } from './types'

export type RoomKind = 'open' | 'closed' | 'direct'

/** Notification level of a room (§4): every message, mentions (and every message of a direct room), nothing. */
export type NotifyLevel = 'all' | 'mentions' | 'none'

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
  /** §4: unread messages that mention the caller (`@everyone` included, at most 999). */
  mentions?: number
  /** §4: the caller's notification level (default `mentions`). */
  notify?: NotifyLevel
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

/** §4: a message was edited (`message` as it is now). */
export interface MessageEditedEvent {
  type: 'message_edited'
  seq: number
  message: ChatMessage
}

/** §4: a message was deleted. */
export interface MessageDeletedEvent {
  type: 'message_deleted'
  seq: number
  room_id: number
  message_id: number
}

/** §4: a message's whole reaction list after a change. */
export interface ReactionEvent {
  type: 'reaction'
  seq: number
  room_id: number
  message_id: number
  reactions: Reaction[]
}

/** §4: the user's notification level of a room changed (any tab or device). */
export interface NotifyEvent {
  type: 'notify'
  seq: number
  room_id: number
  level: NotifyLevel
}

export type StreamEvent =
  | MessageEvent
  | RoomEvent
  | MemberEvent
  | ReadEvent
  | MessageEditedEvent
  | MessageDeletedEvent
  | ReactionEvent
  | NotifyEvent

/** §4: someone else is typing in a room. Ephemeral: no `seq`, never resumed, not in `GET /api/stream`. */
export interface TypingFrame {
  type: 'typing'
  room_id: number
  user: PresenceUser
}

/** `PUT /api/messages/{id}/reactions/{emoji}` and its `DELETE`. */
export interface ReactionsAnswer {
  message_id: number
  room_id: number
  reactions: Reaction[]
}

/** Everything the server sends on `?v=2` after `hello`. */
export type StreamFrame = StreamEvent | TypingFrame | AckFrame | PresenceFrame | PongFrame | ErrorFrame | ResetFrame | HelloFrame

/** `GET /api/stream?after=<seq>`: the v2 stream for polling clients. */
export interface StreamPage {
  events: StreamEvent[]
  last_seq: number
  has_more: boolean
  /** `after` was above every stored event: drop the cache, continue from `last_seq`. */
  reset?: boolean
}
