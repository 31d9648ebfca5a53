/** `useStartDirect()`: opens the conversation with some people (`POST /api/rooms/direct`: the same set always gets the same one). */
import { ref } from 'vue'
import { useRouter } from 'vue-router'
import { ElMessage } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import { describeError } from '@/api/http'
import { useRoomsStore } from '@/stores/rooms'

export function useStartDirect() {
  const rooms = useRoomsStore()
  const router = useRouter()
  const busy = ref(false)

  async function start(userIds: number[]): Promise<boolean> {
    if (busy.value) return false
    busy.value = true
    try {
      const room = await rooms.startDirect(userIds)
      await router.push({ name: 'room', params: { id: String(room.id) } })
      return true
    } catch (error) {
      ElMessage.error(describeError(error))
      return false
    } finally {
      busy.value = false
    }
  }

  return { start, busy }
}
