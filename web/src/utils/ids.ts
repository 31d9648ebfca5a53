/**
 * A new `client_id` (UUID v4). `crypto.randomUUID` only exists in secure
 * contexts, and Hearth is often opened over plain http on a LAN address, so
 * fall back to `crypto.getRandomValues`, which works everywhere.
 */
export function createClientId(): string {
  const c = globalThis.crypto as Crypto | undefined
  if (c && typeof c.randomUUID === 'function' && globalThis.isSecureContext !== false) {
    try {
      return c.randomUUID()
    } catch {
      // fall through
    }
  }
  const bytes = new Uint8Array(16)
  if (c && typeof c.getRandomValues === 'function') {
    c.getRandomValues(bytes)
  } else {
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256)
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x40
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * The subject of a JWT, read without verifying it (only used to keep each
 * user's local cache and outbox apart). Null when the token is not a JWT.
 */
export function tokenSubject(token: string): string | null {
  const payload = token.split('.')[1]
  if (!payload) return null
  try {
    const b64 = payload.replace(/-/g, '+').replace(/_/g, '/')
    const json = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))) as Record<string, unknown>
    const sub = json.sub ?? json.uid ?? json.user_id ?? json.username
    return typeof sub === 'string' || typeof sub === 'number' ? String(sub) : null
  } catch {
    return null
  }
}

/** A short, stable, non-reversible tag of a string (FNV-1a), for storage keys. */
export function shortHash(text: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0).toString(36)
}
