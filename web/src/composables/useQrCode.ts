/**
 * A QR code of some text as a `data:` PNG URL (the `qrcode` package; the
 * server's CSP allows `data:` images), redrawn when the text changes.
 * Empty text: no code.
 */
import { ref, toValue, watch, type MaybeRefOrGetter } from 'vue'
import QRCode from 'qrcode'

export function useQrCode(text: MaybeRefOrGetter<string>, size = 220) {
  const dataUrl = ref('')
  let generation = 0

  watch(
    () => toValue(text),
    async (value) => {
      const gen = ++generation
      if (!value) {
        dataUrl.value = ''
        return
      }
      try {
        const url = await QRCode.toDataURL(value, { width: size, margin: 1, errorCorrectionLevel: 'M', color: { dark: '#1f2328', light: '#ffffff' } })
        if (gen === generation) dataUrl.value = url
      } catch {
        if (gen === generation) dataUrl.value = ''
      }
    },
    { immediate: true },
  )

  return dataUrl
}
