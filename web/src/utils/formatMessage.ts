/**
 * Light formatting of message text (PROTOCOL.md §1: content is raw text).
 * `tokenize` turns it into tokens that a component renders as nodes (text
 * interpolation, `<a>`, `<code>`, `<pre>`): never HTML, so nothing in a
 * message can add elements or attributes.
 *
 * - ```` ``` ```` fenced blocks (an optional language word on the first line)
 *   and `` `inline code` `` are shown as typed: no links or mentions inside.
 * - `http://` and `https://` URLs become links; other schemes stay text.
 * - `@name` is a mention when the message says it mentions that user
 *   (`mentions` ids, names from `members`; the longest name wins), and
 *   `@everyone` / `@所有人` when it has `mention_everyone`.
 * - Line breaks stay in the text (the bubble keeps them with `pre-wrap`).
 */
import type { PresenceUser } from '@/api/types'

export type Token =
  | { type: 'text'; text: string }
  | { type: 'link'; text: string; href: string }
  | { type: 'code'; text: string }
  | { type: 'fence'; text: string; lang: string }
  | { type: 'mention'; text: string; userId: number | null; me: boolean; everyone: boolean }

export interface MentionContext {
  /** Ids the message mentions (the server's `mentions`). */
  mentions?: readonly number[]
  mentionEveryone?: boolean
  /** Names of the room's members, for the ids (the signed-in user is enough to find oneself). */
  members?: readonly PresenceUser[]
  me?: PresenceUser | null
}

export const EVERYONE_WORDS = ['everyone', '所有人'] as const

const FENCE = /```([^\n`]*)\n?([\s\S]*?)```/g
const LANG = /^[\w+#.-]{1,20}$/
const INLINE_CODE = /`([^`\n]+)`/g
/** URL characters (RFC 3986), ASCII only: a URL typed right before Chinese text ends there. */
const URL_RE = /https?:\/\/[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+/gi
const TRAILING = /[.,;:!?'"\]}>]+$/

/** The `http(s)` URL in `text`, cleaned of trailing punctuation, or null. */
export function safeHref(text: string): string | null {
  try {
    const url = new URL(text)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null
  } catch {
    return null
  }
}

/** Trims punctuation that ends a sentence rather than the URL (and a `)` without its `(`). */
function trimUrl(raw: string): string {
  let url = raw.replace(TRAILING, '')
  while (url.endsWith(')') && (url.match(/\(/g)?.length ?? 0) < (url.match(/\)/g)?.length ?? 0)) {
    url = url.slice(0, -1).replace(TRAILING, '')
  }
  return url
}

interface Candidate {
  name: string
  lower: string
  userId: number | null
  everyone: boolean
}

function candidates(ctx: MentionContext): Candidate[] {
  const out: Candidate[] = []
  const ids = new Set(ctx.mentions ?? [])
  const seen = new Set<number>()
  const people = [...(ctx.me ? [ctx.me] : []), ...(ctx.members ?? [])]
  for (const u of people) {
    if (!ids.has(u.id) || seen.has(u.id) || !u.username) continue
    seen.add(u.id)
    out.push({ name: u.username, lower: u.username.toLowerCase(), userId: u.id, everyone: false })
  }
  if (ctx.mentionEveryone) for (const w of EVERYONE_WORDS) out.push({ name: w, lower: w, userId: null, everyone: true })
  // The longest name wins (`@张三丰` is not `@张三` when both are members).
  return out.sort((a, b) => b.lower.length - a.lower.length)
}

/** Splits plain text (no code) into text, links and mentions. */
function inline(text: string, found: Candidate[], meId: number | null, out: Token[]): void {
  const push = (t: string) => {
    if (!t) return
    const last = out[out.length - 1]
    if (last?.type === 'text') last.text += t
    else out.push({ type: 'text', text: t })
  }
  let pos = 0
  for (const match of text.matchAll(URL_RE)) {
    const start = match.index
    const url = trimUrl(match[0])
    const href = safeHref(url)
    mentions(text.slice(pos, start), found, meId, out, push)
    if (href) out.push({ type: 'link', text: url, href })
    else push(url)
    pos = start + url.length
  }
  mentions(text.slice(pos), found, meId, out, push)
}

function mentions(text: string, found: Candidate[], meId: number | null, out: Token[], push: (t: string) => void): void {
  if (found.length === 0 || !text.includes('@')) {
    push(text)
    return
  }
  let pos = 0
  let at = text.indexOf('@')
  while (at >= 0) {
    const from = at + 1
    const hit = found.find((c) => text.slice(from, from + c.name.length).toLowerCase() === c.lower)
    if (hit) {
      push(text.slice(pos, at))
      const end = at + 1 + hit.name.length
      out.push({ type: 'mention', text: text.slice(at, end), userId: hit.userId, me: hit.everyone || hit.userId === meId, everyone: hit.everyone })
      pos = end
      at = text.indexOf('@', end)
    } else {
      at = text.indexOf('@', at + 1)
    }
  }
  push(text.slice(pos))
}

/** Code (inline) and the text between. */
function withInlineCode(text: string, found: Candidate[], meId: number | null, out: Token[]): void {
  let pos = 0
  for (const match of text.matchAll(INLINE_CODE)) {
    inline(text.slice(pos, match.index), found, meId, out)
    out.push({ type: 'code', text: match[1]! })
    pos = match.index + match[0].length
  }
  inline(text.slice(pos), found, meId, out)
}

export function tokenize(content: string, ctx: MentionContext = {}): Token[] {
  const text = typeof content === 'string' ? content : ''
  const found = candidates(ctx)
  const meId = ctx.me?.id ?? null
  const out: Token[] = []
  let pos = 0
  for (const match of text.matchAll(FENCE)) {
    const first = match[1] ?? ''
    const rest = match[2] ?? ''
    // ```js⏎code``` has a language; ```one line``` and ```two words⏎more``` have none.
    const broken = match[0].charAt(3 + first.length) === '\n'
    const lang = broken && LANG.test(first.trim()) ? first.trim() : ''
    const body = lang || (broken && !first) ? rest : broken ? `${first}\n${rest}` : first + rest
    withInlineCode(text.slice(pos, match.index), found, meId, out)
    out.push({ type: 'fence', text: body.replace(/\n$/, ''), lang })
    pos = match.index + match[0].length
    // The line break after a block is the block's end, not an empty line.
    if (text[pos] === '\n') pos++
  }
  withInlineCode(text.slice(pos), found, meId, out)
  return out
}

/** The first line of a message, shortened (reply quotes, previews). */
export function firstLine(content: string, max = 80): string {
  const line = (content ?? '').split('\n').find((l) => l.trim()) ?? ''
  const chars = [...line.trim()]
  return chars.length > max ? chars.slice(0, max).join('') + '…' : chars.join('')
}

/** Plain one-line text, at most `max` characters (notification bodies). */
export function plainText(content: string, max = 140): string {
  const chars = [...(content ?? '').replace(/\s+/g, ' ').trim()]
  return chars.length > max ? chars.slice(0, max - 1).join('') + '…' : chars.join('')
}
