/**
 * Where a failed sign-up or password change shows its error: under the
 * username (taken, refused), under the password (too weak), or above the
 * button (everything else, in the user's language).
 */
import { ApiError, describeError, NetworkError, retryHint } from '@/api/http'
import { t } from '@/i18n'

export interface FieldError {
  field: 'username' | 'password' | 'general'
  text: string
}

export function authError(error: unknown): FieldError {
  if (error instanceof NetworkError) return { field: 'general', text: t('auth.errors.network') }
  if (!(error instanceof ApiError)) return { field: 'general', text: describeError(error) }
  if (error.status === 429) {
    const hint = retryHint(error.retryAfter)
    return { field: 'general', text: error.code === 'busy' ? t('auth.errors.busy', { hint }) : t('auth.errors.tooManyRegistrations', { hint }) }
  }
  if (error.status === 409 && (error.code === 'conflict' || error.code === 'http_409')) return { field: 'username', text: t('auth.errors.usernameTaken') }
  if (error.status === 400) {
    if (/user ?name|用户名/i.test(error.message)) return { field: 'username', text: error.message }
    if (/password|密码/i.test(error.message)) return { field: 'password', text: error.message }
  }
  return { field: 'general', text: describeError(error) }
}
