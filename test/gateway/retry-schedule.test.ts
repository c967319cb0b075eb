import { describe, expect, it } from 'vitest';
import { RetrySchedule } from '../../gateway/retry-schedule.js';

describe('RetrySchedule', () => {
  const count = (values: number[]) => {
    const counts = new Map<number, number>();
    for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
    return Object.fromEntries(counts);
  };

  it('gives refused agents the next free second at the assumed rate before anything was measured', () => {
    const schedule = new RetrySchedule({ min: 5, spread: 25 });
    const now = 1_000_000;
    const answers = Array.from({ length: 300 }, () => schedule.retryAfter(512, now));
    expect(count(answers)).toEqual({ 5: 100, 6: 100, 7: 100 });
  });

  it("paces the returns by what this replica verified per second (in flight / each one's time)", () => {
    const schedule = new RetrySchedule({ min: 5, spread: 25 });
    // 512 hellos in their transactions, each taking half a second: about 1,024 a second.
    for (let i = 0; i < 50; i++) schedule.record(500);
    expect(schedule.rate(512)).toBeCloseTo(1024, 0);
    const now = 2_000_000;
    const answers = Array.from({ length: 2048 }, () => schedule.retryAfter(512, now));
    expect(count(answers)).toEqual({ 5: 1024, 6: 1024 });
    // Later refusals queue behind the slots already given.
    expect(schedule.retryAfter(512, now)).toBe(7);
  });

  it('spreads at random over the range once the slots run past its end, and bounds the rate', () => {
    const schedule = new RetrySchedule({ min: 5, spread: 25 });
    for (let i = 0; i < 50; i++) schedule.record(60_000);
    expect(schedule.rate(1)).toBe(20);
    const now = 3_000_000;
    const answers = Array.from({ length: 2000 }, () => schedule.retryAfter(1, now));
    expect(Math.min(...answers)).toBe(5);
    expect(Math.max(...answers)).toBeLessThanOrEqual(29);
    // 25 s of slots at 20 a second are given in order; the rest is spread over 5..29.
    expect(answers.slice(0, 500)).toEqual(answers.slice(0, 500).sort((a, b) => a - b));
    expect(new Set(answers.slice(600)).size).toBeGreaterThan(10);
  });
});
