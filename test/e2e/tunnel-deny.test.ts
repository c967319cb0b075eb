// Tunnel refusals end to end: both allow-lists (the cluster's allowed_targets at the gateway,
// the agent's --allow at the agent) must name a target, deny by default; roles and workspaces
// are enforced; an offline agent and an unreachable target are typed errors, never a hang.
// Each refusal is checked on the wire, through openTunnel() (a WebSocket per tunnel) and as a
// stream of a multiplexed TunnelClient (what `commander tunnel` uses).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../shared/net.js';
import { openTunnel, TunnelClient, TunnelClientError } from '../../shared/tunnel-client.js';
import { connectTo, ECHO_TRAILER, echoServer, type TestServer } from '../support/tcp.js';
import { type AgentInstance, AgentStack, eventually, rawTunnelUpgrade } from './agent-stack.js';

/**
 * The error openTunnel rejects with; fails when it opens, or when no answer came within `ms` (a
 * bound that turns a hang into a failure with a message, far above any answer's time).
 */
async function refusal(request: Promise<unknown>, ms = 15_000): Promise<TunnelClientError> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    const outcome = await Promise.race([
      request.then(
        (tunnel) => {
          (tunnel as { destroy?: () => void }).destroy?.();
          return 'opened' as const;
        },
        (error: unknown) => error,
      ),
      timeout,
    ]);
    if (outcome === 'opened') throw new Error('the tunnel opened; expected a refusal');
    if (outcome === 'timeout') throw new Error(`no answer within ${ms} ms; expected a refusal`);
    expect(outcome).toBeInstanceOf(TunnelClientError);
    return outcome as TunnelClientError;
  } finally {
    clearTimeout(timer);
    request.catch(() => {});
  }
}

describe('tunnel refusals', () => {
  let stack: AgentStack;
  let echo: TestServer;
  /** In the cluster's allowed_targets, not in the agent's --allow. */
  let clusterOnly: TestServer;
  /** In the agent's --allow, not in the cluster's allowed_targets. */
  let agentOnly: TestServer;
  let closedPort: number;
  let clusterId: string;
  let offlineClusterId: string;
  let agent: AgentInstance;

  const target = (server: TestServer | number) =>
    `127.0.0.1:${typeof server === 'number' ? server : server.port}`;
  const open = (t: string, options: { token?: string; cluster?: string } = {}) =>
    openTunnel({
      api: stack.gateway.url,
      token: options.token ?? stack.operator,
      clusterId: options.cluster ?? clusterId,
      target: t,
    });
  const auditOf = async (t: string) =>
    eventually(`audit row for ${t}`, async () => {
      const [row] = await stack.db.sql<{ audited_changes: Record<string, any> }[]>`
        select audited_changes from audit_records
        where auditable_type = 'Tunnel' and action = 'tunnel' and audited_changes->>'target' = ${t}
        order by id desc limit 1`;
      return row?.audited_changes;
    });

  /**
   * The refusal as the gateway answers it on the wire (status and upper-case code), then as
   * openTunnel() reports it (the typed lower-case code and the status).
   */
  const expectRefused = async (
    t: string,
    expected: { status: number; http: string; code: string },
    options: { token?: string; cluster?: string } = {},
  ): Promise<TunnelClientError> => {
    const wire = await rawTunnelUpgrade(
      stack.gateway.url,
      options.token ?? stack.operator,
      options.cluster ?? clusterId,
      t,
    );
    expect({ status: wire.status, code: wire.code }, wire.message).toEqual({
      status: expected.status,
      code: expected.http,
    });
    const error = await refusal(open(t, options));
    // Soft: a wrong client-side code is reported, and the test's other checks still run.
    expect.soft({ code: error.code, status: error.status }, error.message).toEqual({
      code: expected.code,
      status: expected.status,
    });
    // The same code as a stream's answer (or, for the caller and the cluster, at the upgrade).
    const client = new TunnelClient({
      api: stack.gateway.url,
      token: options.token ?? stack.operator,
      clusterId: options.cluster ?? clusterId,
    });
    try {
      const viaStream = await refusal(client.open(t));
      expect.soft(viaStream.code, viaStream.message).toBe(expected.code);
    } finally {
      client.close();
    }
    return error;
  };

  beforeAll(async () => {
    [stack, echo, clusterOnly, agentOnly, closedPort] = await Promise.all([
      AgentStack.start(),
      echoServer(),
      echoServer(),
      echoServer(),
      freePort(),
    ]);
    clusterId = await stack.createCluster([target(echo), target(clusterOnly), target(closedPort)]);
    agent = await stack.startAgent(clusterId, {
      allow: [target(echo), target(agentOnly), target(closedPort)],
    });
    offlineClusterId = await stack.createCluster([target(echo)]);
  });

  afterAll(async () => {
    await stack?.close();
    await Promise.all([echo?.close(), clusterOnly?.close(), agentOnly?.close()]);
  });

  it('opens a target both lists allow (the control case)', async () => {
    const tunnel = await open(target(echo));
    const chunks: Buffer[] = [];
    tunnel.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => tunnel.on('end', resolve));
    const payload = randomBytes(1000);
    tunnel.end(payload);
    await ended;
    expect(Buffer.concat(chunks).equals(Buffer.concat([payload, ECHO_TRAILER]))).toBe(true);
    tunnel.destroy();
  });

  it("refuses a target outside the agent's --allow, and the target sees no connection", async () => {
    // Through the CLI, as a user meets it.
    const cli = await stack.startTunnel(clusterId, target(clusterOnly));
    const local = await connectTo(cli.port);
    let received = 0;
    local.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    local.on('error', () => {});
    local.write('hello?');
    // The forward drops the local connection: an end (or a reset) arrives.
    const closed = new Promise((resolve) => {
      local.on('end', resolve);
      local.on('close', resolve);
    });
    const line = await cli.command.waitFor(/tunnel refused: (\S+): (.*)/, 10_000);
    expect.soft(line[1]).toBe('target_not_allowed');
    expect.soft(line[2]).toContain(target(clusterOnly));
    await closed;
    local.destroy();
    expect(received).toBe(0);
    expect(cli.command.child.exitCode).toBeNull(); // the forward stays up for the next connection

    // On the wire and through the client library: the typed code and the HTTP status.
    const error = await expectRefused(target(clusterOnly), {
      status: 403,
      http: 'TARGET_NOT_ALLOWED',
      code: 'target_not_allowed',
    });
    expect.soft(error.message).toMatch(/--allow/);

    expect(await clusterOnly.acceptedBefore()).toBe(0);
    // The agent refused it itself, and the refusal is audited.
    expect(agent.command.stdout()).toMatch(/"msg":"tunnel refused"/);
    expect(await auditOf(target(clusterOnly))).toMatchObject({
      cluster_id: clusterId,
      end: 'target_not_allowed',
      bytes_to_target: 0,
      bytes_from_target: 0,
    });
    await cli.command.stop();
  });

  it("refuses a target outside the cluster's allowed_targets before asking the agent", async () => {
    const agentLogBefore = agent.command.stdout().length;
    const refused = { status: 403, http: 'TARGET_NOT_ALLOWED', code: 'target_not_allowed' };
    const error = await expectRefused(target(agentOnly), refused);
    expect.soft(error.message).toMatch(/allowed_targets/);

    // Deny by default: a cluster created without allowed_targets opens nothing.
    const bare = await stack.createCluster([]);
    await expectRefused(target(echo), refused, { cluster: bare });

    // Then a tunnel the agent itself refuses, and logs: once that line is there, the agent has
    // handled everything the gateway asked of it before, and none of it named the target.
    await refusal(open(target(clusterOnly)));
    const agentLog = () => agent.command.stdout().slice(agentLogBefore);
    await eventually('the agent logged its own refusal', () =>
      agentLog().includes(`"target":"${target(clusterOnly)}"`) ? true : undefined,
    );
    expect(agentLog()).not.toContain(target(agentOnly));
    expect(await agentOnly.acceptedBefore()).toBe(0);
    expect(await auditOf(target(agentOnly))).toMatchObject({ end: 'target_not_allowed' });
  });

  it('refuses a viewer token with forbidden (403)', async () => {
    const before = echo.accepted;
    await expectRefused(
      target(echo),
      { status: 403, http: 'FORBIDDEN', code: 'forbidden' },
      { token: await stack.token('viewer') },
    );
    expect(echo.accepted).toBe(before);
  });

  it("answers another workspace's operator not_found (404), as if the cluster did not exist", async () => {
    const before = echo.accepted;
    const stranger = await stack.token('operator', 'elsewhere');
    const notFound = { status: 404, http: 'NOT_FOUND', code: 'not_found' };
    await expectRefused(target(echo), notFound, { token: stranger });
    // The same answer as for a cluster that does not exist at all.
    await expectRefused(target(echo), notFound, { cluster: '00000000-0000-4000-8000-000000000000' });
    expect(echo.accepted).toBe(before);
  });

  it('refuses a bad token with unauthorized (401)', async () => {
    await expectRefused(
      target(echo),
      { status: 401, http: 'UNAUTHORIZED', code: 'unauthorized' },
      { token: 'not-a-token' },
    );
  });

  it('checks a multiplexed client again for every stream: a revoked token opens nothing more', async () => {
    const token = await stack.token('operator', 'revocable');
    const cluster = await stack.createCluster([target(echo)], token);
    const client = new TunnelClient({ api: stack.gateway.url, token, clusterId: cluster });
    try {
      // The session is up: the refusal is a stream's answer, with no HTTP status.
      const offline = await refusal(client.open(target(echo)));
      expect({ code: offline.code, status: offline.status }).toEqual({
        code: 'agent_offline',
        status: undefined,
      });
      await stack.db.sql`update api_tokens set revoked_at = now()
        where workspace_id = (select id from workspaces where slug = 'revocable')`;
      const revoked = await eventually('a refusal after the revocation', async () => {
        const error = await refusal(client.open(target(echo)));
        return error.code === 'unauthorized' ? error : undefined;
      });
      expect(revoked.status).toBeUndefined();
    } finally {
      client.close();
    }
  });

  it("answers a multiplexed client's malformed target with dial_failed; the session carries on", async () => {
    const client = new TunnelClient({ api: stack.gateway.url, token: stack.operator, clusterId });
    try {
      const error = await refusal(client.open('no port here'));
      expect({ code: error.code, status: error.status }).toEqual({ code: 'dial_failed', status: undefined });
      expect(error.message).toMatch(/host:port/);
      const tunnel = await client.open(target(echo));
      tunnel.destroy();
    } finally {
      client.close();
    }
  });

  it('answers agent_offline (503) when the cluster has no agent connected', async () => {
    await expectRefused(
      target(echo),
      { status: 503, http: 'AGENT_OFFLINE', code: 'agent_offline' },
      { cluster: offlineClusterId },
    );

    const cli = await stack.startTunnel(offlineClusterId, target(echo));
    const local = await connectTo(cli.port);
    local.on('error', () => {});
    const line = await cli.command.waitFor(/tunnel refused: (\S+):/, 10_000);
    expect.soft(line[1]).toBe('agent_offline');
    local.destroy();
    await cli.command.stop();
  });

  it('answers dial_failed (502) quickly when nothing listens on the target port', async () => {
    await expectRefused(target(closedPort), { status: 502, http: 'DIAL_FAILED', code: 'dial_failed' });
    expect(await auditOf(target(closedPort))).toMatchObject({ end: 'dial_failed' });
  });

  it('counts refusals in /metrics by their code', async () => {
    const viewer = await stack.token('viewer');
    const response = await fetch(`${stack.gateway.url}/metrics`, { headers: { 'x-auth-token': viewer } });
    expect(response.status).toBe(200);
    const text = await response.text();
    const value = (result: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`commander_tunnels_total{result="${result}"} `));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    expect(value('target_not_allowed')).toBeGreaterThanOrEqual(1);
    expect(value('agent_offline')).toBeGreaterThanOrEqual(1);
    expect(value('ok')).toBeGreaterThanOrEqual(1);
  });
});
