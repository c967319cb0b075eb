// Graceful shutdown of a real gateway process: on SIGTERM it stops accepting connections,
// lets the request in flight finish and exits 0; a request that cannot finish is cut off at
// COMMANDER_SHUTDOWN_TIMEOUT and the process still exits.
import { connect as netConnect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createToken } from '../../shared/tokens.js';
import { ensureWorkspace } from '../../shared/workspaces.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { keysEnv, testKeys } from '../support/keys.js';
import { type ApiResult, api, apiOnce, Processes, sleep, startGatewayProcess, tempDir } from './helpers.js';

/** Resolves with the error code of a fresh TCP connection attempt, or 'connected'. */
function tryConnect(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = netConnect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
  });
}

describe('gateway graceful shutdown', () => {
  const processes = new Processes();
  let dir: ReturnType<typeof tempDir>;
  let db: TestDatabase;
  let token: string;

  beforeEach(async () => {
    dir = tempDir('commander-lifecycle-');
    db = await freshDatabase();
    const workspace = await ensureWorkspace(db.sql, 'life');
    token = (await createToken(db.sql, workspace.id, 'operator', 'operator')).token;
  });

  afterEach(async () => {
    await processes.stopAll();
    await db.drop();
    dir.remove();
  });

  const start = (extra: Record<string, string> = {}) =>
    startGatewayProcess(processes, {
      DATABASE_URL: db.url,
      COMMANDER_DATA_DIR: dir.path,
      ...keysEnv(testKeys()),
      ...extra,
    });

  /** Waits until a gateway backend is blocked on a row lock. */
  const waitForLockWait = async () => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const [row] = await db.sql`
        select count(*)::int as n from pg_stat_activity
        where datname = ${db.name} and application_name like 'commander-gateway%' and wait_event_type = 'Lock'`;
      if (row?.n === 1) return;
      await sleep(50);
    }
    throw new Error('the PUT never blocked on the row lock');
  };

  const createCluster = async (url: string): Promise<string> => {
    const created = await api(url, 'POST', '/api/v1/clusters', {
      token,
      body: { name: 'locked', values: { size: 1 } },
    });
    expect(created.status, created.text).toBe(201);
    return created.body.id;
  };

  /** Holds a row lock on the cluster in a transaction of the test's own. */
  const lockCluster = async (id: string) => {
    const holder = await db.sql.reserve();
    await holder`begin`;
    await holder`select id from clusters where id = ${id} for update`;
    return holder;
  };

  const logLine = (stdout: string, msg: string): Record<string, unknown> | undefined => {
    const line = stdout.split('\n').find((l) => l.includes(`"msg":"${msg}`));
    return line ? JSON.parse(line) : undefined;
  };

  it('refuses new connections, finishes the request in flight and exits 0', async () => {
    const gateway = await start();
    const id = await createCluster(gateway.url);

    const holder = await lockCluster(id);
    try {
      // Its own connection, closed after the answer, as a client without keep-alive does.
      const put: Promise<ApiResult> = apiOnce(gateway.url, 'PUT', `/api/v1/clusters/${id}`, {
        token,
        body: { name: 'locked', current_revision: 0, values: { size: 2 } },
      });
      put.catch(() => {});
      await waitForLockWait();

      gateway.command.child.kill('SIGTERM');
      await gateway.command.waitFor(/"msg":"shutting down"/, 5_000);
      // The listener closes during the shutdown's first steps, after that line.
      await vi.waitFor(async () => expect(await tryConnect(gateway.url)).toBe('ECONNREFUSED'), {
        timeout: 10_000,
        interval: 50,
      });
      await expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow();
      expect(gateway.command.child.exitCode).toBeNull(); // still draining: the PUT holds it

      await holder`commit`;
      const response = await put;
      expect(response.status, response.text).toBe(200);
      expect(response.body.values).toEqual({ size: 2 });
    } finally {
      await holder`rollback`.catch(() => {});
      holder.release();
    }
    expect(await gateway.command.exited).toBe(0);
    // Nothing was left running, so it stopped before the 10 s deadline: had it waited for it, it
    // would have said so (the output is complete now that it exited).
    expect(gateway.command.stdout()).not.toContain('requests still running at the shutdown deadline');
    expect(gateway.command.stdout()).toContain('"msg":"stopped"');
    const [row] = await db.sql`select values from clusters where id = ${id}`;
    expect(row?.values).toEqual({ size: 2 });
    const [audit] = await db.sql`
      select count(*)::int as n from audit_records where auditable_id = ${id} and action = 'update'`;
    expect(audit?.n).toBe(1);
  });

  it('exits right after the request in flight, even when its client keeps the connection alive', async () => {
    const gateway = await start({ COMMANDER_SHUTDOWN_TIMEOUT: '4' });
    const id = await createCluster(gateway.url);

    const holder = await lockCluster(id);
    try {
      const put = api(gateway.url, 'PUT', `/api/v1/clusters/${id}`, {
        token,
        body: { name: 'locked', current_revision: 0, values: { size: 5 } },
      });
      put.catch(() => {});
      await waitForLockWait();
      gateway.command.child.kill('SIGTERM');
      await gateway.command.waitFor(/"msg":"shutting down"/, 5_000);
      await holder`commit`;
      expect((await put).status).toBe(200);
    } finally {
      await holder`rollback`.catch(() => {});
      holder.release();
    }
    expect(await gateway.command.exited).toBe(0);
    // The idle keep-alive connection did not hold the shutdown until the 4 s deadline.
    expect(gateway.command.stdout()).not.toContain('requests still running at the shutdown deadline');
  });

  it('with COMMANDER_SHUTDOWN_TIMEOUT=1 exits even though a request never finishes', async () => {
    const gateway = await start({ COMMANDER_SHUTDOWN_TIMEOUT: '1' });
    const id = await createCluster(gateway.url);

    const holder = await lockCluster(id);
    try {
      const put = api(gateway.url, 'PUT', `/api/v1/clusters/${id}`, {
        token,
        body: { name: 'locked', current_revision: 0, values: { size: 3 } },
      }).then(
        (response) => response.status,
        () => 'failed' as const,
      );
      await waitForLockWait();

      gateway.command.child.kill('SIGTERM');
      // A bound only so that a hang fails with a message rather than at the test's timeout.
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        gateway.command.exited,
        new Promise<'still running'>((resolve) => {
          timer = setTimeout(() => resolve('still running'), 30_000);
        }),
      ]);
      clearTimeout(timer);
      expect(code).not.toBe('still running');
      expect(typeof code).toBe('number');
      // The requests were cut off at the configured deadline (not the default 10 s), and not
      // before it: by the process's own clock, a second after the shutdown began.
      const stdout = gateway.command.stdout();
      const began = logLine(stdout, 'shutting down');
      const deadline = logLine(stdout, 'requests still running at the shutdown deadline');
      expect(deadline, stdout).toBeDefined();
      expect(deadline?.timeout_ms).toBe(1000);
      expect((deadline?.time as number) - (began?.time as number)).toBeGreaterThanOrEqual(950);
      // The cut-off request got no success answer.
      expect(await put).not.toBe(200);

      await holder`rollback`;
    } finally {
      holder.release();
    }
    // The change that never finished was not stored, and the gateway's sessions are gone.
    const deadline = Date.now() + 5_000;
    let left = -1;
    while (Date.now() < deadline) {
      const [row] = await db.sql`
        select count(*)::int as n from pg_stat_activity
        where datname = ${db.name} and application_name like 'commander-gateway%'`;
      left = row?.n;
      if (left === 0) break;
      await sleep(50);
    }
    expect(left).toBe(0);
    const [row] = await db.sql`select values from clusters where id = ${id}`;
    expect(row?.values).toEqual({ size: 1 });
  });
});
