/** The rooms app as mounted in the browser: routes, the 404 page, the sidebar, hotkeys, the phone drawer, dialogs. */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { flush, MockWebSocket, useComposableTestEnv } from './helpers'
import { ALICE, BOB, direct, ev, fakeServer, helloV2, LOBBY, mountApp, msg, room, unmountAfterEach } from './roomsServer'

useComposableTestEnv()

const ROOMS = [
  room(LOBBY, { topic: '大家好' }),
  room(7, { kind: 'closed', name: '设计', topic: '评审与走查', members_count: 2, unread: 2, last_message_id: 5, last_read_id: 3 }),
  direct(30, [BOB]),
  room(5, { name: '闲聊', member: false }),
]

const keepMounted = unmountAfterEach()

async function open(path: string, options: { signedIn?: boolean } = {}) {
  const app = await mountApp(path, options)
  keepMounted(app.wrapper)
  return app
}

/** The socket says hello; the room list and the current room load. */
async function connect(lastId = 10) {
  helloV2(MockWebSocket.last, lastId)
  await flush()
  await flushPromises()
}

function byTestId(id: string): HTMLElement | null {
  return document.body.querySelector(`[data-testid="${id}"]`)
}

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0.5)
})


describe('routes', () => {
  it('shows 房间不存在或你无权访问 for a room the server answers 404 for', async () => {
    const server = fakeServer({ rooms: ROOMS })
    const { wrapper } = await open('/rooms/99')
    await connect()
    expect(server.routes.count('GET', '/api/rooms/99')).toBe(1)
    expect(wrapper.get('[data-testid="room-not-found"]').text()).toContain('房间不存在或你无权访问')
    expect(wrapper.find('[data-testid="composer"]').exists()).toBe(false)
  })

  it('shows the not-found page for an id that is not one', async () => {
    fakeServer({ rooms: ROOMS })
    const { wrapper } = await open('/rooms/abc')
    expect(wrapper.find('[data-testid="room-not-found"]').exists()).toBe(true)
  })

  it('/ opens the lobby, or the room shown last', async () => {
    fakeServer({ rooms: ROOMS })
    const first = await open('/')
    await connect()
    expect(first.router.currentRoute.value.fullPath).toBe('/rooms/1')
    first.wrapper.unmount()

    localStorage.setItem('hearth.room.v1.1', '7')
    const second = await open('/')
    // The cached room list is enough: no wait for the server.
    await flush()
    expect(second.router.currentRoute.value.fullPath).toBe('/rooms/7')
  })

  it('sends a signed-out visitor to the login page and back to the shared link after login', async () => {
    fakeServer({ rooms: ROOMS, extra: { 'POST /api/auth/login': () => ({ token: 'a.b.c', user: ALICE }) } })
    const { wrapper, router } = await open('/rooms/7', { signedIn: false })
    expect(router.currentRoute.value.fullPath).toBe('/login?redirect=/rooms/7')
    await wrapper.get('input[name="username"]').setValue('alice')
    await wrapper.get('input[name="password"]').setValue('correct horse')
    await wrapper.get('[data-testid="auth-form"]').trigger('submit')
    await flush()
    await flushPromises()
    expect(router.currentRoute.value.fullPath).toBe('/rooms/7')
  })

  it('keeps the room across a reload (the route is the URL)', async () => {
    fakeServer({ rooms: ROOMS, history: { 7: [msg(4, 7, { content: '第一稿' })] } })
    const first = await open('/rooms/7')
    await connect()
    expect(first.wrapper.get('[data-testid="room-title"]').text()).toBe('设计')
    first.wrapper.unmount()
    const again = await open('/rooms/7')
    expect(again.wrapper.get('[data-testid="room-title"]').text()).toBe('设计')
    expect(again.wrapper.findAll('[data-testid="message-content"]').map((m) => m.text())).toEqual(['第一稿'])
  })
})

describe('sidebar', () => {
  it('lists 房间 and 私信 with unread counts in bold, a presence dot on direct messages, and rooms to join', async () => {
    fakeServer({ rooms: ROOMS })
    const { wrapper } = await open('/rooms/1')
    await connect()
    const sidebar = wrapper.get('[data-testid="sidebar"]')
    expect(sidebar.text()).toContain('房间')
    expect(sidebar.text()).toContain('私信')
    expect(sidebar.get('[data-testid="room-item-1"]').text()).toContain('大厅')
    const design = sidebar.get('[data-testid="room-item-7"]')
    expect(design.classes()).toContain('unread')
    expect(sidebar.get('[data-testid="room-unread-7"]').text()).toBe('2')
    expect(sidebar.get('[data-testid="room-item-30"]').text()).toContain('bob')
    // bob is online (hello lists him).
    expect(sidebar.get('[data-testid="presence-30"]').attributes('data-online')).toBe('true')
    expect(sidebar.find('[data-testid="join-room-5"]').exists()).toBe(true)

    MockWebSocket.last.receive(ev.message(msg(11, 30)))
    await flush()
    expect(sidebar.get('[data-testid="room-unread-30"]').text()).toBe('1')
    expect(document.title).toBe('(3) Hearth')

    // Read in another tab: cleared here too.
    MockWebSocket.last.receive(ev.read(12, 7, 5))
    await flush()
    expect(sidebar.find('[data-testid="room-unread-7"]').exists()).toBe(false)
    expect(design.classes()).not.toContain('unread')
    expect(document.title).toBe('(1) Hearth')
  })

  it('opens a room on click, and the room being read clears its count', async () => {
    fakeServer({ rooms: ROOMS, history: { 7: [msg(4, 7), msg(5, 7)] } })
    const { wrapper, router } = await open('/rooms/1')
    await connect()
    await wrapper.get('[data-testid="room-item-7"]').trigger('click')
    await flush()
    await flushPromises()
    expect(router.currentRoute.value.fullPath).toBe('/rooms/7')
    expect(wrapper.get('[data-testid="room-header"]').text()).toContain('设计')
    expect(wrapper.get('[data-testid="room-topic"]').text()).toBe('评审与走查')
    expect(wrapper.get('[data-testid="member-count"]').text()).toBe('2')
    expect(wrapper.find('[data-testid="room-unread-7"]').exists()).toBe(false)
    await vi.advanceTimersByTimeAsync(500)
    expect(MockWebSocket.last.framesOfType('read')).toEqual([{ type: 'read', room_id: 7, last_read_id: 5 }])
  })

  it('joins an open room from the list', async () => {
    const server = fakeServer({ rooms: ROOMS })
    const { wrapper, router } = await open('/rooms/1')
    await connect()
    await wrapper.get('[data-testid="join-room-5"]').trigger('click')
    await flush()
    await flushPromises()
    expect(server.routes.count('POST', '/api/rooms/5/join')).toBe(1)
    expect(router.currentRoute.value.fullPath).toBe('/rooms/5')
    expect(wrapper.find('[data-testid="room-item-5"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="composer"]').exists()).toBe(true)
  })

  it('shows a join button in an open room the user is not in', async () => {
    fakeServer({ rooms: ROOMS })
    const { wrapper } = await open('/rooms/5')
    await connect()
    expect(wrapper.find('[data-testid="composer"]').exists()).toBe(false)
    await wrapper.get('[data-testid="join-room"]').trigger('click')
    await flush()
    await flushPromises()
    expect(wrapper.find('[data-testid="composer"]').exists()).toBe(true)
  })
})

describe('keyboard', () => {
  it('Alt+↓ / Alt+↑ walk the rooms in sidebar order', async () => {
    fakeServer({ rooms: ROOMS })
    const { router } = await open('/rooms/1')
    await connect()
    const press = async (key: string) => {
      window.dispatchEvent(new KeyboardEvent('keydown', { key, altKey: true, bubbles: true }))
      await flush()
    }
    await press('ArrowDown')
    expect(router.currentRoute.value.fullPath).toBe('/rooms/7')
    await press('ArrowDown')
    expect(router.currentRoute.value.fullPath).toBe('/rooms/30')
    await press('ArrowDown') // the last one: stays
    expect(router.currentRoute.value.fullPath).toBe('/rooms/30')
    await press('ArrowUp')
    expect(router.currentRoute.value.fullPath).toBe('/rooms/7')
    // Without Alt, arrows are the text box's.
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowUp', bubbles: true }))
    await flush()
    expect(router.currentRoute.value.fullPath).toBe('/rooms/7')
  })
})

describe('phone (390 px)', () => {
  it('puts the room list in a drawer behind a header button', async () => {
    const matchMedia = window.matchMedia.bind(window)
    vi.stubGlobal('matchMedia', (query: string) =>
      query === '(max-width: 768px)' ? { ...matchMedia(query), matches: true, addEventListener() {}, removeEventListener() {} } : matchMedia(query),
    )
    fakeServer({ rooms: ROOMS })
    const { wrapper, router } = await open('/rooms/1')
    await connect()
    expect(byTestId('sidebar')).toBeNull()
    await wrapper.get('[data-testid="sidebar-toggle"]').trigger('click')
    await flush()
    expect(byTestId('sidebar')).not.toBeNull()
    byTestId('room-item-7')!.click()
    await flush()
    await flushPromises()
    expect(router.currentRoute.value.fullPath).toBe('/rooms/7')
  })
})

describe('room actions', () => {
  it('members drawer lists the members and starts a direct message', async () => {
    const server = fakeServer({ rooms: ROOMS })
    const { wrapper, router } = await open('/rooms/7')
    await connect()
    await wrapper.get('[data-testid="members-button"]').trigger('click')
    await flush()
    await flushPromises()
    const drawer = byTestId('members-drawer')!
    expect(drawer.textContent).toContain('alice')
    expect(drawer.textContent).toContain('bob')
    expect(drawer.querySelector('[data-testid="start-dm-1"]')).toBeNull() // not for oneself
    ;(drawer.querySelector('[data-testid="start-dm-2"]') as HTMLElement).click()
    await flush()
    await flushPromises()
    const posts = server.routes.calls.filter((c) => c.method === 'POST' && c.url.pathname === '/api/rooms/direct')
    expect(posts.map((c) => c.body)).toEqual([{ user_ids: [BOB.id] }])
    // The existing conversation with bob.
    expect(router.currentRoute.value.fullPath).toBe('/rooms/30')
  })

  it('creates a closed room with the new-room dialog and opens it', async () => {
    const server = fakeServer({ rooms: ROOMS })
    const { wrapper, router } = await open('/rooms/1')
    await connect()
    await wrapper.get('[data-testid="new-room"]').trigger('click')
    await flush()
    const dialog = byTestId('new-room-dialog')!
    // Element Plus puts the test id on the native input.
    const name = dialog.querySelector('input[data-testid="new-room-name"]') as HTMLInputElement
    name.value = '预算'
    name.dispatchEvent(new Event('input'))
    ;(dialog.querySelector('[data-testid="new-room-kind-closed"] input') as HTMLInputElement).click()
    await flush()
    ;(byTestId('new-room-submit') as HTMLElement).click()
    await flush()
    await flushPromises()
    const posts = server.routes.calls.filter((c) => c.method === 'POST' && c.url.pathname === '/api/rooms')
    expect(posts.map((c) => c.body)).toEqual([{ name: '预算', kind: 'closed' }])
    expect(router.currentRoute.value.fullPath).toBe('/rooms/1000')
    expect(wrapper.get('[data-testid="room-title"]').text()).toBe('预算')
  })
})
