/** The chat layout (header, banner, a room): connection state, live messages, sending, logout, expiry. */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { session, signIn } from '@/session'
import { fakeToken, flush, MockWebSocket, useComposableTestEnv } from './helpers'
import { ALICE, BOB, CAROL, ev, fakeServer, helloV2, LOBBY, mountApp, msg, room, shown, TOKEN, unmountAfterEach } from './roomsServer'

useComposableTestEnv()

const keepMounted = unmountAfterEach()

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0.5)
  fakeServer({ rooms: [room(LOBBY)], extra: { 'POST /api/auth/logout': () => new Response(null, { status: 204 }) } })
})


async function lobby() {
  const app = await mountApp('/rooms/1')
  keepMounted(app.wrapper)
  const ws = helloV2(MockWebSocket.last, 0, { online: { count: 2, users: [ALICE, BOB] } })
  await flush()
  await flushPromises()
  return { ...app, ws }
}

describe('chat layout', () => {
  it('shows the connection state, live messages and the user’s own sends', async () => {
    const { wrapper, ws } = await lobby()
    expect(wrapper.get('[data-testid="connection-status"]').text()).toContain('已连接')
    expect(wrapper.get('[data-testid="online-count"]').text()).toContain('在线: 2')

    ws.receive(ev.message(msg(1, LOBBY, { content: 'hi alice' })))
    await flush()
    expect(shown(wrapper)).toEqual(['hi alice'])

    await wrapper.get('textarea').setValue('hello bob')
    await wrapper.get('textarea').trigger('keydown', { key: 'Enter' })
    await flush()
    expect(wrapper.findAll('[data-testid="pending-message"]')).toHaveLength(1)
    const sent = ws.framesOfType<{ client_id: string; content: string; room_id: number }>('message')
    expect(sent.map((f) => [f.content, f.room_id])).toEqual([['hello bob', LOBBY]])
    ws.receive({ type: 'ack', client_id: sent[0]!.client_id, id: 2, created_at: Date.now(), room_id: LOBBY })
    await flush()
    expect(wrapper.findAll('[data-testid="pending-message"]')).toHaveLength(0)
    expect(shown(wrapper)).toEqual(['hi alice', 'hello bob'])
    expect((wrapper.get('textarea').element as HTMLTextAreaElement).value).toBe('')

    ws.serverClose(1001)
    await flush()
    expect(wrapper.get('[data-testid="connection-status"]').text()).toContain('重连中...')
    expect(wrapper.find('[data-testid="offline-banner"]').exists()).toBe(true)
  })

  it('logout closes the socket itself, revokes the token, then shows the login page', async () => {
    const { wrapper, ws, router } = await lobby()
    await wrapper.get('[data-testid="user-menu"]').trigger('click')
    await flush()
    document.body.querySelector<HTMLElement>('[data-testid="logout"]')!.click()
    await flush()
    // Closed by us, so the server's 4001 for the revoked token cannot read as an expired session.
    expect(ws.closedByClient?.code).toBe(1000)
    await flushPromises()
    await flush()
    expect(session.token).toBe('')
    expect(router.currentRoute.value.name).toBe('login')
    expect(document.body.textContent).toContain('已退出登录')
    expect(Object.keys(localStorage).filter((k) => k.startsWith('hearth.'))).toEqual([])
  })

  it('goes to the login page with a notice on close 4001', async () => {
    const { ws, router } = await lobby()
    ws.serverClose(4001, 'expired')
    await flush()
    await flushPromises()
    expect(session.token).toBe('')
    expect(router.currentRoute.value.name).toBe('login')
    expect(document.body.textContent).toContain('登录已失效，请重新登录')
  })

  it('another account signing in (in another tab) gets a fresh layout and its own connection', async () => {
    const { ws } = await lobby()
    ws.receive(ev.message(msg(5, LOBBY, { content: 'for alice' })))
    await flush()
    const carolToken = fakeToken(3)
    signIn({ token: carolToken, user: CAROL })
    await flush()
    await flushPromises()
    expect(ws.closedByClient?.code).toBe(1000)
    const next = MockWebSocket.last
    expect(next).not.toBe(ws)
    expect(next.protocols).toEqual(['hearth.v1', 'bearer.' + carolToken])
    // Nothing of alice's session is shown.
    expect(document.body.textContent).not.toContain('for alice')
    expect(session.token).not.toBe(TOKEN)
  })
})
