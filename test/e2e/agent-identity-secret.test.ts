// Inside a cluster the agent keeps its key in a Kubernetes Secret, so a replaced pod (a new
// process with an empty state directory and a spent token) comes back as the same agent. Two
// pods racing on the first start end up with one key; a damaged Secret, another cluster's, or one
// the agent may not read stops it with exit 9. Real gateway and agent processes; the Kubernetes
// API is the double (test/support/kube-api.ts), which the agent reaches through its kubeconfig.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTunnel } from '../../shared/tunnel-client.js';
import { type KubeApi, type KubeObject, startKubeApi } from '../support/kube-api.js';
import { ECHO_TRAILER, echoServer, roundTrip, type TestServer } from '../support/tcp.js';
import { type AgentInstance, AgentStack, eventually, logged, waitForLog } from './agent-stack.js';

const NS = 'commander-agent';
/** README.md's exit code for an identity Secret that cannot be used. */
const EXIT_IDENTITY_UNUSABLE = 9;

interface KeyDocument {
  cluster_id: string;
  public_key: string;
  secret_key: string;
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('agent identity in a Kubernetes Secret', () => {
  let stack: AgentStack;
  let kube: KubeApi;
  let kubeconfig: string;
  let echo: TestServer;
  const allow = () => [`127.0.0.1:${echo.port}`];

  const secretField = (name: string, field: string): string | undefined => {
    const secret = kube.get('v1', 'Secret', NS, name) as
      | (KubeObject & { data?: Record<string, string> })
      | undefined;
    const value = secret?.data?.[field];
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  };
  const storedKey = (name: string) =>
    JSON.parse(secretField(name, 'agent-key.json') ?? 'null') as KeyDocument;
  const enrolledKey = async (clusterId: string) => {
    const [row] = await stack.db.sql<{ public_key: string; enrolled_at: Date }[]>`
      select public_key, enrolled_at from agents where cluster_id = ${clusterId}`;
    return row;
  };
  const identityArgs = (secret: string) => [
    '--kubeconfig',
    kubeconfig,
    '--identity-secret',
    `${NS}/${secret}`,
  ];
  const echoVia = async (clusterId: string, text: string) => {
    const tunnel = await openTunnel({
      api: stack.gateway.url,
      token: stack.operator,
      clusterId,
      target: allow()[0] as string,
    });
    return roundTrip(tunnel, text);
  };
  const putSecret = (name: string, data: Record<string, string>) =>
    kube.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: NS },
      type: 'Opaque',
      data: Object.fromEntries(
        Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
      ),
    });

  beforeAll(async () => {
    [stack, kube, echo] = await Promise.all([AgentStack.start(), startKubeApi(), echoServer()]);
    kubeconfig = kube.writeKubeconfig(stack.writeDir('kube'));
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  });

  afterAll(async () => {
    await stack?.close();
    await kube?.close();
    await echo?.close();
  });

  it('a new process with a wiped state dir and no token reconnects as the same agent', async () => {
    const cluster = await stack.createCluster(allow());
    const { token } = await stack.enrollmentToken(cluster);
    const tokenFile = stack.writeFile(`token-${cluster}`, token);
    const first = await stack.startAgent(cluster, {
      allow: allow(),
      tokenFile,
      args: identityArgs('identity-a'),
    });
    await waitForLog(first.command, 'enrolled this agent key with the gateway');
    await stack.waitForAgentStatus(cluster, 'connected');

    // The key is in the Secret, and it is the one the gateway enrolled.
    const stored = storedKey('identity-a');
    expect(stored.cluster_id).toBe(cluster);
    const enrolled = await enrolledKey(cluster);
    expect(enrolled?.public_key).toBe(stored.public_key);
    expect(logged(first.command, 'agent starting')[0]?.public_key).toBe(stored.public_key);
    expect(kube.count({ method: 'POST', pathIncludes: `/namespaces/${NS}/secrets` })).toBe(1);
    // The spent token is recorded there too (in the background, once the welcome came).
    const tokenDigest = createHash('sha256').update(token).digest('hex');
    await eventually('the spent token in the Secret', () =>
      JSON.parse(secretField('identity-a', 'enrolled.json') ?? '{}').used_tokens?.includes(tokenDigest)
        ? true
        : undefined,
    );

    // Never in clear in the state directory, nor in the logs.
    const secretKey = Buffer.from(stored.secret_key, 'base64');
    const seed = secretKey.subarray(0, 32);
    const leaks = (text: Buffer | string) => {
      const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
      return (
        bytes.includes(stored.secret_key) ||
        bytes.includes(seed) ||
        bytes.includes(seed.toString('base64')) ||
        bytes.includes(seed.toString('hex'))
      );
    };
    const stateFiles = filesUnder(first.stateDir);
    expect(stateFiles.map((file) => file.slice(first.stateDir.length))).not.toContain('/agent-key.json');
    for (const file of stateFiles) expect(leaks(readFileSync(file)), file).toBe(false);
    expect(leaks(first.command.stdout() + first.command.stderr())).toBe(false);

    // The pod is replaced: a new process, its state directory gone, its token spent and gone.
    await first.command.stop();
    await stack.waitForAgentStatus(cluster, 'disconnected');
    rmSync(first.stateDir, { recursive: true, force: true });
    rmSync(tokenFile);
    const second = await stack.startAgent(cluster, {
      allow: allow(),
      tokenFile,
      stateDir: first.stateDir,
      args: identityArgs('identity-a'),
    });
    await stack.waitForAgentStatus(cluster, 'connected');
    expect(logged(second.command, 'agent starting')[0]?.public_key).toBe(stored.public_key);
    expect(logged(second.command, 'enrolled this agent key with the gateway')).toHaveLength(0);
    const after = await enrolledKey(cluster);
    expect(after?.public_key).toBe(stored.public_key);
    expect(after?.enrolled_at.getTime()).toBe(enrolled?.enrolled_at.getTime());
    expect(await echoVia(cluster, 'same agent')).toBe(`same agent${ECHO_TRAILER.toString()}`);
    expect(kube.count({ method: 'POST', pathIncludes: `/namespaces/${NS}/secrets` })).toBe(1);
    expect(storedKey('identity-a')).toEqual(stored);
    for (const file of filesUnder(second.stateDir)) expect(leaks(readFileSync(file)), file).toBe(false);
    await second.command.stop();
  });

  it('two pods racing on their first start create the Secret once and share its key', async () => {
    const cluster = await stack.createCluster(allow());
    const { token } = await stack.enrollmentToken(cluster);
    const tokenFile = stack.writeFile(`token-${cluster}`, token);
    kube.resetCounts();
    // Both creates reach the API server together: each agent read no Secret, made a key, and
    // posts it; the server takes the first and answers the second 409 AlreadyExists.
    const release = kube.gather({ method: 'POST', pathIncludes: `/namespaces/${NS}/secrets` }, 2);
    let agents: AgentInstance[];
    try {
      agents = await Promise.all(
        [1, 2].map(() =>
          stack.startAgent(cluster, { allow: allow(), tokenFile, wait: false, args: identityArgs('raced') }),
        ),
      );
      await Promise.all(agents.map((agent) => waitForLog(agent.command, 'agent starting')));
    } finally {
      release();
    }
    const creates = kube.requests.filter((r) => r.method === 'POST' && r.path.endsWith(`/${NS}/secrets`));
    expect(creates.map((r) => r.status).sort()).toEqual([201, 409]);
    const losers = agents.filter(
      (agent) =>
        logged(agent.command, 'another agent created the identity Secret first; using its key').length,
    );
    expect(losers).toHaveLength(1);
    const stored = storedKey('raced');
    for (const agent of agents)
      expect(logged(agent.command, 'agent starting')[0]?.public_key).toBe(stored.public_key);

    // Both present the one token; the gateway takes it once, and the other agent's key alone
    // gets in, since it is the same key.
    await Promise.all(agents.map((agent) => waitForLog(agent.command, 'connected to the gateway')));
    const enrolledLines = agents.map(
      (agent) => logged(agent.command, 'enrolled this agent key with the gateway').length,
    );
    expect(enrolledLines.sort()).toEqual([0, 1]);
    const sharer = agents.find(
      (agent) => logged(agent.command, 'this agent key was enrolled already, by an agent sharing it').length,
    );
    expect(sharer).toBeDefined();
    expect((await enrolledKey(cluster))?.public_key).toBe(stored.public_key);
    for (const agent of agents) expect(agent.command.child.exitCode).toBeNull();
    await (agents[0] as AgentInstance).command.stop();
    await stack.waitForAgentStatus(cluster, 'connected', 15_000);
    expect(await echoVia(cluster, 'raced')).toBe(`raced${ECHO_TRAILER.toString()}`);
    await (agents[1] as AgentInstance).command.stop();
  });

  it('moves a key kept in the state directory into the Secret, and removes the files', async () => {
    const cluster = await stack.createCluster(allow());
    const before = await stack.startAgent(cluster, { allow: allow() });
    const fileKey = JSON.parse(readFileSync(join(before.stateDir, 'agent-key.json'), 'utf8')) as KeyDocument;
    await before.command.stop();
    rmSync(before.tokenFile);
    const after = await stack.startAgent(cluster, {
      allow: allow(),
      tokenFile: before.tokenFile,
      stateDir: before.stateDir,
      args: identityArgs('moved'),
    });
    await waitForLog(after.command, 'moved the agent key from the state directory into its Secret');
    expect(storedKey('moved')).toEqual(fileKey);
    expect(existsSync(join(before.stateDir, 'agent-key.json'))).toBe(false);
    expect(existsSync(join(before.stateDir, 'enrolled.json'))).toBe(false);
    expect((await enrolledKey(cluster))?.public_key).toBe(fileKey.public_key);
    await stack.waitForAgentStatus(cluster, 'connected');
    await after.command.stop();
  });

  it('waits for a Kubernetes API that does not answer yet, then connects', async () => {
    const cluster = await stack.createCluster(allow());
    kube.setUnavailable(true, '503');
    let agent: AgentInstance;
    try {
      agent = await stack.startAgent(cluster, { allow: allow(), wait: false, args: identityArgs('late') });
      await waitForLog(agent.command, 'cannot read the identity Secret; retrying', { count: 2 });
    } finally {
      kube.setUnavailable(false);
    }
    await waitForLog(agent.command, 'connected to the gateway');
    expect(storedKey('late').cluster_id).toBe(cluster);
    await agent.command.stop();
  });

  describe('refuses a Secret it cannot use, with exit 9 and one line naming it', () => {
    const run = async (cluster: string, secret: string) => {
      const { token } = await stack.enrollmentToken(cluster);
      const stateDir = join(stack.dir.path, `state-${secret}`);
      mkdirSync(stateDir, { recursive: true });
      const result = await stack.processes.run(
        [
          'agent',
          '--url',
          `${stack.gateway.url}/agent_api/${cluster}`,
          '--token-file',
          stack.writeFile(`token-${secret}`, token),
          '--state-dir',
          stateDir,
          '--allow',
          '127.0.0.1:1',
          ...identityArgs(secret),
        ],
        {},
        20_000,
      );
      expect(result.code, `${result.stdout.slice(-3000)}\n${result.stderr}`).toBe(EXIT_IDENTITY_UNUSABLE);
      const lines = result.stderr.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^commander: agent: .*Secret ${NS}/${secret}`));
      // It never dialed the gateway with a key it does not trust.
      expect(result.stdout).not.toMatch(/"msg":"(connected to the gateway|reconnecting)"/);
      return { line: lines[0] as string, stdout: result.stdout, stateDir };
    };

    it('a damaged key document: never quoted, and the Secret is left as it was', async () => {
      const cluster = await stack.createCluster([]);
      const garbage =
        '{"cluster_id":"x","public_key":"AAAA","secret_key":"c2VjcmV0LXZhbHVlLW5ldmVyLXNob3du"}';
      putSecret('damaged', { 'agent-key.json': garbage });
      const version = kube.get('v1', 'Secret', NS, 'damaged')?.metadata.resourceVersion;
      const { line, stdout, stateDir } = await run(cluster, 'damaged');
      expect(line).toMatch(
        /agent-key\.json is damaged: its key is not an Ed25519 key pair; delete it \(kubectl/,
      );
      expect(line + stdout).not.toContain('c2VjcmV0LXZhbHVlLW5ldmVyLXNob3du');
      expect(kube.get('v1', 'Secret', NS, 'damaged')?.metadata.resourceVersion).toBe(version);
      expect(existsSync(join(stateDir, 'agent-key.json'))).toBe(false);

      putSecret('not-json', { 'agent-key.json': 'not json at all' });
      expect((await run(cluster, 'not-json')).line).toMatch(/damaged: it is not JSON/);
      putSecret('empty', { other: 'x' });
      expect((await run(cluster, 'empty')).line).toMatch(/it has no agent-key\.json/);
    });

    it("another cluster's key", async () => {
      const cluster = await stack.createCluster([]);
      const other = await stack.createCluster([]);
      const elsewhere = await stack.startAgent(other, { allow: [], args: identityArgs('other-cluster') });
      await elsewhere.command.stop();
      const { line } = await run(cluster, 'other-cluster');
      expect(line).toContain(`holds the key of cluster ${other}, not ${cluster}`);
    });

    it('one it may not read (RBAC)', async () => {
      const cluster = await stack.createCluster([]);
      kube.failNext(
        { method: 'GET', pathIncludes: `/namespaces/${NS}/secrets/forbidden` },
        {
          code: 403,
          reason: 'Forbidden',
          message: `secrets "forbidden" is forbidden: User "system:serviceaccount:${NS}:commander-agent" cannot get resource "secrets" in API group "" in the namespace "${NS}"`,
        },
      );
      const { line } = await run(cluster, 'forbidden');
      expect(line).toMatch(/cannot read Secret .*HTTP 403.*the agent needs get, create and update on it/);
    });
  });
});
