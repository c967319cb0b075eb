// The embedded PostgreSQL under a running `up` (no DATABASE_URL): `up` owns it and brings it back
// when it dies, and short-lived commands beside it never stop it or move it to another port.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../shared/net.js';
import type { RunningCommand } from '../support/process.js';
import { api, Processes, sleep, tempDir } from './helpers.js';

interface Postmaster {
  pid: number;
  port: number;
}

describe('the embedded database under a running up', () => {
  const processes = new Processes();
  let dir: ReturnType<typeof tempDir>;
  let base: string;
  let up: RunningCommand;
  let adminToken: string;

  /** The server recorded in postmaster.pid, if that file is there. */
  const postmaster = (): Postmaster | undefined => {
    const file = join(dir.path, 'postgres', 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    const lines = readFileSync(file, 'utf8').split('\n');
    return { pid: Number(lines[0]), port: Number(lines[3]) };
  };
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  /** Polls until check() gives a value, failing with `what` after the timeout. */
  const until = async <T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 30_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; up said:\n${up.stdout()}`);
      await sleep(100);
    }
  };
  const apiAnswers = () =>
    until('the API to answer', async () => {
      const listed = await api(base, 'GET', '/api/v1/clusters', { token: adminToken }).catch(() => undefined);
      return listed?.status === 200 ? listed : undefined;
    });
  const runningServer = (): Postmaster | undefined => {
    const now = postmaster();
    return now && alive(now.pid) ? now : undefined;
  };

  beforeAll(async () => {
    dir = tempDir('commander-embedded-');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    up = processes.start(['up'], { COMMANDER_DATA_DIR: dir.path, COMMANDER_LISTEN: `127.0.0.1:${port}` });
    await up.waitFor(/"msg":"gateway listening"/, 60_000);
    adminToken = readFileSync(join(dir.path, 'admin-token'), 'utf8').trim();
  });

  afterAll(async () => {
    await processes.stopAll();
    // A server a failed test left behind must be gone before its files are removed.
    const left = dir ? postmaster() : undefined;
    if (left && alive(left.pid)) {
      process.kill(left.pid, 'SIGINT');
      for (let i = 0; i < 100 && alive(left.pid); i++) await sleep(100);
    }
    dir?.remove();
  });

  it('token create leaves the server running even when every connection of up was dropped', async () => {
    const before = runningServer();
    expect(before).toBeDefined();
    const { pid, port } = before as Postmaster;
    // As a restart of the network or an idle timeout would: up's connections are gone.
    const password = readFileSync(join(dir.path, 'postgres-password'), 'utf8').trim();
    const admin = postgres(
      `postgres://commander:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
      {
        max: 1,
        onnotice: () => {},
      },
    );
    const [dropped] = await admin`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
      where backend_type = 'client backend' and pid <> pg_backend_pid()`;
    await admin.end();
    expect(dropped?.n).toBeGreaterThan(0);

    const created = await processes.run(['token', 'create', '--workspace', 'default', '--role', 'viewer'], {
      COMMANDER_DATA_DIR: dir.path,
    });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout.trim()).toMatch(/^cmdr_/);
    // The very same server still runs: token create neither stopped it nor had it restarted.
    expect(alive(pid)).toBe(true);
    expect(postmaster()).toEqual({ pid, port });
    await apiAnswers();
    expect(postmaster()).toEqual({ pid, port });
  });

  it('up brings the server back on the same port when its postmaster is killed, and answers again', async () => {
    const before = runningServer() as Postmaster;
    process.kill(before.pid, 'SIGKILL');
    const after = await until('a new postmaster', () => {
      const now = runningServer();
      return now && now.pid !== before.pid ? now : undefined;
    });
    expect(after.port).toBe(before.port);
    await apiAnswers();
    // Writes work again too, through up's own pool.
    const created = await api(base, 'POST', '/api/v1/clusters', {
      token: adminToken,
      body: { name: 'after-crash' },
    });
    expect(created.status, created.text).toBe(201);
    expect(up.stdout()).toContain(`embedded PostgreSQL started on 127.0.0.1:${before.port}`);
    expect(up.child.exitCode).toBeNull();
  });

  it('migrate right after a crash uses the same server as up, on the same port, and leaves it running', async () => {
    const before = runningServer() as Postmaster;
    process.kill(before.pid, 'SIGKILL');
    const migrated = await processes.run(['migrate'], { COMMANDER_DATA_DIR: dir.path });
    expect(migrated.code, migrated.stdout + migrated.stderr).toBe(0);
    const after = runningServer();
    expect(after, `a server runs after migrate exits; up said:\n${up.stdout()}${up.stderr()}`).toBeDefined();
    expect(after?.port).toBe(before.port);
    await apiAnswers();
    // Nobody stopped it since: the same postmaster serves up.
    expect(postmaster()).toEqual(after);
  });

  it('up stops the server when it leaves, being its last user', async () => {
    expect(await up.stop('SIGTERM')).toBe(0);
    expect(postmaster()).toBeUndefined();
  });
});
