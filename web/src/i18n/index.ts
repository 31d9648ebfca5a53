/**
 * The UI's languages (vue-i18n, Composition API): zh-CN and en.
 *
 * - Messages: `locales/<locale>/<area>.ts`, merged by each locale's
 *   `index.ts`. The English tree is typed against the Chinese one, so a key
 *   missing in either is a type error (and `tests/unit/i18n.test.ts` also
 *   checks keys and `{placeholders}`).
 * - Which language: the choice remembered in localStorage (`hearth.locale`),
 *   else the browser's first language (`zh*` → zh-CN, anything else → en).
 *   `<html lang>` and the page title follow it.
 * - Components use `useI18n()` / `$t`; other code (stores, composables,
 *   utils) uses `t` from here, which reads the same global instance (and is
 *   reactive: a computed that calls it recomputes when the language changes).
 *
 * Messages are strings compiled by vue-i18n's JIT compiler, which builds an
 * AST and evaluates it (no `eval` / `new Function`): it runs under the
 * server's CSP `script-src 'self'`.
 */
import { computed, watch } from 'vue'
import { createI18n } from 'vue-i18n'
import { readString, writeString } from '@/utils/storage'
import * as enAreas from './locales/en'
import * as zhAreas from './locales/zh-CN'

const zhCN = { ...zhAreas }
/** The shape every language has: the Chinese messages'. */
export type Messages = typeof zhCN
const en: Messages = { ...enAreas }

export const LOCALES = ['zh-CN', 'en'] as const
export type AppLocale = (typeof LOCALES)[number]
/** Each language's name in itself (the switch shows these). */
export const LOCALE_NAMES: Readonly<Record<AppLocale, string>> = { 'zh-CN': '简体中文', en: 'English' }
/** localStorage key of the user's explicit choice. */
export const LOCALE_KEY = 'hearth.locale'

export function isAppLocale(value: unknown): value is AppLocale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value)
}

/** The language for the browser's preferred ones: the first decides (`zh`, `zh-TW`, … → zh-CN; anything else → en). */
export function localeFromLanguages(languages: readonly string[] | undefined): AppLocale {
  const first = languages?.find((l) => typeof l === 'string' && l.trim() !== '')
  return first !== undefined && /^zh(?:[-_]|$)/i.test(first.trim()) ? 'zh-CN' : 'en'
}

/** The remembered choice, if any (an invalid value is ignored). */
export function storedLocale(): AppLocale | null {
  const value = readString(LOCALE_KEY)
  return isAppLocale(value) ? value : null
}

function browserLanguages(): readonly string[] {
  if (typeof navigator === 'undefined') return []
  if (Array.isArray(navigator.languages) && navigator.languages.length > 0) return navigator.languages
  return navigator.language ? [navigator.language] : []
}

/** The remembered choice, else the browser's language. */
export function detectLocale(): AppLocale {
  return storedLocale() ?? localeFromLanguages(browserLanguages())
}

export const i18n = createI18n({
  legacy: false,
  locale: detectLocale(),
  fallbackLocale: 'en',
  messages: { 'zh-CN': zhCN, en } as Record<AppLocale, Messages>,
})

type Join<P extends string, K extends string> = P extends '' ? K : `${P}.${K}`
/** Dotted paths to the leaves of a message tree. */
type Leaves<T, P extends string = ''> = {
  [K in keyof T & string]: T[K] extends string ? Join<P, K> : Leaves<T[K], Join<P, K>>
}[keyof T & string]
/** Every message key, e.g. `chat.status.connected`. */
export type MessageKey = Leaves<Messages>

/** Named values of `{placeholders}`. */
export type MessageParams = Record<string, unknown>

/**
 * Translates `key` in the current language, for code outside components.
 * `plural` picks the form of a message with `|` (English counts).
 */
export function t(key: MessageKey, params: MessageParams = {}, plural?: number): string {
  return plural === undefined ? i18n.global.t(key, params) : i18n.global.t(key, params, plural)
}

/** Whether `key` (built at run time, e.g. from an error code) is a message of the current language. */
export function hasMessage(key: string): boolean {
  return i18n.global.te(key)
}

/** The current language (reactive). */
export const currentLocale = computed<AppLocale>(() => {
  const value = i18n.global.locale.value
  return isAppLocale(value) ? value : 'en'
})

/** The current language, read once (non-reactive call sites read it the same way). */
export function getLocale(): AppLocale {
  return currentLocale.value
}

/** A list of names in the current language: `张三、李四` / `Amy, Ben`. */
export function joinNames(names: readonly string[]): string {
  return names.join(t('common.listSeparator'))
}

/** Switches the UI's language at once; `remember` (default) keeps the choice in localStorage. */
export function setLocale(locale: AppLocale, options: { remember?: boolean } = {}): void {
  i18n.global.locale.value = locale
  if (options.remember !== false) writeString(LOCALE_KEY, locale)
}

const DOCUMENT_TITLES = new Set<string>(LOCALES.map((l) => i18n.global.t('common.documentTitle', {}, { locale: l })))

/** `<html lang>`, and the page title while it is the app's plain title (a signed-in page shows its unread count instead). */
function applyToDocument(locale: AppLocale): void {
  if (typeof document === 'undefined') return
  document.documentElement.lang = locale
  if (document.title === '' || DOCUMENT_TITLES.has(document.title)) document.title = t('common.documentTitle')
}

watch(currentLocale, applyToDocument, { immediate: true, flush: 'sync' })

// Another tab switched the language: follow it.
if (typeof window !== 'undefined') {
  window.addEventListener('storage', (event) => {
    if (event.key === LOCALE_KEY && isAppLocale(event.newValue)) setLocale(event.newValue, { remember: false })
  })
}

/** The plain title of the app in the current language (what the tab shows when nothing is unread outside a room). */
export function documentTitle(): string {
  return t('common.documentTitle')
}
