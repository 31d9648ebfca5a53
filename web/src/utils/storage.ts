/**
 * localStorage helpers that never throw (private mode, quota, disabled storage).
 * Blobs are read back through a schema (`readValid`): storage outlives
 * versions and can be edited or restored from elsewhere.
 */
import * as v from 'valibot'

function store(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage
  } catch {
    return null
  }
}

/**
 * Reads a JSON blob and checks it against `schema`. A blob that is not JSON
 * or fails the check is removed (it would fail again on every start) and
 * null is returned.
 */
export function readValid<T>(key: string, schema: v.GenericSchema<unknown, T>): T | null {
  const raw = readString(key)
  if (raw === null) return null
  let data: unknown
  try {
    data = JSON.parse(raw)
  } catch {
    removeKey(key)
    return null
  }
  return parseOrRemove(key, schema, data)
}

/** `readValid` for a plain string value (no JSON), e.g. the token. */
export function readValidString<T>(key: string, schema: v.GenericSchema<unknown, T>): T | null {
  const raw = readString(key)
  return raw === null ? null : parseOrRemove(key, schema, raw)
}

function parseOrRemove<T>(key: string, schema: v.GenericSchema<unknown, T>, data: unknown): T | null {
  const result = v.safeParse(schema, data)
  if (result.success) return result.output
  removeKey(key)
  return null
}

export function writeJson(key: string, value: unknown): boolean {
  try {
    store()?.setItem(key, JSON.stringify(value))
    return true
  } catch {
    return false
  }
}

export function removeKey(key: string): void {
  try {
    store()?.removeItem(key)
  } catch {
    // ignore
  }
}

export function readString(key: string): string | null {
  try {
    return store()?.getItem(key) ?? null
  } catch {
    return null
  }
}

export function writeString(key: string, value: string): void {
  try {
    store()?.setItem(key, value)
  } catch {
    // ignore
  }
}
