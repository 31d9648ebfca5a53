/**
 * Browser end-to-end tests against the real server (see harness.ts).
 * Run: `npm run e2e` (needs target/release/hearth or HEARTH_BIN, and /usr/bin/chromium).
 */
import { describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import {
  DESKTOP,
  HearthServer,
  makeDataDir,
  newPage,
  PHONE,
  screenshotPath,
  setUpSuite,
  watchPage,
} from './harness'

interface Message {
  id: number
  content: string
  username: string
  client_id?: string | null
}

const PASSWORD = 'correct horse battery'
const suffix = Date.now().toString(36).slice(-5)
const ALICE = `alice_${suffix}`
const BOB = `鲍勃_${suffix}`

const suite = setUpSuite({ name: 'main' })

function status(page: Page) {
  return page.getByTestId('connection-status')
}

async function waitForStatus(page: Page, text: '已连接' | '重连中...' | '未连接', timeout = 15_000) {
  await status(page).filter({ hasText: text }).waitFor({ timeout })
}

/** The text of every confirmed message in the list. */
function contents(page: Page): Promise<string[]> {
  return page.$$eval('[data-testid="message-content"]', (els) => els.map((e) => e.textContent ?? ''))
}

function countOf(page: Page, text: string): Promise<number> {
  return contents(page).then((all) => all.filter((t) => t === text).length)
}

async function waitForMessage(page: Page, text: string, timeout = 15_000): Promise<void> {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll('[data-testid="message-content"]')].some((e) => e.textContent === t),
    text,
    { timeout, polling: 25 },
  )
}

async function send(page: Page, text: string): Promise<void> {
  const box = page.getByTestId('composer')
  await box.fill(text)
  await box.press('Enter')
}

async function register(page: Page, url: string, username: string): Promise<void> {
  await page.goto(url)
  await page.getByRole('tab', { name: '注册' }).click()
  await page.getByPlaceholder('用户名').fill(username)
  await page.getByPlaceholder('密码', { exact: true }).fill(PASSWORD)
  await page.getByPlaceholder('再次输入密码').fill(PASSWORD)
  await page.getByTestId('auth-submit').click()
  await waitForStatus(page, '已连接')
}

async function login(page: Page, url: string, username: string): Promise<void> {
  await page.goto(url)
  await page.getByPlaceholder('用户名').fill(username)
  await page.getByPlaceholder('密码', { exact: true }).fill(PASSWORD)
  await page.getByTestId('auth-submit').click()
  await waitForStatus(page, '已连接')
}

function tokenOf(page: Page): Promise<string> {
  return page.evaluate(() => localStorage.getItem('auth_token') ?? '')
}

async function history(srv: HearthServer, token: string): Promise<Message[]> {
  const res = await srv.api<{ messages: Message[] }>('api/chat/messages?limit=200', { token })
  expect(res.status).toBe(200)
  return res.body.messages
}

describe('Hearth web client (real server, Chromium)', () => {
  let alice: Page
  let bob: Page
  let aliceWatch: ReturnType<typeof watchPage>
  let bobWatch: ReturnType<typeof watchPage>

  it('shows the login page and server validation messages in place', async () => {
    const { page, context } = await newPage(suite.browser, DESKTOP)
    await page.goto(suite.server.url)
    await page.getByRole('heading', { name: 'Hearth 聊天室' }).waitFor()
    await page.screenshot({ path: screenshotPath('login-desktop.png') })

    const phone = await newPage(suite.browser, PHONE)
    await phone.page.goto(suite.server.url)
    await phone.page.getByRole('heading', { name: 'Hearth 聊天室' }).waitFor()
    await phone.page.screenshot({ path: screenshotPath('login-mobile.png') })
    await phone.context.close()

    // Client-side rule.
    await page.getByRole('tab', { name: '注册' }).click()
    await page.getByPlaceholder('用户名').fill('x')
    await page.getByTestId('auth-submit').click()
    await page.getByText('用户名长度为 2–32 个字符').waitFor()

    // Server: wrong password / unknown user gets one answer, shown under the password.
    await page.getByRole('tab', { name: '登录' }).click()
    await page.getByPlaceholder('用户名').fill('nobody_' + suffix)
    await page.getByPlaceholder('密码', { exact: true }).fill('wrong password')
    await page.getByTestId('auth-submit').click()
    await page.getByText('用户名或密码错误').waitFor()

    // Server: a taken name (case-insensitive) is reported under the user name.
    const taken = await suite.server.api('api/auth/register', { method: 'POST', body: { username: 'Taken_' + suffix, password: PASSWORD } })
    expect(taken.status).toBe(201)
    await page.getByRole('tab', { name: '注册' }).click()
    await page.getByPlaceholder('用户名').fill('taken_' + suffix)
    await page.getByPlaceholder('密码', { exact: true }).fill(PASSWORD)
    await page.getByPlaceholder('再次输入密码').fill(PASSWORD)
    await page.getByTestId('auth-submit').click()
    await page.getByText('用户名已被占用').waitFor()
    await context.close()
  })

  it('two users chat both ways in real time', async () => {
    const a = await newPage(suite.browser, DESKTOP)
    const b = await newPage(suite.browser, PHONE)
    alice = a.page
    bob = b.page
    aliceWatch = watchPage(alice, 'alice')
    bobWatch = watchPage(bob, 'bob')

    await register(alice, suite.server.url, ALICE)
    await register(bob, suite.server.url, BOB)

    for (const page of [alice, bob]) {
      await page.getByTestId('online-count').filter({ hasText: '在线: 2' }).waitFor({ timeout: 5000 })
    }

    // alice → bob (Enter sends)
    let started = Date.now()
    await send(alice, '你好，鲍勃！今天的站会改到下午三点 ☕')
    await waitForMessage(bob, '你好，鲍勃！今天的站会改到下午三点 ☕', 5000)
    const aliceToBob = Date.now() - started

    // bob → alice (the send button)
    started = Date.now()
    await bob.getByTestId('composer').fill('收到，我会准时参加 👍')
    await bob.getByTestId('send-button').click()
    await waitForMessage(alice, '收到，我会准时参加 👍', 5000)
    const bobToAlice = Date.now() - started

    console.log(`[e2e] delivery: alice→bob ${aliceToBob} ms, bob→alice ${bobToAlice} ms`)
    expect(aliceToBob).toBeLessThan(1000)
    expect(bobToAlice).toBeLessThan(1000)

    // Shift+Enter makes a newline instead of sending.
    const box = alice.getByTestId('composer')
    await box.fill('第一行')
    await box.press('Shift+Enter')
    await box.pressSequentially('第二行')
    await box.press('Enter')
    await waitForMessage(bob, '第一行\n第二行')
    await waitForMessage(alice, '第一行\n第二行')

    // The conversation so far, for the screenshots (desktop and 390 px).
    await send(bob, '会议室在三楼 301')
    await waitForMessage(alice, '会议室在三楼 301')
    await alice.screenshot({ path: screenshotPath('chat-desktop.png') })
    await waitForMessage(bob, '会议室在三楼 301')
    await bob.screenshot({ path: screenshotPath('chat-mobile.png') })

    // 2000 Chinese characters (about 6000 bytes) exceed one 4096-byte frame:
    // the client sends them over REST, and the other side still gets them live.
    const long = '长'.repeat(1990) + '——完整送达'
    await alice.getByTestId('composer').fill(long)
    await alice.getByTestId('send-button').click()
    await waitForMessage(bob, long, 5000)
    await waitForMessage(alice, long, 5000)
    expect(await countOf(alice, long)).toBe(1)

    // The online list names both.
    const users = await alice.getByTestId('online-users').innerText()
    expect(users).toContain(ALICE)
    expect(users).toContain(BOB)


    for (const page of [alice, bob]) {
      expect(await countOf(page, '你好，鲍勃！今天的站会改到下午三点 ☕')).toBe(1)
      expect(await countOf(page, '收到，我会准时参加 👍')).toBe(1)
    }
  })

  it('renders markup in messages as literal text and runs no script', async () => {
    const payload = '<img src=x onerror=alert(1)>'
    await send(alice, payload)
    await waitForMessage(bob, payload)
    await waitForMessage(alice, payload)
    for (const page of [alice, bob]) {
      expect(await countOf(page, payload)).toBe(1)
      expect(await page.locator('[data-testid="message-list"] img').count()).toBe(0)
    }
    // No element was created from the text, so no handler can ever run.
    expect(await alice.evaluate(() => document.querySelectorAll('img[src="x"], img[onerror]').length)).toBe(0)
    expect(aliceWatch.dialogs).toEqual([])
    expect(bobWatch.dialogs).toEqual([])
    // Stored raw, not HTML-escaped.
    const stored = await history(suite.server, await tokenOf(alice))
    expect(stored.some((m) => m.content === payload)).toBe(true)
  })

  it('survives a server restart: 重连中... then 已连接, outage messages delivered exactly once', async () => {
    const code = await suite.server.stop()
    expect(code).toBe(0)
    await waitForStatus(alice, '重连中...', 10_000)
    await waitForStatus(bob, '重连中...', 10_000)
    await alice.getByTestId('offline-banner').waitFor()

    const outage = ['断线期间的消息 1', '断线期间的消息 2', '断线期间的消息 3']
    for (const text of outage) await send(alice, text)
    await send(bob, '鲍勃断线时发的消息')
    await expect.poll(() => alice.getByTestId('pending-message').count()).toBe(3)
    expect(await bob.getByTestId('pending-message').count()).toBe(1)
    await bob.screenshot({ path: screenshotPath('chat-reconnecting-mobile.png') })

    await suite.server.start(suite.server.port)
    await waitForStatus(alice, '已连接', 30_000)
    await waitForStatus(bob, '已连接', 30_000)

    for (const page of [alice, bob]) {
      for (const text of [...outage, '鲍勃断线时发的消息']) await waitForMessage(page, text, 10_000)
    }
    await expect.poll(() => alice.getByTestId('pending-message').count()).toBe(0)
    await expect.poll(() => bob.getByTestId('pending-message').count()).toBe(0)
    for (const page of [alice, bob]) {
      for (const text of [...outage, '鲍勃断线时发的消息']) expect(await countOf(page, text)).toBe(1)
    }
    // In order, after the messages from before the restart.
    const list = await contents(alice)
    const positions = outage.map((t) => list.indexOf(t))
    expect([...positions].sort((x, y) => x - y)).toEqual(positions)
    expect(list.indexOf('会议室在三楼 301')).toBeLessThan(positions[0]!)

    // The database holds each exactly once.
    const stored = await history(suite.server, await tokenOf(bob))
    for (const text of [...outage, '鲍勃断线时发的消息']) {
      expect(stored.filter((m) => m.content === text)).toHaveLength(1)
    }
    // The DOM shows exactly what the server stored (no duplicates, no gaps).
    const ids = stored.map((m) => m.content)
    expect(await contents(bob)).toEqual(ids)

    for (const page of [alice, bob]) {
      await page.getByTestId('online-count').filter({ hasText: '在线: 2' }).waitFor({ timeout: 10_000 })
    }
    // Still live after the restart.
    await send(bob, '重启后一切正常')
    await waitForMessage(alice, '重启后一切正常', 5000)
  })

  it('keeps the history across a reload and loads older messages on scroll-up', async () => {
    // 120 more messages over REST, as bob, spaced to stay within the rate limit.
    const token = await tokenOf(bob)
    for (let i = 1; i <= 120; i++) {
      const res = await suite.server.api('api/chat/messages', { method: 'POST', token, body: { content: `历史消息 ${i}`, client_id: `hist-${suffix}-${i}` } })
      if (res.status === 429) {
        // Rate limit (10/s, burst 20): wait as the server says, then resend the same client_id.
        await new Promise((r) => setTimeout(r, Math.max(250, Number(res.headers.get('retry-after') ?? 1) * 1000)))
        i--
        continue
      }
      expect(res.status).toBe(201)
    }
    await waitForMessage(alice, '历史消息 120', 10_000)

    const fresh = await newPage(suite.browser, DESKTOP)
    await login(fresh.page, suite.server.url, ALICE)
    await waitForMessage(fresh.page, '历史消息 120')
    // Only the newest page at first.
    expect(await countOf(fresh.page, '历史消息 1')).toBe(0)
    // Scroll up until the start of the conversation.
    const list = fresh.page.getByTestId('message-list')
    for (let i = 0; i < 20 && !(await fresh.page.getByText('没有更早的消息了').isVisible()); i++) {
      await list.evaluate((el) => el.scrollTo(0, 0))
      await fresh.page.waitForFunction(() => !document.querySelector('.history-state .is-loading'))
    }
    await fresh.page.getByText('没有更早的消息了').waitFor()
    await waitForMessage(fresh.page, '你好，鲍勃！今天的站会改到下午三点 ☕')
    const all = await contents(fresh.page)
    const stored = await history(suite.server, token)
    expect(all.slice(-stored.length)).toEqual(stored.map((m) => m.content))
    expect(new Set(all).size).toBe(all.length)

    // A reload shows the cached conversation and stays in sync.
    await fresh.page.reload()
    await waitForStatus(fresh.page, '已连接')
    await waitForMessage(fresh.page, '历史消息 120')
    await send(bob, '刷新之后')
    await waitForMessage(fresh.page, '刷新之后', 5000)
    expect(await countOf(fresh.page, '历史消息 120')).toBe(1)
    await fresh.context.close()
  })

  it('falls back to polling when the WebSocket upgrade is refused', async () => {
    const { page, context } = await newPage(suite.browser, DESKTOP)
    // A proxy that breaks WebSocket: every upgrade is closed before the server's hello.
    await context.routeWebSocket(/\/api\/chat\/ws/, (ws) => ws.close({ code: 4000, reason: 'blocked by test proxy' }))
    await login(page, suite.server.url, BOB)
    await page.getByTestId('transport-polling').waitFor({ timeout: 15_000 })
    await waitForStatus(page, '已连接')

    await send(page, '经由轮询发送')
    await waitForMessage(alice, '经由轮询发送', 5000)
    await send(alice, '轮询也能收到')
    await waitForMessage(page, '轮询也能收到', 10_000)
    expect(await countOf(page, '经由轮询发送')).toBe(1)
    await context.close()
  })

  it('uses polling when the server has WebSocket turned off (--websocket false)', async () => {
    const pollServer = new HearthServer(makeDataDir(), 'polling', ['--websocket', 'false'])
    await pollServer.start()
    await pollServer.setUp()
    try {
      const config = await pollServer.api<{ websocket: boolean }>('api/config')
      expect(config.body.websocket).toBe(false)

      const a = await newPage(suite.browser, DESKTOP)
      const b = await newPage(suite.browser, PHONE)
      const sockets: string[] = []
      for (const p of [a.page, b.page]) p.on('websocket', (ws) => sockets.push(ws.url()))
      await register(a.page, pollServer.url, 'p_' + ALICE)
      await register(b.page, pollServer.url, 'p_' + BOB)
      await a.page.getByTestId('transport-polling').waitFor()
      await b.page.getByTestId('transport-polling').waitFor()

      await send(a.page, '轮询模式：你好')
      await waitForMessage(b.page, '轮询模式：你好', 10_000)
      await send(b.page, '轮询模式：收到')
      await waitForMessage(a.page, '轮询模式：收到', 10_000)
      for (const p of [a.page, b.page]) {
        expect(await countOf(p, '轮询模式：你好')).toBe(1)
        expect(await countOf(p, '轮询模式：收到')).toBe(1)
      }
      await a.page.screenshot({ path: screenshotPath('chat-polling-desktop.png') })
      expect(sockets).toEqual([])
      await a.context.close()
      await b.context.close()
    } finally {
      await pollServer.dispose()
    }
  })

  it('throws away a corrupted local cache instead of breaking', async () => {
    const keys = await alice.evaluate(() => {
      const cache = Object.keys(localStorage).find((k) => k.startsWith('hearth.cache.v1.'))!
      const outbox = cache.replace('hearth.cache.v1.', 'hearth.outbox.v1.')
      const blob = JSON.parse(localStorage.getItem(cache)!)
      // A message without created_at, a cursor of 9e15 and an outbox entry
      // whose content is not text: what a buggy old version or a hand edit leaves.
      blob.cursor = 9e15
      blob.messages.push({ id: 9e15, room: 'lobby', user_id: 1, username: 'ghost', content: '幽灵消息', client_id: 'x' })
      localStorage.setItem(cache, JSON.stringify(blob))
      localStorage.setItem(outbox, JSON.stringify({ v: 1, entries: [{ client_id: 'bad id!', content: 42 }] }))
      return { cache, outbox }
    })
    await alice.reload()
    await waitForStatus(alice, '已连接')
    await waitForMessage(alice, '轮询也能收到')
    expect(await countOf(alice, '幽灵消息')).toBe(0)
    const stored = await alice.evaluate((k) => [localStorage.getItem(k.cache) ?? '', localStorage.getItem(k.outbox)], keys)
    expect(stored[0]).not.toContain('幽灵消息')
    expect(stored[0]).not.toContain('9000000000000000')
    expect(stored[1]).toBeNull()
    // The page still works both ways.
    await send(alice, '缓存损坏之后')
    await waitForMessage(bob, '缓存损坏之后')
    expect(aliceWatch.errors).toEqual([])
  })

  it('logs out and back in', async () => {
    const before = await tokenOf(alice)
    await alice.getByTestId('user-menu').click()
    await alice.getByTestId('logout').click()
    await alice.getByText('已退出登录').waitFor()
    expect(await tokenOf(alice)).toBe('')
    // Signed out on the server too: the old token is refused.
    const me = await suite.server.api('api/auth/me', { token: before })
    expect(me.status).toBe(401)
    await login(alice, suite.server.url, ALICE)
    await waitForMessage(alice, '轮询也能收到')
    expect(aliceWatch.errors).toEqual([])
    expect(bobWatch.errors).toEqual([])
  })
})
