/**
 * `useOutboxSender`: sends the outbox over a WebSocket, in order, with at
 * most `maxInFlight` messages waiting for their `ack`.
 *
 * - A frame larger than the server's limit (2000 CJK characters are about
 *   6000 bytes; the limit is 4096) goes over REST instead, once everything
 *   before it is acknowledged. A close with 1009 lowers the limit it assumes.
 * - No `ack` within `ackTimeout`: ping; if the connection answers and the ack
 *   is still missing, the message is marked failed (retryable, same `client_id`).
 * - `rate_limited` / `internal` refusals pause sending as the server says and
 *   then resend; any other refusal marks the message failed.
 */
import { CloseCode, type ClientFrame, type ErrorFrame } from '@/api/types'
import { t } from '@/i18n'
import { utf8Length } from '@/utils/content'
import type { HttpSendResult, Outbox, OutgoingMessage } from '@/utils/outbox'
import { replyGone } from '@/utils/outbox'
import { describeServerError } from '@/utils/transport'

export interface OutboxSenderOptions {
  /** No `ack` within this many ms → check the connection with a ping. Default 10000. */
  ackTimeout?: number
  /** Messages on the wire without an ack, at most. Default 8. */
  maxInFlight?: number
  /** The server's client-frame limit in bytes (read on every send). */
  frameLimit: () => number
}

/** The socket as the sender needs it. */
export interface SenderSocket {
  isOpen: () => boolean
  sendText: (text: string) => boolean
  ping: () => void
  stopForAuth: (reason: string) => void
}

export function useOutboxSender(
  outbox: Outbox,
  socket: SenderSocket,
  options: OutboxSenderOptions,
  build: {
    /** The frame that sends `entry`. */
    frame: (entry: OutgoingMessage) => ClientFrame
    /** Sends `entry` over REST (oversized frames). */
    viaHttp: (entry: OutgoingMessage) => Promise<HttpSendResult>
  },
) {
  const ackTimeout = options.ackTimeout ?? 10_000
  const maxInFlight = Math.max(options.maxInFlight ?? 8, 1)
  /** Lowered when the server closes with 1009 although we respected the limit. */
  let learnedFrameLimit = Infinity
  /** UTF-8 size of each in-flight frame, by client_id. */
  const inFlightBytes = new Map<string, number>()
  const ackTimers = new Map<string, ReturnType<typeof setTimeout>>()
  /** Entries whose ack is overdue: failed if the next pong arrives first. */
  const overdue = new Set<string>()
  let httpSending = false
  let pausedUntil = 0
  let pumpTimer: ReturnType<typeof setTimeout> | undefined

  const frameLimit = () => Math.min(options.frameLimit(), learnedFrameLimit)

  /** Sends queued messages in order, at most `maxInFlight` without an ack. */
  function pump(): void {
    if (!socket.isOpen() || httpSending) return
    const now = Date.now()
    if (now < pausedUntil) {
      pumpTimer ??= setTimeout(() => {
        pumpTimer = undefined
        pump()
      }, pausedUntil - now)
      return
    }
    let inFlight = outbox.pending.value.filter((e) => e.state === 'sending').length
    for (const entry of outbox.pending.value) {
      if (inFlight >= maxInFlight) break
      if (entry.state !== 'pending') continue
      const text = JSON.stringify(build.frame(entry))
      const bytes = utf8Length(text)
      if (bytes > frameLimit()) {
        // Too big for one frame: REST, in order, once everything before it is acknowledged.
        if (inFlight === 0) sendOversized(entry)
        break
      }
      if (!socket.sendText(text)) break
      outbox.markSending(entry)
      inFlight++
      watchAck(entry)
      inFlightBytes.set(entry.client_id, bytes)
    }
  }

  function watchAck(entry: OutgoingMessage): void {
    settle(entry.client_id)
    ackTimers.set(
      entry.client_id,
      setTimeout(() => {
        ackTimers.delete(entry.client_id)
        if (outbox.find(entry.client_id)?.state !== 'sending') return
        overdue.add(entry.client_id)
        socket.ping()
      }, ackTimeout),
    )
  }

  function sendOversized(entry: OutgoingMessage): void {
    httpSending = true
    void build.viaHttp(entry).then((result) => {
      httpSending = false
      if (result === 'unauthorized') socket.stopForAuth('token rejected')
      else if (result === 'retry') pausedUntil = Date.now() + Math.max(outbox.takeRetryAfter(), 2000)
      pump()
    })
  }

  /** Stops tracking an in-flight entry's ack (acked, refused, or echoed back). */
  function settle(clientId: string): void {
    const t = ackTimers.get(clientId)
    if (t !== undefined) clearTimeout(t)
    ackTimers.delete(clientId)
    overdue.delete(clientId)
    inFlightBytes.delete(clientId)
  }

  /** A `pong` arrived: whatever was overdue before it will not be acknowledged. */
  function onPong(): void {
    for (const clientId of overdue) {
      if (outbox.find(clientId)?.state === 'sending') {
        settle(clientId)
        outbox.markFailed(clientId, t('chat.send.notConfirmed'))
      }
    }
    overdue.clear()
    pump()
  }

  /** An `error` frame about one of our sends. Returns false when it is not about a queued entry. */
  function onError(frame: ErrorFrame): boolean {
    const clientId = frame.client_id
    if (!clientId || !outbox.find(clientId)) return false
    settle(clientId)
    switch (frame.code) {
      case 'rate_limited':
        outbox.markPending(clientId)
        pausedUntil = Date.now() + Math.max(frame.retry_after_ms ?? 1000, 100)
        break
      case 'internal':
        outbox.markPending(clientId)
        pausedUntil = Date.now() + 1000
        break
      default:
        outbox.markFailed(clientId, replyGone(outbox.find(clientId), frame.code) ?? describeServerError(frame.code, frame.message))
    }
    pump()
    return true
  }

  /** The socket is gone (`code`): learn from 1009, forget timers, requeue what was on the wire. */
  function reset(code: number): void {
    if (pumpTimer !== undefined) clearTimeout(pumpTimer)
    pumpTimer = undefined
    if (code === CloseCode.TooLarge && inFlightBytes.size > 0) {
      // The server's limit is lower than we thought: send frames this big over REST from now on.
      const largest = Math.max(...inFlightBytes.values())
      learnedFrameLimit = Math.max(Math.min(learnedFrameLimit, largest - 1), 256)
    }
    for (const t of ackTimers.values()) clearTimeout(t)
    ackTimers.clear()
    overdue.clear()
    inFlightBytes.clear()
    outbox.requeueSending()
  }

  return { pump, settle, onPong, onError, reset }
}

export type OutboxSender = ReturnType<typeof useOutboxSender>
