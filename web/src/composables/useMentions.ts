/**
 * `useMentions`: @mention completion for the message box. Typing `@` opens a
 * list of the room's members, filtered by what follows (any letter case, CJK
 * names too); ↑/↓ move, Enter or Tab pick, Esc closes. Picking replaces the
 * `@query` with `@username ` (a trailing space).
 *
 * `@everyone` / `@所有人` are offered only where the sender may use them
 * (`allowEveryone`: an admin, or a room of at most `everyone_max_members`).
 */
import { computed, ref, toValue, type MaybeRefOrGetter } from 'vue'
import type { PresenceUser } from '@/api/types'
import { t } from '@/i18n'

export interface MentionOption {
  /** Test id suffix and list key: the user's id, `everyone` or `everyone-zh`. */
  key: string
  /** Inserted after `@`. */
  name: string
  /** Shown under the name (`@everyone`: who it reaches). */
  hint: string
  userId: number | null
}

export interface MentionEdit {
  text: string
  caret: number
}

/** At most this many options are listed. */
const LIMIT = 8
/** The longest query followed (a username has at most 32 characters). */
const MAX_QUERY = 32

/** `@everyone` and `@所有人` (the words the server knows in any language); the hint is in the user's. */
function everyone(): MentionOption[] {
  const hint = t('conversation.mentionEveryone')
  return [
    { key: 'everyone', name: 'everyone', hint, userId: null },
    { key: 'everyone-zh', name: '所有人', hint, userId: null },
  ]
}

/**
 * The `@query` that ends at `caret`, or null. The `@` starts the text or
 * follows anything but a Latin letter or digit (so `bob@example` is not one,
 * `请@张三` is); the query has no spaces.
 */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret)
  const at = before.lastIndexOf('@')
  if (at < 0) return null
  const query = before.slice(at + 1)
  if (query.length > MAX_QUERY || /[\s@]/.test(query)) return null
  if (at > 0 && /[A-Za-z0-9_.-]/.test(before[at - 1]!)) return null
  return { start: at, query }
}

/** Options matching `query`: names that start with it first, then names that contain it. */
export function filterMentions(options: readonly MentionOption[], query: string): MentionOption[] {
  const q = query.toLowerCase()
  const starts: MentionOption[] = []
  const contains: MentionOption[] = []
  for (const o of options) {
    const name = o.name.toLowerCase()
    if (name.startsWith(q)) starts.push(o)
    else if (q && name.includes(q)) contains.push(o)
  }
  return [...starts, ...contains].slice(0, LIMIT)
}

export function useMentions(members: MaybeRefOrGetter<readonly PresenceUser[]>, meId: MaybeRefOrGetter<number | null>, allowEveryone: MaybeRefOrGetter<boolean>) {
  const open = ref(false)
  const query = ref('')
  const start = ref(0)
  const active = ref(0)

  const options = computed<MentionOption[]>(() => {
    const me = toValue(meId)
    const people = toValue(members)
      .filter((u) => u.id !== me)
      .map((u) => ({ key: String(u.id), name: u.username, hint: '', userId: u.id }))
      .sort((a, b) => a.name.localeCompare(b.name, 'zh-CN'))
    return toValue(allowEveryone) ? [...people, ...everyone()] : people
  })
  const items = computed(() => (open.value ? filterMentions(options.value, query.value) : []))

  /** The text or the caret changed: open, follow or close the list. */
  function update(text: string, caret: number): void {
    const found = mentionQuery(text, caret)
    if (!found) {
      close()
      return
    }
    if (!open.value || found.start !== start.value || found.query !== query.value) active.value = 0
    open.value = true
    query.value = found.query
    start.value = found.start
    if (items.value.length === 0) open.value = false
  }

  function close(): void {
    open.value = false
    active.value = 0
  }

  function move(delta: number): void {
    const n = items.value.length
    if (n > 0) active.value = (active.value + delta + n) % n
  }

  /** The text with `option` (default: the active one) in place of `@query`, and where the caret goes. */
  function pick(text: string, option?: MentionOption): MentionEdit | null {
    const chosen = option ?? items.value[active.value]
    if (!open.value || !chosen) return null
    const end = start.value + 1 + query.value.length
    const inserted = `@${chosen.name} `
    // A space the text already has after the query is not doubled.
    const rest = text.slice(end).replace(/^ /, '')
    close()
    return { text: text.slice(0, start.value) + inserted + rest, caret: start.value + inserted.length }
  }

  /**
   * Keyboard handling while the list is open. Returns what the key did:
   * `pick` (the caller applies `pick(text)`), `handled` (nothing more to do),
   * or null (not ours: the caller handles it).
   */
  function onKey(event: KeyboardEvent): 'pick' | 'handled' | null {
    if (!open.value || items.value.length === 0 || event.isComposing || event.keyCode === 229) return null
    switch (event.key) {
      case 'ArrowDown':
        move(1)
        return 'handled'
      case 'ArrowUp':
        move(-1)
        return 'handled'
      case 'Enter':
      case 'Tab':
        if (event.shiftKey) return null
        return 'pick'
      case 'Escape':
        close()
        return 'handled'
      default:
        return null
    }
  }

  return { open, query, active, items, update, close, move, pick, onKey }
}

export type Mentions = ReturnType<typeof useMentions>
