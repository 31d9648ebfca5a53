/** Applying presence pushes (shared by the lobby client and the rooms app's presence store). */
import type { PresenceUser } from '@/api/types'

/** The online list after a push: `left` removed, `joined` added, sorted by name. */
export function applyPresenceDelta(list: readonly PresenceUser[], joined: readonly PresenceUser[], left: readonly PresenceUser[]): PresenceUser[] {
  const gone = new Set(left.map((u) => u.id))
  const byId = new Map(list.filter((u) => !gone.has(u.id)).map((u) => [u.id, u]))
  for (const u of joined) byId.set(u.id, u)
  return [...byId.values()].sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : a.id - b.id))
}
