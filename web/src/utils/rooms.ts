/** Display and ordering rules for rooms (pure functions, shared by stores and components). */
import type { PresenceUser } from '@/api/types'
import type { NotifyLevel, Room } from '@/api/rooms'
import { getLocale, joinNames, t } from '@/i18n'
import { shortHash, tokenSubject } from './ids'

/** A room with the caller's view filled in (REST answers carry it; stream events do not). */
export interface RoomState extends Room {
  member: boolean
  unread: number
  last_message_id: number
  last_read_id: number
  /** Unread messages that mention the user (§4). */
  mentions: number
}

/**
 * The room's notification level. A server that predates levels sends none:
 * every unread message counts, as it always did.
 */
export function notifyLevel(room: Pick<Room, 'notify'>): NotifyLevel {
  return room.notify ?? 'all'
}

/**
 * What a room adds to the tab title: `all` → its unread messages;
 * `mentions` → those that mention the user, every unread one in a direct
 * room; `none` → nothing.
 */
export function notifiableUnread(room: RoomState): number {
  const level = notifyLevel(room)
  if (level === 'none') return 0
  if (level === 'all' || room.kind === 'direct') return room.unread
  return room.mentions
}

/** The lobby's stored name; shown as 大厅. */
const LOBBY_NAME = 'lobby'

/** What to call a room: its name, 大厅 for the lobby, the other members' names for a direct message. */
export function roomTitle(room: Pick<Room, 'name' | 'kind' | 'lobby' | 'members'>, meId: number | null): string {
  if (room.kind === 'direct') {
    const others = (room.members ?? []).filter((u) => u.id !== meId).map((u) => u.username)
    return others.length > 0 ? joinNames(others) : t('rooms.title.onlyMe')
  }
  if (room.lobby && (room.name === LOBBY_NAME || !room.name)) return t('rooms.title.lobby')
  return room.name || t('rooms.title.unnamed')
}

/** The other members of a direct message (the partner of a one-to-one conversation). */
export function directPartners(room: Pick<Room, 'members'>, meId: number | null): PresenceUser[] {
  return (room.members ?? []).filter((u) => u.id !== meId)
}

const collators = new Map<string, Intl.Collator>()

/** Names sort the way the user's language does (Chinese: by pinyin). */
function collator(): Intl.Collator | null {
  if (typeof Intl === 'undefined') return null
  const locale = getLocale()
  let c = collators.get(locale)
  if (!c) collators.set(locale, (c = new Intl.Collator(locale)))
  return c
}

function byTitle(meId: number | null) {
  const c = collator()
  return (a: RoomState, b: RoomState) => {
    const x = roomTitle(a, meId)
    const y = roomTitle(b, meId)
    return (c ? c.compare(x, y) : x < y ? -1 : x > y ? 1 : 0) || a.id - b.id
  }
}

/** 房间: the lobby first, then by name. */
export function sortRooms(rooms: RoomState[], meId: number | null): RoomState[] {
  return [...rooms].sort((a, b) => (a.lobby === b.lobby ? byTitle(meId)(a, b) : a.lobby ? -1 : 1))
}

/** 私信: the most recently active first. */
export function sortDirects(rooms: RoomState[]): RoomState[] {
  return [...rooms].sort((a, b) => b.last_message_id - a.last_message_id || b.id - a.id)
}

/**
 * Fills in the caller's view of a room. A REST answer carries it and wins (it
 * is the server's count); a stream event does not, so what we knew is kept.
 */
export function withView(room: Room, previous: RoomState | undefined, fallbackMember: boolean): RoomState {
  return {
    ...previous,
    ...room,
    member: room.member ?? previous?.member ?? fallbackMember,
    unread: room.unread ?? previous?.unread ?? 0,
    last_message_id: room.last_message_id ?? previous?.last_message_id ?? 0,
    last_read_id: room.last_read_id ?? previous?.last_read_id ?? 0,
    mentions: room.mentions ?? previous?.mentions ?? 0,
  }
}

/** Per-user part of the localStorage keys (the token's subject; one namespace per account). */
export function storageNamespace(token: string): string {
  return token ? (tokenSubject(token) ?? 't' + shortHash(token)) : 'anonymous'
}
