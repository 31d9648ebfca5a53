/** A tiny typed event emitter: `on` returns its own unsubscribe function. */
export type Listener<T> = (payload: T) => void

export interface Emitter<Events extends object> {
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void
  off<K extends keyof Events>(type: K, listener: Listener<Events[K]>): void
  emit<K extends keyof Events>(type: K, payload: Events[K]): void
  clear(): void
}

export function createEmitter<Events extends object>(): Emitter<Events> {
  const listeners = new Map<keyof Events, Set<Listener<never>>>()

  function off<K extends keyof Events>(type: K, listener: Listener<Events[K]>): void {
    listeners.get(type)?.delete(listener as Listener<never>)
  }

  return {
    on(type, listener) {
      let set = listeners.get(type)
      if (!set) {
        set = new Set()
        listeners.set(type, set)
      }
      set.add(listener as Listener<never>)
      return () => off(type, listener)
    },
    off,
    emit(type, payload) {
      const set = listeners.get(type)
      if (!set) return
      for (const listener of [...set]) {
        try {
          ;(listener as Listener<typeof payload>)(payload)
        } catch (error) {
          console.error(`[hearth] listener for "${String(type)}" failed`, error)
        }
      }
    },
    clear() {
      listeners.clear()
    },
  }
}
