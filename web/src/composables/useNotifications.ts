/**
 * `useNotifications`: desktop notifications and the notification sound for
 * new messages (PROTOCOL.md §4), while the user is elsewhere (the tab is
 * hidden or the window lacks focus) and the browser allows them.
 *
 * - Which messages: `shouldNotify` (never one's own, a room set to `none`, a
 *   message already read). The decision waits `delay` ms and is made again:
 *   another tab where the user is reading moves the read position meanwhile.
 * - One notification per room at a time (`tag`); a `read` event of the room
 *   closes it. Clicking it focuses the tab and opens the room at the message.
 * - Title: the room's name (a direct message: the partner); body: plain
 *   text `username: content` (the API shows text, never markup).
 */
import { getCurrentScope, onScopeDispose, ref } from 'vue'
import type { ChatMessage } from '@/api/types'
import { useRoomsStore } from '@/stores/rooms'
import { useSettingsStore } from '@/stores/settings'
import { beep } from '@/utils/beep'
import { notificationBody, notificationSupport, pageInBackground, shouldNotify, type PermissionState } from '@/utils/notify'

export interface NotificationDeps {
  /** Subscribes to the stream's `message` and `read` events (returns the unsubscribe). */
  onMessage: (listener: (e: { roomId: number; message: ChatMessage }) => void) => () => void
  onRead: (listener: (e: { roomId: number; lastReadId: number }) => void) => () => void
  /** Opens a room at a message (a notification was clicked). */
  open: (roomId: number, messageId: number) => void
  /** Wait before deciding (ms): a read in another tab comes first. Default 1500. */
  delay?: number
}

/** Sounds at most this often (ms). */
const SOUND_GAP = 2000

export function useNotifications(deps: NotificationDeps) {
  const rooms = useRoomsStore()
  const settings = useSettingsStore()
  const delay = deps.delay ?? 1500
  const permission = ref<PermissionState>(notificationSupport())
  const shown = new Map<number, { notification: Notification; messageId: number }>()
  const timers = new Set<ReturnType<typeof setTimeout>>()
  let lastSound = -Infinity

  /** Asks the browser (from a click). Resolves to the new state. */
  async function requestPermission(): Promise<PermissionState> {
    const state = notificationSupport()
    if (state === 'insecure' || state === 'unsupported') return (permission.value = state)
    try {
      permission.value = await Notification.requestPermission()
    } catch {
      permission.value = notificationSupport()
    }
    return permission.value
  }

  function allowed(roomId: number, m: ChatMessage): boolean {
    return shouldNotify(m, rooms.get(roomId), rooms.meId) && pageInBackground()
  }

  function consider(roomId: number, m: ChatMessage): void {
    if (!allowed(roomId, m)) return
    const timer = setTimeout(() => {
      timers.delete(timer)
      // Read meanwhile (another tab), muted, or the user came back: nothing.
      if (allowed(roomId, m)) deliver(roomId, m)
    }, delay)
    timers.add(timer)
  }

  function deliver(roomId: number, m: ChatMessage): void {
    if (settings.sound && Date.now() - lastSound >= SOUND_GAP) {
      lastSound = Date.now()
      beep()
    }
    permission.value = notificationSupport()
    if (permission.value !== 'granted') return
    const room = rooms.get(roomId)
    if (!room) return
    let notification: Notification
    try {
      notification = new Notification(rooms.title(room), { body: notificationBody(m), tag: `hearth-room-${roomId}` })
    } catch {
      // Some browsers (Android Chrome) only allow notifications from a service worker.
      return
    }
    shown.get(roomId)?.notification.close()
    shown.set(roomId, { notification, messageId: m.id })
    notification.onclick = () => {
      window.focus()
      deps.open(roomId, m.id)
      notification.close()
    }
    notification.onclose = () => {
      if (shown.get(roomId)?.notification === notification) shown.delete(roomId)
    }
  }

  /** Read up to `lastReadId` (any tab): its notification goes. */
  function onRead(roomId: number, lastReadId: number): void {
    const open = shown.get(roomId)
    if (open && open.messageId <= lastReadId) {
      shown.delete(roomId)
      open.notification.close()
    }
  }

  const offMessage = deps.onMessage(({ roomId, message }) => consider(roomId, message))
  const offRead = deps.onRead(({ roomId, lastReadId }) => onRead(roomId, lastReadId))

  function dispose(): void {
    offMessage()
    offRead()
    for (const t of timers) clearTimeout(t)
    timers.clear()
    for (const { notification } of shown.values()) notification.close()
    shown.clear()
  }

  if (getCurrentScope()) onScopeDispose(dispose)

  return { permission, requestPermission, dispose }
}

export type Notifications = ReturnType<typeof useNotifications>
