/**
 * Files, images and search in two browsers against the real server (see
 * harness.ts): amy pastes a screenshot (a PNG drawn on a canvas) into the
 * composer and sends it; ben sees the thumbnail (a loaded blob: image) and
 * opens the viewer on the original; amy attaches a text and an HTML file
 * with the file picker and ben gets cards that download (never open); then
 * ben searches for a message outside his loaded page and the hit opens it in
 * the room, flashed. Desktop and 390 px screenshots go to e2e-results/files/.
 */
import { describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { DESKTOP, PHONE, registerUser, screenshot, setUpSuite, signIn, waitConnected, type Person } from './harness'

const suffix = Date.now().toString(36).slice(-5)
const AMY = `amy_${suffix}`
const BEN = `本_${suffix}`
const ROOM = `文件_${suffix}`
const MEETING = '明天的会议改到下午三点'

const suite = setUpSuite({ results: 'files', args: ['--send-rate', '100', '--send-burst', '200'] })


function shot(page: Page, name: string, settle = true): Promise<void> {
  return screenshot(page, suite.results, name, settle)
}

function message(page: Page, id: number) {
  return page.locator(`[data-testid="message"][data-message-id="${id}"]`)
}

async function openRoom(page: Page, roomId: number): Promise<void> {
  await page.goto(`${suite.server.url}#/rooms/${roomId}`)
  await page.getByTestId('room-title').waitFor()
  await waitConnected(page)
}

/** Sends over REST (setting the scene); returns the message id. */
async function post(person: Person, roomId: number, content: string): Promise<number> {
  const body = { content, client_id: `e2e-${Math.random().toString(36).slice(2)}` }
  const res = await suite.server.api<{ id: number }>(`api/rooms/${roomId}/messages`, { method: 'POST', token: person.token, body })
  expect(res.status).toBe(201)
  return res.body.id
}

/** Records every progress value the attachment tray shows (the upload may be too quick to catch otherwise). */
async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __progress: number[] }
    w.__progress = []
    const seen = () => {
      for (const el of document.querySelectorAll('[data-testid="upload-progress"]')) w.__progress.push(Number(el.getAttribute('data-progress')))
    }
    new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-progress'] })
  })
}

/**
 * Pastes a `width`×`height` PNG (drawn on a canvas) into the composer as the
 * browser does for a screenshot (`image.png` in a ClipboardEvent). `noiseRows`
 * rows of random pixels make the file big enough to watch its progress.
 */
async function pasteImage(page: Page, width: number, height: number, noiseRows: number): Promise<void> {
  await page.getByTestId('composer').focus()
  await page.evaluate(
    async ({ width, height, noiseRows }) => {
      const canvas = document.createElement('canvas')
      canvas.width = width
      canvas.height = height
      const ctx = canvas.getContext('2d')!
      const gradient = ctx.createLinearGradient(0, 0, width, height)
      gradient.addColorStop(0, '#fed7aa')
      gradient.addColorStop(1, '#c2410c')
      ctx.fillStyle = gradient
      ctx.fillRect(0, 0, width, height)
      const rows = Math.min(noiseRows, height)
      if (rows > 0) {
        const noise = ctx.createImageData(width, rows)
        for (let i = 0; i < noise.data.length; i += 4) {
          noise.data[i] = Math.random() * 255
          noise.data[i + 1] = Math.random() * 255
          noise.data[i + 2] = Math.random() * 255
          noise.data[i + 3] = 255
        }
        ctx.putImageData(noise, 0, height - rows)
      }
      ctx.fillStyle = '#fff'
      ctx.font = `bold ${Math.round(height / 6)}px sans-serif`
      ctx.fillText('Hearth 截图', width / 10, height / 2)
      const blob = await new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b!), 'image/png'))
      const data = new DataTransfer()
      data.items.add(new File([blob], 'image.png', { type: 'image/png' }))
      const paste = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true })
      document.querySelector('textarea[data-testid="composer"]')!.dispatchEvent(paste)
    },
    { width, height, noiseRows },
  )
}

/** Whether the `n`-th (last by default) `message-image` of the page shows a decoded blob: image. */
async function imageLoaded(page: Page, selector = '[data-testid="message-image"]'): Promise<{ src: string; width: number }> {
  const img = page.locator(selector).last()
  await img.waitFor()
  await expect
    .poll(() => img.evaluate((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0), { timeout: 15_000 })
    .toBe(true)
  return img.evaluate((el) => ({ src: (el as HTMLImageElement).src, width: (el as HTMLImageElement).naturalWidth }))
}

describe('files, images and search (real server, two Chromium browsers)', () => {
  let amy: Person
  let ben: Person
  let roomId = 0
  let imageMessage = 0

  it('a pasted screenshot uploads with a progress bar and is sent; the other browser shows its thumbnail', async () => {
    amy = await registerUser(suite.browser, suite.server, AMY, DESKTOP)
    ben = await registerUser(suite.browser, suite.server, BEN, DESKTOP)
    const room = await suite.server.api<{ id: number }>('api/rooms', { method: 'POST', token: amy.token, body: { name: ROOM, kind: 'closed', member_ids: [ben.id] } })
    expect(room.status).toBe(201)
    roomId = room.body.id
    await openRoom(amy.page, roomId)
    await openRoom(ben.page, roomId)

    // A file big enough to watch (at most half the server's limit), sent slowly.
    const config = await suite.server.api<{ max_file_bytes?: number; max_files_per_message?: number }>('api/config')
    expect(config.body.max_files_per_message).toBe(10)
    const target = Math.min(1_500_000, (config.body.max_file_bytes ?? 3_000_000) / 2)
    const cdp = await amy.context.newCDPSession(amy.page)
    await cdp.send('Network.enable')
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 300 * 1024 })

    await recordProgress(amy.page)
    await pasteImage(amy.page, 1200, 800, Math.floor(target / (1200 * 4)))
    const chip = amy.page.getByTestId('attachment-tray').getByTestId('attachment').first()
    await chip.waitFor()
    expect(await chip.getAttribute('data-name')).toMatch(/^粘贴的图片-\d{8}-\d{6}\.png$/)
    // The bar moves while the bytes go out (read without waiting: it goes once the upload is done).
    const percent = () =>
      amy.page.evaluate(() => {
        const bar = document.querySelector('[data-testid="upload-progress"]')
        return bar ? Number(bar.getAttribute('data-progress')) : 100
      })
    await expect.poll(percent).toBeGreaterThan(0)
    await shot(amy.page, 'composer-uploading-desktop.png', false)
    await amy.page.locator('[data-testid="attachment"][data-status="done"]').waitFor({ timeout: 60_000 })
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 })
    const seen = await amy.page.evaluate(() => (window as unknown as { __progress: number[] }).__progress)
    expect(seen.length).toBeGreaterThan(0)
    await shot(amy.page, 'composer-uploaded-desktop.png')

    // Enter sends the image alone (no text).
    await amy.page.getByTestId('composer').press('Enter')
    await expect.poll(() => amy.page.getByTestId('attachment-tray').count()).toBe(0)
    const own = amy.page.locator('[data-testid="message"]').filter({ has: amy.page.getByTestId('message-image') }).last()
    await own.waitFor()
    imageMessage = Number(await own.getAttribute('data-message-id'))
    expect(imageMessage).toBeGreaterThan(0)

    const row = message(ben.page, imageMessage)
    await row.waitFor()
    expect(await row.getByTestId('message-content').count()).toBe(0)
    const thumb = await imageLoaded(ben.page, `[data-message-id="${imageMessage}"] [data-testid="message-image"]`)
    expect(thumb.src.startsWith('blob:')).toBe(true)
    expect(thumb.width).toBeGreaterThan(0)
    expect(thumb.width).toBeLessThanOrEqual(480)
    // Laid out from the file's size before it loaded: 1200×800 → at most 320 px wide, 3:2.
    const box = (await row.getByTestId('message-image-button').boundingBox())!
    expect(box.width).toBeLessThanOrEqual(322)
    expect(Math.abs(box.width / box.height - 1.5)).toBeLessThan(0.05)
    await shot(ben.page, 'thumbnail-desktop.png')
  })

  it('the viewer shows the original from a blob, and Esc closes it', async () => {
    await message(ben.page, imageMessage).getByTestId('message-image-button').click()
    const viewer = ben.page.getByTestId('image-viewer')
    await viewer.waitFor()
    await expect.poll(() => viewer.getAttribute('data-state'), { timeout: 30_000 }).toBe('original')
    const img = ben.page.getByTestId('image-viewer-img')
    await expect.poll(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth), { timeout: 15_000 }).toBe(1200)
    expect(await img.evaluate((el) => (el as HTMLImageElement).src.startsWith('blob:'))).toBe(true)
    await shot(ben.page, 'viewer-desktop.png')
    await ben.page.keyboard.press('Escape')
    await expect.poll(() => viewer.count()).toBe(0)
  })

  it('files from the picker arrive as cards that download, never open', async () => {
    await amy.page.getByTestId('file-input').setInputFiles([
      { name: '会议纪要.txt', mimeType: 'text/plain', buffer: Buffer.from('第一项：发布\n第二项：回滚\n') },
      { name: 'page.html', mimeType: 'text/html', buffer: Buffer.from('<script>window.__xss=1</script><h1>hi</h1>') },
    ])
    await expect.poll(() => amy.page.locator('[data-testid="attachment"][data-status="done"]').count(), { timeout: 30_000 }).toBe(2)
    await amy.page.getByTestId('composer').fill('纪要见附件')
    await amy.page.getByTestId('composer').press('Enter')

    const row = ben.page.locator('[data-testid="message"]', { hasText: '纪要见附件' })
    await row.waitFor()
    const cards = row.getByTestId('file-card')
    await expect.poll(() => cards.count()).toBe(2)
    expect(await cards.first().getByTestId('file-name').textContent()).toBe('会议纪要.txt')
    expect(await cards.first().getByTestId('file-size').textContent()).toMatch(/\d+ B$/)
    await shot(ben.page, 'file-cards-desktop.png')

    const pages = ben.context.pages().length
    const url = ben.page.url()
    const [download] = await Promise.all([ben.page.waitForEvent('download'), cards.nth(1).click()])
    expect(download.suggestedFilename()).toBe('page.html')
    expect(ben.context.pages().length).toBe(pages)
    expect(ben.page.url()).toBe(url)
    expect(await ben.page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined()
  })

  it('search finds a message outside the loaded page; the hit opens it in the room, flashed', async () => {
    const target = await post(amy, roomId, MEETING)
    for (let i = 0; i < 60; i++) await post(amy, roomId, `填充消息 ${i}`)
    // ben on another computer: only the newest page is loaded there.
    const { context, page } = await signIn(suite.browser, suite.server, BEN, DESKTOP)
    await openRoom(page, roomId)
    await page.locator('[data-testid="message"]', { hasText: '填充消息 59' }).waitFor()
    expect(await message(page, target).count()).toBe(0)

    await page.keyboard.press('Control+k')
    const input = page.getByTestId('search-input')
    await expect.poll(() => input.evaluate((el) => el === document.activeElement)).toBe(true)
    await input.fill('会议')
    await input.press('Enter')
    const results = page.getByTestId('search-results')
    const hit = results.locator(`[data-testid="search-hit"][data-message-id="${target}"]`)
    await hit.waitFor()
    expect(await hit.locator('mark').first().textContent()).toBe('会议')
    expect(await hit.getByTestId('search-hit-author').textContent()).toBe(AMY)
    await page.getByTestId('search-order-relevance').click()
    await hit.waitFor()
    await page.getByTestId('search-order-newest').click()
    await hit.waitFor()
    await shot(page, 'search-results-desktop.png')

    await hit.click()
    await message(page, target).waitFor()
    await page.waitForFunction((id) => document.querySelector(`[data-testid="message"][data-message-id="${id}"]`)?.classList.contains('flash'), target, { polling: 50 })
    await expect.poll(() => message(page, target).isVisible()).toBe(true)
    await shot(page, 'search-jump-desktop.png')
    await context.close()
  })

  it('390 px wide: composer with an attachment, the thumbnail, the viewer and search', async () => {
    const { context, page } = await signIn(suite.browser, suite.server, BEN, PHONE)
    await openRoom(page, roomId)
    await pasteImage(page, 800, 600, 0)
    const chip = page.getByTestId('attachment').first()
    await chip.waitFor()
    await page.locator('[data-testid="attachment"][data-status="done"]').waitFor()
    await shot(page, 'composer-uploaded-phone.png')
    await chip.getByTestId('attachment-remove').click()
    await expect.poll(() => page.getByTestId('attachment-tray').count()).toBe(0)

    // Search from the header's icon: a full-screen panel.
    await page.getByTestId('search-button').click()
    const input = page.getByTestId('search-panel-input')
    await input.fill('会议')
    await input.press('Enter')
    const hit = page.getByTestId('search-hit').filter({ hasText: '明天的' }).first()
    await hit.waitFor()
    await shot(page, 'search-results-phone.png')
    await hit.click()
    // Phones: the panel closes and the room shows the message.
    await expect.poll(() => page.getByTestId('search-panel').count()).toBe(0)
    await page.locator('[data-testid="message"]', { hasText: MEETING }).waitFor()
    await shot(page, 'search-jump-phone.png')

    // The image is two messages before the one found (in the window loaded around it; else scroll up to it).
    const row = message(page, imageMessage)
    await expect
      .poll(
        async () => {
          await page.getByTestId('message-list').evaluate((el) => (el.scrollTop = 0))
          return row.count()
        },
        { timeout: 20_000 },
      )
      .toBe(1)
    await row.scrollIntoViewIfNeeded()
    await imageLoaded(page, `[data-message-id="${imageMessage}"] [data-testid="message-image"]`)
    await shot(page, 'thumbnail-phone.png')
    await row.getByTestId('message-image-button').click()
    await expect.poll(() => page.getByTestId('image-viewer').getAttribute('data-state'), { timeout: 30_000 }).toBe('original')
    await shot(page, 'viewer-phone.png')
    await page.getByTestId('image-viewer-close').click()
    await expect.poll(() => page.getByTestId('image-viewer').count()).toBe(0)
    await context.close()

    for (const person of [amy, ben]) {
      expect(person.watch.dialogs).toEqual([])
      expect(person.watch.errors).toEqual([])
    }
  })
})
