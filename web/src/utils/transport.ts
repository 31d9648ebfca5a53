/**
 * What every transport (WebSocket or polling, lobby client or rooms app)
 * shares: the connection states, the events they emit, error texts and the
 * browser's network and visibility signals.
 */
import { t } from '@/i18n'
import { errorText } from '@/i18n/errors'
import type { ErrorFrame } from '@/api/types'
import type { OutgoingMessage } from './outbox'

export type Transport = 'websocket' | 'polling'

/**
 * Connection status.
 * - `idle`: `connect()` was never called.
 * - `connecting`: first attempt in progress.
 * - `open`: connected (WebSocket: `hello` received; polling: last poll succeeded).
 * - `reconnecting`: the connection was lost (or never came up) and a retry is scheduled or running.
 * - `closed`: stopped by `disconnect()`, or for good after an authentication failure.
 */
export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'

/** Events every transport emits (the lobby client's `ChatEvents` and the rooms app's `StreamEvents` extend them). */
export interface TransportEvents {
  /** Connected and in sync (`resumed`: a previous cursor was used). */
  connected: { transport: Transport; resumed: boolean }
  /** The connection was lost. */
  disconnected: { transport: Transport; code?: number; reason?: string; willRetry: boolean }
  /** A retry is scheduled after `delay` ms. */
  reconnecting: { transport: Transport; attempt: number; delay: number }
  /** The token is invalid or expired: no more retries; log in again. */
  unauthorized: { reason: string }
  /** A WebSocket attempt failed before `hello`; used to decide on the polling fallback. */
  'transport-failed': { consecutiveFailures: number; httpReachable: boolean; websocketDisabled: boolean }
  /** An `error` frame or a failed REST call worth telling the user about. */
  'server-error': ErrorFrame
  /** A queued message was refused for good (or not confirmed); see the outbox. */
  'send-failed': OutgoingMessage
}

export type Emit<E> = <K extends keyof E>(type: K, payload: E[K]) => void

/** State the transports of one connection share (a switch keeps it). */
export interface TransportLink {
  /** Whether any transport was ever connected (status `connecting` vs `reconnecting`). */
  everConnected: boolean
}

/** The user's text for an error code of an `error` frame (`retryAfterMs` from `retry_after_ms`; `fallback`: the server's message). */
export function describeServerError(code: string, fallback?: string, retryAfterMs?: number): string {
  if (code === 'bad_request') return fallback ? t('errors.invalidRequestDetail', { message: fallback }) : t('errors.invalidRequest')
  return errorText(code, { context: 'stream', message: fallback, retryAfter: retryAfterMs === undefined ? undefined : retryAfterMs / 1000 })
}

/** Listens to the browser's `online`/`offline`/`visibilitychange` events. */
export function watchBrowser(handlers: { online?: () => void; offline?: () => void; visible?: () => void; hidden?: () => void }) {
  if (typeof window === 'undefined') return () => {}
  const onOnline = () => handlers.online?.()
  const onOffline = () => handlers.offline?.()
  const onVisibility = () => {
    if (document.visibilityState === 'visible') handlers.visible?.()
    else handlers.hidden?.()
  }
  window.addEventListener('online', onOnline)
  window.addEventListener('offline', onOffline)
  document.addEventListener('visibilitychange', onVisibility)
  return () => {
    window.removeEventListener('online', onOnline)
    window.removeEventListener('offline', onOffline)
    document.removeEventListener('visibilitychange', onVisibility)
  }
}

export function isBrowserOffline(): boolean {
  return typeof navigator !== 'undefined' && navigator.onLine === false
}

export function isPageHidden(): boolean {
  return typeof document !== 'undefined' && document.visibilityState === 'hidden'
}
