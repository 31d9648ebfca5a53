/** Running a team: the directory, invitations, account and admin composables (stubbed fetch), and the helpers they use. */
import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { flushPromises } from '@vue/test-utils'
import { ApiError, describeError } from '@/api/http'
import { appLink, type AdminRoom, type AdminUser, type Person, type ServerSettings } from '@/api/team'
import { setLocale } from '@/i18n'
import { useAccountSessions } from '@/composables/useAccountSessions'
import { usernameProblem, passwordProblem } from '@/composables/useAccountRules'
import { useAdminRooms } from '@/composables/useAdminRooms'
import { useAdminUsers } from '@/composables/useAdminUsers'
import { AUDIT_PAGE, useAuditLog } from '@/composables/useAuditLog'
import { INVITE_HOURS, INVITE_USES, useInvites } from '@/composables/useInvites'
import { avatarProblem, useProfile } from '@/composables/useProfile'
import { formOf, patchOf, useServerSettings } from '@/composables/useServerSettings'
import { signIn, signOut } from '@/session'
import { fetchAvatar, useAvatarsStore } from '@/stores/avatars'
import { useServerConfigStore } from '@/stores/config'
import { usePeopleStore } from '@/stores/people'
import { authError } from '@/utils/authErrors'
import { formatRelative } from '@/utils/relativeTime'
import { fillDays, niceMax } from '@/utils/statsDays'
import { parseUserAgent } from '@/utils/userAgent'
import { fakeToken, json, mockFetch } from './helpers'

function person(id: number, overrides: Partial<Person> = {}): Person {
  return { id, username: `user${id}`, display_name: '', status: '', avatar_at: null, is_admin: false, deactivated: false, ...overrides }
}

const SETTINGS: ServerSettings = {
  team_name: 'Acme',
  registration: 'invite',
  members_invite: false,
  room_creation: 'everyone',
  retention_days: 0,
  max_file_bytes: 25_000_000,
  upload_quota_bytes: 1_000_000_000,
  needs_setup: false,
}

const LOCATION = { origin: 'http://hearth.test', pathname: '/chat/' }
const link = (path: string) => appLink(path, LOCATION)

beforeEach(() => {
  setActivePinia(createPinia())
  signIn({ token: fakeToken(1), user: { id: 1, username: 'alice', is_admin: true } })
  return () => signOut()
})

describe('app links', () => {
  it('keep the page’s address (a sub-path behind a proxy) and add the fragment the server gave', () => {
    expect(appLink('/#/invite/abc', LOCATION)).toBe('http://hearth.test/chat/#/invite/abc')
    expect(appLink('/#/password/x', { origin: 'https://chat.example', pathname: '/' })).toBe('https://chat.example/#/password/x')
  })
})

describe('people directory', () => {
  it('loads everyone, names people by display name (else username, else the caller’s fallback) and keeps what it knew on failure', async () => {
    const routes = mockFetch({ 'GET /api/people': () => ({ people: [person(1, { display_name: '爱丽丝' }), person(2, { deactivated: true })] }) })
    const people = usePeopleStore()
    await people.refresh()
    expect(routes.calls[0]!.headers.Authorization).toBe(`Bearer ${fakeToken(1)}`)
    expect(people.nameOf(1)).toBe('爱丽丝')
    expect(people.nameOf(2)).toBe('user2')
    expect(people.nameOf(9, 'ghost')).toBe('ghost')
    expect(people.get(2)?.deactivated).toBe(true)

    mockFetch({ 'GET /api/people': () => json({ error: { code: 'internal', message: 'boom' } }, 500) })
    await people.refresh()
    expect(people.nameOf(1)).toBe('爱丽丝')
    people.upsert(person(1, { display_name: '  ' }))
    expect(people.nameOf(1)).toBe('user1')
  })

  it('asks once while a request runs, and drops an answer that comes after a reset', async () => {
    let release: (value: unknown) => void = () => {}
    const routes = mockFetch({ 'GET /api/people': () => new Promise((r) => (release = r)) })
    const people = usePeopleStore()
    const first = people.refresh()
    void people.refresh()
    expect(routes.count('GET', '/api/people')).toBe(1)
    people.reset()
    release({ people: [person(1)] })
    await first
    expect(people.loaded).toBe(false)
  })
})

describe('avatars', () => {
  it('fetch the picture with the token and its version, and remember who has none', async () => {
    const routes = mockFetch({
      'GET /api/users/1/avatar': () => new Response(new Uint8Array([137, 80, 78, 71]), { headers: { 'Content-Type': 'image/png' } }),
      'GET /api/users/2/avatar': () => json({ error: { code: 'not_found', message: 'none' } }, 404),
    })
    const blob = await fetchAvatar(1, 42, 'tok')
    expect(blob.type).toBe('image/png')
    expect(routes.calls[0]!.url.searchParams.get('v')).toBe('42')
    expect(routes.calls[0]!.headers.Authorization).toBe('Bearer tok')

    const avatars = useAvatarsStore()
    expect(await avatars.url(2, 7)).toBeNull()
    expect(await avatars.url(2, 7)).toBeNull()
    expect(routes.count('GET', '/api/users/2/avatar')).toBe(1)
    const url = await avatars.url(1, 42)
    expect(url).toMatch(/^blob:/)
    expect(avatars.peek(1, 42)).toBe(url)
  })
})

describe('server config', () => {
  it('reads the team’s public settings, with safe defaults for unknown values', async () => {
    mockFetch({
      'GET /api/config': () => ({ websocket: true, team_name: 'Acme', registration: 'closed', needs_setup: true, members_invite: true, room_creation: 'admins' }),
    })
    const config = useServerConfigStore()
    await config.load()
    expect(config).toMatchObject({ teamName: 'Acme', registration: 'closed', needsSetup: true, membersInvite: true, roomCreation: 'admins', loaded: true })
    config.apply({ websocket: true, registration: 'sometimes' as never, room_creation: 'nobody' as never })
    expect(config.registration).toBe('closed')
    expect(config.roomCreation).toBe('admins')
    expect(config.needsSetup).toBe(false)
  })

  it('leaves the defaults when the server cannot be reached, and asks again next time', async () => {
    const routes = mockFetch({})
    const config = useServerConfigStore()
    await config.load()
    expect(config.loaded).toBe(false)
    await config.load()
    expect(routes.count('GET', '/api/config')).toBe(2)
  })
})

describe('invitations', () => {
  it('lists newest first, creates a link with the page’s address, and revokes', async () => {
    const invite = (id: number, created_at: number) => ({ id, created_by: 'alice', created_at, expires_at: created_at + 1, max_uses: 1, uses: 0, state: 'active' as const })
    const routes = mockFetch({
      'GET /api/invites': () => ({ invites: [invite(1, 100), invite(2, 200)] }),
      'POST /api/invites': () => json({ invite: { ...invite(3, 300), token: 'sec' }, path: '/#/invite/sec' }, 201),
      'DELETE /api/invites/2': () => ({}),
    })
    const invites = useInvites(undefined, link)
    await invites.load()
    expect(invites.invites.value.map((i) => i.id)).toEqual([2, 1])
    expect(await invites.create(24, 5)).toBe('http://hearth.test/chat/#/invite/sec')
    expect(routes.calls.find((c) => c.method === 'POST')!.body).toEqual({ hours: 24, uses: 5 })
    expect(invites.created.value?.link).toBe('http://hearth.test/chat/#/invite/sec')
    await invites.revoke(2)
    expect(invites.invites.value.find((i) => i.id === 2)?.state).toBe('revoked')
    expect(INVITE_HOURS).toEqual([24, 168, 720])
    expect(INVITE_USES).toEqual([1, 5, 25, 100])
  })

  it('keeps the failure of the list to show it', async () => {
    mockFetch({ 'GET /api/invites': () => json({ error: { code: 'forbidden', message: 'no' } }, 403) })
    const invites = useInvites()
    await invites.load()
    expect(describeError(invites.error.value)).toBe('没有权限执行此操作')
  })
})

describe('account', () => {
  it('sessions: this device first, then the most recent; signing out one or all others', async () => {
    const s = (id: string, last: number, current = false) => ({ id, created_at: 1, last_seen_at: last, agent: '', ip: '10.0.0.1', current })
    const routes = mockFetch({
      'GET /api/me/sessions': () => ({ sessions: [s('a', 10), s('b', 30), s('me', 5, true)] }),
      'DELETE /api/me/sessions/b': () => new Response(null, { status: 204 }),
      'POST /api/me/sessions/sign-out-others': () => new Response(null, { status: 204 }),
    })
    const list = useAccountSessions()
    await list.load()
    expect(list.sessions.value.map((x) => x.id)).toEqual(['me', 'b', 'a'])
    await list.signOut('b')
    expect(list.sessions.value.map((x) => x.id)).toEqual(['me', 'a'])
    await list.signOutOthers()
    expect(list.sessions.value.map((x) => x.id)).toEqual(['me'])
    expect(routes.count('POST', '/api/me/sessions/sign-out-others')).toBe(1)
  })

  it('profile changes go to the directory at once; an uploaded picture is shown from its bytes', async () => {
    const routes = mockFetch({
      'PATCH /api/me': (_u, init) => person(1, { ...(JSON.parse(String(init.body)) as Partial<Person>) }),
      'PUT /api/me/avatar': () => person(1, { avatar_at: 77 }),
      'DELETE /api/me/avatar': () => person(1),
    })
    const profile = useProfile()
    const people = usePeopleStore()
    await profile.save('  Alice A.  ', ' away ')
    expect(routes.calls[0]!.body).toEqual({ display_name: 'Alice A.', status: 'away' })
    expect(people.nameOf(1)).toBe('Alice A.')
    const image = new Blob([new Uint8Array([1, 2, 3])], { type: 'image/png' })
    await profile.setAvatar(image)
    const put = routes.calls.find((c) => c.method === 'PUT')!
    expect(put.headers['Content-Type']).toBe('image/png')
    expect(people.get(1)?.avatar_at).toBe(77)
    expect(useAvatarsStore().peek(1, 77)).toMatch(/^blob:/)
    await profile.removeAvatar()
    expect(people.get(1)?.avatar_at).toBeNull()
  })

  it('refuses pictures the server would refuse, before sending them', () => {
    expect(avatarProblem({ type: 'image/svg+xml', size: 10 })).toBe('type')
    expect(avatarProblem({ type: 'image/png', size: 6 * 1024 * 1024 })).toBe('size')
    expect(avatarProblem({ type: 'image/webp', size: 1024 })).toBeNull()
  })

  it('form rules and where a server error shows', () => {
    expect(usernameProblem('a')).toBe('用户名长度为 2–32 个字符')
    expect(usernameProblem('bad name')).toBe('用户名只能包含字母、汉字、数字、_、-、.')
    expect(usernameProblem('张三_1')).toBeNull()
    expect(passwordProblem('short')).toBe('密码长度为 8–128 个字符')
    expect(authError(new ApiError(409, 'conflict', 'taken'))).toEqual({ field: 'username', text: '用户名已被占用' })
    expect(authError(new ApiError(400, 'bad_request', 'password is too common'))).toEqual({ field: 'password', text: 'password is too common' })
    expect(authError(new ApiError(410, 'invite_used_up', 'used up'))).toEqual({ field: 'general', text: '邀请链接的可用次数已用完' })
  })
})

describe('admin', () => {
  it('users: search, change roles and state, create accounts and reset links as full URLs', async () => {
    const row = (id: number, extra: Partial<AdminUser> = {}): AdminUser => ({
      id,
      username: `u${id}`,
      display_name: '',
      is_admin: false,
      created_at: 1,
      deactivated_at: null,
      last_seen_at: null,
      ...extra,
    })
    const routes = mockFetch(
      {
        'GET /api/admin/users': (url) => ({ users: url.searchParams.get('q') === 'u2' ? [row(2)] : [row(1, { is_admin: true }), row(2)] }),
        'POST /api/admin/users': () => json({ user: { id: 3, username: 'new' }, path: '/#/password/first' }, 201),
      },
      (method, url) => {
        if (method === 'PATCH' && url.pathname === '/api/admin/users/2') return person(2, { deactivated: true, is_admin: true })
        if (method === 'POST' && url.pathname === '/api/admin/users/2/password-link') return json({ path: '/#/password/reset', expires_in_hours: 24 }, 201)
        return undefined
      },
    )
    const admin = useAdminUsers(undefined, link)
    await admin.load()
    expect(admin.users.value).toHaveLength(2)
    admin.query.value = ' u2 '
    await admin.load()
    expect(admin.users.value.map((u) => u.id)).toEqual([2])
    expect(routes.calls.at(-1)!.url.searchParams.get('q')).toBe('u2')

    await admin.setAdmin(2, true)
    expect(admin.users.value[0]!.is_admin).toBe(true)
    await admin.setActive(2, false)
    expect(admin.users.value[0]!.deactivated_at).not.toBeNull()
    expect(routes.calls.filter((c) => c.method === 'PATCH').map((c) => c.body)).toEqual([{ admin: true }, { active: false }])
    expect(await admin.create(' new ')).toBe('http://hearth.test/chat/#/password/first')
    expect(await admin.passwordLink(2)).toEqual({ link: 'http://hearth.test/chat/#/password/reset', hours: 24 })
  })

  it('users: a refused change rejects with the server’s code (the last admin)', async () => {
    mockFetch({}, (method) => (method === 'PATCH' ? json({ error: { code: 'last_admin', message: 'no' } }, 409) : undefined))
    const admin = useAdminUsers()
    const error = await admin.setAdmin(1, false).catch((e: unknown) => e)
    expect(describeError(error)).toBe('团队至少需要一位正常状态的管理员')
  })

  it('rooms: archive one, delete one (its row goes; the count of deleted messages comes back)', async () => {
    const room = (id: number, extra: Partial<AdminRoom> = {}): AdminRoom => ({
      id,
      name: `r${id}`,
      kind: 'open',
      archived: false,
      created_at: 1,
      members: 2,
      messages: 0,
      ...extra,
    })
    const routes = mockFetch({ 'GET /api/admin/rooms': () => ({ rooms: [room(1, { name: 'lobby' }), room(2, { messages: 7 }), room(3)] }) }, (method, url) => {
      if (method === 'POST' && url.pathname === '/api/admin/rooms/3/archive') return {}
      if (method === 'DELETE' && url.pathname === '/api/admin/rooms/2') return { deleted_messages: 7 }
      if (method === 'DELETE' && url.pathname === '/api/admin/rooms/1') return json({ error: { code: 'forbidden', message: 'no' } }, 403)
      return undefined
    })
    const admin = useAdminRooms()
    await admin.load()
    expect(admin.rooms.value.map((r) => r.id)).toEqual([1, 2, 3])
    await admin.setArchived(3, true)
    expect(routes.calls.at(-1)!.body).toEqual({ archived: true })
    expect(admin.rooms.value.find((r) => r.id === 3)!.archived).toBe(true)

    expect(await admin.remove(2)).toBe(7)
    expect(routes.count('DELETE', '/api/admin/rooms/2')).toBe(1)
    expect(admin.rooms.value.map((r) => r.id)).toEqual([1, 3])

    // Refused (the lobby): the row stays, the error says why.
    const error = await admin.remove(1).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(describeError(error)).toBe('没有权限执行此操作')
    expect(admin.rooms.value.map((r) => r.id)).toEqual([1, 3])
  })

  it('settings: sizes in MB (as the command line counts them), and a patch of what changed only', async () => {
    const form = formOf(SETTINGS)
    expect(form).toMatchObject({ maxFileMb: 25, quotaMb: 1000, keepForever: true, registration: 'invite' })
    expect(patchOf(form, SETTINGS)).toEqual({})
    form.maxFileMb = 50
    form.quotaMb = 0
    form.keepForever = false
    form.retentionDays = 90
    form.teamName = ' Acme 2 '
    form.registration = 'closed'
    expect(patchOf(form, SETTINGS)).toEqual({
      team_name: 'Acme 2',
      registration: 'closed',
      max_file_bytes: 50_000_000,
      upload_quota_bytes: 0,
      retention_days: 90,
    })
    // A limit that is no round MB figure stays as it is unless changed.
    const odd = { ...SETTINGS, max_file_bytes: 1024 ** 3 }
    expect(patchOf(formOf(odd), odd)).toEqual({})
  })

  it('settings: load, save the changes, run the retention job', async () => {
    const routes = mockFetch({
      'GET /api/admin/settings': () => SETTINGS,
      'PATCH /api/admin/settings': (_u, init) => ({ ...SETTINGS, ...(JSON.parse(String(init.body)) as object) }),
      'GET /api/admin/stats': () => ({ connections: 2, online_users: 1, messages: 5, data_bytes: 10, store: 'sqlite', days: [] }),
      'POST /api/admin/retention': () => ({ deleted: 12 }),
    })
    const server = useServerSettings()
    await server.load()
    expect(server.changed.value).toBe(false)
    server.form.membersInvite = true
    expect(server.changed.value).toBe(true)
    const saved = await server.save()
    expect(saved?.members_invite).toBe(true)
    expect(routes.calls.find((c) => c.method === 'PATCH')!.body).toEqual({ members_invite: true })
    expect(server.changed.value).toBe(false)
    expect(await server.runRetention()).toBe(12)
    await flushPromises()
    expect(server.stats.value?.connections).toBe(2)
  })

  it('audit log: pages of 100, older ones before the oldest shown', async () => {
    const entries = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ id: from - i, at: 1, actor: 'alice', action: 'invite.create', target: '', detail: '' }))
    const routes = mockFetch({
      'GET /api/admin/audit': (url) => ({ entries: url.searchParams.get('before') === null ? entries(150, AUDIT_PAGE) : entries(50, 50) }),
    })
    const log = useAuditLog()
    await log.load()
    expect(log.entries.value).toHaveLength(100)
    expect(log.hasMore.value).toBe(true)
    await log.loadMore()
    expect(routes.calls.at(-1)!.url.searchParams.get('before')).toBe('51')
    expect(log.entries.value).toHaveLength(150)
    expect(log.hasMore.value).toBe(false)
  })
})

describe('helpers', () => {
  it('user agents: browser and system, roughly', () => {
    const chromeWin = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'
    const edge = chromeWin + ' Edg/126.0'
    const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'
    const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
    const android = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36'
    const mac = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15'
    expect([chromeWin, edge, iphone, firefox, android, mac, '', 'curl/8.0'].map(parseUserAgent)).toEqual([
      { browser: 'Chrome', os: 'Windows' },
      { browser: 'Edge', os: 'Windows' },
      { browser: 'Safari', os: 'iOS' },
      { browser: 'Firefox', os: 'Linux' },
      { browser: 'Chrome', os: 'Android' },
      { browser: 'Safari', os: 'macOS' },
      { browser: null, os: null },
      { browser: 'curl', os: null },
    ])
  })

  it('relative times in the current language', () => {
    const now = 1_700_000_000_000
    expect(formatRelative(now - 10_000, now)).toBe('刚刚')
    expect(formatRelative(now - 5 * 60_000, now)).toBe('5分钟前')
    expect(formatRelative(now + 3 * 86_400_000, now)).toBe('3天后')
    expect(formatRelative(null, now)).toBe('从未')
    setLocale('en', { remember: false })
    expect(formatRelative(now - 2 * 3_600_000, now)).toBe('2 hours ago')
    expect(formatRelative(now - 10_000, now)).toBe('just now')
  })

  it('the chart’s 14 days, with zeros for days the server has no row for', () => {
    const now = Date.parse('2025-03-10T08:00:00Z')
    const days = fillDays([{ day: '2025-03-09', messages: 4, peak_connections: 2 }], 14, now)
    expect(days).toHaveLength(14)
    expect(days[0]!.day).toBe('2025-02-25')
    expect(days.at(-1)).toEqual({ day: '2025-03-10', messages: 0, peak_connections: 0 })
    expect(days.at(-2)).toEqual({ day: '2025-03-09', messages: 4, peak_connections: 2 })
    expect([0, 1, 3, 7, 12, 99, 101].map(niceMax)).toEqual([1, 1, 5, 10, 20, 100, 200])
  })

  it('the new error codes read well in both languages', () => {
    const codes = ['registration_closed', 'invite_required', 'invite_not_found', 'invite_expired', 'invite_used_up', 'invite_revoked', 'link_invalid', 'account_deactivated', 'last_admin', 'admin_only', 'wrong_password', 'already_set_up', 'room_creation_admins', 'bad_image']
    for (const locale of ['zh-CN', 'en'] as const) {
      setLocale(locale, { remember: false })
      for (const code of codes) expect(describeError(new ApiError(400, code, 'server text'))).not.toBe('server text')
    }
    expect(describeError(new ApiError(403, 'account_deactivated', 'x'))).toBe('This account is deactivated. Please contact an admin.')
  })
})
