// When an agent refused for load (503) should come back: each refusal gets the next free slot of
// what this replica verifies per second, so a reconnect storm returns at the rate it can take
// rather than spread at random over the whole Retry-After range.

export interface RetryRange {
  /** Seconds: the shortest Retry-After, and how far above it one may go (shared/wire/limits.ts). */
  min: number;
  spread: number;
}

/** Handshakes per second assumed before any was measured, and the bounds of the estimate. */
const RATE = { initial: 100, min: 20, max: 5_000 } as const;

export class RetrySchedule {
  /** Epoch ms of the next free return slot. */
  private next = 0;
  /** Mean duration of a verified hello's database work (ms), as an exponential moving average. */
  private latencyMs: number | undefined;

  constructor(private readonly range: RetryRange) {}

  /** A verified hello's database work took this long (with `inFlight` such hellos at its start). */
  record(ms: number): void {
    this.latencyMs = this.latencyMs === undefined ? ms : 0.8 * this.latencyMs + 0.2 * ms;
  }

  /**
   * Hellos per second this replica gets through with `inFlight` of them in their transactions
   * (Little's law: in flight / time each takes).
   */
  rate(inFlight: number): number {
    if (this.latencyMs === undefined) return RATE.initial;
    const rate = Math.max(1, inFlight) / (Math.max(1, this.latencyMs) / 1000);
    return Math.min(RATE.max, Math.max(RATE.min, rate));
  }

  /**
   * The Retry-After (whole seconds) for one more refusal: the next free slot at the current rate,
   * at least `min` from now. Slots beyond the range's end are spread at random over the range, as
   * before (the agent adds up to a second of its own jitter).
   */
  retryAfter(inFlight: number, now = Date.now()): number {
    const { min, spread } = this.range;
    const earliest = now + min * 1000;
    const slot = Math.max(earliest, this.next);
    // The agent adds 0..1 s of jitter, so a slot within [n, n + 1) s is told n.
    const seconds = Math.floor((slot - now) / 1000);
    if (seconds >= min + spread) return min + Math.floor(Math.random() * spread);
    this.next = slot + 1000 / this.rate(inFlight);
    return seconds;
  }
}
