/**
 * Conversation features in two browsers against the real server (see
 * harness.ts): mention completion, the mention badge and the tab title
 * moving in the other browser, a desktop notification while the page is in
 * the background (the permission granted in the test's browser context and
 * the Notification constructor recorded), edit, delete, a reaction toggled in
 * one browser and seen in the other, the jump to a reply's original outside
 * the loaded page, the typing indicator shown then gone, links and code, and
 * the usual XSS payloads through every feature. Screenshots go to
 * e2e-results/conversation/.
 */
import { describe, expect, it } from 'vitest'
import type { BrowserContext, Page } from 'playwright-core'
import { DESKTOP, PHONE, registerUser, screenshot, setUpSuite, signIn as signInAs, waitConnected, type Person } from './harness'

const suffix = Date.now().toString(36).slice(-5)
const AMY = `amy_${suffix}`
const BEN = `本_${suffix}`
const ROOM = `发布_${suffix}`

const XSS = [
  '<img src=x onerror="window.__xss=1">',
  '<script>window.__xss=2</script>',
  'javascript:window.__xss=3',
  '"><svg onload="window.__xss=4">',
  '[x](javascript:window.__xss=5) <a href="javascript:window.__xss=6">a</a>',
]

const suite = setUpSuite({ results: 'conversation', args: ['--send-rate', '100', '--send-burst', '200'] })


/** Page hooks: a switch for "in the background", and a record of every desktop notification. */
function backgroundAndNotificationHooks(): void {
  const w = window as unknown as { __background: boolean; __notes: { title: string; body: string; n: Notification }[] }
  w.__background = false
  w.__notes = []
  Object.defineProperty(document, 'visibilityState', { get: () => (w.__background ? 'hidden' : 'visible') })
  Object.defineProperty(document, 'hidden', { get: () => w.__background })
  document.hasFocus = () => !w.__background
  const Real = window.Notification
  if (!Real) return
  const Recorded = function (this: unknown, title: string, options?: NotificationOptions) {
    const n = new Real(title, options)
    w.__notes.push({ title, body: options?.body ?? '', n })
    return n
  } as unknown as typeof Notification
  Object.defineProperty(Recorded, 'permission', { get: () => Real.permission })
  Recorded.requestPermission = Real.requestPermission.bind(Real)
  window.Notification = Recorded
}

async function setBackground(page: Page, background: boolean): Promise<void> {
  await page.evaluate((b) => {
    ;(window as unknown as { __background: boolean }).__background = b
    document.dispatchEvent(new Event('visibilitychange'))
    window.dispatchEvent(new Event(b ? 'blur' : 'focus'))
  }, background)
}

function shot(page: Page, name: string, settle = true): Promise<void> {
  return screenshot(page, suite.results, name, settle)
}

function message(page: Page, id: number) {
  return page.locator(`[data-testid="message"][data-message-id="${id}"]`)
}

function register(name: string, options: typeof DESKTOP | typeof PHONE): Promise<Person> {
  return registerUser(suite.browser, suite.server, name, options, async (context) => {
    await context.grantPermissions(['notifications'], { origin: suite.server.url })
    await context.addInitScript(backgroundAndNotificationHooks)
  })
}

/** Another browser signed in as `name` (nothing cached yet). */
function signIn(name: string, options: typeof DESKTOP | typeof PHONE): Promise<{ context: BrowserContext; page: Page }> {
  return signInAs(suite.browser, suite.server, name, options)
}

/** Sends over REST (setting the scene); returns the message id. */
async function post(person: Person, roomId: number, content: string, replyTo?: number): Promise<number> {
  const body: Record<string, unknown> = { content, client_id: `e2e-${Math.random().toString(36).slice(2)}` }
  if (replyTo) body.reply_to = replyTo
  const res = await suite.server.api<{ id: number }>(`api/rooms/${roomId}/messages`, { method: 'POST', token: person.token, body })
  expect(res.status).toBe(201)
  return res.body.id
}

async function openRoom(page: Page, roomId: number): Promise<void> {
  await page.goto(`${suite.server.url}#/rooms/${roomId}`)
  await page.getByTestId('room-title').waitFor()
  await waitConnected(page)
}

async function xssFired(person: Person): Promise<unknown> {
  return person.page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)
}

describe('conversation features (real server, two Chromium browsers)', () => {
  let amy: Person
  let ben: Person
  let roomId = 0

  it('mention completion in one browser moves the badge and the tab title in the other', async () => {
    amy = await register(AMY, DESKTOP)
    ben = await register(BEN, DESKTOP)
    const room = await suite.server.api<{ id: number }>('api/rooms', {
      method: 'POST',
      token: amy.token,
      body: { name: ROOM, kind: 'closed', member_ids: [ben.id] },
    })
    expect(room.status).toBe(201)
    roomId = room.body.id
    await openRoom(amy.page, roomId)
    await ben.page.getByTestId(`room-item-${roomId}`).waitFor()

    const composer = amy.page.getByTestId('composer')
    await composer.click()
    await composer.pressSequentially('@本')
    await amy.page.getByTestId('mention-list').waitFor()
    await amy.page.getByTestId(`mention-option-${ben.id}`).waitFor()
    await shot(amy.page, 'mention-list-desktop.png')
    await composer.press('Enter')
    await expect.poll(() => composer.inputValue()).toBe(`@${BEN} `)
    await composer.pressSequentially('发布清单看一下')
    await composer.press('Enter')

    // ben is in the lobby: the room's mention badge and the tab title move.
    await ben.page.getByTestId(`mention-badge-${roomId}`).filter({ hasText: '1' }).waitFor()
    await expect.poll(() => ben.page.title()).toBe('(1) Hearth')
    await shot(ben.page, 'mention-badge-desktop.png')

    // The mention is highlighted for ben once he opens the room; reading clears the badge.
    await ben.page.getByTestId(`room-item-${roomId}`).click()
    await ben.page.getByTestId('message-content').getByTestId('mention').first().waitFor()
    await expect.poll(() => ben.page.getByTestId(`mention-badge-${roomId}`).count()).toBe(0)
    await expect.poll(() => ben.page.title()).toBe('Hearth')
  })

  it('a desktop notification fires while ben is away, and clicking it opens the message', async () => {
    await openRoom(ben.page, 1)
    await setBackground(ben.page, true)
    const id = await post(amy, roomId, `@${BEN} 紧急：发布回滚`)
    await ben.page.waitForFunction(() => (window as unknown as { __notes: unknown[] }).__notes.length > 0, undefined, { timeout: 15_000 })
    const note = await ben.page.evaluate(() => {
      const n = (window as unknown as { __notes: { title: string; body: string }[] }).__notes[0]
      return { title: n.title, body: n.body }
    })
    expect(note.title).toBe(ROOM)
    expect(note.body).toBe(`${AMY}: @${BEN} 紧急：发布回滚`)
    // Never for one's own message: amy was not notified of anything.
    expect(await amy.page.evaluate(() => (window as unknown as { __notes: unknown[] }).__notes.length)).toBe(0)

    await setBackground(ben.page, false)
    await ben.page.evaluate(() => {
      const n = (window as unknown as { __notes: { n: Notification }[] }).__notes[0].n
      n.onclick?.(new Event('click'))
    })
    await expect.poll(() => ben.page.url()).toContain(`/rooms/${roomId}`)
    await message(ben.page, id).waitFor()
  })

  it('edit and delete in one browser show in the other', async () => {
    const keep = await post(amy, roomId, '版本号是 1.2.0')
    const drop = await post(amy, roomId, '这条发错了')
    await message(ben.page, drop).waitFor()

    const row = message(amy.page, keep)
    await row.hover()
    await row.getByTestId('message-edit').click()
    const input = row.getByTestId('edit-input')
    await input.fill('版本号是 1.2.1')
    await input.press('Enter')
    await message(ben.page, keep).getByTestId('message-content').filter({ hasText: '版本号是 1.2.1' }).waitFor()
    await message(ben.page, keep).getByTestId('edited-mark').waitFor()

    const gone = message(amy.page, drop)
    await gone.hover()
    await gone.getByTestId('message-delete').click()
    await amy.page.locator('.el-message-box__btns .el-button--primary').click()
    await message(ben.page, drop).getByTestId('deleted-placeholder').waitFor()
    expect(await message(ben.page, drop).getByTestId('message-content').count()).toBe(0)
    await shot(ben.page, 'edited-and-deleted-desktop.png')
  })

  it('a reaction toggled in one browser is seen in the other, with who reacted', async () => {
    const id = await post(amy, roomId, '周五发布可以吗？')
    const row = message(ben.page, id)
    await row.waitFor()
    await row.hover()
    await row.getByTestId('message-react').click()
    await ben.page.getByTestId('emoji-picker').waitFor()
    await shot(ben.page, 'emoji-picker-desktop.png')
    await ben.page.getByTestId('emoji-picker').getByTestId('emoji-👍').click()

    const chip = message(amy.page, id).locator('[data-testid="reaction"][data-emoji="👍"]')
    await chip.getByTestId('reaction-count').filter({ hasText: '1' }).waitFor()
    expect(await chip.getAttribute('title')).toContain(BEN)
    await shot(amy.page, 'reaction-desktop.png')

    // One click toggles it off again.
    await message(ben.page, id).locator('[data-testid="reaction"][data-emoji="👍"]').click()
    await expect.poll(() => chip.count()).toBe(0)
  })

  it('a reply jumps to its original, loading it around when it is outside the page', async () => {
    const original = await post(amy, roomId, '原始问题：回滚脚本在哪？')
    for (let i = 0; i < 70; i++) await post(amy, roomId, `填充消息 ${i}`)
    const answer = await post(ben, roomId, '在 ops 仓库里', original)
    // ben on another computer: only the newest page is loaded there.
    const { context, page } = await signIn(BEN, DESKTOP)
    await openRoom(page, roomId)
    await message(page, answer).waitFor()
    expect(await message(page, original).count()).toBe(0)
    await shot(page, 'reply-quote-desktop.png')
    await message(page, answer).getByTestId('reply-quote').click()
    await message(page, original).waitFor()
    await expect.poll(() => message(page, original).isVisible()).toBe(true)
    await shot(page, 'reply-jump-desktop.png')

    // Replying from the UI: the preview above the composer, then the quote.
    const row = message(page, original)
    await row.hover()
    await row.getByTestId('message-reply').click()
    await page.getByTestId('reply-preview').waitFor()
    await shot(page, 'reply-preview-desktop.png')
    await page.getByTestId('composer').fill('补充：还要改 DNS')
    await page.getByTestId('composer').press('Enter')
    await amy.page
      .locator('[data-testid="message"]', { hasText: '补充：还要改 DNS' })
      .getByTestId('reply-quote')
      .filter({ hasText: '原始问题' })
      .waitFor()
    await context.close()
  })

  it('the typing indicator shows in the other browser, then goes', async () => {
    await openRoom(ben.page, roomId)
    const composer = amy.page.getByTestId('composer')
    await composer.click()
    await composer.pressSequentially('我在写', { delay: 50 })
    const indicator = ben.page.getByTestId('typing-indicator')
    await indicator.filter({ hasText: `${AMY} 正在输入` }).waitFor()
    await shot(ben.page, 'typing-desktop.png', false)
    await composer.fill('')
    await expect.poll(() => indicator.textContent(), { timeout: 15_000 }).not.toContain('正在输入')
  })

  it('links and code render as such; XSS payloads stay text everywhere', async () => {
    const linked = await post(amy, roomId, '文档 https://example.com/a?b=1 和 `make deploy`\n```\nrm -rf build\n```')
    const row = message(ben.page, linked)
    await row.waitFor()
    const link = row.locator('a[href="https://example.com/a?b=1"]')
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer')
    expect(await link.getAttribute('target')).toBe('_blank')
    expect(await row.locator('code, pre').count()).toBeGreaterThanOrEqual(2)

    // Payloads as content, an edit, a reply's quote and a notification's text.
    const ids: number[] = []
    for (const p of XSS) ids.push(await post(amy, roomId, p))
    const edited = await suite.server.api(`api/messages/${ids[0]}`, { method: 'PATCH', token: amy.token, body: { content: XSS[3] } })
    expect(edited.status).toBe(200)
    await post(amy, roomId, XSS[1], ids[2])
    await setBackground(ben.page, true)
    const before = await ben.page.evaluate(() => (window as unknown as { __notes: unknown[] }).__notes.length)
    await post(amy, roomId, `@${BEN} ${XSS[0]}`)
    await ben.page.waitForFunction((n) => (window as unknown as { __notes: unknown[] }).__notes.length > n, before, { timeout: 15_000 })
    const body = await ben.page.evaluate(() => {
      const notes = (window as unknown as { __notes: { body: string }[] }).__notes
      return notes[notes.length - 1].body
    })
    expect(body).toContain('<img src=x')
    await setBackground(ben.page, false)
    await message(ben.page, ids[ids.length - 1]).waitFor()
    await message(ben.page, ids[0]).getByTestId('message-content').filter({ hasText: '<svg onload' }).waitFor()

    const list = ben.page.getByTestId('message-list')
    expect(await list.locator('img[src="x"], script, svg[onload]').count()).toBe(0)
    expect(await list.locator('a[href^="javascript"]').count()).toBe(0)
    await shot(ben.page, 'formatting-and-xss-desktop.png')
    for (const person of [amy, ben]) {
      expect(await xssFired(person)).toBeUndefined()
      expect(person.watch.dialogs).toEqual([])
      expect(person.watch.errors).toEqual([])
    }
  })

  it('the settings panel and the room notification level (desktop and 390 px)', async () => {
    await ben.page.getByTestId('user-menu').click()
    await ben.page.getByTestId('open-settings').click()
    await ben.page.getByTestId('settings-panel').waitFor()
    await expect.poll(() => ben.page.getByTestId('notification-status').getAttribute('data-state')).toBe('granted')
    await shot(ben.page, 'settings-panel-desktop.png')
    await ben.page.keyboard.press('Escape')

    await ben.page.getByTestId('notify-level').selectOption('none')
    await expect
      .poll(async () => (await suite.server.api<{ notify: string }>(`api/rooms/${roomId}`, { token: ben.token })).body.notify)
      .toBe('none')

    // The same room on a phone: actions behind ⋯, the picker as a sheet.
    const { context, page } = await signIn(BEN, PHONE)
    await openRoom(page, roomId)
    await shot(page, 'room-phone.png')
    const last = page.locator('[data-testid="message"]').last()
    await last.getByTestId('message-more').click()
    await last.getByTestId('message-actions').waitFor()
    await shot(page, 'message-actions-phone.png')
    await last.getByTestId('message-react').click()
    await page.getByTestId('emoji-picker').waitFor()
    await shot(page, 'emoji-picker-phone.png')
    await page.keyboard.press('Escape')
    await page.getByTestId('composer').click()
    await page.getByTestId('composer').pressSequentially('@am')
    await page.getByTestId('mention-list').waitFor()
    await shot(page, 'mention-list-phone.png')
    await context.close()
  })
})
