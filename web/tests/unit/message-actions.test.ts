/** The room view's conversation features: actions on messages, reactions, replies, levels, mention badges, typing, settings. */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, type VueWrapper } from '@vue/test-utils'
import type { Room } from '@/api/rooms'
import type { ChatMessage } from '@/api/types'
import { signIn, signOut } from '@/session'
import { flush, json, MockWebSocket, useComposableTestEnv } from './helpers'
import { ALICE, BOB, ev, fakeServer, helloV2, LOBBY, mountApp, msg, room, TOKEN, unmountAfterEach, type FakeServerOptions } from './roomsServer'

useComposableTestEnv()

const MINE = msg(8, 7, { user_id: ALICE.id, username: 'alice', content: '我的消息' })
const THEIRS = msg(9, 7, { content: 'bob 的消息' })
const ROOMS: Room[] = [room(LOBBY), room(7, { name: '设计', last_message_id: 9, last_read_id: 9, notify: 'mentions' })]

const keepMounted = unmountAfterEach()

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0.5)
})


async function open(options: { rooms?: Room[]; history?: ChatMessage[]; extra?: FakeServerOptions['extra']; admin?: boolean; path?: string } = {}) {
  const server = fakeServer({ rooms: options.rooms ?? ROOMS, history: { 7: options.history ?? [MINE, THEIRS] }, extra: options.extra })
  if (options.admin) signIn({ token: TOKEN, user: { ...ALICE, is_admin: true } })
  const { wrapper } = await mountApp(options.path ?? '/rooms/7', { signedIn: !options.admin })
  keepMounted(wrapper)
  helloV2(MockWebSocket.last, 9)
  await settle()
  return { server, wrapper }
}

async function settle() {
  await flush()
  await flushPromises()
}

function row(wrapper: VueWrapper, id: number) {
  return wrapper.get(`[data-testid="message"][data-message-id="${id}"]`)
}

function el<T extends HTMLElement = HTMLElement>(selector: string): T {
  const found = document.body.querySelector<T>(selector)
  if (!found) throw new Error(`no ${selector}`)
  return found
}

describe('actions on a message', () => {
  it('offers edit and delete on my own messages, reply and reactions on all; admins may delete anyone’s', async () => {
    const { wrapper } = await open()
    const testIds = (id: number) => row(wrapper, id).findAll('[data-testid="message-actions"] button').map((b) => b.attributes('data-testid'))
    expect(testIds(8)).toEqual(['message-react', 'message-reply', 'message-edit', 'message-delete'])
    expect(testIds(9)).toEqual(['message-react', 'message-reply'])
    wrapper.unmount()
    signOut()
    document.body.innerHTML = ''
    const admin = await open({ admin: true })
    expect(row(admin.wrapper, 9).findAll('[data-testid="message-actions"] button').map((b) => b.attributes('data-testid'))).toEqual([
      'message-react',
      'message-reply',
      'message-delete',
    ])
  })

  it('edits inline: Enter saves (PATCH), the mark shows; Esc cancels', async () => {
    const { server, wrapper } = await open()
    await row(wrapper, 8).get('[data-testid="message-edit"]').trigger('click')
    const input = row(wrapper, 8).get('[data-testid="edit-input"]')
    expect((input.element as HTMLTextAreaElement).value).toBe('我的消息')
    await input.setValue('改过的消息')
    await input.trigger('keydown', { key: 'Enter' })
    await settle()
    const patch = server.routes.calls.find((c) => c.method === 'PATCH')!
    expect(patch.url.pathname).toBe('/api/messages/8')
    expect(patch.body).toEqual({ content: '改过的消息' })
    expect(row(wrapper, 8).find('[data-testid="edit-input"]').exists()).toBe(false)
    expect(row(wrapper, 8).get('[data-testid="message-content"]').text()).toBe('改过的消息')
    expect(row(wrapper, 8).get('[data-testid="edited-mark"]').text()).toBe('（已编辑）')

    await row(wrapper, 8).get('[data-testid="message-edit"]').trigger('click')
    await row(wrapper, 8).get('[data-testid="edit-input"]').setValue('不保存')
    await row(wrapper, 8).get('[data-testid="edit-input"]').trigger('keydown', { key: 'Escape' })
    expect(row(wrapper, 8).find('[data-testid="edit-input"]').exists()).toBe(false)
    expect(server.routes.calls.filter((c) => c.method === 'PATCH')).toHaveLength(1)
  })

  it('shows the server’s refusal in Chinese and keeps the editor open', async () => {
    const { wrapper } = await open({
      extra: { 'PATCH /api/messages/8': () => json({ error: { code: 'edit_window_closed', message: 'too late' } }, 403) },
    })
    await row(wrapper, 8).get('[data-testid="message-edit"]').trigger('click')
    await row(wrapper, 8).get('[data-testid="edit-input"]').setValue('晚了')
    await row(wrapper, 8).get('[data-testid="edit-save"]').trigger('click')
    await settle()
    expect(document.body.textContent).toContain('已超过可编辑的时间')
    expect(row(wrapper, 8).find('[data-testid="edit-input"]').exists()).toBe(true)
  })

  it('deletes after a confirmation: 消息已删除 without content; live deletions too', async () => {
    const { server, wrapper } = await open()
    await row(wrapper, 8).get('[data-testid="message-delete"]').trigger('click')
    await settle()
    expect(document.body.textContent).toContain('确定删除吗')
    el('.el-message-box__btns .el-button--primary').click()
    await settle()
    expect(server.routes.calls.find((c) => c.method === 'DELETE')!.url.pathname).toBe('/api/messages/8')
    expect(row(wrapper, 8).get('[data-testid="deleted-placeholder"]').text()).toBe('消息已删除')
    expect(row(wrapper, 8).find('[data-testid="message-content"]').exists()).toBe(false)
    expect(row(wrapper, 8).find('[data-testid="message-actions"]').exists()).toBe(false)

    MockWebSocket.last.receive(ev.deleted(12, 7, 9))
    await settle()
    expect(row(wrapper, 9).find('[data-testid="deleted-placeholder"]').exists()).toBe(true)
  })

  it('a cancelled confirmation deletes nothing', async () => {
    const { server, wrapper } = await open()
    await row(wrapper, 8).get('[data-testid="message-delete"]').trigger('click')
    await settle()
    el('.el-message-box__btns .el-button:not(.el-button--primary)').click()
    await settle()
    expect(server.routes.calls.some((c) => c.method === 'DELETE')).toBe(false)
  })
})

describe('reactions', () => {
  it('picks from the picker (PUT, encoded), marks mine with the count, shows who; one click removes it (DELETE)', async () => {
    const { server, wrapper } = await open()
    await row(wrapper, 9).get('[data-testid="message-react"]').trigger('click')
    expect(el('[data-testid="emoji-picker"]').textContent).toContain('👍')
    el('[data-testid="emoji-picker"] [data-testid="emoji-👍"]').click()
    await settle()
    const put = server.routes.calls.find((c) => c.method === 'PUT')!
    expect(put.url.pathname).toBe(`/api/messages/9/reactions/${encodeURIComponent('👍')}`)
    expect(document.body.querySelector('[data-testid="emoji-picker"]')).toBeNull()
    const chip = row(wrapper, 9).get('[data-testid="reaction"][data-emoji="👍"]')
    expect(chip.get('[data-testid="reaction-count"]').text()).toBe('1')
    expect(chip.attributes('data-mine')).toBe('true')
    expect(chip.attributes('title')).toContain('我')

    // Someone else adds theirs (the event carries the whole list).
    MockWebSocket.last.receive(ev.reaction(12, 7, 9, [{ emoji: '👍', count: 2, users: [ALICE, BOB] }]))
    await settle()
    expect(row(wrapper, 9).get('[data-emoji="👍"] [data-testid="reaction-count"]').text()).toBe('2')
    expect(row(wrapper, 9).get('[data-emoji="👍"]').attributes('title')).toContain('bob')

    await row(wrapper, 9).get('[data-emoji="👍"]').trigger('click')
    await settle()
    expect(server.routes.calls.filter((c) => c.method === 'DELETE').map((c) => c.url.pathname)).toEqual([
      `/api/messages/9/reactions/${encodeURIComponent('👍')}`,
    ])
    expect(row(wrapper, 9).find('[data-emoji="👍"]').exists()).toBe(false)
  })

  it('says when a message has too many kinds of reactions', async () => {
    const { wrapper } = await open({
      history: [MINE, { ...THEIRS, reactions: [{ emoji: '🎉', count: 1, users: [BOB] }] }],
      extra: { [`PUT /api/messages/9/reactions/${encodeURIComponent('😂')}`]: () => json({ error: { code: 'too_many_reactions', message: 'max' } }, 403) },
    })
    await row(wrapper, 9).get('[data-testid="reaction-add"]').trigger('click')
    el('[data-testid="emoji-😂"]').click()
    await settle()
    expect(document.body.textContent).toMatch(/最多 \d+ 种表情/)
  })
})

describe('replies', () => {
  it('quotes the message above the composer and sends reply_to with the message', async () => {
    const { wrapper } = await open()
    await row(wrapper, 9).get('[data-testid="message-reply"]').trigger('click')
    await settle()
    expect(wrapper.get('[data-testid="reply-preview"]').text()).toContain('bob 的消息')
    await wrapper.get('textarea[data-testid="composer"]').setValue('收到')
    await wrapper.get('textarea[data-testid="composer"]').trigger('keydown', { key: 'Enter' })
    await settle()
    const frame = MockWebSocket.last.framesOfType<{ content: string; reply_to?: number }>('message').at(-1)!
    expect(frame).toMatchObject({ content: '收到', room_id: 7, reply_to: 9 })
    expect(wrapper.find('[data-testid="reply-preview"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="pending-quote"]').text()).toContain('bob')
  })

  it('can be cancelled (then the message is no reply)', async () => {
    const { wrapper } = await open()
    await row(wrapper, 9).get('[data-testid="message-reply"]').trigger('click')
    await settle()
    await wrapper.get('[data-testid="reply-cancel"]').trigger('click')
    await wrapper.get('textarea[data-testid="composer"]').setValue('普通消息')
    await wrapper.get('textarea[data-testid="composer"]').trigger('keydown', { key: 'Enter' })
    await settle()
    expect(MockWebSocket.last.framesOfType('message').at(-1)).not.toHaveProperty('reply_to')
  })
})

describe('levels, badges, typing, completion, settings', () => {
  it('the header’s level control stores the level (PUT) and follows other tabs (notify events)', async () => {
    const { server, wrapper } = await open()
    const select = wrapper.get('[data-testid="notify-level"]')
    expect((select.element as HTMLSelectElement).value).toBe('mentions')
    expect(select.findAll('option').map((o) => o.attributes('data-testid'))).toEqual(['notify-level-all', 'notify-level-mentions', 'notify-level-none'])
    await select.setValue('none')
    await settle()
    const put = server.routes.calls.find((c) => c.method === 'PUT')!
    expect(put.url.pathname).toBe('/api/rooms/7/notify')
    expect(put.body).toEqual({ level: 'none' })
    MockWebSocket.last.receive(ev.notify(12, 7, 'all'))
    await settle()
    expect((select.element as HTMLSelectElement).value).toBe('all')
  })

  it('the sidebar shows a mention badge per room, kept live, cleared when read', async () => {
    const rooms = [room(LOBBY), room(7, { name: '设计', last_message_id: 9, last_read_id: 9 }), room(5, { name: '闲聊', unread: 3, mentions: 2, last_message_id: 20, last_read_id: 17 })]
    const { wrapper } = await open({ rooms, path: '/rooms/7' })
    expect(wrapper.get('[data-testid="mention-badge-5"]').text()).toBe('@2')
    expect(wrapper.find('[data-testid="mention-badge-7"]').exists()).toBe(false)
    MockWebSocket.last.receive(ev.message(msg(21, 5, { content: '@alice 在吗', mentions: [ALICE.id] })))
    await settle()
    expect(wrapper.get('[data-testid="mention-badge-5"]').text()).toBe('@3')
    MockWebSocket.last.receive(ev.read(22, 5, 21))
    await settle()
    expect(wrapper.find('[data-testid="mention-badge-5"]').exists()).toBe(false)
  })

  it('highlights messages that mention me and shows who is typing', async () => {
    const { wrapper } = await open()
    MockWebSocket.last.receive(ev.message(msg(12, 7, { content: '@alice 看看', mentions: [ALICE.id] })))
    MockWebSocket.last.receive({ type: 'typing', room_id: 7, user: BOB })
    await settle()
    expect(row(wrapper, 12).attributes('data-mentioned')).toBe('true')
    expect(row(wrapper, 12).get('[data-testid="mention"]').classes()).toContain('me')
    expect(wrapper.get('[data-testid="typing-indicator"]').text()).toBe('bob 正在输入…')
    await vi.advanceTimersByTimeAsync(6500)
    expect(wrapper.get('[data-testid="typing-indicator"]').text()).toBe('')
  })

  it('completes @names from the room’s members and sends typing while typing', async () => {
    const { wrapper } = await open()
    const textarea = wrapper.get('textarea[data-testid="composer"]')
    await textarea.setValue('@b')
    ;(textarea.element as HTMLTextAreaElement).setSelectionRange(2, 2)
    await textarea.trigger('input')
    await settle()
    expect(wrapper.find('[data-testid="mention-option-2"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="mention-option-1"]').exists()).toBe(false)
    // Room of 3 members (≤ 50): @everyone is offered.
    await textarea.setValue('@')
    ;(textarea.element as HTMLTextAreaElement).setSelectionRange(1, 1)
    await textarea.trigger('input')
    expect(wrapper.find('[data-testid="mention-option-everyone"]').exists()).toBe(true)
    expect(MockWebSocket.last.framesOfType('typing')).toEqual([{ type: 'typing', room_id: 7 }])
  })

  it('the user menu opens the settings panel', async () => {
    const { wrapper } = await open()
    await wrapper.get('[data-testid="user-menu"]').trigger('click')
    await settle()
    el('[data-testid="open-settings"]').click()
    await settle()
    expect(el('[data-testid="settings-panel"]').textContent).toContain('桌面通知')
    expect(document.body.querySelector('[data-testid="notification-sound"]')).not.toBeNull()
    expect(document.body.querySelector('[data-testid="notification-permission"]')).not.toBeNull()
  })
})
