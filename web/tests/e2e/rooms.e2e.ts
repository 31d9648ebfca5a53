/**
 * Rooms and direct messages in the browser, against the real server (see harness.ts).
 * Three people: amy creates a closed room with ben and a direct message with
 * ben; cat never sees either. Screenshots go to e2e-results/rooms/.
 * Run: `npm run e2e` (needs target/release/hearth or HEARTH_BIN, and /usr/bin/chromium).
 */
import { describe, expect, it } from 'vitest'
import type { BrowserContext, Page } from 'playwright-core'
import { join } from 'node:path'
import {
  DESKTOP,
  PHONE,
  registerUser,
  screenshot,
  setUpSuite,
  signIn,
  waitConnected,
  type Person,
} from './harness'

const suffix = Date.now().toString(36).slice(-5)
const AMY = `amy_${suffix}`
const BEN = `本_${suffix}`
const CAT = `cat_${suffix}`
const ROOM = `设计评审_${suffix}`

const suite = setUpSuite({ results: 'rooms' })


/** The app's URL of a room (the router uses the URL fragment). */
function roomUrl(id: number): string {
  return `${suite.server.url}#/rooms/${id}`
}

/** The room id in the page's URL. */
function currentRoom(page: Page): number {
  const m = /#\/rooms\/(\d+)/.exec(page.url())
  if (!m) throw new Error(`not in a room: ${page.url()}`)
  return Number(m[1])
}

/** Takes a screenshot once drawers and dialogs have finished sliding in or out. */
function shot(page: Page, name: string): Promise<void> {
  return screenshot(page, suite.results, name)
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

function register(name: string, options: typeof DESKTOP | typeof PHONE): Promise<Person> {
  return registerUser(suite.browser, suite.server, name, options)
}

/** Another browser (phone or desktop) signed in as `person`. */
function signInElsewhere(person: Person, options: typeof DESKTOP | typeof PHONE): Promise<{ context: BrowserContext; page: Page }> {
  return signIn(suite.browser, suite.server, person.name, options)
}

/** Picks `name` in the open dialog's user picker (`GET /api/users?q=`). */
async function pickUser(page: Page, scope: string, person: Person): Promise<void> {
  await page.getByTestId(scope).getByTestId('user-picker').click()
  await page.keyboard.type(person.name.slice(0, 6))
  await page.getByTestId(`user-option-${person.id}`).click()
  // Close the option list (a second click would toggle the choice off).
  await page.getByTestId(scope).locator('.el-form-item__label, .hint').first().click()
}

function unreadBadge(page: Page, roomId: number) {
  return page.getByTestId(`room-unread-${roomId}`)
}

describe('rooms and direct messages (real server, Chromium)', () => {
  let amy: Person
  let ben: Person
  let cat: Person
  let roomId = 0
  let dmId = 0

  it('amy creates a closed room with ben, and a direct message with ben', async () => {
    amy = await register(AMY, DESKTOP)
    ben = await register(BEN, DESKTOP)
    cat = await register(CAT, PHONE)

    await amy.page.getByTestId('new-room').click()
    await amy.page.getByTestId('new-room-dialog').waitFor()
    await amy.page.getByTestId('new-room-name').fill(ROOM)
    await amy.page.getByTestId('new-room-topic').fill('每周三下午的设计走查')
    await amy.page.getByTestId('new-room-kind-closed').click()
    await pickUser(amy.page, 'new-room-dialog', ben)
    await shot(amy.page, 'new-room-dialog-desktop.png')
    await amy.page.getByTestId('new-room-submit').click()
    await amy.page.getByTestId('room-title').filter({ hasText: ROOM }).waitFor()
    roomId = currentRoom(amy.page)
    await expect.poll(() => amy.page.getByTestId('member-count').textContent()).toBe('2')

    // ben is told at once (member added): the room shows in his sidebar.
    await ben.page.getByTestId(`room-item-${roomId}`).waitFor()

    // The members drawer, and 发消息 on ben.
    await amy.page.getByTestId('members-button').click()
    const drawer = amy.page.getByTestId('members-drawer')
    await drawer.getByTestId(`member-${ben.id}`).waitFor()
    await shot(amy.page, 'members-drawer-desktop.png')
    await drawer.getByTestId(`start-dm-${ben.id}`).click()
    await amy.page.getByTestId('room-title').filter({ hasText: BEN }).waitFor()
    dmId = currentRoom(amy.page)
    expect(dmId).not.toBe(roomId)

    // Asking again gets the same conversation.
    const again = await suite.server.api<{ id: number }>('api/rooms/direct', { method: 'POST', token: amy.token, body: { user_ids: [ben.id] } })
    expect(again.status).toBe(200)
    expect(again.body.id).toBe(dmId)

    await send(amy.page, '本，设计稿我放在房间里了')
    await waitForMessage(amy.page, '本，设计稿我放在房间里了')
    await ben.page.getByTestId(`room-item-${dmId}`).waitFor()
  })

  it('cat never sees them: not in the sidebar, not in the room list, and their links show the not-found page', async () => {
    await cat.page.getByTestId('sidebar-toggle').click()
    await cat.page.getByTestId('sidebar').waitFor()
    expect(await cat.page.getByTestId(`room-item-${roomId}`).count()).toBe(0)
    expect(await cat.page.getByTestId(`room-item-${dmId}`).count()).toBe(0)
    expect(await cat.page.getByTestId(`joinable-room-${roomId}`).count()).toBe(0)
    await cat.page.keyboard.press('Escape')

    const list = await suite.server.api<{ rooms: { id: number }[] }>('api/rooms', { token: cat.token })
    expect(list.status).toBe(200)
    expect(list.body.rooms.map((r) => r.id)).not.toContain(roomId)
    expect(list.body.rooms.map((r) => r.id)).not.toContain(dmId)
    for (const id of [roomId, dmId]) {
      expect((await suite.server.api(`api/rooms/${id}`, { token: cat.token })).status).toBe(404)
      expect((await suite.server.api(`api/rooms/${id}/messages`, { token: cat.token })).status).toBe(404)
    }

    for (const id of [roomId, dmId]) {
      await cat.page.goto(roomUrl(id))
      await cat.page.getByTestId('room-not-found').filter({ hasText: '房间不存在或你无权访问' }).waitFor()
      expect(await cat.page.getByTestId('message-content').count()).toBe(0)
    }
    await shot(cat.page, 'not-found-phone.png')
  })

  it('unread badges move live in the other browser, and reading clears them in the reader’s other tabs', async () => {
    // ben looks at the lobby in two tabs.
    const lobbyId = currentRoom(ben.page)
    const benTab2 = await ben.context.newPage()
    await benTab2.goto(roomUrl(lobbyId))
    await waitConnected(benTab2)

    await amy.page.goto(roomUrl(roomId))
    await amy.page.getByTestId('room-title').filter({ hasText: ROOM }).waitFor()
    await send(amy.page, '第一版线框图')
    await send(amy.page, '请在周三前看一下')
    for (const page of [ben.page, benTab2]) {
      await unreadBadge(page, roomId).filter({ hasText: '2' }).waitFor()
      // The title counts what notifies: the direct message; the room's
      // plain messages do not at its default level (mentions and DMs).
      await expect.poll(() => page.title()).toBe('(1) Hearth')
      await expect.poll(() => page.getByTestId(`room-item-${roomId}`).evaluate((el) => getComputedStyle(el.querySelector('.name')!).fontWeight)).toBe('700')
    }

    // ben reads the room in one tab: the badge goes away in both.
    await ben.page.getByTestId(`room-item-${roomId}`).click()
    await waitForMessage(ben.page, '请在周三前看一下')
    await unreadBadge(ben.page, roomId).waitFor({ state: 'detached' })
    await unreadBadge(benTab2, roomId).waitFor({ state: 'detached' })
    await expect.poll(() => benTab2.title()).toBe('(1) Hearth')
    await benTab2.close()

    // Alt+↓ goes to the next room in the sidebar.
    await ben.page.keyboard.press('Alt+ArrowDown')
    await expect.poll(() => currentRoom(ben.page)).not.toBe(roomId)
    await ben.page.keyboard.press('Alt+ArrowUp')
    await expect.poll(() => currentRoom(ben.page)).toBe(roomId)
  })

  it('keeps the current room across a reload', async () => {
    await ben.page.reload()
    await waitConnected(ben.page)
    expect(currentRoom(ben.page)).toBe(roomId)
    await ben.page.getByTestId('room-title').filter({ hasText: ROOM }).waitFor()
    await waitForMessage(ben.page, '第一版线框图')
    // Still live.
    await send(amy.page, '刷新之后也能收到')
    await waitForMessage(ben.page, '刷新之后也能收到', 5000)
  })

  it('screenshots: the sidebar with rooms and direct messages and a room (desktop), the phone drawer and a phone room', async () => {
    await send(ben.page, '收到，我周二给反馈')
    await waitForMessage(amy.page, '收到，我周二给反馈')
    await shot(amy.page, 'room-desktop.png')
    await amy.page.getByTestId('sidebar').screenshot({ path: join(suite.results, 'sidebar-desktop.png') })

    const phone = await signInElsewhere(ben, PHONE)
    await phone.page.goto(roomUrl(roomId))
    await phone.page.getByTestId('room-title').filter({ hasText: ROOM }).waitFor()
    await waitForMessage(phone.page, '收到，我周二给反馈')
    await shot(phone.page, 'room-phone.png')

    await phone.page.getByTestId('sidebar-toggle').click()
    await phone.page.getByTestId(`room-item-${dmId}`).waitFor()
    await shot(phone.page, 'sidebar-drawer-phone.png')
    await phone.page.getByTestId(`room-item-${dmId}`).click()
    await phone.page.getByTestId('room-title').filter({ hasText: AMY }).waitFor()
    await waitForMessage(phone.page, '本，设计稿我放在房间里了')
    await shot(phone.page, 'direct-message-phone.png')

    await phone.page.getByTestId('sidebar-toggle').click()
    await phone.page.getByTestId('new-room').click()
    await phone.page.getByTestId('new-room-dialog').waitFor()
    await shot(phone.page, 'new-room-dialog-phone.png')
    await phone.page.keyboard.press('Escape')

    await phone.page.goto(roomUrl(roomId))
    await phone.page.getByTestId('members-button').click()
    await phone.page.getByTestId('members-drawer').getByTestId(`member-${amy.id}`).waitFor()
    await shot(phone.page, 'members-drawer-phone.png')
    await phone.context.close()

    for (const person of [amy, ben, cat]) {
      expect(person.watch.errors).toEqual([])
      expect(person.watch.dialogs).toEqual([])
    }
  })
})
