/**
 * The lobby client's reload cache, `hearth.cache.v1.<user>` with `v: 1`: the
 * newest messages, the cursor and the database epoch. (The rooms app keeps a
 * `v: 2` blob under the same key; each removes the other's, see `schemas.ts`.)
 */
import type { ChatMessage } from '@/api/types'
import { cacheBlobSchema, messageSchema, validTail } from './schemas'
import { readValid, writeJson } from './storage'

export interface LobbyCache {
  epoch: string | null
  hasMore: boolean
  cursor: number
  messages: ChatMessage[]
}

/**
 * The envelope must pass its schema (else the blob is removed). Of the
 * messages, the newest ones after the last invalid one are kept, so there is
 * no hole (older ones can be paged in again); `damaged` says some were dropped.
 */
export function readLobbyCache(key: string): (LobbyCache & { damaged: boolean }) | null {
  const blob = readValid(key, cacheBlobSchema)
  if (!blob) return null
  const kept = validTail(blob.messages, messageSchema)
  const damaged = kept.length < blob.messages.length
  return { epoch: blob.epoch, hasMore: blob.hasMore || damaged, cursor: blob.cursor, messages: kept, damaged }
}

/** Writes the newest `size` messages (more exist when some were left out). */
export function writeLobbyCache(key: string, state: LobbyCache, size: number): void {
  const tail = state.messages.slice(-size)
  writeJson(key, {
    v: 1,
    epoch: state.epoch,
    hasMore: tail.length < state.messages.length ? true : state.hasMore,
    cursor: state.cursor,
    messages: tail,
  } satisfies LobbyCache & { v: 1 })
}
