// Tunnels end to end: a real gateway, a real agent enrolled with a token from the API and
// `commander tunnel`, all separate processes, carrying bytes to targets on this machine: an
// echo server, the tests' PostgreSQL (psql) and OpenSSH's sshd (ssh).
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../shared/net.js';
import { haveSshd, sshClientArgs, startSshd, type TestSshd } from '../support/sshd.js';
import {
  connectTo,
  ECHO_TRAILER,
  earlyEnderServer,
  echoPayload,
  echoServer,
  echoThrough,
  readAll,
  sinkServer,
  type TestServer,
  watchRss,
  writeBulk,
} from '../support/tcp.js';
import {
  type AgentInstance,
  AgentStack,
  eventually,
  postgresTarget,
  type TunnelInstance,
} from './agent-stack.js';
import { api, auditRecords } from './helpers.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const BIG = 256 * MiB;

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, name)));
}
const haveOpenSsh = haveSshd() && onPath('ssh') && onPath('ssh-keygen');

describe('tunnel through a real agent', () => {
  let stack: AgentStack;
  let echo: TestServer;
  let sink: TestServer;
  let earlyEnder: Awaited<ReturnType<typeof earlyEnderServer>>;
  let agent: AgentInstance;
  let clusterId: string;
  let echoTunnel: TunnelInstance;
  const pg = postgresTarget(inject('adminDatabaseUrl'));
  const pgTarget = `${pg.host}:${pg.port}`;
  let sshdPort: number;
  let sshd: TestSshd | undefined;

  const echoTarget = () => `127.0.0.1:${echo.port}`;
  const sinkTarget = () => `127.0.0.1:${sink.port}`;
  const earlyEnderTarget = () => `127.0.0.1:${earlyEnder.port}`;

  beforeAll(async () => {
    [stack, echo, sink, earlyEnder, sshdPort] = await Promise.all([
      AgentStack.start(),
      echoServer(),
      sinkServer(),
      // Slow enough that `commander tunnel` still holds queued bytes when its local side closes.
      earlyEnderServer(4 * MiB),
      freePort(),
    ]);
    const targets = [echoTarget(), sinkTarget(), earlyEnderTarget(), pgTarget, `127.0.0.1:${sshdPort}`];
    clusterId = await stack.createCluster(targets);
    agent = await stack.startAgent(clusterId, { allow: targets });
    expect(agent.command.stdout()).toContain('"msg":"enrolled this agent key with the gateway"');
    await stack.gateway.command.waitFor(/"msg":"agent connected"/, 5_000);
    const cluster = await stack.cluster(clusterId);
    expect(cluster.agent_status).toBe('connected');
    expect(cluster.agent_version).toBe(
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version,
    );
    expect(cluster.agent_gateway_replica).toEqual(expect.any(String));
    echoTunnel = await stack.startTunnel(clusterId, echoTarget());
  });

  afterAll(async () => {
    await sshd?.stop();
    await stack?.close();
    await echo?.close();
    await sink?.close();
    await earlyEnder?.close();
  });

  it('carries 256 MiB each way intact, and a half-closed client still gets the rest', async () => {
    // Half-close: the client sends and ends at once; the target sees the end only after the
    // data, answers with the echo and a final "bye", and the client reads all of it, then 'end'.
    const small = randomBytes(100_000);
    const back = await echoPayload(echoTunnel.port, small);
    expect(back.length).toBe(small.length + ECHO_TRAILER.length);
    expect(back.equals(Buffer.concat([small, ECHO_TRAILER]))).toBe(true);

    // The same with 256 MiB in flight: the client ends while most of the echo is still coming.
    const result = await echoThrough(echoTunnel.port, BIG);
    expect(result.received.error).toBeUndefined();
    expect(result.received.ended).toBe(true);
    expect(result.received.bytes).toBe(BIG + ECHO_TRAILER.length);
    expect(result.received.sha256).toBe(result.expectedSha256);
    console.log(`256 MiB echoed through the tunnel in ${result.ms} ms`);

    // The audit row of that tunnel counts every byte each way.
    const row = await eventually('audit row of the 256 MiB tunnel', async () => {
      const [found] = await stack.db.sql<{ audited_changes: Record<string, any> }[]>`
        select audited_changes from audit_records
        where auditable_type = 'Tunnel' and (audited_changes->>'bytes_to_target')::bigint = ${BIG}`;
      return found;
    });
    expect(row.audited_changes).toMatchObject({
      cluster_id: clusterId,
      target: echoTarget(),
      end: 'closed',
      bytes_to_target: BIG,
      bytes_from_target: BIG + ECHO_TRAILER.length,
    });
    expect(stack.gateway.command.stderr()).toBe('');
    expect(echoTunnel.command.stderr()).toBe('');
  });

  it('still delivers everything to a target that ended its side first and reads slowly', async () => {
    const tunnel = await stack.startTunnel(clusterId, earlyEnderTarget());
    const socket = await connectTo(tunnel.port);
    const reading = readAll(socket);
    const hash = createHash('sha256');
    // Sent after the target's end has arrived, into its full buffers; then our end.
    await writeBulk(socket, 24 * MiB, hash);
    const local = await reading;
    expect(local).toMatchObject({ bytes: 0, ended: true });
    expect(earlyEnder.received).toHaveLength(1);
    const atTarget = await earlyEnder.received[0];
    expect(atTarget).toMatchObject({ bytes: 24 * MiB, sha256: hash.digest('hex'), ended: true });
    await tunnel.command.stop();
  });

  it('lets psql query the real PostgreSQL through the tunnel', async () => {
    const tunnel = await stack.startTunnel(clusterId, pgTarget);
    const url = new URL(`postgres://127.0.0.1:${tunnel.port}/${encodeURIComponent(pg.database)}`);
    url.username = pg.user;
    url.password = pg.password;
    const { stdout } = await run('psql', [url.toString(), '-Atc', 'select 1'], {
      timeout: 20_000,
      env: { PATH: process.env.PATH, PGCONNECT_TIMEOUT: '10' },
    });
    expect(stdout.trim()).toBe('1');
    // The row count of a real table proves a whole protocol exchange, not just a greeting.
    const { stdout: name } = await run(
      'psql',
      [url.toString(), '-Atc', `select current_database() || ':' || inet_server_port()`],
      { timeout: 20_000, env: { PATH: process.env.PATH } },
    );
    expect(name.trim()).toBe(`${pg.database}:${pg.port}`);
    await tunnel.command.stop();
  });

  it.skipIf(!haveOpenSsh && !process.env.CI)(
    `lets ssh run a command on a real sshd through the tunnel${haveOpenSsh ? '' : ' (OpenSSH missing: skipped)'}`,
    async () => {
      expect(haveOpenSsh, 'OpenSSH (sshd, ssh, ssh-keygen) must be installed when CI is set').toBe(true);
      sshd = await startSshd({ port: sshdPort, logLevel: 'VERBOSE' });
      const server = sshd;

      const tunnel = await stack.startTunnel(clusterId, `127.0.0.1:${sshdPort}`);
      const ssh = await run('ssh', sshClientArgs(server, tunnel.port, 'echo ok'), { timeout: 30_000 }).catch(
        (error: Error & { stderr?: string }) => {
          throw new Error(`ssh failed: ${error.message}\n${error.stderr ?? ''}\nsshd:\n${server.log()}`);
        },
      );
      expect(ssh.stdout).toBe('ok\n');
      // sshd saw the connection come from the agent's side, on loopback, and accepted the key.
      expect(server.log()).toMatch(/Accepted publickey for \S+ from 127\.0\.0\.1/);
      await tunnel.command.stop();
    },
  );

  it('carries 100 concurrent connections through one tunnel port, each intact (three rounds)', async () => {
    for (let round = 1; round <= 3; round++) {
      const payloads = Array.from({ length: 100 }, () =>
        randomBytes(256 * 1024 + Math.floor(Math.random() * 768 * 1024)),
      );
      const started = Date.now();
      const answers = await Promise.allSettled(
        payloads.map((payload) => echoPayload(echoTunnel.port, payload)),
      );
      const ms = Date.now() - started;
      const broken = answers.flatMap((answer, i) => {
        const payload = payloads[i] as Buffer;
        if (answer.status === 'rejected') return [`#${i}: ${String(answer.reason)}`];
        const expected = Buffer.concat([payload, ECHO_TRAILER]);
        if (answer.value.equals(expected)) return [];
        return [`#${i}: got ${answer.value.length} of ${expected.length} bytes`];
      });
      console.log(
        `round ${round}: 100 concurrent tunnels, ${Math.round(payloads.reduce((n, p) => n + p.length, 0) / MiB)} MiB, ${ms} ms`,
      );
      expect(broken, `round ${round}: connections that did not get their exact echo and end`).toEqual([]);
    }
    expect(echoTunnel.command.stderr()).toBe('');
  });

  it('keeps a fast connection at full speed next to stalled ones, with bounded memory', async () => {
    const pids = {
      gateway: stack.gateway.command.child.pid as number,
      agent: agent.command.child.pid as number,
      tunnel: echoTunnel.command.child.pid as number,
    };
    const rss = watchRss(pids, 100);
    let peak: Record<string, number> = {};
    const sinkTunnel = await stack.startTunnel(clusterId, sinkTarget());
    const stalled: Array<{ socket: Awaited<ReturnType<typeof connectTo>>; sent: number }> = [];
    const writers: Promise<void>[] = [];
    try {
      // A target that accepts and never reads, and a client that never reads its echo.
      for (const port of [sinkTunnel.port, echoTunnel.port]) {
        const socket = await connectTo(port);
        socket.pause();
        socket.on('error', () => {});
        const entry = { socket, sent: 0 };
        stalled.push(entry);
        writers.push(
          writeBulk(socket, 1024 * MiB, createHash('sha1'), {
            end: false,
            onProgress: (sent) => {
              entry.sent = sent;
            },
          }).catch(() => {}),
        );
      }
      await eventually('the target behind the sink tunnel accepted', () =>
        sink.accepted > 0 ? true : undefined,
      );
      // Both writers are held back before the fast transfer starts: each waits for a drain that
      // does not come (its count stands still between two looks), every buffer on its way full.
      for (const entry of stalled) {
        let last = -1;
        await eventually(
          'a stalled writer held back',
          () => {
            const held = entry.socket.writableNeedDrain && entry.sent === last;
            last = entry.sent;
            return held ? true : undefined;
          },
          20_000,
          500,
        );
      }
      const result = await echoThrough(echoTunnel.port, BIG);
      expect(result.received.error).toBeUndefined();
      expect(result.received.ended).toBe(true);
      expect(result.received.bytes).toBe(BIG + ECHO_TRAILER.length);
      expect(result.received.sha256).toBe(result.expectedSha256);
      console.log(
        `256 MiB next to two stalled streams in ${result.ms} ms; stalled writers got rid of ` +
          `${stalled.map((s) => Math.round(s.sent / MiB)).join(' and ')} MiB`,
      );
      // Back-pressure reached the stalled writers instead of piling their bytes up somewhere.
      for (const entry of stalled) expect(entry.sent).toBeLessThan(256 * MiB);
    } finally {
      peak = rss.stop();
      console.log(`peak RSS (MB): ${JSON.stringify(peak)}`);
      for (const entry of stalled) entry.socket.destroy();
      await Promise.all(writers);
    }
    expect(peak.gateway).toBeLessThan(300);
    expect(peak.agent).toBeLessThan(300);
    expect(peak.tunnel).toBeLessThan(300);
    // After: the processes settle below the bound too.
    const after = watchRss(pids).stop();
    expect(after.gateway).toBeLessThan(300);
    expect(after.agent).toBeLessThan(300);
    // Closing the local connection of the stalled echo closes its tunnel all the way to its target.
    // The sink's client only half-closed (a FIN queued behind bytes its target never reads), as TCP
    // itself would keep such a connection: it goes away with the tunnel process.
    await eventually(
      'the target of the stalled echo tunnel sees its connection closed',
      () => (echo.sockets.size === 0 ? true : undefined),
      10_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}: echo has ${echo.sockets.size} connections open`);
    });
    await sinkTunnel.command.stop();
    // The agent resets its connection to the sink (a paused socket in the sink cannot notice a
    // reset, so ask the kernel): nothing connects to the sink's port any more.
    await eventually(
      'the agent reset its connection to the sink',
      () => {
        const port = sinkTarget().split(':')[1];
        const established = execFileSync('ss', [
          '-Htn',
          'state',
          'established',
          `( dport = :${port} )`,
        ]).toString();
        return established.trim() === '' ? true : undefined;
      },
      10_000,
    );
    await eventually('audit row of the sink tunnel', async () => {
      const [found] = await stack.db.sql`
        select 1 from audit_records where auditable_type = 'Tunnel' and audited_changes->>'target' = ${sinkTarget()}`;
      return found;
    });
  });

  it('audits every tunnel with the bytes each way and counts it in /metrics', async () => {
    const viewer = await stack.token('viewer');
    const metrics = async () => {
      const response = await fetch(`${stack.gateway.url}/metrics`, { headers: { 'x-auth-token': viewer } });
      expect(response.status).toBe(200);
      const text = await response.text();
      const value = (name: string, labels = '') => {
        const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
        return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
      };
      return {
        ok: value('commander_tunnels_total', '{result="ok"}'),
        active: value('commander_tunnels_active'),
        toTarget: value('commander_tunnel_bytes_total', '{direction="to_target"}'),
        fromTarget: value('commander_tunnel_bytes_total', '{direction="from_target"}'),
      };
    };
    const before = await metrics();

    const payload = randomBytes(12_345);
    const back = await echoPayload(echoTunnel.port, payload);
    expect(back.length).toBe(12_345 + ECHO_TRAILER.length);

    const row = await eventually('audit row', async () => {
      const [found] = await stack.db.sql<
        { auditable_id: string; action: string; user_type: string; audited_changes: Record<string, any> }[]
      >`
        select auditable_id, action, user_type, audited_changes from audit_records
        where auditable_type = 'Tunnel' and (audited_changes->>'bytes_to_target')::bigint = 12345`;
      return found;
    });
    expect(row.action).toBe('tunnel');
    expect(row.user_type).toBe('AuthToken');
    expect(row.audited_changes).toEqual({
      cluster_id: clusterId,
      target: echoTarget(),
      end: 'closed',
      bytes_to_target: 12_345,
      bytes_from_target: 12_345 + ECHO_TRAILER.length,
      duration_ms: expect.any(Number),
    });
    expect(row.audited_changes.duration_ms).toBeGreaterThanOrEqual(0);

    // The same record on the gateway's stdout, as log shippers read it.
    const printed = await eventually('[audit] line', () =>
      auditRecords(stack.gateway.command.stdout()).find(
        (record) => record.auditable_type === 'Tunnel' && record.auditable_id === row.auditable_id,
      ),
    );
    expect(printed.action).toBe('tunnel');
    expect(printed.audited_changes).toEqual(row.audited_changes);

    // And through the audit API.
    const listed = await api(stack.gateway.url, 'GET', `/api/v1/audit?auditable_id=${row.auditable_id}`, {
      token: stack.operator,
    });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body).toHaveLength(1);
    expect(listed.body[0].audited_changes).toEqual(row.audited_changes);

    // /metrics counted exactly this one tunnel and its bytes.
    const after = await eventually('tunnel closed in /metrics', async () => {
      const m = await metrics();
      return m.toTarget > before.toTarget ? m : undefined;
    });
    expect(after.active).toBe(before.active);
    expect(after.ok - before.ok).toBe(1);
    expect(after.ok).toBeGreaterThan(0);
    expect(after.toTarget - before.toTarget).toBe(12_345);
    expect(after.fromTarget - before.fromTarget).toBe(12_345 + ECHO_TRAILER.length);
  });
});
