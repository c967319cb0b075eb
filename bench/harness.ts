// Shared pieces of the process-level benchmarks: a fresh database, real `commander` processes
// (gateway, agent, tunnel), bench helper processes (targets, load), and /proc readings.
// Figures go to stdout (report.ts); everything else goes to stderr.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { keysEnvironment } from '../shared/config.js';
import { generateKeys } from '../shared/crypto.js';
import { freePort } from '../shared/net.js';
import { NODE_FLAGS } from '../shared/node-flags.js';
import { selfSigned, type TlsFiles } from './certificates.js';

export const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Node flags for the product processes: those they always start with, plus BENCH_NODE_FLAGS
 * (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p").
 */
function nodeFlags(): string[] {
  return [...NODE_FLAGS, ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)];
}

/** Every child still running: killed when the bench process exits, however it exits. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(1));

/**
 * The last ~64 KiB of a stream of text. Keeps chunks and joins them only when asked: the product
 * processes print a line per tunnel, and re-slicing one big string per line would make the
 * bench process (which is also the measured client) collect garbage far more often.
 */
class Tail {
  private chunks: string[] = [];
  private length = 0;

  add(text: string): void {
    this.chunks.push(text);
    this.length += text.length;
    while (this.chunks.length > 1 && this.length - (this.chunks[0]?.length ?? 0) >= 64 * 1024) {
      this.length -= this.chunks.shift()?.length ?? 0;
    }
  }

  toString(): string {
    return this.chunks.join('').slice(-64 * 1024);
  }
}

/** A child process whose output is kept (the tail) for error messages, never echoed to stdout. */
export class Child {
  readonly child: ChildProcess;
  private readonly out = new Tail();
  private readonly err = new Tail();
  private readonly lineWatchers = new Set<(line: string) => void>();
  private partial = '';
  readonly exited: Promise<number | null>;
  private done = false;

  constructor(
    readonly name: string,
    script: string,
    args: string[],
    env: Record<string, string | undefined>,
    options: { stdin?: boolean; flags?: string[]; command?: string } = {},
  ) {
    const command = options.command ?? process.execPath;
    const argv = options.command ? [script, ...args] : [...(options.flags ?? []), script, ...args];
    this.child = spawn(command, argv, {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    // Whole stdout for a diagnosis (what --trace-gc prints, say); the Tail keeps only the end.
    const copyDir = process.env.BENCH_STDOUT_DIR;
    const copy = copyDir ? createWriteStream(join(copyDir, `${name}-${this.child.pid}.log`)) : undefined;
    this.child.stdout?.on('end', () => copy?.end());
    this.child.stdout?.on('data', (chunk: Buffer) => {
      copy?.write(chunk);
      const text = chunk.toString();
      this.out.add(text);
      if (this.lineWatchers.size === 0) {
        const end = text.lastIndexOf('\n');
        this.partial = end < 0 ? this.partial + text : text.slice(end + 1);
        return;
      }
      const lines = (this.partial + text).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) for (const watch of this.lineWatchers) watch(line);
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.err.add(chunk.toString());
      if (process.env.BENCH_VERBOSE) process.stderr.write(`[${name}] ${chunk.toString()}`);
    });
    live.add(this.child);
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code) => {
        live.delete(this.child);
        this.done = true;
        for (const watch of this.lineWatchers) watch('');
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.child.pid as number;
  }

  output(): string {
    return `${this.name} stdout:\n${this.out}\n${this.name} stderr:\n${this.err}`;
  }

  onLine(watch: (line: string) => void): () => void {
    this.lineWatchers.add(watch);
    return () => this.lineWatchers.delete(watch);
  }

  /** Resolves with the first stdout line matching, rejects on exit or timeout. */
  waitForLine(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${this.name}: timed out waiting for ${pattern}\n${this.output()}`));
      }, timeoutMs);
      const off = this.onLine((line) => {
        const match = line.match(pattern);
        if (match) {
          clearTimeout(timer);
          off();
          resolve(match);
        } else if (this.done) {
          clearTimeout(timer);
          off();
          reject(new Error(`${this.name} exited before ${pattern}\n${this.output()}`));
        }
      });
    });
  }

  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.done) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Keeps every process and temp dir a bench started, so one call cleans them all up. */
export class Resources {
  private readonly children: Child[] = [];
  private readonly cleanups: Array<() => Promise<void> | void> = [];

  add(child: Child): Child {
    this.children.push(child);
    return child;
  }

  onClose(cleanup: () => Promise<void> | void): void {
    this.cleanups.push(cleanup);
  }

  tempDir(prefix = 'commander-bench-'): string {
    const path = mkdtempSync(join(tmpdir(), prefix));
    this.onClose(() => rmSync(path, { recursive: true, force: true }));
    return path;
  }

  async close(): Promise<void> {
    // Clients first, the gateway and the database last.
    for (const child of this.children.reverse()) await child.stop().catch(() => {});
    for (const cleanup of this.cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        log(`cleanup failed: ${(error as Error).message}`);
      }
    }
  }
}

/** A new database on the bench's server, dropped on close, so runs never collide. */
export async function freshDatabase(resources: Resources, baseUrl: string): Promise<string> {
  const name = `bench_${randomBytes(6).toString('hex')}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  resources.onClose(async () => {
    const sql = postgres(baseUrl, { max: 1, onnotice: () => {} });
    await sql.unsafe(`drop database if exists ${name} with (force)`);
    await sql.end();
  });
  return url.toString();
}

export function keysEnv(): Record<string, string> {
  return keysEnvironment(generateKeys());
}

export interface Gateway {
  child: Child;
  url: string;
  /** An admin token of workspace `bench`. */
  token: string;
  env: Record<string, string>;
  /** When the gateway serves TLS itself: the certificate its clients trust (--ca-file). */
  caFile?: string;
}

/** A self-signed certificate for 127.0.0.1 (the gateway's own TLS), in `dir`. */
export function selfSignedCertificate(dir: string): TlsFiles {
  return selfSigned(dir, 'gateway', '/CN=127.0.0.1', ['subjectAltName=IP:127.0.0.1']);
}

export type { TlsFiles };

/** GET/POST over http or, with `caFile`, https verified with it (fetch takes no CA). */
function call(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; caFile?: string } = {},
): Promise<{ status: number; text: string }> {
  const secure = url.startsWith('https:');
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
        ...(secure && options.caFile ? { ca: readFileSync(options.caFile) } : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * `commander gateway` on a fresh database, ready, with an admin token; with `tls`, serving
 * https:// and wss:// itself with that certificate.
 */
export async function startGateway(
  resources: Resources,
  baseUrl: string,
  extraEnv: Record<string, string> = {},
  tls?: TlsFiles,
): Promise<Gateway> {
  const databaseUrl = await freshDatabase(resources, baseUrl);
  const env = { DATABASE_URL: databaseUrl, ...keysEnv() };
  const { child, url } = await launchGateway(resources, env, extraEnv, tls);
  const token = execFileSync(
    process.execPath,
    [CLI, 'token', 'create', '--workspace', 'bench', '--role', 'admin'],
    {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  ).trim();
  return { child, url, token, env, caFile: tls?.certFile };
}

/** Another replica of `first`'s gateway: the same database, keys and token. */
export async function startReplica(
  resources: Resources,
  first: Gateway,
  extraEnv: Record<string, string> = {},
): Promise<Gateway> {
  const { child, url } = await launchGateway(resources, first.env, extraEnv);
  return { child, url, token: first.token, env: first.env };
}

async function launchGateway(
  resources: Resources,
  env: Record<string, string>,
  extraEnv: Record<string, string>,
  tls?: TlsFiles,
): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const tlsEnv = tls ? { COMMANDER_TLS_CERT_FILE: tls.certFile, COMMANDER_TLS_KEY_FILE: tls.keyFile } : {};
  const child = resources.add(
    new Child(
      'gateway',
      CLI,
      ['gateway'],
      { ...env, COMMANDER_LISTEN: `127.0.0.1:${port}`, ...tlsEnv, ...extraEnv },
      {
        flags: nodeFlags(),
      },
    ),
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    const exited = await Promise.race([child.exited.then(() => true), sleep(100).then(() => false)]);
    if (exited) throw new Error(`the gateway exited before it was ready\n${child.output()}`);
    try {
      if ((await call(`${url}/readyz`, { caFile: tls?.certFile })).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the gateway was not ready within 60 s\n${child.output()}`);
  }
  return { child, url };
}

/** One JSON call to the gateway's API; throws unless the status is 2xx. */
export async function api<T = unknown>(
  gateway: { url: string; token: string; caFile?: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const request = {
    method,
    headers: {
      'x-auth-token': gateway.token,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  };
  // fetch (keep-alive, as the API benches measure it) unless the gateway's CA must be given.
  const { status, text } = gateway.caFile
    ? await call(`${gateway.url}${path}`, { ...request, caFile: gateway.caFile })
    : await fetch(`${gateway.url}${path}`, request).then(async (r) => ({
        status: r.status,
        text: await r.text(),
      }));
  if (status < 200 || status > 299) throw new Error(`${method} ${path}: HTTP ${status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * One sample of the gateway's GET /metrics (Prometheus text): the line for `name` whose labels,
 * if any, include `labels` (e.g. `kind="major"`). Throws if the gateway has no such line.
 */
export async function gatewayMetric(
  gateway: { url: string; token: string; caFile?: string },
  name: string,
  labels = '',
): Promise<number> {
  const { status, text } = await call(`${gateway.url}/metrics`, {
    headers: { 'x-auth-token': gateway.token },
    caFile: gateway.caFile,
  });
  const line = text.split('\n').find((candidate) => {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? \S+$/.exec(candidate);
    return match?.[1] === name && (labels === '' || (match[2] ?? '').includes(labels));
  });
  if (status !== 200 || !line) throw new Error(`no ${name}{${labels}} in /metrics: ${text.slice(0, 200)}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

export async function createCluster(gateway: Gateway, name: string): Promise<string> {
  const cluster = await api<{ id: string }>(gateway, 'POST', '/api/v1/clusters', {
    name,
    allowed_targets: ['127.0.0.1:*'],
  });
  return cluster.id;
}

export async function enrollmentToken(gateway: Gateway, clusterId: string): Promise<string> {
  return (await api<{ token: string }>(gateway, 'POST', `/api/v1/clusters/${clusterId}/agent_tokens`, {}))
    .token;
}

/** Waits until the API shows the cluster's agent connected. */
export async function waitConnected(gateway: Gateway, clusterId: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const cluster = await api<{ agent_status: string }>(gateway, 'GET', `/api/v1/clusters/${clusterId}`);
    if (cluster.agent_status === 'connected') return;
    await sleep(100);
  }
  throw new Error(`cluster ${clusterId}: the agent did not connect within ${timeoutMs} ms`);
}

/**
 * A cluster with an agent connected: the real `commander agent` by default, or another script
 * that takes the same flags (bench/probe-agent.ts); `args` are added to its flags.
 */
export async function startAgent(
  resources: Resources,
  gateway: Gateway,
  options: { script?: string; name?: string; stdin?: boolean; args?: string[] } = {},
): Promise<{ clusterId: string; child: Child }> {
  const clusterId = await createCluster(gateway, `bench-${randomBytes(4).toString('hex')}`);
  const dir = resources.tempDir('commander-bench-agent-');
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, await enrollmentToken(gateway, clusterId), { mode: 0o600 });
  const script = options.script ?? CLI;
  const child = resources.add(
    new Child(
      options.name ?? 'agent',
      script,
      [
        ...(script === CLI ? ['agent'] : []),
        '--url',
        `${gateway.url}/agent_api/${clusterId}`,
        '--token-file',
        tokenFile,
        '--state-dir',
        join(dir, 'state'),
        '--allow',
        '127.0.0.1:*',
        ...(gateway.caFile ? ['--ca-file', gateway.caFile] : []),
        ...(options.args ?? []),
      ],
      {},
      { flags: nodeFlags(), stdin: options.stdin },
    ),
  );
  await Promise.race([
    waitConnected(gateway, clusterId),
    child.exited.then(() => {
      throw new Error(`the agent exited\n${child.output()}`);
    }),
  ]);
  return { clusterId, child };
}

/**
 * bench/agent-load.ts against the gateway: `count` agents of their own clusters, prepared (enrolled)
 * at once and connected when the returned child is sent `connect`.
 */
export function startAgentLoad(
  resources: Resources,
  gateway: Gateway,
  count: number,
  concurrency: number,
): Child {
  return resources.add(
    new Child(
      'agent-load',
      fileURLToPath(new URL('./agent-load.js', import.meta.url)),
      [gateway.url, gateway.token, String(count), String(concurrency)],
      {},
      { stdin: true },
    ),
  );
}

/** `commander tunnel` listening on a free local port; resolves with that port. */
export async function startTunnelCli(
  resources: Resources,
  gateway: Gateway,
  clusterId: string,
  target: string,
): Promise<{ port: number; child: Child }> {
  const dir = resources.tempDir('commander-bench-tunnel-');
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, gateway.token, { mode: 0o600 });
  const child = resources.add(
    new Child(
      'tunnel',
      CLI,
      [
        'tunnel',
        '--api',
        gateway.url,
        '--token-file',
        tokenFile,
        '--cluster',
        clusterId,
        '--target',
        target,
        '--listen',
        '127.0.0.1:0',
        ...(gateway.caFile ? ['--ca-file', gateway.caFile] : []),
      ],
      {},
      { flags: nodeFlags() },
    ),
  );
  const match = await child.waitForLine(/listening on 127\.0\.0\.1:(\d+)/);
  return { port: Number(match[1]), child };
}

/**
 * Three bench/relay.ts processes in a row in front of `targetPort`, each with the product's Node
 * flags; with `tls`, the middle two legs are TLS like a `wss://` tunnel's. Resolves with the
 * first relay's port.
 */
export async function startRelayChain(
  resources: Resources,
  targetPort: number,
  tls?: TlsFiles,
): Promise<number> {
  const script = fileURLToPath(new URL('./relay.js', import.meta.url));
  // Started from the target back: the agent's place, the gateway's, then `commander tunnel`'s.
  const legs: Array<{ tlsIn: boolean; tlsOut: boolean }> = [
    { tlsIn: true, tlsOut: false },
    { tlsIn: true, tlsOut: true },
    { tlsIn: false, tlsOut: true },
  ];
  let port = targetPort;
  for (const leg of legs) {
    const args = [
      String(port),
      ...(tls && leg.tlsIn ? ['--tls-in', tls.certFile, tls.keyFile] : []),
      ...(tls && leg.tlsOut ? ['--tls-out', tls.certFile] : []),
    ];
    const child = resources.add(new Child('relay', script, args, {}, { flags: nodeFlags() }));
    const match = await child.waitForLine(/^\{"port":(\d+)\}$/);
    port = Number(match[1]);
  }
  return port;
}

export interface Targets {
  sink: number;
  source: number;
  echo: number;
  child: Child;
}

/** bench/targets.ts in its own process: sink, source and echo servers. */
export async function startTargets(resources: Resources): Promise<Targets> {
  const child = resources.add(
    new Child('targets', fileURLToPath(new URL('./targets.js', import.meta.url)), [], {}),
  );
  const match = await child.waitForLine(/^\{.*"sink".*\}$/);
  const ports = JSON.parse(match[0]) as { sink: number; source: number; echo: number };
  return { ...ports, child };
}

/** Resident set size of a process, in KiB. */
export function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}

let clockTicks: number | undefined;

/** User + system CPU time a process has used, in seconds. */
export function cpuSeconds(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** Reads `/proc/<pid>/stat` CPU over an interval: % of one core. */
export async function cpuPercent(pid: number, ms: number): Promise<number> {
  const before = cpuSeconds(pid);
  const started = performance.now();
  await sleep(ms);
  return ((cpuSeconds(pid) - before) / ((performance.now() - started) / 1000)) * 100;
}
