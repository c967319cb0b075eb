// The pool every program uses survives its connections dying under it: a transaction whose
// connection is ended by the server rejects (the process does not crash on the driver's deferred
// ROLLBACK; vitest fails a run on any uncaught exception), and the pool answers again; a proxy
// with no server behind it fails queries instead of holding them.
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, reconnectDelay, type Sql } from '../../shared/db/connect.js';
import { isDatabaseUnavailable, retryWhileUnavailable } from '../../shared/db/health.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

describe('database pool', () => {
  let db: TestDatabase;
  let sql: Sql;

  beforeAll(async () => {
    db = await freshDatabase({ migrated: false });
    sql = connect(db.url, { max: 2, applicationName: 'connect-test' });
  });
  afterAll(async () => {
    await sql?.end({ timeout: 1 });
    await db?.drop();
  });

  it('rejects a transaction whose connection the server ends, without crashing, and goes on', async () => {
    for (let round = 0; round < 3; round += 1) {
      const failed = sql
        .begin(async (tx) => {
          const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
          await Promise.all([
            tx`select pg_sleep(30)`,
            db.sql`select pg_terminate_backend(${row?.pid as number})`,
          ]);
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      const error = await failed;
      expect(isDatabaseUnavailable(error), String(error)).toBe(true);
      // The driver's deferred write was scheduled before `begin` rejected; immediates run in
      // order, so once this one ran, that one did (and an uncaught TypeError fails the run).
      await new Promise((resolve) => setImmediate(resolve));
      // postgres.js may hand the session's last error to the first query on the connection it
      // makes again (57P01, answered 503 like any outage): the pool answers after that.
      const [answer] = await retryWhileUnavailable(
        () => sql<{ one: number }[]>`select 1 as one`,
        () => true,
      );
      expect(answer?.one).toBe(1);
      // A transaction on the pool works again too.
      const two = await retryWhileUnavailable(
        () => sql.begin(async (tx) => (await tx<{ two: number }[]>`select 2 as two`)[0]?.two),
        () => true,
      );
      expect(two).toBe(2);
    }
  });

  it('fails a query when a proxy accepts and closes the connection with no server behind it', async () => {
    const accepted = new Set<Socket>();
    const proxy = createServer((socket) => {
      accepted.add(socket);
      socket.on('error', () => {});
      socket.end();
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as AddressInfo;
    const behindProxy = connect(`postgres://postgres@127.0.0.1:${port}/postgres`, { max: 1 });
    try {
      // Before, postgres.js reconnected at once, forever, and this query never settled.
      const error = await behindProxy`select 1`.then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(isDatabaseUnavailable(error), String(error)).toBe(true);
    } finally {
      await behindProxy.end({ timeout: 1 });
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('answers whole results after a query that failed half-way through its rows', async () => {
    const one = connect(db.url, { max: 1, applicationName: 'sparse-test' });
    try {
      for (let round = 0; round < 3; round += 1) {
        // Three rows arrive, then row 4 divides by zero; both queries share the one connection.
        const failed = one`select i, 1 / (4 - i) as boom from generate_series(1, 10) i`.then(
          () => undefined,
          (error: { code?: string }) => error.code,
        );
        const next = one<{ x: number }[]>`select x from generate_series(1, 5) x`;
        expect(await failed).toBe('22012');
        const rows = await next;
        expect(rows.length).toBe(5);
        expect(rows.map((row) => row.x)).toEqual([1, 2, 3, 4, 5]);
        const [first] = await one<{ y: number }[]>`select 7 as y`;
        expect(first?.y).toBe(7);
      }
    } finally {
      await one.end({ timeout: 1 });
    }
  });

  it('waits at most a second between connection attempts', () => {
    for (let retries = 0; retries < 40; retries += 1) {
      const delay = reconnectDelay(retries);
      expect(delay).toBeGreaterThan(0);
      expect(delay).toBeLessThanOrEqual(1);
    }
    expect(reconnectDelay(0)).toBeLessThanOrEqual(0.05);
  });
});
