/** @mention completion: when it opens, filtering (CJK too), the keyboard, what is inserted, @everyone rules. */
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import { effectScope, nextTick, ref } from 'vue'
import MessageComposer from '@/components/MessageComposer.vue'
import { filterMentions, mentionQuery, useMentions } from '@/composables/useMentions'

const MEMBERS = [
  { id: 1, username: 'alice' },
  { id: 2, username: 'bob' },
  { id: 3, username: '张三' },
  { id: 4, username: '张三丰' },
  { id: 5, username: 'Bobby' },
  { id: 6, username: '李四' },
]

function key(k: string, extra: Partial<KeyboardEventInit> = {}): KeyboardEvent {
  return new KeyboardEvent('keydown', { key: k, ...extra })
}

describe('mentionQuery', () => {
  it('finds the @query before the caret', () => {
    expect(mentionQuery('hi @bo', 6)).toEqual({ start: 3, query: 'bo' })
    expect(mentionQuery('@', 1)).toEqual({ start: 0, query: '' })
    expect(mentionQuery('请@张', 3)).toEqual({ start: 1, query: '张' })
    expect(mentionQuery('hi @bob there', 7)).toEqual({ start: 3, query: 'bob' })
  })

  it('is not one after a space, in an e-mail address, or past the caret', () => {
    expect(mentionQuery('hi @bob there', 13)).toBeNull()
    expect(mentionQuery('mail bob@example', 16)).toBeNull()
    expect(mentionQuery('no at here', 10)).toBeNull()
    expect(mentionQuery('@bob', 0)).toBeNull()
  })
})

describe('filterMentions', () => {
  const options = MEMBERS.map((u) => ({ key: String(u.id), name: u.username, hint: '', userId: u.id }))
  it('matches any letter case, names that start with the query first', () => {
    expect(filterMentions(options, 'BO').map((o) => o.name)).toEqual(['bob', 'Bobby'])
    expect(filterMentions(options, 'b').map((o) => o.name)).toEqual(['bob', 'Bobby'])
    expect(filterMentions(options, 'ob').map((o) => o.name)).toEqual(['bob', 'Bobby'])
  })

  it('matches CJK names by any part', () => {
    expect(filterMentions(options, '张').map((o) => o.name)).toEqual(['张三', '张三丰'])
    expect(filterMentions(options, '三丰').map((o) => o.name)).toEqual(['张三丰'])
    expect(filterMentions(options, '四').map((o) => o.name)).toEqual(['李四'])
  })

  it('lists everyone (up to 8) for an empty query', () => {
    expect(filterMentions(options, '')).toHaveLength(6)
  })
})

describe('useMentions', () => {
  function setup(allowEveryone = false) {
    const scope = effectScope()
    const m = scope.run(() => useMentions(MEMBERS, 1, allowEveryone))!
    return m
  }

  it('opens on @, leaves the user out, follows the query and closes without matches', () => {
    const m = setup()
    m.update('@', 1)
    expect(m.open.value).toBe(true)
    expect(m.items.value.map((o) => o.name)).not.toContain('alice')
    m.update('@zz', 3)
    expect(m.open.value).toBe(false)
  })

  it('↓/↑ move (wrapping), Enter picks and inserts `@name ` with the caret after it', () => {
    const m = setup()
    const text = '你好 @b'
    m.update(text, text.length)
    expect(m.items.value.map((o) => o.name)).toEqual(['bob', 'Bobby'])
    expect(m.onKey(key('ArrowDown'))).toBe('handled')
    expect(m.active.value).toBe(1)
    m.onKey(key('ArrowDown'))
    expect(m.active.value).toBe(0)
    m.onKey(key('ArrowUp'))
    expect(m.active.value).toBe(1)
    expect(m.onKey(key('Enter'))).toBe('pick')
    expect(m.pick(text)).toEqual({ text: '你好 @Bobby ', caret: '你好 @Bobby '.length })
    expect(m.open.value).toBe(false)
  })

  it('Tab picks, Esc closes, and a composing IME keeps its keys', () => {
    const m = setup()
    m.update('@张', 2)
    expect(m.onKey(key('Enter', { isComposing: true }))).toBeNull()
    expect(m.onKey(key('Tab'))).toBe('pick')
    expect(m.pick('@张 后面')).toEqual({ text: '@张三 后面', caret: 4 })
    m.update('@张', 2)
    expect(m.onKey(key('Escape'))).toBe('handled')
    expect(m.open.value).toBe(false)
    expect(m.onKey(key('Enter'))).toBeNull()
  })

  it('offers @everyone / @所有人 only when allowed', () => {
    const closed = setup(false)
    closed.update('@', 1)
    expect(closed.items.value.map((o) => o.key)).not.toContain('everyone')
    closed.update('@所', 2)
    expect(closed.open.value).toBe(false)
    const open = setup(true)
    open.update('@', 1)
    expect(open.items.value.map((o) => o.key)).toEqual(expect.arrayContaining(['everyone', 'everyone-zh']))
    open.update('@所', 2)
    expect(open.items.value.map((o) => o.name)).toEqual(['所有人'])
    open.update('@ev', 3)
    expect(open.items.value.map((o) => o.name)).toEqual(['everyone'])
  })
})

describe('MessageComposer with completion', () => {
  async function typeInto(wrapper: ReturnType<typeof mount>, value: string) {
    const textarea = wrapper.get('textarea').element as HTMLTextAreaElement
    textarea.value = value
    textarea.setSelectionRange(value.length, value.length)
    await wrapper.get('textarea').trigger('input')
    await nextTick()
  }

  function setup(allowEveryone = false) {
    const text = ref('')
    const wrapper = mount(MessageComposer, {
      props: {
        modelValue: text.value,
        'onUpdate:modelValue': (v: string) => {
          text.value = v
          void wrapper.setProps({ modelValue: v })
        },
        members: MEMBERS,
        meId: 1,
        allowEveryone,
      },
      attachTo: document.body,
    })
    return { wrapper, text }
  }

  it('shows the list with one option per member, picks with the keyboard, and does not send', async () => {
    const { wrapper, text } = setup()
    await typeInto(wrapper, '请 @张')
    const list = wrapper.get('[data-testid="mention-list"]')
    expect(list.findAll('[role="option"]').map((o) => o.attributes('data-testid'))).toEqual(['mention-option-3', 'mention-option-4'])
    await wrapper.get('textarea').trigger('keydown', { key: 'ArrowDown' })
    expect(wrapper.get('[data-testid="mention-option-4"]').attributes('aria-selected')).toBe('true')
    await wrapper.get('textarea').trigger('keydown', { key: 'Enter' })
    await nextTick()
    expect(text.value).toBe('请 @张三丰 ')
    expect(wrapper.emitted('send')).toBeUndefined()
    expect(wrapper.find('[data-testid="mention-list"]').exists()).toBe(false)
    // The list is closed: Enter sends now.
    await wrapper.get('textarea').trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('send')).toHaveLength(1)
    wrapper.unmount()
  })

  it('picks with the mouse, closes on Esc, and emits typing with the new text', async () => {
    const { wrapper, text } = setup(true)
    await typeInto(wrapper, '@')
    expect(wrapper.find('[data-testid="mention-option-everyone"]').exists()).toBe(true)
    await wrapper.get('[data-testid="mention-option-2"]').trigger('mousedown')
    await nextTick()
    expect(text.value).toBe('@bob ')
    await typeInto(wrapper, '@bob @b')
    await wrapper.get('textarea').trigger('keydown', { key: 'Escape' })
    expect(wrapper.find('[data-testid="mention-list"]').exists()).toBe(false)
    expect(wrapper.emitted('typing')!.map((e) => e[0])).toContain('@bob @b')
    wrapper.unmount()
  })

  it('shows the reply preview; × and Esc cancel it', async () => {
    const wrapper = mount(MessageComposer, {
      props: {
        modelValue: '',
        replyTo: { id: 9, room: 'lobby', user_id: 2, username: 'bob', content: '第一行\n第二行', created_at: 1 },
      },
    })
    const preview = wrapper.get('[data-testid="reply-preview"]')
    expect(preview.text()).toContain('bob')
    expect(preview.text()).toContain('第一行')
    expect(preview.text()).not.toContain('第二行')
    await wrapper.get('[data-testid="reply-cancel"]').trigger('click')
    await wrapper.get('textarea').trigger('keydown', { key: 'Escape' })
    expect(wrapper.emitted('cancelReply')).toHaveLength(2)
  })
})
