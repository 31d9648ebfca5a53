/** Route parameters, checked (they come from URLs anyone can edit or share). */

/** The `:id` of `/rooms/:id`, or null when it is not a room id (shown as not found). */
export function parseRoomId(value: unknown): number | null {
  const text = Array.isArray(value) ? value[0] : value
  if (typeof text !== 'string' || !/^\d{1,15}$/.test(text)) return null
  const id = Number(text)
  return id > 0 ? id : null
}

/** Where to go after logging in: a path inside the app (never another site). */
export function safeRedirect(value: unknown): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') ? value : '/'
}
