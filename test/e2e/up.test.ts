// `commander up` with no DATABASE_URL: embedded PostgreSQL, generated keys, a bootstrap admin
// token, and a second start on the same data dir that keeps all of it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../shared/net.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { keysEnv, testKeys } from '../support/keys.js';
import type { RunningCommand } from '../support/process.js';
import { api, auditRecords, lines, Processes, sleep, tempDir } from './helpers.js';

const mode = (path: string) => statSync(path).mode & 0o777;

describe('commander up on an empty data dir, without DATABASE_URL', () => {
  const processes = new Processes();
  let dir: ReturnType<typeof tempDir>;
  let env: Record<string, string>;
  let base: string;
  let first: RunningCommand;
  let adminToken: string;
  let keysFile: string;
  let clusterId: string;

  const startUp = async (): Promise<RunningCommand> => {
    const command = processes.start(['up'], env);
    const ready = command.waitFor(/"msg":"gateway listening"/, 60_000);
    await ready;
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready' });
    return command;
  };

  beforeAll(async () => {
    dir = tempDir('commander-up-');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // No DATABASE_URL and no keys: only the data dir and the listen address.
    env = { COMMANDER_DATA_DIR: dir.path, COMMANDER_LISTEN: `127.0.0.1:${port}` };
  });

  afterAll(async () => {
    await processes.stopAll();
    // The embedded server must be gone before its files are removed: if a failed test left the
    // one our `up` started behind, stop that server (by its pid) first.
    const pidFile = dir ? join(dir.path, 'postgres', 'postmaster.pid') : undefined;
    if (pidFile && existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      try {
        process.kill(pid, 'SIGINT');
        for (let i = 0; i < 100 && existsSync(pidFile); i++) await sleep(100);
      } catch {
        // already gone
      }
    }
    dir?.remove();
  });

  it('becomes ready and writes keys.env and admin-token with mode 0600', async () => {
    first = await startUp();
    keysFile = join(dir.path, 'keys.env');
    const tokenFile = join(dir.path, 'admin-token');
    expect(existsSync(keysFile)).toBe(true);
    expect(existsSync(tokenFile)).toBe(true);
    expect(mode(keysFile)).toBe(0o600);
    expect(mode(tokenFile)).toBe(0o600);

    const keyLines = lines(readFileSync(keysFile, 'utf8'));
    expect(keyLines.map((line) => line.slice(0, line.indexOf('=')))).toEqual([
      'COMMANDER_ENCRYPTION_PRIMARY_KEY',
      'COMMANDER_ENCRYPTION_DETERMINISTIC_KEY',
      'COMMANDER_ENCRYPTION_KEY_DERIVATION_SALT',
    ]);
    adminToken = readFileSync(tokenFile, 'utf8').trim();
    expect(adminToken).toMatch(/^cmdr_[A-Za-z0-9_-]{43}$/);

    // It says where the token is, and where the keys are.
    const bootstrap = lines(first.stdout()).find((line) =>
      line.includes('created workspace \\"default\\" and an admin token'),
    );
    expect(bootstrap, first.stdout()).toBeDefined();
    expect(JSON.parse(bootstrap as string).path).toBe(tokenFile);
    expect(first.stdout()).toContain(`"path":${JSON.stringify(keysFile)}`);
  });

  it('accepts the admin token, audits the change on stdout and never logs the token', async () => {
    const listed = await api(base, 'GET', '/api/v1/clusters', { token: adminToken });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([]);

    const created = await api(base, 'POST', '/api/v1/clusters', {
      token: adminToken,
      body: { name: 'first-cluster', values: { region: 'eu' } },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ name: 'first-cluster', values: { region: 'eu' }, status: 'new' });
    clusterId = created.body.id;

    await first.waitFor(/\[audit\] /, 5_000);
    const records = auditRecords(first.stdout());
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      auditable_type: 'Cluster',
      auditable_id: clusterId,
      action: 'create',
      user_type: 'AuthToken',
      workspace_slug: 'default',
    });

    const output = first.stdout() + first.stderr();
    expect(output).not.toContain(adminToken);
    expect(output).not.toContain(adminToken.slice('cmdr_'.length));
  });

  it('stops on SIGTERM with exit code 0 and stops its embedded PostgreSQL', async () => {
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.stdout()).not.toContain(adminToken);
    expect(existsSync(join(dir.path, 'postgres', 'postmaster.pid'))).toBe(false);
    await expect(fetch(`${base}/readyz`)).rejects.toThrow();
  });

  it('starts again on the same data dir with the same keys, token and data; token create shares it', async () => {
    const keysBefore = readFileSync(keysFile, 'utf8');
    const tokenBefore = readFileSync(join(dir.path, 'admin-token'), 'utf8');

    const second = await startUp();
    expect(readFileSync(keysFile, 'utf8')).toBe(keysBefore);
    expect(readFileSync(join(dir.path, 'admin-token'), 'utf8')).toBe(tokenBefore);
    expect(second.stdout()).not.toContain('created workspace');
    expect(second.stdout()).not.toContain('generated encryption keys');

    const listed = await api(base, 'GET', '/api/v1/clusters', { token: adminToken });
    expect(listed.status).toBe(200);
    expect(listed.body.map((c: { id: string; name: string }) => [c.id, c.name])).toEqual([
      [clusterId, 'first-cluster'],
    ]);

    // Another command on the same data dir, no DATABASE_URL: it uses the running embedded database.
    const created = await processes.run(['token', 'create', '--workspace', 'default', '--role', 'viewer'], {
      COMMANDER_DATA_DIR: dir.path,
    });
    expect(created.code, created.stderr).toBe(0);
    const printed = created.stdout.split('\n');
    expect(printed).toHaveLength(2); // one line and its newline
    expect(printed[1]).toBe('');
    const viewerToken = printed[0] as string;
    expect(viewerToken).toMatch(/^cmdr_[A-Za-z0-9_-]{43}$/);
    expect(viewerToken).not.toBe(adminToken);

    const asViewer = await api(base, 'GET', '/api/v1/clusters', { token: viewerToken });
    expect(asViewer.status).toBe(200);
    expect(asViewer.body.map((c: { id: string }) => c.id)).toEqual([clusterId]);
    const forbidden = await api(base, 'POST', '/api/v1/clusters', {
      token: viewerToken,
      body: { name: 'not-allowed' },
    });
    expect(forbidden.status).toBe(403);

    // `token create` left the shared server running for `up`.
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await api(base, 'GET', '/api/v1/clusters', { token: adminToken })).status).toBe(200);

    expect(await second.stop('SIGINT')).toBe(0);
    const output = second.stdout() + second.stderr() + created.stderr;
    expect(output).not.toContain(adminToken);
    expect(output).not.toContain(viewerToken);
    expect(existsSync(join(dir.path, 'postgres', 'postmaster.pid'))).toBe(false);
  });

  it('shares the embedded server: the last process using it stops it, not the first', async () => {
    const up = await startUp();
    const port = await freePort();
    const gatewayBase = `http://127.0.0.1:${port}`;
    const gateway = processes.start(['gateway'], {
      COMMANDER_DATA_DIR: dir.path,
      COMMANDER_LISTEN: `127.0.0.1:${port}`,
    });
    await gateway.waitFor(/"msg":"gateway listening"/, 30_000);
    expect(gateway.stdout()).toContain('reusing embedded PostgreSQL');

    // `up` started the server, but the gateway still uses it after `up` is gone.
    expect(await up.stop('SIGTERM')).toBe(0);
    expect(existsSync(join(dir.path, 'postgres', 'postmaster.pid'))).toBe(true);
    expect((await fetch(`${gatewayBase}/readyz`)).status).toBe(200);
    expect((await api(gatewayBase, 'GET', '/api/v1/clusters', { token: adminToken })).status).toBe(200);

    expect(await gateway.stop('SIGTERM')).toBe(0);
    expect(existsSync(join(dir.path, 'postgres', 'postmaster.pid'))).toBe(false);
  });

  it('starts reliably while a short-lived command is stopping the server', async () => {
    for (const delay of [0, 100, 200]) {
      const token = processes.run(['token', 'create', '--workspace', 'default', '--role', 'viewer'], {
        COMMANDER_DATA_DIR: dir.path,
      });
      await sleep(delay);
      const up = processes.start(['up'], env);
      await up.waitFor(/"msg":"gateway listening"/, 60_000);
      expect((await token).code).toBe(0);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect(await up.stop('SIGTERM')).toBe(0);
    }
    expect(existsSync(join(dir.path, 'postgres', 'postmaster.pid'))).toBe(false);
  });
});

describe('commands started at once on a fresh data dir', () => {
  const processes = new Processes();
  const dirs: Array<ReturnType<typeof tempDir>> = [];
  afterAll(async () => {
    await processes.stopAll();
    for (const dir of dirs) dir.remove();
  });

  // Both find no server and no PostgreSQL directory: one creates them, the other waits for it.
  it('creates one embedded server that both use', async () => {
    const dir = tempDir('commander-race-');
    dirs.push(dir);
    const port = await freePort();
    const env = { COMMANDER_DATA_DIR: dir.path, COMMANDER_LISTEN: `127.0.0.1:${port}` };
    const token = processes.run(['token', 'create', '--workspace', 'default', '--role', 'viewer'], env);
    const up = processes.start(['up'], env);
    await up.waitFor(/"msg":"gateway listening"/, 60_000);
    const created = await token;
    expect(created.code, created.stderr).toBe(0);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    expect(created.stdout.trim()).toMatch(/^cmdr_/);
    // Whichever came first, up's first start leaves its keys and an admin token behind.
    expect(existsSync(join(dir.path, 'keys.env'))).toBe(true);
    expect(readFileSync(join(dir.path, 'admin-token'), 'utf8')).toMatch(/^cmdr_[A-Za-z0-9_-]{43}\n$/);
    expect(await up.stop('SIGTERM')).toBe(0);
    expect(existsSync(join(dir.path, 'postgres', 'postmaster.pid'))).toBe(false);
  });
});

describe('commander up with DATABASE_URL and keys in the environment', () => {
  const processes = new Processes();
  const dir = tempDir('commander-up-external-');
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase({ migrated: false });
  });
  afterAll(async () => {
    await processes.stopAll();
    await db?.drop();
    dir.remove();
  });

  it('makes a data dir that does not exist yet for the admin token', async () => {
    const dataDir = join(dir.path, 'not', 'yet');
    const port = await freePort();
    const up = processes.start(['up'], {
      DATABASE_URL: db.url,
      ...keysEnv(testKeys()),
      COMMANDER_DATA_DIR: dataDir,
      COMMANDER_LISTEN: `127.0.0.1:${port}`,
    });
    await up.waitFor(/"msg":"gateway listening"/, 60_000);
    expect(readFileSync(join(dataDir, 'admin-token'), 'utf8')).toMatch(/^cmdr_[A-Za-z0-9_-]{43}\n$/);
    expect(mode(dataDir)).toBe(0o700);
    expect(await up.stop('SIGTERM')).toBe(0);
  });
});
