/** Test doubles: a scriptable WebSocket class and a routed `fetch`; the i18n plugin of every mount. */
import { afterEach, beforeEach, vi } from 'vitest'
import { config } from '@vue/test-utils'
import { effectScope, type EffectScope } from 'vue'
import type { ChatMessage, HelloFrame } from '@/api/types'
import { i18n, setLocale, type AppLocale } from '@/i18n'

type Handler<E> = ((event: E) => void) | null

/** A WebSocket stub whose "server side" is driven by the test. */
export class MockWebSocket {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSING = 2
  static readonly CLOSED = 3
  static instances: MockWebSocket[] = []

  static reset(): void {
    MockWebSocket.instances = []
  }

  static get last(): MockWebSocket {
    const ws = MockWebSocket.instances[MockWebSocket.instances.length - 1]
    if (!ws) throw new Error('no WebSocket was created')
    return ws
  }

  readonly url: string
  readonly protocols: string[]
  readyState = MockWebSocket.CONNECTING
  sent: string[] = []
  /** Set when the client called close(). */
  closedByClient: { code?: number; reason?: string } | null = null
  onopen: Handler<Event> = null
  onmessage: Handler<MessageEvent> = null
  onclose: Handler<CloseEvent> = null
  onerror: Handler<Event> = null

  constructor(url: string | URL, protocols?: string | string[]) {
    this.url = String(url)
    this.protocols = protocols === undefined ? [] : Array.isArray(protocols) ? protocols : [protocols]
    MockWebSocket.instances.push(this)
  }

  send(data: string): void {
    if (this.readyState !== MockWebSocket.OPEN) throw new Error('InvalidStateError: not open')
    this.sent.push(data)
  }

  close(code?: number, reason?: string): void {
    if (this.readyState >= MockWebSocket.CLOSING) return
    this.readyState = MockWebSocket.CLOSED
    this.closedByClient = { code, reason }
  }

  // ---- server side -------------------------------------------------------------

  /** Completes the handshake (101). */
  accept(): this {
    this.readyState = MockWebSocket.OPEN
    this.onopen?.(new Event('open'))
    return this
  }

  receive(frame: unknown): this {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) } as MessageEvent)
    return this
  }

  /** Accepts and sends `hello`. */
  hello(overrides: Partial<HelloFrame> = {}): this {
    if (this.readyState === MockWebSocket.CONNECTING) this.accept()
    return this.receive({
      type: 'hello',
      user: { id: 1, username: 'alice' },
      epoch: 'epoch-1',
      online: { count: 1, users: [{ id: 1, username: 'alice' }] },
      last_id: 0,
      ...overrides,
    } satisfies HelloFrame)
  }

  /** The server closes the connection. */
  serverClose(code: number, reason = ''): void {
    this.readyState = MockWebSocket.CLOSED
    this.onclose?.({ code, reason, wasClean: code !== 1006 } as CloseEvent)
  }

  /** The connection fails before or after opening (no close frame). */
  fail(): void {
    this.readyState = MockWebSocket.CLOSED
    this.onerror?.(new Event('error'))
    this.onclose?.({ code: 1006, reason: '', wasClean: false } as CloseEvent)
  }

  /** Frames the client sent, parsed. */
  frames<T = Record<string, unknown>>(): T[] {
    return this.sent.map((s) => JSON.parse(s) as T)
  }

  framesOfType<T = Record<string, unknown>>(type: string): T[] {
    return this.frames<T & { type: string }>().filter((f) => f.type === type)
  }
}

export function message(id: number, overrides: Partial<ChatMessage> = {}): ChatMessage {
  return {
    id,
    room: 'lobby',
    user_id: 2,
    username: 'bob',
    content: `message ${id}`,
    created_at: 1_700_000_000_000 + id * 1000,
    client_id: `c${id}`,
    ...overrides,
  }
}

export type Route = (url: URL, init: RequestInit) => unknown

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } })
}

/**
 * Stubs `fetch`: `routes` maps "METHOD /path" to a handler returning a
 * Response, a body (answered as 200 JSON) or throwing (network error).
 * `fallback` answers the others (paths with ids); what neither routes fails
 * with a network error.
 */
export function mockFetch(routes: Record<string, Route>, fallback?: (method: string, url: URL, init: RequestInit) => unknown) {
  const calls: { method: string; url: URL; body: unknown; headers: Record<string, string> }[] = []
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input))
    const method = (init.method ?? 'GET').toUpperCase()
    const body = typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined
    calls.push({ method, url, body, headers: (init.headers ?? {}) as Record<string, string> })
    const route = routes[`${method} ${url.pathname}`]
    const result = route ? await route(url, init) : fallback ? await fallback(method, url, init) : undefined
    if (result === undefined) throw new TypeError(`Failed to fetch (${method} ${url.pathname})`)
    return result instanceof Response ? result : json(result)
  })
  vi.stubGlobal('fetch', fn)
  return {
    fn,
    calls,
    count: (method: string, path: string) => calls.filter((c) => c.method === method && c.url.pathname === path).length,
  }
}

/** A JWT-shaped token (unsigned) with the given subject. */
export function fakeToken(sub: string | number = 1): string {
  const b64 = (obj: unknown) => btoa(JSON.stringify(obj)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, exp: 9_999_999_999 })}.signature`
}

/**
 * happy-dom has no layout: makes every element taller than its viewport (a
 * message list then loads no older pages by itself) and records the
 * `data-message-id` of each element scrolled into view, in the returned array.
 */
export function fakeListLayout(): string[] {
  const scrolled: string[] = []
  vi.spyOn(HTMLElement.prototype, 'scrollIntoView').mockImplementation(function (this: HTMLElement) {
    scrolled.push(this.dataset.messageId ?? '')
  })
  vi.spyOn(HTMLElement.prototype, 'scrollHeight', 'get').mockReturnValue(5000)
  vi.spyOn(HTMLElement.prototype, 'clientHeight', 'get').mockReturnValue(600)
  return scrolled
}

/** Lets pending promise callbacks run (works with fake timers). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(0)
}

/**
 * Registers the shared per-test environment for composable tests: before
 * each test, fake timers, a fresh MockWebSocket registry and an empty
 * localStorage; after each test, every scope created by the returned runner
 * is stopped and real timers are restored. Call it at the top level of a test
 * file (before any file-specific hooks, which then run after these).
 *
 * The returned function runs `fn` inside a new effect scope, as a component
 * would; inside `fn`, `getCurrentScope()` gives that scope.
 */
export function useComposableTestEnv(): <T>(fn: () => T) => T {
  let scopes: EffectScope[] = []
  beforeEach(() => {
    vi.useFakeTimers()
    MockWebSocket.reset()
    localStorage.clear()
  })
  afterEach(() => {
    for (const s of scopes) s.stop()
    scopes = []
    vi.useRealTimers()
  })
  return <T>(fn: () => T): T => {
    const scope = effectScope()
    scopes.push(scope)
    return scope.run(fn)!
  }
}

/**
 * Every component mounted by a test (`mount`, `mountApp`) gets the app's
 * vue-i18n instance, and each test starts in `locale` (zh-CN: the texts the
 * assertions expect) without touching the remembered choice. Called once per
 * test file by `setup.ts` (vitest `setupFiles`).
 */
export function installTestI18n(locale: AppLocale = 'zh-CN'): void {
  if (!config.global.plugins.includes(i18n)) config.global.plugins.push(i18n)
  setLocale(locale, { remember: false })
  beforeEach(() => setLocale(locale, { remember: false }))
}
