// @vitest-environment node
// (node: under happy-dom, Vite rewrites `new URL(…, import.meta.url)` into an http asset URL.)
/**
 * The content rules shared with the server: tests/fixtures/content_cases.json
 * (repository root) drives both the Rust tests and this one.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { contentProblem, normalizeContent } from '@/utils/content'

interface ContentCase {
  name: string
  input?: string
  unit?: string
  times?: number
  around?: string
  server: string
  stored?: string
  client: 'ok' | 'empty' | 'too_long'
  normalized?: string
}

const table = JSON.parse(
  readFileSync(new URL('../../../tests/fixtures/content_cases.json', import.meta.url), 'utf8'),
) as { about: string; cases: ContentCase[] }

/** The raw input: `input`, or `unit` repeated `times` wrapped in `around`. */
function buildInput(c: ContentCase): string {
  if (c.input !== undefined) return c.input
  const around = c.around ?? ''
  return around + (c.unit ?? '').repeat(c.times ?? 0) + around
}

/** What the client should send for an `ok` case: `normalized`, else the input trimmed / the repeated unit. */
function expectedNormalized(c: ContentCase): string {
  if (c.normalized !== undefined) return c.normalized
  return c.input !== undefined ? c.input.trim() : (c.unit ?? '').repeat(c.times ?? 0)
}

describe('content rules shared with the server (content_cases.json)', () => {
  it('has cases', () => {
    expect(table.cases.length).toBeGreaterThan(0)
  })

  it.each(table.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const normalized = normalizeContent(buildInput(c))
    expect(contentProblem(normalized) ?? 'ok').toBe(c.client)
    if (c.client === 'ok') expect(normalized).toBe(expectedNormalized(c))
  })
})
