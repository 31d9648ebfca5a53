/** Notifications: which messages, when (hidden page, read elsewhere), clicks, the sound, the tab title and the icon badge. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { nextTick, ref } from 'vue'
import NotificationSettings from '@/components/NotificationSettings.vue'
import { badgeText, useFaviconBadge } from '@/composables/useFaviconBadge'
import { useNotifications } from '@/composables/useNotifications'
import { useRoomStream } from '@/composables/useRoomStream'
import { useTabTitle } from '@/composables/useTabTitle'
import { useRoomsStore } from '@/stores/rooms'
import { SETTINGS_KEY, useSettingsStore } from '@/stores/settings'
import { signIn } from '@/session'
import { notificationSupport, pageInBackground, shouldNotify, type PermissionState } from '@/utils/notify'
import { withView } from '@/utils/rooms'
import { flush, MockWebSocket, useComposableTestEnv } from './helpers'
import { ALICE, BOB, direct, ev, fakeServer, helloV2, LOBBY, msg, room, TOKEN } from './roomsServer'

const inScope = useComposableTestEnv()

class FakeNotification {
  static permission: NotificationPermission = 'granted'
  static requestPermission = vi.fn(async () => FakeNotification.permission)
  static shown: FakeNotification[] = []
  onclick: (() => void) | null = null
  onclose: (() => void) | null = null
  closed = false
  constructor(
    readonly title: string,
    readonly options: NotificationOptions,
  ) {
    FakeNotification.shown.push(this)
  }
  close(): void {
    this.closed = true
    this.onclose?.()
  }
}

const beeps = vi.fn()
class FakeAudioContext {
  state = 'running'
  currentTime = 0
  destination = {}
  resume = async () => {}
  createGain() {
    return { connect() {}, gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} } }
  }
  createOscillator() {
    return { type: '', connect() {}, start: beeps, stop() {}, frequency: { setValueAtTime() {} } }
  }
}

let visibility: DocumentVisibilityState = 'hidden'
let focused = false

const ROOMS = [
  room(LOBBY, { notify: 'all' }),
  room(7, { name: '设计', notify: 'mentions' }),
  room(8, { name: '闲聊', notify: 'none' }),
  direct(30, [BOB], { notify: 'mentions' }),
]

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0.5)
  FakeNotification.permission = 'granted'
  FakeNotification.shown = []
  beeps.mockClear()
  vi.stubGlobal('Notification', FakeNotification)
  vi.stubGlobal('AudioContext', FakeAudioContext)
  vi.stubGlobal('isSecureContext', true)
  visibility = 'hidden'
  focused = false
  vi.spyOn(document, 'visibilityState', 'get').mockImplementation(() => visibility)
  vi.spyOn(document, 'hasFocus').mockImplementation(() => focused)
  signIn({ token: TOKEN, user: ALICE })
  setActivePinia(createPinia())
})

afterEach(() => {
  document.head.querySelectorAll('link[rel="icon"]').forEach((l) => l.remove())
})

async function setup() {
  fakeServer({ rooms: ROOMS })
  const open = vi.fn()
  const { stream, notifications } = inScope(() => {
    const stream = useRoomStream(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket })
    const notifications = useNotifications({
      onMessage: (l) => stream.on('message', l),
      onRead: (l) => stream.on('read', l),
      open,
    })
    return { stream, notifications }
  })
  stream.connect()
  await flush()
  const ws = helloV2(MockWebSocket.last, 10)
  await flush()
  return { ws, open, notifications }
}

/** Lets the decision delay pass. */
const settle = () => vi.advanceTimersByTimeAsync(2000)

describe('shouldNotify', () => {
  const view = (r: ReturnType<typeof room>) => withView(r, undefined, true)
  it('never for my own, deleted or already read messages, or a muted room', () => {
    expect(shouldNotify(msg(5, 1, { user_id: ALICE.id }), view(room(1, { notify: 'all' })), ALICE.id)).toBe(false)
    expect(shouldNotify(msg(5, 1, { deleted: true, content: '' }), view(room(1, { notify: 'all' })), ALICE.id)).toBe(false)
    expect(shouldNotify(msg(5, 1), view(room(1, { notify: 'all', last_read_id: 5 })), ALICE.id)).toBe(false)
    expect(shouldNotify(msg(5, 1, { mentions: [ALICE.id] }), view(room(1, { notify: 'none' })), ALICE.id)).toBe(false)
    expect(shouldNotify(msg(5, 1), view(room(1, { notify: 'all' })), ALICE.id)).toBe(true)
  })

  it('mentions (the default): mentions of me, @everyone, and every message of a direct room', () => {
    const r = view(room(1, { notify: 'mentions' }))
    expect(shouldNotify(msg(5, 1), r, ALICE.id)).toBe(false)
    expect(shouldNotify(msg(5, 1, { mentions: [BOB.id] }), r, ALICE.id)).toBe(false)
    expect(shouldNotify(msg(5, 1, { mentions: [ALICE.id] }), r, ALICE.id)).toBe(true)
    expect(shouldNotify(msg(5, 1, { mention_everyone: true }), r, ALICE.id)).toBe(true)
    expect(shouldNotify(msg(5, 30), view(direct(30, [BOB], { notify: 'mentions' })), ALICE.id)).toBe(true)
  })

  it('the page is in the background when hidden or without focus', () => {
    expect(pageInBackground({ visibilityState: 'hidden', hasFocus: () => true })).toBe(true)
    expect(pageInBackground({ visibilityState: 'visible', hasFocus: () => false })).toBe(true)
    expect(pageInBackground({ visibilityState: 'visible', hasFocus: () => true })).toBe(false)
  })

  it('plain http on a LAN address cannot notify (insecure), an old browser neither', () => {
    expect(notificationSupport({ isSecureContext: false, Notification: { permission: 'default' } })).toBe('insecure')
    expect(notificationSupport({ isSecureContext: true })).toBe('unsupported')
    expect(notificationSupport({ isSecureContext: true, Notification: { permission: 'denied' } })).toBe('denied')
  })
})

describe('useNotifications', () => {
  it('notifies per level, with the room as title and `username: content` as plain text body', async () => {
    const { ws } = await setup()
    ws.receive(ev.message(msg(11, 7, { content: '普通消息' })))
    ws.receive(ev.message(msg(12, 7, { content: '@alice 看这里 <img src=x onerror=alert(1)>', mentions: [ALICE.id] })))
    ws.receive(ev.message(msg(13, 8, { content: '@alice 静音房间', mentions: [ALICE.id] })))
    ws.receive(ev.message(msg(14, 30, { content: '私信' })))
    ws.receive(ev.message(msg(15, LOBBY, { content: '大厅消息' })))
    ws.receive(ev.message(msg(16, LOBBY, { user_id: ALICE.id, username: 'alice', content: '我自己' })))
    await settle()
    expect(FakeNotification.shown.map((n) => [n.title, n.options.body])).toEqual([
      ['设计', 'bob: @alice 看这里 <img src=x onerror=alert(1)>'],
      ['bob', 'bob: 私信'],
      ['大厅', 'bob: 大厅消息'],
    ])
    expect(FakeNotification.shown.map((n) => n.options.tag)).toEqual(['hearth-room-7', 'hearth-room-30', 'hearth-room-1'])
  })

  it('nothing while the page is visible and focused; a visible page without focus counts as away', async () => {
    const { ws } = await setup()
    visibility = 'visible'
    focused = true
    ws.receive(ev.message(msg(11, LOBBY)))
    await settle()
    expect(FakeNotification.shown).toHaveLength(0)
    focused = false
    ws.receive(ev.message(msg(12, LOBBY)))
    await settle()
    expect(FakeNotification.shown).toHaveLength(1)
  })

  it('nothing for a message read in another tab meanwhile, or a replay', async () => {
    const { ws } = await setup()
    ws.receive(ev.message(msg(11, LOBBY)))
    await vi.advanceTimersByTimeAsync(500)
    ws.receive(ev.read(12, LOBBY, 11))
    await settle()
    expect(FakeNotification.shown).toHaveLength(0)
    ws.receive(ev.message(msg(11, LOBBY)))
    await settle()
    expect(FakeNotification.shown).toHaveLength(0)
  })

  it('a read event closes the room’s notification; a newer message replaces it', async () => {
    const { ws } = await setup()
    ws.receive(ev.message(msg(11, LOBBY)))
    await settle()
    ws.receive(ev.message(msg(12, LOBBY)))
    await settle()
    const [first, second] = FakeNotification.shown
    expect(first!.closed).toBe(true)
    expect(second!.closed).toBe(false)
    ws.receive(ev.read(13, LOBBY, 11))
    expect(second!.closed).toBe(false)
    ws.receive(ev.read(14, LOBBY, 12))
    expect(second!.closed).toBe(true)
  })

  it('a click focuses the tab and opens the room at the message', async () => {
    const focus = vi.spyOn(window, 'focus').mockImplementation(() => {})
    const { ws, open } = await setup()
    ws.receive(ev.message(msg(11, 30)))
    await settle()
    FakeNotification.shown[0]!.onclick!()
    expect(focus).toHaveBeenCalled()
    expect(open).toHaveBeenCalledWith(30, 11)
    expect(FakeNotification.shown[0]!.closed).toBe(true)
  })

  it('nothing without permission; asking updates the state', async () => {
    FakeNotification.permission = 'default'
    const { ws, notifications } = await setup()
    ws.receive(ev.message(msg(11, LOBBY)))
    await settle()
    expect(FakeNotification.shown).toHaveLength(0)
    expect(notifications.permission.value).toBe('default')
    FakeNotification.requestPermission.mockResolvedValueOnce('granted')
    expect(await notifications.requestPermission()).toBe('granted')
    expect(notifications.permission.value).toBe('granted')
  })

  it('beeps only when the sound is on (remembered), at most every 2 s', async () => {
    const { ws } = await setup()
    ws.receive(ev.message(msg(11, LOBBY)))
    await settle()
    expect(beeps).not.toHaveBeenCalled()
    useSettingsStore().sound = true
    await nextTick()
    expect(JSON.parse(localStorage.getItem(SETTINGS_KEY)!)).toEqual({ sound: true })
    ws.receive(ev.message(msg(12, LOBBY)))
    ws.receive(ev.message(msg(13, 30)))
    await settle()
    expect(beeps).toHaveBeenCalledTimes(1)
    ws.receive(ev.message(msg(14, 8)))
    await settle()
    expect(beeps).toHaveBeenCalledTimes(1)
  })
})

describe('tab title and icon', () => {
  it('count what notifies: all → unread, mentions → mentions and direct unread, none → 0', async () => {
    fakeServer({
      rooms: [
        room(LOBBY, { notify: 'all', unread: 4 }),
        room(7, { notify: 'mentions', unread: 9, mentions: 2 }),
        room(8, { notify: 'none', unread: 7, mentions: 3 }),
        direct(30, [BOB], { notify: 'mentions', unread: 1 }),
      ],
    })
    document.title = 'Hearth'
    const stream = inScope(() => {
      useTabTitle(() => useRoomsStore().notifiable)
      return useRoomStream(TOKEN, { WebSocket: MockWebSocket as unknown as typeof WebSocket })
    })
    stream.connect()
    await flush()
    helloV2(MockWebSocket.last, 10)
    await flush()
    expect(document.title).toBe('(7) Hearth')
    MockWebSocket.last.receive(ev.message(msg(11, 7, { mentions: [ALICE.id] })))
    MockWebSocket.last.receive(ev.message(msg(12, 7)))
    MockWebSocket.last.receive(ev.message(msg(13, 8, { mentions: [ALICE.id] })))
    await flush()
    expect(document.title).toBe('(8) Hearth')
    MockWebSocket.last.receive(ev.notify(14, 8, 'all'))
    await flush()
    expect(document.title).toBe('(16) Hearth')
  })

  it('draws a badge on the icon and puts the plain one back at 0', async () => {
    const link = document.createElement('link')
    link.rel = 'icon'
    link.setAttribute('href', './favicon.svg')
    link.setAttribute('type', 'image/svg+xml')
    document.head.appendChild(link)
    const drawn: string[] = []
    const ctx = {
      drawImage() {},
      beginPath() {},
      arc() {},
      fill() {},
      stroke() {},
      fillText: (t: string) => drawn.push(t),
    }
    vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockImplementation((() => ctx) as unknown as HTMLCanvasElement['getContext'])
    vi.spyOn(HTMLCanvasElement.prototype, 'toDataURL').mockImplementation(() => 'data:image/png;base64,BADGE')
    const n = ref(3)
    inScope(() => useFaviconBadge(n))
    expect(link.getAttribute('href')).toBe('data:image/png;base64,BADGE')
    expect(link.getAttribute('type')).toBe('image/png')
    expect(drawn).toEqual(['3'])
    n.value = 0
    await nextTick()
    expect(link.getAttribute('href')).toBe('./favicon.svg')
    expect(link.getAttribute('type')).toBe('image/svg+xml')
    expect(badgeText(3)).toBe('3')
    expect(badgeText(12)).toBe('9+')
  })
})

describe('the settings panel', () => {
  function open(permission: PermissionState) {
    const requestPermission = vi.fn(async (): Promise<PermissionState> => 'granted')
    const wrapper = mount(NotificationSettings, {
      props: { modelValue: true, permission, requestPermission },
      attachTo: document.body,
    })
    return { wrapper, requestPermission }
  }

  it('asks for permission from a button and says the state', async () => {
    const { wrapper, requestPermission } = open('default')
    await flush()
    const panel = document.querySelector('[data-testid="settings-panel"]')!
    expect(panel.querySelector('[data-testid="notification-status"]')!.textContent).toContain('尚未开启')
    ;(panel.querySelector('[data-testid="notification-permission"]') as HTMLElement).click()
    expect(requestPermission).toHaveBeenCalled()
    wrapper.unmount()
  })

  it('says desktop notifications need HTTPS (or localhost) on plain http', async () => {
    const { wrapper } = open('insecure')
    await flush()
    const panel = document.querySelector('[data-testid="settings-panel"]')!
    expect(panel.textContent).toContain('HTTPS（或 localhost）')
    expect((panel.querySelector('[data-testid="notification-permission"]') as HTMLButtonElement).disabled).toBe(true)
    wrapper.unmount()
  })

  it('turns the sound on (a test beep) and remembers it', async () => {
    const { wrapper } = open('granted')
    await flush()
    ;(document.querySelector('[data-testid="notification-sound"]') as HTMLElement).click()
    await flush()
    expect(useSettingsStore().sound).toBe(true)
    expect(beeps).toHaveBeenCalledTimes(1)
    expect(JSON.parse(localStorage.getItem(SETTINGS_KEY)!)).toEqual({ sound: true })
    wrapper.unmount()
  })
})
