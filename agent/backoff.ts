// Reconnect delays: exponential with equal jitter (between half and all of the ceiling),
// capped at 60 s, reset after a good connection.

/** The longest Retry-After the agent waits out. */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs = 500,
    private readonly capMs = 60_000,
  ) {}

  /**
   * The next delay; a server's Retry-After (ms) is honoured as a floor, up to MAX_RETRY_AFTER_MS:
   * whatever answers for the gateway (a proxy, say) cannot park the agent for days.
   */
  next(retryAfterMs?: number): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    const jittered = ceiling / 2 + Math.random() * (ceiling / 2);
    if (retryAfterMs === undefined || !(retryAfterMs > 0)) return jittered;
    return Math.max(Math.min(retryAfterMs, MAX_RETRY_AFTER_MS), jittered) + Math.random() * 1000;
  }

  reset(): void {
    this.attempt = 0;
  }
}
