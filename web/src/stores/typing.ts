/**
 * Who is typing where (`typing` frames of the v2 WebSocket, PROTOCOL.md §4).
 * Ephemeral: never cached, never resumed. Each entry lasts `TYPING_TTL` ms
 * unless another frame renews it or that user's message arrives.
 *
 * The stream plugs in how a `typing` frame is sent (`setSender`): only an
 * open WebSocket can (polling clients neither send nor see typing).
 */
import { defineStore } from 'pinia'
import { computed, shallowRef } from 'vue'
import type { PresenceUser } from '@/api/types'
import { joinNames, t } from '@/i18n'

export const TYPING_TTL = 6000

interface Typist {
  username: string
  until: number
}

export const useTypingStore = defineStore('typing', () => {
  const byRoom = shallowRef(new Map<number, ReadonlyMap<number, Typist>>())
  let timer: ReturnType<typeof setTimeout> | undefined
  let sender: ((roomId: number) => boolean) | null = null

  function write(roomId: number, users: Map<number, Typist>): void {
    const next = new Map(byRoom.value)
    if (users.size > 0) next.set(roomId, users)
    else next.delete(roomId)
    byRoom.value = next
  }

  /** Someone else is typing in a room (a `typing` frame). */
  function received(roomId: number, user: PresenceUser, now = Date.now()): void {
    const users = new Map(byRoom.value.get(roomId) ?? [])
    users.set(user.id, { username: user.username, until: now + TYPING_TTL })
    write(roomId, users)
    schedule()
  }

  /** That user's message arrived (or they left): no longer typing. */
  function stop(roomId: number, userId: number): void {
    const users = byRoom.value.get(roomId)
    if (!users?.has(userId)) return
    const next = new Map(users)
    next.delete(userId)
    write(roomId, next)
  }

  function prune(): void {
    timer = undefined
    const now = Date.now()
    let changed = false
    const next = new Map<number, ReadonlyMap<number, Typist>>()
    for (const [roomId, users] of byRoom.value) {
      const left = new Map([...users].filter(([, t]) => t.until > now))
      if (left.size !== users.size) changed = true
      if (left.size > 0) next.set(roomId, left)
    }
    if (changed) byRoom.value = next
    schedule()
  }

  function schedule(): void {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    let first = Infinity
    for (const users of byRoom.value.values()) for (const t of users.values()) first = Math.min(first, t.until)
    if (first !== Infinity) timer = setTimeout(prune, Math.max(first - Date.now(), 0))
  }

  /** The names typing in a room, in the order they started. */
  function names(roomId: number | null): string[] {
    if (roomId === null) return []
    return [...(byRoom.value.get(roomId)?.values() ?? [])].map((t) => t.username)
  }

  const active = computed(() => byRoom.value.size > 0)

  /** How `typing` goes out (null: it cannot now). */
  function setSender(send: ((roomId: number) => boolean) | null): void {
    sender = send
  }

  /** Sends `typing` for a room; false when there is no WebSocket to carry it. */
  function send(roomId: number): boolean {
    return sender?.(roomId) ?? false
  }

  function reset(): void {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    byRoom.value = new Map()
  }

  return { byRoom, active, received, stop, names, setSender, send, reset }
})

/** "张三 正在输入…" / "张三、李四 正在输入…" / "3 人正在输入…" ("" when nobody). */
export function typingText(names: readonly string[]): string {
  if (names.length === 0) return ''
  if (names.length === 1) return t('conversation.typing.one', { names: names[0] })
  if (names.length === 2) return t('conversation.typing.two', { names: joinNames(names) })
  return t('conversation.typing.many', { n: names.length })
}
