import { describe, expect, it, vi } from 'vitest'
import { resolveUrl, resolveWsUrl } from '@/api/http'
import { backoffDelay } from '@/utils/backoff'
import { charCount, contentProblem, normalizeContent, utf8Length } from '@/utils/content'
import { createEmitter } from '@/utils/emitter'
import { formatDay } from '@/utils/format'
import { createClientId, tokenSubject } from '@/utils/ids'
import { fakeToken } from './helpers'

describe('backoffDelay', () => {
  it('grows exponentially up to the cap', () => {
    const mid = () => 0.5
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((n) => backoffDelay(n, {}, mid))).toEqual([
      500, 1000, 2000, 4000, 8000, 16000, 20000, 20000,
    ])
  })

  it('is jittered within ±25 % by default', () => {
    expect(backoffDelay(2, {}, () => 0)).toBe(1500)
    expect(backoffDelay(2, {}, () => 1)).toBe(2500)
    expect(backoffDelay(0, { jitter: 0 }, () => 0.9)).toBe(500)
  })
})

describe('content', () => {
  it('normalises line breaks, strips control characters and trims', () => {
    expect(normalizeContent('  a\r\nb\rc\u0007\td  ')).toBe('a\nb\nc\td')
  })

  it('counts characters as code points, like the server', () => {
    expect(charCount('😀汉a')).toBe(3)
    expect(contentProblem('')).toBe('empty')
    expect(contentProblem('😀'.repeat(2000))).toBeNull()
    expect(contentProblem('a'.repeat(2001))).toBe('too_long')
    expect(utf8Length('汉')).toBe(3)
  })
})

describe('ids', () => {
  it('makes UUID-shaped client ids without randomUUID (plain-http LAN pages)', () => {
    const original = crypto.randomUUID
    vi.stubGlobal('isSecureContext', false)
    const id = createClientId()
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(createClientId()).not.toBe(id)
    expect(crypto.randomUUID).toBe(original)
  })

  it('reads the JWT subject', () => {
    expect(tokenSubject(fakeToken(42))).toBe('42')
    expect(tokenSubject('not-a-jwt')).toBeNull()
  })
})

describe('emitter', () => {
  it('on returns an unsubscribe function; a failing listener does not stop the others', () => {
    const e = createEmitter<{ x: number }>()
    const seen: number[] = []
    vi.spyOn(console, 'error').mockImplementation(() => {})
    e.on('x', () => {
      throw new Error('boom')
    })
    const off = e.on('x', (v) => seen.push(v))
    e.emit('x', 1)
    off()
    e.emit('x', 2)
    expect(seen).toEqual([1])
  })
})

describe('urls', () => {
  it('resolves API and WebSocket URLs against the page (sub-path safe)', () => {
    expect(resolveUrl('api/config', 'http://h:3001/').toString()).toBe('http://h:3001/api/config')
    expect(resolveUrl('/api/config', 'https://h/chat/index.html').toString()).toBe('https://h/chat/api/config')
    expect(resolveWsUrl('api/chat/ws', 'https://h/chat/').toString()).toBe('wss://h/chat/api/chat/ws')
    expect(resolveWsUrl('api/chat/ws', 'http://10.0.0.2:3001/').toString()).toBe('ws://10.0.0.2:3001/api/chat/ws')
  })
})

describe('formatDay', () => {
  it('labels today and yesterday', () => {
    const now = new Date(2024, 4, 10, 12).getTime()
    expect(formatDay(new Date(2024, 4, 10, 1).getTime(), now)).toBe('今天')
    expect(formatDay(new Date(2024, 4, 9, 23).getTime(), now)).toBe('昨天')
    expect(formatDay(new Date(2024, 0, 2).getTime(), now)).toBe('1月2日')
    expect(formatDay(new Date(2023, 0, 2).getTime(), now)).toBe('2023年1月2日')
  })
})
