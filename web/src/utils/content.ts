/** Message content rules of PROTOCOL.md §1, applied before a message is queued. */

export const MAX_MESSAGE_CHARS = 2000

// C0 and C1 control characters except \t (U+0009) and \n (U+000A).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g

/** Number of characters (Unicode code points, as the server counts them). */
export function charCount(text: string): number {
  let n = 0
  for (const _ of text) n++
  return n
}

/**
 * The text the server will store: line breaks normalised to `\n`, invisible
 * control characters removed, surrounding whitespace trimmed.
 */
export function normalizeContent(raw: string): string {
  return raw.replace(/\r\n?/g, '\n').replace(CONTROL_CHARS, '').trim()
}

export type ContentProblem = 'empty' | 'too_long'

/** Why `content` (already normalised) cannot be sent, or null when it can. */
export function contentProblem(content: string, maxChars = MAX_MESSAGE_CHARS): ContentProblem | null {
  if (content.length === 0) return 'empty'
  if (charCount(content) > maxChars) return 'too_long'
  return null
}

/** UTF-8 size of a string in bytes. */
export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length
}
