// `commander tunnel` checks what it can before it says "listening": a bad token, a cluster it
// cannot see, a role below operator or a target outside allowed_targets is one line on stderr
// and exit 1, with nothing bound locally and nothing dialed. Bad flags are exit 2. A refusal
// names its code once.
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../shared/net.js';
import { ECHO_TRAILER, echoPayload, echoServer, type TestServer } from '../support/tcp.js';
import { type AgentInstance, AgentStack, eventually } from './agent-stack.js';
import { lines } from './helpers.js';

type Result = { code: number | null; stdout: string; stderr: string };

/** Exit `code`, nothing on stdout, exactly one `commander: …` line on stderr that matches. */
function expectOneLine(result: Result, code: number, pattern: RegExp): string {
  expect(result.code, result.stdout + result.stderr).toBe(code);
  expect(result.stdout).toBe('');
  expect(result.stderr.endsWith('\n')).toBe(true);
  const errorLines = result.stderr.split('\n').slice(0, -1);
  expect(errorLines).toHaveLength(1);
  const line = errorLines[0] as string;
  expect(line).toMatch(/^commander: \S/);
  expect(line).toMatch(pattern);
  return line;
}

/** Whether something accepts connections on the local port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('commander tunnel before it listens', () => {
  let stack: AgentStack;
  let echo: TestServer;
  /** Allowed by the agent's --allow, not by the cluster's allowed_targets. */
  let agentOnly: TestServer;
  /** Allowed by the cluster's allowed_targets, not by the agent's --allow. */
  let clusterOnly: TestServer;
  let clusterId: string;
  let agent: AgentInstance;
  const target = (server: TestServer) => `127.0.0.1:${server.port}`;

  beforeAll(async () => {
    [stack, echo, agentOnly, clusterOnly] = await Promise.all([
      AgentStack.start(),
      echoServer(),
      echoServer(),
      echoServer(),
    ]);
    clusterId = await stack.createCluster([target(echo), target(clusterOnly)]);
    agent = await stack.startAgent(clusterId, { allow: [target(echo), target(agentOnly)] });
  });

  afterAll(async () => {
    await stack?.close();
    await Promise.all([echo?.close(), agentOnly?.close(), clusterOnly?.close()]);
  });

  /** Runs `commander tunnel` on a free port to its end; fails if it is still running after 15 s. */
  const runTunnel = async (
    options: { token?: string; cluster?: string; target?: string; api?: string } = {},
  ): Promise<Result & { port: number }> => {
    const port = await freePort();
    const tokenFile =
      options.token === undefined ? stack.operatorFile : stack.writeFile(`t-${port}`, options.token);
    const result = await stack.processes.run(
      [
        'tunnel',
        '--api',
        options.api ?? stack.gateway.url,
        '--token-file',
        tokenFile,
        '--cluster',
        options.cluster ?? clusterId,
        '--target',
        options.target ?? target(echo),
        '--listen',
        `127.0.0.1:${port}`,
      ],
      {},
      15_000,
    );
    return { ...result, port };
  };

  const tunnelAudits = async (t: string) =>
    (
      await stack.db.sql`select 1 from audit_records
      where auditable_type = 'Tunnel' and audited_changes->>'target' = ${t}`
    ).length;

  it('refuses a bad token: one line, exit 1, nothing listening', async () => {
    const result = await runTunnel({ token: 'not-a-token' });
    expectOneLine(result, 1, /^commander: tunnel refused: unauthorized: /);
    expect(await listening(result.port)).toBe(false);
  });

  it('refuses a cluster that does not exist, or is in another workspace, alike', async () => {
    expectOneLine(await runTunnel({ cluster: randomUUID() }), 1, /^commander: tunnel refused: not_found: /);
    const stranger = await stack.token('operator', 'elsewhere');
    expectOneLine(await runTunnel({ token: stranger }), 1, /^commander: tunnel refused: not_found: /);
  });

  it('refuses a viewer token', async () => {
    const viewer = await stack.token('viewer');
    expectOneLine(await runTunnel({ token: viewer }), 1, /^commander: tunnel refused: forbidden: .*operator/);
  });

  it("refuses a target outside the cluster's allowed_targets without dialing it, naming the code once", async () => {
    const result = await runTunnel({ target: target(agentOnly) });
    const line = expectOneLine(result, 1, /^commander: tunnel refused: target_not_allowed: /);
    expect(line.match(/target_not_allowed/g)).toHaveLength(1);
    expect(line).toContain(target(agentOnly));
    expect(await listening(result.port)).toBe(false);
    expect(agentOnly.accepted).toBe(0);
  });

  it('refuses bad flags with exit 2 before reaching the gateway', async () => {
    expectOneLine(await runTunnel({ target: 'no-port' }), 2, /^commander: --target: must be host:port/);
    expectOneLine(await runTunnel({ cluster: 'prod-1' }), 2, /^commander: --cluster: .*uuid/);
    expectOneLine(await runTunnel({ api: 'localhost:8080' }), 2, /^commander: --api: /);
  });

  it('listens after the checks without dialing; the first connection is the first tunnel', async () => {
    const tunnel = await stack.startTunnel(clusterId, target(echo));
    expect(tunnel.command.stderr()).toBe('');
    const payload = Buffer.from('through');
    const back = await echoPayload(tunnel.port, payload);
    expect(back.equals(Buffer.concat([payload, ECHO_TRAILER]))).toBe(true);
    // One tunnel was used, and one is audited: the checks opened none.
    await eventually('the audit row of the tunnel', async () =>
      (await tunnelAudits(target(echo))) > 0 ? true : undefined,
    );
    expect(await tunnelAudits(target(echo))).toBe(1);
    expect(echo.accepted).toBe(1);
    await tunnel.command.stop();
  });

  it("reports the agent's own refusal at the connection, naming the code once", async () => {
    const tunnel = await stack.startTunnel(clusterId, target(clusterOnly));
    const local = connect(tunnel.port, '127.0.0.1');
    local.on('error', () => {});
    const line = await tunnel.command.waitFor(/tunnel refused: .*\n/, 10_000);
    expect(line[0]).toMatch(/^tunnel refused: target_not_allowed: /);
    expect(line[0].match(/target_not_allowed/g)).toHaveLength(1);
    expect(line[0]).toMatch(/--allow/);
    local.destroy();
    expect(tunnel.command.child.exitCode).toBeNull();
    await tunnel.command.stop();
  });

  it('warns, and still listens, when the agent is not connected', async () => {
    const offline = await stack.createCluster([target(echo)]);
    const tunnel = await stack.startTunnel(offline, target(echo));
    // stderr and stdout are separate pipes: the warning, printed first, may be read second.
    await tunnel.command.waitFor(/commander: warning: the cluster's agent is never connected; /);
    expect(lines(tunnel.command.stderr())).toHaveLength(1);
    await tunnel.command.stop();
    expect(agent.command.child.exitCode).toBeNull();
  });
});
