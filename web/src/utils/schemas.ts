/**
 * Schemas of everything the client reads back from localStorage (and of a
 * chat message, which also arrives from the server). Storage outlives
 * versions, tabs and hand edits, so a blob is checked before it is trusted;
 * one that fails is dropped (see `readValid` in `storage.ts`).
 */
import * as v from 'valibot'
import type { ChatMessage, FileInfo, User } from '@/api/types'

/** Ids and cursors: non-negative safe integers (ids beyond 2^53 cannot be represented exactly). */
export const idSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0))

export function isId(value: unknown): value is number {
  return v.is(idSchema, value)
}

/** The largest time a `Date` can hold (ms); above it `toISOString()` throws. */
export const MAX_TIME_MS = 8_640_000_000_000_000

/** Unix-ms timestamps that a `Date` can format. */
export const timestampSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(MAX_TIME_MS))

const userRefSchema = v.object({ id: idSchema, username: v.string() })

/**
 * An optional field of §4: a value of the wrong shape is dropped (the
 * message still shows), never the whole message.
 */
function lenient<T extends v.GenericSchema>(schema: T) {
  return v.fallback(v.optional(schema), undefined)
}

/** An uploaded file (`FileInfo`). */
export const fileInfoSchema = v.object({
  id: idSchema,
  name: v.string(),
  size: idSchema,
  mime: v.string(),
  image: v.boolean(),
  width: lenient(v.pipe(idSchema, v.minValue(1))),
  height: lenient(v.pipe(idSchema, v.minValue(1))),
})

/** A message's files: at most 50 kept (the server allows far fewer). */
export const filesSchema = v.pipe(v.array(fileInfoSchema), v.maxLength(50))

/** §4: the message a reply quotes. */
export const replyRefSchema = v.object({
  id: idSchema,
  user_id: idSchema,
  username: v.string(),
  content: v.string(),
  deleted: v.optional(v.boolean()),
  files: lenient(filesSchema),
})

/** §4: one emoji under a message. */
export const reactionSchema = v.object({
  emoji: v.pipe(v.string(), v.nonEmpty(), v.maxLength(64)),
  count: idSchema,
  users: v.optional(v.array(userRefSchema), []),
})

export const reactionsSchema = v.array(reactionSchema)

export const messageSchema = v.object({
  id: idSchema,
  room: v.string(),
  room_id: v.optional(idSchema),
  user_id: idSchema,
  username: v.string(),
  content: v.string(),
  created_at: timestampSchema,
  client_id: v.optional(v.nullable(v.string())),
  mentions: lenient(v.array(idSchema)),
  mention_everyone: lenient(v.boolean()),
  reply_to: lenient(replyRefSchema),
  edited_at: lenient(timestampSchema),
  deleted: lenient(v.boolean()),
  reactions: lenient(reactionsSchema),
  files: lenient(filesSchema),
})

/** Drops the keys of optional file fields that were left out (`width`/`height` of a wrong shape). */
function stripUnset(files: FileInfo[] | undefined): void {
  for (const f of files ?? []) {
    if (f.width === undefined) delete f.width
    if (f.height === undefined) delete f.height
  }
}

/** A stored message that can be rendered (`created_at` required, right types). */
export function isChatMessage(value: unknown): value is ChatMessage {
  return v.is(messageSchema, value)
}

/**
 * The message in `value`, or null when it cannot be rendered. Optional §4
 * fields of the wrong shape are left out; unknown fields are dropped.
 */
export function parseMessage(value: unknown): ChatMessage | null {
  const result = v.safeParse(messageSchema, value)
  if (!result.success) return null
  const m = result.output as ChatMessage
  // Keys of dropped fields (`fallback` leaves them as undefined) go too.
  for (const key of ['mentions', 'mention_everyone', 'reply_to', 'edited_at', 'deleted', 'reactions', 'files'] as const) {
    if (m[key] === undefined) delete m[key]
  }
  if (m.deleted || m.files?.length === 0) delete m.files
  if (m.reply_to && m.reply_to.files === undefined) delete m.reply_to.files
  stripUnset(m.files)
  stripUnset(m.reply_to?.files)
  return m
}

/** `hearth.cache.v1.*`: the envelope; messages are checked one by one (see `validTail`). */
export const cacheBlobSchema = v.object({
  v: v.literal(1),
  epoch: v.nullable(v.string()),
  hasMore: v.boolean(),
  cursor: idSchema,
  messages: v.array(v.unknown()),
})

/** The `client_id` rule of PROTOCOL.md §1 (it is sent as is). */
const clientIdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/))

export const outboxEntrySchema = v.pipe(
  v.object({
    client_id: clientIdSchema,
    /** `""` only with files. */
    content: v.string(),
    room: v.optional(v.string()),
    /** Rooms app: the room's id (absent: the lobby). */
    room_id: v.optional(idSchema),
    /** §4: the message it replies to. */
    reply_to: v.optional(idSchema),
    /** Uploaded files it carries (sent as their ids; shown while pending). */
    files: v.optional(filesSchema),
    queued_at: timestampSchema,
    state: v.optional(v.picklist(['pending', 'sending', 'failed'])),
    error: v.optional(v.string()),
    attempts: v.optional(idSchema),
  }),
  v.check((e) => e.content.length > 0 || (e.files?.length ?? 0) > 0),
)

export type StoredOutboxEntry = v.InferOutput<typeof outboxEntrySchema>

/**
 * `hearth.outbox.v1.*`: the envelope; entries are checked one by one. `v` is
 * the format: 1 for the lobby client, 2 for the rooms app (each reader says
 * which it accepts, so the lobby client never sends a room's message to the lobby).
 */
export const outboxBlobSchema = v.object({
  v: v.picklist([1, 2]),
  entries: v.array(v.unknown()),
})

/** `auth_user`. */
export const userSchema = v.object({
  id: idSchema,
  username: v.pipe(v.string(), v.nonEmpty()),
  is_admin: v.optional(v.boolean()),
  created_at: v.optional(timestampSchema),
}) satisfies v.GenericSchema<unknown, User>

/** `auth_token`: a JWT, three base64url parts. */
export const tokenSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/))

/** The items that pass `schema`, in order. */
export function validItems<T>(items: readonly unknown[], schema: v.GenericSchema<unknown, T>): T[] {
  const out: T[] = []
  for (const item of items) {
    const result = v.safeParse(schema, item)
    if (result.success) out.push(result.output)
  }
  return out
}

/**
 * The items after the last one that fails `schema`. For the message cache
 * (ascending ids) this keeps the newest messages without a hole in the
 * middle; anything older can be paged in again from the server.
 */
export function validTail<T>(items: readonly unknown[], schema: v.GenericSchema<unknown, T>): T[] {
  const out: T[] = []
  for (const item of items) {
    const result = v.safeParse(schema, item)
    if (result.success) out.push(result.output)
    else out.length = 0
  }
  return out
}

// ---------------------------------------------------------------------------
// The rooms app (PROTOCOL.md §3)

/** `hearth.room.v1.*` (the room shown last): a decimal id. */
export const idStringSchema = v.pipe(v.string(), v.regex(/^\d{1,15}$/))

/** A room as cached, with the caller's view. */
export const roomStateSchema = v.object({
  id: idSchema,
  name: v.string(),
  kind: v.picklist(['open', 'closed', 'direct']),
  topic: v.optional(v.string()),
  lobby: v.optional(v.boolean()),
  archived: v.optional(v.boolean()),
  created_at: v.optional(timestampSchema),
  created_by: v.optional(idSchema),
  members_count: v.optional(idSchema),
  members: v.optional(v.array(userRefSchema)),
  member: v.boolean(),
  unread: idSchema,
  last_message_id: idSchema,
  last_read_id: idSchema,
  mentions: v.optional(idSchema),
  notify: v.optional(v.picklist(['all', 'mentions', 'none'])),
})

/** A cached message of the rooms app: it must say its room. */
export const roomMessageSchema = v.object({ ...messageSchema.entries, room_id: idSchema })

/**
 * `hearth.cache.v1.*` of the rooms app (`v: 2`): rooms, the newest messages of
 * each, and the stream cursor. Any invalid part drops the whole blob: the
 * cursor is only worth resuming from together with what it covers.
 */
export const streamCacheSchema = v.object({
  v: v.literal(2),
  epoch: v.nullable(v.string()),
  cursor: idSchema,
  me: v.nullable(userRefSchema),
  rooms: v.array(roomStateSchema),
  messages: v.array(roomMessageSchema),
})

export type StreamCacheBlob = v.InferOutput<typeof streamCacheSchema>

// ---------------------------------------------------------------------------
// Stream frames of §4 (the WebSocket and `GET /api/stream` answer objects;
// a frame that fails its schema is ignored, one of an unknown type too)

export const notifyLevelSchema = v.picklist(['all', 'mentions', 'none'])

export const messageEditedSchema = v.object({
  type: v.literal('message_edited'),
  seq: idSchema,
  message: v.pipe(v.unknown(), v.check((m) => parseMessage(m) !== null)),
})

export const messageDeletedSchema = v.object({
  type: v.literal('message_deleted'),
  seq: idSchema,
  room_id: idSchema,
  message_id: idSchema,
})

export const reactionEventSchema = v.object({
  type: v.literal('reaction'),
  seq: idSchema,
  room_id: idSchema,
  message_id: idSchema,
  reactions: reactionsSchema,
})

export const notifyEventSchema = v.object({
  type: v.literal('notify'),
  seq: idSchema,
  room_id: idSchema,
  level: notifyLevelSchema,
})

/** Ephemeral: no `seq`. */
export const typingFrameSchema = v.object({
  type: v.literal('typing'),
  room_id: idSchema,
  user: userRefSchema,
})

/** The local settings (`hearth.settings.v1`). */
export const settingsSchema = v.object({
  sound: v.optional(v.boolean(), false),
})
