// Reconnect delays: jittered, growing to the cap, and a Retry-After honoured within bounds.
import { describe, expect, it } from 'vitest';
import { Backoff, MAX_RETRY_AFTER_MS } from '../../agent/backoff.js';

describe('agent backoff', () => {
  it('grows from half a second to the cap, with jitter in the upper half, and starts over on reset', () => {
    const backoff = new Backoff(500, 60_000);
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(60_000, 500 * 2 ** attempt);
      const delay = backoff.next();
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
    backoff.reset();
    expect(backoff.next()).toBeLessThanOrEqual(500);
  });

  it("honours a gateway's Retry-After as a floor", () => {
    const delay = new Backoff().next(20_000);
    expect(delay).toBeGreaterThanOrEqual(20_000);
    expect(delay).toBeLessThanOrEqual(21_000);
  });

  it('waits out no Retry-After longer than its bound, and ignores one that is not a positive number', () => {
    for (const huge of [10 * 24 * 3600 * 1000, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY]) {
      expect(new Backoff().next(huge)).toBeLessThanOrEqual(MAX_RETRY_AFTER_MS + 1000);
    }
    for (const bad of [Number.NaN, -5, 0]) expect(new Backoff().next(bad)).toBeLessThanOrEqual(500);
  });
});
