/** `useMediaQuery(query)`: whether a CSS media query matches, kept current. */
import { onScopeDispose, ref, type Ref } from 'vue'

export function useMediaQuery(query: string): Readonly<Ref<boolean>> {
  const list = typeof window !== 'undefined' && window.matchMedia ? window.matchMedia(query) : null
  const matches = ref(list?.matches ?? false)
  const onChange = (event: MediaQueryListEvent) => (matches.value = event.matches)
  list?.addEventListener?.('change', onChange)
  onScopeDispose(() => list?.removeEventListener?.('change', onChange))
  return matches
}

/** Phones: the room list becomes a drawer. */
export const PHONE_QUERY = '(max-width: 768px)'
