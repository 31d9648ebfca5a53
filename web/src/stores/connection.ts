/**
 * The state of the rooms app's connection, for any component to read:
 * written by `useRoomStream` (which owns the sockets and timers).
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { FallbackReason } from '@/composables/useTransportSwitch'
import type { ConnectionStatus, Transport } from '@/utils/transport'

export const useConnectionStore = defineStore('connection', () => {
  const status = ref<ConnectionStatus>('idle')
  const transport = ref<Transport>('websocket')
  const fallbackReason = ref<FallbackReason | null>(null)
  /**
   * The stream is in sync (connected at least once since the page loaded, with
   * a cursor): history loaded from now on cannot leave a gap before the stream.
   */
  const synced = ref(false)
  const isConnected = computed(() => status.value === 'open')
  const isReconnecting = computed(() => status.value === 'reconnecting')

  function reset(): void {
    status.value = 'idle'
    transport.value = 'websocket'
    fallbackReason.value = null
    synced.value = false
  }

  return { status, transport, fallbackReason, synced, isConnected, isReconnecting, reset }
})
