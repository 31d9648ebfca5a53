/** Exponential backoff with jitter, shared by the WebSocket and polling transports. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. Default 500. */
  initialDelay?: number
  /** Upper bound of the un-jittered delay, in ms. Default 20000. */
  maxDelay?: number
  /** Growth factor per attempt. Default 2. */
  factor?: number
  /**
   * Relative jitter: the delay is drawn uniformly from
   * `[base × (1 − jitter), base × (1 + jitter)]`. Default 0.25, so retries
   * of many clients after a server restart spread out instead of arriving
   * together.
   */
  jitter?: number
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = {
  initialDelay: 500,
  maxDelay: 20_000,
  factor: 2,
  jitter: 0.25,
}

/** Delay in ms before retry number `attempt` (0-based). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const { initialDelay, maxDelay, factor, jitter } = { ...DEFAULT_BACKOFF, ...options }
  const exp = Math.min(Math.max(attempt, 0), 30)
  const base = Math.min(maxDelay, initialDelay * Math.pow(factor, exp))
  const j = Math.min(Math.max(jitter, 0), 1)
  return Math.round(base * (1 - j + 2 * j * random()))
}
