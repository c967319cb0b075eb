// The agent's outbox: entries survive a restart, come back in order until acknowledged, keep
// their numbers growing, and stay within their bounds; an acknowledgement costs a short append,
// not a rewrite, and a crash mid-write loses nothing that was not acknowledged.
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../agent/outbox.js';
import { createLogger } from '../../shared/logger.js';

const logger = createLogger('silent', 'test');

/** Bytes this process has handed to write(2) so far, as the kernel counts them. */
function bytesWritten(): number {
  const match = /^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  if (!match?.[1]) throw new Error('/proc/self/io has no wchar line');
  return Number(match[1]);
}

describe('agent outbox', () => {
  const dirs: string[] = [];
  const open: Outbox[] = [];
  const dir = () => {
    const path = mkdtempSync(join(tmpdir(), 'commander-outbox-'));
    dirs.push(path);
    return path;
  };
  const outbox = (state: string, limits?: ConstructorParameters<typeof Outbox>[2]) => {
    const made = new Outbox(state, logger, limits);
    open.push(made);
    return made;
  };
  afterEach(() => {
    for (const made of open.splice(0)) made.close();
    for (const path of dirs.splice(0)) rmSync(path, { recursive: true, force: true });
  });

  it('keeps unacknowledged entries across a restart, in order, and never reuses a number', () => {
    const state = dir();
    const first = outbox(state);
    for (let i = 0; i < 5; i++) first.add('telemetry', { n: i });
    first.ack(2);
    first.ack(4);
    const again = outbox(state);
    expect(again.pending().map((e) => e.seq)).toEqual([1, 3, 5]);
    expect(again.pending().map((e) => e.body.n)).toEqual([0, 2, 4]);
    for (const entry of again.pending().slice()) again.ack(entry.seq);
    expect(outbox(state).add('report', {}).seq).toBe(6);
  });

  it('acknowledges a backlog with writes in proportion to it, not to its square', () => {
    const state = dir();
    const box = outbox(state);
    const entries = 2000;
    for (let i = 0; i < entries; i++) box.add('report', { n: i, padding: 'x'.repeat(200) });
    const size = statSync(join(state, 'outbox.jsonl')).size;
    const before = bytesWritten();
    // Oldest first, as a replay after an outage is acknowledged.
    for (let seq = 1; seq <= entries; seq++) box.ack(seq);
    const written = bytesWritten() - before;
    // Rewriting what is left after every ack writes about entries / 2 times the backlog.
    expect(written, `${written} bytes written to acknowledge a ${size}-byte backlog`).toBeLessThan(size);
    expect(box.pending()).toHaveLength(0);
    expect(outbox(state).pending()).toHaveLength(0);
  });

  it('compacts once most of the log is acknowledged, keeping what is pending', () => {
    const state = dir();
    const limits = { compactBytes: 4096 };
    const box = outbox(state, limits);
    const before = bytesWritten();
    let added = 0;
    // A steady state: entries come and are acknowledged a little later.
    for (let i = 0; i < 5000; i++) {
      const line = JSON.stringify(box.add('telemetry', { n: i, padding: 'y'.repeat(100) }));
      added += line.length + 1;
      if (i >= 10) box.ack(i - 9);
    }
    // Each byte added is written once, and rewritten at most about once by compactions.
    expect(bytesWritten() - before).toBeLessThan(3 * added);
    expect(statSync(join(state, 'outbox.jsonl')).size).toBeLessThan(3 * 4096);
    expect(box.pending().map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, k) => 4991 + k));
    const reopened = outbox(state, limits);
    expect(reopened.pending().map((e) => e.body.n)).toEqual(box.pending().map((e) => e.body.n));
    expect(reopened.add('report', {}).seq).toBe(5001);
  });

  it('keeps numbering after everything was acknowledged and compacted away', () => {
    const state = dir();
    const box = outbox(state, { compactBytes: 1 });
    for (let i = 0; i < 5; i++) box.add('report', { n: i });
    for (let seq = 1; seq <= 5; seq++) box.ack(seq);
    expect(statSync(join(state, 'outbox.jsonl')).size).toBe(0);
    expect(outbox(state).add('report', {}).seq).toBe(6);
  });

  it('ignores a line cut short by a crash, and appends after it safely', () => {
    const state = dir();
    const box = outbox(state);
    box.add('report', { a: 1 });
    box.close();
    writeFileSync(
      join(state, 'outbox.jsonl'),
      `${readFileSync(join(state, 'outbox.jsonl'), 'utf8')}{"seq":2,"ty`,
    );
    const reopened = outbox(state);
    expect(reopened.pending().map((e) => e.seq)).toEqual([1]);
    expect(reopened.add('report', { b: 2 }).seq).toBe(2);
    // The entry added after the torn line survives the next restart too.
    expect(
      outbox(state)
        .pending()
        .map((e) => [e.seq, e.body]),
    ).toEqual([
      [1, { a: 1 }],
      [2, { b: 2 }],
    ]);
  });

  it('does not take a torn acknowledgement for another one', () => {
    const state = dir();
    const box = outbox(state);
    for (let i = 0; i < 12; i++) box.add('report', { n: i });
    box.ack(12);
    box.close();
    // The crash cut "12\n" to "1": entry 1 was never acknowledged.
    const acks = join(state, 'outbox-acks');
    truncateSync(acks, statSync(acks).size - 2);
    const reopened = outbox(state);
    expect(reopened.pending().map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    reopened.ack(3);
    expect(
      outbox(state)
        .pending()
        .map((e) => e.seq),
    ).toEqual([1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('ignores what a compaction cut short left behind', () => {
    const state = dir();
    const box = outbox(state);
    for (let i = 0; i < 3; i++) box.add('report', { n: i });
    box.ack(2);
    box.close();
    writeFileSync(join(state, 'outbox.jsonl.tmp'), '{"seq":9,"type":"report","bo');
    const reopened = outbox(state);
    expect(reopened.pending().map((e) => e.seq)).toEqual([1, 3]);
    expect(existsSync(join(state, 'outbox.jsonl.tmp'))).toBe(false);
  });

  it('after a crash at any point, holds what it held, give or take the last write', () => {
    type Step = { kind: 'add' } | { kind: 'ack'; pick: number } | { kind: 'crash'; cut: number };
    const step = fc.oneof(
      { weight: 5, arbitrary: fc.constant<Step>({ kind: 'add' }) },
      { weight: 4, arbitrary: fc.nat(1000).map<Step>((pick) => ({ kind: 'ack', pick })) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 40 }).map<Step>((cut) => ({ kind: 'crash', cut })) },
    );
    fc.assert(
      // Compacting often, and rarely (then torn lines stay in the log until the next restart).
      fc.property(fc.array(step, { maxLength: 120 }), fc.constantFrom(64, 1 << 20), (steps, compactBytes) => {
        const state = dir();
        const limits = { compactBytes };
        let box = outbox(state, limits);
        const model = new Map<number, number>();
        /** The last write: what it was for, and how many bytes it appended. */
        let last: { kind: 'add' | 'ack'; seq: number; bytes: number } | undefined;
        let n = 0;
        for (const s of steps) {
          if (s.kind === 'add') {
            const entry = box.add('report', { n: ++n });
            model.set(entry.seq, n);
            last = { kind: 'add', seq: entry.seq, bytes: JSON.stringify(entry).length + 1 };
          } else if (s.kind === 'ack') {
            const seqs = [...model.keys()];
            const seq = seqs.length > 0 ? (seqs[s.pick % seqs.length] as number) : 999_999;
            box.ack(seq);
            // Acknowledging what is not held writes nothing.
            last = model.delete(seq) ? { kind: 'ack', seq, bytes: `${seq}\n`.length } : undefined;
          } else {
            box.close();
            // The process died in its last write: part of that write is missing.
            const file = join(state, last?.kind === 'ack' ? 'outbox-acks' : 'outbox.jsonl');
            const size = existsSync(file) ? statSync(file).size : 0;
            if (last) truncateSync(file, size - Math.min(s.cut, last.bytes, size));
            box = outbox(state, limits);
            const held = new Map(box.pending().map((e) => [e.seq, e.body.n as number]));
            // A torn add loses the entry it was adding (the add never returned); a torn ack
            // brings its entry back (the gateway stores an entry once, so a replay is harmless).
            if (last?.kind === 'add' && !held.has(last.seq)) model.delete(last.seq);
            if (last?.kind === 'ack' && held.has(last.seq) && !model.has(last.seq))
              model.set(last.seq, held.get(last.seq) as number);
            expect([...held]).toEqual([...model].sort((a, b) => a[0] - b[0]));
            last = undefined;
          }
        }
        box.close();
        const reopened = outbox(state, limits);
        expect(reopened.pending().map((e) => [e.seq, e.body.n])).toEqual(
          [...model].sort((a, b) => a[0] - b[0]),
        );
        const next = reopened.add('report', {}).seq;
        expect(next).toBeGreaterThan(Math.max(0, ...model.keys()));
      }),
      { numRuns: 60 },
    );
  });

  it('drops the oldest entries when full, without rewriting the log', () => {
    const state = dir();
    const box = outbox(state, { maxEntries: 3, maxBytes: 1024 * 1024 });
    for (let i = 0; i < 5; i++) box.add('telemetry', { n: i });
    expect(box.pending().map((e) => e.body.n)).toEqual([2, 3, 4]);
    expect(
      outbox(state)
        .pending()
        .map((e) => e.body.n),
    ).toEqual([2, 3, 4]);
  });
});
