/**
 * The UI's languages in the browser, against the real server (which sends
 * its CSP, `script-src 'self'`: vue-i18n must compile messages without eval).
 * amy (a Chinese browser) switches to English from the user menu; it stays
 * English after a reload; an English browser starts in English on the login
 * page. Screenshots of the English UI go to e2e-results/language/.
 * Run: `npm run e2e` (needs target/release/hearth or HEARTH_BIN, and /usr/bin/chromium).
 */
import { describe, expect, it } from 'vitest'
import type { BrowserContext, Page } from 'playwright-core'
import { DESKTOP, E2E_PASSWORD, newPage, PHONE, registerUser, screenshot, setUpSuite, type Person } from './harness'

const suffix = Date.now().toString(36).slice(-5)
const AMY = `amy_${suffix}`
const BEN = `ben_${suffix}`

const suite = setUpSuite({ results: 'language' })

const CJK = /[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/

/**
 * Records what would show that the app broke the CSP or failed: console
 * errors, page errors and `securitypolicyviolation` events (from every page
 * of the context, from the first script on).
 */
async function watchCsp(context: BrowserContext): Promise<string[]> {
  const problems: string[] = []
  context.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`)
  })
  context.on('weberror', (error) => problems.push(`page error: ${error.error().message}`))
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`))
  })
  return problems
}

/**
 * Visible texts, and the labels, titles and placeholders on the page, that
 * are in Chinese. Skipped: messages (user content) and the name of the
 * Chinese language (marked `lang="zh-CN"`), which is shown in itself.
 */
async function chineseOnPage(page: Page): Promise<string[]> {
  return page.evaluate((cjk) => {
    const re = new RegExp(cjk)
    const skip = (el: Element | null) => !!el?.closest('[data-testid="message-content"], body [lang="zh-CN"]')
    const found: string[] = []
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement
      if (!el || skip(el) || !re.test(node.textContent ?? '') || !el.checkVisibility()) continue
      found.push((node.textContent ?? '').trim())
    }
    for (const el of document.querySelectorAll<HTMLElement>('[aria-label], [title], [placeholder]')) {
      if (skip(el)) continue
      for (const attr of ['aria-label', 'title', 'placeholder']) {
        const value = el.getAttribute(attr)
        if (value && re.test(value)) found.push(`${el.tagName.toLowerCase()}[${attr}="${value}"]`)
      }
    }
    return found
  }, CJK.source)
}

async function connected(page: Page, text: string): Promise<void> {
  await page.getByTestId('connection-status').filter({ hasText: text }).waitFor()
}

async function waitForMessages(page: Page, count: number): Promise<void> {
  await expect.poll(() => page.getByTestId('message-content').count()).toBeGreaterThanOrEqual(count)
}

describe('languages (real server, Chromium)', () => {
  let amy: Person
  let amyProblems: string[] = []

  it('a Chinese browser switches to English from the user menu, at once and for good', async () => {
    amy = await registerUser(suite.browser, suite.server, AMY, DESKTOP, async (context) => {
      amyProblems = await watchCsp(context)
    })
    // The server's CSP is what the page ran under.
    const res = await amy.page.request.get(suite.server.url)
    expect(res.headers()['content-security-policy']).toContain("script-src 'self'")
    expect(await amy.page.evaluate(() => document.documentElement.lang)).toBe('zh-CN')
    await expect.poll(() => amy.page.getByTestId('sidebar').innerText()).toContain('私信')

    // Someone to talk to, and a few messages in the lobby.
    const ben = await suite.server.api<{ token: string }>('api/auth/register', { method: 'POST', body: { username: BEN, password: E2E_PASSWORD } })
    expect(ben.status).toBe(201)
    const rooms = await suite.server.api<{ rooms: { id: number; lobby?: boolean }[] }>('api/rooms', { token: ben.body.token })
    const lobby = rooms.body.rooms.find((r) => r.lobby)!.id
    for (const content of ['Morning! The build is green again.', 'Release notes are in the shared folder, please have a look before 3 pm.']) {
      const sent = await suite.server.api(`api/rooms/${lobby}/messages`, {
        method: 'POST',
        token: ben.body.token,
        body: { content, client_id: `e2e-${Math.random().toString(36).slice(2)}` },
      })
      expect(sent.status).toBe(201)
    }
    const composer = amy.page.getByTestId('composer')
    await composer.fill('Thanks, I will review them after lunch.')
    await composer.press('Enter')
    await waitForMessages(amy.page, 3)

    await amy.page.getByTestId('user-menu').click()
    await amy.page.getByTestId('locale-en').click()

    // No reload: the same page speaks English.
    await connected(amy.page, 'Connected')
    expect(await amy.page.evaluate(() => document.documentElement.lang)).toBe('en')
    expect(await amy.page.getByTestId('online-count').innerText()).toMatch(/^Online: \d+$/)
    const sidebar = await amy.page.getByTestId('sidebar').innerText()
    expect(sidebar).toContain('Rooms')
    expect(sidebar).toContain('Direct messages')
    expect(sidebar).toContain('Lobby')
    expect(await amy.page.getByTestId('room-title').innerText()).toBe('Lobby')
    expect(await composer.getAttribute('placeholder')).toBe('Type a message — Enter to send, Shift+Enter for a new line')
    expect(await amy.page.locator('.day-divider').first().innerText()).toBe('Today')
    expect(await chineseOnPage(amy.page)).toEqual([])
    await screenshot(amy.page, suite.results, 'english-room-desktop.png')

    // The user menu offers both languages, English checked.
    await amy.page.getByTestId('user-menu').click()
    await expect.poll(() => amy.page.getByTestId('locale-en').getAttribute('data-active')).toBe('true')
    expect(await amy.page.getByTestId('logout').innerText()).toBe('Sign out')
    await screenshot(amy.page, suite.results, 'english-menu-desktop.png')
    await amy.page.keyboard.press('Escape')

    // Remembered: a reload starts in English.
    expect(await amy.page.evaluate(() => localStorage.getItem('hearth.locale'))).toBe('en')
    await amy.page.reload()
    await connected(amy.page, 'Connected')
    expect(await amy.page.getByTestId('sidebar').innerText()).toContain('Direct messages')
    expect(await amy.page.getByTestId('composer').getAttribute('placeholder')).toBe(
      'Type a message — Enter to send, Shift+Enter for a new line',
    )
    await waitForMessages(amy.page, 3)
    expect(await chineseOnPage(amy.page)).toEqual([])
    expect(amyProblems).toEqual([])
    await amy.context.close()
  })

  it('an English browser starts in English on the login page (desktop and 390 px)', async () => {
    const desktop = await newPage(suite.browser, DESKTOP, 'en-US')
    const desktopProblems = await watchCsp(desktop.context)
    await desktop.page.goto(suite.server.url)
    await desktop.page.getByRole('heading', { name: 'Hearth Chat' }).waitFor()
    expect(await desktop.page.title()).toBe('Hearth Chat')
    expect(await desktop.page.evaluate(() => document.documentElement.lang)).toBe('en')
    await desktop.page.getByRole('tab', { name: 'Sign up' }).waitFor()
    expect(await chineseOnPage(desktop.page)).toEqual([])
    await screenshot(desktop.page, suite.results, 'english-login-desktop.png')
    expect(desktopProblems).toEqual([])
    await desktop.context.close()

    const phone = await newPage(suite.browser, PHONE, 'en-US')
    const phoneProblems = await watchCsp(phone.context)
    await phone.page.goto(suite.server.url)
    await phone.page.getByPlaceholder('Username').waitFor()
    expect(await chineseOnPage(phone.page)).toEqual([])
    await screenshot(phone.page, suite.results, 'english-login-390.png')

    // Signed in on the phone: the room, then the user menu with the languages.
    await phone.page.getByPlaceholder('Username').fill(AMY)
    await phone.page.getByPlaceholder('Password', { exact: true }).fill(E2E_PASSWORD)
    await phone.page.getByTestId('auth-submit').click()
    await connected(phone.page, 'Connected')
    await waitForMessages(phone.page, 3)
    expect(await phone.page.getByTestId('composer').getAttribute('placeholder')).toBe('Type a message')
    expect(await chineseOnPage(phone.page)).toEqual([])
    await screenshot(phone.page, suite.results, 'english-room-390.png')
    await phone.page.getByTestId('user-menu').click()
    await phone.page.getByTestId('locale-zh-CN').waitFor()
    await screenshot(phone.page, suite.results, 'english-menu-390.png')
    expect(phoneProblems).toEqual([])
    await phone.context.close()
  })
})
