/**
 * Running a team in the browser, against the real server started with
 * `--registration invite` and left fresh (see harness.ts): amy sets it up on
 * the first-run page and becomes its admin, invites ben with a one-use link
 * (QR code and all), ben joins through it, cat finds the link used up; amy
 * goes through the admin page (deleting a room on the way), deactivates ben
 * (whose open page lands on the login form), and edits her account.
 * Screenshots go to e2e-results/admin/.
 * Run: `npm run e2e` (needs the server binary, HEARTH_BIN, and /usr/bin/chromium).
 */
import { afterAll, describe, expect, it } from 'vitest'
import type { BrowserContext, Page } from 'playwright-core'
import { DESKTOP, E2E_PASSWORD, newPage, PHONE, screenshot, setUpSuite, signIn, waitConnected, watchPage } from './harness'

const suffix = Date.now().toString(36).slice(-5)
const AMY = `amy_${suffix}`
const BEN = `ben_${suffix}`
const DAN = `dan_${suffix}`
const TEAM = 'Acme Studio'

const suite = setUpSuite({ results: 'admin', args: ['--registration', 'invite'], setup: false })

function shot(page: Page, name: string): Promise<void> {
  return screenshot(page, suite.results, name)
}

/** Clicks the primary button of the open confirmation box. */
async function confirmBox(page: Page): Promise<void> {
  await page.locator('.el-message-box__btns .el-button--primary').click()
  await page.locator('.el-message-box').waitFor({ state: 'hidden' })
}

/** Opens the user menu and picks an item. */
async function menu(page: Page, item: string): Promise<void> {
  await page.getByTestId('user-menu').click()
  await page.getByTestId(item).click()
  await page.getByTestId('open-account').waitFor({ state: 'hidden' })
}

/** Closes the open user menu (its button toggles it) and waits until it is gone. */
async function closeMenu(page: Page): Promise<void> {
  await page.getByTestId('user-menu').click()
  await page.getByTestId('open-account').waitFor({ state: 'hidden' })
}

/** Shows an admin tab and waits for what it loads. */
async function adminTab(page: Page, name: string, ready: string): Promise<void> {
  await page.getByRole('tab', { name }).click()
  await page.locator(ready).first().waitFor()
}

/** A picture made by the page's canvas (PNG bytes), for the avatar. */
async function makePicture(page: Page): Promise<Buffer> {
  const dataUrl = await page.evaluate(() => {
    const canvas = document.createElement('canvas')
    canvas.width = canvas.height = 96
    const g = canvas.getContext('2d')!
    const grad = g.createLinearGradient(0, 0, 96, 96)
    grad.addColorStop(0, '#f59e0b')
    grad.addColorStop(1, '#7c3aed')
    g.fillStyle = grad
    g.fillRect(0, 0, 96, 96)
    g.fillStyle = '#fff'
    g.beginPath()
    g.arc(48, 40, 18, 0, Math.PI * 2)
    g.fill()
    g.fillRect(22, 64, 52, 32)
    return canvas.toDataURL('image/png')
  })
  return Buffer.from(dataUrl.split(',')[1]!, 'base64')
}

describe('running a team (real server, Chromium)', () => {
  let amy: { context: BrowserContext; page: Page }
  let amyPhone: { context: BrowserContext; page: Page }
  let ben: { context: BrowserContext; page: Page }
  let link = ''
  /** Page errors of every browser. */
  const watched: ReturnType<typeof watchPage>[] = []
  const watch = (page: Page, label: string) => void watched.push(watchPage(page, label))

  afterAll(() => {
    expect(watched.flatMap((w) => w.errors)).toEqual([])
  })

  it('a fresh server opens its setup page; setting it up signs the admin in', async () => {
    const phone = await newPage(suite.browser, PHONE)
    await phone.page.goto(suite.server.url)
    await phone.page.getByTestId('setup-form').waitFor()
    await shot(phone.page, 'setup-390.png')
    await phone.context.close()

    amy = await newPage(suite.browser, DESKTOP)
    watch(amy.page, 'amy')
    await amy.page.goto(suite.server.url)
    await amy.page.waitForURL(/#\/setup$/)
    await amy.page.getByText('创建你的团队，以及团队的第一个账号', { exact: false }).waitFor()
    await amy.page.getByTestId('setup-team').fill(TEAM)
    await amy.page.getByTestId('setup-username').fill(AMY)
    await amy.page.getByTestId('setup-password').fill(E2E_PASSWORD)
    await amy.page.getByTestId('setup-confirm').fill(E2E_PASSWORD)
    await shot(amy.page, 'setup-desktop.png')
    await amy.page.getByTestId('setup-submit').click()
    await waitConnected(amy.page)

    const config = await suite.server.api<{ needs_setup: boolean; team_name: string }>('api/config')
    expect(config.body).toMatchObject({ needs_setup: false, team_name: TEAM })
    // The admin's menu has the admin page and the invite dialog.
    await amy.page.getByTestId('user-menu').click()
    await amy.page.getByTestId('open-admin').waitFor()
    await amy.page.getByTestId('open-invite').waitFor()
    await shot(amy.page, 'user-menu-admin-desktop.png')
    await closeMenu(amy.page)
  })

  it('the admin creates a one-use invitation: a link to copy and its QR code', async () => {
    await menu(amy.page, 'open-invite')
    const dialog = amy.page.getByTestId('invite-dialog')
    await dialog.waitFor()
    await amy.page.getByTestId('invite-uses-1').click()
    await amy.page.getByTestId('invite-create').click()
    await amy.page.getByTestId('invite-qr').waitFor()
    link = await amy.page.getByTestId('invite-link').inputValue()
    expect(link).toMatch(new RegExp(`^${suite.server.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}#/invite/[0-9a-f]+$`))
    expect(await amy.page.getByTestId('invite-qr').getAttribute('src')).toMatch(/^data:image\/png;base64,/)
    await dialog.locator('[data-testid^="invite-row-"]').first().waitFor()
    await shot(amy.page, 'invite-dialog-desktop.png')
    await amy.page.keyboard.press('Escape')

    // The same on a phone (another link, for five people).
    amyPhone = await signIn(suite.browser, suite.server, AMY, PHONE)
    watch(amyPhone.page, 'amy (phone)')
    await menu(amyPhone.page, 'open-invite')
    await amyPhone.page.getByTestId('invite-uses-5').click()
    await amyPhone.page.getByTestId('invite-create').click()
    await amyPhone.page.getByTestId('invite-qr').waitFor()
    await amyPhone.page.getByTestId('invite-list').locator('li').nth(1).waitFor()
    await shot(amyPhone.page, 'invite-dialog-390.png')
    await amyPhone.page.keyboard.press('Escape')
  })

  it('the invited person sees the team and who invites, registers and lands in the chat', async () => {
    const phone = await newPage(suite.browser, PHONE)
    await phone.page.goto(link)
    await phone.page.getByRole('heading', { name: TEAM }).waitFor()
    await shot(phone.page, 'invite-page-390.png')
    await phone.context.close()

    ben = await newPage(suite.browser, DESKTOP)
    watch(ben.page, 'ben')
    await ben.page.goto(link)
    await ben.page.getByRole('heading', { name: TEAM }).waitFor()
    expect(await ben.page.getByTestId('invite-page').innerText()).toContain(`${AMY} 邀请你加入「${TEAM}」`)
    await ben.page.getByTestId('invite-username').fill(BEN)
    await ben.page.getByTestId('invite-password').fill(E2E_PASSWORD)
    await ben.page.getByTestId('invite-confirm').fill(E2E_PASSWORD)
    await shot(ben.page, 'invite-page-desktop.png')
    await ben.page.getByTestId('invite-submit').click()
    await waitConnected(ben.page)
    const composer = ben.page.getByTestId('composer')
    await composer.fill('Hi all, glad to be here!')
    await composer.press('Enter')
    // A member: no admin page, no invitations (members may not invite by default).
    await ben.page.getByTestId('user-menu').click()
    await ben.page.getByTestId('open-account').waitFor()
    expect(await ben.page.getByTestId('open-admin').count()).toBe(0)
    expect(await ben.page.getByTestId('open-invite').count()).toBe(0)
    await closeMenu(ben.page)
  })

  it('a used-up link says so, with the way to the login page', async () => {
    const cat = await newPage(suite.browser, DESKTOP)
    await cat.page.goto(link)
    await cat.page.getByTestId('invite-problem').waitFor()
    expect(await cat.page.getByTestId('link-problem-text').innerText()).toBe('邀请链接的可用次数已用完')
    expect(await cat.page.getByTestId('invite-form').count()).toBe(0)
    await shot(cat.page, 'invite-used-desktop.png')
    await cat.page.getByTestId('go-login').click()
    await cat.page.getByTestId('auth-form').waitFor()
    // Registration by invitation: the login page has no sign-up tab, only the hint.
    expect(await cat.page.getByRole('tab', { name: '注册' }).count()).toBe(0)
    expect(await cat.page.getByTestId('registration-hint').innerText()).toContain('邀请链接')
    expect(await cat.page.getByTestId('team-name').innerText()).toBe(TEAM)
    await cat.context.close()
  })

  it('the admin page: users, rooms, server and audit log; deactivating someone signs them out at once', async () => {
    // A room of amy's, for the rooms tab.
    const token = await amy.page.evaluate(() => localStorage.getItem('auth_token') ?? '')
    const room = await suite.server.api('api/rooms', { method: 'POST', token, body: { name: '设计评审', kind: 'closed', member_ids: [] } })
    expect(room.status).toBe(201)
    // And one with two messages, deleted below.
    const old = await suite.server.api<{ id: number }>('api/rooms', { method: 'POST', token, body: { name: '旧项目', kind: 'open', member_ids: [] } })
    expect(old.status).toBe(201)
    for (const content of ['项目已结束', '资料都归档了']) {
      const sent = await suite.server.api(`api/rooms/${old.body.id}/messages`, { method: 'POST', token, body: { content, client_id: `old-${suffix}-${content.length}` } })
      expect(sent.status).toBe(201)
    }

    // A non-admin sees that the page is not theirs.
    await ben.page.goto(`${suite.server.url}#/admin`)
    await ben.page.getByTestId('admin-not-allowed').waitFor()
    await ben.page.goto(`${suite.server.url}#/`)
    await waitConnected(ben.page)

    for (const [who, size] of [
      [amy, 'desktop'],
      [amyPhone, '390'],
    ] as const) {
      const page = who.page
      await menu(page, 'open-admin')
      await page.getByTestId(`admin-user-${BEN}`).waitFor()
      await shot(page, `admin-users-${size}.png`)
      await adminTab(page, '房间', '[data-testid^="admin-room-"]')
      await shot(page, `admin-rooms-${size}.png`)
      await adminTab(page, '服务器', '[data-testid="admin-settings"] form')
      await page.waitForFunction(() => document.querySelector('[data-testid="stat-connections"]')?.textContent?.trim() !== '—')
      await shot(page, `admin-server-${size}.png`)
      await page.getByTestId('admin-settings').scrollIntoViewIfNeeded()
      await shot(page, `admin-server-settings-${size}.png`)
      await adminTab(page, '审计日志', '[data-testid="audit-invite.create"]')
      await shot(page, `admin-audit-${size}.png`)
    }

    // Deleting a room: the confirmation names it and counts its messages; then its row goes.
    await adminTab(amy.page, '房间', `[data-testid="admin-room-${old.body.id}"]`)
    await amy.page.getByTestId(`admin-room-delete-${old.body.id}`).click()
    const box = amy.page.locator('.el-message-box')
    await box.waitFor()
    expect(await box.innerText()).toContain('确定永久删除「旧项目」吗？其中的 2 条消息')
    await shot(amy.page, 'admin-room-delete-confirm-desktop.png')
    await box.locator('.el-message-box__btns .el-button--danger').click()
    await box.waitFor({ state: 'hidden' })
    await amy.page.getByTestId(`admin-room-${old.body.id}`).waitFor({ state: 'detached' })
    await amy.page.locator('.el-message--success').filter({ hasText: '已删除「旧项目」及其 2 条消息' }).waitFor()
    // amy was its member: her room list drops it too.
    await amy.page.getByTestId('sidebar').getByText('旧项目').waitFor({ state: 'detached' })
    const left = await suite.server.api<{ rooms: { id: number }[] }>('api/admin/rooms', { token })
    expect(left.body.rooms.map((r) => r.id)).not.toContain(old.body.id)

    // An account for someone without an invitation: its first password is set through a one-time link.
    await adminTab(amy.page, '成员', `[data-testid="admin-user-${BEN}"]`)
    await amy.page.getByTestId('admin-create-user').click()
    await amy.page.locator('.el-message-box__input input').fill(DAN)
    await confirmBox(amy.page)
    await amy.page.getByTestId('link-dialog').waitFor()
    const passwordLink = await amy.page.getByTestId('one-time-link').inputValue()
    expect(passwordLink).toContain('#/password/')
    await shot(amy.page, 'admin-account-created-desktop.png')
    await amy.page.getByTestId('link-dialog-close').click()
    await amy.page.getByTestId(`admin-user-${DAN}`).waitFor()
    const dan = await newPage(suite.browser, PHONE)
    await dan.page.goto(passwordLink)
    await expect.poll(() => dan.page.getByTestId('password-username').inputValue()).toBe(DAN)
    await dan.page.getByTestId('password-new').fill(E2E_PASSWORD)
    await dan.page.getByTestId('password-confirm').fill(E2E_PASSWORD)
    await shot(dan.page, 'password-link-390.png')
    await dan.page.getByTestId('password-submit').click()
    await waitConnected(dan.page)
    // The link worked once.
    await dan.page.goto(passwordLink)
    await dan.page.getByTestId('password-problem').waitFor()
    await dan.context.close()

    // Retention: run now, the page says how many were deleted.
    await adminTab(amy.page, '服务器', '[data-testid="admin-settings"] form')
    await amy.page.getByTestId('retention-run').click()
    await confirmBox(amy.page)
    expect(await amy.page.getByTestId('retention-result').innerText()).toMatch(/清理完成，删除了 \d+ 条消息/)

    // Deactivate ben: his open page lands on the login form.
    await adminTab(amy.page, '成员', `[data-testid="admin-user-${BEN}"]`)
    await amy.page.getByTestId(`admin-user-actions-${BEN}`).click()
    await amy.page.getByTestId(`deactivate-${BEN}`).click()
    await confirmBox(amy.page)
    await amy.page.getByTestId(`admin-user-${BEN}`).getByTestId('user-state-deactivated').waitFor()
    await ben.page.waitForURL(/#\/login/)
    await ben.page.getByTestId('auth-form').waitFor()
    // And cannot sign in again.
    await ben.page.getByPlaceholder('用户名').fill(BEN)
    await ben.page.getByPlaceholder('密码', { exact: true }).fill(E2E_PASSWORD)
    await ben.page.getByTestId('auth-submit').click()
    await ben.page.getByText('这个账号已被停用，请联系管理员').waitFor()
    await ben.context.close()

    // In the lobby, ben's message now has the 已停用 tag beside his name.
    await amy.page.goto(`${suite.server.url}#/`)
    await amy.page.getByTestId('message-author').filter({ hasText: BEN }).waitFor()
    await amy.page.getByTestId('deactivated-tag').first().waitFor()
    await shot(amy.page, 'deactivated-in-chat-desktop.png')
  })

  it("the admin's account page: profile with a picture, password, devices; and the admin page in English", async () => {
    const page = amy.page
    await menu(page, 'open-account')
    await page.getByTestId('account-page').waitFor()
    await page.getByTestId('profile-display-name').fill('Amy Admin')
    await page.getByTestId('profile-status').fill('在办公室')
    await page.getByTestId('profile-save').click()
    await expect.poll(() => page.getByTestId('user-menu').innerText()).toContain('Amy Admin')
    await page.getByTestId('avatar-file').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: await makePicture(page) })
    await page.getByTestId('user-menu').getByTestId('avatar-image').waitFor()
    await page.getByTestId('avatar-remove').waitFor()
    // Two devices: this one and the phone.
    await page.getByTestId('session-current').waitFor()
    await page.getByTestId('session-row').first().waitFor()
    await page.locator('.el-message').last().waitFor({ state: 'detached' })
    await shot(page, 'account-desktop.png')
    await page.getByTestId('account-sessions').scrollIntoViewIfNeeded()
    await shot(page, 'account-sessions-desktop.png')

    await menu(amyPhone.page, 'open-account')
    await amyPhone.page.getByTestId('session-current').waitFor()
    await amyPhone.page.getByTestId('user-menu').getByTestId('avatar-image').waitFor()
    await shot(amyPhone.page, 'account-390.png')

    // Changing the password signs the phone out; this page stays.
    await page.getByTestId('password-current').fill(E2E_PASSWORD)
    await page.getByTestId('password-new').fill(E2E_PASSWORD + '!')
    await page.getByTestId('password-confirm').fill(E2E_PASSWORD + '!')
    await page.getByTestId('password-save').click()
    await page.getByTestId('password-done').waitFor()
    await amyPhone.page.waitForURL(/#\/login/)
    await waitConnected(page)
    await amyPhone.context.close()

    // The admin page in English.
    await menu(page, 'locale-en')
    await page.goto(`${suite.server.url}#/admin`)
    await page.getByTestId(`admin-user-${BEN}`).waitFor()
    await page.getByRole('tab', { name: 'Audit log' }).waitFor()
    const text = await page.getByTestId('admin-page').innerText()
    expect(text).not.toMatch(/[\u4e00-\u9fff]/)
    await shot(page, 'admin-users-en-desktop.png')
    await amy.context.close()
  })
})
