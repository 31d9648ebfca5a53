/** The team pages as mounted in the browser: first-run setup, the login page's modes, invitation and password links, the admin page, the invite dialog. */
import { describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { signIn } from '@/session'
import { fakeToken, flush, json, MockWebSocket, useComposableTestEnv } from './helpers'
import { ALICE, fakeServer, helloV2, mountApp, unmountAfterEach } from './roomsServer'

useComposableTestEnv()
const keepMounted = unmountAfterEach()

async function open(path: string, options: { signedIn?: boolean } = {}) {
  const app = await mountApp(path, options)
  keepMounted(app.wrapper)
  return app
}

async function settle(): Promise<void> {
  await flush()
  await flushPromises()
  await flush()
}

function byTestId(id: string): HTMLElement | null {
  return document.body.querySelector(`[data-testid="${id}"]`)
}

const CONFIG = { websocket: true, epoch: 'E', team_name: 'Acme', registration: 'open', needs_setup: false, members_invite: false, room_creation: 'everyone' }

describe('first run', () => {
  it('a server without accounts sends the login page to the setup page, which creates the admin and opens the chat', async () => {
    const server = fakeServer({
      extra: {
        'GET /api/config': () => ({ ...CONFIG, needs_setup: true }),
        'POST /api/setup': () => json({ token: fakeToken(1), user: { ...ALICE, is_admin: true } }, 201),
      },
    })
    const { wrapper, router } = await open('/', { signedIn: false })
    await settle()
    expect(router.currentRoute.value.name).toBe('setup')
    expect(wrapper.text()).toContain('创建你的团队，以及团队的第一个账号')
    await wrapper.get('[data-testid="setup-team"]').setValue('Acme')
    await wrapper.get('[data-testid="setup-username"]').setValue('alice')
    await wrapper.get('[data-testid="setup-password"]').setValue('correct horse')
    await wrapper.get('[data-testid="setup-confirm"]').setValue('correct horse')
    await wrapper.get('[data-testid="setup-form"]').trigger('submit')
    await settle()
    expect(server.routes.calls.find((c) => c.url.pathname === '/api/setup')!.body).toEqual({ team_name: 'Acme', username: 'alice', password: 'correct horse' })
    expect(router.currentRoute.value.path).not.toBe('/setup')
    expect(localStorage.getItem('auth_token')).toBe(fakeToken(1))
  })

  it('says so when the server was set up meanwhile', async () => {
    fakeServer({ extra: { 'GET /api/config': () => CONFIG } })
    const { wrapper } = await open('/setup', { signedIn: false })
    await settle()
    expect(wrapper.find('[data-testid="setup-form"]').exists()).toBe(false)
    expect(wrapper.text()).toContain('服务器已完成设置')
  })
})

describe('login page', () => {
  it('shows the team’s name, and a hint instead of the sign-up tab when registration is by invitation or closed', async () => {
    fakeServer({ extra: { 'GET /api/config': () => ({ ...CONFIG, registration: 'invite' }) } })
    const { wrapper } = await open('/login', { signedIn: false })
    await settle()
    expect(wrapper.get('[data-testid="team-name"]').text()).toBe('Acme')
    expect(wrapper.findAll('[role="tab"]').length).toBe(0)
    expect(wrapper.get('[data-testid="registration-hint"]').text()).toBe('还没有账号？请向同事索取邀请链接。')
  })

  it('closed registration: ask an admin', async () => {
    fakeServer({ extra: { 'GET /api/config': () => ({ ...CONFIG, registration: 'closed' }) } })
    const { wrapper } = await open('/login', { signedIn: false })
    await settle()
    expect(wrapper.get('[data-testid="registration-hint"]').text()).toBe('还没有账号？请联系管理员为你开通。')
  })

  it('open registration keeps both tabs', async () => {
    fakeServer({ extra: { 'GET /api/config': () => CONFIG } })
    const { wrapper } = await open('/login', { signedIn: false })
    await settle()
    expect(wrapper.findAll('[role="tab"]').map((t) => t.text())).toEqual(['登录', '注册'])
  })
})

describe('invitation link', () => {
  it('shows the team and who invites, and registers with the link’s secret', async () => {
    const server = fakeServer({
      extra: {
        'GET /api/config': () => ({ ...CONFIG, registration: 'invite' }),
        'GET /api/auth/invite/s3cret': () => ({ team_name: 'Acme', invited_by: 'bob', expires_at: 1_900_000_000_000 }),
        'POST /api/auth/register': () => json({ token: fakeToken(1), user: ALICE }, 201),
      },
    })
    const { wrapper, router } = await open('/invite/s3cret', { signedIn: false })
    await settle()
    expect(wrapper.get('h1').text()).toBe('Acme')
    expect(wrapper.text()).toContain('bob 邀请你加入「Acme」')
    await wrapper.get('[data-testid="invite-username"]').setValue('alice')
    await wrapper.get('[data-testid="invite-password"]').setValue('correct horse')
    await wrapper.get('[data-testid="invite-confirm"]').setValue('correct horse')
    await wrapper.get('[data-testid="invite-form"]').trigger('submit')
    await settle()
    expect(server.routes.calls.find((c) => c.url.pathname === '/api/auth/register')!.body).toEqual({
      username: 'alice',
      password: 'correct horse',
      invite: 's3cret',
    })
    expect(router.currentRoute.value.name).not.toBe('invite')
  })

  it.each([
    ['invite_expired', 410, '邀请链接已过期'],
    ['invite_used_up', 410, '邀请链接的可用次数已用完'],
    ['invite_revoked', 410, '邀请链接已被撤销'],
    ['invite_not_found', 404, '邀请链接无效，请检查链接是否完整'],
  ])('a link that cannot be used (%s) says why, without a form', async (code, status, text) => {
    fakeServer({ extra: { 'GET /api/auth/invite/old': () => json({ error: { code, message: 'x' } }, status) } })
    const { wrapper } = await open('/invite/old', { signedIn: false })
    await settle()
    expect(wrapper.find('[data-testid="invite-form"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="link-problem-text"]').text()).toBe(text)
    expect(wrapper.find('[data-testid="go-login"]').exists()).toBe(true)
  })
})

describe('password link', () => {
  it('shows whose account it is, sets the password and signs in', async () => {
    const server = fakeServer({
      extra: {
        'GET /api/auth/password-link/p1': () => ({ username: 'carol', expires_at: 1_900_000_000_000, team_name: 'Acme' }),
        'POST /api/auth/password-link/p1': () => ({ token: fakeToken(3), user: { id: 3, username: 'carol' } }),
      },
    })
    const { wrapper } = await open('/password/p1', { signedIn: false })
    await settle()
    expect((wrapper.get('[data-testid="password-username"]').element as HTMLInputElement).value).toBe('carol')
    await wrapper.get('[data-testid="password-new"]').setValue('a new password')
    await wrapper.get('[data-testid="password-confirm"]').setValue('a new password')
    await wrapper.get('[data-testid="password-form"]').trigger('submit')
    await settle()
    expect(server.routes.calls.find((c) => c.method === 'POST')!.body).toEqual({ password: 'a new password' })
    expect(localStorage.getItem('auth_token')).toBe(fakeToken(3))
  })

  it('an invalid link says so', async () => {
    fakeServer({ extra: { 'GET /api/auth/password-link/gone': () => json({ error: { code: 'link_invalid', message: 'x' } }, 410) } })
    const { wrapper } = await open('/password/gone', { signedIn: false })
    await settle()
    expect(wrapper.find('[data-testid="password-form"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="link-problem-text"]').text()).toBe('这个链接已经使用过或已过期')
  })
})

describe('signed in', () => {
  const ADMIN_ROUTES = {
    'GET /api/me': () => ({ ...ALICE, display_name: 'Alice A.', status: '', avatar_at: null, is_admin: true, deactivated: false }),
    'GET /api/people': () => ({
      people: [
        { ...ALICE, display_name: 'Alice A.', status: '', avatar_at: null, is_admin: true, deactivated: false },
        { id: 2, username: 'bob', display_name: '', status: '', avatar_at: null, is_admin: false, deactivated: true },
      ],
    }),
    'GET /api/admin/users': () => ({
      users: [
        { id: 1, username: 'alice', display_name: 'Alice A.', is_admin: true, created_at: 1, deactivated_at: null, last_seen_at: Date.now() },
        { id: 2, username: 'bob', display_name: '', is_admin: false, created_at: 1, deactivated_at: 5, last_seen_at: null },
      ],
    }),
  }

  it('someone who is not an admin sees that the admin page is not theirs', async () => {
    fakeServer({ extra: { 'GET /api/config': () => CONFIG } })
    const { wrapper } = await open('/admin')
    helloV2(MockWebSocket.last)
    await settle()
    expect(wrapper.find('[data-testid="admin-not-allowed"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="admin-users"]').exists()).toBe(false)
  })

  it('an admin (as /api/me says) gets the admin page and its menu items; the directory names people', async () => {
    fakeServer({ extra: { 'GET /api/config': () => CONFIG, ...ADMIN_ROUTES } })
    const { wrapper } = await open('/admin')
    helloV2(MockWebSocket.last)
    await settle()
    expect(wrapper.find('[data-testid="admin-not-allowed"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="admin-user-bob"]').text()).toContain('已停用')
    expect(wrapper.get('[data-testid="admin-user-alice"]').text()).toContain('管理员')
    expect(wrapper.get('[data-testid="user-menu"]').text()).toContain('Alice A.')
    expect(JSON.parse(localStorage.getItem('auth_user')!)).toMatchObject({ id: 1, is_admin: true })
  })

  it('hides 新建房间 from members when only admins create rooms', async () => {
    fakeServer({ extra: { 'GET /api/config': () => ({ ...CONFIG, room_creation: 'admins' }) } })
    const { wrapper } = await open('/')
    helloV2(MockWebSocket.last)
    await settle()
    expect(wrapper.find('[data-testid="new-room"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="new-dm"]').exists()).toBe(true)
  })

  it('an admin still creates rooms then', async () => {
    fakeServer({ extra: { 'GET /api/config': () => ({ ...CONFIG, room_creation: 'admins' }) } })
    signIn({ token: fakeToken(1), user: { ...ALICE, is_admin: true } })
    const { wrapper } = await open('/', { signedIn: false })
    helloV2(MockWebSocket.last)
    await settle()
    expect(wrapper.find('[data-testid="new-room"]').exists()).toBe(true)
  })

  it('the invite dialog creates a link with its QR code and lists invitations', async () => {
    const invite = { id: 1, created_by: 'alice', created_at: 1, expires_at: 2, max_uses: 5, uses: 0, state: 'active' }
    const invites: (typeof invite)[] = []
    const server = fakeServer({
      extra: {
        'GET /api/config': () => CONFIG,
        'GET /api/invites': () => ({ invites }),
        'POST /api/invites': () => {
          invites.push(invite)
          return json({ invite: { ...invite, token: 'tok' }, path: '/#/invite/tok' }, 201)
        },
      },
    })
    signIn({ token: fakeToken(1), user: { ...ALICE, is_admin: true } })
    const { wrapper } = await open('/', { signedIn: false })
    helloV2(MockWebSocket.last)
    await settle()
    await wrapper.get('[data-testid="user-menu"]').trigger('click')
    await settle()
    byTestId('open-invite')!.click()
    await settle()
    expect(byTestId('invite-dialog')).not.toBeNull()
    ;(byTestId('invite-uses-5')!.querySelector('input') ?? byTestId('invite-uses-5')!).click()
    await settle()
    byTestId('invite-create')!.click()
    await settle()
    expect(server.routes.calls.find((c) => c.method === 'POST' && c.url.pathname === '/api/invites')!.body).toEqual({ hours: 168, uses: 5 })
    expect((byTestId('invite-link') as HTMLInputElement).value).toBe('http://hearth.test/#/invite/tok')
    // The PNG encoder finishes asynchronously, in its own time (slower on a
    // busy machine): wait for the image, not for a number of turns.
    await vi.waitFor(() => expect(byTestId('invite-qr')?.getAttribute('src')).toMatch(/^data:image\/png;base64,/), {
      timeout: 10_000,
      interval: 20,
    })
    expect(byTestId('invite-row-1')?.textContent).toContain('可用')
  })
})
