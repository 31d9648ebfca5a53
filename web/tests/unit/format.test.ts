/** Light formatting of messages: links, code, fences, line breaks, mentions; and nothing in a message ever becomes markup. */
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import MessageBody from '@/components/MessageBody.vue'
import MessageComposer from '@/components/MessageComposer.vue'
import MessageList from '@/components/MessageList.vue'
import ReplyQuote from '@/components/ReplyQuote.vue'
import { firstLine, plainText, safeHref, tokenize } from '@/utils/formatMessage'
import { notificationBody } from '@/utils/notify'
import { message } from './helpers'

const ALICE = { id: 1, username: 'alice' }
const BOB = { id: 2, username: 'bob' }
const ZHANG = { id: 3, username: '张三' }
const ZHANGFENG = { id: 4, username: '张三丰' }

const PAYLOADS = [
  '<img src=x onerror=alert(1)>',
  '<script>alert(1)</script>',
  'javascript:alert(1)',
  '"><svg onload=alert(1)>',
  '<a href="javascript:alert(1)">x</a>',
  '[x](javascript:alert(1))',
  '<iframe src="https://evil.example"></iframe>',
  '`<b>code</b>`',
  '```\n<img src=x onerror=alert(1)>\n```',
  'https://example.com/"><img src=x onerror=alert(1)>',
  'http://example.com/?q=<script>alert(1)</script>',
  '@bob<img src=x onerror=alert(1)>',
]

/** No element or attribute a payload could have made. */
function expectInert(root: Element): void {
  for (const tag of ['img', 'script', 'svg', 'iframe', 'b', 'object', 'embed', 'style']) expect(root.querySelector(tag)).toBeNull()
  for (const el of root.querySelectorAll('*')) {
    for (const attr of el.getAttributeNames()) expect(attr.startsWith('on')).toBe(false)
    const href = el.getAttribute('href')
    if (href !== null) expect(href).toMatch(/^https?:\/\//)
    const src = el.getAttribute('src')
    expect(src).toBeNull()
  }
  for (const a of root.querySelectorAll('a')) {
    expect(a.getAttribute('target')).toBe('_blank')
    expect(a.getAttribute('rel')).toBe('noopener noreferrer')
  }
}

describe('tokenize', () => {
  it('turns http(s) URLs into links and leaves other schemes as text', () => {
    expect(tokenize('看 https://example.com/a?b=1 和 http://x.test')).toEqual([
      { type: 'text', text: '看 ' },
      { type: 'link', text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { type: 'text', text: ' 和 ' },
      { type: 'link', text: 'http://x.test', href: 'http://x.test/' },
    ])
    expect(tokenize('javascript:alert(1) ftp://x.test data:text/html,hi')).toEqual([
      { type: 'text', text: 'javascript:alert(1) ftp://x.test data:text/html,hi' },
    ])
  })

  it('ends a URL at sentence punctuation, Chinese text and an unmatched parenthesis', () => {
    const links = (s: string) => tokenize(s).flatMap((t) => (t.type === 'link' ? [t.text] : []))
    expect(links('见 https://example.com/x。')).toEqual(['https://example.com/x'])
    expect(links('(see https://example.com/x).')).toEqual(['https://example.com/x'])
    expect(links('https://en.wikipedia.org/wiki/Rust_(language)')).toEqual(['https://en.wikipedia.org/wiki/Rust_(language)'])
    expect(links('打开https://example.com/a你好')).toEqual(['https://example.com/a'])
    expect(links('https://example.com, https://b.test!')).toEqual(['https://example.com', 'https://b.test'])
  })

  it('keeps inline code and fenced blocks as typed (no links or mentions inside)', () => {
    expect(tokenize('run `npm test` now')).toEqual([
      { type: 'text', text: 'run ' },
      { type: 'code', text: 'npm test' },
      { type: 'text', text: ' now' },
    ])
    expect(tokenize('before\n```js\nconst a = 1\n// https://x.test @bob\n```\nafter', { mentions: [2], members: [BOB] })).toEqual([
      { type: 'text', text: 'before\n' },
      { type: 'fence', text: 'const a = 1\n// https://x.test @bob', lang: 'js' },
      { type: 'text', text: 'after' },
    ])
    expect(tokenize('```one line```')).toEqual([{ type: 'fence', text: 'one line', lang: '' }])
    expect(tokenize('```two words\nmore```')).toEqual([{ type: 'fence', text: 'two words\nmore', lang: '' }])
    // Unclosed: plain text.
    expect(tokenize('```not closed')).toEqual([{ type: 'text', text: '```not closed' }])
  })

  it('keeps line breaks in the text', () => {
    expect(tokenize('一\n二\n\n三')).toEqual([{ type: 'text', text: '一\n二\n\n三' }])
  })

  it('marks the mentions the message carries (any letter case, the longest name, CJK without a space)', () => {
    const ctx = { mentions: [2, 3, 4], members: [ALICE, BOB, ZHANG, ZHANGFENG], me: ALICE }
    expect(tokenize('@BOB 看 @张三丰 和 @张三你好', ctx)).toEqual([
      { type: 'mention', text: '@BOB', userId: 2, me: false, everyone: false },
      { type: 'text', text: ' 看 ' },
      { type: 'mention', text: '@张三丰', userId: 4, me: false, everyone: false },
      { type: 'text', text: ' 和 ' },
      { type: 'mention', text: '@张三', userId: 3, me: false, everyone: false },
      { type: 'text', text: '你好' },
    ])
  })

  it('marks only ids in `mentions`, me among them, and @everyone only with mention_everyone', () => {
    const kinds = (s: string, ctx: Parameters<typeof tokenize>[1]) => tokenize(s, ctx).map((t) => (t.type === 'mention' ? `${t.text}:${t.me}` : t.type))
    expect(kinds('@bob @alice', { mentions: [1], members: [BOB], me: ALICE })).toEqual(['text', '@alice:true'])
    expect(kinds('@everyone @所有人', { mentionEveryone: true })).toEqual(['@everyone:true', 'text', '@所有人:true'])
    expect(kinds('@everyone', {})).toEqual(['text'])
    // Without the member list, mentions of me are still found by my name.
    expect(kinds('@Alice hi', { mentions: [1], me: ALICE })).toEqual(['@Alice:true', 'text'])
  })

  it('safeHref accepts http(s) only', () => {
    expect(safeHref('https://a.test/x')).toBe('https://a.test/x')
    expect(safeHref('javascript:alert(1)')).toBeNull()
    expect(safeHref('http://')).toBeNull()
  })

  it('firstLine and plainText make one short plain line', () => {
    expect(firstLine('\n  第一行\n第二行')).toBe('第一行')
    expect(firstLine('x'.repeat(100), 10)).toBe('xxxxxxxxxx…')
    expect(plainText('a\n\n b\tc', 140)).toBe('a b c')
    expect([...plainText('字'.repeat(200), 140)]).toHaveLength(140)
  })
})

describe('MessageBody', () => {
  function render(content: string, props: Record<string, unknown> = {}) {
    return mount(MessageBody, { props: { content, ...props }, attachTo: document.body })
  }

  it('renders links, code, fences and mentions as nodes, text exactly as typed', () => {
    const content = '@bob 看 https://example.com/x `a<b>` \n```\nfn()\n```'
    const wrapper = render(content, { mentions: [2], members: [BOB], me: ALICE })
    const a = wrapper.get('a')
    expect(a.attributes()).toMatchObject({ href: 'https://example.com/x', target: '_blank', rel: 'noopener noreferrer' })
    expect(wrapper.get('code.inline-code').text()).toBe('a<b>')
    expect(wrapper.get('pre.code-block').text()).toBe('fn()')
    expect(wrapper.get('[data-testid="mention"]').text()).toBe('@bob')
    expect(wrapper.get('[data-testid="mention"]').classes()).not.toContain('me')
    expectInert(wrapper.element.parentElement!)
    wrapper.unmount()
  })

  it('highlights a mention of me more', () => {
    const wrapper = render('@alice 你好', { mentions: [1], me: ALICE })
    expect(wrapper.get('[data-testid="mention"]').classes()).toContain('me')
    wrapper.unmount()
  })

  it.each(PAYLOADS)('renders %s as text, creating nothing that runs', (payload) => {
    const wrapper = mount({ components: { MessageBody }, template: '<div class="host"><MessageBody :content="c" :mentions="[2]" :members="m" /></div>' }, {
      data: () => ({ c: payload, m: [BOB] }),
    })
    expectInert(wrapper.element)
    // Every character shows, minus only the ``` and ` markers of code.
    expect(wrapper.text().replace(/\s/g, '')).toBe(payload.replace(/```|`/g, '').replace(/\s/g, ''))
    wrapper.unmount()
  })
})

describe('payloads in every place a message shows', () => {
  const payload = '"><svg onload=alert(1)><img src=x onerror=alert(2)>javascript:alert(3)'

  it('an edited message, a reply quote and the quoted original stay text', () => {
    const wrapper = mount(MessageList, {
      props: {
        messages: [
          message(1, { content: payload, edited_at: 1_700_000_100_000 }),
          message(2, { content: 'reply', reply_to: { id: 1, user_id: 2, username: '<b>bob</b>', content: payload } }),
        ],
        pending: [],
        currentUserId: 1,
        hasMore: false,
        loading: false,
        online: true,
        loadOlder: async () => 0,
      },
    })
    expectInert(wrapper.element)
    expect(wrapper.get('[data-testid="message-content"]').text()).toBe(payload)
    expect(wrapper.get('[data-testid="edited-mark"]').text()).toBe('（已编辑）')
    expect(wrapper.get('[data-testid="reply-quote"]').text()).toContain(payload)
    expect(wrapper.get('[data-testid="reply-quote"]').text()).toContain('<b>bob</b>')
    wrapper.unmount()
  })

  it('the composer’s reply preview stays text', () => {
    const wrapper = mount(MessageComposer, {
      props: { modelValue: '', replyTo: message(3, { username: '<img src=x onerror=alert(1)>', content: payload }) },
    })
    const preview = wrapper.get('[data-testid="reply-preview"]')
    for (const part of preview.findAll('.reply-author, .reply-line')) expectInert(part.element)
    expect(preview.find('img').exists()).toBe(false)
    expect(preview.text()).toContain(payload.slice(0, 50))
    wrapper.unmount()
  })

  it('ReplyQuote shows the deleted state without content, and emits jump', async () => {
    const wrapper = mount(ReplyQuote, { props: { quote: { id: 5, user_id: 2, username: 'bob', content: '', deleted: true } } })
    expect(wrapper.text()).toContain('原消息已删除')
    await wrapper.trigger('click')
    expect(wrapper.emitted('jump')).toEqual([[5]])
  })

  it('a notification body is plain text: `username: content`, one line, at most 140 characters', () => {
    expect(notificationBody({ username: 'bob', content: payload })).toBe(`bob: ${payload}`)
    expect(notificationBody({ username: 'bob', content: 'a\nb' })).toBe('bob: a b')
    expect([...notificationBody({ username: 'bob', content: '长'.repeat(500) })]).toHaveLength(140)
  })
})
