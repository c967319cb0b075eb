// Agent faults end to end: an agent killed mid-transfer, a hung agent (SIGSTOP), a gateway
// restarted under a connected agent. Tunnels end with the agent's session and are refused while
// it is gone (nothing waits on a dead peer), the cluster's agent_status follows, and the agent
// comes back by itself. How fast is bench/'s to measure; these say why each thing happened.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectTo,
  ECHO_TRAILER,
  echoPayload,
  echoServer,
  slowReaderServer,
  type TestServer,
  writeBulk,
} from '../support/tcp.js';
import {
  type AgentInstance,
  AgentStack,
  eventually,
  logged,
  type TunnelInstance,
  waitForLog,
} from './agent-stack.js';

const MiB = 1024 * 1024;
const HEARTBEAT_S = 1;

describe('agent faults', () => {
  let stack: AgentStack;
  let echo: TestServer;
  /** Reads at about 8 MB/s: an upload to it is held back by back-pressure all the way. */
  let slow: TestServer;
  let clusterId: string;
  let agent: AgentInstance;
  let tunnel: TunnelInstance;
  let slowTunnel: TunnelInstance;
  const allow = () => [`127.0.0.1:${echo.port}`, `127.0.0.1:${slow.port}`];

  /** A small round trip through the running `commander tunnel`. */
  const roundTrip = async () => {
    const payload = randomBytes(64 * 1024);
    const back = await echoPayload(tunnel.port, payload);
    expect(back.equals(Buffer.concat([payload, ECHO_TRAILER]))).toBe(true);
  };

  const startAgent = (stateDir?: string, tokenFile?: string) =>
    stack.startAgent(clusterId, { allow: allow(), heartbeat: HEARTBEAT_S, stateDir, tokenFile });

  beforeAll(async () => {
    [stack, echo, slow] = await Promise.all([AgentStack.start(), echoServer(), slowReaderServer(8 * MiB)]);
    clusterId = await stack.createCluster(allow());
    agent = await startAgent();
    tunnel = await stack.startTunnel(clusterId, allow()[0] as string);
    slowTunnel = await stack.startTunnel(clusterId, allow()[1] as string);
  });

  afterAll(async () => {
    if (agent) agent.command.child.kill('SIGCONT');
    await stack?.close();
    await echo?.close();
    await slow?.close();
  });

  it('kill -9 of the agent mid-transfer ends the client connections: the gateway acts on the dropped connection', async () => {
    /** A connection through `port` sending at full speed (and counting what comes back). */
    const transfer = async (port: number) => {
      const socket = await connectTo(port);
      const state = { sent: 0, received: 0, closed: false, socket };
      socket.on('data', (chunk: Buffer) => {
        state.received += chunk.length;
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        state.closed = true;
      });
      const writing = writeBulk(socket, 8192 * MiB, createHash('sha1'), {
        end: false,
        onProgress: (sent) => {
          state.sent = sent;
        },
      }).catch(() => {});
      return { state, writing };
    };
    // Both directions busy through the echo target; an upload held back by a slow target.
    const both = await transfer(tunnel.port);
    const upload = await transfer(slowTunnel.port);
    await eventually(
      'both transfers under way',
      () => (both.state.received > 32 * MiB && upload.state.sent > 32 * MiB ? true : undefined),
      20_000,
    );

    const disconnects = logged(stack.gateway.command, 'agent disconnected', { cluster_id: clusterId }).length;
    agent.command.child.kill('SIGKILL');
    expect(await agent.command.exited).toBeNull();
    // The client connections end by themselves (the writers never stop, so nothing else would
    // end them); the wait only turns a hang into a failure with a message.
    await eventually(
      'both client connections closed',
      () => (both.state.closed && upload.state.closed ? true : undefined),
      20_000,
    );
    for (const { state, writing } of [both, upload]) {
      state.socket.destroy();
      await writing;
    }

    // The gateway ended the session because the agent's connection went away (the kernel closed
    // it), not because its pings stopped: that would be keepalive_timeout, two heartbeats later.
    const line = await waitForLog(stack.gateway.command, 'agent disconnected', {
      count: disconnects + 1,
      fields: { cluster_id: clusterId },
    });
    expect(['closed', 'transport_error']).toContain(line.reason);
    await stack.waitForAgentStatus(clusterId, 'disconnected');

    // Both broken tunnels are audited with what they carried and an end that says the agent's
    // session ended under them: a clean close has no typed reason, a failed connection its code.
    const rows = await eventually('audit rows of both broken tunnels', async () => {
      const found = await stack.db.sql<{ audited_changes: Record<string, any> }[]>`
        select audited_changes from audit_records where auditable_type = 'Tunnel'
        and audited_changes->>'cluster_id' = ${clusterId}`;
      return found.length === 2 ? found.map((row) => row.audited_changes) : undefined;
    });
    const end = line.reason === 'closed' ? 'agent_closed' : line.reason;
    const [echoed, uploaded] = allow().map((target) => rows.find((row) => row.target === target));
    expect(echoed).toMatchObject({ end, bytes_to_target: expect.any(Number) });
    expect(echoed?.bytes_from_target).toBeGreaterThan(32 * MiB);
    expect(uploaded).toMatchObject({ end, bytes_from_target: 0 });
    expect(uploaded?.bytes_to_target).toBeGreaterThan(0);
  });

  it('the agent restarted from its state dir connects again and carries tunnels', async () => {
    agent = await startAgent(agent.stateDir, agent.tokenFile);
    expect(logged(agent.command, 'enrolled this agent key with the gateway')).toHaveLength(0);
    await stack.waitForAgentStatus(clusterId, 'connected', 5_000);
    const cluster = await stack.cluster(clusterId);
    expect(cluster.agent_status).toBe('connected');
    expect(cluster.agent_gateway_replica).toEqual(expect.any(String));
    await roundTrip();
  });

  it('a hung agent (SIGSTOP) is dropped for its missing pings, after the two heartbeats it was given', async () => {
    // The session now open, as both ends saw it: the heartbeat the agent pings at, and the
    // silence the gateway allows before it gives up on it.
    const mine = logged(agent.command, 'connected to the gateway').at(-1) as Record<string, any>;
    const theirs = logged(stack.gateway.command, 'agent connected', { session_id: mine.session_id });
    expect(theirs).toHaveLength(1);
    expect(mine.heartbeat_ms).toBe(HEARTBEAT_S * 1000);
    expect(theirs[0]?.ping_timeout_ms).toBe(2 * mine.heartbeat_ms);

    const pid = agent.command.child.pid as number;
    process.kill(pid, 'SIGSTOP');
    try {
      // A stopped process keeps its connection open and cannot close it: only the gateway's
      // liveness check ends this session, and its reason says so.
      const line = await waitForLog(stack.gateway.command, 'agent disconnected', {
        fields: { session_id: mine.session_id },
        timeoutMs: 30_000,
      });
      expect(line.reason).toBe('keepalive_timeout');
      await stack.waitForAgentStatus(clusterId, 'disconnected');
      // Meanwhile a tunnel is refused by the gateway for having no agent, without asking the
      // dead peer (that would be "the agent did not answer" once a dial gave up).
      const refusals = () => tunnel.command.stderr().match(/tunnel refused: .*/g) ?? [];
      const before = refusals().length;
      const back = await echoPayload(tunnel.port, Buffer.from('x')).catch(() => Buffer.alloc(0));
      expect(back.length).toBe(0);
      const refusal = await eventually('the tunnel refusal', () => refusals()[before]);
      expect(refusal).toBe('tunnel refused: agent_offline: the cluster has no agent connected');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // Woken up, it notices and connects again by itself.
    await waitForLog(agent.command, 'connected to the gateway', { count: 2, timeoutMs: 15_000 });
    await stack.waitForAgentStatus(clusterId, 'connected', 5_000);
    await roundTrip();
  });

  it('a gateway restarted on the same port and database gets the agent back by itself', async () => {
    const { port } = stack.gateway;
    const old = stack.gateway.command;
    const connects = logged(agent.command, 'connected to the gateway').length;
    // A connection open through the tunnel while the gateway stops is audited as it ends.
    const open = await connectTo(tunnel.port);
    open.on('error', () => {});
    const hello = randomBytes(1000);
    open.write(hello);
    let echoed = 0;
    open.on('data', (chunk: Buffer) => {
      echoed += chunk.length;
    });
    await eventually('the echo through the open connection', async () => echoed >= hello.length || undefined);
    old.child.kill('SIGTERM');
    expect(await old.exited).toBe(0);
    open.destroy();
    const [stopped] = await stack.db.sql<{ audited_changes: Record<string, any> }[]>`
      select audited_changes from audit_records
      where auditable_type = 'Tunnel' and audited_changes->>'end' = 'gateway_stopped'`;
    expect(stopped?.audited_changes).toMatchObject({ bytes_to_target: 1000, bytes_from_target: 1000 });
    await stack.waitForAgentStatus(clusterId, 'disconnected', 5_000);

    const restartedAt = Date.now();
    await stack.startGateway(port);
    // The old gateway drained for its open tunnel first, so the agent's backoff has grown meanwhile.
    await waitForLog(agent.command, 'connected to the gateway', { count: connects + 1, timeoutMs: 45_000 });
    await waitForLog(stack.gateway.command, 'agent connected', { fields: { cluster_id: clusterId } });
    console.log(`agent back ${Date.now() - restartedAt} ms after the new gateway was ready`);
    await stack.waitForAgentStatus(clusterId, 'connected', 5_000);
    // The same `commander tunnel` process works against the new gateway.
    await roundTrip();
  });
});
