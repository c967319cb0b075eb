// Install and delete end to end: a real sshd, a manager process whose installer starts a real
// `commander agent` from the uploaded bundle, so the task succeeds only when that agent dials in.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../shared/net.js';
import { generateSshKeyPair } from '../../shared/ssh-key.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { keysEnv, testKeys } from '../support/keys.js';
import { CLI, type RunningCommand, waitForStatus } from '../support/process.js';
import { haveSshd, startSshd, type TestSshd } from '../support/sshd.js';
import { api, Processes, sleep, tempDir } from './helpers.js';

describe.skipIf(!haveSshd() && !process.env.CI)('install and delete over SSH', () => {
  const processes = new Processes();
  const dir = tempDir('commander-install-');
  let db: TestDatabase;
  let sshd: TestSshd;
  let env: Record<string, string>;
  let gateway: string;
  let token: string;
  let manager: RunningCommand | undefined;

  beforeAll(async () => {
    if (!haveSshd()) throw new Error('sshd (openssh-server) is required in CI');
    sshd = await startSshd();
    db = await freshDatabase();
    const installers = join(dir.path, 'installers.yaml');
    // The installer starts the agent from the bundle, detached from the SSH session. It also
    // prints the enrollment token, as a careless installer might: the task log must mask it.
    const install = `set -a; . {bundle}/agent.env; set +a; setsid nohup ${process.execPath} ${CLI} agent --state-dir {bundle}/state --heartbeat-interval 1 > {bundle}/agent.log 2>&1 < /dev/null & echo "enrollment token: $(cat {bundle}/enrollment-token)"; echo installer started`;
    // The failing one prints the SSH key the manager logs in with (a node that keeps the same
    // key for reaching its peers) and the enrollment token: the task log must mask both.
    const failingInstall = `echo preparing; cat ${sshd.privateKeyFile}; echo "pulling images" >&2; echo "registry refused token $(cat {bundle}/enrollment-token)" >&2; exit 7`;
    writeFileSync(
      installers,
      [
        'default_version: "1.0"',
        'installers:',
        '  "1.0":',
        `    install: ${JSON.stringify(install)}`,
        '    check: "echo \'{\\"status\\": \\"InSync\\"}\'"',
        '    converge: "true"',
        '    destroy: "pkill -f \\"agent --state-dir {bundle}/state\\" ; echo destroyed"',
        // An installer that fails: its exit code and the end of its stderr must reach the task.
        '  "fails":',
        `    install: ${JSON.stringify(failingInstall)}`,
        '    check: "true"',
        '    converge: "true"',
        '    destroy: "true"',
      ].join('\n'),
    );
    const port = await freePort();
    gateway = `http://127.0.0.1:${port}`;
    env = {
      DATABASE_URL: db.url,
      ...keysEnv(testKeys()),
      COMMANDER_PUBLIC_URL: gateway,
      COMMANDER_INSTALLERS: installers,
      COMMANDER_AGENT_WAIT_SECONDS: '20',
    };
    processes.start(['gateway'], { ...env, COMMANDER_LISTEN: `127.0.0.1:${port}` });
    await waitForStatus(`${gateway}/readyz`, 200, 45_000);
    token = (
      await processes.run(['token', 'create', '--workspace', 'ops', '--role', 'operator'], env)
    ).stdout.trim();
  });

  afterAll(async () => {
    await processes.stopAll();
    // The bundles land in the SSH user's home: remove ours, and any agent a failed test left.
    const home = process.env.HOME ?? '/root';
    for (const id of clusterIds) {
      spawnSync('pkill', ['-f', `bundle-${id}/state`]);
      rmSync(join(home, '.commander', `bundle-${id}`), { recursive: true, force: true });
    }
    await sshd?.stop();
    await db?.drop();
    dir.remove();
  });

  const startManager = async () => {
    manager = processes.start(['manager'], { ...env, COMMANDER_REPLICA_ID: 'install-test' });
    await manager.waitFor(/"msg":"manager ready"/, 30_000);
  };
  const clusterIds: string[] = [];
  const cluster = async (
    name: string,
    ssh: Record<string, unknown>,
    values: object = { platform_version: '1.0' },
  ) => {
    const created = await api(gateway, 'POST', '/api/v1/clusters', {
      token,
      body: {
        name,
        values,
        ssh: { host: '127.0.0.1', port: sshd.port, user: sshd.user, private_key: sshd.privateKey, ...ssh },
      },
    });
    clusterIds.push(created.body.id);
    return created;
  };
  const taskOf = async (clusterId: string, kind: string) => {
    const tasks = await api(gateway, 'GET', `/api/v1/tasks?cluster_id=${clusterId}`, { token });
    return tasks.body.find((t: { kind: string }) => t.kind === kind);
  };
  const waitTask = async (clusterId: string, kind: string, statuses: string[], timeoutMs = 40_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const task = await taskOf(clusterId, kind);
      if (task && statuses.includes(task.status)) return task;
      if (Date.now() > deadline) throw new Error(`task ${kind} is ${task?.status}; log:\n${task?.log}`);
      await sleep(200);
    }
  };

  it('fails clearly on a wrong key, a changed host key, an unreachable host and a failing installer, masked', async () => {
    const stranger = generateSshKeyPair().private;
    const wrongKey = await cluster('wrong-key', { private_key: stranger });
    const changed = await cluster('changed-host-key', {});
    const unreachable = await cluster('unreachable', { port: await freePort() });
    const unknownVersion = await cluster('unknown-version', {}, { platform_version: '9.9' });
    const failing = await cluster('failing-installer', {}, { platform_version: 'fails' });
    // Before any manager runs: pin a wrong host key, and allow the unreachable one a single try.
    await db.sql`update clusters set ssh_host_key_fingerprint = 'SHA256:notTheRealOne' where id = ${changed.body.id}`;
    await db.sql`update tasks set max_attempts = 1 where cluster_id in ${db.sql([unreachable.body.id, failing.body.id])}`;
    await startManager();

    const expectations: Array<[string, RegExp]> = [
      [wrongKey.body.id, /ssh authentication as \S+ failed at 127\.0\.0\.1:\d+: the key was not accepted/],
      [changed.body.id, /host key of 127\.0\.0\.1:\d+ changed: pinned SHA256:notTheRealOne, offered SHA256:/],
      [unreachable.body.id, /ssh to 127\.0\.0\.1:\d+ failed: .*ECONNREFUSED/],
      [unknownVersion.body.id, /no installer for platform version 9\.9; configured: 1\.0, fails/],
      [
        failing.body.id,
        /installer exited with 7; stderr ends with: pulling images \| registry refused token \[FILTERED\]/,
      ],
    ];
    const failed: Record<string, { log: string; error: string }> = {};
    for (const [id, reason] of expectations) {
      const task = await waitTask(id, 'install', ['failed']);
      expect(task.error).toMatch(reason);
      expect(task.log).toMatch(reason);
      const state = await api(gateway, 'GET', `/api/v1/clusters/${id}`, { token });
      expect(state.body.status).toBe('creation_failed');
      failed[id] = task;
    }

    // The failing installer printed the private key, a line at a time: each line reached the log
    // masked, none of them in the clear (the task's error quotes only stderr, which had the token).
    const { log, error } = failed[failing.body.id] as { log: string; error: string };
    const keyLines = sshd.privateKey.trim().split('\n');
    expect(keyLines[0]).toBe('-----BEGIN OPENSSH PRIVATE KEY-----');
    const printed = log.split('\n').map((line) => line.replace(/^\S+ /, '')); // without the time
    const after = printed.indexOf('| preparing') + 1;
    expect(after).toBeGreaterThan(0);
    expect(printed.slice(after, after + keyLines.length)).toEqual(keyLines.map(() => '| [FILTERED]'));
    for (const line of keyLines) expect(log + error).not.toContain(line);
    expect(log + error).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/);
  });

  it('installs: uploads the bundle, runs the installer, and succeeds only once the agent dialed in', async () => {
    const created = await cluster('prod-1', {});
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const task = await waitTask(id, 'install', ['succeeded', 'failed']);
    expect(task.status, task.log).toBe('succeeded');
    expect(task.log).toContain('| installer started');
    expect(task.log).toContain('agent connected');
    // The installer printed the token; the log has the line, with the token masked.
    expect(task.log).toContain('| enrollment token: [FILTERED]');
    expect(task.log).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/);

    const state = await api(gateway, 'GET', `/api/v1/clusters/${id}`, { token });
    expect(state.body).toMatchObject({ status: 'in_sync', agent_status: 'connected', was_created: true });
    expect(state.body.ssh.host_key_fingerprint).toBe(sshd.fingerprint);

    const bundle = join(sshd.dir, '..', '..', 'root', '.commander', `bundle-${id}`);
    const home = process.env.HOME ?? '/root';
    const bundleDir = existsSync(bundle) ? bundle : join(home, '.commander', `bundle-${id}`);
    for (const file of ['agent.yaml', 'enrollment-token', 'agent.env']) {
      expect(statSync(join(bundleDir, file)).mode & 0o777).toBe(0o600);
    }
    const enrollmentToken = readFileSync(join(bundleDir, 'enrollment-token'), 'utf8').trim();
    expect(enrollmentToken).toMatch(/^eyJ/);
    expect(task.log).not.toContain(enrollmentToken);

    // Delete: destroy runs over SSH, the agent's key is revoked, the cluster is archived.
    const deleted = await api(gateway, 'DELETE', `/api/v1/clusters/${id}`, { token });
    expect(deleted.body.status).toBe('delete');
    const removal = await waitTask(id, 'delete', ['succeeded', 'failed']);
    expect(removal.status, removal.log).toBe('succeeded');
    expect(removal.log).toContain('| destroyed');
    const archived = await api(gateway, 'GET', `/api/v1/clusters/${id}`, { token });
    expect(archived.body.status).toBe('deleted');
    expect(archived.body.archived_at).not.toBeNull();
    expect(archived.body.archive_number).toBe('1');
    const [agent] = await db.sql`select revoked_at from agents where cluster_id = ${id}`;
    expect(agent?.revoked_at).not.toBeNull();
  });

  it('archives a cluster that was never installed without SSH', async () => {
    const created = await api(gateway, 'POST', '/api/v1/clusters', { token, body: { name: 'paper-only' } });
    await api(gateway, 'DELETE', `/api/v1/clusters/${created.body.id}`, { token });
    const removal = await waitTask(created.body.id, 'delete', ['succeeded', 'failed']);
    expect(removal.status).toBe('succeeded');
    expect(removal.log).toContain('never installed');
    expect((await api(gateway, 'GET', `/api/v1/clusters/${created.body.id}`, { token })).body.status).toBe(
      'deleted',
    );
  });
});
