// A worker whose database goes away (its connections pass through a relay the test cuts): the
// task stops while its lease is still valid, so no other replica can run it at the same time;
// a task that finished meanwhile is recorded once the database is back, with its whole log.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TaskQueue } from '../../manager/queue.js';
import { type TaskHandler, Worker } from '../../manager/worker.js';
import { connect, type Sql } from '../../shared/db/connect.js';
import { createLogger } from '../../shared/logger.js';
import { ensureWorkspace } from '../../shared/workspaces.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay.js';

describe('worker leases while the database is away', () => {
  let db: TestDatabase;
  let relay: TcpRelay;
  let relayed: Sql;
  let workspace: string;

  beforeAll(async () => {
    db = await freshDatabase();
    ({ id: workspace } = await ensureWorkspace(db.sql, 'lease'));
    const url = new URL(db.url);
    relay = await startTcpRelay(Number(url.port || 5432));
    url.hostname = '127.0.0.1';
    url.port = String(relay.port);
    relayed = connect(url.toString(), { max: 3, applicationName: 'worker-lease-test' });
  });
  afterAll(async () => {
    await relayed?.end({ timeout: 1 });
    await relay?.close();
    await db?.drop();
  });

  const queueTask = async (kind: 'noop' | 'reconcile') => {
    const [cluster] = await db.sql`insert into clusters (workspace_id, name)
      values (${workspace}, ${`c-${Math.random()}`}) returning id`;
    const [task] =
      await db.sql`insert into tasks (cluster_id, kind) values (${cluster?.id}, ${kind}) returning id`;
    return task?.id as string;
  };
  const row = async (id: string) =>
    (await db.sql`select * from tasks where id = ${id}`)[0] as Record<string, any>;
  const worker = (queue: TaskQueue, handlers: Partial<Record<'noop' | 'reconcile', TaskHandler>>) =>
    new Worker({ sql: relayed, queue, logger: createLogger('silent', 'test'), pollMs: 100, handlers });

  it('stops a task whose lease it cannot renew before the lease can expire; another replica takes it over after', async () => {
    const id = await queueTask('noop');
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    let seenAtAbort: Record<string, any> | undefined;
    let aborted!: () => void;
    const stopped = new Promise<void>((resolve) => {
      aborted = resolve;
    });
    // A 1.5 s lease: renewed every 500 ms, and the task stops 1,125 ms after the last renewal sent.
    const workerA = worker(new TaskQueue(relayed, 'a', 1500), {
      noop: async ({ signal }) => {
        started();
        await new Promise<void>((wake) => signal.addEventListener('abort', () => wake()));
        // What the database says at the moment the task is told to stop.
        [seenAtAbort] = await db.sql`select lease_owner, status,
            lease_expires_at > clock_timestamp() as lease_valid from tasks where id = ${id}`;
        aborted();
        throw signal.reason;
      },
    });
    await workerA.start();
    await running;
    relay.cut();
    await stopped;
    expect(seenAtAbort).toMatchObject({ lease_owner: 'a', status: 'running', lease_valid: true });

    // Another replica gets it only once the lease ran out, and runs it to the end.
    const b = new TaskQueue(db.sql, 'b', 10_000);
    const taken = await vi.waitFor(
      async () => {
        const task = await b.claim(['noop']);
        if (!task) throw new Error('not claimable yet');
        return task;
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(taken).toMatchObject({ id, attempts: 2 });
    relay.restore();
    expect(await b.succeed(id)).toBe(true);
    await workerA.stop();
    expect(await row(id)).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('records a task that finished while the database was away once it is back, with its whole log', async () => {
    const id = await queueTask('reconcile');
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let returned = false;
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const w = worker(new TaskQueue(relayed, 'c', 30_000), {
      reconcile: async ({ log }) => {
        await log('before the outage');
        started();
        await released;
        await log('during the outage 1');
        await log('during the outage 2');
        returned = true;
      },
    });
    await w.start();
    await running;
    relay.cut();
    release();
    await vi.waitFor(() => expect(returned).toBe(true), { timeout: 5_000, interval: 20 });
    // It keeps trying (connections refused at the relay) and has recorded nothing meanwhile.
    const refusedBefore = relay.refused;
    await vi.waitFor(() => expect(relay.refused).toBeGreaterThan(refusedBefore + 2), {
      timeout: 10_000,
      interval: 20,
    });
    expect(await row(id)).toMatchObject({ status: 'running', lease_owner: 'c' });
    relay.restore();
    const done = await vi.waitFor(
      async () => {
        const task = await row(id);
        if (task.status !== 'succeeded') throw new Error(`still ${task.status}`);
        return task;
      },
      { timeout: 10_000, interval: 50 },
    );
    await w.stop();
    expect(done.attempts).toBe(1);
    const lines = (done.log as string)
      .split('\n')
      .filter(Boolean)
      .map((line) => line.replace(/^\S+ /, ''));
    expect(lines).toEqual(['before the outage', 'during the outage 1', 'during the outage 2']);
  });
});
