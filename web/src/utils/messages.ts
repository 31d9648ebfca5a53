/** Merging message lists by id (ascending, no duplicates), shared by the lobby client and the rooms app. */
import type { ChatMessage } from '@/api/types'
import { isChatMessage } from './schemas'

/** Index of the first message with id ≥ `id` (binary search; the list is ascending). */
export function indexOfId(list: readonly ChatMessage[], id: number): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (list[mid]!.id < id) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Merges `incoming` (anything: values that are not valid messages are
 * skipped) into the ascending `list`. Returns the new list, or null when
 * nothing changed (copy on write: the caller's list is never mutated, so
 * every consumer sees a change), and the messages that were new. A server
 * copy replaces a differing one with the same id (e.g. one made from an ack).
 */
export function mergeMessages(list: readonly ChatMessage[], incoming: readonly unknown[]): { list: ChatMessage[] | null; added: ChatMessage[] } {
  let out: ChatMessage[] | null = null
  const added: ChatMessage[] = []
  for (const value of incoming) {
    if (!isChatMessage(value)) continue
    const current: readonly ChatMessage[] = out ?? list
    const last = current[current.length - 1]
    const i = !last || value.id > last.id ? current.length : indexOfId(current, value.id)
    const old = current[i]
    if (old && old.id === value.id) {
      if (old.username !== value.username || old.content !== value.content || old.created_at !== value.created_at) {
        out ??= list.slice()
        out[i] = value
      }
      continue
    }
    out ??= list.slice()
    out.splice(i, 0, value)
    added.push(value)
  }
  return { list: out, added }
}
