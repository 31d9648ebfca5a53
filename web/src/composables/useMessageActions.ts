/**
 * `useMessageActions(roomId)`: edit, delete and react to messages over REST
 * (PROTOCOL.md §4), with what the user may do: edit their own messages
 * (within `edit_window_secs`), delete their own (admins: anyone's), react
 * while the room is not archived. Answers are applied at once; the stream's
 * events then change nothing (they carry the same state). Refusals show as
 * a message in the user's language.
 */
import { toValue, type MaybeRefOrGetter } from 'vue'
import * as v from 'valibot'
import { ElMessage, ElMessageBox } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import 'element-plus/es/components/message-box/style/css'
import { ApiError, describeError } from '@/api/http'
import { t } from '@/i18n'
import { errorKey, errorText } from '@/i18n/errors'
import type { ChatMessage } from '@/api/types'
import { useServerConfigStore } from '@/stores/config'
import { useMessagesStore } from '@/stores/messages'
import { useRoomsStore } from '@/stores/rooms'
import { useSessionStore } from '@/stores/session'
import { contentProblem, MAX_MESSAGE_CHARS, normalizeContent } from '@/utils/content'
import { mentionsUser } from '@/utils/messages'
import { parseMessage, reactionsSchema } from '@/utils/schemas'
import { useApi } from './useApi'

/** What the message list may offer and do (the list itself stays free of stores). */
export interface MessageActionHandlers {
  canEdit: (m: ChatMessage) => boolean
  canDelete: (m: ChatMessage) => boolean
  canReact: (m: ChatMessage) => boolean
  /** Resolves to true when saved (the editor closes). */
  edit: (m: ChatMessage, content: string) => Promise<boolean>
  remove: (m: ChatMessage) => Promise<void>
  toggleReaction: (m: ChatMessage, emoji: string) => Promise<void>
  reply: (m: ChatMessage) => void
}

/** The user's text for a refused message action (`errors.message`, else the common texts). */
export function describeActionError(error: unknown, maxReactions?: number): string {
  if (error instanceof ApiError) {
    if (error.code === 'too_many_reactions') {
      return maxReactions ? t('errors.message.too_many_reactions', { max: maxReactions }) : t('errors.message.too_many_reactions_unknown')
    }
    if (errorKey(error.code, 'message')?.startsWith('errors.message.')) return errorText(error.code, { context: 'message' })
  }
  return describeError(error)
}

/** Whether `meId` reacted with `emoji` to `m`. */
export function reactedBy(m: ChatMessage, emoji: string, meId: number | null): boolean {
  return meId !== null && (m.reactions ?? []).some((r) => r.emoji === emoji && r.users.some((u) => u.id === meId))
}

export function useMessageActions(roomId: MaybeRefOrGetter<number | null>, onReply: (m: ChatMessage) => void): MessageActionHandlers {
  const api = useApi()
  const rooms = useRoomsStore()
  const messages = useMessagesStore()
  const session = useSessionStore()
  const config = useServerConfigStore()

  function writable(): boolean {
    const id = toValue(roomId)
    const room = id === null ? undefined : rooms.get(id)
    return !!room && room.member && !room.archived
  }

  function own(m: ChatMessage): boolean {
    return m.user_id === rooms.meId
  }

  function canEdit(m: ChatMessage): boolean {
    if (m.deleted || !own(m) || !writable()) return false
    const window = config.editWindowSecs
    return window <= 0 || Date.now() - m.created_at <= window * 1000
  }

  function canDelete(m: ChatMessage): boolean {
    return !m.deleted && writable() && (own(m) || session.isAdmin)
  }

  function canReact(m: ChatMessage): boolean {
    return !m.deleted && writable()
  }

  async function edit(m: ChatMessage, raw: string): Promise<boolean> {
    const content = normalizeContent(raw)
    if (content === m.content) return true
    const problem = contentProblem(content, MAX_MESSAGE_CHARS)
    if (problem) {
      ElMessage.error(problem === 'empty' ? t('conversation.editEmpty') : t('conversation.editTooLong', { max: MAX_MESSAGE_CHARS }))
      return false
    }
    try {
      const stored = parseMessage(await api.editMessage(m.id, content))
      const id = toValue(roomId)
      if (id !== null && stored) messages.applyEdited(id, stored)
      return true
    } catch (error) {
      ElMessage.error(describeActionError(error))
      return false
    }
  }

  async function remove(m: ChatMessage): Promise<void> {
    try {
      await ElMessageBox.confirm(t('conversation.deleteConfirm'), t('conversation.deleteTitle'), {
        confirmButtonText: t('common.delete'),
        cancelButtonText: t('common.cancel'),
        type: 'warning',
      })
    } catch {
      return
    }
    try {
      await api.deleteMessage(m.id)
      const id = toValue(roomId)
      if (id !== null) {
        const before = messages.applyDeleted(id, m.id)
        if (before && mentionsUser(before, rooms.meId)) rooms.adjustMentions(id, before, -1)
      }
    } catch (error) {
      ElMessage.error(describeActionError(error))
    }
  }

  async function toggleReaction(m: ChatMessage, emoji: string): Promise<void> {
    const on = !reactedBy(m, emoji, rooms.meId)
    try {
      const answer = await api.react(m.id, emoji, on)
      const id = toValue(roomId)
      const reactions = v.safeParse(reactionsSchema, answer?.reactions)
      if (id !== null && reactions.success) messages.applyReactions(id, m.id, reactions.output)
    } catch (error) {
      ElMessage.error(describeActionError(error, config.maxReactions))
    }
  }

  return { canEdit, canDelete, canReact, edit, remove, toggleReaction, reply: onReply }
}
