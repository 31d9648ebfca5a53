/**
 * Rooms and direct messages: the list the sidebar shows, unread counts and
 * read positions, the room being viewed, and the REST actions on rooms
 * (create, start a direct message, join, leave, rename, members, archive).
 *
 * The stream (`useRoomStream`) keeps it current; every change here is
 * idempotent (a replayed event changes nothing), so a REST refresh racing
 * the stream cannot double-count.
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { ApiError } from '@/api/http'
import type { CreateRoomBody, NotifyLevel, Room, UpdateRoomBody } from '@/api/rooms'
import type { ChatMessage, PresenceUser } from '@/api/types'
import { useApi } from '@/composables/useApi'
import { mentionsUser } from '@/utils/messages'
import { notifiableUnread, roomTitle, sortDirects, sortRooms, withView, type RoomState } from '@/utils/rooms'
import { useMessagesStore } from './messages'
import { useOutboxStore } from './outbox'

export type { RoomState } from '@/utils/rooms'

export const useRoomsStore = defineStore('rooms', () => {
  const api = useApi()
  const byId = ref(new Map<number, RoomState>())
  /** The list came from the server (or the cache) at least once. */
  const loaded = ref(false)
  /** The room on screen (set by the room view). */
  const currentId = ref<number | null>(null)
  /** The signed-in user (set by the stream from `hello` / `GET /api/auth/me`). */
  const meId = ref<number | null>(null)
  /** Read positions moved here and not yet sent (flushed by the stream when connected). */
  const pendingReads = ref(new Map<number, number>())

  const all = computed(() => [...byId.value.values()])
  const lobby = computed(() => all.value.find((r) => r.lobby) ?? null)
  const current = computed(() => (currentId.value === null ? null : (byId.value.get(currentId.value) ?? null)))
  /** 房间: rooms the user is in (archived ones are hidden). */
  const joined = computed(() => sortRooms(all.value.filter((r) => r.member && !r.archived && r.kind !== 'direct'), meId.value))
  /** 私信. */
  const directs = computed(() => sortDirects(all.value.filter((r) => r.member && !r.archived && r.kind === 'direct')))
  /** Open rooms the user may join. */
  const joinable = computed(() => sortRooms(all.value.filter((r) => !r.member && !r.archived && r.kind === 'open'), meId.value))
  /** Sidebar order (Alt+↑/↓ walks it). */
  const order = computed(() => [...joined.value, ...directs.value].map((r) => r.id))
  /** Every unread message of the rooms in the sidebar. */
  const totalUnread = computed(() => [...joined.value, ...directs.value].reduce((n, r) => n + r.unread, 0))
  /** The tab title's number: unread messages as each room's notification level counts them (`notifiableUnread`). */
  const notifiable = computed(() => [...joined.value, ...directs.value].reduce((n, r) => n + notifiableUnread(r), 0))
  /** A message to show once its room is on screen (a notification was clicked). */
  const focusRequest = ref<{ roomId: number; messageId: number } | null>(null)

  function get(id: number): RoomState | undefined {
    return byId.value.get(id)
  }

  function title(room: Pick<Room, 'name' | 'kind' | 'lobby' | 'members'>): string {
    return roomTitle(room, meId.value)
  }

  /** The server's list (`GET /api/rooms`) replaces ours; an archived room on screen stays. */
  function replaceAll(list: readonly Room[]): void {
    const next = new Map<number, RoomState>()
    for (const room of list) next.set(room.id, withView(room, undefined, false))
    const shown = current.value
    if (shown && shown.archived && !next.has(shown.id)) next.set(shown.id, shown)
    for (const id of byId.value.keys()) if (!next.has(id)) forgetData(id)
    byId.value = next
    loaded.value = true
  }

  /**
   * Adds or updates a room. Without the caller's view (stream events), a new
   * closed room or direct message means membership (only members hear of
   * them); a new open room means membership only for its creator.
   */
  function upsert(room: Room, member?: boolean): RoomState {
    const previous = byId.value.get(room.id)
    const guess = room.kind !== 'open' || (meId.value !== null && room.created_by === meId.value)
    const next = withView(room, previous, guess)
    if (member !== undefined) next.member = member
    byId.value.set(room.id, next)
    return byId.value.get(room.id)!
  }

  /** The user lost access (removed, left a closed room): the room and everything of it goes. */
  function remove(id: number): void {
    byId.value.delete(id)
    pendingReads.value.delete(id)
    forgetData(id)
  }

  /** Left an open room: it stays listed (joinable), without its messages. */
  function setMembership(id: number, member: boolean): void {
    const room = byId.value.get(id)
    if (!room) return
    room.member = member
    if (!member) {
      room.unread = 0
      room.mentions = 0
      pendingReads.value.delete(id)
      forgetData(id)
    }
  }

  function forgetData(id: number): void {
    useMessagesStore().drop(id)
    useOutboxStore().dropRoom(id)
  }

  /**
   * A message arrived: count it as unread once (replays and our own messages
   * do not count), and as a mention when it mentions us. Returns whether it
   * was new.
   */
  function noteMessage(roomId: number, m: ChatMessage): boolean {
    const room = byId.value.get(roomId)
    if (!room || m.id <= room.last_message_id) return false
    room.last_message_id = m.id
    if (m.user_id !== meId.value && m.id > room.last_read_id) {
      room.unread++
      if (mentionsUser(m, meId.value)) room.mentions = Math.min(room.mentions + 1, 999)
    }
    return true
  }

  /** An unread message stopped (or started) mentioning us: edited or deleted. */
  function adjustMentions(roomId: number, m: ChatMessage, delta: 1 | -1): void {
    const room = byId.value.get(roomId)
    if (!room || m.user_id === meId.value || m.id <= room.last_read_id) return
    room.mentions = Math.max(0, Math.min(room.mentions + delta, 999))
  }

  function setMentions(roomId: number, mentions: number): void {
    const room = byId.value.get(roomId)
    if (room) room.mentions = Math.max(0, mentions)
  }

  /** A room's notification level (a `notify` event, or our own change). */
  function setNotify(roomId: number, level: NotifyLevel): void {
    const room = byId.value.get(roomId)
    if (room) room.notify = level
  }

  /** `PUT /api/rooms/{id}/notify`: shown at once, put back when the server refuses. */
  async function changeNotify(roomId: number, level: NotifyLevel): Promise<void> {
    const room = byId.value.get(roomId)
    const before = room?.notify
    setNotify(roomId, level)
    try {
      await api.setNotify(roomId, level)
    } catch (error) {
      if (room && room.notify === level) room.notify = before
      throw error
    }
  }

  /**
   * A read position (from any tab or device). Returns false when the unread
   * count is no longer known exactly (read up to a point before the newest
   * message): the caller recounts.
   */
  function applyRead(roomId: number, lastReadId: number): boolean {
    const room = byId.value.get(roomId)
    if (!room) return true
    const pending = pendingReads.value.get(roomId)
    if (pending !== undefined && pending <= lastReadId) pendingReads.value.delete(roomId)
    if (lastReadId <= room.last_read_id) return true
    room.last_read_id = lastReadId
    if (lastReadId >= room.last_message_id) {
      room.unread = 0
      room.mentions = 0
      return true
    }
    return false
  }

  function setUnread(roomId: number, unread: number): void {
    const room = byId.value.get(roomId)
    if (room) room.unread = Math.max(0, unread)
  }

  /** The user has seen `roomId` up to `upTo`: clear locally now, tell the server when connected. */
  function markRead(roomId: number, upTo: number): void {
    const room = byId.value.get(roomId)
    if (!room || !room.member || upTo <= room.last_read_id) return
    room.last_read_id = upTo
    if (upTo >= room.last_message_id) {
      room.unread = 0
      room.mentions = 0
    } else {
      const left = useMessagesStore().mentionsAfter(roomId, upTo, meId.value)
      if (left !== null) room.mentions = left
    }
    pendingReads.value.set(roomId, Math.max(upTo, pendingReads.value.get(roomId) ?? 0))
  }

  function takePendingReads(): [number, number][] {
    const entries = [...pendingReads.value.entries()]
    pendingReads.value.clear()
    return entries
  }

  /** Forgets the list (a new database: ids mean other rooms now); the room on screen and the user stay. */
  function clearList(): void {
    byId.value = new Map()
    pendingReads.value = new Map()
    loaded.value = false
  }

  /** Forgets everything (logout, another account). */
  function reset(): void {
    byId.value = new Map()
    pendingReads.value = new Map()
    loaded.value = false
    currentId.value = null
    meId.value = null
    focusRequest.value = null
  }

  // ---- REST ----------------------------------------------------------------------

  async function load(): Promise<void> {
    const answer = await api.rooms()
    replaceAll(Array.isArray(answer?.rooms) ? answer.rooms : [])
  }

  /** `GET /api/rooms/{id}`: null when the server says 404 (gone, or no access). */
  async function fetch(id: number): Promise<RoomState | null> {
    try {
      return upsert(await api.room(id))
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        remove(id)
        return null
      }
      throw error
    }
  }

  async function create(body: CreateRoomBody): Promise<RoomState> {
    return upsert(await api.createRoom(body), true)
  }

  /** Gets or creates the conversation with `userIds` (2–9 people with the caller). */
  async function startDirect(userIds: number[]): Promise<RoomState> {
    return upsert(await api.startDirect(userIds), true)
  }

  async function join(id: number): Promise<RoomState> {
    return upsert(await api.joinRoom(id), true)
  }

  async function leave(id: number): Promise<void> {
    await api.leaveRoom(id)
    afterLeaving(id)
  }

  function afterLeaving(id: number): void {
    const room = byId.value.get(id)
    if (room?.kind === 'open') setMembership(id, false)
    else remove(id)
  }

  async function update(id: number, body: UpdateRoomBody): Promise<RoomState> {
    return upsert(await api.updateRoom(id, body))
  }

  async function members(id: number): Promise<PresenceUser[]> {
    const answer = await api.members(id)
    return Array.isArray(answer?.members) ? answer.members : []
  }

  async function addMembers(id: number, userIds: number[]): Promise<PresenceUser[]> {
    const answer = await api.addMembers(id, userIds)
    const added = Array.isArray(answer?.added) ? answer.added : []
    const room = byId.value.get(id)
    if (room && room.members_count !== undefined) room.members_count += added.length
    return added
  }

  async function removeMember(id: number, userId: number): Promise<void> {
    await api.removeMember(id, userId)
    if (userId === meId.value) afterLeaving(id)
    else {
      const room = byId.value.get(id)
      if (room?.members_count) room.members_count--
    }
  }

  async function setArchived(id: number, archived: boolean): Promise<RoomState> {
    return upsert(await api.archiveRoom(id, archived))
  }

  return {
    byId,
    loaded,
    currentId,
    meId,
    pendingReads,
    all,
    lobby,
    current,
    joined,
    directs,
    joinable,
    order,
    totalUnread,
    notifiable,
    focusRequest,
    get,
    title,
    replaceAll,
    upsert,
    remove,
    setMembership,
    noteMessage,
    adjustMentions,
    setMentions,
    setNotify,
    changeNotify,
    applyRead,
    setUnread,
    markRead,
    takePendingReads,
    clearList,
    reset,
    load,
    fetch,
    create,
    startDirect,
    join,
    leave,
    update,
    members,
    addMembers,
    removeMember,
    setArchived,
  }
})
