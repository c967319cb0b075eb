// A real gateway process on a fresh database, plus helpers to run agents and `commander tunnel`
// against it, as separate processes, the way an operator sets them up.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { expect } from 'vitest';
import { freePort } from '../../shared/net.js';
import type { Role } from '../../shared/roles.js';
import { createToken } from '../../shared/tokens.js';
import { ensureWorkspace } from '../../shared/workspaces.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { keysEnv, testKeys } from '../support/keys.js';
import { type RunningCommand, waitForStatus } from '../support/process.js';
import { api, Processes, sleep, tempDir } from './helpers.js';

export interface GatewayInstance {
  command: RunningCommand;
  url: string;
  port: number;
}

export interface AgentInstance {
  command: RunningCommand;
  stateDir: string;
  tokenFile: string;
}

export interface TunnelInstance {
  command: RunningCommand;
  port: number;
}

/** The pino JSON lines of a process's stdout. */
export function logLines(command: RunningCommand): Record<string, any>[] {
  const out: Record<string, any>[] = [];
  for (const line of command.stdout().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a line cut in the middle; the next read has it whole
    }
  }
  return out;
}

/** The log lines with this msg (and, when given, these fields). */
export function logged(
  command: RunningCommand,
  msg: string,
  fields: Record<string, unknown> = {},
): Record<string, any>[] {
  return logLines(command).filter(
    (line) => line.msg === msg && Object.entries(fields).every(([key, value]) => line[key] === value),
  );
}

/** Waits until at least `count` log lines with this msg (and fields) were printed. */
export async function waitForLog(
  command: RunningCommand,
  msg: string,
  options: { count?: number; fields?: Record<string, unknown>; timeoutMs?: number } = {},
): Promise<Record<string, any>> {
  const { count = 1, fields = {}, timeoutMs = 15_000 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = logged(command, msg, fields);
    if (found.length >= count) return found[count - 1] as Record<string, any>;
    if (Date.now() > deadline || command.child.exitCode !== null || command.child.signalCode !== null) {
      throw new Error(
        `no ${count}. "${msg}" ${JSON.stringify(fields)} within ${timeoutMs} ms (found ${found.length}); output:\n` +
          `${command.stdout().slice(-6000)}\n${command.stderr().slice(-3000)}`,
      );
    }
    await sleep(25);
  }
}

/** Polls `probe` until it returns a value other than undefined. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms${lastError ? ` (${String(lastError)})` : ''}`);
    await sleep(everyMs);
  }
}

export class AgentStack {
  readonly processes = new Processes();
  readonly dir = tempDir('commander-agent-e2e-');
  db!: TestDatabase;
  gateway!: GatewayInstance;
  /** An operator token of workspace `ops` and a file holding it (for `commander tunnel`). */
  operator!: string;
  operatorFile!: string;
  private readonly keys = keysEnv(testKeys());
  private counter = 0;

  get env(): Record<string, string> {
    return { DATABASE_URL: this.db.url, COMMANDER_DATA_DIR: join(this.dir.path, 'data'), ...this.keys };
  }

  /** Fresh database, one gateway, and an operator token made with `commander token create`. */
  static async start(gatewayEnv: Record<string, string> = {}): Promise<AgentStack> {
    const stack = new AgentStack();
    stack.db = await freshDatabase();
    const [created] = await Promise.all([
      stack.processes.run(['token', 'create', '--workspace', 'ops', '--role', 'operator'], stack.env),
      stack.startGateway(undefined, gatewayEnv),
    ]);
    expect(created.code, created.stderr).toBe(0);
    stack.operator = created.stdout.trim();
    stack.operatorFile = stack.writeFile('operator-token', stack.operator);
    return stack;
  }

  /** Starts a gateway; on `port` when given (a restart), else on a free one; `env` adds settings. */
  async startGateway(port?: number, env: Record<string, string> = {}): Promise<GatewayInstance> {
    const listenPort = port ?? (await freePort());
    const url = `http://127.0.0.1:${listenPort}`;
    const command = this.processes.start(['gateway'], {
      ...this.env,
      COMMANDER_LISTEN: `127.0.0.1:${listenPort}`,
      ...env,
    });
    const ready = waitForStatus(`${url}/readyz`, 200, 45_000).then(() => 'ready' as const);
    const outcome = await Promise.race([ready, command.exited.then((code) => ({ code }))]);
    if (outcome !== 'ready') {
      ready.catch(() => {});
      throw new Error(`gateway exited with ${outcome.code}:\n${command.stdout()}\n${command.stderr()}`);
    }
    this.gateway = { command, url, port: listenPort };
    return this.gateway;
  }

  /** A token made directly in the database (any workspace, any role). */
  async token(role: Role, workspace = 'ops'): Promise<string> {
    const ws = await ensureWorkspace(this.db.sql, workspace);
    return (await createToken(this.db.sql, ws.id, `${role}-${++this.counter}`, role)).token;
  }

  /** A directory (0700) in the stack's temp dir. */
  writeDir(name: string): string {
    const path = join(this.dir.path, name);
    mkdirSync(path, { recursive: true, mode: 0o700 });
    return path;
  }

  /** A file (0600) in the stack's temp dir. */
  writeFile(name: string, content: string): string {
    const path = join(this.dir.path, name);
    writeFileSync(path, `${content}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
    return path;
  }

  async createCluster(allowedTargets: string[], token = this.operator): Promise<string> {
    const response = await api(this.gateway.url, 'POST', '/api/v1/clusters', {
      token,
      body: { name: `c${++this.counter}`, allowed_targets: allowedTargets },
    });
    expect(response.status, response.text).toBe(201);
    expect(response.body.agent_status).toBe('never_connected');
    return response.body.id as string;
  }

  async cluster(id: string): Promise<Record<string, any>> {
    const response = await api(this.gateway.url, 'GET', `/api/v1/clusters/${id}`, { token: this.operator });
    expect(response.status, response.text).toBe(200);
    return response.body;
  }

  /** A fresh enrollment token from the API, checked for shape. */
  async enrollmentToken(clusterId: string): Promise<{ token: string; commanderUrl: string }> {
    const response = await api(this.gateway.url, 'POST', `/api/v1/clusters/${clusterId}/agent_tokens`, {
      token: this.operator,
      body: {},
    });
    expect(response.status, response.text).toBe(201);
    expect(response.body.commander_url).toBe(`${this.gateway.url}/agent_api/${clusterId}`);
    expect(Date.parse(response.body.expires_at)).toBeGreaterThan(Date.now());
    return { token: response.body.token, commanderUrl: response.body.commander_url };
  }

  /**
   * Starts `commander agent`. Without `tokenFile`, enrolls with a fresh token from the API.
   * Waits for "connected to the gateway" unless `wait` is false.
   */
  async startAgent(
    clusterId: string,
    options: {
      allow: string[];
      stateDir?: string;
      tokenFile?: string;
      heartbeat?: number;
      wait?: boolean;
      url?: string;
      /** More flags, e.g. --sync-interval or --kubeconfig. */
      args?: string[];
    },
  ): Promise<AgentInstance> {
    const n = ++this.counter;
    const stateDir = options.stateDir ?? join(this.dir.path, `agent-state-${n}`);
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    let tokenFile = options.tokenFile;
    if (!tokenFile) {
      const { token } = await this.enrollmentToken(clusterId);
      tokenFile = this.writeFile(`agent-token-${n}`, token);
    }
    const args = [
      'agent',
      '--url',
      options.url ?? `${this.gateway.url}/agent_api/${clusterId}`,
      '--token-file',
      tokenFile,
      '--state-dir',
      stateDir,
      '--heartbeat-interval',
      String(options.heartbeat ?? 1),
    ];
    for (const entry of options.allow) args.push('--allow', entry);
    args.push(...(options.args ?? []));
    const command = this.processes.start(args, {});
    if (options.wait !== false) await waitForLog(command, 'connected to the gateway');
    return { command, stateDir, tokenFile };
  }

  /** Starts `commander tunnel` on a free local port and waits for "listening on". */
  async startTunnel(
    clusterId: string,
    target: string,
    tokenFile = this.operatorFile,
    api = this.gateway.url,
  ): Promise<TunnelInstance> {
    const port = await freePort();
    const command = this.processes.start(
      [
        'tunnel',
        '--api',
        api,
        '--token-file',
        tokenFile,
        '--cluster',
        clusterId,
        '--target',
        target,
        '--listen',
        `127.0.0.1:${port}`,
      ],
      {},
    );
    const match = await command.waitFor(/listening on 127\.0\.0\.1:(\d+)/, 15_000);
    expect(Number(match[1])).toBe(port);
    return { command, port };
  }

  /** The cluster's agent_status straight from the database. */
  async agentStatus(clusterId: string): Promise<string> {
    const [row] = await this.db.sql<{ agent_status: string }[]>`
      select agent_status from clusters where id = ${clusterId}`;
    return row?.agent_status ?? 'missing';
  }

  async waitForAgentStatus(clusterId: string, status: string, timeoutMs = 10_000): Promise<number> {
    const started = Date.now();
    await eventually(
      `agent_status ${status}`,
      async () => ((await this.agentStatus(clusterId)) === status ? true : undefined),
      timeoutMs,
      20,
    );
    return Date.now() - started;
  }

  async close(): Promise<void> {
    await this.processes.stopAll(5_000);
    await this.db?.drop();
    this.dir.remove();
  }
}

/** host:port of the tests' PostgreSQL server, and its credentials. */
export function postgresTarget(adminUrl: string): {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
} {
  const url = new URL(adminUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.replace(/^\//, '') || 'postgres',
  };
}

export interface UpgradeAnswer {
  status: number;
  /** The error code of the JSON body (`{"error": {"code", "message"}}`), when refused. */
  code?: string;
  message?: string;
  ms: number;
}

/**
 * A bare WebSocket upgrade to the tunnel endpoint, without the client library: what the gateway
 * answers on the wire (101, or the HTTP refusal with its JSON body). Gives up after `timeoutMs`.
 */
export function rawTunnelUpgrade(
  api: string,
  token: string,
  clusterId: string,
  target: string,
  timeoutMs = 5_000,
): Promise<UpgradeAnswer> {
  const started = Date.now();
  const url = new URL(`${api}/api/v1/clusters/${clusterId}/tunnel`);
  url.searchParams.set('target', target);
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-version': '13',
        'x-auth-token': token,
      },
    });
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error(`the gateway did not answer the tunnel upgrade to ${target} within ${timeoutMs} ms`));
    }, timeoutMs);
    request.on('upgrade', (_response, socket) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: 101, ms: Date.now() - started });
    });
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => {
        clearTimeout(timer);
        let body: { error?: { code?: string; message?: string } } = {};
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: the status alone
        }
        resolve({
          status: response.statusCode ?? 0,
          code: body.error?.code,
          message: body.error?.message,
          ms: Date.now() - started,
        });
      });
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end();
  });
}

/**
 * A token of an enrollment token's form for `clusterId` (what the agent checks before it dials),
 * signed by nobody: for gateways that never get as far as redeeming it.
 */
export function unsignedEnrollmentToken(clusterId: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return [
    part({ alg: 'EdDSA', kid: randomUUID() }),
    part({ aud: 'commander-agent-enrollment', sub: clusterId, jti: randomUUID() }),
    randomBytes(64).toString('base64url'),
  ].join('.');
}
