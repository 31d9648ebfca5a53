/** 房间管理 (admins): every room with its size, archiving or unarchiving one, and deleting one. */
import { ref } from 'vue'
import type { AdminRoom, TeamApi } from '@/api/team'
import { useTeamApi } from './useTeamApi'

export function useAdminRooms(api: TeamApi = useTeamApi()) {
  const rooms = ref<AdminRoom[]>([])
  const loading = ref(false)
  const error = ref<unknown>(null)

  async function load(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      rooms.value = (await api.rooms()).rooms
    } catch (e) {
      error.value = e
    } finally {
      loading.value = false
    }
  }

  async function setArchived(id: number, archived: boolean): Promise<void> {
    await api.archiveRoom(id, archived)
    rooms.value = rooms.value.map((r) => (r.id === id ? { ...r, archived } : r))
  }

  /** Deletes the room (members, messages and files) and drops its row; resolves to how many messages were deleted. */
  async function remove(id: number): Promise<number> {
    const { deleted_messages } = await api.deleteRoom(id)
    rooms.value = rooms.value.filter((r) => r.id !== id)
    return deleted_messages
  }

  return { rooms, loading, error, load, setArchived, remove }
}
