/** Logout revokes the token on the server, then signs out locally whatever the answer. */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { session, signIn, signOutAndRevoke } from '@/session'
import { flush, json, mockFetch, MockWebSocket, useComposableTestEnv, type Route } from './helpers'
import { fakeServer, helloV2, LOBBY, mountApp, room, TOKEN } from './roomsServer'

const USER = { id: 1, username: 'alice' }

useComposableTestEnv()

function logoutRoute(route: Route) {
  return mockFetch({ 'POST /api/auth/logout': route })
}

function expectSignedOut(): void {
  expect(session.token).toBe('')
  expect(session.user).toBeNull()
  expect(localStorage.getItem('auth_token')).toBeNull()
  expect(localStorage.getItem('auth_user')).toBeNull()
}

beforeEach(() => {
  signIn({ token: TOKEN, user: USER })
})

describe('signOutAndRevoke', () => {
  it('sends POST /api/auth/logout with the bearer token, then signs out', async () => {
    const routes = logoutRoute(() => new Response(null, { status: 204 }))
    await signOutAndRevoke()
    expect(routes.calls).toHaveLength(1)
    expect(routes.calls[0]!.method).toBe('POST')
    expect(routes.calls[0]!.headers.Authorization).toBe(`Bearer ${TOKEN}`)
    expectSignedOut()
  })

  it.each([
    ['a 401 (token already invalid)', () => json({ error: { code: 'unauthorized', message: 'expired' } }, 401)],
    ['a 500', () => json({ error: { code: 'internal', message: 'boom' } }, 500)],
    ['a network error', () => Promise.reject(new TypeError('Failed to fetch'))],
  ] satisfies [string, Route][])('signs out locally after %s', async (_name, route) => {
    logoutRoute(route)
    await signOutAndRevoke()
    expectSignedOut()
  })

  it('waits at most about 3 s for a server that does not answer', async () => {
    logoutRoute(
      (_url, init) =>
        new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))),
    )
    let done = false
    void signOutAndRevoke().then(() => (done = true))
    await vi.advanceTimersByTimeAsync(2900)
    expect(done).toBe(false)
    expect(session.token).toBe(TOKEN)
    await vi.advanceTimersByTimeAsync(200)
    expect(done).toBe(true)
    expectSignedOut()
  })
})

describe('App logout', () => {
  it('revokes the token before showing the login page', async () => {
    const server = fakeServer({ rooms: [room(LOBBY)], extra: { 'POST /api/auth/logout': () => Promise.reject(new TypeError('offline')) } })
    const { wrapper, router } = await mountApp('/rooms/1')
    helloV2(MockWebSocket.last, 0)
    await flush()
    await wrapper.get('[data-testid="user-menu"]').trigger('click')
    await flush()
    document.body.querySelector<HTMLElement>('[data-testid="logout"]')!.click()
    await flushPromises()
    await flush()
    const logout = server.routes.calls.filter((c) => c.url.pathname === '/api/auth/logout')
    expect(logout.map((c) => [c.method, c.headers.Authorization])).toEqual([['POST', `Bearer ${TOKEN}`]])
    expectSignedOut()
    expect(router.currentRoute.value.name).toBe('login')
    expect(wrapper.text()).toContain('已退出登录')
    wrapper.unmount()
  })
})
