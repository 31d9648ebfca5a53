/**
 * Message search (`GET /api/search`): the query, one page of hits, and a
 * check of the answer (a hit that is not a renderable message is dropped).
 * A snippet is a list of text parts, the matches marked: render it as text.
 */
import * as v from 'valibot'
import type { ChatMessage } from './types'
import { idSchema, parseMessage } from '@/utils/schemas'

export type SearchOrder = 'newest' | 'relevance'

export interface SearchParams {
  /** The words; may hold the filters `in:房间` and `from:用户` (the server parses them). */
  q: string
  order?: SearchOrder
  /** Newest order: hits older than this message id (the previous page's `next_before`). */
  before?: number
  limit?: number
  room_id?: number
  from?: string
}

export interface SnippetPart {
  text: string
  /** Part of a match (highlighted). */
  hit: boolean
}

export interface SearchHit {
  message: ChatMessage
  room_name: string
  /** `open` | `closed` | `direct` | `lobby` (kept as a string: new kinds may come). */
  room_kind: string
  snippet: SnippetPart[]
}

export interface SearchPage {
  results: SearchHit[]
  /** More (older) hits exist: pass it as `before` (newest order only). */
  next_before: number | null
}

const snippetSchema = v.fallback(
  v.array(v.object({ text: v.string(), hit: v.fallback(v.boolean(), false) })),
  [],
)

const hitSchema = v.object({
  message: v.unknown(),
  room_name: v.fallback(v.string(), ''),
  room_kind: v.fallback(v.string(), ''),
  snippet: snippetSchema,
})

const pageSchema = v.object({
  results: v.array(v.unknown()),
  next_before: v.fallback(v.nullable(idSchema), null),
})

/** The page in a `GET /api/search` answer; hits that fail their schema are left out. Null: not a page at all. */
export function parseSearchPage(value: unknown): SearchPage | null {
  const page = v.safeParse(pageSchema, value)
  if (!page.success) return null
  const results: SearchHit[] = []
  for (const raw of page.output.results) {
    const hit = v.safeParse(hitSchema, raw)
    if (!hit.success) continue
    const message = parseMessage(hit.output.message)
    if (!message) continue
    results.push({ message, room_name: hit.output.room_name, room_kind: hit.output.room_kind, snippet: hit.output.snippet })
  }
  return { results, next_before: page.output.next_before }
}
