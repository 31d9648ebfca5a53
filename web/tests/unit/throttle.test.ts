/** 429 answers (login/register, history, polling) and rate-limited frames: wait as told, say so in Chinese. */
import { describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { ApiError, describeError, NetworkError, parseRetryAfter } from '@/api/http'
import MessageList from '@/components/MessageList.vue'
import { describeServerError } from '@/utils/chatCore'
import { usePolling } from '@/utils/polling'
import { useWebSocket } from '@/utils/websocket'
import LoginView from '@/views/LoginView.vue'
import { fakeToken, flush, json, message, mockFetch, MockWebSocket, useComposableTestEnv } from './helpers'

const TOKEN = fakeToken(1)
const inScope = useComposableTestEnv()

function tooMany(code: 'rate_limited' | 'busy', retryAfter: number): Response {
  return json({ error: { code, message: 'slow down' } }, 429, { 'Retry-After': String(retryAfter) })
}

describe('error texts', () => {
  it('maps rate_limited and busy with the seconds to wait', () => {
    expect(describeError(new ApiError(429, 'rate_limited', 'x', 12))).toBe('操作太频繁，请 12 秒后再试')
    expect(describeError(new ApiError(429, 'rate_limited', 'x'))).toBe('操作太频繁，请稍后再试')
    expect(describeError(new ApiError(429, 'busy', 'x', 2.2))).toBe('服务器繁忙，请 3 秒后再试')
    expect(describeError(new ApiError(429, 'rate_limited', 'x', 600))).toBe('操作太频繁，请 10 分钟后再试')
    expect(describeServerError('rate_limited', 'x', 1500)).toBe('操作太频繁，请 2 秒后再试')
    expect(describeServerError('busy')).toBe('服务器繁忙，请稍后再试')
    expect(describeError(new NetworkError('无法连接服务器'))).toBe('无法连接服务器')
  })

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('12')).toBe(12)
    expect(parseRetryAfter('-1')).toBeUndefined()
    expect(parseRetryAfter('soon')).toBeUndefined()
    const now = Date.parse('2024-05-10T12:00:00Z')
    expect(parseRetryAfter('Fri, 10 May 2024 12:00:30 GMT', now)).toBe(30)
  })
})

describe('login and register answered 429', () => {
  async function submitWith(answer: () => Response, mode: 'login' | 'register' = 'login') {
    const path = mode === 'login' ? 'POST /api/auth/login' : 'POST /api/auth/register'
    const routes = mockFetch({ [path]: answer })
    const wrapper = mount(LoginView, { attachTo: document.body })
    if (mode === 'register') {
      wrapper.findComponent({ name: 'ElTabs' }).vm.$emit('update:modelValue', 'register')
      await flushPromises()
    }
    await wrapper.get('input[name="username"]').setValue('alice')
    await wrapper.get('input[name="password"]').setValue('correct horse')
    if (mode === 'register') await wrapper.get('input[name="confirm"]').setValue('correct horse')
    await wrapper.get('[data-testid="auth-form"]').trigger('submit')
    await flush()
    return { wrapper, routes }
  }

  it('says how many seconds to wait after too many login attempts', async () => {
    const { wrapper, routes } = await submitWith(() => tooMany('rate_limited', 12))
    expect(routes.count('POST', '/api/auth/login')).toBe(1)
    expect(wrapper.get('[data-testid="auth-error"]').text()).toContain('尝试次数过多，请 12 秒后再试')
    wrapper.unmount()
  })

  it('says the server is busy when its password queue is full', async () => {
    const { wrapper } = await submitWith(() => tooMany('busy', 3))
    expect(wrapper.get('[data-testid="auth-error"]').text()).toContain('服务器繁忙，请 3 秒后再试')
    wrapper.unmount()
  })

  it('says so after too many registrations', async () => {
    const { wrapper, routes } = await submitWith(() => tooMany('rate_limited', 90), 'register')
    expect(routes.count('POST', '/api/auth/register')).toBe(1)
    expect(wrapper.get('[data-testid="auth-error"]').text()).toContain('注册次数过多，请 90 秒后再试')
    wrapper.unmount()
  })
})

describe('polling answered 429', () => {
  it('waits at least Retry-After before the next poll, without a reconnect or an error storm', async () => {
    let throttled = false
    const routes = mockFetch({
      'GET /api/auth/me': () => ({ id: 1, username: 'alice' }),
      'GET /api/config': () => ({ websocket: false, epoch: 'E' }),
      'GET /api/chat/messages': () => ({ messages: [message(1)], has_more: false }),
      'GET /api/chat/online-users': () => ({ count: 0, users: [] }),
      'GET /api/chat/messages/new': (url) =>
        throttled ? tooMany('rate_limited', 7) : { messages: [], has_more: false, last_id: Number(url.searchParams.get('after_id')) },
    })
    const chat = inScope(() => usePolling(TOKEN, { interval: 1000 }))
    const events = vi.fn()
    chat.on('disconnected', events)
    chat.on('reconnecting', events)
    chat.on('server-error', events)
    chat.connect()
    await flush()
    expect(chat.status.value).toBe('open')
    const polls = () => routes.count('GET', '/api/chat/messages/new')
    const setupCalls = routes.count('GET', '/api/auth/me') + routes.count('GET', '/api/chat/messages')

    throttled = true
    await vi.advanceTimersByTimeAsync(1000)
    expect(polls()).toBe(2) // the poll answered 429
    await vi.advanceTimersByTimeAsync(6900)
    expect(polls()).toBe(2) // nothing for 7 s
    await vi.advanceTimersByTimeAsync(100)
    expect(polls()).toBe(3)
    throttled = false
    await vi.advanceTimersByTimeAsync(7000)
    expect(polls()).toBe(4)
    await vi.advanceTimersByTimeAsync(1000)
    expect(polls()).toBe(5) // back to the normal interval

    expect(chat.status.value).toBe('open')
    expect(events).not.toHaveBeenCalled()
    // No re-initialisation (me, config, history) on a 429.
    expect(routes.count('GET', '/api/auth/me') + routes.count('GET', '/api/chat/messages')).toBe(setupCalls)
  })

  it('never polls faster than its interval, even with Retry-After: 0', async () => {
    const routes = mockFetch({
      'GET /api/auth/me': () => ({ id: 1, username: 'alice' }),
      'GET /api/chat/messages': () => ({ messages: [], has_more: false }),
      'GET /api/chat/online-users': () => ({ count: 0, users: [] }),
      'GET /api/chat/messages/new': () => tooMany('rate_limited', 0),
    })
    const chat = inScope(() => usePolling(TOKEN, { interval: 2000 }))
    chat.connect()
    await flush()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(routes.count('GET', '/api/chat/messages/new')).toBeLessThanOrEqual(6)
  })
})

describe('history answered 429', () => {
  it('waits Retry-After and retries when scrolling up', async () => {
    let throttle = 1
    const routes = mockFetch({
      'GET /api/chat/messages': (url) => {
        if (!url.searchParams.has('before')) return { messages: [message(3), message(4)], has_more: true }
        if (throttle-- > 0) return tooMany('rate_limited', 2)
        return { messages: [message(1), message(2)], has_more: false }
      },
    })
    const chat = inScope(() => useWebSocket(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket }))
    chat.connect()
    MockWebSocket.last.hello({ last_id: 4 })
    await flush()
    const older = chat.loadOlder()
    await flush()
    expect(chat.loadingHistory.value).toBe(true)
    await vi.advanceTimersByTimeAsync(1900)
    expect(routes.count('GET', '/api/chat/messages')).toBe(2)
    await vi.advanceTimersByTimeAsync(100)
    expect(await older).toBe(2)
    expect(routes.count('GET', '/api/chat/messages')).toBe(3)
    expect(chat.messages.value.map((m) => m.id)).toEqual([1, 2, 3, 4])
    expect(chat.loadingHistory.value).toBe(false)
  })

  it('gives up on a long Retry-After, and the list shows a short notice', async () => {
    mockFetch({
      'GET /api/chat/messages': (url) =>
        url.searchParams.has('before') ? tooMany('rate_limited', 60) : { messages: [message(3)], has_more: true },
    })
    const chat = inScope(() => useWebSocket(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket }))
    chat.connect()
    MockWebSocket.last.hello({ last_id: 3 })
    await flush()
    await expect(chat.loadOlder()).rejects.toMatchObject({ status: 429, retryAfter: 60 })

    const wrapper = mount(MessageList, {
      props: {
        messages: chat.messages.value,
        pending: [],
        currentUserId: 1,
        hasMore: true,
        loading: false,
        online: true,
        loadOlder: chat.loadOlder,
      },
    })
    await flush()
    await wrapper.get('.history-state button').trigger('click')
    await flush()
    expect(wrapper.get('[data-testid="history-error"]').text()).toBe('操作太频繁，请 60 秒后再试')
    expect(wrapper.get('.history-state button').text()).toBe('重试')
    wrapper.unmount()
  })
})
