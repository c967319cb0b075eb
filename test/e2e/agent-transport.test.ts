// How the agent reaches the gateway: wss:// with a private CA, TLS verification on by default,
// through an HTTP CONNECT proxy (and around it with NO_PROXY), and obeying Retry-After.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSigned } from '../../bench/certificates.js';
import { freePort } from '../../shared/net.js';
import { startConnectProxy } from '../support/connect-proxy.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { keysEnv, testKeys } from '../support/keys.js';
import type { RunningCommand } from '../support/process.js';
import { logged, unsignedEnrollmentToken, waitForLog } from './agent-stack.js';
import { api, Processes, tempDir } from './helpers.js';

describe('agent transport', () => {
  const processes = new Processes();
  const dir = tempDir('commander-transport-');
  let db: TestDatabase;
  let env: Record<string, string>;
  let base: string;
  let port: number;
  let token: string;
  let certFile = '';
  let keyFile = '';

  beforeAll(async () => {
    ({ certFile, keyFile } = selfSigned(dir.path, 'gateway', '/CN=localhost', [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]));
    db = await freshDatabase({ migrated: false });
    env = { DATABASE_URL: db.url, ...keysEnv(testKeys()) };
    const made = await processes.run(['token', 'create', '--workspace', 'ops', '--role', 'operator'], env);
    token = made.stdout.trim();
    port = await freePort();
    base = `https://127.0.0.1:${port}`;
    const gateway = processes.start(['gateway'], {
      ...env,
      COMMANDER_LISTEN: `127.0.0.1:${port}`,
      COMMANDER_TLS_CERT_FILE: certFile,
      COMMANDER_TLS_KEY_FILE: keyFile,
    });
    await gateway.waitFor(/"msg":"gateway listening"/, 30_000);
  });

  afterAll(async () => {
    await processes.stopAll();
    await db.drop();
    dir.remove();
  });

  /** A fresh cluster and an enrollment token file for it. */
  async function enrollable(name: string): Promise<{ id: string; tokenFile: string }> {
    const created = await apiTls('POST', '/api/v1/clusters', { name });
    const issued = await apiTls('POST', `/api/v1/clusters/${created.id}/agent_tokens`, {});
    const tokenFile = join(dir.path, `${name}.token`);
    writeFileSync(tokenFile, issued.token, { mode: 0o600 });
    return { id: created.id, tokenFile };
  }

  async function apiTls(method: string, path: string, body?: unknown): Promise<any> {
    const out = execFileSync('curl', [
      '-sS',
      '--cacert',
      certFile,
      '-X',
      method,
      `${base}${path}`,
      '-H',
      `X-Auth-Token: ${token}`,
      '-H',
      'content-type: application/json',
      ...(body ? ['-d', JSON.stringify(body)] : []),
    ]);
    return JSON.parse(out.toString());
  }

  function startAgent(
    id: string,
    tokenFile: string,
    extra: string[],
    extraEnv: Record<string, string> = {},
  ): RunningCommand {
    return processes.start(
      [
        'agent',
        '--url',
        `${base}/agent_api/${id}`,
        '--token-file',
        tokenFile,
        '--state-dir',
        join(dir.path, `state-${id}`),
        '--allow',
        '127.0.0.1:1',
        ...extra,
      ],
      extraEnv,
    );
  }

  it('connects over wss:// with --ca-file, and refuses an unverified certificate', async () => {
    const { id, tokenFile } = await enrollable('tls-ok');
    // Refused for the certificate, and again on its retry: it stays out, not merely for as long
    // as the test looked.
    const untrusted = startAgent(id, tokenFile, []);
    const refused = await waitForLog(untrusted, 'connection to the gateway failed', { count: 2 });
    expect(refused.reason).toMatch(/self-signed certificate/);
    expect(logged(untrusted, 'connection to the gateway failed')[0]?.reason).toBe(refused.reason);
    expect(logged(untrusted, 'connected to the gateway')).toHaveLength(0);
    await untrusted.stop();

    const trusted = startAgent(id, tokenFile, ['--ca-file', certFile]);
    await trusted.waitFor(/"msg":"connected to the gateway"/, 15_000);
    expect((await apiTls('GET', `/api/v1/clusters/${id}`)).agent_status).toBe('connected');
    await trusted.stop();
  });

  it('skips verification only when told to', async () => {
    const { id, tokenFile } = await enrollable('tls-insecure');
    const agent = startAgent(id, tokenFile, ['--insecure-skip-tls-verify']);
    await agent.waitFor(/"msg":"connected to the gateway"/, 15_000);
    await agent.stop();
  });

  it('goes through HTTPS_PROXY with CONNECT, and around it for NO_PROXY hosts', async () => {
    const proxy = await startConnectProxy();
    try {
      const { id, tokenFile } = await enrollable('via-proxy');
      const agent = startAgent(id, tokenFile, ['--ca-file', certFile], { HTTPS_PROXY: proxy.url });
      await agent.waitFor(/"msg":"connected to the gateway"/, 15_000);
      expect(proxy.requests).toEqual([`127.0.0.1:${port}`]);
      await agent.stop();

      const direct = startAgent(id, tokenFile, ['--ca-file', certFile], {
        HTTPS_PROXY: proxy.url,
        NO_PROXY: 'localhost,127.0.0.1',
      });
      await direct.waitFor(/"msg":"connected to the gateway"/, 15_000);
      expect(proxy.requests).toHaveLength(1);
      await direct.stop();
    } finally {
      await proxy.close();
    }
  });

  it('waits at least Retry-After when the gateway sheds load', async () => {
    let attempts = 0;
    const busy = createServer((_req, res) => res.end());
    busy.on('upgrade', (_req, socket) => {
      attempts += 1;
      socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n');
    });
    const busyPort = await freePort();
    await new Promise<void>((resolve) => busy.listen(busyPort, '127.0.0.1', resolve));
    try {
      const id = '00000000-0000-4000-8000-00000000beef';
      const tokenFile = join(dir.path, 'busy.token');
      writeFileSync(tokenFile, unsignedEnrollmentToken(id));
      const agent = processes.start(
        [
          'agent',
          '--url',
          `http://127.0.0.1:${busyPort}/agent_api/${id}`,
          '--token-file',
          tokenFile,
          '--state-dir',
          join(dir.path, 'busy-state'),
          '--allow',
          '127.0.0.1:1',
        ],
        {},
      );
      // Three refusals, each followed by the delay the agent chose before dialing again.
      await waitForLog(agent, 'reconnecting', { count: 3, timeoutMs: 30_000 });
      expect(await agent.stop()).toBe(0);
      const failures = logged(agent, 'connection to the gateway failed');
      const delays = logged(agent, 'reconnecting').map((line) => line.delay_ms as number);
      expect(failures.map((line) => line.reason)).toEqual(delays.map(() => 'gateway answered HTTP 503'));
      // Each delay has Retry-After as its floor, plus up to a second of jitter; the backoff alone
      // would have waited 0.25-0.5 s, then 0.5-1 s, then 1-2 s.
      for (const delay of delays) {
        expect(delay).toBeGreaterThanOrEqual(2000);
        expect(delay).toBeLessThanOrEqual(3000);
      }
      // And no attempt went around them: the busy gateway saw the first and one after each delay
      // but the last (plus, if the stop came late, one whose refusal the stopping agent left
      // unsaid).
      expect([delays.length, delays.length + 1]).toContain(attempts);
    } finally {
      busy.close();
    }
  }, 60_000);

  it('talks to a plain ws:// gateway through HTTP_PROXY too', async () => {
    // The same code path without TLS: HTTP_PROXY applies to http:// and ws:// URLs.
    const proxy = await startConnectProxy();
    const plainPort = await freePort();
    const plain = processes.start(['gateway'], { ...env, COMMANDER_LISTEN: `127.0.0.1:${plainPort}` });
    try {
      await plain.waitFor(/"msg":"gateway listening"/, 30_000);
      const created = await api(`http://127.0.0.1:${plainPort}`, 'POST', '/api/v1/clusters', {
        token,
        body: { name: 'plain' },
      });
      const issued = await api(
        `http://127.0.0.1:${plainPort}`,
        'POST',
        `/api/v1/clusters/${created.body.id}/agent_tokens`,
        {
          token,
          body: {},
        },
      );
      const tokenFile = join(dir.path, 'plain.token');
      writeFileSync(tokenFile, issued.body.token);
      const agent = processes.start(
        [
          'agent',
          '--url',
          issued.body.commander_url,
          '--token-file',
          tokenFile,
          '--state-dir',
          join(dir.path, 'plain-state'),
          '--allow',
          '127.0.0.1:1',
        ],
        { HTTP_PROXY: proxy.url },
      );
      await agent.waitFor(/"msg":"connected to the gateway"/, 15_000);
      expect(proxy.requests).toEqual([`127.0.0.1:${plainPort}`]);
      await agent.stop();
    } finally {
      await plain.stop();
      await proxy.close();
    }
  });
});
