// Three gateway replicas on one database behind a round-robin load balancer, agents spread over
// them: OpenSSH through `commander tunnel` works through every replica to every cluster (a tunnel
// to an agent held elsewhere goes over the replica link), the link admits only peers that prove
// the key, a killed replica's agents come back through the others within two heartbeats, and a
// draining replica lets running tunnels finish while its agents move.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialLink, LINK_KEY_PURPOSE } from '../../gateway/replica-link.js';
import { KEY_VARIABLES } from '../../shared/config.js';
import { Encryptor } from '../../shared/crypto.js';
import { encodeMessage, readFirstMessage } from '../../shared/wire/messages.js';
import { type Balancer, startBalancer } from '../support/balancer.js';
import { haveSshd, sshClientArgs, startSshd, type TestSshd } from '../support/sshd.js';
import {
  type AgentInstance,
  AgentStack,
  eventually,
  type GatewayInstance,
  logged,
  rawTunnelUpgrade,
  waitForLog,
} from './agent-stack.js';

const run = promisify(execFile);
const onPath = (name: string) =>
  (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, name)));
const haveOpenSsh = haveSshd() && onPath('ssh') && onPath('ssh-keygen');
/** Replica and agent heartbeat, seconds. */
const HEARTBEAT_S = 2;
/** Waits are generous: the suite may run beside everything else on two cores. */
const WAIT_MS = 60_000;

interface Replica extends GatewayInstance {
  id: string;
  linkPort: number;
}

describe.skipIf(!haveOpenSsh && !process.env.CI)('three gateway replicas behind a load balancer', () => {
  let stack: AgentStack;
  let sshd: TestSshd;
  let balancer: Balancer;
  const replicas: Replica[] = [];
  const clusters: string[] = [];
  const agents: AgentInstance[] = [];
  const sshTarget = () => `127.0.0.1:${sshd.port}`;

  const replicaEnv = (id: string) => ({
    COMMANDER_REPLICA_ID: id,
    COMMANDER_REPLICA_LISTEN: '127.0.0.1:0',
    COMMANDER_REPLICA_HEARTBEAT_SECONDS: String(HEARTBEAT_S),
    // Long enough that a drain ends because its tunnels ended, not because time ran out.
    COMMANDER_SHUTDOWN_TIMEOUT: '120',
  });

  const holders = async () =>
    stack.db.sql<{ id: string; agent_replica: string | null; agent_status: string }[]>`
      select id, agent_replica, agent_status from clusters where id = any(${clusters}::uuid[])`;
  const holderOf = async (clusterId: string) => (await holders()).find((row) => row.id === clusterId);

  const beats = async (ids: string[]) => {
    const rows = await stack.db.sql<{ id: string; beats: string }[]>`
      select id, beats from gateway_replicas where id = any(${ids}::text[])`;
    return new Map(rows.map((row) => [row.id, Number(row.beats)]));
  };

  const sshArgs = (port: number, command: string) => sshClientArgs(sshd, port, command, 30);

  /** `ssh … echo <word>` through `commander tunnel` on `replica` to `clusterId`. */
  const sshThrough = async (replica: Replica, clusterId: string, word: string) => {
    const tunnel = await stack.startTunnel(clusterId, sshTarget(), stack.operatorFile, replica.url);
    try {
      const { stdout } = await run('ssh', sshArgs(tunnel.port, `echo ${word}`), { timeout: WAIT_MS }).catch(
        (error: Error & { stderr?: string }) => {
          throw new Error(
            `ssh through ${replica.id} to ${clusterId} failed: ${error.message}\n${error.stderr ?? ''}\n` +
              `tunnel: ${tunnel.command.stderr()}\nsshd: ${sshd.log()}`,
          );
        },
      );
      expect(stdout).toBe(`${word}\n`);
    } finally {
      await tunnel.command.stop();
    }
  };

  beforeAll(async () => {
    expect(haveOpenSsh, 'OpenSSH (sshd, ssh, ssh-keygen) must be installed when CI is set').toBe(true);
    sshd = await startSshd();
    stack = await AgentStack.start(replicaEnv('r0'));
    const first = stack.gateway;
    const more = await Promise.all([
      stack.startGateway(undefined, replicaEnv('r1')),
      stack.startGateway(undefined, replicaEnv('r2')),
    ]);
    for (const [i, gateway] of [first, ...more].entries()) {
      const listening = await waitForLog(gateway.command, 'replica link listening', { timeoutMs: WAIT_MS });
      const linkPort = Number(/:(\d+)$/.exec(listening.address as string)?.[1]);
      replicas.push({ ...gateway, id: `r${i}`, linkPort });
    }
    balancer = await startBalancer(replicas.map((replica) => replica.port));
    for (let i = 0; i < 3; i++) clusters.push(await stack.createCluster([sshTarget()]));
    // One at a time: the balancer's turns put one agent on each replica.
    for (const clusterId of clusters) {
      agents.push(
        await stack.startAgent(clusterId, {
          allow: [sshTarget()],
          heartbeat: HEARTBEAT_S,
          url: `http://127.0.0.1:${balancer.port}/agent_api/${clusterId}`,
        }),
      );
      await stack.waitForAgentStatus(clusterId, 'connected', WAIT_MS);
    }
  }, 4 * WAIT_MS);

  afterAll(async () => {
    await stack?.close();
    await balancer?.close();
    await sshd?.stop();
  });

  it('spreads the agents: each replica holds one session, registered in PostgreSQL', async () => {
    const rows = await holders();
    expect(rows.map((row) => row.agent_status)).toEqual(['connected', 'connected', 'connected']);
    expect(new Set(rows.map((row) => row.agent_replica))).toEqual(new Set(['r0', 'r1', 'r2']));
    const registered = await stack.db.sql<{ id: string; address: string }[]>`
      select id, address from gateway_replicas order by id`;
    expect(registered.map((row) => [row.id, row.address])).toEqual(
      replicas.map((replica) => [replica.id, `127.0.0.1:${replica.linkPort}`]),
    );
    const [since] = await stack.db.sql<{ n: number }[]>`
      select count(*)::int as n from clusters where id = any(${clusters}::uuid[]) and agent_connected_at is not null`;
    expect(since?.n).toBe(3);
  });

  it(
    'carries OpenSSH through every replica to every cluster, over links made on demand',
    async () => {
      for (const replica of replicas) {
        await Promise.all(
          clusters.map((clusterId, i) => sshThrough(replica, clusterId, `${replica.id}-c${i}`)),
        );
        // The one-tunnel WebSocket (what a manager's reconcile uses) through this replica too.
        for (const clusterId of clusters) {
          const answer = await rawTunnelUpgrade(replica.url, stack.operator, clusterId, sshTarget(), WAIT_MS);
          expect(answer.status, `${replica.id} → ${clusterId}: ${answer.code} ${answer.message}`).toBe(101);
        }
      }
      // Each replica reached the two agents it does not hold through a link of its own to each
      // holder: two links opened per replica, no more (a link carries every tunnel to its peer).
      for (const replica of replicas) {
        const opened = logged(replica.command, 'replica link opened').map((line) => line.peer);
        expect(new Set(opened).size, replica.id).toBe(2);
        expect(opened).not.toContain(`127.0.0.1:${replica.linkPort}`);
      }
    },
    4 * WAIT_MS,
  );

  it('admits on the link only a peer that proves the key, and only to allowed targets', async () => {
    const target = replicas[0] as Replica;
    // The wrong key: the link is refused before any stream can open.
    const stranger = await Encryptor.create({
      primaryKeys: ['x'.repeat(40)],
      deterministicKeys: ['y'.repeat(40)],
      salt: 'z'.repeat(40),
    });
    await expect(
      dialLink(`127.0.0.1:${target.linkPort}`, stranger.macKeys(LINK_KEY_PURPOSE), 'stranger'),
    ).rejects.toThrow();
    await waitForLog(target.command, 'replica link refused', { timeoutMs: WAIT_MS });
    // Saying nothing at all gets the connection closed too.
    const silent = connect(target.linkPort, '127.0.0.1');
    silent.on('error', () => {});
    const challenge = await readFirstMessage(silent, 4096, WAIT_MS);
    expect(challenge.message.type).toBe('challenge');
    silent.write(encodeMessage({ type: 'hello', replica: 'x', nonce: 'AAAA', proofs: ['AAAA'] }));
    await new Promise((resolve) => silent.once('close', resolve));

    // The right key: a stream opens, and the holder still checks the cluster's allowed_targets.
    const env = stack.env;
    const ours = await Encryptor.create({
      primaryKeys: (env[KEY_VARIABLES.primary] as string).split(','),
      deterministicKeys: (env[KEY_VARIABLES.deterministic] as string).split(','),
      salt: env[KEY_VARIABLES.salt] as string,
    });
    const session = await dialLink(`127.0.0.1:${target.linkPort}`, ours.macKeys(LINK_KEY_PURPOSE), 'test');
    try {
      const held = (await holders()).find((row) => row.agent_replica === 'r0');
      expect(held).toBeDefined();
      const ask = async (body: object) => {
        const stream = session.open();
        stream.on('error', () => {});
        stream.write(encodeMessage(body));
        const { message } = await readFirstMessage(stream, 16 * 1024, WAIT_MS);
        stream.destroy();
        return message;
      };
      const notAllowed = await ask({ type: 'dial', cluster_id: held?.id, target: '127.0.0.1:1' });
      expect(notAllowed).toMatchObject({ ok: false, code: 'target_not_allowed' });
      const malformed = await ask({ type: 'dial', cluster_id: 'not-a-uuid', target: sshTarget() });
      expect(malformed).toMatchObject({ ok: false, code: 'dial_failed' });
      const allowed = await ask({ type: 'dial', cluster_id: held?.id, target: sshTarget() });
      expect(allowed).toEqual({ ok: true });
    } finally {
      session.close();
    }
  });

  it(
    "moves a killed replica's agents to the others within two heartbeats",
    async () => {
      const victim = replicas[2] as Replica;
      const survivors = replicas.filter((replica) => replica !== victim).map((replica) => replica.id);
      const [moved] = (await holders()).filter((row) => row.agent_replica === victim.id);
      expect(moved).toBeDefined();
      const clusterId = moved?.id as string;
      // Heartbeats of the survivors are the clock: how many passed from just before the kill
      // until the agent was back (read before it, so the span holds the whole move).
      const before = await beats(survivors);
      victim.command.child.kill('SIGKILL');
      await victim.command.exited;
      const back = await eventually(
        'the agent of the killed replica back through a survivor',
        async () => {
          const row = await holderOf(clusterId);
          return row?.agent_status === 'connected' && survivors.includes(row.agent_replica ?? '')
            ? row
            : undefined;
        },
        WAIT_MS,
        20,
      );
      const after = await beats(survivors);
      const passed = Math.max(...survivors.map((id) => (after.get(id) ?? 0) - (before.get(id) ?? 0)));
      console.log(`agent back on ${back.agent_replica} after ${passed} heartbeat(s) of a survivor`);
      expect(
        passed,
        `heartbeats of a survivor while the agent came back to ${back.agent_replica}`,
      ).toBeLessThanOrEqual(2);
      // The survivors count the killed replica gone and forget it.
      await eventually(
        'the killed replica removed from gateway_replicas',
        async () =>
          (await stack.db.sql`select 1 from gateway_replicas where id = ${victim.id}`).length === 0 ||
          undefined,
        WAIT_MS,
      );
      // And its cluster is reachable through every survivor.
      for (const replica of replicas.filter((r) => r !== victim))
        await sshThrough(replica, clusterId, 'moved');
    },
    4 * WAIT_MS,
  );

  it(
    'lets running tunnels finish on a draining replica while its agents move to another',
    async () => {
      const draining = replicas[1] as Replica;
      const other = replicas[0] as Replica;
      const held = (await holders()).find((row) => row.agent_replica === draining.id);
      expect(held).toBeDefined();
      const clusterId = held?.id as string;
      // Two interactive ssh sessions to the draining replica's agent: one through that replica,
      // one through the other (forwarded over the link).
      const sessions = await Promise.all(
        [draining, other].map(async (replica) => {
          const tunnel = await stack.startTunnel(clusterId, sshTarget(), stack.operatorFile, replica.url);
          const ssh = spawn('ssh', sshArgs(tunnel.port, 'cat'), { stdio: ['pipe', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          ssh.stdout.on('data', (chunk: Buffer) => {
            out += chunk.toString();
          });
          ssh.stderr.on('data', (chunk: Buffer) => {
            err += chunk.toString();
          });
          const exited = new Promise<number | null>((resolve) => ssh.on('exit', resolve));
          ssh.stdin.write('before\n');
          await eventually('the first line back', () => (out === 'before\n' ? true : undefined), WAIT_MS);
          return { tunnel, ssh, exited, out: () => out, err: () => err, via: replica.id };
        }),
      );
      draining.command.child.kill('SIGTERM');
      await waitForLog(draining.command, 'shutting down', { timeoutMs: WAIT_MS });
      // The agent moves through the balancer to a replica that is not draining.
      const agent = agents[clusters.indexOf(clusterId)] as AgentInstance;
      await waitForLog(agent.command, 'the gateway asked this agent to move', { timeoutMs: WAIT_MS });
      await eventually(
        'the moved agent held by another replica',
        async () => {
          const row = await holderOf(clusterId);
          return row?.agent_status === 'connected' && row.agent_replica !== draining.id ? row : undefined;
        },
        WAIT_MS,
        20,
      );
      // The draining replica still runs: its tunnels have not ended.
      expect(draining.command.child.exitCode).toBe(null);
      for (const session of sessions) {
        session.ssh.stdin.end('after\n');
        expect(await session.exited, `${session.via}: ${session.err()}`).toBe(0);
        expect(session.out()).toBe('before\nafter\n');
        await session.tunnel.command.stop();
      }
      // With its tunnels done, it stops by itself, long before its 120 s shutdown timeout.
      expect(await draining.command.exited).toBe(0);
      expect(
        logged(draining.command, 'requests still running at the shutdown deadline; closing them'),
      ).toEqual([]);
      // Neither tunnel was cut by the stop.
      const ends = await stack.db.sql<{ end: string }[]>`
        select audited_changes->>'end' as end from audit_records
        where auditable_type = 'Tunnel' and audited_changes->>'end' = 'gateway_stopped'`;
      expect(ends).toEqual([]);
      // And the cluster works through the replica left.
      await sshThrough(other, clusterId, 'after-drain');
    },
    4 * WAIT_MS,
  );
});
