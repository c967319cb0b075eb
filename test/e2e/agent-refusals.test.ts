// Refusals the agent cannot wait out end it at once, with one line on stderr (what happened,
// what to do) and an exit code per kind; failures that may pass are retried. Real gateway and
// agent processes, except for the gateway of another protocol version, which is played here.
import { randomBytes, randomUUID } from 'node:crypto';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { AgentStack, logged, unsignedEnrollmentToken, waitForLog } from './agent-stack.js';
import { api } from './helpers.js';

/** The exit codes README.md documents for `commander agent`. */
const EXIT = {
  malformedToken: 3,
  enrollmentRefused: 4,
  notEnrolled: 5,
  revoked: 6,
  unknownCluster: 7,
  unsupportedProtocol: 8,
};

type Result = { code: number | null; stdout: string; stderr: string };

/** Exits with `code`, and stderr is exactly one `commander: agent: …` line that matches. */
function expectGaveUp(result: Result, code: number, pattern: RegExp): string {
  expect(result.code, `${result.stdout.slice(-3000)}\n${result.stderr}`).toBe(code);
  expect(result.stderr.endsWith('\n')).toBe(true);
  const errorLines = result.stderr.split('\n').slice(0, -1);
  expect(errorLines).toHaveLength(1);
  const line = errorLines[0] as string;
  expect(line).toMatch(/^commander: agent: \S/);
  expect(line).toMatch(pattern);
  return line;
}

describe('agent refusals', () => {
  let stack: AgentStack;
  let n = 0;

  beforeAll(async () => {
    stack = await AgentStack.start();
  });

  afterAll(async () => {
    await stack?.close();
  });

  const agentArgs = (clusterId: string, tokenFile: string, stateDir: string, base = stack.gateway.url) => [
    'agent',
    '--url',
    `${base}/agent_api/${clusterId}`,
    '--token-file',
    tokenFile,
    '--state-dir',
    stateDir,
    '--heartbeat-interval',
    '1',
    '--allow',
    '127.0.0.1:1',
  ];
  const stateDir = () => join(stack.dir.path, `refusal-state-${++n}`);
  /** Runs an agent to its end; fails when it is still running after 20 s. */
  const runAgent = (args: string[]) => stack.processes.run(args, {}, 20_000);
  const tokenFor = async (clusterId: string) => (await stack.enrollmentToken(clusterId)).token;

  it('exits 3 at once, without dialing, when the token file holds an API error instead of a token', async () => {
    const cluster = await stack.createCluster([]);
    // What the README's curl saved when the API answered 400.
    const file = stack.writeFile(
      'error-body',
      '{"error":{"code":"VALIDATION_FAILED","message":"body must be object"}}',
    );
    const result = await runAgent(agentArgs(cluster, file, stateDir()));
    expectGaveUp(result, EXIT.malformedToken, /error-body holds no enrollment token: .*VALIDATION_FAILED/);
    expect(result.stderr).toMatch(new RegExp(`POST /api/v1/clusters/${cluster}/agent_tokens`));
    expect(result.stdout).not.toMatch(/"msg":"(reconnecting|connection to the gateway failed)"/);
  });

  it('exits 3 for other text, never quoting it, and for a token of another cluster', async () => {
    const cluster = await stack.createCluster([]);
    // An API token pasted by mistake: a secret, so the line must not show it.
    const secret = await stack.token('operator');
    const pasted = await runAgent(agentArgs(cluster, stack.writeFile('api-token', secret), stateDir()));
    const line = expectGaveUp(pasted, EXIT.malformedToken, /it is an API token, not an enrollment token/);
    expect(line).not.toContain(secret);
    expect(pasted.stdout).not.toContain(secret);

    const other = await stack.createCluster([]);
    const elsewhere = stack.writeFile('other-cluster-token', await tokenFor(other));
    const wrong = await runAgent(agentArgs(cluster, elsewhere, stateDir()));
    expectGaveUp(wrong, EXIT.malformedToken, new RegExp(`is for cluster ${other}, not ${cluster}`));
  });

  it('exits 4 when the gateway refuses the enrollment token: used already, or expired', async () => {
    const cluster = await stack.createCluster([]);
    const file = stack.writeFile(`token-${cluster}`, await tokenFor(cluster));
    const first = await stack.startAgent(cluster, { allow: ['127.0.0.1:1'], tokenFile: file });
    const used = await runAgent(agentArgs(cluster, file, stateDir()));
    expectGaveUp(
      used,
      EXIT.enrollmentRefused,
      /refused the enrollment token \(.*already used.*\); write a new enrollment token/,
    );
    // The agent that enrolled with it carries on.
    expect(first.command.child.exitCode).toBeNull();
    expect(await stack.agentStatus(cluster)).toBe('connected');
    await first.command.stop();

    const fresh = await stack.createCluster([]);
    const token = await tokenFor(fresh);
    await stack.db.sql`update agent_enrollment_tokens set expires_at = now() - interval '1 second'
      where cluster_id = ${fresh} and used_at is null`;
    const expired = await runAgent(agentArgs(fresh, stack.writeFile('expired', token), stateDir()));
    expectGaveUp(expired, EXIT.enrollmentRefused, /expired/);
    expect(await stack.agentStatus(fresh)).toBe('never_connected');
  });

  it('exits 5 when it is not enrolled and has no token, or the gateway no longer knows its key', async () => {
    const cluster = await stack.createCluster([]);
    const missing = join(stack.dir.path, 'never-written');
    expectGaveUp(await runAgent(agentArgs(cluster, missing, stateDir())), EXIT.notEnrolled, /does not exist/);
    const empty = stack.writeFile('empty-token', '');
    expectGaveUp(
      await runAgent(agentArgs(cluster, empty, stateDir())),
      EXIT.notEnrolled,
      /not enrolled .*holds no unused enrollment token/,
    );

    // Another agent enrolled for the cluster since: the gateway has its key, not this one's.
    const first = await stack.startAgent(cluster, { allow: ['127.0.0.1:1'] });
    await first.command.stop();
    const second = await stack.startAgent(cluster, { allow: ['127.0.0.1:1'] });
    await second.command.stop();
    const replaced = await runAgent(agentArgs(cluster, first.tokenFile, first.stateDir));
    expectGaveUp(replaced, EXIT.notEnrolled, /does not accept this agent's key \(.*not enrolled/);
  });

  it('exits 6 by itself once its key is revoked; a new token and a restart let it back in', async () => {
    const cluster = await stack.createCluster([]);
    const agent = await stack.startAgent(cluster, { allow: ['127.0.0.1:1'] });
    const revoke = await api(stack.gateway.url, 'DELETE', `/api/v1/clusters/${cluster}/agent`, {
      token: stack.operator,
    });
    expect(revoke.status, revoke.text).toBe(200);
    const code = await agent.command.exited;
    expectGaveUp(
      { code, stdout: agent.command.stdout(), stderr: agent.command.stderr() },
      EXIT.revoked,
      /revoked this agent's key; to enroll it again, write a new enrollment token/,
    );

    stack.writeFile(basename(agent.tokenFile), await tokenFor(cluster));
    const back = await stack.startAgent(cluster, {
      allow: ['127.0.0.1:1'],
      stateDir: agent.stateDir,
      tokenFile: agent.tokenFile,
    });
    expect(logged(back.command, 'enrolled this agent key with the gateway')).toHaveLength(1);
    await stack.waitForAgentStatus(cluster, 'connected');
    await back.command.stop();
  });

  it('exits 7 when its cluster is gone', async () => {
    const cluster = await stack.createCluster([]);
    const agent = await stack.startAgent(cluster, { allow: ['127.0.0.1:1'] });
    await agent.command.stop();
    await stack.db.sql`update clusters set archived_at = now() where id = ${cluster}`;
    const result = await runAgent(agentArgs(cluster, agent.tokenFile, agent.stateDir));
    expectGaveUp(result, EXIT.unknownCluster, new RegExp(`no cluster ${cluster} .*check --url`));
  });

  describe('against a gateway of another protocol version', () => {
    let server: WebSocketServer;
    let base: string;
    /** What the gateway answers a hello with. */
    let refusal = { code: 'bad_handshake', message: 'unsupported protocol 1; this gateway speaks 2' };

    beforeAll(async () => {
      server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      await new Promise((resolve) => server.once('listening', resolve));
      const address = server.address();
      base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      server.on('connection', (ws) => {
        ws.send(
          Buffer.from(
            JSON.stringify({ type: 'challenge', protocol: 2, nonce: randomBytes(32).toString('base64') }),
          ),
        );
        ws.once('message', () => {
          ws.send(Buffer.from(JSON.stringify({ type: 'error', ...refusal })));
          ws.close(4003, refusal.code);
        });
      });
    });

    afterAll(async () => {
      for (const client of server?.clients ?? []) client.terminate();
      await new Promise((resolve) => server?.close(resolve));
    });

    it('exits 8', async () => {
      const cluster = randomUUID();
      const file = stack.writeFile('protocol-token', unsignedEnrollmentToken(cluster));
      const result = await runAgent(agentArgs(cluster, file, stateDir(), base));
      expectGaveUp(
        result,
        EXIT.unsupportedProtocol,
        /protocol \(unsupported protocol 1; this gateway speaks 2\)/,
      );
    });

    it('retries a gateway that fails inside (bad_handshake for another reason)', async () => {
      refusal = { code: 'bad_handshake', message: 'Error: connect ECONNREFUSED (the database)' };
      const cluster = randomUUID();
      const file = stack.writeFile('retry-token', unsignedEnrollmentToken(cluster));
      const agent = stack.processes.start(agentArgs(cluster, file, stateDir(), base), {});
      const second = await waitForLog(agent, 'connection to the gateway failed', { count: 2 });
      expect(second.reason).toMatch(/bad_handshake: Error: connect ECONNREFUSED/);
      expect(agent.child.exitCode).toBeNull();
      expect(await agent.stop()).toBe(0);
    });
  });
});
