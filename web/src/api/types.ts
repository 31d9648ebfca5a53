/**
 * Types of the Hearth wire protocol (docs/PROTOCOL.md): the lobby API and
 * stream (§1–2) here, rooms and the v2 stream (§3) in `rooms.ts`.
 * Times are Unix epoch milliseconds; message ids grow with commit order.
 */

/** A user as returned by the auth endpoints. */
export interface User {
  id: number
  username: string
  is_admin?: boolean
  created_at?: number
}

/** A user as listed by presence frames and `GET /api/chat/online-users`. */
export interface PresenceUser {
  id: number
  username: string
}

/**
 * An uploaded file (`POST /api/rooms/{id}/files`). `image`: a PNG, JPEG, GIF
 * or WebP the server decoded; it has a thumbnail (`GET /api/files/{id}/thumb`)
 * and its pixel size. The bytes (`GET /api/files/{id}`) need the bearer token.
 */
export interface FileInfo {
  id: number
  name: string
  /** Bytes. */
  size: number
  mime: string
  image: boolean
  width?: number
  height?: number
}

/** A message quoted by a reply (PROTOCOL.md §4), as it is now. */
export interface ReplyRef {
  id: number
  user_id: number
  username: string
  /** The first 200 characters; `""` once deleted. */
  content: string
  deleted?: boolean
  /** The original's files, when the server says (a quote of a message without text shows them). */
  files?: FileInfo[]
}

/** One emoji under a message: `users` lists up to 50 of the `count` people. */
export interface Reaction {
  emoji: string
  count: number
  users: PresenceUser[]
}

/** A stored chat message. `content` is raw text: render it as text only. */
export interface ChatMessage {
  id: number
  /** The room's name: `"lobby"` in the lobby, `""` in direct messages. */
  room: string
  /** The room's id (§3; servers that predate rooms leave it out). */
  room_id?: number
  user_id: number
  username: string
  content: string
  created_at: number
  client_id?: string | null
  // ---- conversation features (§4); present only when they say something ----
  /** Ids of the room members mentioned. */
  mentions?: number[]
  /** `@everyone` / `@所有人` by someone allowed to use it. */
  mention_everyone?: boolean
  reply_to?: ReplyRef
  /** The last edit (ms). */
  edited_at?: number
  /** Deleted: `content` is `""`, no mentions, reply or reactions. */
  deleted?: boolean
  reactions?: Reaction[]
  /** Attached files (absent when none, and on deleted messages). `content` may then be `""`. */
  files?: FileInfo[]
}

export interface AuthResponse {
  token: string
  user: User
}

export interface ServerConfig {
  websocket: boolean
  /** Database instance id, as in `hello` (lets polling clients detect a new database). */
  epoch?: string
  version?: string
  max_message_chars?: number
  /** Largest client WebSocket frame the server accepts. */
  max_frame_bytes?: number
  /** `@everyone` is open to every member of rooms up to this size (admins: any room). */
  everyone_max_members?: number
  /** Seconds a message may be edited (0: no window). */
  edit_window_secs?: number
  /** Distinct emoji per message. */
  max_reactions?: number
  /** How often a client may send `typing` (ms). */
  typing_interval_ms?: number
  /** Largest file the server accepts (bytes). */
  max_file_bytes?: number
  /** Files one message may carry. */
  max_files_per_message?: number
  // ---- running a team (§7) ----
  /** Shown on the login, setup and invitation pages. */
  team_name?: string
  /** Who may create an account. */
  registration?: 'open' | 'invite' | 'closed'
  /** No account exists yet: the first-run setup page is shown instead of the login form. */
  needs_setup?: boolean
  /** Members (not only admins) may create invitation links. */
  members_invite?: boolean
  /** Who may create rooms. */
  room_creation?: 'everyone' | 'admins'
}

export interface HistoryPage {
  messages: ChatMessage[]
  has_more: boolean
  /** `?around=`: newer messages exist after the page. */
  has_more_after?: boolean
}

export interface NewMessagesPage {
  messages: ChatMessage[]
  has_more: boolean
  last_id: number
  /**
   * `after_id` was above the newest id (the client's cache comes from a
   * restored backup or a rolled-back database): `messages` is empty and the
   * client must drop its cache and continue from `last_id`.
   */
  reset?: boolean
}

export interface OnlineUsers {
  count: number
  users: PresenceUser[]
}

/** Error body of every failed REST call. */
export interface ApiErrorBody {
  error: { code: string; message: string }
}

// ---------------------------------------------------------------------------
// WebSocket frames

export interface HelloFrame {
  type: 'hello'
  user: PresenceUser
  epoch: string
  online: OnlineUsers
  last_id: number
  /**
   * The requested `after` was above the newest id and was ignored: the client
   * must drop its cache; the live stream continues after `last_id`.
   */
  reset?: boolean
  /** 2 on the rooms stream (`?v=2`), where `last_id` is the newest `seq`. */
  v?: number
}

export interface MessageFrame {
  type: 'message'
  message: ChatMessage
}

export interface AckFrame {
  type: 'ack'
  client_id: string
  id: number
  created_at: number
  /** v2: the room the message was stored in. */
  room_id?: number
}

/**
 * Online users changed. Pushes carry the changes (`joined`, `left`); a frame
 * with `users` (a snapshot) replaces the whole list. `count` is always exact.
 */
export interface PresenceFrame {
  type: 'presence'
  count: number
  users?: PresenceUser[]
  joined?: PresenceUser[]
  left?: PresenceUser[]
}

export interface PongFrame {
  type: 'pong'
}

/**
 * Answer to a `sync` whose `after` is above the newest id (another
 * timeline): drop the cache; the stream continues after `last_id`.
 */
export interface ResetFrame {
  type: 'reset'
  last_id: number
}

/** Error codes of `error` frames. Unknown codes are kept as plain strings. */
export type ServerErrorCode =
  | 'bad_request'
  | 'invalid_content'
  | 'rate_limited'
  | 'busy'
  | 'unauthorized'
  | 'internal'
  | 'not_found'
  | 'archived'
  | 'forbidden'
  | 'edit_window_closed'
  | 'too_many_reactions'
  | 'typing_too_fast'
  | (string & {})

export interface ErrorFrame {
  type: 'error'
  code: ServerErrorCode
  message: string
  client_id?: string
  retry_after_ms?: number
}

export type ServerFrame = HelloFrame | MessageFrame | AckFrame | PresenceFrame | PongFrame | ResetFrame | ErrorFrame

export interface SendFrame {
  type: 'message'
  content: string
  client_id: string
  room?: string
  /** v2: the room to send to (absent: the lobby). */
  room_id?: number
  /** §4: the message this one replies to. */
  reply_to?: number
  /** Ids of uploaded files (at most `max_files_per_message`); `content` may be `""` then. */
  files?: number[]
}

/** §4: the user is typing in a room (ephemeral; throttled by `typing_interval_ms`). */
export interface TypingClientFrame {
  type: 'typing'
  room_id: number
}

/** v2: moves the user's read position in a room (only forward). */
export interface ReadClientFrame {
  type: 'read'
  room_id: number
  last_read_id: number
}

export interface SyncFrame {
  type: 'sync'
  after: number
}

export interface PingFrame {
  type: 'ping'
}

export type ClientFrame = SendFrame | SyncFrame | PingFrame | ReadClientFrame | TypingClientFrame

/** WebSocket close codes used by the server (PROTOCOL.md §2). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1008,
  TooLarge: 1009,
  Unauthorized: 4001,
  TooSlow: 4008,
  Abuse: 4029,
} as const

/** Subprotocol announced by browsers; the token travels as `bearer.<jwt>`. */
export const SUBPROTOCOL = 'hearth.v1'
