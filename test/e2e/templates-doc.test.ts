// docs/templates.md's walkthrough, run as written: its shell blocks, in order, in one bash, against
// `commander up` listening on the walkthrough's own localhost:8080 (a network namespace of its
// own), from a directory where `up` keeps its data in ./.commander as in the README.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { createNetns, haveNetns, type NetNs } from '../support/netns.js';
import { CLI, type RunningCommand } from '../support/process.js';
import { tempDir } from './helpers.js';

const DOC = readFileSync(new URL('../../docs/templates.md', import.meta.url), 'utf8');
const runnable = haveNetns();
const MARK = '@@block-done@@';

/** The fenced blocks of a section, in order. */
function blocks(heading: string): string[] {
  const start = DOC.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/templates.md has no section "${heading}"`);
  const end = DOC.indexOf('\n## ', start + 1);
  const section = DOC.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((match) => match[1] as string);
}

describe.skipIf(!runnable && !process.env.CI)('docs/templates.md, run as written', () => {
  const dir = tempDir('commander-templates-doc-');
  let ns: NetNs | undefined;
  let db: TestDatabase;
  let up: RunningCommand;
  let relay: Server | undefined;

  beforeAll(async () => {
    if (!runnable) throw new Error('root with iproute2 (ip netns) is required in CI');
    ns = createNetns();
    db = await freshDatabase({ migrated: false });
    chmodSync(dir.path, 0o755);
    // The database listens on the host's loopback: the namespace reaches it through a relay on
    // the host's end of the pair.
    const url = new URL(db.url);
    const target = { host: url.hostname, port: Number(url.port || 5432) };
    relay = createServer((socket) => {
      const upstream = connect(target.port, target.host);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => relay?.listen(0, ns?.hostAddress, resolve));
    url.hostname = ns.hostAddress;
    url.port = String((relay.address() as { port: number }).port);
    // Where the quick start's embedded database would have made it (up creates no data dir of its
    // own when DATABASE_URL is set).
    mkdirSync(join(dir.path, '.commander'), { mode: 0o700 });
    up = startIn(ns, ['up'], { DATABASE_URL: url.toString() }, dir.path);
    await up.waitFor(/gateway listening/, 90_000);
  });

  afterAll(async () => {
    if (up && up.child.exitCode === null) {
      up.child.kill('SIGTERM');
      await up.exited;
    }
    await new Promise((resolve) => (relay ? relay.close(resolve) : resolve(undefined)));
    ns?.remove();
    await db?.drop();
    dir.remove();
  });

  it('creates a template and a cluster from it, watches it, changes it and deletes it', async () => {
    const walkthrough = blocks('Walkthrough');
    expect(walkthrough).toHaveLength(3);
    const script = join(dir.path, 'walkthrough.sh');
    // Traced into a file of its own, so that a failure shows the line it stopped at.
    const trace = join(dir.path, 'trace.log');
    writeFileSync(
      script,
      `exec 2>>${trace}\nset -x\n${walkthrough.map((block) => `${block}echo '${MARK}'\n`).join('')}`,
    );
    // Not spawnSync: the relay to the database runs on this process's event loop.
    const run = await runScript(inNs(ns as NetNs, ['bash', '--noprofile', '--norc', script]), dir.path);
    const traced = () => readFileSync(trace, 'utf8').slice(-3000);
    expect(run.status, `${run.stdout}\n${traced()}`).toBe(0);
    const [created, watched, changed] = run.stdout.split(MARK) as [string, string, string];

    const id = /^\{"id":"([0-9a-f-]{36})"/.exec(created)?.[1] as string;
    expect(id, created).toBeDefined();
    expect(created).toContain('"status":"new"');
    expect(created).toContain(
      '"connection_hosts":{"masters":[{"host":"192.0.2.10","user":"ubuntu","port":22}]}',
    );
    expect(created).toContain('"render_errors":[]');
    expect(created).toContain(`commanderUrl: \\"https://127.0.0.1:8080/agent_api/${id}\\"`);
    expect(created).toContain('podSubnetCIDR: 10.111.0.0/16');
    expect(created).toContain('"kind":"ModuleConfig","namespace":"","name":"commander-agent"');

    // No installers in the quick start: the install fails at once, and says why.
    expect(watched).toContain('"status":"creation_failed"');
    expect(watched).toContain('"kind":"install"');
    expect(watched).toMatch(/"error":"[^"]*installers/);

    expect(changed).toContain('podSubnetCIDR: 10.222.0.0/16');
    // curl -s prints the JSON without a newline: the status code follows it on the same line.
    expect(changed).toMatch(/\}409\n/);
    expect(changed).toContain('"status":"delete"');
    const revisions = [...changed.matchAll(/"current_revision":(\d+)/g)].map((m) => Number(m[1]));
    expect(revisions).toHaveLength(1);
    expect(revisions[0]).toBeGreaterThan(Number(/"current_revision":(\d+)/.exec(created)?.[1]));
  }, 180_000);
});

/** Runs to its end (killed after two minutes); its stdout and exit code. */
function runScript(
  [command, argv]: [string, string[]],
  cwd: string,
): Promise<{ stdout: string; status: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(command, argv, {
      cwd,
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ stdout, status });
    });
  });
}

function inNs(ns: NetNs, argv: string[]): [string, string[]] {
  const [command, ...rest] = [...ns.exec, ...argv] as [string, ...string[]];
  return [command, rest];
}

/** `commander <args>` inside the namespace, in `cwd`, with exactly `env` (plus PATH and HOME). */
function startIn(ns: NetNs, args: string[], env: Record<string, string>, cwd: string): RunningCommand {
  const [command, argv] = inNs(ns, [process.execPath, CLI, ...args]);
  const child = spawn(command, argv, {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const watchers = new Set<() => void>();
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (const watcher of watchers) watcher();
    });
  }
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  exited.then(() => {
    for (const watcher of watchers) watcher();
  });
  return {
    child,
    stdout: () => output,
    stderr: () => '',
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output);
          if (!match) {
            if (child.exitCode !== null) reject(new Error(`exited with ${child.exitCode}:\n${output}`));
            return;
          }
          watchers.delete(check);
          clearTimeout(timer);
          resolve(match);
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}`));
        }, timeoutMs);
        watchers.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
  };
}
