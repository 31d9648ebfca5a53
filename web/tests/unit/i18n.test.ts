/** The message trees of both languages, choosing the language, and texts that follow it. */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import { ApiError, describeError } from '@/api/http'
import ConnectionStatus from '@/components/ConnectionStatus.vue'
import { detectLocale, i18n, LOCALE_KEY, localeFromLanguages, setLocale, storedLocale, t, type AppLocale } from '@/i18n'
import { errorText } from '@/i18n/errors'
import * as enAreas from '@/i18n/locales/en'
import * as zhAreas from '@/i18n/locales/zh-CN'
import { typingText } from '@/stores/typing'
import { formatDateTime, formatDay, formatTime } from '@/utils/format'
import { roomTitle } from '@/utils/rooms'
import { describeServerError } from '@/utils/transport'

type Tree = { readonly [key: string]: string | Tree }

/** Every leaf of a message tree, by its dotted key. */
function leaves(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>()
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key
    if (typeof value === 'string') out.set(path, value)
    else if (value && typeof value === 'object') for (const [k, v] of leaves(value, path)) out.set(k, v)
    else throw new Error(`${path}: not a string or an object`)
  }
  return out
}

/** The named placeholders of a message (`{name}`), over all its plural forms; `{'@'}` literals are not placeholders. */
function placeholders(message: string): string[] {
  return [...new Set([...message.matchAll(/\{\s*([A-Za-z_][\w]*)\s*\}/g)].map((m) => m[1]!))].sort()
}

const zh = leaves({ ...zhAreas } as unknown as Tree)
const en = leaves({ ...enAreas } as unknown as Tree)

describe('message trees', () => {
  it('have the same keys in zh-CN and en', () => {
    const onlyZh = [...zh.keys()].filter((k) => !en.has(k))
    const onlyEn = [...en.keys()].filter((k) => !zh.has(k))
    expect({ onlyZh, onlyEn }).toEqual({ onlyZh: [], onlyEn: [] })
    expect(zh.size).toBeGreaterThan(200)
  })

  it('use the same {placeholders} in both languages', () => {
    const differ = [...zh].filter(([k, v]) => en.has(k) && placeholders(v).join() !== placeholders(en.get(k)!).join())
    expect(differ.map(([k, v]) => `${k}: ${placeholders(v)} ≠ ${placeholders(en.get(k)!)}`)).toEqual([])
  })

  it('compile and render in both languages (no stray @, |, { or })', () => {
    for (const locale of ['zh-CN', 'en'] as const) {
      for (const [key, message] of locale === 'zh-CN' ? zh : en) {
        const params = Object.fromEntries(placeholders(message).map((p) => [p, `<${p}>`]))
        let out = ''
        expect(() => (out = i18n.global.t(key, params, { locale })), `${locale} ${key}`).not.toThrow()
        expect(out, `${locale} ${key}`).not.toBe(key)
        expect(out, `${locale} ${key}`).not.toMatch(/[{}]/)
        for (const p of Object.keys(params)) expect(out, `${locale} ${key}`).toContain(`<${p}>`)
      }
    }
  })

  it('have no plural forms in Chinese, and two (one | other) where English has them', () => {
    expect([...zh].filter(([, v]) => v.includes('|')).map(([k]) => k)).toEqual([])
    expect([...en].filter(([, v]) => v.split('|').length > 2).map(([k]) => k)).toEqual([])
  })

  it('keep Chinese out of the English texts', () => {
    // Names of languages are shown in themselves; the mention word 所有人 is not a message.
    expect([...en].filter(([, v]) => /[\u4e00-\u9fff]/.test(v)).map(([k]) => k)).toEqual([])
  })

  it('use straight quotes in English (the CJK fonts of the font stack draw ’ “ ” full-width)', () => {
    expect([...en].filter(([, v]) => /[‘’“”]/.test(v)).map(([k]) => k)).toEqual([])
  })

  it('know every key the source code asks for', () => {
    const src = resolve(__dirname, '../../src')
    const files: string[] = []
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name)
        if (statSync(path).isDirectory()) walk(path)
        else if (/\.(ts|vue)$/.test(name) && !path.includes(join('src', 'i18n', 'locales'))) files.push(path)
      }
    }
    walk(src)
    const missing: string[] = []
    for (const file of files) {
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(/(?:\bt|\$t)\(\s*'([a-zA-Z][\w.]*)'|keypath="([a-zA-Z][\w.]*)"/g)) {
        const key = m[1] ?? m[2]!
        if (!zh.has(key)) missing.push(`${file.slice(src.length + 1)}: ${key}`)
      }
    }
    expect(missing).toEqual([])
  })
})

describe('choosing the language', () => {
  /** What the browser says it prefers (`navigator.languages`). */
  let languages: { mockReturnValue: (value: readonly string[]) => unknown }
  beforeEach(() => {
    languages = vi.spyOn(navigator, 'languages', 'get')
  })
  afterEach(() => localStorage.clear())

  it('maps the browser’s first language: zh* → zh-CN, anything else → en', () => {
    expect(localeFromLanguages(['zh-CN', 'en'])).toBe('zh-CN')
    expect(localeFromLanguages(['zh-TW'])).toBe('zh-CN')
    expect(localeFromLanguages(['zh'])).toBe('zh-CN')
    expect(localeFromLanguages(['en-US', 'zh-CN'])).toBe('en')
    expect(localeFromLanguages(['fr-FR'])).toBe('en')
    expect(localeFromLanguages(['zu'])).toBe('en')
    expect(localeFromLanguages([])).toBe('en')
  })

  it('prefers the remembered choice, and ignores an invalid one', () => {
    languages.mockReturnValue(['zh-CN'])
    expect(detectLocale()).toBe('zh-CN')
    localStorage.setItem(LOCALE_KEY, 'en')
    expect(storedLocale()).toBe('en')
    expect(detectLocale()).toBe('en')
    localStorage.setItem(LOCALE_KEY, 'klingon')
    expect(detectLocale()).toBe('zh-CN')
    languages.mockReturnValue(['de-DE', 'zh-CN'])
    expect(detectLocale()).toBe('en')
  })

  it('switches at once, sets <html lang> and the plain page title, and remembers the choice', () => {
    document.title = 'Hearth 聊天室'
    setLocale('en')
    expect(localStorage.getItem(LOCALE_KEY)).toBe('en')
    expect(document.documentElement.lang).toBe('en')
    expect(document.title).toBe('Hearth Chat')
    setLocale('zh-CN', { remember: false })
    expect(localStorage.getItem(LOCALE_KEY)).toBe('en')
    expect(document.documentElement.lang).toBe('zh-CN')
    expect(document.title).toBe('Hearth 聊天室')
    // A signed-in page's unread count is left alone.
    document.title = '(3) Hearth'
    setLocale('en', { remember: false })
    expect(document.title).toBe('(3) Hearth')
  })
})

describe('texts in the current language', () => {
  function inLocale<T>(locale: AppLocale, fn: () => T): T {
    setLocale(locale, { remember: false })
    return fn()
  }

  beforeEach(() => setLocale('zh-CN', { remember: false }))

  it('a mounted component follows a switch without a reload', async () => {
    const wrapper = mount(ConnectionStatus, { props: { status: 'reconnecting', isConnected: false, isReconnecting: true } })
    expect(wrapper.text()).toBe('重连中...')
    setLocale('en', { remember: false })
    await wrapper.vm.$nextTick()
    expect(wrapper.text()).toBe('Reconnecting…')
    wrapper.unmount()
  })

  it('server errors: a known code in the user’s language, an unknown one as the server said', () => {
    const forbidden = new ApiError(403, 'forbidden', 'not allowed')
    const unknown = new ApiError(400, 'quota_exceeded', 'The quota is exceeded')
    expect(inLocale('zh-CN', () => describeError(forbidden))).toBe('没有权限执行此操作')
    expect(inLocale('en', () => describeError(forbidden))).toBe('You are not allowed to do this')
    expect(inLocale('zh-CN', () => describeError(unknown))).toBe('The quota is exceeded')
    expect(inLocale('en', () => describeError(unknown))).toBe('The quota is exceeded')
    expect(inLocale('en', () => describeError(new ApiError(429, 'rate_limited', 'slow down', 1)))).toBe('Too many requests. Try again in 1 second.')
    expect(inLocale('en', () => describeError(new ApiError(429, 'busy', 'busy', 600)))).toBe('The server is busy. Try again in 10 minutes.')
    // A place's own text comes first; codes that are not words are never looked up.
    expect(inLocale('zh-CN', () => errorText('not_found', { context: 'message' }))).toBe('消息不存在或已被删除')
    expect(inLocale('zh-CN', () => errorText('not_found'))).toBe('房间不存在或你无权访问')
    expect(inLocale('en', () => errorText('code.not_found', { message: 'Not found' }))).toBe('Not found')
    expect(inLocale('en', () => describeServerError('invalid_content'))).toBe('Invalid message (empty, too long, or with control characters)')
    expect(inLocale('en', () => describeServerError('bad_request', 'content must not be empty'))).toBe('Invalid request: content must not be empty')
  })

  it('dates and relative days', () => {
    const now = new Date(2024, 4, 10, 12).getTime()
    const jan2 = new Date(2024, 0, 2, 15, 4).getTime()
    expect(inLocale('zh-CN', () => [formatDay(now, now), formatDay(now - 86_400_000, now), formatDay(jan2, now)])).toEqual(['今天', '昨天', '1月2日'])
    expect(inLocale('en', () => [formatDay(now, now), formatDay(now - 86_400_000, now), formatDay(jan2, now)])).toEqual([
      'Today',
      'Yesterday',
      'Tuesday, January 2',
    ])
    expect(inLocale('en', () => formatDay(new Date(2023, 0, 2).getTime(), now))).toBe('January 2, 2023')
    expect(inLocale('zh-CN', () => formatDateTime(jan2))).toBe('2024-01-02 15:04')
    expect(inLocale('en', () => formatDateTime(jan2))).toBe('Jan 2, 2024, 3:04 PM')
    expect(inLocale('en', () => formatTime(jan2))).toBe('3:04 PM')
    expect(inLocale('en', () => formatDateTime(NaN))).toBe('Unknown time')
  })

  it('keeps the Chinese HH:mm of every minute of the day', () => {
    setLocale('zh-CN', { remember: false })
    for (let minute = 0; minute < 24 * 60; minute += 7) {
      const d = new Date(2024, 4, 10, Math.floor(minute / 60), minute % 60)
      const expected = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
      expect(formatTime(d.getTime())).toBe(expected)
    }
  })

  it('lists, counts and names', () => {
    expect(inLocale('en', () => typingText(['Amy']))).toBe('Amy is typing…')
    expect(inLocale('en', () => typingText(['Amy', 'Ben']))).toBe('Amy, Ben are typing…')
    expect(inLocale('en', () => typingText(['Amy', 'Ben', 'Cat']))).toBe('3 people are typing…')
    expect(inLocale('en', () => [t('chat.list.newMessages', { n: 1 }, 1), t('chat.list.newMessages', { n: 4 }, 4)])).toEqual([
      '1 new message',
      '4 new messages',
    ])
    expect(inLocale('zh-CN', () => t('chat.list.newMessages', { n: 4 }, 4))).toBe('4 条新消息')
    const lobby = { name: 'lobby', kind: 'open' as const, lobby: true, members: [] }
    expect(inLocale('en', () => roomTitle(lobby, 1))).toBe('Lobby')
    expect(inLocale('zh-CN', () => roomTitle(lobby, 1))).toBe('大厅')
  })
})
