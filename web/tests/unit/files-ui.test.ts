/** Files in messages: sizes, cards, thumbnails from blobs, the viewer, summaries, the blob cache, the schema. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import type { FileInfo } from '@/api/types'
import FileCard from '@/components/FileCard.vue'
import MessageList from '@/components/MessageList.vue'
import PendingMessage from '@/components/PendingMessage.vue'
import ReplyQuote from '@/components/ReplyQuote.vue'
import { signIn, signOut } from '@/session'
import { createBlobCache } from '@/utils/blobCache'
import { clipboardFiles, fileKind, filesSummary } from '@/utils/files'
import { formatBytes } from '@/utils/format'
import { notificationBody } from '@/utils/notify'
import { parseMessage } from '@/utils/schemas'
import { fakeToken, message, mockFetch } from './helpers'

const PNG: FileInfo = { id: 5, name: 'shot.png', size: 2048, mime: 'image/png', image: true, width: 1200, height: 800 }
const GIF: FileInfo = { id: 7, name: 'cat.gif', size: 900, mime: 'image/gif', image: true, width: 100, height: 100 }
const PDF: FileInfo = { id: 6, name: '报告.pdf', size: 1_572_864, mime: 'application/pdf', image: false }
const HTML: FileInfo = { id: 8, name: 'page.html', size: 300, mime: 'text/html', image: false }

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1 KB'],
    [1536, '1.5 KB'],
    [12 * 1024 + 300, '12 KB'],
    [1_572_864, '1.5 MB'],
    [10 * 1024 * 1024 - 1, '10 MB'],
    [3 * 1024 ** 3, '3 GB'],
    [-1, '—'],
    [Number.NaN, '—'],
  ])('%d → %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text)
  })
})

describe('file kinds and summaries', () => {
  it('picks the icon by type and shows one line for files alone', () => {
    expect(fileKind(PDF)).toBe('pdf')
    expect(fileKind({ name: 'a.zip', mime: 'application/zip', image: false })).toBe('archive')
    expect(fileKind({ name: 'a.docx', mime: 'application/octet-stream', image: false })).toBe('document')
    expect(fileKind({ name: 'a.bin', mime: 'application/octet-stream', image: false })).toBe('generic')
    // An SVG is never an inline image (it is a document that can run script).
    expect(fileKind({ name: 'a.svg', mime: 'image/svg+xml', image: true })).toBe('generic')
    expect(filesSummary([PNG])).toBe('[图片]')
    expect(filesSummary([PNG, GIF])).toBe('[图片 ×2]')
    expect(filesSummary([PNG, PDF])).toBe('[文件] 报告.pdf 等 2 个附件')
    expect(notificationBody({ username: 'amy', content: '', files: [PDF] })).toBe('amy: [文件] 报告.pdf')
  })

  it('a paste from an office app is text; a screenshot is a file', () => {
    const shot = new File(['x'], 'image.png', { type: 'image/png' })
    const dt = (types: string[], files: File[]) => ({ types, files, items: [] }) as unknown as DataTransfer
    expect(clipboardFiles(dt(['Files'], [shot]))).toEqual([shot])
    expect(clipboardFiles(dt(['text/plain', 'text/rtf', 'Files'], [shot]))).toEqual([])
    expect(clipboardFiles(dt(['text/plain'], []))).toEqual([])
    const viaItems = { types: ['Files'], files: [], items: [{ kind: 'file', getAsFile: () => shot }] } as unknown as DataTransfer
    expect(clipboardFiles(viaItems)).toEqual([shot])
  })

  it('the message schema keeps valid files and drops a malformed list (the message stays)', () => {
    expect(parseMessage(message(1, { content: '', files: [PNG] }))?.files).toEqual([PNG])
    const bad = parseMessage({ ...message(2), files: [{ id: 'x' }] })
    expect(bad).not.toBeNull()
    expect(bad && 'files' in bad).toBe(false)
    expect(parseMessage(message(3, { deleted: true, content: '', files: [PNG] }))?.files).toBeUndefined()
  })
})

describe('createBlobCache', () => {
  it('evicts the least recently used URL and revokes it; shares a fetch; does not cache failures', async () => {
    let n = 0
    const revoked: string[] = []
    const cache = createBlobCache({ max: 2, createObjectURL: () => `blob:${++n}`, revokeObjectURL: (u) => revoked.push(u) })
    const load = vi.fn(async () => new Blob(['x']))
    const [a, a2] = await Promise.all([cache.get('a', load), cache.get('a', load)])
    expect(a).toBe(a2)
    expect(load).toHaveBeenCalledTimes(1)
    await cache.get('b', load)
    cache.peek('a')
    await cache.get('c', load)
    expect(revoked).toEqual(['blob:2'])
    expect(cache.has('a')).toBe(true)
    expect(cache.has('b')).toBe(false)
    await expect(cache.get('d', () => Promise.reject(new Error('404')))).rejects.toThrow('404')
    expect(cache.has('d')).toBe(false)
    cache.clear()
    expect(revoked).toEqual(['blob:2', 'blob:1', 'blob:3'])
  })
})

describe('files in messages', () => {
  let blobs: Blob[]

  beforeEach(() => {
    setActivePinia(createPinia())
    signIn({ token: fakeToken(1), user: { id: 1, username: 'alice' } })
    blobs = []
    vi.spyOn(URL, 'createObjectURL').mockImplementation((blob: Blob | MediaSource) => {
      blobs.push(blob as Blob)
      return `blob:http://hearth.test/${blobs.length}`
    })
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => {})
  })

  afterEach(() => {
    signOut()
    document.body.innerHTML = ''
  })

  function files(calls: { url: URL; headers: Record<string, string> }[]) {
    return calls.filter((c) => c.url.pathname.startsWith('/api/files/')).map((c) => [c.url.pathname, c.headers.Authorization])
  }

  function list(messages: ReturnType<typeof message>[]) {
    return mount(MessageList, {
      attachTo: document.body,
      props: { messages, pending: [], currentUserId: 1, hasMore: false, loading: false, online: true, loadOlder: async () => 0 },
    })
  }

  it('a message of files alone: thumbnails fetched with the token and shown from blobs, cards for the rest, no text bubble', async () => {
    const routes = mockFetch({}, (method, url) => {
      if (method === 'GET' && url.pathname === '/api/files/5/thumb') return new Response(new Uint8Array([1]), { headers: { 'Content-Type': 'text/html' } })
      return undefined
    })
    const wrapper = list([message(1, { content: '', files: [PNG, HTML] })])
    await flushPromises()
    expect(files(routes.calls)).toEqual([['/api/files/5/thumb', `Bearer ${fakeToken(1)}`]])
    const img = wrapper.get('[data-testid="message-image"]')
    expect(img.attributes('src')).toBe('blob:http://hearth.test/1')
    // The server's type is not trusted: the blob is typed from the allowed image types only.
    expect(blobs[0]!.type).toBe('image/png')
    // Sized before it loads (1200×800 fits 320 px wide).
    const button = wrapper.get('[data-testid="message-image-button"]')
    expect(button.attributes('style')).toContain('aspect-ratio: 1200 / 800')
    expect(button.attributes('style')).toContain('--w: 320px')
    expect(wrapper.find('[data-testid="message-content"]').exists()).toBe(false)
    const card = wrapper.get('[data-testid="file-card"]')
    expect(card.attributes('data-kind')).toBe('document')
    expect(card.get('[data-testid="file-name"]').text()).toBe('page.html')
    expect(card.get('[data-testid="file-size"]').text()).toBe('300 B')
  })

  it('the viewer shows the original (typed as its image type), closes on Esc and on a click beside it', async () => {
    mockFetch({}, (_method, url) => {
      if (url.pathname === '/api/files/5/thumb') return new Response(new Uint8Array([1]), { headers: { 'Content-Type': 'image/jpeg' } })
      if (url.pathname === '/api/files/5') return new Response(new Uint8Array([1, 2]), { headers: { 'Content-Type': 'application/octet-stream' } })
      return undefined
    })
    const wrapper = list([message(1, { content: '看图', files: [PNG] })])
    await flushPromises()
    await wrapper.get('[data-testid="message-image-button"]').trigger('click')
    await flushPromises()
    const viewer = document.querySelector<HTMLElement>('[data-testid="image-viewer"]')!
    expect(viewer).not.toBeNull()
    expect(viewer.dataset.state).toBe('original')
    expect(blobs.at(-1)!.type).toBe('image/png')
    expect(viewer.querySelector('img')!.getAttribute('src')).toBe(`blob:http://hearth.test/${blobs.length}`)
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }))
    await flushPromises()
    expect(document.querySelector('[data-testid="image-viewer"]')).toBeNull()
    await wrapper.get('[data-testid="message-image-button"]').trigger('click')
    await flushPromises()
    document.querySelector<HTMLElement>('[data-testid="image-viewer"]')!.click()
    await flushPromises()
    expect(document.querySelector('[data-testid="image-viewer"]')).toBeNull()
  })

  it('a file card downloads as application/octet-stream through <a download>, never opened', async () => {
    mockFetch({}, (_m, url) => (url.pathname === '/api/files/6' ? new Response('%PDF', { headers: { 'Content-Type': 'application/pdf' } }) : undefined))
    const clicked: { href: string; download: string }[] = []
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push({ href: this.href, download: this.download })
    })
    const open = vi.spyOn(window, 'open')
    const wrapper = mount(FileCard, { props: { file: PDF } })
    expect(wrapper.text()).toContain('报告.pdf')
    expect(wrapper.text()).toContain('1.5 MB')
    expect(wrapper.attributes('data-kind')).toBe('pdf')
    await wrapper.trigger('click')
    await flushPromises()
    expect(clicked).toEqual([{ href: 'blob:http://hearth.test/1', download: '报告.pdf' }])
    expect(blobs[0]!.type).toBe('application/octet-stream')
    expect(open).not.toHaveBeenCalled()
  })

  it('a pending message shows its files; a quote of files alone says what they are', () => {
    mockFetch({}, () => new Response(new Uint8Array([1]), { headers: { 'Content-Type': 'image/png' } }))
    const pending = mount(PendingMessage, {
      props: { entry: { client_id: 'c', content: '', files: [PNG, PDF], queued_at: 1, state: 'pending', attempts: 0 }, online: true, quote: '' },
    })
    expect(pending.find('[data-testid="message-image-button"]').exists()).toBe(true)
    expect(pending.find('[data-testid="file-card"]').exists()).toBe(true)
    expect(pending.find('[data-testid="pending-content"]').exists()).toBe(false)
    const quote = mount(ReplyQuote, { props: { quote: { id: 1, user_id: 2, username: 'bob', content: '', files: [PNG] } } })
    expect(quote.text()).toContain('[图片]')
    const bare = mount(ReplyQuote, { props: { quote: { id: 1, user_id: 2, username: 'bob', content: '' } } })
    expect(bare.text()).toContain('[附件]')
  })
})
