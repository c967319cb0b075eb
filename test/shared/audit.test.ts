// The batched audit writer (tunnels' audit rows): order, masking, one insert and one print per
// batch, nothing lost while the table cannot be written, and what is queued stored at stop().
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, AUDIT_VOCABULARY, type AuditRecord, AuditWriter, MASK } from '../../shared/audit.js';
import { createLogger } from '../../shared/logger.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

const actor: Actor = {
  userType: 'AuthToken',
  userName: 'ops',
  remoteAddress: '127.0.0.1',
  requestUuid: null,
  workspaceId: null,
  workspaceSlug: 'main',
};

describe('audit writer', () => {
  let db: TestDatabase;
  let printed: AuditRecord[][];
  /** What the writer logged, one parsed pino line each. */
  let logged: Array<{ msg: string; rows?: number }>;
  let writer: AuditWriter;

  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(() => db.drop());

  const start = () => {
    printed = [];
    logged = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logged.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    writer = new AuditWriter(
      db.sql,
      (...records) => printed.push(records),
      createLogger('info', 'test', sink),
    );
  };
  const add = (id: string) =>
    writer.add(actor, {
      auditableType: 'Tunnel',
      auditableId: id,
      action: 'tunnel',
      changes: { target: '10.0.0.1:22', token: 'not for the log' },
    });
  const stored = async (prefix: string) =>
    db.sql<{ auditable_id: string; audited_changes: Record<string, unknown>; created_at: Date }[]>`
      select auditable_id, audited_changes, created_at from audit_records
      where auditable_id like ${`${prefix}%`} order by id`;
  const until = async (check: () => Promise<boolean>, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  it('stores 1,200 rows in order, masked, in a few batches, each printed once after it is stored', async () => {
    start();
    const ids = Array.from({ length: 1200 }, (_, i) => `order-${String(i).padStart(4, '0')}`);
    for (const id of ids) add(id);
    await until(async () => (await stored('order-')).length === ids.length, 5000);
    const rows = await stored('order-');
    expect(rows.map((row) => row.auditable_id)).toEqual(ids);
    expect(rows[0]?.audited_changes).toEqual({ target: '10.0.0.1:22', token: MASK });
    await until(async () => printed.flat().length === ids.length, 2000);
    expect(printed.flat().map((record) => record.auditable_id)).toEqual(ids);
    expect(printed.length).toBeLessThanOrEqual(4);
    await writer.stop();
  });

  it('keeps rows while the table cannot be written and stores them, in order, once it can', async () => {
    start();
    await db.sql`alter table audit_records rename to audit_records_away`;
    let restoredAt: Date;
    try {
      for (let i = 0; i < 5; i++) add(`outage-${i}`);
      // The writer tried to store them, and failed: that, not a pause, is what was waited for.
      await until(
        async () => logged.some((line) => line.msg === 'could not store audit rows; will retry'),
        5000,
      );
      expect(logged.find((line) => line.msg === 'could not store audit rows; will retry')?.rows).toBe(5);
      expect(printed).toEqual([]);
    } finally {
      restoredAt = new Date();
      await db.sql`alter table audit_records_away rename to audit_records`;
    }
    add('outage-5');
    await until(async () => (await stored('outage-')).length === 6, 5000);
    const rows = await stored('outage-');
    // created_at is when the row was added, not when its batch was finally written.
    for (const row of rows.slice(0, 5)) expect(row.created_at.getTime()).toBeLessThan(restoredAt.getTime());
    expect(rows.map((row) => row.auditable_id)).toEqual([
      'outage-0',
      'outage-1',
      'outage-2',
      'outage-3',
      'outage-4',
      'outage-5',
    ]);
    await writer.stop();
  });

  it('writes what is queued when it stops, without waiting for its timer', async () => {
    start();
    add('stop-0');
    add('stop-1');
    await writer.stop();
    expect((await stored('stop-')).map((row) => row.auditable_id)).toEqual(['stop-0', 'stop-1']);
    expect(printed.flat()).toHaveLength(2);
  });
});

describe('the audit vocabulary', () => {
  it('is the one docs/operations.md lists for people, every type and action', () => {
    const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    const listed = [...doc.matchAll(/^\| `([A-Za-z]+)` +\| `([a-z_]+)` +\|/gm)].map(
      ([, type, action]) => `${type} ${action}`,
    );
    const known = Object.entries(AUDIT_VOCABULARY).flatMap(([type, actions]) =>
      actions.map((action) => `${type} ${action}`),
    );
    expect(listed.sort()).toEqual(known.sort());
  });
});
