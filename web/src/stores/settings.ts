/** Settings of this browser (`hearth.settings.v1`): the notification sound (off by default). */
import { defineStore } from 'pinia'
import { ref, watch } from 'vue'
import { settingsSchema } from '@/utils/schemas'
import { readValid, writeJson } from '@/utils/storage'

export const SETTINGS_KEY = 'hearth.settings.v1'

export const useSettingsStore = defineStore('settings', () => {
  const stored = readValid(SETTINGS_KEY, settingsSchema)
  /** A short beep with desktop notifications. */
  const sound = ref(stored?.sound ?? false)

  watch(sound, (value) => writeJson(SETTINGS_KEY, { sound: value }))

  return { sound }
})
