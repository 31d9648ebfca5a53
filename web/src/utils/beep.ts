/** A short notification beep made with WebAudio (no sound file). */

type AudioContextClass = typeof AudioContext

let context: AudioContext | null = null

function audioClass(): AudioContextClass | undefined {
  const w = globalThis as typeof globalThis & { webkitAudioContext?: AudioContextClass }
  return w.AudioContext ?? w.webkitAudioContext
}

/** The shared context; created (or resumed) inside a click it is allowed to play later. */
export function unlockAudio(): AudioContext | null {
  const Ctx = audioClass()
  if (!Ctx) return null
  try {
    context ??= new Ctx()
    if (context.state === 'suspended') void context.resume().catch(() => {})
  } catch {
    context = null
  }
  return context
}

/** Plays a soft two-tone beep (~0.25 s). Silently does nothing where audio is unavailable or blocked. */
export function beep(): void {
  const ctx = unlockAudio()
  if (!ctx) return
  try {
    const now = ctx.currentTime
    const gain = ctx.createGain()
    gain.connect(ctx.destination)
    gain.gain.setValueAtTime(0.0001, now)
    gain.gain.exponentialRampToValueAtTime(0.15, now + 0.02)
    gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.25)
    const osc = ctx.createOscillator()
    osc.type = 'sine'
    osc.frequency.setValueAtTime(880, now)
    osc.frequency.setValueAtTime(1320, now + 0.1)
    osc.connect(gain)
    osc.start(now)
    osc.stop(now + 0.26)
  } catch {
    // ignore: a blocked or closed context
  }
}
