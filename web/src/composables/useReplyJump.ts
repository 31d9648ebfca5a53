/**
 * `useReplyJump(roomId, list)`: shows a message of the room on screen (a
 * reply's original, a clicked notification). Loaded: the list scrolls to it
 * and flashes it. Not loaded: the messages around it are loaded
 * (`?around=`) and replace the list's window; scrolling down then loads the
 * newer pages, back to the live list (or 「回到最新」).
 */
import { nextTick, toValue, type MaybeRefOrGetter } from 'vue'
import { ElMessage } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import { ApiError, describeError } from '@/api/http'
import { t } from '@/i18n'
import { useMessagesStore } from '@/stores/messages'

export interface JumpTarget {
  /** Scrolls to a rendered message and flashes it; false when it is not rendered (yet). */
  scrollToMessage: (id: number) => boolean
}

export function useReplyJump(roomId: MaybeRefOrGetter<number | null>, list: () => JumpTarget | undefined) {
  const messages = useMessagesStore()
  let running: Promise<boolean> | null = null

  /** Resolves to whether the message is on screen now. */
  async function jump(messageId: number): Promise<boolean> {
    const id = toValue(roomId)
    if (id === null) return false
    const loaded = messages.peek(id)?.messages.some((m) => m.id === messageId)
    if (loaded) return list()?.scrollToMessage(messageId) ?? false
    if (running) return running
    running = (async () => {
      try {
        await messages.loadAround(id, messageId)
      } catch (error) {
        ElMessage.error(error instanceof ApiError && error.status === 404 ? t('conversation.originalGone') : describeError(error))
        return false
      }
      if (toValue(roomId) !== id) return false
      await nextTick()
      const target = list()
      // Not rendered yet: the list scrolls to it once it is (it remembers the target).
      return target?.scrollToMessage(messageId) ?? false
    })().finally(() => (running = null))
    return running
  }

  return { jump }
}
