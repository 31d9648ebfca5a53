/**
 * The rooms app's outbox: messages typed but not yet confirmed, per room,
 * with the `client_id` they keep until the server stores them (the shared
 * `utils/outbox.ts`, persisted as `hearth.outbox.v1.<user>` with `v: 2`;
 * entries of the lobby client's `v: 1` outbox are read as lobby messages).
 *
 * `send` only queues: the stream (`useRoomStream`) sends when connected.
 */
import { defineStore } from 'pinia'
import { computed, shallowRef } from 'vue'
import type { ChatMessage, FileInfo } from '@/api/types'
import { createEmitter } from '@/utils/emitter'
import { createOutbox, type Outbox, type OutgoingMessage } from '@/utils/outbox'
import { useMessagesStore } from './messages'
import { useRoomsStore } from './rooms'

export type { OutgoingMessage } from '@/utils/outbox'

export interface OutboxEvents {
  /** An entry was queued or retried. */
  queued: OutgoingMessage
  /** An entry was refused for good (shown on it; retryable). */
  'send-failed': OutgoingMessage
  /** The server stored one of our messages. */
  ack: { client_id: string; message: ChatMessage }
}

export function outboxKey(namespace: string): string {
  return `hearth.outbox.v1.${namespace}`
}

export const useOutboxStore = defineStore('outbox', () => {
  const box = shallowRef<Outbox | null>(null)
  const events = createEmitter<OutboxEvents>()
  const pending = computed<readonly OutgoingMessage[]>(() => box.value?.pending.value ?? [])

  /** Opens the outbox of one account (restores what an earlier page left queued). */
  function open(namespace: string, options: { persist?: boolean } = {}): Outbox {
    box.value = createOutbox({
      key: outboxKey(namespace),
      version: 2,
      accept: [1, 2],
      persist: options.persist,
      onQueued: (entry) => events.emit('queued', entry),
      onFailed: (entry) => events.emit('send-failed', entry),
      onCompleted: (clientId, message) => {
        const roomId = message.room_id ?? useRoomsStore().lobby?.id
        if (roomId !== undefined) {
          useMessagesStore().receive(roomId, message)
          useRoomsStore().noteMessage(roomId, message)
        }
        events.emit('ack', { client_id: clientId, message })
      },
    })
    return box.value
  }

  function require(): Outbox {
    if (!box.value) throw new Error('outbox not open')
    return box.value
  }

  /** The entries of one room, in send order (entries without a room are the lobby's). */
  function pendingFor(roomId: number, lobbyId: number | null): OutgoingMessage[] {
    return pending.value.filter((e) => (e.room_id ?? lobbyId) === roomId)
  }

  /**
   * Queues a message for a room (`replyTo`: the message it answers; `files`:
   * uploaded files it carries, the text may then be empty); returns its
   * `client_id`. Throws `ChatSendError` for empty or over-long content.
   */
  function send(roomId: number, content: string, connected: boolean, replyTo?: number, files?: readonly FileInfo[]): string {
    return require().submit(content, { room_id: roomId, connected, reply_to: replyTo, files })
  }

  function retry(clientId: string): void {
    box.value?.retry(clientId)
  }

  function discard(clientId: string): void {
    box.value?.discard(clientId)
  }

  /** The user can no longer send to this room. */
  function dropRoom(roomId: number): void {
    box.value?.dropWhere((e) => e.room_id === roomId)
  }

  /** Logout: forget the stored outbox; nothing is written afterwards. */
  function clearStorage(): void {
    box.value?.clearStorage()
  }

  function close(): void {
    box.value = null
  }

  return { box, pending, events, open, pendingFor, send, retry, discard, dropRoom, clearStorage, close }
})
