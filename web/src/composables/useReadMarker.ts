/**
 * `useReadMarker`: the room on screen counts as read up to its newest
 * message while the tab is visible and the list is scrolled to the bottom.
 * The position goes to the server (`useReadSync`), which tells the user's
 * other tabs and devices.
 */
import { onScopeDispose, ref, watch, type Ref } from 'vue'
import { useRoomsStore } from '@/stores/rooms'

export function useReadMarker(roomId: Readonly<Ref<number | null>>, newestId: Readonly<Ref<number>>, atBottom: Readonly<Ref<boolean>>) {
  const rooms = useRoomsStore()
  const visible = ref(typeof document === 'undefined' || document.visibilityState !== 'hidden')
  const onVisibility = () => (visible.value = document.visibilityState !== 'hidden')
  if (typeof document !== 'undefined') {
    document.addEventListener('visibilitychange', onVisibility)
    onScopeDispose(() => document.removeEventListener('visibilitychange', onVisibility))
  }

  watch(
    [roomId, newestId, atBottom, visible],
    () => {
      const id = roomId.value
      // Only what is on screen counts: not the unread count of a list still loading.
      if (id !== null && visible.value && atBottom.value && newestId.value > 0) rooms.markRead(id, newestId.value)
    },
    { immediate: true },
  )
}
