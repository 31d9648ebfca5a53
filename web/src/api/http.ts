import { errorText, formatWait, retryHint } from '@/i18n/errors'
import { t } from '@/i18n'
import type { SearchParams } from './search'
import type { CreateRoomBody, MemberList, NotifyLevel, ReactionsAnswer, Room, RoomList, StreamPage, UpdateRoomBody, UserList } from './rooms'
import type {
  ApiErrorBody,
  AuthResponse,
  ChatMessage,
  HistoryPage,
  NewMessagesPage,
  OnlineUsers,
  ServerConfig,
  User,
} from './types'

/** A REST call answered with an error status (`{"error":{code,message}}`). */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  constructor(
    /** HTTP status. */
    readonly status: number,
    /** Machine-readable code, e.g. `unauthorized`, `conflict`, `bad_request`. */
    readonly code: string,
    message: string,
    /** Seconds from the `Retry-After` header, when present. */
    readonly retryAfter?: number,
  ) {
    super(message)
  }
}

/** The server could not be reached (network down, server stopped, timeout). */
export class NetworkError extends Error {
  override readonly name = 'NetworkError'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * Resolves an API path against the page, so the client works when the server
 * is mounted under a sub-path behind a proxy. `base` defaults to the document's
 * base URI (the page the SPA was served from).
 */
export function resolveUrl(path: string, base?: string): URL {
  const root = base ?? (typeof document !== 'undefined' ? document.baseURI : 'http://localhost/')
  return new URL(path.replace(/^\//, ''), root.endsWith('/') ? root : root.replace(/[^/]*$/, ''))
}

/** `resolveUrl` with the scheme switched to `ws:`/`wss:`. */
export function resolveWsUrl(path: string, base?: string): URL {
  const url = resolveUrl(path, base)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  return url
}

export interface ApiClientOptions {
  /** Base URL the API paths are resolved against. Default: the document's base URI. */
  baseUrl?: string
  /** Bearer token, read on each call. */
  token?: () => string | null | undefined
  /** Per-request timeout in ms. Default 15000. */
  timeoutMs?: number
}

interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  body?: unknown
  /** A body sent as is (an image), with its own `Content-Type`, instead of JSON. */
  raw?: Blob
  query?: Record<string, string | number | undefined>
  auth?: boolean
  signal?: AbortSignal
  /** Overrides the client's timeout for this request (ms). */
  timeoutMs?: number
}

/** How long `logout()` waits for the server (ms): signing out must never hang. */
export const LOGOUT_TIMEOUT_MS = 3000

/** `Retry-After` in seconds: either delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds : undefined
  const date = Date.parse(value)
  return Number.isFinite(date) ? Math.max(0, (date - now) / 1000) : undefined
}

/** A typed client for the REST API of PROTOCOL.md §1. */
export function createApiClient(options: ApiClientOptions = {}) {
  const timeoutMs = options.timeoutMs ?? 15_000

  async function request<T>(path: string, req: RequestOptions = {}): Promise<T> {
    const url = resolveUrl(path, options.baseUrl)
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value))
    }
    const headers: Record<string, string> = { Accept: 'application/json' }
    if (req.raw !== undefined) headers['Content-Type'] = req.raw.type || 'application/octet-stream'
    else if (req.body !== undefined) headers['Content-Type'] = 'application/json'
    if (req.auth !== false) {
      const token = options.token?.()
      if (token) headers.Authorization = `Bearer ${token}`
    }

    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), req.timeoutMs ?? timeoutMs)
    const onAbort = () => controller.abort()
    req.signal?.addEventListener('abort', onAbort, { once: true })

    let response: Response
    try {
      response = await fetch(url.toString(), {
        method: req.method ?? 'GET',
        headers,
        body: req.raw ?? (req.body === undefined ? undefined : JSON.stringify(req.body)),
        signal: controller.signal,
        cache: 'no-store',
      })
    } catch (error) {
      throw new NetworkError(controller.signal.aborted ? t('errors.timeout') : t('errors.network'), { cause: error })
    } finally {
      clearTimeout(timer)
      req.signal?.removeEventListener('abort', onAbort)
    }

    const text = await response.text().catch(() => '')
    let data: unknown = undefined
    if (text) {
      try {
        data = JSON.parse(text)
      } catch {
        data = undefined
      }
    }
    if (!response.ok) {
      const body = data as Partial<ApiErrorBody> | undefined
      const code = body?.error?.code ?? (response.status === 401 ? 'unauthorized' : 'http_' + response.status)
      const message = body?.error?.message ?? (response.statusText || `HTTP ${response.status}`)
      throw new ApiError(response.status, code, message, parseRetryAfter(response.headers.get('Retry-After')))
    }
    return data as T
  }

  return {
    request,
    /** `GET /api/config`: lets the client choose WebSocket or polling at run time. */
    config: (signal?: AbortSignal) => request<ServerConfig>('api/config', { auth: false, signal }),
    /** `invite`: the secret of an invitation link (needed when registration is by invitation). */
    register: (username: string, password: string, invite?: string) =>
      request<AuthResponse>('api/auth/register', { method: 'POST', body: { username, password, invite }, auth: false }),
    login: (username: string, password: string) =>
      request<AuthResponse>('api/auth/login', { method: 'POST', body: { username, password }, auth: false }),
    me: (signal?: AbortSignal) => request<User>('api/auth/me', { signal }),
    /** `POST /api/auth/logout` (204): revokes the token on the server and closes its sockets (4001). */
    logout: (timeoutMs: number = LOGOUT_TIMEOUT_MS) =>
      request<void>('api/auth/logout', { method: 'POST', timeoutMs }),
    /** History page: the newest `limit` messages with id < `before`, ascending. */
    history: (before?: number, limit?: number) =>
      request<HistoryPage>('api/chat/messages', { query: { before, limit } }),
    /** Send over HTTP; answers the stored message (the same one for a repeated `client_id`). */
    send: (content: string, clientId?: string, replyTo?: number) =>
      request<ChatMessage>('api/chat/messages', { method: 'POST', body: { content, client_id: clientId, reply_to: replyTo } }),
    /** Polling endpoint: messages with id > `afterId`, at most 500. */
    newMessages: (afterId: number, signal?: AbortSignal) =>
      request<NewMessagesPage>('api/chat/messages/new', { query: { after_id: afterId }, signal }),
    onlineUsers: () => request<OnlineUsers>('api/chat/online-users'),

    // ---- rooms and direct messages (PROTOCOL.md §3) ----
    /** Rooms the caller is in, and open rooms they may join (`member: false`). */
    rooms: (signal?: AbortSignal) => request<RoomList>('api/rooms', { signal }),
    room: (id: number, signal?: AbortSignal) => request<Room>(`api/rooms/${id}`, { signal }),
    createRoom: (body: CreateRoomBody) => request<Room>('api/rooms', { method: 'POST', body }),
    /** Gets or creates the conversation of exactly these people (the caller is added). */
    startDirect: (userIds: number[]) => request<Room>('api/rooms/direct', { method: 'POST', body: { user_ids: userIds } }),
    updateRoom: (id: number, body: UpdateRoomBody) => request<Room>(`api/rooms/${id}`, { method: 'PATCH', body }),
    joinRoom: (id: number) => request<Room>(`api/rooms/${id}/join`, { method: 'POST' }),
    leaveRoom: (id: number) => request<void>(`api/rooms/${id}/leave`, { method: 'POST' }),
    members: (id: number) => request<MemberList>(`api/rooms/${id}/members`),
    addMembers: (id: number, userIds: number[]) =>
      request<{ added: MemberList['members'] }>(`api/rooms/${id}/members`, { method: 'POST', body: { user_ids: userIds } }),
    removeMember: (id: number, userId: number) => request<void>(`api/rooms/${id}/members/${userId}`, { method: 'DELETE' }),
    archiveRoom: (id: number, archived: boolean) =>
      request<Room>(`api/rooms/${id}/${archived ? 'archive' : 'unarchive'}`, { method: 'POST' }),
    markRead: (id: number, lastReadId: number) =>
      request<void>(`api/rooms/${id}/read`, { method: 'POST', body: { last_read_id: lastReadId } }),
    roomHistory: (id: number, before?: number, limit?: number) =>
      request<HistoryPage>(`api/rooms/${id}/messages`, { query: { before, limit } }),
    sendToRoom: (id: number, content: string, clientId: string, replyTo?: number, files?: number[]) =>
      request<ChatMessage>(`api/rooms/${id}/messages`, { method: 'POST', body: { content, client_id: clientId, reply_to: replyTo, files } }),
    /** `M` and the messages just before and after it (jumping to a reply's original). */
    roomAround: (id: number, around: number, limit?: number) =>
      request<HistoryPage>(`api/rooms/${id}/messages`, { query: { around, limit } }),

    // ---- conversation features (PROTOCOL.md §4) ----
    editMessage: (id: number, content: string) => request<ChatMessage>(`api/messages/${id}`, { method: 'PATCH', body: { content } }),
    deleteMessage: (id: number) => request<void>(`api/messages/${id}`, { method: 'DELETE' }),
    /** Adds (`on`) or removes one of the caller's reactions; answers the whole list. */
    react: (id: number, emoji: string, on: boolean) =>
      request<ReactionsAnswer>(`api/messages/${id}/reactions/${encodeURIComponent(emoji)}`, { method: on ? 'PUT' : 'DELETE' }),
    setNotify: (id: number, level: NotifyLevel) => request<void>(`api/rooms/${id}/notify`, { method: 'PUT', body: { level } }),
    /** The v2 stream for polling clients: events with `seq` > `after`, at most 500. Without `after`: where to start (`last_seq`). */
    stream: (after: number | undefined, signal?: AbortSignal) => request<StreamPage>('api/stream', { query: { after }, signal }),
    searchUsers: (q: string, limit = 20, signal?: AbortSignal) =>
      request<UserList>('api/users', { query: { q, limit }, signal }),

    // ---- search ----
    /** `GET /api/search`: messages of the caller's rooms; `q` may hold `in:room` and `from:user`. */
    searchMessages: (params: SearchParams, signal?: AbortSignal) =>
      request<unknown>('api/search', {
        query: { q: params.q, order: params.order, before: params.before, limit: params.limit, room_id: params.room_id, from: params.from },
        signal,
      }),
  }
}

export type ApiClient = ReturnType<typeof createApiClient>

// How long to wait, in the user's language ("请 12 秒后再试" / "Try again in 12 seconds.").
export { formatWait, retryHint }

/** Milliseconds to wait after a 429 (`Retry-After`, or `fallbackMs` without one). */
export function retryAfterMs(error: ApiError, fallbackMs = 1000): number {
  return error.retryAfter !== undefined ? error.retryAfter * 1000 : fallbackMs
}

/**
 * The user's text for an error thrown by the API client: a known code in
 * their language (`errors.code`), else the server's message.
 */
export function describeError(error: unknown): string {
  if (error instanceof NetworkError) return error.message
  if (error instanceof ApiError) return errorText(error.code, { message: error.message, retryAfter: error.retryAfter })
  return error instanceof Error ? error.message : String(error)
}
