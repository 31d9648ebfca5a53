/**
 * Form rules of the pages that create an account or set a password (setup,
 * invitation, password link, account settings): the server's username and
 * password rules, and the confirmation. Reactive: the texts follow the language.
 */
import { computed, type ComputedRef } from 'vue'
import type { FormItemRule } from 'element-plus'
import { t } from '@/i18n'

export const USERNAME_PATTERN = /^[\p{L}\p{N}_.-]+$/u

function charLength(value: string): number {
  return [...value].length
}

/** Why a username is refused, or null. */
export function usernameProblem(value: string): string | null {
  const n = charLength(value.trim())
  if (n < 2 || n > 32) return t('auth.rules.usernameLength')
  if (!USERNAME_PATTERN.test(value.trim())) return t('auth.rules.usernameChars')
  return null
}

/** Why a new password is refused, or null. */
export function passwordProblem(value: string): string | null {
  const n = charLength(value)
  return n < 8 || n > 128 ? t('auth.rules.passwordLength') : null
}

type Validator = (rule: unknown, value: string, callback: (error?: Error) => void) => void

function check(problem: (value: string) => string | null): Validator {
  return (_rule, value, callback) => {
    const text = problem(value ?? '')
    callback(text === null ? undefined : new Error(text))
  }
}

/** Rules for `username`, `password` (a new one) and `confirm` (equal to `password()`). */
export function useAccountRules(password: () => string): ComputedRef<Record<'username' | 'password' | 'confirm', FormItemRule[]>> {
  return computed(() => ({
    username: [
      { required: true, message: t('auth.rules.usernameRequired'), trigger: 'blur' },
      { validator: check(usernameProblem), trigger: 'blur' },
    ],
    password: [
      { required: true, message: t('auth.rules.passwordRequired'), trigger: 'blur' },
      { validator: check(passwordProblem), trigger: 'blur' },
    ],
    confirm: [
      { required: true, message: t('auth.rules.confirmRequired'), trigger: 'blur' },
      { validator: check((value) => (value !== password() ? t('auth.rules.confirmMismatch') : null)), trigger: 'blur' },
    ],
  }))
}
