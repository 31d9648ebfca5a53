import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import MessageComposer from '@/components/MessageComposer.vue'
import MessageList from '@/components/MessageList.vue'
import { message } from './helpers'

describe('MessageList', () => {
  it('renders message content as literal text (never as HTML)', () => {
    const payload = '<img src=x onerror=alert(1)><script>alert(2)</script>'
    const wrapper = mount(MessageList, {
      props: {
        messages: [message(1, { content: payload, username: '<b>bob</b>' })],
        pending: [],
        currentUserId: 1,
        hasMore: false,
        loading: false,
        online: true,
        loadOlder: async () => 0,
      },
    })
    const content = wrapper.get('[data-testid="message-content"]')
    expect(content.text()).toBe(payload)
    expect(wrapper.find('img').exists()).toBe(false)
    expect(wrapper.find('script').exists()).toBe(false)
    expect(wrapper.get('[data-testid="message-author"]').text()).toBe('<b>bob</b>')
    expect(wrapper.find('b').exists()).toBe(false)
  })

  it('shows pending and failed messages with a retry action', async () => {
    const wrapper = mount(MessageList, {
      props: {
        messages: [],
        pending: [
          { client_id: 'a', content: 'waiting', queued_at: 1, state: 'pending', attempts: 0 },
          { client_id: 'b', content: 'broken', queued_at: 2, state: 'failed', attempts: 1, error: '消息内容无效' },
        ],
        currentUserId: 1,
        hasMore: false,
        loading: false,
        online: false,
        loadOlder: async () => 0,
      },
    })
    const items = wrapper.findAll('[data-testid="pending-message"]')
    expect(items.map((i) => i.attributes('data-state'))).toEqual(['pending', 'failed'])
    expect(items[0]!.text()).toContain('等待连接后发送')
    expect(items[1]!.text()).toContain('发送失败')
    await items[1]!.get('[data-testid="retry"]').trigger('click')
    expect(wrapper.emitted('retry')).toEqual([['b']])
  })

  it('groups consecutive messages of one author and marks own messages', () => {
    const wrapper = mount(MessageList, {
      props: {
        messages: [
          message(1, { user_id: 2, username: 'bob' }),
          message(2, { user_id: 2, username: 'bob' }),
          message(3, { user_id: 1, username: 'alice' }),
        ],
        pending: [],
        currentUserId: 1,
        hasMore: false,
        loading: false,
        online: true,
        loadOlder: async () => 0,
      },
    })
    const rows = wrapper.findAll('[data-testid="message"]')
    expect(rows.map((r) => r.attributes('data-own'))).toEqual(['false', 'false', 'true'])
    expect(rows.map((r) => r.classes('grouped'))).toEqual([false, true, false])
  })
})

describe('MessageComposer', () => {
  function setup(text = 'hello') {
    return mount(MessageComposer, { props: { modelValue: text, 'onUpdate:modelValue': () => {} } })
  }

  it('sends on Enter', async () => {
    const wrapper = setup()
    await wrapper.get('textarea').trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('send')).toHaveLength(1)
  })

  it('does not send on Shift+Enter (newline) or while an IME is composing', async () => {
    const wrapper = setup()
    await wrapper.get('textarea').trigger('keydown', { key: 'Enter', shiftKey: true })
    await wrapper.get('textarea').trigger('keydown', { key: 'Enter', isComposing: true })
    await wrapper.get('textarea').trigger('keydown', { key: 'Enter', keyCode: 229 })
    expect(wrapper.emitted('send')).toBeUndefined()
  })

  it('does not send blank or over-long text', async () => {
    const blank = setup('   \n ')
    await blank.get('textarea').trigger('keydown', { key: 'Enter' })
    expect(blank.emitted('send')).toBeUndefined()
    const long = setup('x'.repeat(2001))
    await long.get('textarea').trigger('keydown', { key: 'Enter' })
    expect(long.emitted('send')).toBeUndefined()
    expect(long.text()).toContain('2001/2000')
  })
})
