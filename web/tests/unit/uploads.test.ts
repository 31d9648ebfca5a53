/** Attachments: the upload composable over a stubbed XMLHttpRequest, and files carried by the outbox. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { nextTick, ref } from 'vue'
import type { FileInfo } from '@/api/types'
import { createApiClient } from '@/api/http'
import MessageComposer from '@/components/MessageComposer.vue'
import { useFileDrop } from '@/composables/useFileDrop'
import { useRoomStream } from '@/composables/useRoomStream'
import { useUploads } from '@/composables/useUploads'
import { useMessagesStore } from '@/stores/messages'
import { useOutboxStore } from '@/stores/outbox'
import { signIn } from '@/session'
import { pastedImageName, uploadName } from '@/utils/files'
import { createOutbox, postEntry } from '@/utils/outbox'
import { flush, MockWebSocket, useComposableTestEnv } from './helpers'
import { ALICE, fakeServer, helloV2, LOBBY, room, TOKEN } from './roomsServer'

const inScope = useComposableTestEnv()

/** An XMLHttpRequest stub whose "server side" is driven by the test. */
class MockXhr {
  static instances: MockXhr[] = []
  method = ''
  url = ''
  headers: Record<string, string> = {}
  body: unknown = undefined
  status = 0
  responseText = ''
  responseHeaders: Record<string, string> = {}
  aborted = false
  upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null }
  onload: (() => void) | null = null
  onerror: (() => void) | null = null
  ontimeout: (() => void) | null = null
  onabort: (() => void) | null = null

  constructor() {
    MockXhr.instances.push(this)
  }

  open(method: string, url: string): void {
    this.method = method
    this.url = url
  }

  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value
  }

  getResponseHeader(name: string): string | null {
    return this.responseHeaders[name] ?? null
  }

  send(body: unknown): void {
    this.body = body
  }

  abort(): void {
    this.aborted = true
    this.onabort?.()
  }

  // ---- server side ----
  progress(loaded: number, total: number): void {
    this.upload.onprogress?.({ lengthComputable: true, loaded, total } as ProgressEvent)
  }

  respond(status: number, body: unknown): void {
    this.status = status
    this.responseText = typeof body === 'string' ? body : JSON.stringify(body)
    this.onload?.()
  }

  fail(): void {
    this.onerror?.()
  }

  static get last(): MockXhr {
    const x = MockXhr.instances.at(-1)
    if (!x) throw new Error('no XMLHttpRequest was created')
    return x
  }
}

const PNG: FileInfo = { id: 5, name: 'shot.png', size: 2048, mime: 'image/png', image: true, width: 1200, height: 800 }
const TXT: FileInfo = { id: 6, name: '纪要.txt', size: 12, mime: 'text/plain', image: false }

function file(name: string, size: number, type: string): File {
  return new File([new Uint8Array(size)], name, { type })
}

let urls: string[]
let revoked: string[]

beforeEach(() => {
  MockXhr.instances = []
  vi.stubGlobal('XMLHttpRequest', MockXhr)
  urls = []
  revoked = []
})

function setup(opts: { maxFileBytes?: number | null; maxFiles?: number } = {}) {
  const roomId = ref<number | null>(7)
  const notices: string[] = []
  const uploads = inScope(() =>
    useUploads({
      roomId,
      token: () => 'tok',
      maxFileBytes: opts.maxFileBytes ?? null,
      maxFiles: opts.maxFiles ?? 10,
      notify: (m) => notices.push(m),
      createObjectURL: () => {
        const url = `blob:local/${urls.length + 1}`
        urls.push(url)
        return url
      },
      revokeObjectURL: (url) => revoked.push(url),
    }),
  )
  return { uploads, roomId, notices }
}

describe('useUploads', () => {
  it('uploads at once: raw bytes, the name in the query, the token; progress moves; done gives the file', async () => {
    const { uploads } = setup()
    const picked = file('截图 1.png', 2048, 'image/png')
    expect(uploads.add([picked])).toBe(1)
    const xhr = MockXhr.last
    expect(xhr.method).toBe('POST')
    const url = new URL(xhr.url)
    expect(url.pathname).toBe('/api/rooms/7/files')
    expect(url.searchParams.get('name')).toBe('截图 1.png')
    expect(xhr.url).toContain('?name=%E6%88%AA%E5%9B%BE%201.png')
    expect(xhr.headers.Authorization).toBe('Bearer tok')
    expect(xhr.headers['Content-Type']).toBe('image/png')
    expect(xhr.body).toBe(picked)

    const [item] = uploads.items.value
    expect(item).toMatchObject({ status: 'uploading', progress: 0, name: '截图 1.png', size: 2048, preview: 'blob:local/1' })
    expect(uploads.ready.value).toBe(false)
    expect(uploads.blocker.value).toContain('上传')
    xhr.progress(512, 2048)
    expect(uploads.items.value[0]!.progress).toBe(25)
    xhr.progress(2048, 2048)
    // Not 100 until the server stored it.
    expect(uploads.items.value[0]!.progress).toBe(99)
    xhr.respond(201, { file: PNG })
    await flush()
    expect(uploads.items.value[0]).toMatchObject({ status: 'done', progress: 100, file: PNG })
    expect(uploads.files.value).toEqual([PNG])
    expect(uploads.ready.value).toBe(true)
    expect(uploads.blocker.value).toBeNull()
  })

  it('× on an upload in progress aborts the request and forgets the file (its preview revoked)', async () => {
    const { uploads } = setup()
    uploads.add([file('a.png', 10, 'image/png'), file('b.txt', 10, 'text/plain')])
    const [first, second] = MockXhr.instances
    uploads.remove(uploads.items.value[0]!.key)
    expect(first!.aborted).toBe(true)
    expect(revoked).toEqual(['blob:local/1'])
    expect(uploads.items.value.map((i) => i.name)).toEqual(['b.txt'])
    await flush()
    // The aborted request does not come back as an error.
    expect(uploads.items.value).toHaveLength(1)
    second!.respond(201, { file: TXT })
    await flush()
    expect(uploads.files.value).toEqual([TXT])
    uploads.clear()
    expect(uploads.items.value).toEqual([])
  })

  it.each([
    [413, 'file_too_large', '文件过大，不能超过 1 MB'],
    [429, 'upload_quota', '今日上传额度已用完'],
    [507, 'disk_full', '服务器存储空间已满'],
    [422, 'bad_image', '图片无法识别'],
    [404, 'not_found', '房间不存在或你无权访问'],
    [403, 'archived', '房间已归档'],
    [403, 'forbidden', '没有权限上传文件'],
  ])('a %i %s shows 「%s」, blocks sending, and can be retried or removed', async (status, code, text) => {
    const { uploads } = setup({ maxFileBytes: 1024 * 1024 })
    uploads.add([file('x.png', 100, 'image/png')])
    MockXhr.last.respond(status, { error: { code, message: 'refused' } })
    await flush()
    const item = uploads.items.value[0]!
    expect(item.status).toBe('error')
    expect(item.error).toContain(text)
    expect(uploads.ready.value).toBe(false)
    expect(uploads.blocker.value).toContain('移除')
    uploads.retry(item.key)
    expect(MockXhr.instances).toHaveLength(2)
    expect(uploads.items.value[0]!.status).toBe('uploading')
    MockXhr.last.respond(201, { file: PNG })
    await flush()
    expect(uploads.ready.value).toBe(true)
  })

  it('a network error says so; an answer that is not a file is an error too', async () => {
    const { uploads } = setup()
    uploads.add([file('a.txt', 1, 'text/plain'), file('b.txt', 1, 'text/plain')])
    MockXhr.instances[0]!.fail()
    MockXhr.instances[1]!.respond(201, '<html>proxy</html>')
    await flush()
    expect(uploads.items.value.map((i) => i.error)).toEqual(['网络错误，上传失败', '服务器返回了无法识别的结果'])
  })

  it('checks the size limit before uploading: no request, a clear reason', () => {
    const { uploads } = setup({ maxFileBytes: 1024 * 1024 })
    uploads.add([file('big.zip', 1024 * 1024 + 1, 'application/zip')])
    expect(MockXhr.instances).toHaveLength(0)
    expect(uploads.items.value[0]).toMatchObject({ status: 'error', error: '文件过大，不能超过 1 MB', retryable: false })
    uploads.retry(uploads.items.value[0]!.key)
    expect(MockXhr.instances).toHaveLength(0)
  })

  it('takes at most max_files_per_message files and says why it refused the rest', () => {
    const { uploads, notices } = setup({ maxFiles: 3 })
    expect(uploads.add([file('1', 1, ''), file('2', 1, '')])).toBe(2)
    expect(uploads.add([file('3', 1, ''), file('4', 1, '')])).toBe(1)
    expect(uploads.items.value.map((i) => i.name)).toEqual(['1', '2', '3'])
    expect(notices).toEqual(['每条消息最多附加 3 个文件'])
    expect(MockXhr.last.headers['Content-Type']).toBe('application/octet-stream')
  })

  it('keeps a tray per room', async () => {
    const { uploads, roomId } = setup()
    uploads.add([file('seven.txt', 1, 'text/plain')])
    roomId.value = 8
    await nextTick()
    expect(uploads.items.value).toEqual([])
    uploads.add([file('eight.txt', 1, 'text/plain')])
    expect(new URL(MockXhr.last.url).pathname).toBe('/api/rooms/8/files')
    roomId.value = 7
    await nextTick()
    expect(uploads.items.value.map((i) => i.name)).toEqual(['seven.txt'])
  })

  it('names a pasted screenshot 粘贴的图片-YYYYMMDD-HHmmss.png', () => {
    const at = new Date(2025, 0, 2, 15, 4, 5)
    expect(pastedImageName('image/png', at)).toBe('粘贴的图片-20250102-150405.png')
    expect(uploadName(new File([], 'image.png', { type: 'image/png' }), true, at)).toBe('粘贴的图片-20250102-150405.png')
    expect(uploadName(new File([], '', { type: 'image/jpeg' }), false, at)).toBe('粘贴的图片-20250102-150405.jpg')
    expect(uploadName(new File([], 'image.png', { type: 'image/png' }), false, at)).toBe('image.png')
    expect(uploadName(new File([], '报告.pdf', { type: 'application/pdf' }), true, at)).toBe('报告.pdf')
  })
})

describe('useFileDrop', () => {
  function drag(type: string, types: string[], files: File[] = []): Event {
    const event = new Event(type, { bubbles: true, cancelable: true })
    Object.defineProperty(event, 'dataTransfer', { value: { types, files, dropEffect: 'none' } })
    return event
  }

  it('shows the overlay while files hover (not text), and hands the dropped files on', async () => {
    const el = document.createElement('div')
    const child = document.createElement('span')
    el.appendChild(child)
    const dropped: File[][] = []
    const { dragging } = inScope(() => useFileDrop(ref(el), (f) => dropped.push(f)))
    child.dispatchEvent(drag('dragenter', ['text/plain']))
    expect(dragging.value).toBe(false)
    el.dispatchEvent(drag('dragenter', ['Files']))
    child.dispatchEvent(drag('dragenter', ['Files']))
    el.dispatchEvent(drag('dragleave', ['Files']))
    expect(dragging.value).toBe(true)
    const over = drag('dragover', ['Files'])
    child.dispatchEvent(over)
    expect(over.defaultPrevented).toBe(true)
    const picked = file('a.txt', 1, 'text/plain')
    const drop = drag('drop', ['Files'], [picked])
    child.dispatchEvent(drop)
    expect(drop.defaultPrevented).toBe(true)
    expect(dragging.value).toBe(false)
    expect(dropped).toEqual([[picked]])
  })

  it('does nothing while disabled (an archived room)', () => {
    const el = document.createElement('div')
    const dropped: File[][] = []
    const { dragging } = inScope(() => useFileDrop(ref(el), (f) => dropped.push(f), false))
    el.dispatchEvent(drag('dragenter', ['Files']))
    el.dispatchEvent(drag('drop', ['Files'], [file('a', 1, '')]))
    expect(dragging.value).toBe(false)
    expect(dropped).toEqual([])
  })
})

describe('sending files', () => {
  it('the frame carries the file ids; the text may be empty; the ack shows the files', async () => {
    signIn({ token: TOKEN, user: ALICE })
    setActivePinia(createPinia())
    fakeServer({ rooms: [room(LOBBY), room(7)] })
    const stream = inScope(() => useRoomStream(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket }))
    stream.connect()
    await flush()
    const ws = helloV2(MockWebSocket.last, 10)
    await flush()
    const clientId = useOutboxStore().send(7, '  ', true, undefined, [PNG, TXT])
    await flush()
    const frame = ws.framesOfType<{ content: string; files: number[]; room_id: number; client_id: string }>('message').at(-1)!
    expect(frame).toMatchObject({ content: '', files: [5, 6], room_id: 7, client_id: clientId })
    ws.receive({ type: 'ack', client_id: clientId, id: 11, created_at: 1_700_000_000_000, room_id: 7 })
    await flush()
    expect(useMessagesStore().find(7, 11)?.files).toEqual([PNG, TXT])
  })

  it('a queued message keeps its files across a reload and a retry; REST sends them too', async () => {
    const first = createOutbox({ key: 'box', version: 2, accept: [2] })
    const id = first.submit('', { room_id: 7, files: [PNG], connected: false })
    first.markFailed(id, 'x')
    const second = createOutbox({ key: 'box', version: 2, accept: [2] })
    expect(second.find(id)).toMatchObject({ content: '', files: [PNG], state: 'failed' })
    second.retry(id)
    const fetch = vi.fn(async () => new Response(JSON.stringify({ id: 1 }), { status: 201 }))
    vi.stubGlobal('fetch', fetch)
    await postEntry(createApiClient({ baseUrl: 'http://hearth.test/', token: () => 't' }), second.find(id)!)
    const init = fetch.mock.calls[0] as unknown as [string, RequestInit]
    expect(JSON.parse(String(init[1].body))).toMatchObject({ content: '', client_id: id, files: [5] })
    // Without files the text is still required.
    expect(() => second.submit('  ', { room_id: 7, connected: true })).toThrow('消息不能为空')
  })
})

describe('the composer with attachments', () => {
  function mountComposer(text = '') {
    setActivePinia(createPinia())
    const { uploads } = setup()
    const wrapper = mount(MessageComposer, { props: { modelValue: text, 'onUpdate:modelValue': () => {}, uploads } })
    return { wrapper, uploads }
  }

  it('a pasted screenshot is attached and uploads; Enter waits for it, then sends files without text', async () => {
    const { wrapper, uploads } = mountComposer()
    const shot = new File([new Uint8Array(64)], 'image.png', { type: 'image/png' })
    const paste = new Event('paste', { bubbles: true, cancelable: true })
    Object.defineProperty(paste, 'clipboardData', { value: { types: ['Files'], files: [shot], items: [] } })
    wrapper.get('textarea').element.dispatchEvent(paste)
    await nextTick()
    expect(paste.defaultPrevented).toBe(true)
    expect(uploads.items.value[0]!.name).toMatch(/^粘贴的图片-\d{8}-\d{6}\.png$/)
    expect(wrapper.get('[data-testid="attachment-tray"]').text()).toContain('粘贴的图片')
    expect(wrapper.find('[data-testid="upload-progress"]').exists()).toBe(true)
    MockXhr.last.progress(32, 64)
    await nextTick()
    expect(wrapper.get('[data-testid="upload-progress"]').attributes('data-progress')).toBe('50')
    await wrapper.get('textarea').trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('send')).toBeUndefined()
    expect(wrapper.get('[data-testid="send-button"]').attributes('disabled')).toBeDefined()
    MockXhr.last.respond(201, { file: PNG })
    await flush()
    expect(wrapper.find('[data-testid="upload-progress"]').exists()).toBe(false)
    await wrapper.get('textarea').trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('send')).toHaveLength(1)
  })

  it('the paperclip picks files; × cancels', async () => {
    const { wrapper, uploads } = mountComposer('看看')
    const input = wrapper.get<HTMLInputElement>('[data-testid="file-input"]')
    Object.defineProperty(input.element, 'files', { value: [file('纪要.txt', 12, 'text/plain')], configurable: true })
    await input.trigger('change')
    expect(uploads.items.value.map((i) => i.name)).toEqual(['纪要.txt'])
    await wrapper.get('[data-testid="attachment-remove"]').trigger('click')
    expect(MockXhr.last.aborted).toBe(true)
    expect(wrapper.find('[data-testid="attachment-tray"]').exists()).toBe(false)
    // The text alone can be sent again.
    await wrapper.get('textarea').trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('send')).toHaveLength(1)
  })
})

afterEach(() => {
  localStorage.clear()
})
