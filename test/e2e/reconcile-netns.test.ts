// Reconcile reaches the master node through the agent's tunnel and only through it: the agent
// and an sshd listening on 127.0.0.1 live in a network namespace, so the manager on the host has
// no other way to that sshd (the same port on the host's loopback refuses).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../shared/net.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { keysEnv, testKeys } from '../support/keys.js';
import { createNetns, haveNetns, type NetNs } from '../support/netns.js';
import { waitForStatus } from '../support/process.js';
import { haveSshd, startSshd, type TestSshd } from '../support/sshd.js';
import { api, Processes, sleep, tempDir } from './helpers.js';

const runnable = haveSshd() && haveNetns();

function refusedFromHost(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', (error: Error & { code?: string }) => resolve(error.code === 'ECONNREFUSED'));
  });
}

describe.skipIf(!runnable && !process.env.CI)(
  'reconcile through the agent, inside a network namespace',
  () => {
    const processes = new Processes();
    const dir = tempDir('commander-netns-');
    let ns: NetNs | undefined;
    let sshd: TestSshd | undefined;
    let db: TestDatabase;
    let gateway: string;
    let token: string;

    beforeAll(async () => {
      if (!runnable)
        throw new Error('sshd (openssh-server) and root with iproute2 (ip netns) are required in CI');
      ns = createNetns();
      // Free on the host too, so nothing there answers on the port the cluster's sshd uses.
      const sshPort = await freePort();
      sshd = await startSshd({ port: sshPort, prefix: ns.exec });
      db = await freshDatabase();
      const installers = join(dir.path, 'installers.yaml');
      writeFileSync(
        installers,
        [
          'default_version: "1.0"',
          'installers:',
          '  "1.0":',
          '    install: "true"',
          `    check: "cat ${dir.path}/verdict.json"`,
          `    converge: "echo converged >> ${dir.path}/converged.log && echo '{\\"status\\": \\"InSync\\"}' > ${dir.path}/verdict.json"`,
          '    destroy: "true"',
        ].join('\n'),
      );
      // The gateway listens on the host's end of the veth pair: the agent inside dials out to it.
      const port = await freePort();
      gateway = `http://${ns.hostAddress}:${port}`;
      const env = {
        DATABASE_URL: db.url,
        ...keysEnv(testKeys()),
        COMMANDER_PUBLIC_URL: gateway,
        COMMANDER_INSTALLERS: installers,
      };
      processes.start(['gateway'], { ...env, COMMANDER_LISTEN: `${ns.hostAddress}:${port}` });
      await waitForStatus(`${gateway}/readyz`, 200, 45_000);
      token = (
        await processes.run(['token', 'create', '--workspace', 'ops', '--role', 'operator'], env)
      ).stdout.trim();
      const manager = processes.start(['manager'], { ...env, COMMANDER_REPLICA_ID: 'netns-test' });
      await manager.waitFor(/"msg":"manager ready"/, 30_000);
    });

    afterAll(async () => {
      await processes.stopAll();
      await sshd?.stop();
      ns?.remove();
      await db?.drop();
      dir.remove();
    });

    it('checks, converges, and applies a destructive change once its change request is approved', async () => {
      if (!ns || !sshd) throw new Error('no namespace');
      const target = `127.0.0.1:${sshd.port}`;
      expect(await refusedFromHost(sshd.port)).toBe(true);

      // A cluster whose master the manager can only reach through its agent.
      const created = await api(gateway, 'POST', '/api/v1/clusters', {
        token,
        body: { name: 'behind-nat', values: { platform_version: '1.0' }, allowed_targets: [target] },
      });
      expect(created.status, created.text).toBe(201);
      const id = created.body.id as string;
      const enrollment = await api(gateway, 'POST', `/api/v1/clusters/${id}/agent_tokens`, {
        token,
        body: {},
      });
      expect(enrollment.status, enrollment.text).toBe(201);
      const tokenFile = join(dir.path, 'enrollment-token');
      writeFileSync(tokenFile, enrollment.body.token, { mode: 0o600 });
      mkdirSync(join(dir.path, 'state'), { mode: 0o700 });
      const agent = processes.start(
        [
          'agent',
          '--url',
          enrollment.body.commander_url,
          '--token-file',
          tokenFile,
          '--state-dir',
          join(dir.path, 'state'),
          '--allow',
          target,
          '--heartbeat-interval',
          '1',
        ],
        {},
        ns.exec,
      );
      await agent.waitFor(/connected to the gateway/, 20_000);
      const ssh = await api(gateway, 'PUT', `/api/v1/clusters/${id}`, {
        token,
        body: {
          name: 'behind-nat',
          current_revision: created.body.current_revision,
          values: created.body.values,
          ssh: { host: '127.0.0.1', port: sshd.port, user: sshd.user, private_key: sshd.privateKey },
        },
      });
      expect(ssh.status, ssh.text).toBe(200);

      const verdict = (value: object) =>
        writeFileSync(join(dir.path, 'verdict.json'), `${JSON.stringify(value)}\n`);
      const converged = () =>
        existsSync(join(dir.path, 'converged.log'))
          ? readFileSync(join(dir.path, 'converged.log'), 'utf8').trim().split('\n').length
          : 0;
      const reconcile = async (body: object = {}) => {
        const queued = await api(gateway, 'POST', `/api/v1/clusters/${id}/tasks`, {
          token,
          body: { kind: 'reconcile', ...body },
        });
        expect(queued.status, queued.text).toBe(201);
        expect(queued.body).toMatchObject({ kind: 'reconcile', cluster_id: id });
        const deadline = Date.now() + 30_000;
        for (;;) {
          const task = (await api(gateway, 'GET', `/api/v1/tasks/${queued.body.id}`, { token })).body;
          if (task.status === 'succeeded' || task.status === 'failed') {
            expect(task.status, task.log).toBe('succeeded');
            return task;
          }
          if (Date.now() > deadline) throw new Error(`reconcile is ${task.status}:\n${task.log}`);
          await sleep(200);
        }
      };
      const status = async () => (await api(gateway, 'GET', `/api/v1/clusters/${id}`, { token })).body.status;

      verdict({ status: 'InSync' });
      const inSync = await reconcile();
      expect(inSync.log).toContain(`opening a tunnel to ${target} through the agent`);
      expect(inSync.log).toContain('check: InSync');
      expect(await status()).toBe('in_sync');
      // The host key was pinned on first use, through the tunnel.
      const cluster = await api(gateway, 'GET', `/api/v1/clusters/${id}`, { token });
      expect(cluster.body.ssh.host_key_fingerprint).toBe(sshd.fingerprint);
      const tunnels = await db.sql`select user_type, user_name, audited_changes from audit_records
      where auditable_type = 'Tunnel' and audited_changes->>'cluster_id' = ${id}`;
      expect(tunnels[0]).toMatchObject({ user_type: 'System', user_name: 'manager netns-test' });
      expect(tunnels[0]?.audited_changes).toMatchObject({ target, end: 'closed' });

      verdict({ status: 'OutOfSync' });
      const converging = await reconcile();
      expect(converging.log).toContain('check: OutOfSync');
      expect(converging.log).toContain('running converge');
      expect(converged()).toBe(1);
      expect(await status()).toBe('in_sync');

      verdict({ status: 'DestructiveOutOfSync', destructive_change_id: 'chg-42' });
      const waiting = await reconcile();
      expect(waiting.log).toContain('destructive change chg-42 waits for approval');
      expect(converged()).toBe(1);
      // Waiting for approval: the change is outstanding, as a pending change request.
      expect(await status()).toBe('changing');
      const requests = async () =>
        (await api(gateway, 'GET', `/api/v1/cluster_change_requests?cluster_id=${id}`, { token })).body;
      const [pending, ...others] = await requests();
      expect(others).toEqual([]);
      expect(pending).toMatchObject({ cluster_id: id, status: 'pending', destructive_change_id: 'chg-42' });
      expect(waiting.log).toContain(`POST /api/v1/cluster_change_requests/${pending.id}/approve`);
      // Checking again finds the same request, and still converges nothing.
      await reconcile();
      expect((await requests()).map((r: { id: string }) => r.id)).toEqual([pending.id]);
      expect(converged()).toBe(1);
      // The task body no longer approves.
      const old = await api(gateway, 'POST', `/api/v1/clusters/${id}/tasks`, {
        token,
        body: { kind: 'reconcile', approve_destructive_change_id: 'chg-42' },
      });
      expect(old.status).toBe(400);

      // Approving lets the manager converge on its own.
      const approval = await api(gateway, 'POST', `/api/v1/cluster_change_requests/${pending.id}/approve`, {
        token,
      });
      expect(approval.status, approval.text).toBe(200);
      expect(approval.body).toMatchObject({
        id: pending.id,
        status: 'approved',
        approved_by: 'operator token',
      });
      const deadline = Date.now() + 30_000;
      while ((await requests())[0]?.status !== 'completed') {
        if (Date.now() > deadline) throw new Error(`not completed: ${JSON.stringify(await requests())}`);
        await sleep(200);
      }
      expect(converged()).toBe(2);
      expect(await status()).toBe('in_sync');
      const approvedTask = await db.sql`select log from tasks where cluster_id = ${id} and kind = 'reconcile'
        order by created_at desc limit 1`;
      expect(approvedTask[0]?.log).toContain(`change request ${pending.id} is approved (by operator token)`);
      const again = await api(gateway, 'POST', `/api/v1/cluster_change_requests/${pending.id}/approve`, {
        token,
      });
      expect(again.status).toBe(409);
      expect(again.text.toLowerCase()).toContain('already_completed');
      const audited = await db.sql`select action, user_type, user_name from audit_records
        where auditable_type = 'ClusterChangeRequest' and auditable_id = ${pending.id} order by id`;
      expect(audited).toEqual([
        { action: 'create', user_type: 'System', user_name: 'manager netns-test' },
        { action: 'approve', user_type: 'AuthToken', user_name: 'operator token' },
      ]);

      // Every reconcile went through the agent: one audited tunnel each.
      const [count] = await db.sql`select count(*)::int as n from audit_records
      where auditable_type = 'Tunnel' and audited_changes->>'cluster_id' = ${id}`;
      const [reconciles] = await db.sql`select count(*)::int as n from tasks
      where cluster_id = ${id} and kind = 'reconcile' and status = 'succeeded'`;
      expect(reconciles?.n).toBeGreaterThanOrEqual(5);
      expect(count?.n).toBe(reconciles?.n);
    });
  },
);
