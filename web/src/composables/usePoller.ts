/**
 * `usePoller`: the HTTP polling loop, used when WebSocket is unavailable.
 * The caller's hooks do the protocol (which endpoint, which cursor); this
 * does the timing and the failure handling:
 *
 * - polls every `interval` ms (`hiddenInterval` while the tab is hidden);
 *   the tab becoming visible or the network coming back polls at once;
 * - a 401 stops it and emits `unauthorized`;
 * - a 429 is waited out (at least `Retry-After`, never faster than `interval`),
 *   keeping the state: reading too much is not an outage;
 * - other failures back off, and the next success re-runs `init` (the
 *   database may have been replaced meanwhile);
 * - sends the outbox one message at a time, in order, over HTTP.
 */
import { ref, toValue, type MaybeRefOrGetter, type Ref } from 'vue'
import { ApiError, retryAfterMs } from '@/api/http'
import { backoffDelay, type BackoffOptions } from '@/utils/backoff'
import type { HttpSendResult, Outbox, OutgoingMessage } from '@/utils/outbox'
import {
  isBrowserOffline,
  isPageHidden,
  watchBrowser,
  type ConnectionStatus,
  type Emit,
  type TransportEvents,
  type TransportLink,
} from '@/utils/transport'

export interface PollerOptions {
  /** Delay between polls while the page is visible, in ms. Default 2000. */
  interval?: number
  /** Delay between polls while the page is hidden, in ms. Default 10000. */
  hiddenInterval?: number
  /** How often `presence` runs, in ms. Default 10000. */
  presenceInterval?: number
  /** Backoff after failed polls. Defaults of `BackoffOptions`. */
  backoff?: BackoffOptions
}

/** `current()` turns false when the poller was stopped or restarted: return without touching state. */
export type PollStep = (signal: AbortSignal, current: () => boolean) => Promise<void>

export interface PollerHooks {
  /** (Re)start: who am I, which database is this, catch up. */
  init: PollStep
  /** One poll (may fetch several pages). */
  poll: PollStep
  /** Refreshes the online list (best effort; only a 401 counts). */
  presence?: PollStep
  /** Sends one outbox entry over HTTP. */
  send: (entry: OutgoingMessage) => Promise<HttpSendResult>
}

export function usePoller(
  token: MaybeRefOrGetter<string>,
  options: PollerOptions,
  deps: { emit: Emit<TransportEvents>; link: TransportLink; outbox: Outbox },
  hooks: PollerHooks,
) {
  const interval = options.interval ?? 2000
  const hiddenInterval = options.hiddenInterval ?? 10_000
  const presenceInterval = options.presenceInterval ?? 10_000
  const { emit, link, outbox } = deps

  const status: Ref<ConnectionStatus> = ref('idle')
  const explicitlyClosed = ref(false)

  let running = false
  let generation = 0
  let initialized = false
  let inTick = false
  let failures = 0
  let lastPresence = -Infinity
  let timer: ReturnType<typeof setTimeout> | undefined
  let abort: AbortController | undefined
  let sending = false
  let sendPausedUntil = 0
  let unwatchBrowser: (() => void) | undefined

  function schedule(delay: number): void {
    if (timer !== undefined) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      void tick()
    }, delay)
  }

  async function tick(): Promise<void> {
    if (!running || inTick) return
    inTick = true
    const gen = generation
    const current = () => gen === generation
    abort = new AbortController()
    const signal = abort.signal
    try {
      if (!initialized) {
        await hooks.init(signal, current)
        if (!current()) return
        initialized = true
      }
      await hooks.poll(signal, current)
      if (!current()) return
      if (hooks.presence && Date.now() - lastPresence >= presenceInterval) {
        try {
          await hooks.presence(signal, current)
          lastPresence = Date.now()
        } catch (error) {
          if (error instanceof ApiError && error.status === 401) throw error
          // presence is best effort
        }
        if (!current()) return
      }
      failures = 0
      if (status.value !== 'open') {
        const resumed = link.everConnected
        status.value = 'open'
        link.everConnected = true
        emit('connected', { transport: 'polling', resumed })
      }
      void pump()
      schedule(isPageHidden() ? hiddenInterval : interval)
    } catch (error) {
      if (!current() || !running) return
      if (error instanceof ApiError && error.status === 401) {
        stop()
        emit('unauthorized', { reason: 'token rejected' })
        return
      }
      if (error instanceof ApiError && error.status === 429) {
        // Reading too much is not an outage: keep the state (no re-init, which
        // would cost more requests) and wait at least as long as told.
        schedule(Math.max(retryAfterMs(error), interval))
        return
      }
      const delay = Math.max(backoffDelay(failures, options.backoff), isBrowserOffline() ? hiddenInterval : 0)
      failures++
      // After an outage, check the epoch again (the database may have been replaced).
      initialized = false
      const wasOpen = status.value === 'open'
      status.value = link.everConnected ? 'reconnecting' : 'connecting'
      if (wasOpen) emit('disconnected', { transport: 'polling', willRetry: true })
      emit('reconnecting', { transport: 'polling', attempt: failures, delay })
      schedule(delay)
    } finally {
      if (current()) inTick = false
    }
  }

  /** Sends queued messages one at a time, in order. */
  async function pump(): Promise<void> {
    if (sending || !running || status.value !== 'open') return
    if (Date.now() < sendPausedUntil) return
    sending = true
    const gen = generation
    try {
      for (;;) {
        if (!running || gen !== generation) return
        const entry = outbox.pending.value.find((e) => e.state === 'pending')
        if (!entry) return
        const result = await hooks.send(entry)
        if (result === 'unauthorized') {
          stop()
          emit('unauthorized', { reason: 'token rejected' })
          return
        }
        if (result === 'retry') {
          // Network or server trouble: the next successful poll resumes sending.
          sendPausedUntil = Date.now() + Math.max(outbox.takeRetryAfter(), 1000)
          return
        }
      }
    } finally {
      sending = false
    }
  }

  /** The outbox changed: send now if connected. */
  function flush(): void {
    if (status.value === 'open') {
      sendPausedUntil = 0
      void pump()
    }
  }

  function stop(): void {
    running = false
    generation++
    inTick = false
    abort?.abort()
    abort = undefined
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    outbox.requeueSending()
    unwatchBrowser?.()
    unwatchBrowser = undefined
    status.value = 'closed'
  }

  function connect(): void {
    explicitlyClosed.value = false
    if (running) return
    if (!toValue(token)) {
      status.value = 'closed'
      emit('unauthorized', { reason: 'missing token' })
      return
    }
    running = true
    generation++
    initialized = false
    failures = 0
    lastPresence = -Infinity
    status.value = link.everConnected ? 'reconnecting' : 'connecting'
    unwatchBrowser = watchBrowser({ online: () => reconnectNow(), visible: () => reconnectNow() })
    void tick()
  }

  function disconnect(): void {
    explicitlyClosed.value = true
    stop()
  }

  /** Polls at once (resets the backoff). */
  function reconnectNow(): void {
    if (!running || inTick) return
    failures = 0
    sendPausedUntil = 0
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    void tick()
  }

  return { status, explicitlyClosed, connect, disconnect, reconnectNow, flush }
}

export type Poller = ReturnType<typeof usePoller>
