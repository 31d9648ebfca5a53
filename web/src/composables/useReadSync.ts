/**
 * `useReadSync`: sends the read positions the user moved (`rooms.markRead`)
 * to the server, a short moment later so several marks become one: as a
 * `read` frame on the WebSocket, or `POST /api/rooms/{id}/read` while
 * polling. The server tells every tab and device of the user (`read`
 * events), which is how their unread counts clear.
 */
import { getCurrentScope, onScopeDispose, watch } from 'vue'
import { ApiError, type ApiClient } from '@/api/http'
import { useRoomsStore } from '@/stores/rooms'

export interface ReadSyncDeps {
  api: ApiClient
  /** True while connected (positions wait otherwise). */
  connected: () => boolean
  /** Sends a frame on an open WebSocket; false when there is none (polling). */
  sendFrame: (frame: { type: 'read'; room_id: number; last_read_id: number }) => boolean
  /** Delay before sending, in ms. Default 300. */
  delay?: number
}

export function useReadSync(deps: ReadSyncDeps) {
  const rooms = useRoomsStore()
  const delay = deps.delay ?? 300
  /** Positions whose REST call failed for a passing reason: sent again after the next connect. */
  const failed = new Map<number, number>()
  let timer: ReturnType<typeof setTimeout> | undefined

  function flush(): void {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    if (!deps.connected()) return
    for (const [roomId, lastReadId] of rooms.takePendingReads()) {
      if (deps.sendFrame({ type: 'read', room_id: roomId, last_read_id: lastReadId })) continue
      deps.api.markRead(roomId, lastReadId).catch((error: unknown) => {
        // 404 (no access any more) or another refusal: drop it.
        const passing = !(error instanceof ApiError) || error.status >= 500 || error.status === 429
        if (passing) failed.set(roomId, Math.max(lastReadId, failed.get(roomId) ?? 0))
      })
    }
  }

  /** Connected again: resend what failed, and what waited. */
  function resume(): void {
    for (const [roomId, id] of failed) rooms.pendingReads.set(roomId, Math.max(id, rooms.pendingReads.get(roomId) ?? 0))
    failed.clear()
    flush()
  }

  const stop = watch(
    () => rooms.pendingReads.size,
    (size) => {
      if (size > 0 && timer === undefined) timer = setTimeout(flush, delay)
    },
  )

  function dispose(): void {
    stop()
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }

  if (getCurrentScope()) onScopeDispose(dispose)

  return { flush, resume, dispose }
}
