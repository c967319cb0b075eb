// A LISTEN whose connection dies before it is answered (a database restart, or sessions
// terminated, while a process starts): postgres.js rejects the call, which made `up` exit with
// CONNECTION_CLOSED when its manager started at that moment, yet listens again by itself once
// reconnected. listenSurely waits that out and delivers each notification once.
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listenSurely } from '../../shared/db/driver-defects.js';
import { cuttingProxy } from '../support/cutting-proxy.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

const CHANNEL = 'listen_test';

/** Cuts the first connection that sends a LISTEN for CHANNEL; `cuts()` says how many were. */
async function cutFirstListen(targetPort: number) {
  let cut = 0;
  const proxy = await cuttingProxy(targetPort, (chunk) => {
    if (cut > 0 || !chunk.includes(`listen "${CHANNEL}"`)) return false;
    cut += 1;
    return true;
  });
  return { port: proxy.port, cuts: () => cut, close: () => proxy.close() };
}

describe('listening while the connection dies', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase({ migrated: false });
  });
  afterAll(async () => {
    await db?.drop();
  });

  const throughProxy = (port: number) => {
    const url = new URL(db.url);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    return postgres(url.toString(), { max: 1, onnotice: () => {} });
  };

  it('plain sql.listen fails when its LISTEN is cut (the defect)', async () => {
    const proxy = await cutFirstListen(Number(new URL(db.url).port || 5432));
    const sql = throughProxy(proxy.port);
    try {
      await expect(sql.listen(CHANNEL, () => {})).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
      expect(proxy.cuts()).toBe(1);
    } finally {
      await sql.end({ timeout: 1 });
      await proxy.close();
    }
  });

  it('listenSurely outlives it: each notification arrives once, and none after unlisten', async () => {
    const proxy = await cutFirstListen(Number(new URL(db.url).port || 5432));
    const sql = throughProxy(proxy.port);
    try {
      const payloads: string[] = [];
      let listened = 0;
      const unlisten = await listenSurely(
        sql,
        CHANNEL,
        (payload) => payloads.push(payload),
        () => {
          listened += 1;
        },
      );
      expect(proxy.cuts()).toBe(1);
      // postgres.js listened again with the failed attempt's callbacks too: those stay silent.
      await db.sql`select pg_notify(${CHANNEL}, 'one')`;
      await vi.waitFor(() => expect(payloads).toEqual(['one']), { timeout: 5_000, interval: 20 });
      await db.sql`select pg_notify(${CHANNEL}, 'two')`;
      await vi.waitFor(() => expect(payloads).toEqual(['one', 'two']), { timeout: 5_000, interval: 20 });
      // Told it listens (more than once is allowed: it means "refresh", as after any reconnect).
      expect(listened).toBeGreaterThan(0);
      await unlisten();
      // A marker sent after the third notification, on the same listening connection, arrives
      // after it: once the marker is in, the third has been handled (and must have been dropped).
      let markerIn: () => void = () => {};
      const marker = new Promise<void>((resolve) => {
        markerIn = resolve;
      });
      await sql.listen('listen_test_marker', () => markerIn());
      await db.sql`select pg_notify(${CHANNEL}, 'three')`;
      await db.sql`select pg_notify('listen_test_marker', 'x')`;
      await marker;
      expect(payloads).toEqual(['one', 'two']);
    } finally {
      await sql.end({ timeout: 1 });
      await proxy.close();
    }
  });
});
