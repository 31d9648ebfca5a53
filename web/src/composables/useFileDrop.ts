/**
 * `useFileDrop(target, onFiles, enabled)`: files dragged from the desktop
 * onto an element. `dragging` is true while files hover over it (the view
 * shows a 「松开以上传」 overlay); dropping hands the files on. Drags of
 * anything else (text, links, images of the page) are left alone.
 */
import { onScopeDispose, ref, toValue, watch, type MaybeRefOrGetter, type Ref } from 'vue'

function hasFiles(event: DragEvent): boolean {
  const types = event.dataTransfer?.types
  return !!types && Array.from(types).includes('Files')
}

export function useFileDrop(target: Ref<HTMLElement | undefined | null>, onFiles: (files: File[]) => void, enabled: MaybeRefOrGetter<boolean> = true) {
  const dragging = ref(false)
  /** dragenter/dragleave fire for every child element: count them. */
  let depth = 0

  function reset(): void {
    depth = 0
    dragging.value = false
  }

  function onEnter(event: DragEvent): void {
    if (!toValue(enabled) || !hasFiles(event)) return
    event.preventDefault()
    depth++
    dragging.value = true
  }

  function onOver(event: DragEvent): void {
    if (!toValue(enabled) || !hasFiles(event)) return
    // Without this the browser opens the file instead of dropping it here.
    event.preventDefault()
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy'
    dragging.value = true
  }

  function onLeave(event: DragEvent): void {
    if (!dragging.value) return
    event.preventDefault()
    depth = Math.max(0, depth - 1)
    if (depth === 0) dragging.value = false
  }

  function onDrop(event: DragEvent): void {
    if (!toValue(enabled) || !hasFiles(event)) return
    event.preventDefault()
    reset()
    const files = Array.from(event.dataTransfer?.files ?? [])
    if (files.length > 0) onFiles(files)
  }

  const listeners = [
    ['dragenter', onEnter],
    ['dragover', onOver],
    ['dragleave', onLeave],
    ['drop', onDrop],
  ] as const

  watch(
    target,
    (el, old) => {
      for (const [type, fn] of listeners) old?.removeEventListener(type, fn as EventListener)
      for (const [type, fn] of listeners) el?.addEventListener(type, fn as EventListener)
      reset()
    },
    { immediate: true },
  )
  // A drag that ends outside the window never sends dragleave to us.
  const onWindowDrop = () => reset()
  window.addEventListener('dragend', onWindowDrop)
  window.addEventListener('drop', onWindowDrop)

  onScopeDispose(() => {
    const el = target.value
    for (const [type, fn] of listeners) el?.removeEventListener(type, fn as EventListener)
    window.removeEventListener('dragend', onWindowDrop)
    window.removeEventListener('drop', onWindowDrop)
  })

  return { dragging }
}
