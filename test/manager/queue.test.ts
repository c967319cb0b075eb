import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TaskQueue } from '../../manager/queue.js';
import { noopTask } from '../../manager/tasks/noop.js';
import { PermanentError, Worker } from '../../manager/worker.js';
import { createLogger } from '../../shared/logger.js';
import { ensureWorkspace } from '../../shared/workspaces.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

describe('task queue', () => {
  let db: TestDatabase;
  let workspace: string;

  beforeAll(async () => {
    db = await freshDatabase();
    ({ id: workspace } = await ensureWorkspace(db.sql, 'q'));
  });
  afterAll(() => db.drop());

  const cluster = async () => {
    const [row] =
      await db.sql`insert into clusters (workspace_id, name) values (${workspace}, ${`c-${Math.random()}`}) returning id`;
    return row?.id as string;
  };
  const task = async (clusterId: string, params: object = {}, extra: { max_attempts?: number } = {}) => {
    const [row] = await db.sql`insert into tasks (cluster_id, kind, params, max_attempts)
      values (${clusterId}, 'noop', ${db.sql.json(params as never)}, ${extra.max_attempts ?? 5}) returning id`;
    return row?.id as string;
  };
  const statusOf = async (id: string) =>
    (await db.sql`select * from tasks where id = ${id}`)[0] as Record<string, any>;

  it('claims the oldest task, never two of one cluster at once', async () => {
    const a = await cluster();
    const b = await cluster();
    const first = await task(a);
    const second = await task(a);
    const other = await task(b);
    const one = new TaskQueue(db.sql, 'one', 10_000);
    const two = new TaskQueue(db.sql, 'two', 10_000);
    const [x, y, z] = await Promise.all([one.claim(['noop']), two.claim(['noop']), one.claim(['noop'])]);
    const claimed = [x?.id, y?.id, z?.id].filter(Boolean).sort();
    expect(claimed).toEqual([first, other].sort());
    expect(claimed).not.toContain(second);
    expect(await one.claim(['install'])).toBeUndefined();
    await db.sql`update tasks set status = 'succeeded' where id in ${db.sql([first, other])}`;
    expect((await two.claim(['noop']))?.id).toBe(second);
  });

  it('takes over a task whose lease expired, and the old owner can no longer touch it', async () => {
    const c = await cluster();
    const id = await task(c);
    // Long enough that the claim right after the first one cannot come after it expired.
    const dead = new TaskQueue(db.sql, 'dead', 1000);
    const alive = new TaskQueue(db.sql, 'alive', 10_000);
    expect((await dead.claim(['noop']))?.id).toBe(id);
    expect(await alive.claim(['noop'])).toBeUndefined();
    // The lease runs out in real time: claim until it has.
    const taken = await vi.waitFor(
      async () => {
        const task = await alive.claim(['noop']);
        if (!task) throw new Error('the lease has not expired yet');
        return task;
      },
      { timeout: 15_000, interval: 50 },
    );
    expect(taken.id).toBe(id);
    expect(taken.attempts).toBe(2);
    expect(await dead.renew(id)).toBe('lost');
    expect(await dead.succeed(id)).toBe(false);
    expect(await alive.succeed(id)).toBe(true);
    expect((await statusOf(id)).status).toBe('succeeded');
  });

  it('retries with backoff, then fails for good after max_attempts', async () => {
    const c = await cluster();
    const id = await task(c, {}, { max_attempts: 2 });
    const queue = new TaskQueue(db.sql, 'r', 10_000);
    const first = await queue.claim(['noop']);
    const failing = Date.now();
    expect(await queue.fail(first as never, 'boom', true)).toBe('retry');
    const failed = Date.now();
    expect(await queue.claim(['noop'])).toBeUndefined(); // not before its time
    const row = await statusOf(id);
    expect(row.status).toBe('pending');
    // The first retry waits a second from the failure, which the database stamped while fail()
    // ran (PostgreSQL's clock and ours are the machine's): not a wall-clock bound on anything.
    const retryFrom = new Date(row.run_after).getTime() - 1000;
    expect(retryFrom).toBeGreaterThanOrEqual(failing);
    expect(retryFrom).toBeLessThanOrEqual(failed);
    await db.sql`update tasks set run_after = now() where id = ${id}`;
    const second = await queue.claim(['noop']);
    expect(await queue.fail(second as never, 'boom again', true)).toBe('failed');
    expect(await statusOf(id)).toMatchObject({ status: 'failed', error: 'boom again', attempts: 2 });
  });

  it('keeps the newest end of a long log', async () => {
    const c = await cluster();
    const id = await task(c);
    const queue = new TaskQueue(db.sql, 'log', 10_000);
    await queue.claim(['noop']);
    await queue.appendLog(id, 'x'.repeat(300 * 1024));
    await queue.appendLog(id, 'the end');
    const log = (await statusOf(id)).log as string;
    expect(log.length).toBe(256 * 1024);
    expect(log.endsWith('the end')).toBe(true);
  });
});

describe('worker', () => {
  let db: TestDatabase;
  let workspace: string;
  beforeAll(async () => {
    db = await freshDatabase();
    ({ id: workspace } = await ensureWorkspace(db.sql, 'w'));
  });
  afterAll(() => db.drop());

  async function newTask(params: object = {}, kind = 'noop') {
    const [c] =
      await db.sql`insert into clusters (workspace_id, name) values (${workspace}, ${`c-${Math.random()}`}) returning id`;
    const [t] =
      await db.sql`insert into tasks (cluster_id, kind, params) values (${c?.id}, ${kind}, ${db.sql.json(params as never)}) returning id`;
    return t?.id as string;
  }
  /** Waits for the status; far less than the worker's 60 s poll, so only a NOTIFY can wake it in time. */
  async function waitFor(id: string, status: string) {
    await vi.waitFor(
      async () => {
        const [row] = await db.sql`select status from tasks where id = ${id}`;
        expect(row?.status, `task ${id}`).toBe(status);
      },
      { timeout: 20_000, interval: 50 },
    );
  }

  it('wakes on NOTIFY (no polling), runs the task, masks secrets, and handles failures and cancellation', async () => {
    const secret = 'super-secret-value-123';
    const worker = new Worker({
      sql: db.sql,
      queue: new TaskQueue(db.sql, 'worker', 2000),
      logger: createLogger('silent', 'test'),
      pollMs: 60_000,
      secrets: () => [secret],
      handlers: {
        noop: noopTask,
        reconcile: async ({ log }) => {
          await log(`using ${secret}`);
          throw new PermanentError(`bad settings near ${secret}`);
        },
      },
    });
    await worker.start();
    try {
      // The worker found nothing and sleeps, for its 60 s poll: the task below can wake it only
      // through the NOTIFY its insert sends.
      await vi.waitFor(() => expect((worker as unknown as { wake?: () => void }).wake).toBeDefined());
      const ok = await newTask();
      await waitFor(ok, 'succeeded');

      const bad = await newTask({}, 'reconcile');
      await waitFor(bad, 'failed');
      const [failed] = await db.sql`select log, error, attempts from tasks where id = ${bad}`;
      expect(failed?.log).not.toContain(secret);
      expect(failed?.log).toContain('[FILTERED]');
      expect(failed?.error).toBe('bad settings near [FILTERED]');
      expect(failed?.attempts).toBe(1);

      const slow = await newTask({ sleep_ms: 5000 });
      await waitFor(slow, 'running');
      await db.sql`update tasks set cancel_requested = true where id = ${slow}`;
      await waitFor(slow, 'cancelled');
    } finally {
      await worker.stop();
    }
  });

  it("keeps a chatty task's lines in order and writes them in a few updates, not one per line", async () => {
    class CountingQueue extends TaskQueue {
      appends = 0;
      override async appendLog(taskId: string, text: string): Promise<void> {
        this.appends += 1;
        await super.appendLog(taskId, text);
      }
    }
    const queue = new CountingQueue(db.sql, 'chatty', 10_000);
    const worker = new Worker({
      sql: db.sql,
      queue,
      logger: createLogger('silent', 'test'),
      handlers: {
        // As a command's output arrives: every line logged, none awaited, then a last one awaited.
        delete: async ({ log }) => {
          for (let i = 0; i < 3000; i += 1) void log(`| line ${i}`);
          await log('done');
        },
      },
    });
    await worker.start();
    try {
      const id = await newTask({}, 'delete');
      await waitFor(id, 'succeeded');
      const [row] = await db.sql`select log from tasks where id = ${id}`;
      const logged = String(row?.log ?? '')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' ').slice(1).join(' '));
      expect(logged).toEqual([...Array.from({ length: 3000 }, (_, i) => `| line ${i}`), 'done']);
      expect(queue.appends).toBeLessThan(10);
    } finally {
      await worker.stop();
    }
  });
});
