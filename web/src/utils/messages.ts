/** Merging message lists by id (ascending, no duplicates), shared by the lobby client and the rooms app. */
import type { AckFrame, ChatMessage, FileInfo, PresenceUser, Reaction, ReplyRef } from '@/api/types'
import { parseMessage } from './schemas'

/** Index of the first message with id ≥ `id` (binary search; the list is ascending). */
export function indexOfId(list: readonly ChatMessage[], id: number): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (list[mid]!.id < id) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The message with `id` in an ascending list, or undefined. */
export function findById(list: readonly ChatMessage[], id: number): ChatMessage | undefined {
  const m = list[indexOfId(list, id)]
  return m && m.id === id ? m : undefined
}

function sameJson(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b)
}

/** Whether two copies of a message show the same thing. */
export function sameMessage(a: ChatMessage, b: ChatMessage): boolean {
  return (
    a.username === b.username &&
    a.content === b.content &&
    a.created_at === b.created_at &&
    a.edited_at === b.edited_at &&
    !!a.deleted === !!b.deleted &&
    !!a.mention_everyone === !!b.mention_everyone &&
    sameJson(a.mentions, b.mentions) &&
    sameJson(a.reply_to, b.reply_to) &&
    sameJson(a.reactions, b.reactions) &&
    sameJson(a.files, b.files)
  )
}

/**
 * Which copy of one message to keep: a deletion is final, an older edit never
 * replaces a newer one; otherwise the incoming copy (the server's state, or
 * the stored one replacing a copy made from an ack). Returns `old` when
 * nothing changes.
 */
export function preferNewer(old: ChatMessage, incoming: ChatMessage): ChatMessage {
  if (old.deleted && !incoming.deleted) return old
  if (!incoming.deleted && (incoming.edited_at ?? 0) < (old.edited_at ?? 0)) return old
  return sameMessage(old, incoming) ? old : incoming
}

/** A deleted message as the server sends it: no content, mentions, reply or reactions. */
export function deletedCopy(m: ChatMessage): ChatMessage {
  const out: ChatMessage = {
    id: m.id,
    room: m.room,
    user_id: m.user_id,
    username: m.username,
    content: '',
    created_at: m.created_at,
    deleted: true,
  }
  if (m.room_id !== undefined) out.room_id = m.room_id
  if (m.client_id !== undefined) out.client_id = m.client_id
  if (m.edited_at !== undefined) out.edited_at = m.edited_at
  return out
}

/** How a reply quotes `m` (§4: content cut to 200 characters, `""` once deleted). */
export function replyRef(m: ChatMessage): ReplyRef {
  const ref: ReplyRef = { id: m.id, user_id: m.user_id, username: m.username, content: m.deleted ? '' : [...m.content].slice(0, 200).join('') }
  if (m.deleted) ref.deleted = true
  else if (m.files && m.files.length > 0) ref.files = m.files.map((f) => ({ ...f }))
  return ref
}

/** `m` with another reaction list (none: the field goes). */
export function withReactions(m: ChatMessage, reactions: readonly Reaction[]): ChatMessage {
  const { reactions: _old, ...rest } = m
  return reactions.length > 0 ? { ...rest, reactions: reactions.map((r) => ({ ...r, users: [...r.users] })) } : rest
}

/**
 * Merges `incoming` (anything: values that are not valid messages are
 * skipped) into the ascending `list`. Returns the new list, or null when
 * nothing changed (copy on write: the caller's list is never mutated, so
 * every consumer sees a change), and the messages that were new. A server
 * copy replaces a differing one with the same id (e.g. one made from an ack,
 * or an edited one; see `preferNewer`).
 */
export function mergeMessages(list: readonly ChatMessage[], incoming: readonly unknown[]): { list: ChatMessage[] | null; added: ChatMessage[] } {
  let out: ChatMessage[] | null = null
  const added: ChatMessage[] = []
  for (const raw of incoming) {
    const value = parseMessage(raw)
    if (!value) continue
    const current: readonly ChatMessage[] = out ?? list
    const last = current[current.length - 1]
    const i = !last || value.id > last.id ? current.length : indexOfId(current, value.id)
    const old = current[i]
    if (old && old.id === value.id) {
      const next = preferNewer(old, value)
      if (next !== old) {
        out ??= list.slice()
        out[i] = next
      }
      continue
    }
    out ??= list.slice()
    out.splice(i, 0, value)
    added.push(value)
  }
  return { list: out, added }
}

/** Whether `m` mentions the user `meId` (by name, or `@everyone`). */
export function mentionsUser(m: Pick<ChatMessage, 'mentions' | 'mention_everyone' | 'deleted'>, meId: number | null): boolean {
  if (m.deleted || meId === null) return false
  return m.mention_everyone === true || (Array.isArray(m.mentions) && m.mentions.includes(meId))
}

/**
 * Our message as an `ack` confirms it (the stored copy, with mentions and the
 * server's quote, arrives on the stream): `quoted` is the original of a reply.
 */
export function ackedMessage(
  frame: AckFrame,
  entry: { content: string; files?: readonly FileInfo[] },
  me: PresenceUser,
  roomId: number | undefined,
  room: { kind: string; name: string } | undefined,
  quoted: ChatMessage | undefined,
): ChatMessage {
  const m: ChatMessage = {
    id: frame.id,
    room: room ? (room.kind === 'direct' ? '' : room.name) : 'lobby',
    room_id: roomId,
    user_id: me.id,
    username: me.username,
    content: entry.content,
    created_at: frame.created_at,
    client_id: frame.client_id,
  }
  if (quoted) m.reply_to = replyRef(quoted)
  if (entry.files && entry.files.length > 0) m.files = entry.files.map((f) => ({ ...f }))
  return m
}
