// TLS end to end: agents and `commander tunnel` over wss:// against the gateway's own TLS and
// through a TLS-terminating proxy (an ingress), each verifying with a private CA, and the agent's
// public key pins: kept when the chain holds a pinned key, refused (and retried) when it does not,
// as through a proxy that ends TLS with a key of its own.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../shared/net.js';
import { issueServerCertificate, makeCa, opensslPin, type TestCertificate } from '../support/certs.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { keysEnv, testKeys } from '../support/keys.js';
import type { RunningCommand } from '../support/process.js';
import { sshClientArgs, startSshd, type TestSshd } from '../support/sshd.js';
import { ECHO_TRAILER, echoPayload, echoServer, type TestServer } from '../support/tcp.js';
import { startTlsProxy, type TlsProxy } from '../support/tls-proxy.js';
import { eventually, logged, logLines, waitForLog } from './agent-stack.js';
import { Processes, tempDir } from './helpers.js';

const run = promisify(execFile);

/** One gateway on a fresh database, an operator token, and what its clients need to reach it. */
class TlsStack {
  readonly processes = new Processes();
  readonly dir = tempDir('commander-tls-');
  db!: TestDatabase;
  gateway!: RunningCommand;
  operator!: string;
  operatorFile!: string;
  /** The URL clients use (the gateway itself, or the proxy in front of it). */
  base!: string;
  /** The CA that clients verify `base` with. */
  ca!: Buffer;
  private counter = 0;

  /** The database and keys every server process of the stack shares. */
  env!: Record<string, string>;

  async start(gatewayEnv: Record<string, string>, base: string, caFile: string): Promise<void> {
    this.db = await freshDatabase({ migrated: false });
    const env = { DATABASE_URL: this.db.url, ...keysEnv(testKeys()) };
    this.env = env;
    const made = await this.processes.run(
      ['token', 'create', '--workspace', 'ops', '--role', 'operator'],
      env,
    );
    expect(made.code, made.stderr).toBe(0);
    this.operator = made.stdout.trim();
    this.operatorFile = this.file('operator-token', this.operator);
    this.gateway = this.processes.start(['gateway'], { ...env, ...gatewayEnv });
    await this.gateway.waitFor(/"msg":"gateway listening"/, 30_000);
    this.base = base;
    this.ca = readFileSync(caFile);
  }

  file(name: string, content: string): string {
    const path = join(this.dir.path, name);
    writeFileSync(path, `${content}\n`, { mode: 0o600 });
    return path;
  }

  /** One JSON call to the API at `base`, verified with the stack's CA. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const url = new URL(path, this.base);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ca: this.ca,
          agent: false,
          headers: {
            'x-auth-token': this.operator,
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A cluster allowing `targets` and a fresh enrollment token file for its agent. */
  async cluster(targets: string[]): Promise<{ id: string; tokenFile: string; commanderUrl: string }> {
    const created = await this.api('POST', '/api/v1/clusters', {
      name: `tls-${++this.counter}`,
      allowed_targets: targets,
    });
    expect(created.status).toBe(201);
    const issued = await this.api('POST', `/api/v1/clusters/${created.body.id}/agent_tokens`, {});
    expect(issued.status).toBe(201);
    return {
      id: created.body.id,
      tokenFile: this.file(`agent-token-${this.counter}`, issued.body.token),
      commanderUrl: issued.body.commander_url,
    };
  }

  startAgent(cluster: { id: string; tokenFile: string }, allow: string, extra: string[]): RunningCommand {
    return this.processes.start(
      [
        'agent',
        '--url',
        `${this.base}/agent_api/${cluster.id}`,
        '--token-file',
        cluster.tokenFile,
        '--state-dir',
        join(this.dir.path, `state-${cluster.id}`),
        '--allow',
        allow,
        '--heartbeat-interval',
        '1',
        ...extra,
      ],
      {},
    );
  }

  tunnelArgs(clusterId: string, target: string, port: number): string[] {
    return [
      'tunnel',
      '--api',
      this.base,
      '--token-file',
      this.operatorFile,
      '--cluster',
      clusterId,
      '--target',
      target,
      '--listen',
      `127.0.0.1:${port}`,
    ];
  }

  /** `commander tunnel` with `extra` flags and `env`, once it says it listens. */
  async startTunnel(
    clusterId: string,
    target: string,
    extra: string[],
    env: Record<string, string> = {},
  ): Promise<{ command: RunningCommand; port: number }> {
    const port = await freePort();
    const command = this.processes.start([...this.tunnelArgs(clusterId, target, port), ...extra], env);
    await command.waitFor(/listening on 127\.0\.0\.1:\d+/, 15_000);
    return { command, port };
  }

  async close(): Promise<void> {
    await this.processes.stopAll(5_000);
    await this.db?.drop();
    this.dir.remove();
  }
}

/** `ssh … echo ok` through a local port that forwards to `sshd`. */
async function sshThrough(port: number, sshd: TestSshd): Promise<string> {
  const ssh = await run('ssh', sshClientArgs(sshd, port, 'echo ok'), { timeout: 30_000 }).catch(
    (error: Error & { stderr?: string }) => {
      throw new Error(`ssh failed: ${error.message}\n${error.stderr ?? ''}\nsshd:\n${sshd.log()}`);
    },
  );
  return ssh.stdout;
}

/** Refused for the certificate at least twice, with growing delays between, and never connected. */
async function expectRetriedRefusal(agent: RunningCommand, reason: RegExp): Promise<void> {
  await waitForLog(agent, 'reconnecting', { count: 2, timeoutMs: 20_000 });
  const failures = logged(agent, 'connection to the gateway failed');
  expect(failures.length).toBeGreaterThanOrEqual(2);
  for (const failure of failures) expect(failure.reason).toMatch(reason);
  const delays = logged(agent, 'reconnecting').map((line) => line.delay_ms as number);
  // Backoff with equal jitter: 250-500 ms, then 500-1000 ms.
  expect(delays[1]).toBeGreaterThanOrEqual(delays[0] as number);
  expect(logged(agent, 'connected to the gateway')).toHaveLength(0);
}

describe("TLS: the gateway's own certificate", () => {
  const stack = new TlsStack();
  let ca: TestCertificate;
  let leaf: TestCertificate;
  let otherCa: TestCertificate;
  let echo: TestServer;
  let sshd: TestSshd;

  beforeAll(async () => {
    ca = makeCa(stack.dir.path, 'gateway-ca');
    leaf = issueServerCertificate(ca, stack.dir.path, 'gateway');
    otherCa = makeCa(stack.dir.path, 'other-ca');
    const port = await freePort();
    [echo, sshd] = await Promise.all([echoServer(), startSshd({ logLevel: 'VERBOSE' })]);
    await stack.start(
      {
        COMMANDER_LISTEN: `127.0.0.1:${port}`,
        COMMANDER_TLS_CERT_FILE: leaf.certFile,
        COMMANDER_TLS_KEY_FILE: leaf.keyFile,
      },
      `https://localhost:${port}`,
      ca.certFile,
    );
  });

  afterAll(async () => {
    await stack.close();
    await Promise.all([echo?.close(), sshd?.stop()]);
  });

  it('runs OpenSSH through `commander tunnel` over wss:// with --ca-file and COMMANDER_CA_FILE', async () => {
    const sshTarget = `127.0.0.1:${sshd.port}`;
    const cluster = await stack.cluster([sshTarget]);
    const agent = stack.startAgent(cluster, sshTarget, ['--ca-file', ca.certFile]);
    await waitForLog(agent, 'connected to the gateway');

    const byFlag = await stack.startTunnel(cluster.id, sshTarget, ['--ca-file', ca.certFile]);
    expect(await sshThrough(byFlag.port, sshd)).toBe('ok\n');
    await byFlag.command.stop();

    const byEnv = await stack.startTunnel(cluster.id, sshTarget, [], { COMMANDER_CA_FILE: ca.certFile });
    expect(await sshThrough(byEnv.port, sshd)).toBe('ok\n');
    await byEnv.command.stop();
    expect(sshd.log()).toMatch(/Accepted publickey for \S+ from 127\.0\.0\.1/);
    await agent.stop();
  });

  it('lets a manager reconcile through the tunnel over wss://, trusting COMMANDER_CA_FILE', async () => {
    const installers = stack.file(
      'installers.yaml',
      [
        'default_version: "1.0"',
        'installers:',
        '  "1.0":',
        '    install: "true"',
        `    check: "echo '{\\"status\\": \\"InSync\\"}'"`,
        '    converge: "true"',
        '    destroy: "true"',
      ].join('\n'),
    );
    const manager = stack.processes.start(['manager'], {
      ...stack.env,
      COMMANDER_PUBLIC_URL: stack.base,
      COMMANDER_CA_FILE: ca.certFile,
      COMMANDER_INSTALLERS: installers,
      COMMANDER_REPLICA_ID: 'tls-test',
    });
    await manager.waitFor(/"msg":"manager ready"/, 30_000);
    const sshTarget = `127.0.0.1:${sshd.port}`;
    const cluster = await stack.cluster([sshTarget]);
    const agent = stack.startAgent(cluster, sshTarget, ['--ca-file', ca.certFile]);
    await waitForLog(agent, 'connected to the gateway');
    const current = (await stack.api('GET', `/api/v1/clusters/${cluster.id}`)).body;
    const updated = await stack.api('PUT', `/api/v1/clusters/${cluster.id}`, {
      name: current.name,
      current_revision: current.current_revision,
      values: { platform_version: '1.0' },
      allowed_targets: [sshTarget],
      ssh: { host: '127.0.0.1', port: sshd.port, user: sshd.user, private_key: sshd.privateKey },
    });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    const queued = await stack.api('POST', `/api/v1/clusters/${cluster.id}/tasks`, { kind: 'reconcile' });
    expect(queued.status, JSON.stringify(queued.body)).toBe(201);
    const task = await eventually(
      'the reconcile task to finish',
      async () => {
        const { body } = await stack.api('GET', `/api/v1/tasks/${queued.body.id}`);
        return body.status === 'succeeded' || body.status === 'failed' ? body : undefined;
      },
      30_000,
      200,
    );
    expect(task.status, task.log).toBe('succeeded');
    expect(task.log).toContain(`opening a tunnel to ${sshTarget} through the agent`);
    expect(task.log).toContain('check: InSync');
    await manager.stop();
    await agent.stop();
  });

  it('`commander tunnel` verifies by default: no CA or the wrong one is one line and exit 1', async () => {
    const cluster = await stack.cluster([`127.0.0.1:${echo.port}`]);
    for (const extra of [[], ['--ca-file', otherCa.certFile]]) {
      const port = await freePort();
      const result = await stack.processes.run(
        [...stack.tunnelArgs(cluster.id, `127.0.0.1:${echo.port}`, port), ...extra],
        {},
        15_000,
      );
      expect(result.code, result.stderr).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^commander: tunnel refused: tunnel_failed: .*certificate.*\n$/);
    }
  });

  it('keeps an agent whose pins name the leaf, the CA or one of several keys', async () => {
    const echoTarget = `127.0.0.1:${echo.port}`;
    const stranger = opensslPin(otherCa.certFile);
    for (const pins of [
      [opensslPin(leaf.certFile)],
      [opensslPin(ca.certFile)],
      [stranger, opensslPin(leaf.certFile)],
    ]) {
      const cluster = await stack.cluster([echoTarget]);
      const agent = stack.startAgent(cluster, echoTarget, [
        '--ca-file',
        ca.certFile,
        ...pins.flatMap((pin) => ['--pin-sha256', pin]),
      ]);
      await waitForLog(agent, 'connected to the gateway');
      expect(logged(agent, 'connection to the gateway failed')).toHaveLength(0);
      // And tunnels run over it.
      const tunnel = await stack.startTunnel(cluster.id, echoTarget, ['--ca-file', ca.certFile]);
      const back = await echoPayload(tunnel.port, Buffer.from('pinned'));
      expect(back.equals(Buffer.concat([Buffer.from('pinned'), ECHO_TRAILER]))).toBe(true);
      await tunnel.command.stop();
      await agent.stop();
    }
  });

  it('refuses a chain without a pinned key, retries with backoff, and spends nothing', async () => {
    const echoTarget = `127.0.0.1:${echo.port}`;
    const cluster = await stack.cluster([echoTarget]);
    const agent = stack.startAgent(cluster, echoTarget, [
      '--ca-file',
      ca.certFile,
      '--pin-sha256',
      opensslPin(otherCa.certFile),
    ]);
    await expectRetriedRefusal(agent, /pinned keys \(--pin-sha256\); its keys are /);
    // The refusal names the keys the gateway showed, so an operator can see what changed.
    const reason = logged(agent, 'connection to the gateway failed')[0]?.reason as string;
    expect(reason).toContain(opensslPin(leaf.certFile));
    expect(reason).toContain(opensslPin(ca.certFile));
    await agent.stop();
    expect((await stack.api('GET', `/api/v1/clusters/${cluster.id}`)).body.agent_status).toBe(
      'never_connected',
    );
    // Nothing was said to the gateway: the enrollment token is still good for the right pin.
    const pinned = stack.startAgent(cluster, echoTarget, [
      '--ca-file',
      ca.certFile,
      '--pin-sha256',
      opensslPin(leaf.certFile),
    ]);
    await waitForLog(pinned, 'connected to the gateway');
    await pinned.stop();
  });

  it('refuses `commander tunnel` with a wrong --pin-sha256 in one line, and listens with the right one', async () => {
    const echoTarget = `127.0.0.1:${echo.port}`;
    const cluster = await stack.cluster([echoTarget]);
    const port = await freePort();
    const result = await stack.processes.run(
      [
        ...stack.tunnelArgs(cluster.id, echoTarget, port),
        '--ca-file',
        ca.certFile,
        '--pin-sha256',
        opensslPin(otherCa.certFile),
      ],
      {},
      15_000,
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^commander: tunnel refused: tunnel_failed: .*pinned keys.*\n$/);
    const pinned = await stack.startTunnel(cluster.id, echoTarget, [], {
      COMMANDER_CA_FILE: ca.certFile,
      COMMANDER_PIN_SHA256: opensslPin(ca.certFile),
    });
    await pinned.command.stop();
  });
});

describe('TLS: through a TLS-terminating proxy', () => {
  const stack = new TlsStack();
  let proxy: TlsProxy;
  let gatewayCa: TestCertificate;
  let gatewayLeaf: TestCertificate;
  let proxyCa: TestCertificate;
  let proxyLeaf: TestCertificate;
  let echo: TestServer;
  let sshd: TestSshd;

  beforeAll(async () => {
    gatewayCa = makeCa(stack.dir.path, 'gateway-ca');
    gatewayLeaf = issueServerCertificate(gatewayCa, stack.dir.path, 'gateway');
    proxyCa = makeCa(stack.dir.path, 'ingress-ca');
    proxyLeaf = issueServerCertificate(proxyCa, stack.dir.path, 'ingress');
    const [gatewayPort, proxyPort] = [await freePort(), await freePort()];
    [echo, sshd] = await Promise.all([echoServer(), startSshd({ logLevel: 'VERBOSE' })]);
    // The proxy connects from 127.0.0.2, its clients from 127.0.0.1: the gateway can tell them apart.
    proxy = await startTlsProxy({
      cert: readFileSync(proxyLeaf.certFile),
      key: readFileSync(proxyLeaf.keyFile),
      upstream: { host: '127.0.0.1', port: gatewayPort },
      localAddress: '127.0.0.2',
      port: proxyPort,
    });
    await stack.start(
      {
        COMMANDER_LISTEN: `127.0.0.1:${gatewayPort}`,
        COMMANDER_PUBLIC_URL: `https://localhost:${proxyPort}`,
        COMMANDER_TRUST_PROXY: '127.0.0.2',
      },
      `https://localhost:${proxyPort}`,
      proxyCa.certFile,
    );
  });

  afterAll(async () => {
    await stack.close();
    await Promise.all([proxy?.close(), echo?.close(), sshd?.stop()]);
  });

  it('carries an agent and `commander tunnel` on wss:// with the proxy CA; the client address is the real one', async () => {
    const sshTarget = `127.0.0.1:${sshd.port}`;
    const cluster = await stack.cluster([sshTarget]);
    // The gateway hands out its public URL: the proxy's.
    expect(cluster.commanderUrl).toBe(`${stack.base}/agent_api/${cluster.id}`);
    const agent = stack.processes.start(
      [
        'agent',
        '--url',
        cluster.commanderUrl,
        '--token-file',
        cluster.tokenFile,
        '--state-dir',
        join(stack.dir.path, 'proxied-agent'),
        '--allow',
        sshTarget,
        '--ca-file',
        proxyCa.certFile,
      ],
      {},
    );
    await waitForLog(agent, 'connected to the gateway');
    expect(proxy.requests).toContain(`GET /agent_api/${cluster.id}`);
    // The gateway took the agent's address from X-Forwarded-For, as the proxy it trusts said.
    const connected = logLines(stack.gateway).find(
      (line) => line.msg === 'agent connected' && line.cluster_id === cluster.id,
    );
    expect(connected?.remote_address).toBe('127.0.0.1');

    const tunnel = await stack.startTunnel(cluster.id, sshTarget, ['--ca-file', proxyCa.certFile]);
    expect(await sshThrough(tunnel.port, sshd)).toBe('ok\n');
    await tunnel.command.stop();
    expect(proxy.requests).toContain(`GET /api/v1/clusters/${cluster.id}/tunnels`);
    const audited = await eventually('the tunnel audit row', async () => {
      const rows = await stack.db.sql<{ remote_address: string }[]>`
        select remote_address from audit_records
        where auditable_type = 'Tunnel' and audited_changes->>'target' = ${sshTarget}`;
      return rows[0];
    });
    expect(audited.remote_address).toBe('127.0.0.1');
    await agent.stop();
  });

  it("refuses the gateway's pin through a proxy that ends TLS with its own key", async () => {
    const echoTarget = `127.0.0.1:${echo.port}`;
    const cluster = await stack.cluster([echoTarget]);
    // The proxy's certificate verifies, but the pinned key is the gateway's, which it does not hold.
    const agent = stack.startAgent(cluster, echoTarget, [
      '--ca-file',
      proxyCa.certFile,
      '--pin-sha256',
      opensslPin(gatewayLeaf.certFile),
    ]);
    await expectRetriedRefusal(agent, /pinned keys \(--pin-sha256\)/);
    await agent.stop();
    const upgrades = proxy.requests.filter((line) => line === `GET /agent_api/${cluster.id}`);
    expect(upgrades).toHaveLength(0);
    // Pinning the key the proxy does show works.
    const pinned = stack.startAgent(cluster, echoTarget, [
      '--ca-file',
      proxyCa.certFile,
      '--pin-sha256',
      opensslPin(proxyCa.certFile),
    ]);
    await waitForLog(pinned, 'connected to the gateway');
    await pinned.stop();
  });
});
