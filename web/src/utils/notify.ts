/**
 * When a message may notify (desktop notification, sound): the pure rules
 * of PROTOCOL.md §4, shared by `useNotifications` and its tests.
 *
 * Never for one's own messages, a deleted one, a room set to `none`, or a
 * message already read (its id ≤ the room's `last_read_id`, which other tabs
 * move with `read` events). `mentions` (the default) notifies mentions of
 * the user (`@everyone` included) and every message of a direct room.
 */
import type { ChatMessage } from '@/api/types'
import { messageText } from './files'
import { plainText } from './formatMessage'
import { mentionsUser } from './messages'
import { notifyLevel, type RoomState } from './rooms'

export function shouldNotify(m: ChatMessage, room: RoomState | undefined, meId: number | null): boolean {
  if (!room || !room.member || room.archived) return false
  if (m.deleted || m.user_id === meId) return false
  if (m.id <= room.last_read_id) return false
  switch (notifyLevel(room)) {
    case 'none':
      return false
    case 'all':
      return true
    default:
      return room.kind === 'direct' || mentionsUser(m, meId)
  }
}

/** Whether the user is elsewhere: the tab is hidden or the window lacks focus. */
export function pageInBackground(doc: Pick<Document, 'visibilityState' | 'hasFocus'> | undefined = typeof document === 'undefined' ? undefined : document): boolean {
  if (!doc) return false
  if (doc.visibilityState === 'hidden') return true
  return typeof doc.hasFocus === 'function' && !doc.hasFocus()
}

/** A notification's body: `username: content` (files alone: `[图片]`, `[文件] name`), one plain line of at most 140 characters. */
export function notificationBody(m: Pick<ChatMessage, 'username' | 'content' | 'files'>): string {
  return plainText(`${m.username}: ${messageText(m)}`, 140)
}

export type PermissionState = 'granted' | 'denied' | 'default' | 'unsupported' | 'insecure'

/** What the browser allows: `insecure` on plain http to a LAN address (no Notification API there). */
export function notificationSupport(win: Partial<Pick<Window, 'isSecureContext'>> & { Notification?: { permission: NotificationPermission } } = globalThis): PermissionState {
  if (win.isSecureContext === false) return 'insecure'
  if (!win.Notification) return 'unsupported'
  return win.Notification.permission
}
