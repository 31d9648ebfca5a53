/** Waiting out a `429` in place (history pages): the reader should not see a failure for a short throttle. */
import { ApiError, retryAfterMs } from '@/api/http'

export interface RetryAfterOptions {
  /** Retries after the first 429. Default 2. */
  retries?: number
  /** A `Retry-After` longer than this (ms) is not waited for: the error reaches the caller. Default 15000. */
  maxWait?: number
  /** Checked after each wait: true makes it give up quietly (resolves undefined). */
  cancelled?: () => boolean
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Runs `call`; a 429 is waited out (`Retry-After`, at least 0.5 s) and retried. */
export async function withRetryAfter<T>(call: () => Promise<T>, options: RetryAfterOptions = {}): Promise<T | undefined> {
  const retries = options.retries ?? 2
  const maxWait = options.maxWait ?? 15_000
  for (let attempt = 0; ; attempt++) {
    try {
      return await call()
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 429 || attempt >= retries) throw error
      const wait = retryAfterMs(error)
      if (wait > maxWait) throw error
      if (options.cancelled?.()) return undefined
      await sleep(Math.max(wait, 500))
      if (options.cancelled?.()) return undefined
    }
  }
}
