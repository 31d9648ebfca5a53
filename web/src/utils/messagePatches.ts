/**
 * The stream's recent changes to stored messages (§4: edits, deletions,
 * reactions), by message id. A REST page asked for before a change was
 * applied may predate it: `apply(m, since)` puts the changes made after
 * `since` (a `tick()`) on top of the page's copy. Bounded: the oldest go.
 */
import type { ChatMessage, Reaction } from '@/api/types'
import { deletedCopy, preferNewer, withReactions } from './messages'

interface Patch {
  tick: number
  deleted?: boolean
  /** The message as it is after an edit (reactions included). */
  edited?: ChatMessage
  /** The whole reaction list after a later change. */
  reactions?: Reaction[]
}

export function createPatchLog(max = 2000) {
  const patches = new Map<number, Patch>()
  let tick = 0

  function note(id: number, change: Omit<Patch, 'tick'>): void {
    const previous = patches.get(id)
    patches.delete(id)
    patches.set(id, { ...previous, ...change, tick: ++tick })
    if (patches.size > max) patches.delete(patches.keys().next().value!)
  }

  return {
    /** Where the changes are now (a page remembers it when it is asked for). */
    tick: () => tick,
    edited: (m: ChatMessage) => note(m.id, { edited: m, reactions: undefined }),
    deleted: (id: number) => note(id, { deleted: true }),
    reactions: (id: number, reactions: readonly Reaction[]) => note(id, { reactions: [...reactions] }),
    /** `m` (a page's copy) with the changes noted after `since`. */
    apply(m: ChatMessage, since: number): ChatMessage {
      const p = patches.get(m.id)
      if (!p || p.tick <= since) return m
      if (p.deleted) return m.deleted ? m : deletedCopy(m)
      let out = p.edited ? preferNewer(m, p.edited) : m
      if (p.reactions) out = withReactions(out, p.reactions)
      return out
    },
    clear: () => patches.clear(),
  }
}
