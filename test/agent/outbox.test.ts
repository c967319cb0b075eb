// The agent's outbox: entries survive a restart, come back in order until acknowledged, keep
// their numbers growing, and stay within their bounds.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../agent/outbox.js';
import { createLogger } from '../../shared/logger.js';

const logger = createLogger('silent', 'test');

describe('agent outbox', () => {
  const dirs: string[] = [];
  const dir = () => {
    const path = mkdtempSync(join(tmpdir(), 'commander-outbox-'));
    dirs.push(path);
    return path;
  };
  afterEach(() => {
    for (const path of dirs.splice(0)) rmSync(path, { recursive: true, force: true });
  });

  it('keeps unacknowledged entries across a restart, in order, and never reuses a number', () => {
    const state = dir();
    const first = new Outbox(state, logger);
    for (let i = 0; i < 5; i++) first.add('telemetry', { n: i });
    first.ack(2);
    first.ack(4);
    const again = new Outbox(state, logger);
    expect(again.pending().map((e) => e.seq)).toEqual([1, 3, 5]);
    expect(again.pending().map((e) => e.body.n)).toEqual([0, 2, 4]);
    for (const entry of again.pending().slice()) again.ack(entry.seq);
    expect(new Outbox(state, logger).add('report', {}).seq).toBe(6);
  });

  it('survives a line cut short by a crash', () => {
    const state = dir();
    const outbox = new Outbox(state, logger);
    outbox.add('report', { a: 1 });
    writeFileSync(
      join(state, 'outbox.jsonl'),
      `${readFileSync(join(state, 'outbox.jsonl'), 'utf8')}{"seq":2,"ty`,
    );
    const reopened = new Outbox(state, logger);
    expect(reopened.pending().map((e) => e.seq)).toEqual([1]);
    expect(reopened.add('report', {}).seq).toBe(2);
  });

  it('drops the oldest entries when full', () => {
    const outbox = new Outbox(dir(), logger, { maxEntries: 3, maxBytes: 1024 * 1024 });
    for (let i = 0; i < 5; i++) outbox.add('telemetry', { n: i });
    expect(outbox.pending().map((e) => e.body.n)).toEqual([2, 3, 4]);
  });
});
